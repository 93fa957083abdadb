"""
The push tree (issue 11, docs/PROTOCOL.md 5.2.1): accepted transactions go
whole along eager links, announcements on the others; a duplicate push
prunes a link, a lazy peer that delivers first is grafted.  Without it
(--relay-push off, the default for now) every hop is INV, GETDATA, TX.
"""

from conftest import wait_all_have, wait_connected, wait_until
from txlib import Wallet

NO_PEX = ["--peer-exchange", "off"]
PUSH = NO_PEX + ["--relay-push", "on"]


def frames(node, kind, direction="received"):
    return node.metrics().get('noded_frames_%s_total{type="%s"}' % (direction, kind), 0)


def tree(node, change):
    return node.metrics().get('noded_relay_tree_changes_total{change="%s"}' % change, 0)


def send(entry, nodes, txs):
    for t in txs:
        code, body = entry.submit(t.hex())
        assert code == 200, body
    wait_all_have(nodes, [t.id_hex() for t in txs], 30)


def test_a_line_pushes_every_hop(cluster):
    n1, n2, n3 = cluster.line(3, args=PUSH, prefix="t")
    wait_connected(n1, n2)
    wait_connected(n2, n3)
    # n2 dialled n1 and n3 dialled n2: each sent GRAFT, so both ends push.
    wait_until(lambda: frames(n1, "GRAFT") >= 1 and frames(n2, "GRAFT") >= 1, 10,
               "the dialling ends' GRAFT")
    w = Wallet()
    send(n1, [n2, n3], [w.tx(amount=1 + i) for i in range(20)])
    # Every hop is one TX frame: nobody asks for anything.
    assert frames(n2, "GETDATA", "sent") == 0 and frames(n3, "GETDATA", "sent") == 0
    assert n1.metric("noded_relay_pushed_total") == 20
    assert n2.metric("noded_relay_pushed_total") == 20
    assert frames(n3, "TX") == 20, frames(n3, "TX")


def test_a_lazy_link_is_grafted_when_it_delivers_first(cluster):
    # A peer that does not push (--relay-push off) only announces: the node
    # pulls each transaction from it, and asks it to push (GRAFT), at most
    # once a second.
    a = cluster.start("ga", args=NO_PEX + ["--relay-push", "off"])
    b = cluster.start("gb", peers=[a], args=PUSH)
    wait_connected(a, b)
    w = Wallet()
    send(a, [b], [w.tx(amount=1 + i) for i in range(5)])
    assert frames(b, "GETDATA", "sent") >= 1
    assert 1 <= tree(b, "grafted") <= 5


def test_a_triangle_prunes_the_redundant_link(cluster):
    a = cluster.start("a", args=PUSH)
    b = cluster.start("b", peers=[a], args=PUSH)
    c = cluster.start("c", peers=[a, b], args=PUSH)
    for x, y in ((a, b), (a, c), (b, c)):
        wait_connected(x, y)
    w = Wallet()
    for i in range(30):
        send(a, [b, c], [w.tx(amount=1 + i)])
    # A triangle has one redundant link: a duplicate push took it off the tree.
    assert sum(tree(n, "pruned") for n in (a, b, c)) >= 1
    txs = [w.tx(amount=50 + i) for i in range(30)]
    got = {n: frames(n, "TX") for n in (a, b, c)}
    for t in txs:
        send(a, [b, c], [t])
    # After pruning, each node gets each new transaction once, or nearly.
    for n in (b, c):
        assert frames(n, "TX") - got[n] <= 33, (n.name, frames(n, "TX") - got[n])


def test_relay_push_off_pulls_every_hop(cluster):
    n1, n2 = cluster.line(2, args=NO_PEX + ["--relay-push", "off"], prefix="o")
    wait_connected(n1, n2)
    w = Wallet()
    send(n1, [n2], [w.tx(amount=1 + i) for i in range(10)])
    assert frames(n2, "GETDATA", "sent") >= 1
    assert (n1.metric("noded_relay_pushed_total") or 0) == 0
    assert frames(n1, "GRAFT") == 0 and frames(n2, "GRAFT") == 0
