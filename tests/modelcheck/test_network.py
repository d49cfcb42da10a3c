import pytest

from modelcheck.errors import InvalidArgument
from modelcheck.executor import sleep
from modelcheck.network import Delay, NetworkOptions
from modelcheck.world import World


def test_options_validated_naming_the_field():
    with pytest.raises(InvalidArgument, match=r"Delay.fail_prob=1.5"):
        Delay(1, 2, 1.5)
    with pytest.raises(InvalidArgument, match=r"Delay.fail_prob=-0.1"):
        Delay(1, 2, -0.1)
    with pytest.raises(InvalidArgument, match=r"Delay.min=-1"):
        Delay(-1, 2)
    with pytest.raises(InvalidArgument, match="keepalive_timeout=0"):
        NetworkOptions(keepalive_timeout=0)


def _delays(seed: int, delay: Delay) -> list[int]:
    """Send 30 messages 100 ms apart and return each one's transit time."""
    w = World(seed, network=NetworkOptions(keepalive_timeout=None, connect_delay=Delay(1, 1),
                                           send_delay=delay))
    rx, tx = w.add_node("rx"), w.add_node("tx")
    sent: dict[int, int] = {}
    transit: list[int] = []

    async def receiver():
        while True:
            ev = await rx.inbox.recv()
            if ev[0] == "msg":
                transit.append(w.now - sent[ev[3]])

    async def sender():
        ep = w.connect(tx, rx.nid)
        for _ in range(30):
            await sleep(100)
            sent[w.send(ep, "x")] = w.now

    w.spawn(rx, receiver(), "rx", daemon=True)
    w.spawn(tx, sender(), "tx")
    w.run()
    return transit


def test_delays_stay_within_min_and_max_and_reach_both_ends():
    transits = [t for seed in range(20) for t in _delays(seed, Delay(3, 17))]
    assert len(transits) == 600
    assert min(transits) == 3 and max(transits) == 17


def test_fifo_per_direction_even_with_shorter_later_delays():
    w = World(2, network=NetworkOptions(keepalive_timeout=None, send_delay=Delay(1, 50)))
    rx, tx = w.add_node("rx"), w.add_node("tx")
    got = []

    async def receiver():
        while True:
            ev = await rx.inbox.recv()
            if ev[0] == "msg":
                got.append(ev[2])

    async def sender():
        ep = w.connect(tx, rx.nid)
        for i in range(200):
            w.send(ep, i)

    w.spawn(rx, receiver(), "rx", daemon=True)
    w.spawn(tx, sender(), "tx")
    w.run()
    assert got == list(range(200))


def test_connect_failure_rate_matches_fail_prob():
    """Over 4,000 connects (40 seeds x 100) the failed fraction is within 0.03 of 0.3."""
    failed = total = 0
    for seed in range(40):
        w = World(seed, network=NetworkOptions(keepalive_timeout=None,
                                               connect_delay=Delay(1, 5, 0.3)))
        a, b = w.add_node(), w.add_node()
        for _ in range(100):
            w.connect(a, b.nid)
        w.run()
        total += len(w.network.connections)
        failed += sum(not c.accepted for c in w.network.connections)
    assert total == 4000
    assert abs(failed / total - 0.3) < 0.03


def test_keepalive_closes_the_silent_side_only():
    w = World(1, network=NetworkOptions(keepalive_timeout=100, connect_delay=Delay(1, 1),
                                        send_delay=Delay(1, 1)))
    server, client = w.add_node("server"), w.add_node("client")
    events = {"server": [], "client": []}

    async def record(node, key):
        while True:
            ev = await node.inbox.recv()
            events[key].append((w.now, ev[0]))

    async def open_and_go_quiet():
        w.connect(client, server.nid)

    w.spawn(server, record(server, "server"), "rec", daemon=True)
    w.spawn(client, record(client, "client"), "rec", daemon=True)
    w.spawn(client, open_and_go_quiet(), "open")
    w.run()
    # The server heard the handshake at t=1 and nothing since: it closes at t=101.
    assert events["server"] == [(1, "accept"), (101, "closed")]
    # The client never heard anything from the server: it closes at t=100.
    assert events["client"] == [(100, "closed")]


def test_partition_breaks_paths_and_heal_allows_new_connections():
    w = World(3, network=NetworkOptions(keepalive_timeout=None))
    a, b = w.add_node("a"), w.add_node("b")
    got = []

    async def receiver():
        while True:
            ev = await b.inbox.recv()
            if ev[0] == "msg":
                got.append(ev[2])

    async def sender():
        w.partition([a.nid], [b.nid])
        ep = w.connect(a, b.nid)
        w.send(ep, "lost")
        await sleep(50)
        w.heal()
        ep2 = w.connect(a, b.nid)
        w.send(ep2, "after-heal")

    w.spawn(b, receiver(), "rx", daemon=True)
    w.spawn(a, sender(), "tx")
    w.run()
    assert got == ["after-heal"]
