# noded: GNU make.  `make` builds bin/noded and bin/nodectl; `make test` runs
# every test; `make demo` runs a local network; `make install` installs.
# Missing Debian packages are installed by tools/deps.sh (as root, printing
# the command) before anything is built: building needs only its compiler
# and libraries; the tests, the demo, the fuzzers and the benchmarks add
# theirs when one of those targets is asked for.

PKGS	:= libevent libsodium jansson lmdb
TESTPKGS := cmocka
PYTHON	?= /usr/bin/python3

# The package sets of tools/deps.sh that each goal needs besides "build".
DEPS_unit	 := unit
DEPS_integration := integration
DEPS_layers	 := layers
DEPS_docker-test := docker
DEPS_test	 := unit integration layers docker
DEPS_asan	 := unit integration layers docker
DEPS_fuzz	 := fuzz
DEPS_fuzz-smoke	 := fuzz
DEPS_bench	 := bench
DEPS_bench-hostile := bench
DEPS_bench-gossipsub := bench
DEPS_demo	 := demo
DEPS_SETS	 := build $(sort $(foreach g,$(MAKECMDGOALS),$(DEPS_$(g))))

# Install what is missing before the pkg-config flags are read.
ifeq ($(filter deps deps-test clean help uninstall,$(MAKECMDGOALS)),)
ifneq ($(shell sh tools/deps.sh --check $(DEPS_SETS) >/dev/null 2>&1 && echo ok),ok)
DEPS_STATUS := $(shell sh tools/deps.sh $(DEPS_SETS) 1>&2 && echo ok)
ifneq ($(DEPS_STATUS),ok)
$(error missing packages for $(DEPS_SETS): install them as root (the command is above))
endif
endif
endif

CC	?= cc
CFLAGS	?= -O2 -g
WARN	:= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wundef
ifdef WERROR
WARN	+= -Werror
endif
CPPFLAGS += -D_GNU_SOURCE -I. -Idaemon
DEPFLAGS = -MMD -MP

ifdef SANITIZE
BUILD	:= build/san
BINDIR	:= build/san/bin
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD	:= build
BINDIR	:= bin
SANFLAGS :=
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
TEST_CFLAGS := $(shell pkg-config --cflags $(TESTPKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(TESTPKGS) 2>/dev/null)
SODIUM_LIBS := $(shell pkg-config --libs libsodium 2>/dev/null) -lm

ALLCFLAGS = $(CFLAGS) $(WARN) $(SANFLAGS) $(PKG_CFLAGS) $(DEPFLAGS)
LDALL	  = $(SANFLAGS)

# The release number is VERSION_NUMBER in lib/version.h; the build adds the
# commit it was made from, when there is one.
GIT_HASH := $(shell git describe --always --dirty=.dirty --abbrev=7 \
	--match=NO_TAG_MATCHES_THIS 2>/dev/null)
CPPFLAGS += -I$(BUILD)
VERSION_H := $(BUILD)/version.h

PROTO_SRC  := $(wildcard proto/*.c)
LIB_SRC    := $(wildcard lib/*.c)
# The daemon's layers, lowest first (docs/ARCHITECTURE.md).
DAEMON_SRC := $(wildcard daemon/base/*.c daemon/core/*.c daemon/p2p/*.c daemon/http/*.c)
TOOL_SRC   := $(filter-out tools/nodectl.c,$(wildcard tools/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
BENCH_SRC  := $(wildcard tests/bench/bench_*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

PROTO_OBJ  := $(PROTO_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ   := $(TOOL_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN  := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

LIBPROTO   := $(BUILD)/libproto.a
LIBCOMMON  := $(BUILD)/libcommon.a
LIBNODED   := $(BUILD)/libnoded.a


.PHONY: FORCE all deps deps-test test layers unit integration docker-test asan fuzz \
	fuzz-smoke bench bench-hostile bench-gossipsub chaos demo image compose-plugin swarm-up swarm-down install \
	uninstall clean help
.DEFAULT_GOAL := all

all: $(BINDIR)/noded $(BINDIR)/nodectl

# What building needs; what the tests, demo, fuzzers and benchmarks need.
deps:
	@sh tools/deps.sh build
deps-test:
	@sh tools/deps.sh build test

# Rewritten only when the version changes, so objects that include it rebuild then.
$(VERSION_H): FORCE
	@mkdir -p $(@D); v='$(if $(GIT_HASH),#define NODED_GIT "$(GIT_HASH)",/* not built from a git checkout */)'; \
	if [ ! -f $@ ] || [ "$$(cat $@)" != "$$v" ]; then echo "$$v" > $@; fi
FORCE:

$(BUILD)/%.o: %.c | $(VERSION_H)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -c $< -o $@

$(LIBPROTO): $(PROTO_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBCOMMON): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The web view (web/) built into noded: a C table of its files, by od and awk.
WEB_FILES := $(sort $(wildcard web/*.html web/*.js web/*.css))
$(BUILD)/web_assets.inc: $(WEB_FILES) tools/webgen.sh
	@mkdir -p $(@D)
	sh tools/webgen.sh $(WEB_FILES) > $@.tmp && mv $@.tmp $@
$(BUILD)/daemon/http/web.o: $(BUILD)/web_assets.inc

$(LIBNODED): $(DAEMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BINDIR)/noded: $(BUILD)/daemon/main.o $(LIBNODED) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDALL) -o $@ $^ $(PKG_LIBS)

$(BINDIR)/nodectl: $(BUILD)/tools/nodectl.o $(TOOL_OBJ) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(LDALL) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBNODED) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) $(TEST_CFLAGS) -o $@ $< $(LIBNODED) $(LIBCOMMON) $(LIBPROTO) \
	    $(PKG_LIBS) $(TEST_LIBS)

$(BUILD)/bench/%: tests/bench/%.c $(LIBNODED) $(LIBCOMMON) $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALLCFLAGS) -o $@ $< $(LIBNODED) $(LIBCOMMON) $(LIBPROTO) $(PKG_LIBS)

# Every unit test binary runs; the first failure fails the target.
unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# (SANITIZE: the tests that run make themselves use the same build.)
integration: all
	NODED=$(abspath $(BINDIR)/noded) NODECTL=$(abspath $(BINDIR)/nodectl) \
	    SANITIZE='$(SANITIZE)' \
	    $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

docker-test: all
	@sh tests/docker/run.sh

# Dependencies run one way: the #include lines (and, once built, the calls
# between objects) of proto/, lib/, daemon/ and tools/ follow the layers of
# docs/ARCHITECTURE.md, with no cycle.
layers: all
	$(PYTHON) tests/layers/layers.py --objects $(BUILD)

test: all layers unit integration docker-test

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(MAKE) test SANITIZE=address,undefined DOCKER_TEST=skip

# libFuzzer targets, built with clang over the proto and lib sources, plus
# the sources a target names in FUZZ_SRCS_<target>.
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. -Idaemon \
	$(PKG_CFLAGS)
FUZZ_SRCS_fuzz_http  := tools/http.c tools/sse.c
FUZZ_SRCS_fuzz_txreq := daemon/p2p/txreq.c daemon/base/idmap.c daemon/base/pool.c
.SECONDEXPANSION:
build/fuzz/%: tests/fuzz/%.c $(PROTO_SRC) $(LIB_SRC) $$(FUZZ_SRCS_$$*)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(PROTO_SRC) $(LIB_SRC) $(FUZZ_SRCS_$*) \
	    $(SODIUM_LIBS)

fuzz: $(FUZZ_BIN)

FUZZ_SECONDS ?= 20
fuzz-smoke: fuzz
	@set -e; for f in $(FUZZ_BIN); do \
	    n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
	    echo "== $$n ($(FUZZ_SECONDS) s)"; \
	    if ! $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        build/fuzz/corpus-$$n tests/fuzz/seeds/$$n > build/fuzz/$$n.log 2>&1; \
	    then tail -n 60 build/fuzz/$$n.log; echo "fuzz-smoke: $$n FAILED"; exit 1; fi; \
	    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' build/fuzz/$$n.log; \
	done; echo "fuzz-smoke: every target ran without a crash"

bench: all $(BENCH_BIN)
	@set -e; for b in $(BENCH_BIN); do echo "== $$b"; $$b; done
	@set -e; for b in $(wildcard tests/bench/bench_*.py); do echo "== $$b"; \
	    NODED=$(abspath $(BINDIR)/noded) NODECTL=$(abspath $(BINDIR)/nodectl) \
	    $(PYTHON) $$b; done

# Crashes, partitions, delays and conflicts on a local cluster, then the
# promises of issue 10 checked (tests/chaos/chaos.py): nothing acknowledged
# lost, every digest equal.  make test runs it for about 60 s; this, longer.
DURATION ?= 600
chaos: all
	NODED=$(abspath $(BINDIR)/noded) NODECTL=$(abspath $(BINDIR)/nodectl) \
	    $(PYTHON) tests/chaos/chaos.py --duration $(DURATION) $(CHAOS_ARGS)

# The hostile benchmark of issue 9 (docs/SECURITY.md): an attacker in C
# (tests/bench/hostile, over proto/) against a 3-node line, 6 to 7 minutes.
# BENCH_HOSTILE_ARGS passes options, e.g. "--only junk,spam --seconds 30".
HOSTILE_SRC := $(wildcard tests/bench/hostile/*.c)
$(BUILD)/bench/hostile: $(HOSTILE_SRC) tests/bench/hostile/hostile.h $(LIBPROTO)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(SANFLAGS) $(PKG_CFLAGS) -o $@ $(HOSTILE_SRC) \
	    $(LIBPROTO) $(PKG_LIBS)

bench-hostile: all $(BUILD)/bench/hostile
	NODED=$(abspath $(BINDIR)/noded) BUILD=$(abspath $(BUILD)) \
	    HOSTILE=$(abspath $(BUILD)/bench/hostile) NODED_BENCH_HOSTILE=1 \
	    $(PYTHON) tests/bench/bench_hostile.py --run $(BENCH_HOSTILE_ARGS)

# noded and go-libp2p-pubsub gossipsub side by side (issue 11): builds
# tests/bench/gossipsub (Go, modules through the Go module proxy), runs the
# workloads of bench_propagation.py on both; skipped with a message without Go.
bench-gossipsub: all $(BUILD)/bench/bench_verify
	NODED=$(abspath $(BINDIR)/noded) NODECTL=$(abspath $(BINDIR)/nodectl) \
	    BUILD=$(abspath $(BUILD)) \
	    $(PYTHON) tests/bench/bench_gossipsub.py --run $(BENCH_GOSSIPSUB_ARGS)

demo: all
	@sh tools/demo.sh

image: all
	@sh tests/docker/image.sh
	@sh tools/compose-plugin.sh || true

# noded as a Docker Swarm stack on this machine (deploy/swarm/stack.yml,
# docs/DEPLOY.md): make swarm-up [N=16] builds the image, makes the engine a
# single-node swarm if it is in none (and says so), deploys N replicas and
# waits until they are healthy; make swarm-down removes the stack and leaves
# the swarm only if swarm-up created it.  STACK=name for another stack.
N ?= 16
swarm-up: image
	@sh tools/swarm.sh up $(N)

swarm-down:
	@sh tools/swarm.sh down

# Debian 12 packages docker-compose 1.29 but not the `docker compose` plugin:
# installs a forwarder so that `docker compose ...` works (no-op otherwise).
compose-plugin:
	@sh tools/compose-plugin.sh

# make install [PREFIX=/usr/local] [DESTDIR=staging dir]: the programs, their
# man pages, the docs with an example noded.conf, and the systemd unit
# template noded@.service (noded@NAME runs a node in /var/lib/noded/NAME).
# make uninstall (same variables) removes exactly those files and noded's doc
# directory; in a DESTDIR it also removes the directories left empty, up to
# DESTDIR itself.  UNIT_DIR=/lib/systemd/system (say) puts the unit elsewhere.
PREFIX	?= /usr/local
BIN_DIR	 = $(PREFIX)/bin
MAN_DIR	 = $(PREFIX)/share/man
DOC_DIR	 = $(PREFIX)/share/doc/noded
UNIT_DIR ?= $(PREFIX)/lib/systemd/system
DOCS	 = README.md $(wildcard docs/*.md)
INSTALLED = $(BIN_DIR)/noded $(BIN_DIR)/nodectl $(MAN_DIR)/man1/nodectl.1 \
	$(MAN_DIR)/man8/noded.8 $(addprefix $(DOC_DIR)/,$(notdir $(DOCS))) \
	$(DOC_DIR)/examples/noded.conf $(UNIT_DIR)/noded@.service
INSTALL_DIRS = $(BIN_DIR) $(MAN_DIR)/man1 $(MAN_DIR)/man8 $(DOC_DIR)/examples \
	$(UNIT_DIR)

install: all
	install -d $(addprefix $(DESTDIR),$(INSTALL_DIRS))
	install -m 0755 $(BINDIR)/noded $(BINDIR)/nodectl $(DESTDIR)$(BIN_DIR)/
	install -m 0644 man/nodectl.1 $(DESTDIR)$(MAN_DIR)/man1/
	install -m 0644 man/noded.8 $(DESTDIR)$(MAN_DIR)/man8/
	install -m 0644 $(DOCS) $(DESTDIR)$(DOC_DIR)/
	install -m 0644 dist/noded.conf $(DESTDIR)$(DOC_DIR)/examples/
	sed 's|@BINDIR@|$(BIN_DIR)|g' dist/noded@.service.in > $(DESTDIR)$(UNIT_DIR)/noded@.service
	chmod 0644 $(DESTDIR)$(UNIT_DIR)/noded@.service

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(DOC_DIR)/examples $(DESTDIR)$(DOC_DIR) 2>/dev/null || true
	@if [ -n "$(DESTDIR)" ] && top=$$(cd "$(DESTDIR)" && pwd -P); then \
	    for d in $(addprefix $(DESTDIR),$(INSTALL_DIRS)); do \
	        while [ ! -d "$$d" ]; do d=$$(dirname "$$d"); done; d=$$(cd "$$d" && pwd -P); \
	        while [ "$$d" != "$$top" ] && [ "$$d" != / ] && rmdir "$$d" 2>/dev/null; do \
	            d=$$(dirname "$$d"); done; \
	    done; fi

clean:
	rm -rf build bin

help:
	@echo "make [all|deps|deps-test|test|unit|integration|layers|asan|fuzz|fuzz-smoke|bench|bench-hostile|bench-gossipsub|chaos|demo|image|compose-plugin|swarm-up|swarm-down|install|uninstall|clean]"

-include $(shell find build -name '*.d' 2>/dev/null)
