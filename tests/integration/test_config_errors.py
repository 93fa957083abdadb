"""
Start-up messages that name things right, on real noded processes:

- a bad NODED_CONFIG is reported as NODED_CONFIG, not --config;
- a cross-check between two options (peer-timeout-ms > ping-interval-ms)
  names where each value came from: the option, the variable, the config
  file line, or "default"; so do the data directory and log file errors;
- the start-up line writes an IPv6 API address with brackets and the API
  port actually bound (--api HOST:0), and a node without --name is named
  after the host (replicas in containers differ by host name), not "node-0".

(libevent's own messages are rate limited: tests/unit/test_log.c.  Running
out of descriptors on the API and P2P listeners: test_api_limits.py and
test_hostile.py.)
"""

import os
import re
import signal
import socket
import subprocess

import pytest

from conftest import HOST, NODED, SANITIZER_RE, START_TIMEOUT, _pdeathsig, wait_until

STARTED_RE = re.compile(r" INFO main: noded \S+ started: node ([0-9a-f]{16}) "
                        r"network \S+ listen (\S+) api (\S+) validators \d+$")


def clean_env(extra=None):
    """The caller's environment without NODED_* (but the start timeout), plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NODED_") or k == "NODED_START_TIMEOUT"}
    env.update(extra or {})
    return env


def run_noded(args, env=None, timeout=None):
    """Runs noded to its exit (it is expected to refuse to start)."""
    return subprocess.run([NODED] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=clean_env(env),
                          timeout=timeout or START_TIMEOUT, preexec_fn=_pdeathsig)


def no_sanitizer_report(text):
    bad = [l for l in text.splitlines() if SANITIZER_RE.search(l)]
    assert not bad, "sanitizer report:\n" + "\n".join(bad)


class Daemon:
    """A noded with arguments of our choosing (the cluster fixture's Node
    always passes --name, --listen and --api with fixed ports)."""

    def __init__(self, workdir, args):
        self.data_dir = os.path.join(str(workdir), "data")
        self.log_path = os.path.join(self.data_dir, "noded.log")
        self.stderr_path = os.path.join(str(workdir), "stderr.log")
        os.makedirs(str(workdir), exist_ok=True)
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [NODED, "--data-dir", self.data_dir] + list(args),
            stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err,
            env=clean_env(), preexec_fn=_pdeathsig)

    def log_lines(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def started(self):
        """The start-up line's match, once it is written."""
        if self.proc.poll() is not None:
            raise AssertionError("noded exited with %d: %s" % (
                self.proc.returncode, self.stderr_text()))
        for line in self.log_lines():
            m = STARTED_RE.search(line)
            if m:
                return m
        return None

    def stderr_text(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._err.close()
        return self.proc.returncode


@pytest.fixture
def daemons(tmp_path):
    """Starts Daemons; stops them all at teardown and checks for sanitizer reports."""
    started = []

    def start(args, name="d%d"):
        d = Daemon(tmp_path / (name % len(started)), args)
        started.append(d)
        return d
    yield start
    for d in started:
        d.stop()
    for d in started:
        no_sanitizer_report(d.stderr_text())


def http_get(port, path, host=HOST):
    import http.client
    import json
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


# --- where a bad value came from ---------------------------------------------

def test_bad_noded_config_is_named(tmp_path):
    r = run_noded(["--data-dir", str(tmp_path / "d")],
                  env={"NODED_CONFIG": str(tmp_path / "nonexistent.conf")})
    assert r.returncode == 2, r.stderr
    assert r.stderr == "noded: NODED_CONFIG '%s': No such file or directory\n" % (
        tmp_path / "nonexistent.conf")
    # --config still says --config.
    r = run_noded(["--data-dir", str(tmp_path / "d"),
                   "--config", str(tmp_path / "nonexistent.conf")])
    assert r.returncode == 2
    assert r.stderr.startswith("noded: --config '")
    assert not (tmp_path / "d").exists()


def test_timeout_cross_check_names_sources(tmp_path):
    d = str(tmp_path / "d")
    r = run_noded(["--data-dir", d], env={"NODED_PING_INTERVAL_MS": "60000"})
    assert r.returncode == 2
    assert r.stderr == ("noded: NODED_PING_INTERVAL_MS '60000': must be less "
                        "than default peer-timeout-ms (30000)\n")

    r = run_noded(["--data-dir", d, "--peer-timeout-ms", "5000"])
    assert r.returncode == 2
    assert r.stderr == ("noded: --peer-timeout-ms '5000': must be greater "
                        "than default ping-interval-ms (10000)\n")

    conf = tmp_path / "noded.conf"
    conf.write_text("# timers\nping-interval-ms = 40000\n")
    r = run_noded(["--data-dir", d, "--config", str(conf)],
                  env={"NODED_PEER_TIMEOUT_MS": "35000"})
    assert r.returncode == 2
    assert r.stderr == ("noded: NODED_PEER_TIMEOUT_MS '35000': must be greater "
                        "than %s:2: ping-interval-ms (40000)\n" % conf)

    # Both on the command line: as before.
    r = run_noded(["--data-dir", d, "--ping-interval-ms", "20000",
                   "--peer-timeout-ms", "15000"])
    assert r.returncode == 2
    assert r.stderr == ("noded: --peer-timeout-ms '15000': must be greater "
                        "than --ping-interval-ms (20000)\n")
    assert not os.path.exists(d)


def test_data_dir_and_log_file_errors_name_sources(tmp_path):
    afile = tmp_path / "a-file"
    afile.write_text("")
    bad = str(afile / "sub")
    r = run_noded([], env={"NODED_DATA_DIR": bad})
    assert r.returncode == 1
    assert r.stderr == "noded: NODED_DATA_DIR '%s': Not a directory\n" % bad

    conf = tmp_path / "noded.conf"
    conf.write_text("data-dir = %s\n" % bad)
    r = run_noded(["--config", str(conf)])
    assert r.returncode == 1
    assert r.stderr == "noded: %s:1: data-dir '%s': Not a directory\n" % (conf, bad)

    r = run_noded(["--data-dir", str(tmp_path / "d")],
                  env={"NODED_LOG_FILE": bad})
    assert r.returncode == 1
    assert r.stderr == "noded: NODED_LOG_FILE '%s': Not a directory\n" % bad


# --- the start-up line and the default name ---------------------------------------

def test_startup_line_bound_api_port_and_default_name(daemons):
    d = daemons(["--listen", "%s:0" % HOST, "--api", "%s:0" % HOST])
    m = wait_until(d.started, START_TIMEOUT, "the start-up line")
    node_hex, api = m.group(1), m.group(3)
    host, _, port = api.rpartition(":")
    assert host == HOST
    assert int(port) != 0, m.group(0)
    # The P2P port written is the one bound: it takes connections.
    lhost, _, lport = m.group(2).rpartition(":")
    assert lhost == HOST and int(lport) != 0, m.group(0)
    socket.create_connection((HOST, int(lport)), timeout=5).close()
    # The port written is the one that answers.
    code, st = http_get(int(port), "/v1/status")
    assert code == 200
    assert st["listen"] == m.group(2), (st["listen"], m.group(0))
    assert st["node_id"].startswith(node_hex)
    # Not "node-0" (port 0) nor node-<port>: the host name, on the API and
    # on every log line.
    assert st["name"] == socket.gethostname()
    for line in d.log_lines():
        assert line.split(" ")[1] == st["name"], line
    # --name still wins.
    e = daemons(["--listen", "%s:0" % HOST, "--api", "%s:0" % HOST,
                 "--name", "named"])
    m2 = wait_until(e.started, START_TIMEOUT, "the second start-up line")
    code, st2 = http_get(int(m2.group(3).rpartition(":")[2]), "/v1/status")
    assert st2["name"] == "named"


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", 0))
            return s.getsockname()[1]
        finally:
            s.close()
    except OSError:
        return None


def test_startup_line_brackets_ipv6_api(daemons):
    port = ipv6_loopback()
    if port is None:
        pytest.skip("no IPv6 loopback")
    d = daemons(["--listen", "%s:0" % HOST, "--api", "[::1]:%d" % port])
    m = wait_until(d.started, START_TIMEOUT, "the start-up line")
    assert m.group(3) == "[::1]:%d" % port, m.group(0)
    code, _ = http_get(port, "/v1/status", host="::1")
    assert code == 200

