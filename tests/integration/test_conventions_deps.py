"""
`make` needs only the build's own packages (issue 14, point 2): tools/deps.sh
and the Makefile's package check, run against a fake dpkg-query, apt-get and
id on PATH, so that nothing is installed and any machine can run this:

- `tools/deps.sh --check build` ignores the test tools;
- `make all` (as root) installs nothing but build packages; as another user
  it builds without the test tools;
- the test, demo and fuzz targets install their own extras as root, printing
  the command, and print it and stop for another user;
- `make deps` / `make deps-test` install the build set / everything.
"""

import os
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

BUILD = ["gcc", "make", "pkg-config", "libevent-dev", "libsodium-dev", "libjansson-dev",
         "liblmdb-dev"]
TEST_ONLY = ["libcmocka-dev", "clang", "libclang-rt-dev", "python3-pytest",
             "python3-prometheus-client", "curl", "procps", "iproute2", "prometheus",
             "chromium", "chromium-driver", "python3-selenium"]

FAKE_DPKG_QUERY = """#!/bin/sh
# the last argument is the package; FAKE_INSTALLED lists the installed ones
for p; do :; done
case " $FAKE_INSTALLED " in
*" $p "*) printf 'install ok installed' ;;
*) echo "dpkg-query: no packages found matching $p" >&2; exit 1 ;;
esac
"""
FAKE_APT_GET = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
"""
FAKE_ID = """#!/bin/sh
[ "$1" = -u ] && { echo "$FAKE_UID"; exit 0; }
exec /usr/bin/id "$@"
"""


@pytest.fixture
def fake(tmp_path):
    """Runs commands with the fakes first on PATH; returns run(args, installed, uid)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in (("dpkg-query", FAKE_DPKG_QUERY), ("apt-get", FAKE_APT_GET),
                       ("id", FAKE_ID)):
        p = bindir / name
        p.write_text(text)
        p.chmod(0o755)
    log = tmp_path / "apt-get.log"

    def run(args, installed, uid=0):
        if log.exists():
            log.unlink()
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
        env.update(PATH="%s:/usr/bin:/bin" % bindir, FAKE_INSTALLED=" ".join(installed),
                   FAKE_LOG=str(log), FAKE_UID=str(uid))
        # Under make asan, make itself must look at the sanitizer build.
        if args[0] == "make" and os.environ.get("SANITIZE"):
            args = list(args) + ["SANITIZE=" + os.environ["SANITIZE"]]
        r = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=300)
        calls = log.read_text().splitlines() if log.exists() else []
        return r, calls
    return run


def installs(calls):
    """The packages of the `apt-get install` calls."""
    pkgs = []
    for c in calls:
        words = c.split()
        if "install" in words:
            pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


def test_deps_check_build_ignores_test_tools(fake):
    r, _ = fake(["sh", "tools/deps.sh", "--check", "build"], BUILD)
    assert r.returncode == 0, r.stderr
    r, _ = fake(["sh", "tools/deps.sh", "--check", "build"], BUILD[1:])
    assert r.returncode == 1
    r, _ = fake(["sh", "tools/deps.sh", "--check", "unit"], BUILD)
    assert r.returncode == 1
    r, _ = fake(["sh", "tools/deps.sh", "--list", "test"], [])
    assert set(r.stdout.split()) >= set(TEST_ONLY), r.stdout
    assert not set(r.stdout.split()) & set(BUILD) - {"make"}, r.stdout


def test_make_all_installs_only_build_packages(fake):
    # As root, with the test tools missing: nothing to install, it builds.
    r, calls = fake(["make", "-n", "all"], BUILD)
    assert r.returncode == 0, r.stderr
    assert calls == [], calls
    for p in TEST_ONLY:
        assert p not in r.stderr, r.stderr
    # As another user, likewise (it used to refuse to build at all).
    r, calls = fake(["make", "-n", "all"], BUILD, uid=1000)
    assert r.returncode == 0, r.stderr
    assert calls == []
    # A missing build package: installed by root, the command printed...
    r, calls = fake(["make", "-n", "all"], [p for p in BUILD if p != "libsodium-dev"])
    assert r.returncode == 0, r.stderr
    assert installs(calls) == ["libsodium-dev"], calls
    assert ("deps: running: apt-get update -q && apt-get install -y -q "
            "--no-install-recommends libsodium-dev") in r.stderr, r.stderr
    # ... or printed for another user, and make stops.
    r, calls = fake(["make", "-n", "all"], [p for p in BUILD if p != "libsodium-dev"],
                    uid=1000)
    assert r.returncode != 0
    assert calls == []
    assert ("as root, run:  apt-get update && apt-get install -y -q "
            "--no-install-recommends libsodium-dev") in r.stderr, r.stderr
    assert "missing packages for build" in r.stderr, r.stderr


@pytest.mark.parametrize("goal, want", [
    ("unit", ["libcmocka-dev"]),
    ("integration", ["python3-pytest", "python3-prometheus-client", "curl", "procps",
                     "iproute2", "prometheus", "chromium", "chromium-driver",
                     "python3-selenium"]),
    ("fuzz", ["clang", "libclang-rt-dev"]),
    ("demo", []),
    ("test", ["libcmocka-dev", "python3-pytest", "prometheus"]),
])
def test_targets_install_their_extras(fake, goal, want):
    have = BUILD + ["python3", "binutils"]
    r, calls = fake(["make", "-n", goal], have)
    assert r.returncode == 0, r.stderr
    got = installs(calls)
    assert set(want) <= set(got), (goal, got)
    if goal in ("unit", "fuzz", "demo"):
        assert set(got) == set(want), (goal, got)
    if want:
        assert "deps: running: apt-get update -q && apt-get install" in r.stderr, r.stderr
    # Another user gets the command and a stop, not a half-built run.
    r, calls = fake(["make", "-n", goal], have, uid=1000)
    if want:
        assert r.returncode != 0 and calls == []
        assert "as root, run:  apt-get update && apt-get install" in r.stderr
        for p in want:
            assert p in r.stderr, (p, r.stderr)
    else:
        assert r.returncode == 0, r.stderr


def test_make_deps_and_deps_test(fake):
    r, calls = fake(["make", "deps"], [])
    assert r.returncode == 0, r.stderr
    assert sorted(installs(calls)) == sorted(BUILD)
    r, calls = fake(["make", "deps-test"], BUILD)
    assert r.returncode == 0, r.stderr
    assert set(installs(calls)) == set(TEST_ONLY) | {"python3", "binutils"}
