"""
`make install` and `make uninstall`, and the version (issue 14, point 10):

- install puts the programs, the man pages, the docs, an example noded.conf
  and the systemd unit template noded@.service under PREFIX in DESTDIR;
  uninstall removes exactly that, leaving DESTDIR empty;
- the unit passes `systemd-analyze verify` (skipped without systemd-analyze);
- the installed noded accepts the example with --config FILE --print-config;
- `noded --version` and `nodectl --version` print the number of
  lib/version.h and the git commit they were built from.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import NODECTL, NODED

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make(*args):
    """Runs make in the source tree (the same build as the suite: SANITIZE)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    cmd = ["make", "--no-print-directory"] + list(args)
    if os.environ.get("SANITIZE"):
        cmd.append("SANITIZE=" + os.environ["SANITIZE"])
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, "%s: exit %d\n%s%s" % (" ".join(cmd), r.returncode,
                                                    r.stdout, r.stderr)
    return r


def tree(root):
    """Every file and directory under root, relative, sorted."""
    out = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(d, n), root))
    return sorted(out)


def test_install_uninstall_destdir(tmp_path):
    dest = tmp_path / "stage"
    dest.mkdir()
    make("install", "DESTDIR=%s" % dest)
    files = [f for f in tree(dest) if os.path.isfile(os.path.join(dest, f))]
    docs = ["README.md"] + sorted(f for f in os.listdir(os.path.join(REPO, "docs"))
                                  if f.endswith(".md"))
    want = ["usr/local/bin/noded", "usr/local/bin/nodectl",
            "usr/local/share/man/man1/nodectl.1", "usr/local/share/man/man8/noded.8",
            "usr/local/share/doc/noded/examples/noded.conf",
            "usr/local/lib/systemd/system/noded@.service"] + \
        ["usr/local/share/doc/noded/" + d for d in docs]
    assert sorted(files) == sorted(want), sorted(files)
    assert "CONFIG.md" in docs
    for b in ("noded", "nodectl"):
        assert os.access(dest / "usr/local/bin" / b, os.X_OK)

    unit = (dest / "usr/local/lib/systemd/system/noded@.service").read_text()
    assert "ExecStart=/usr/local/bin/noded --data-dir /var/lib/noded/%i --log-file none" \
        in unit, unit
    assert "@BINDIR@" not in unit
    for line in ("Restart=on-failure", "DynamicUser=yes", "StateDirectory=noded/%i",
                 "WantedBy=multi-user.target"):
        assert line in unit.splitlines(), (line, unit)

    # The installed noded takes the example as it is, and reads it as a config file.
    conf = dest / "usr/local/share/doc/noded/examples/noded.conf"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODED_")}
    env["HOME"] = str(tmp_path / "home")
    r = subprocess.run([str(dest / "usr/local/bin/noded"), "--config", str(conf),
                        "--print-config"], capture_output=True, text=True, env=env,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert "# config: %s (--config)\n" % conf in r.stdout, r.stdout
    assert re.search(r"^listen = 0\.0\.0\.0:7000 +# %s:\d+: listen$" % re.escape(str(conf)),
                     r.stdout, re.M), r.stdout
    assert not (tmp_path / "home").exists()         # printing creates nothing

    make("uninstall", "DESTDIR=%s" % dest)
    assert tree(dest) == [], tree(dest)


def test_unit_verifies(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the unit is not verified")
    # Real paths this time (PREFIX, no DESTDIR), so that ExecStart exists.
    prefix = tmp_path / "usr"
    make("install", "PREFIX=%s" % prefix)
    try:
        src = prefix / "lib/systemd/system/noded@.service"
        assert ("ExecStart=%s/bin/noded " % prefix) in src.read_text()
        inst = tmp_path / "noded@main.service"       # an instance of the template
        shutil.copy(src, inst)
        # --man=no: the man page is not where man(1) looks, outside a real install.
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(inst)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "noded@main.service" not in r.stderr, r.stderr
    finally:
        make("uninstall", "PREFIX=%s" % prefix)
    assert not (prefix / "bin/noded").exists()
    assert not (prefix / "share/doc/noded").exists()


def git_head():
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                       text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def test_version_number_and_commit():
    with open(os.path.join(REPO, "lib", "version.h")) as f:
        number = re.search(r'^#define VERSION_NUMBER\s+"([^"]+)"', f.read(), re.M).group(1)
    assert re.fullmatch(r"\d+\.\d+\.\d+", number), number
    head = git_head()
    for prog, binary in (("noded", NODED), ("nodectl", NODECTL)):
        r = subprocess.run([binary, "--version"], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0, r.stderr
        m = re.fullmatch(r"%s (\S+)\n" % prog, r.stdout)
        assert m, r.stdout
        v = re.fullmatch(re.escape(number) + r"(?:\+git\.([0-9a-f]{7,40})(\.dirty)?)?",
                         m.group(1))
        assert v, "%s --version: %r is not %s+git.<commit>" % (prog, r.stdout, number)
        if head is not None:
            assert v.group(1) is not None, r.stdout
            # Built from this checkout (make integration builds first).
            assert head.startswith(v.group(1)), (v.group(1), head)
