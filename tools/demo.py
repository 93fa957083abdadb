#!/usr/bin/python3
"""tools/demo.py: the exercise noded grew from, over a real network.

Starts four nodes (tools/cluster, in .cluster-demo/), makes a wallet, sends
one transaction to each node with amounts 0, 50, 100 and 150, and shows
what happened: each verdict, the accepted ones spreading to every node, the
merged log lines that follow each transaction across the nodes, and each
node's final mempool.  Exits 0 only if the three valid transactions reached
every node and the 150 was rejected with "amount too high" wherever it was
seen and is on no node.  Stops the nodes unless KEEP=1.

Run by `make demo` through tools/demo.sh.  Environment: KEEP=1, NODED,
NODECTL (binaries, default bin/), DEMO_DIR (default .cluster-demo).  Each
node's data dir is DEMO_DIR/nodek; nodectl runs against node k with
NODECTL_DATA_DIR set to it (where the node keeps its API cookie).
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
CLUSTER = os.path.join(REPO, "tools", "cluster")
NODES = 4
AMOUNTS = (0, 50, 100, 150)
MAX_AMOUNT = 100
API_BASE = 8000
CONVERGE_TIMEOUT_S = 15.0
TTY = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
ID_RE = re.compile(r"\b[0-9a-f]{64}\b")


def paint(code, s):
    return "\033[%sm%s\033[0m" % (code, s) if TTY else s


def green(s):
    return paint("32", s)


def red(s):
    return paint("31", s)


def bold(s):
    return paint("1", s)


def dim(s):
    return paint("2", s)


def out(s=""):
    try:
        print(s, flush=True)
    except BrokenPipeError:
        # the reader went away (`make demo | head`): finish, stop the nodes
        sys.stdout = open(os.devnull, "w")


def step(n, total, title):
    out()
    out(bold("[%d/%d] %s" % (n, total, title)))


class DemoError(Exception):
    pass


def rel(path):
    r = os.path.relpath(path)
    return path if r.startswith("../..") else r


def api(k, path, timeout=2.0):
    """(status code, JSON) of GET path on node k's API."""
    url = "http://127.0.0.1:%d%s" % (API_BASE + k, path)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        try:
            body = json.loads(e.read().decode())
        except ValueError:
            body = {}
        return e.code, body
    except (urllib.error.URLError, OSError, ValueError) as e:
        return None, {"error": str(e)}


def run(argv, env=None, check=True):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, env=env)
    if check and p.returncode != 0:
        raise DemoError("%s failed (exit %d):\n%s%s" % (
            " ".join(rel(a) if os.path.isabs(a) else a for a in argv[:3]),
            p.returncode, p.stdout, p.stderr))
    return p


class Demo:
    def __init__(self):
        self.nodectl = os.path.abspath(os.environ.get("NODECTL") or
                                       os.path.join(REPO, "bin", "nodectl"))
        self.noded = os.path.abspath(os.environ.get("NODED") or
                                     os.path.join(REPO, "bin", "noded"))
        self.dir = os.path.abspath(os.environ.get("DEMO_DIR") or
                                   os.path.join(REPO, ".cluster-demo"))
        self.env = dict(os.environ, CLUSTER_DIR=self.dir, NODED=self.noded,
                        NODECTL=self.nodectl)
        self.keep = os.environ.get("KEEP", "") not in ("", "0", "no")
        self.txs = []       # dicts: k, amount, id, verdict, reason, message
        self.failures = []
        self.started = False

    def cluster(self, *args, check=True):
        return run([CLUSTER] + list(args), env=self.env, check=check)

    def nodectl_env(self, k):
        """nodectl's environment against node k: its data dir, for the cookie."""
        return dict(os.environ, NODECTL_DATA_DIR=os.path.join(self.dir,
                                                              "node%d" % k))

    # ---------------------------------------------------------------- steps

    def start(self):
        for b in (self.noded, self.nodectl):
            if not os.access(b, os.X_OK):
                raise DemoError("%s: not built (run 'make')" % rel(b))
        if os.path.exists(os.path.join(self.dir, "cluster.json")):
            # an earlier `make demo KEEP=1` may still be running
            p = self.cluster("down", check=False)
            if "stopped" in p.stdout:
                out("  " + dim("(stopped the nodes of an earlier demo)"))
        self.started = True
        p = self.cluster("up", "-n", str(NODES), "--topology", "discover", "-q")
        for line in p.stdout.rstrip().splitlines():
            out("  " + line)
        out("  web view: %s" % self.web_url())

    def web_url(self):
        """node1's web view, its network page over the four nodes."""
        return "http://127.0.0.1:%d/  (network: http://127.0.0.1:%d/net.html?nodes=%s)" % (
            API_BASE + 1, API_BASE + 1, ",".join("127.0.0.1:%d" % (API_BASE + k)
                                                 for k in range(1, NODES + 1)))

    def wallet(self):
        self.key = os.path.join(self.dir, "wallet.key")
        rkey = os.path.join(self.dir, "recipient.key")
        for f in (self.key, rkey):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
        self.sender = self.keygen(self.key)
        self.recipient = self.keygen(rkey)
        out("  wallet     %s  public key %s" % (rel(self.key), self.sender))
        out("  recipient  %s  public key %s" % (rel(rkey), self.recipient))

    def keygen(self, path):
        p = run([self.nodectl, "keygen", "--out", path])
        m = re.search(r"\b[0-9a-f]{64}\b", p.stdout)
        if not m:
            raise DemoError("nodectl keygen printed no public key:\n" + p.stdout)
        return m.group(0)

    def send(self):
        out("  %-6s %-15s %6s   %s" % ("node", "api", "amount", "verdict"))
        for k, amount in zip(range(1, NODES + 1), AMOUNTS):
            node = "127.0.0.1:%d" % (API_BASE + k)
            p = run([self.nodectl, "--node", node, "send", "--key", self.key,
                     "--to", self.recipient, "--amount", str(amount),
                     "--memo", "demo %d to node%d" % (amount, k)],
                    env=self.nodectl_env(k), check=False)
            text = p.stdout.strip()
            m = ID_RE.search(text)
            tx = {"k": k, "amount": amount, "id": m.group(0) if m else None,
                  "verdict": None, "reason": "", "text": text}
            rej = re.search(r"rejected:?\s*(.*)", text)
            if p.returncode == 0 and "accepted" in text:
                tx["verdict"] = "accepted"
            elif p.returncode == 1 and rej:
                tx["verdict"] = "rejected"
                tx["reason"] = rej.group(1).strip()
            else:
                raise DemoError("nodectl send to node%d (exit %d) said:\n%s%s"
                                % (k, p.returncode, p.stdout, p.stderr))
            if not tx["id"]:
                raise DemoError("nodectl send printed no transaction id:\n"
                                + text)
            self.txs.append(tx)
            verdict = (green("accepted") if tx["verdict"] == "accepted" else
                       red("rejected: " + tx["reason"]))
            out("  node%-2d %-15s %6d   %s  %s" % (k, node, amount, verdict,
                                                  dim("tx " + tx["id"][:16])))
        for tx in self.txs:
            want = "accepted" if tx["amount"] <= MAX_AMOUNT else "rejected"
            if tx["verdict"] != want:
                self.failures.append("amount %d at node%d: %s, expected %s"
                                     % (tx["amount"], tx["k"], tx["verdict"],
                                        want))
            if want == "rejected" and "amount too high" not in tx["reason"]:
                self.failures.append("amount %d rejected for '%s', expected "
                                     "'amount too high'" % (tx["amount"],
                                                            tx["reason"]))

    def converge(self):
        accepted = [t for t in self.txs if t["verdict"] == "accepted"]
        t0 = time.monotonic()
        have = {}
        while True:
            for tx in accepted:
                for k in range(1, NODES + 1):
                    if not have.get((tx["id"], k)):
                        code, _ = api(k, "/v1/tx/" + tx["id"])
                        if code == 200:
                            have[(tx["id"], k)] = time.monotonic() - t0
            done = all(have.get((t["id"], k)) is not None
                       for t in accepted for k in range(1, NODES + 1))
            if done or time.monotonic() - t0 > CONVERGE_TIMEOUT_S:
                break
            time.sleep(0.05)
        out("  %-18s %s" % ("tx", "  ".join("node%d" % k
                                            for k in range(1, NODES + 1))))
        for tx in accepted:
            cells = []
            for k in range(1, NODES + 1):
                cell = "yes" if have.get((tx["id"], k)) is not None else "NO"
                cell = cell.center(5)
                cells.append(green(cell) if cell.strip() == "yes" else red(cell))
            out("  %-18s %s" % (tx["id"][:16], "  ".join(cells)))
        if done:
            out("  all %d accepted transactions are on all %d nodes (%.2f s "
                "after the last send)" % (len(accepted), NODES,
                                          time.monotonic() - t0))
        else:
            missing = ["%s on node%d" % (t["id"][:16], k) for t in accepted
                       for k in range(1, NODES + 1)
                       if have.get((t["id"], k)) is None]
            self.failures.append("not converged after %g s: missing %s"
                                 % (CONVERGE_TIMEOUT_S, ", ".join(missing)))

    def logs(self):
        colour = "always" if TTY else "never"
        p = self.cluster("logs", "--color", colour, check=False)
        lines = p.stdout.splitlines()
        for tx in self.txs:
            short = tx["id"][:16]
            out()
            out("  tx %s  amount %d, sent to node%d: %s" % (
                bold(short), tx["amount"], tx["k"],
                green("accepted") if tx["verdict"] == "accepted"
                else red("rejected: " + tx["reason"])))
            seen = [l for l in lines if short in l]
            for l in seen:
                out("    " + l)
            if not seen:
                out("    " + dim("(no log line mentions it)"))
            tx["log"] = seen

    def mempools(self):
        names = {t["id"]: t for t in self.txs}
        for k in range(1, NODES + 1):
            code, body = api(k, "/v1/mempool?limit=10000")
            if code != 200:
                self.failures.append("node%d: GET /v1/mempool answered %s %s"
                                     % (k, code, body.get("error", "")))
                out("  node%d  %s" % (k, red("no answer")))
                continue
            ids = body.get("txs", [])
            desc = ", ".join("%s (%d)" % (i[:16], names[i]["amount"])
                             if i in names else i[:16] for i in ids)
            out("  node%d  %d tx%s  %s" % (k, body.get("count", len(ids)),
                                           "" if len(ids) == 1 else "s", desc))

    def check_rejected(self):
        """The 150: rejected for "amount too high" wherever it was seen, on no node."""
        for tx in self.txs:
            if tx["verdict"] != "rejected":
                continue
            short = tx["id"][:16]
            for k in range(1, NODES + 1):
                code, _ = api(k, "/v1/tx/" + tx["id"])
                if code != 404:
                    self.failures.append("rejected tx %s: node%d answers %s "
                                         "to GET /v1/tx (expected 404)"
                                         % (short, k, code))
            by_node = {}
            for l in tx.get("log", []):
                m = re.search(r"\b(node\d+) ", re.sub(r"\033\[[0-9;]*m", "", l))
                by_node.setdefault(m.group(1) if m else "?", []).append(l)
            for node, ls in sorted(by_node.items()):
                if any(re.search(r"\baccepted\b", l) for l in ls):
                    self.failures.append("rejected tx %s was accepted on %s"
                                         % (short, node))
                elif not any("amount too high" in l for l in ls):
                    self.failures.append("%s logs tx %s without 'amount too "
                                         "high'" % (node, short))

    def stop(self):
        if not self.started:
            return
        if self.keep:
            c = "CLUSTER_DIR=%s tools/cluster" % rel(self.dir)
            nodectl = rel(self.nodectl)
            out()
            out(bold("The four nodes keep running (KEEP=1):"))
            out("  %s --node 127.0.0.1:8002 status" % nodectl)
            out("  %s --node 127.0.0.1:8003 send --key %s --to %s --amount 7"
                % (nodectl, rel(self.key) if hasattr(self, "key") else "KEY",
                   getattr(self, "recipient", "PUBKEY")))
            out("  %s --node 127.0.0.1:8001 mempool" % nodectl)
            out("  %s ctl node1 peers     (nodectl with node1's data dir)" % c)
            out("  %s status" % c)
            out("  %s logs -f" % c)
            ok = [t["id"] for t in self.txs if t.get("id") and t.get("verdict") == "accepted"]
            out("  %s trace %s" % (c, ok[0] if ok else "TX_ID"))
            out("  web view: %s" % self.web_url())
            out("  %s down" % c)
            return
        p = self.cluster("down", check=False)
        out()
        out(dim(p.stdout.strip() or p.stderr.strip()))

    def main(self):
        total = 6
        out(bold("noded demo: 4 nodes, one transaction to each, amounts %s "
                 "(the limit is %d)" % (", ".join(map(str, AMOUNTS)),
                                        MAX_AMOUNT)))
        try:
            step(1, total, "Starting %d nodes in %s (peer discovery from node1)"
                 % (NODES, rel(self.dir)))
            self.start()
            step(2, total, "Making a wallet")
            self.wallet()
            step(3, total, "Sending one transaction to each node")
            self.send()
            step(4, total, "Waiting for the accepted transactions to reach "
                 "every node")
            self.converge()
            step(5, total, "Each transaction across the nodes (merged logs, "
                 "lines with its id)")
            self.logs()
            step(6, total, "Final mempools")
            self.mempools()
            self.check_rejected()
        except DemoError as e:
            self.failures.append(str(e))
        except KeyboardInterrupt:
            self.failures.append("interrupted")
        finally:
            self.stop()
        out()
        if self.failures:
            out(red(bold("demo: FAILED")))
            for f in self.failures:
                out("  - " + f.replace("\n", "\n    "))
            return 1
        out(green(bold("demo: OK")) + " - 0, 50 and 100 reached all %d nodes; "
            "150 was rejected (amount too high) and is on no node" % NODES)
        return 0


if __name__ == "__main__":
    sys.exit(Demo().main())
