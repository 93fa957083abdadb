"""
DNS seeds (issue 12): a --peer given as a host name resolves to ALL its
addresses, each a dial target of its own; the "this is me" check is per
address; the name is resolved again while the node runs, so one that does
not resolve at start works once it does, and addresses that appear later
are dialled; --outbound bounds the dials.

Names resolve through a hosts file of the test's (--resolv-hosts, read
again at every resolution): the nodes listen on one port at 127.0.0.1,
127.0.0.2, ... (all loopback), and seed.test names some of them, as
tasks.<service> names the replicas of a Docker Swarm service.

The finding: with 8 replicas behind tasks.node, the node whose name first
failed, then resolved to its own address, gave up on the whole name and
stayed alone.  test_seed_all_addresses_self_skipped is that setup: every
node's seed includes itself.
"""

import os
import socket
import time

import pytest

from conftest import free_port, wait_until

SEED = "seed.test"


def loopback_ok(ip, port):
    """True if ip:port (a 127.x address) can be bound here."""
    s = socket.socket()
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture
def port():
    for _ in range(20):
        p = free_port()
        if all(loopback_ok("127.0.0.%d" % k, p) for k in range(1, 7)):
            return p
    pytest.skip("no port free on 127.0.0.1-6")


def write_hosts(path, ips, name=SEED):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write("# written by test_seeds.py\n")
        for ip in ips:
            f.write("%s %s\n" % (ip, name))
    os.replace(tmp, str(path))


def start(cluster, k, port, hosts, seed=True, args=()):
    """Node k listening on 127.0.0.k:port, with --peer seed.test:port if seed."""
    a = ["--listen", "127.0.0.%d:%d" % (k, port), "--resolv-hosts", str(hosts)]
    if seed:
        a += ["--peer", "%s:%d" % (SEED, port)]
    n = cluster.start("s%d" % k, args=a + list(args))
    return n


def outbound(node):
    return [p for p in node.peers() if p.get("direction") == "outbound"]


def test_seed_all_addresses_self_skipped(cluster, tmp_path, port):
    hosts = tmp_path / "hosts"
    ips = ["127.0.0.%d" % k for k in range(1, 5)]
    write_hosts(hosts, ips)
    # No peer exchange: every link comes from the seed's addresses.
    nodes = [start(cluster, k, port, hosts, args=["--peer-exchange", "off"])
             for k in range(1, 5)]
    for n in nodes:
        wait_until(lambda n=n: len(n.peers()) == 3, 20,
                   "%s linked to the 3 others behind %s" % (n.name, SEED))
    for k, n in enumerate(nodes, 1):
        # One line for the resolution, naming every address.
        lines = n.log_grep(r"seed %s:%d resolves to 4 addresses" % (SEED, port))
        assert len(lines) == 1, lines
        # Its own address is skipped, by address: the others are kept.
        wait_until(lambda n=n, k=k: n.log_grep(
            r"127\.0\.0\.%d:%d reaches this node itself" % (k, port)), 10,
            "%s: its own address found" % n.name)
        assert not n.log_grep(r"not dialling it again.*%s" % SEED)
        assert {p["node_id"] for p in n.peers()} == \
            {m.node_id for m in nodes if m is not n}


def test_seed_respects_outbound(cluster, tmp_path, port):
    hosts = tmp_path / "hosts"
    write_hosts(hosts, ["127.0.0.%d" % k for k in range(1, 6)])
    others = [start(cluster, k, port, hosts, seed=False,
                    args=["--peer-exchange", "off"]) for k in range(2, 6)]
    n = start(cluster, 1, port, hosts,
              args=["--outbound", "2", "--peer-exchange", "off"])
    wait_until(lambda: len(outbound(n)) == 2, 20, "2 outbound links")
    # Still 2 a few maintenance rounds later (one a second), not 4.
    for _ in range(3):
        wait_until(lambda: sum(len(o.peers()) for o in others) >= 2, 5,
                   "the others see the links")
    assert len(outbound(n)) == 2
    assert sum(len(o.peers()) for o in others) == 2


def test_seed_unresolvable_at_start_then_resolves(cluster, tmp_path, port):
    hosts = tmp_path / "hosts"
    write_hosts(hosts, [], name="other.test")
    a = start(cluster, 2, port, hosts, seed=False)
    n = start(cluster, 1, port, hosts)
    wait_until(lambda: n.log_grep(r"seed %s:%d does not resolve" % (SEED, port)),
               10, "the failure logged")
    # The name appears 4 s in (the retries come 1, 2, 4 s apart).
    time.sleep(4)
    assert n.peers() == []
    write_hosts(hosts, ["127.0.0.1", "127.0.0.2"])
    wait_until(lambda: a.node_id in n.peer_ids(), 20,
               "the seed dialled once it resolves")
    # One line for the failures (rate limited), one for the resolution.
    assert len(n.log_grep(r"seed %s:%d does not resolve" % (SEED, port))) == 1
    assert len(n.log_grep(r"seed %s:%d resolves to 2 addresses" % (SEED, port))) == 1


def test_seed_addresses_added_later_are_dialled(cluster, tmp_path, port):
    hosts = tmp_path / "hosts"
    write_hosts(hosts, ["127.0.0.1", "127.0.0.2"])
    a = start(cluster, 2, port, hosts, seed=False, args=["--peer-exchange", "off"])
    n = start(cluster, 1, port, hosts, args=["--peer-exchange", "off"])
    wait_until(lambda: a.node_id in n.peer_ids(), 15, "the first address")
    # A replica is added: the name now has a third address.  The node has
    # fewer links than --outbound, so it resolves again soon (every 5 s).
    b = start(cluster, 3, port, hosts, seed=False, args=["--peer-exchange", "off"])
    write_hosts(hosts, ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
    wait_until(lambda: b.node_id in n.peer_ids(), 20, "the address added later")
    assert n.log_grep(r"seed %s:%d resolves to 3 addresses \(1 new, 0 gone\)"
                      % (SEED, port))
