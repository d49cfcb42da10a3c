"""A small actor scenario that accepts a trace recorder, for the trace, show and viewer tests.

A sender copies 1..N to a receiver over a lossy network, resending from the
last acknowledged position on a fresh connection when its timer fires. The
receiver is restarted once and the two are partitioned for a while. With
``mutant="dup"`` the receiver also appends cells at or below its length, so a
resend duplicates values and the ``prefix`` property fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelcheck.actor import Actor
from modelcheck.errors import TaskFailed
from modelcheck.network import Delay, NetworkOptions
from modelcheck.sim import CRASH, OK, SAFETY, SeedResult
from modelcheck.world import World

NETWORK = NetworkOptions(keepalive_timeout=80, connect_delay=Delay(1, 30, 0.15),
                         send_delay=Delay(1, 30, 0.15))


@dataclass(frozen=True, slots=True)
class Cell:
    seqno: int
    value: int


@dataclass(frozen=True, slots=True)
class Ack:
    flushed: int


@dataclass(frozen=True, slots=True)
class SenderView:
    acked: int
    conn: int | None
    resends: int


@dataclass(frozen=True, slots=True)
class ReceiverView:
    values: tuple[int, ...]
    conns: tuple[int, ...]


class Sender(Actor):
    def __init__(self, n: int, dst: int) -> None:
        self.n, self.dst = n, dst
        self.acked = 0
        self.ep = None
        self.resends = 0

    def on_start(self, ctx):
        self._resend(ctx)

    def _resend(self, ctx):
        if self.ep is not None:
            ctx.close(self.ep)
        self.ep = ctx.connect(self.dst)
        self.resends += 1
        for seqno in range(self.acked, self.n):
            ctx.send(self.ep, Cell(seqno, seqno + 1))
        ctx.set_timer("retry", 120)

    def on_message(self, ctx, src, msg):
        if self.ep is not None and src.conn == self.ep.conn:
            self.acked = max(self.acked, msg.flushed)
            if self.acked >= self.n:
                ctx.cancel_timer("retry")
                ctx.log("done", acked=self.acked)

    def on_timer(self, ctx, name):
        if self.acked < self.n:
            self._resend(ctx)

    def on_closed(self, ctx, ep):
        if self.ep is not None and ep.conn == self.ep.conn:
            self.ep = None

    def view(self):
        return SenderView(self.acked, None if self.ep is None else self.ep.conn, self.resends)


class Receiver(Actor):
    def __init__(self, buggy: bool) -> None:
        self.buggy = buggy
        self.values: list[int] = []
        self.conns: set[int] = set()

    def on_start(self, ctx):
        self.values = list(ctx.disk.read_all("data"))

    def on_accept(self, ctx, ep):
        self.conns.add(ep.conn)

    def on_closed(self, ctx, ep):
        self.conns.discard(ep.conn)

    def on_message(self, ctx, src, msg):
        if msg.seqno == len(self.values) or (self.buggy and msg.seqno < len(self.values)):
            self.values.append(msg.value)
            ctx.disk.write("data", len(self.values) - 1, bytes([msg.value]))
            ctx.disk.fsync("data")
        ctx.send(src, Ack(len(self.values)))

    def view(self):
        return ReceiverView(tuple(self.values), tuple(sorted(self.conns)))


class CopyScenario:
    """``run_seed`` with the optional ``recorder`` keyword (docs/trace-format.md)."""

    name = "trace-copy"
    n = 6

    def run_seed(self, seed, *, mutant=None, acceptors=3, keep_log=False, wire=False,
                 recorder=None):
        world = World(seed, network=NETWORK,
                      chooser=recorder.chooser(seed) if recorder is not None else None)
        receiver = world.add_actor(lambda nid: Receiver(mutant == "dup"), "receiver")
        world.add_actor(lambda nid: Sender(self.n, receiver.nid), "sender")
        failure = []
        steps = [0]

        def check(node):
            steps[0] += 1
            actor = receiver.actor
            if actor is None or failure:
                return
            values = list(actor.values)
            if values != list(range(1, len(values) + 1)):
                failure.append((steps[0], world.now, f"receiver holds {values}"))

        world.on_actor_step = check
        if recorder is not None:
            recorder.attach(world)
        stop = failure.__len__
        crashed = None
        try:
            world.run(until_ms=150, stop=stop)
            if not failure:
                world.restart(receiver)
                world.run(until_ms=300, stop=stop)
            if not failure:
                world.partition([0], [1])
                world.run(until_ms=400, stop=stop)
                world.heal()
                world.run(until_ms=5_000, stop=stop)
        except TaskFailed as exc:
            crashed = str(exc)
        outcome, prop, message, facts = OK, None, "", {}
        if crashed is not None:
            outcome, prop, message = CRASH, "crash", crashed
        elif failure:
            step, t, message = failure[0]
            outcome, prop = SAFETY, "prefix"
            facts["violation"] = {"property": prop, "step": step, "time_ms": t}
        return SeedResult(seed, outcome, prop, message, len(world.events or ()),
                          world.executor.steps, world.now, world.log_digest(),
                          world.log_lines() if keep_log else None, facts)


def find_failing_seed(limit: int = 200) -> int:
    """The first seed under which the ``dup`` mutant breaks the prefix property."""
    sc = CopyScenario()
    for seed in range(limit):
        if sc.run_seed(seed, mutant="dup").failed:
            return seed
    raise AssertionError("no failing seed for the dup mutant")
