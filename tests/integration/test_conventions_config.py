"""
Where a node keeps its files and reads its settings (issue 14, point 4), on
real noded processes with HOME pointing at a fresh directory:

- without --data-dir the data dir is ~/.noded (not ./data): key and log;
- ~/.noded/noded.conf is read when it is there, without --config;
- `noded --print-config` prints every value and its source, exits 0, and
  creates nothing.
"""

import http.client
import json
import os
import signal
import subprocess

from conftest import HOST, NODED, START_TIMEOUT, _pdeathsig, free_port, wait_until


def env_with_home(home, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODED_")}
    env["HOME"] = str(home)
    env.update(extra or {})
    return env


def status(port):
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request("GET", "/v1/status")
        r = conn.getresponse()
        return json.loads(r.read()) if r.status == 200 else None
    finally:
        conn.close()


def test_default_data_dir_and_its_noded_conf(tmp_path):
    home = tmp_path / "home"
    cwd = tmp_path / "cwd"
    (home / ".noded").mkdir(parents=True)
    cwd.mkdir()
    port = free_port()
    (home / ".noded" / "noded.conf").write_text(
        "# read without --config\nname = fromconf\nlisten = %s:0\napi = %s:%d\n"
        % (HOST, HOST, port))
    err = open(tmp_path / "stderr", "wb")
    p = subprocess.Popen([NODED], cwd=str(cwd), env=env_with_home(home),
                         stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                         preexec_fn=_pdeathsig)
    try:
        st = wait_until(lambda: p.poll() is None and status(port), START_TIMEOUT,
                        "noded to answer on the port its noded.conf names")
        assert st["name"] == "fromconf", st
        assert (home / ".noded" / "node_key").exists()
        log = home / ".noded" / "noded.log"
        wait_until(lambda: log.exists() and " INFO main: noded " in log.read_text(), 10,
                   "the log in ~/.noded")
        assert os.listdir(cwd) == [], os.listdir(cwd)          # no ./data
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        err.close()
    assert p.returncode == 0, (tmp_path / "stderr").read_text()


def test_print_config(tmp_path):
    home = tmp_path / "home"
    r = subprocess.run([NODED, "--outbound", "3", "--print-config"],
                       env=env_with_home(home, {"NODED_MAX_PEERS": "5"}),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout.splitlines()
    assert out[0].startswith("# noded "), out[0]
    assert "# config: none (default config: there is no %s/.noded/noded.conf)" % home \
        in out, out
    for want in ("outbound = 3", "# --outbound"), ("max-peers = 5", "# NODED_MAX_PEERS"), \
            ("data-dir = %s/.noded" % home, "# default data-dir"), \
            ("log-file = %s/.noded/noded.log" % home, "# default log-file"):
        assert any(l.startswith(want[0] + " ") and l.endswith(want[1]) for l in out), \
            (want, out)
    assert not home.exists()            # nothing made, nothing started
    # A bad value: the message, exit 2, as at start.
    r = subprocess.run([NODED, "--outbound", "x", "--print-config"],
                       env=env_with_home(home), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert r.stderr == "noded: --outbound 'x': not a number\n"
    assert r.stdout == ""
