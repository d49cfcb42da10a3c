"""A message sent right after connect never reaches the server before the accept."""

from __future__ import annotations

import pytest

from modelcheck.actor import Actor
from modelcheck.network import Delay, NetworkOptions
from modelcheck.world import World


class _Server(Actor):
    def __init__(self, got: list) -> None:
        self.got = got

    def on_accept(self, ctx, ep):
        self.got.append("accept")

    def on_message(self, ctx, src, msg):
        self.got.append(msg)


class _Client(Actor):
    def on_start(self, ctx):
        ep = ctx.connect(0)
        ctx.send(ep, "first")
        ctx.send(ep, "second")


@pytest.mark.parametrize("seed", range(40))
def test_accept_comes_first(seed: int) -> None:
    got: list = []
    opts = NetworkOptions(connect_delay=Delay(1, 100), send_delay=Delay(1, 100))
    world = World(seed, network=opts)
    world.add_actor(lambda n: _Server(got))
    world.add_actor(lambda n: _Client())
    world.run(until_ms=1000)
    assert got == ["accept", "first", "second"]


class _SlowClient(Actor):
    def on_start(self, ctx):
        ep = ctx.connect(0)
        ctx.send(ep, "lost")


def test_messages_behind_a_handshake_to_a_crashed_node_are_dropped() -> None:
    got: list = []
    opts = NetworkOptions(connect_delay=Delay(50, 50), send_delay=Delay(10, 10))
    world = World(1, network=opts)
    server = world.add_actor(lambda n: _Server(got))
    world.add_actor(lambda n: _SlowClient())
    world.run(until_ms=20)
    world.restart(server)  # crash + restart before the handshake arrives
    world.run(until_ms=1000)
    assert got == []


def test_messages_behind_a_handshake_lost_to_a_partition_are_dropped() -> None:
    got: list = []
    opts = NetworkOptions(connect_delay=Delay(50, 50), send_delay=Delay(10, 10))
    world = World(1, network=opts)
    world.add_actor(lambda n: _Server(got))
    world.add_actor(lambda n: _SlowClient())
    world.run(until_ms=20)
    world.partition([0], [1])
    world.run(until_ms=60)  # the handshake arrives during the partition
    world.heal()
    world.run(until_ms=1000)
    assert got == []
