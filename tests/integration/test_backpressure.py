"""
Backpressure (issue 3, validator pool): when the validator channel is full a
node stops reading from the sockets that feed it and resumes when it drains.
Nothing is dropped on the way: every transaction reaches every node, and the
queue never holds more than its capacity.
"""

from conftest import wait_all_have, wait_until

# A one-thread pool with a 4-slot channel is full almost all the time.
TINY = ["--validators", "1", "--validator-queue", "4"]


def test_full_validator_channel_pauses_peers_and_loses_nothing(cluster, wallet):
    a = cluster.start("bp1", args=TINY)
    b = cluster.start("bp2", peers=[a], args=TINY)
    c = cluster.start("bp3", peers=[b], args=TINY + ["--peer-exchange", "off"])
    wait_until(lambda: b.status()["peers"] == 2, 10, "bp2 to link bp1 and bp3")

    txs = wallet.txs(1500)
    for i in range(0, len(txs), 500):
        code, body = a.submit_batch([t.hex() for t in txs[i:i + 500]])
        assert code == 200, body
        assert body["accepted"] == 500, body

    wait_all_have([a, b, c], [t.id_hex() for t in txs], timeout=90)

    for n in (a, b, c):
        st = n.status()
        assert st["mempool_txs"] == len(txs), (n.name, st)
        assert st["validator_queue_depth"] <= 4, (n.name, st)
        # Every transaction was verified exactly once on every node.
        assert n.metric("noded_validator_verified_total") == len(txs), n.name
    # The relaying nodes really were held back, not merely fast enough.
    held = b.metric("noded_validator_backpressure_total") + \
        c.metric("noded_validator_backpressure_total")
    assert held > 0, "no backpressure on bp2/bp3: the test did not exercise it"
