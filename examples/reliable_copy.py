"""Reliable copy over a breaking network: the engine's own self-test.

A sender copies the numbers 1..N to a receiver over a connection whose
connects and sends fail at random (a failure silently breaks that direction;
keepalive closes idle ends). The sender resends from the receiver's last
acknowledged position on a fresh connection whenever it times out; the
receiver appends a value only when its sequence number is the next one
expected, and always answers with how many values it holds. The receiver
must end with exactly 1..N, in order. Written with plain coroutine tasks,
as the original simulator's ``reliable_copy_test`` was.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelcheck.chan import TIMEOUT
from modelcheck.network import Delay, NetworkOptions
from modelcheck.world import Node, World

NETWORK = NetworkOptions(keepalive_timeout=50, connect_delay=Delay(1, 60, 0.4),
                         send_delay=Delay(1, 60, 0.4))


@dataclass(frozen=True, slots=True)
class Cell:
    seqno: int
    value: int


@dataclass(frozen=True, slots=True)
class Ack:
    flushed: int


def build(seed: int, n: int = 5, network: NetworkOptions = NETWORK) -> tuple[World, list[int]]:
    """A world with a sender and a receiver; returns it and the receiver's storage."""
    world = World(seed, network=network)
    receiver = world.add_node("receiver")
    sender = world.add_node("sender")
    storage: list[int] = []
    world.spawn(receiver, _serve(world, receiver, storage), "serve", daemon=True)
    world.spawn(sender, _copy(world, sender, receiver.nid, n), "copy")
    return world, storage


async def _serve(world: World, node: Node, storage: list[int]) -> None:
    while True:
        event = await node.inbox.recv()
        if event[0] != "msg":
            continue
        _, ep, cell, _ = event
        if cell.seqno == len(storage):
            storage.append(cell.value)
        world.send(ep, Ack(len(storage)))


async def _copy(world: World, node: Node, dst: int, n: int) -> None:
    acked = 0
    while acked < n:
        ep = world.connect(node, dst)
        for seqno in range(acked, n):
            world.send(ep, Cell(seqno, seqno + 1))
        while acked < n:
            event = await node.inbox.recv_timeout(200)
            if event is TIMEOUT or event[0] == "closed":
                break
            if event[0] == "msg" and event[1].conn == ep.conn:
                acked = max(acked, event[2].flushed)
        world.close(ep)
    world.log(node, "done", acked=acked)


def run(seed: int, n: int = 5) -> list[int]:
    """Run one seed to completion and return what the receiver stored."""
    world, storage = build(seed, n)
    world.run(until_ms=1_000_000)
    return storage


class ReliableCopyScenario:
    """The reliable-copy example as a campaign scenario (``--scenario reliable-copy``)."""

    name = "reliable-copy"
    n = 10

    def run_seed(self, seed: int, *, mutant: str | None = None, acceptors: int = 3,
                 keep_log: bool = False, wire: bool = False):
        from modelcheck.errors import TaskFailed
        from modelcheck.sim import CRASH, OK, SAFETY, SeedResult

        world, storage = build(seed, self.n)
        outcome, prop, message = OK, None, ""
        try:
            world.run(until_ms=1_000_000)
        except TaskFailed as exc:
            outcome, prop, message = CRASH, "crash", str(exc)
        if outcome == OK and storage != list(range(1, self.n + 1)):
            outcome, prop = SAFETY, "exact_copy"
            message = f"receiver holds {storage}, expected 1..{self.n}"
        return SeedResult(seed, outcome, prop, message, len(world.events or ()),
                          world.executor.steps, world.now, world.log_digest(),
                          world.log_lines() if keep_log else None)
