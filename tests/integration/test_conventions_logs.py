"""
Logs as users of bitcoind and Prometheus expect (issue 14, points 5 and 8),
on real noded processes:

- one copy of each line: by default DATA_DIR/noded.log alone; with
  `--log-file none` stderr alone (no file), and SIGHUP says there is no file
  to reopen; an error that stops the start-up is in the log and on stderr;
- `--log-format json`: the transaction verdicts (accepted, rejected,
  undecodable) and peer connects and disconnects carry their fields as keys
  of their own: tx, peer, addr, peer_id, amount, reason, code.
"""

import json
import os
import re
import signal
import subprocess

from conftest import (HOST, NODED, START_TIMEOUT, _pdeathsig, wait_connected,
                      wait_until)


def json_lines(node):
    """The node's log as parsed JSON objects (every line must parse)."""
    out = []
    for line in node.log_lines():
        try:
            out.append(json.loads(line))
        except ValueError:
            raise AssertionError("%s: not a JSON log line: %r" % (node.name, line))
    return out


def test_one_copy_in_the_data_dir_by_default(cluster, wallet):
    a = cluster.start("a")
    code, body = a.submit(wallet.tx(amount=5).hex())
    assert code == 200, body
    line = wait_until(lambda: a.log_grep(r"INFO gossip: tx %s accepted from api amount=5"
                                         % body["id"][:16]), 10, "the verdict line")
    assert a.log_path == os.path.join(a.data_dir, "noded.log")
    assert a.log_grep(r" INFO main: noded \S+ started: ")
    # stderr gets none of it
    err = a.stderr_text()
    assert body["id"][:16] not in err and " INFO " not in err, err[:2000]
    assert line


def test_log_file_none_sends_it_to_stderr(cluster, wallet):
    a = cluster.start("a", args=["--log-file", "none"])
    assert a.log_path == a.stderr_path
    code, body = a.submit(wallet.tx(amount=6).hex())
    assert code == 200, body
    wait_until(lambda: a.log_grep(r"INFO gossip: tx %s accepted" % body["id"][:16]), 10,
               "the verdict on stderr")
    assert not os.path.exists(os.path.join(a.data_dir, "noded.log"))
    # The key, the API's admin cookie, the data dir's lock and the store, but no
    # log file of any name.
    files = os.listdir(a.data_dir)
    assert {".cookie", "node_key", "noded.lock"} <= set(files), files
    assert not [f for f in files if "log" in f.replace("noded.lock", "")], files
    # Each line once.
    lines = a.log_grep(r"tx %s accepted" % body["id"][:16])
    assert len(lines) == 1, lines
    # SIGHUP: nothing to reopen, and it says so.
    a.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: a.log_grep(r"INFO main: SIGHUP: no log file to reopen "
                                  r"\(--log-file none: the log goes to stderr\)"), 10,
               "the SIGHUP line")
    assert a.alive()


def test_start_up_error_in_the_log_and_on_stderr(cluster, tmp_path):
    a = cluster.start("a")
    # b's API port is taken by a: b cannot start, and says why on stderr too.
    data = tmp_path / "b"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODED_")}
    r = subprocess.run([NODED, "--name", "b", "--data-dir", str(data), "--listen",
                        "%s:0" % HOST, "--api", a.api_addr], capture_output=True,
                       text=True, env=env, timeout=START_TIMEOUT, preexec_fn=_pdeathsig)
    assert r.returncode == 1, (r.returncode, r.stderr)
    want = r"ERROR api: cannot listen on %s .*in use" % re.escape(a.api_addr)
    assert len([l for l in r.stderr.splitlines() if re.search(want, l)]) == 1, r.stderr
    # Only the error lines: the rest of the start-up is in the log alone.
    assert " INFO " not in r.stderr, r.stderr
    with open(data / "noded.log") as f:
        log = f.read()
    assert re.search(want, log), log
    assert " INFO main: not started" in log, log


def test_json_log_fields(cluster, wallet):
    args = ["--log-format", "json"]
    a = cluster.start("a", args=args)
    b = cluster.start("b", peers=[a], args=args)
    wait_connected(a, b)

    # Peer connected: the peer's name, address and node id.
    def connected():
        return [o for o in json_lines(a) if o.get("subsys") == "net" and
                o.get("peer") == "b" and re.match(r"peer b connected", o["msg"])]
    up = wait_until(connected, 10, "a's peer-connected line for b")[0]
    assert up["peer_id"] == b.node_id, up
    assert re.fullmatch(r"127\.0\.0\.1:\d+", up["addr"]), up
    assert up["node"] == "a" and up["level"] == "info"

    # Accepted at a (from the API: no peer), then at b from peer a.
    good = wallet.tx(amount=42)
    code, body = a.submit(good.hex())
    assert code == 200, body
    tid = body["id"]

    def accepted(node):
        return [o for o in json_lines(node) if o.get("tx") == tid and
                "accepted" in o["msg"]]
    at_a = wait_until(lambda: accepted(a), 10, "a's accepted line")[0]
    assert at_a["amount"] == 42 and isinstance(at_a["amount"], int), at_a
    assert "peer" not in at_a, at_a
    assert at_a["msg"] == "tx %s accepted from api amount=42" % tid[:16], at_a
    at_b = wait_until(lambda: accepted(b), 10, "b's accepted line")[0]
    assert at_b["peer"] == "a" and at_b["amount"] == 42, at_b

    # Rejected: the reason for people and the stable code.
    bad = wallet.tx(amount=150)
    code, body = a.submit(bad.hex())
    assert code == 422, body

    def rejected():
        return [o for o in json_lines(a) if o.get("tx") == bad.id_hex() and
                "rejected" in o["msg"]]
    rej = wait_until(rejected, 10, "a's rejected line")[0]
    assert rej["code"] == "amount_too_high", rej
    assert rej["reason"].startswith("amount too high"), rej
    assert rej["msg"] == "tx %s rejected from api: %s" % (bad.id_hex()[:16], rej["reason"])
    assert "amount" not in rej

    # Undecodable: no id, the code of a bad encoding.
    code, body = a.submit(wallet.tx(amount=1).hex()[:100])
    assert code == 422, body

    def undecodable():
        return [o for o in json_lines(a) if o.get("code") == "bad_encoding"]
    und = wait_until(undecodable, 10, "a's undecodable line")[0]
    assert und["reason"] == "bad encoding" and "tx" not in und, und

    # Peer disconnected: who, and why.
    b.stop()

    def down():
        return [o for o in json_lines(a) if o.get("peer") == "b" and
                "disconnected" in o["msg"]]
    gone = wait_until(down, 10, "a's peer-disconnected line")[0]
    assert gone["peer_id"] == b.node_id and gone["reason"], gone
    assert gone["msg"].endswith(": " + gone["reason"]), gone
