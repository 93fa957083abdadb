"""
The chaos run of issue 10 (tests/chaos/chaos.py) for about 60 s: four
nodes under kill -9 (mostly right after a batch was acknowledged) and
restarts, partitions and heals, link delays and conflicting pairs; at the
end nothing acknowledged may be lost and every digest must be equal.  It
needs the durable store: on a noded without it (NODED=/tmp/base/bin/noded)
acknowledged transactions are on no node after the kills.

Env: CHAOS_DURATION (60), CHAOS_SEED (random, printed), CHAOS_PORTS
(30000-40000, the range the cluster's ports are taken from).
"""

import os
import subprocess

from conftest import NODECTL, NODED, REPO


def test_chaos_nothing_acknowledged_lost():
    args = ["/usr/bin/python3", os.path.join(REPO, "tests", "chaos", "chaos.py"),
            "--duration", os.environ.get("CHAOS_DURATION", "60"),
            "--ports", os.environ.get("CHAOS_PORTS", "30000-40000")]
    if os.environ.get("CHAOS_SEED"):
        args += ["--seed", os.environ["CHAOS_SEED"]]
    env = dict(os.environ, NODED=os.path.abspath(NODED),
               NODECTL=os.path.abspath(NODECTL))
    r = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                       timeout=600)
    out = r.stdout + r.stderr
    print(out)
    assert r.returncode == 0, "chaos run failed:\n" + out[-6000:]
    assert "ok: 0 acknowledged transactions lost" in out, out[-6000:]
