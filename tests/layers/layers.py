#!/usr/bin/env python3
"""
layers.py: checks that noded's sources depend on each other one way only.

The layers, lowest first.  A file may include, and its object may call, only
its own layer or lower ones:

    0  proto/          pure protocol library (proto/ and system headers only)
    1  lib/            helpers shared by noded and nodectl
    2  daemon/base/    noded's helpers: log, config, idmap, bloom, hub, stats, node.h
    3  daemon/core/    channel, validator, mempool, admission
    4  daemon/p2p/     connections, peers, relay, download scheduler, addresses
    5  daemon/http/    HTTP server, routes, event stream, metrics
    6  daemon/main.c   wires them
       tools/          nodectl: proto/, lib/ and tools/ only, never daemon/

Generated headers (version.h, or anything found in build/) are leaves any
layer may include.  tests/ is not checked.  Any other file under daemon/ is
an error.

What is checked
  includes  each `#include "..."` of the .c/.h files of proto/, lib/, daemon/
            and tools/ (not in comments or `#if 0`), resolved as cc -I.
            -Idaemon -Ibuild does: the file's folder, the root, daemon/, build/.
  cycles    a .c and its same-named .h are one module (daemon/p2p/net.c +
            net.h); modules including each other, directly or round a circle,
            are an error.
  calls     with --objects DIR: `nm` of each DIR/<source>.o (not DIR/san,
            fuzz, tests, bench) tells which module uses a symbol another
            defines; the same rules apply (call cycles: daemon's files only),
            so an `extern` that bypasses the headers is caught too.

Usage
  python3 tests/layers/layers.py --objects build    # what `make layers` runs
  python3 tests/layers/layers.py --self-test        # the fixtures only
  python3 tests/layers/layers.py --root DIR [--objects OBJDIR] --no-self-test

Unless --no-self-test is given, the fixtures under tests/layers/fixtures/
are checked first: each is a mini tree with an expect.txt holding the exact
problem lines it must give (none: it must pass; a line `@objects` has its
.c files compiled with cc -c first, for the call rule).  A checker that
passes everything therefore fails.

Output: on success one line, exit status 0.  Otherwise one problem a line,
then a one-line summary, exit status 1.  The problems:
  upward include: A (p2p, layer 4) includes B (http, layer 5), line N
  forbidden include: ...     (tools/ including daemon/, or daemon/ tools/)
  unresolved include: A:N "name.h" ...
  include cycle: A:N "b.h" -> B:M "a.h" -> A   (line N of A includes b.h,
                             of B's module; line M of B includes a.h ...)
  upward call: A.o (base, layer 2) calls sym (B.o, http, layer 5)
  call cycle: A.o calls sym1 -> B.o calls sym2, sym3 -> A.o
  daemon/foo.c: not in a layer folder
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

LAYERS = [("proto/", "proto", 0), ("lib/", "lib", 1),
          ("daemon/base/", "base", 2), ("daemon/core/", "core", 3),
          ("daemon/p2p/", "p2p", 4), ("daemon/http/", "http", 5),
          ("daemon/main.c", "main", 6), ("tools/", "tools", None)]
TOOLS_MAY_USE = {"proto", "lib", "tools"}
AREAS = ("proto", "lib", "daemon", "tools")
GENERATED = {"version.h"}
SKIP_OBJ_DIRS = {"san", "fuzz", "tests", "bench"}
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GEN = "<generated>"


def layer_of(path):
    """(name, rank) of a repo-relative path, rank None for tools/; or None."""
    for prefix, name, rank in LAYERS:
        if path.startswith(prefix) if prefix.endswith("/") else path == prefix:
            return name, rank
    return None


def describe(layer):
    return layer[0] if layer[1] is None else "%s, layer %d" % layer


def verdict(a, b):
    """None if layer a may use layer b, else the kind of problem."""
    if a[0] == "tools":
        return None if b[0] in TOOLS_MAY_USE else "forbidden"
    if b[0] == "tools":
        return "forbidden"
    return "upward" if b[1] > a[1] else None


def module_of(path):
    return os.path.splitext(path)[0]


def sources(root):
    """The .c/.h files of the checked areas, and the strays under daemon/."""
    files, strays = [], []
    for area in AREAS:
        for d, dirs, names in os.walk(os.path.join(root, area)):
            dirs.sort()
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    rel = os.path.relpath(os.path.join(d, n), root)
                    (files if layer_of(rel) else strays).append(rel)
    return files, ["%s: not in a layer folder" % s for s in strays]


# Comments become blanks (newlines kept, so line numbers hold); strings stay.
TOKEN = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'
                   r"'(?:\\.|[^'\\\n])*'", re.S)
DIRECTIVE = re.compile(r"^\s*#\s*(\w+)\s*(.*)$")


def strip_comments(text):
    return TOKEN.sub(lambda m: m.group(0) if m.group(0)[0] in "\"'"
                     else re.sub(r"[^\n]", " ", m.group(0)), text)


def includes(text):
    """(line, name) of each `#include "name"` not in a comment or #if 0."""
    out, stack = [], []     # stack of [kind, skipping]; kind "0", "1", "?"
    for no, line in enumerate(strip_comments(text).split("\n"), 1):
        m = DIRECTIVE.match(line)
        if not m:
            continue
        word, rest = m.group(1), m.group(2).strip()
        if word in ("if", "ifdef", "ifndef"):
            kind = rest if word == "if" and rest in ("0", "1") else "?"
            stack.append([kind, kind == "0"])
        elif word in ("else", "elif") and stack:
            if stack[-1][0] == "0":         # #if 0 ... #else: live from here
                stack[-1] = ["?", False]
            elif stack[-1][0] == "1":       # #if 1 ... #else: dead from here
                stack[-1][1] = True
        elif word == "endif" and stack:
            stack.pop()
        elif word == "include" and not any(s for _, s in stack):
            m = re.match(r'"([^"]+)"', rest)
            if m:
                out.append((no, m.group(1)))
    return out


def resolve(root, src, name, gendirs):
    """The repo-relative file `#include "name"` in src means, GEN or None."""
    for base in (os.path.dirname(src), "", "daemon"):
        rel = os.path.normpath(os.path.join(base, name))
        if not rel.startswith("..") and os.path.isfile(os.path.join(root, rel)):
            return rel
    if os.path.basename(name) in GENERATED or any(
            os.path.isfile(os.path.join(g, name)) for g in gendirs):
        return GEN
    return None


def check_includes(root, files, gendirs, problems):
    """Checks each include's layer; returns the module graph."""
    graph = {}      # module -> {module: (file, "file:line \"name\"")}
    for f in files:
        with open(os.path.join(root, f), errors="replace") as fh:
            text = fh.read()
        for no, name in includes(text):
            target = resolve(root, f, name, gendirs)
            if target is None:
                problems.append('unresolved include: %s:%d "%s" (not in %s/, '
                                'the root, daemon/ or build/)'
                                % (f, no, name, os.path.dirname(f)))
                continue
            if target == GEN:
                continue
            fl, tl = layer_of(f), layer_of(target)
            if tl is None:      # strays under daemon/ are reported once
                if not target.startswith("daemon/"):
                    problems.append("forbidden include: %s (%s) includes %s "
                                    "(not in a layer), line %d"
                                    % (f, describe(fl), target, no))
                continue
            kind = verdict(fl, tl)
            if kind:
                problems.append("%s include: %s (%s) includes %s (%s), line %d"
                                % (kind, f, describe(fl), target,
                                   describe(tl), no))
            a, b = module_of(f), module_of(target)
            if a != b:
                graph.setdefault(a, {}).setdefault(
                    b, (f, '%s:%d "%s"' % (f, no, name)))
    return graph


def nm(args, paths):
    """{object path: its symbols} as `nm -A args paths...` lists them."""
    r = subprocess.run(["nm", "-A"] + args + paths, capture_output=True, text=True)
    out = {p: set() for p in paths}
    for ln in r.stdout.splitlines():
        path, _, rest = ln.partition(":")
        if path in out and rest.split():
            out[path].add(rest.split()[-1])
    return out


def program(path):
    return {"tools": "nodectl", "daemon": "noded"}.get(path.split("/")[0], "")


def check_calls(root, objdir, problems):
    """Checks the calls between objects; returns the module graph, or None
    when objdir holds no object of a checked source."""
    objs = {}       # "daemon/p2p/net.o" -> its path under objdir
    for d, dirs, names in os.walk(objdir):
        if os.path.abspath(d) == os.path.abspath(objdir):
            dirs[:] = [x for x in dirs if x not in SKIP_OBJ_DIRS]
        dirs.sort()
        for n in sorted(names):
            rel = os.path.relpath(os.path.join(d, n), objdir)
            src = rel[:-2] + ".c"
            if n.endswith(".o") and layer_of(src) and \
                    os.path.isfile(os.path.join(root, src)):
                objs[rel] = os.path.join(d, n)
    if not objs:
        return None
    defs, undefs = nm(["--defined-only", "-g"], list(objs.values())), \
        nm(["-u"], list(objs.values()))
    objs = {o: (defs[p], undefs[p]) for o, p in objs.items()}
    definers = collections.defaultdict(list)
    for o, (defined, _) in sorted(objs.items()):
        for s in defined:
            definers[s].append(o)
    uses = collections.defaultdict(list)    # (user, definer) -> symbols
    for o, (_, undefined) in sorted(objs.items()):
        for s in sorted(undefined):
            cands = definers.get(s)         # none: libc, libevent, ...
            if cands:   # a name defined twice (main): the user's own program
                same = [c for c in cands if program(c) in ("", program(o))]
                uses[o, (same or cands)[0]].append(s)
    graph = {}
    for (a, b), syms in sorted(uses.items()):
        la, lb = layer_of(a[:-2] + ".c"), layer_of(b[:-2] + ".c")
        kind = verdict(la, lb)
        if kind:
            problems.append("%s call: %s (%s) calls %s (%s, %s)"
                            % (kind, a, describe(la), ", ".join(syms), b,
                               describe(lb)))
        # Cycles among the daemon's files only: nodectl.c and its ctl_*.c
        # call each other by design, and linking keeps them out of noded.
        if module_of(a) != module_of(b) and "tools" not in (la[0], lb[0]):
            graph.setdefault(module_of(a), {})[module_of(b)] = (
                a, "%s calls %s" % (a, ", ".join(syms)))
    return graph


def sccs(graph):
    """Tarjan's strongly connected components of {node: {node: label}}."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while v not in comp:
                comp.add(stack.pop())
            on.difference_update(comp)
            out.append(comp)
    nodes = set(graph) | {w for e in graph.values() for w in e}
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def cycles(graph):
    """Shortest cycles (lists of nodes) together covering every component
    of more than one node."""
    found = []
    for comp in sccs(graph):
        covered = set()
        for start in sorted(comp) if len(comp) > 1 else ():
            if start in covered:
                continue
            prev, queue, path = {}, [start], None
            for v in queue:                 # breadth first, back to start
                for w in sorted(set(graph.get(v, ())) & comp):
                    if w == start and path is None:
                        path = [v]
                        while path[-1] != start:
                            path.append(prev[path[-1]])
                    elif w not in prev and w != start:
                        prev[w] = v
                        queue.append(w)
            path.reverse()
            covered.update(path)
            found.append(path)
    return found


def show_cycle(graph, path):
    hops = [graph[a][b] for a, b in zip(path, path[1:] + path[:1])]
    return " -> ".join([label for _, label in hops] + [hops[0][0]])


def check(root, objdir):
    files, problems = sources(root)
    gendirs = [os.path.join(root, "build")] + ([objdir] if objdir else [])
    inc = check_includes(root, files, gendirs, problems)
    problems += ["include cycle: " + show_cycle(inc, p) for p in cycles(inc)]
    calls = check_calls(root, objdir, problems) if objdir else None
    if calls is not None:
        problems += ["call cycle: " + show_cycle(calls, p) for p in cycles(calls)]
        what = "includes and calls"
    elif objdir:
        what = "includes; no object under %s, call check skipped" % objdir
    else:
        what = "includes; no --objects, call check skipped"
    layers = {layer_of(f) for f in files}
    stats = "%d files, %d modules, %d layers%s" % (
        len(files), len({module_of(f) for f in files}),
        sum(1 for lay in layers if lay[1] is not None),
        " + tools/" if ("tools", None) in layers else "")
    return problems, stats, what


def self_test():
    """Runs this script over each fixture; returns (failures, count)."""
    fixdir, failures, count = os.path.join(HERE, "fixtures"), [], 0
    for name in sorted(os.listdir(fixdir)):
        fx = os.path.join(fixdir, name)
        with open(os.path.join(fx, "expect.txt")) as fh:
            want = [ln.rstrip("\n") for ln in fh if ln.strip() and ln[0] != "#"]
        if "@objects" in want and not shutil.which("cc"):
            print("layers: self-test: no cc, fixture %s skipped" % name)
            continue
        with tempfile.TemporaryDirectory(prefix="layers-") as tmp:
            args = ["--root", fx, "--no-self-test"]
            if "@objects" in want:      # the call rule: compile, then nm
                want.remove("@objects")
                for src in (f for f in sources(fx)[0] if f.endswith(".c")):
                    obj = os.path.join(tmp, src[:-2] + ".o")
                    os.makedirs(os.path.dirname(obj), exist_ok=True)
                    subprocess.run(["cc", "-c", "-I" + fx, "-I" + fx + "/daemon",
                                    os.path.join(fx, src), "-o", obj], check=True)
                args += ["--objects", tmp]
            r = subprocess.run([sys.executable, os.path.abspath(__file__)] + args,
                               capture_output=True, text=True)
        count += 1
        got, status = r.stdout.splitlines()[:-1], 1 if want else 0
        if r.returncode != status or sorted(got) != sorted(want):
            failures.append("self-test: fixture %s: exit %d, expected %d"
                            % (name, r.returncode, status))
            failures += ["  missing:    " + w for w in want if w not in got]
            failures += ["  unexpected: " + g for g in got if g not in want]
            failures += ["  stderr:     " + e for e in r.stderr.splitlines()]
    return failures, count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--root", default=ROOT)
    ap.add_argument("--objects", metavar="DIR")
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--no-self-test", action="store_true")
    args = ap.parse_args()
    selftest = ""
    if args.self_test or not args.no_self_test:
        failures, count = self_test()
        for line in failures:
            print(line)
        if failures:
            print("layers: self-test FAILED: the checker is broken")
            return 1
        if args.self_test:
            print("layers: self-test: %d fixtures give what they expect" % count)
            return 0
        selftest = "; self-test: %d fixtures ok" % count
    problems, stats, what = check(args.root, args.objects)
    for p in problems:
        print(p)
    if problems:
        kinds = collections.Counter(p.split(":")[0] if ": not in a layer" not in p
                                    else "stray file" for p in problems)
        print("layers: FAILED in %s: %s (%s%s)" % (stats, ", ".join(
            "%d %s%s" % (n, k, "s" * (n > 1)) for k, n in sorted(kinds.items())),
            what, selftest))
        return 1
    print("layers: %s: no upward include, no cycle (%s%s)" % (stats, what, selftest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
