"""A small protocol written as actors, for the controlled system and Hypothesis tests.

Reliable copy: node 0 (the sender) copies the values 1..N to node 1 (the
receiver). The receiver appends a cell only if it is the next one, persists
and fsyncs it, and acknowledges how many values it holds. The sender resends
from the last acknowledged position on a fresh connection when its ``retry``
timer fires. ``buggy=True`` makes the receiver append a cell whose seqno is
*at or below* its length, so a resend after a lost ack duplicates values.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelcheck.actor import Actor


@dataclass(frozen=True, slots=True)
class Cell:
    seqno: int
    value: int


@dataclass(frozen=True, slots=True)
class Ack:
    flushed: int


class Sender(Actor):
    def __init__(self, nid: int, n: int) -> None:
        self.n = n
        self.acked = 0
        self.ep = None

    def on_start(self, ctx):
        self._resend(ctx)

    def _resend(self, ctx):
        if self.ep is not None:
            ctx.close(self.ep)
        self.ep = ctx.connect(1)
        for seqno in range(self.acked, self.n):
            ctx.send(self.ep, Cell(seqno, seqno + 1))
        ctx.set_timer("retry", 100)

    def on_message(self, ctx, src, msg):
        if src == self.ep:
            self.acked = max(self.acked, msg.flushed)
            if self.acked >= self.n:
                ctx.cancel_timer("retry")
                ctx.log("done", acked=self.acked)

    def on_timer(self, ctx, name):
        if self.acked < self.n:
            self._resend(ctx)

    def on_closed(self, ctx, ep):
        if ep == self.ep:
            self.ep = None

    def view(self):
        return ("sender", self.acked)


class Receiver(Actor):
    def __init__(self, nid: int, buggy: bool = False) -> None:
        self.buggy = buggy
        self.values: list[int] = []

    def on_start(self, ctx):
        raw = ctx.disk.read_all("data")
        self.values = list(raw)

    def on_message(self, ctx, src, msg):
        if msg.seqno == len(self.values) or (self.buggy and msg.seqno < len(self.values)):
            self.values.append(msg.value)
            ctx.disk.write("data", len(self.values) - 1, bytes([msg.value]))
            ctx.disk.fsync("data")
        ctx.send(src, Ack(len(self.values)))

    def view(self):
        return ("receiver", tuple(self.values))


def build(system, n: int = 3, buggy: bool = False):
    """Add the sender (node 0) and the receiver (node 1) to a System or World."""
    system.add_actor(lambda nid: Sender(nid, n), "sender")
    system.add_actor(lambda nid: Receiver(nid, buggy), "receiver")
    return system


def prefix_ok(view, n: int = 3) -> bool:
    """The receiver holds a prefix of 1..n (None while it is down)."""
    rec = view[1]
    if rec is None:
        return True
    values = list(rec[1])
    return len(values) <= n and values == list(range(1, len(values) + 1))
