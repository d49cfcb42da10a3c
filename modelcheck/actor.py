"""Sans-I/O actors: protocol code that only *asks* for effects.

An actor reacts to a start, a message, a timer, and (optionally) to a
connection being accepted or closed. It never sleeps, reads a clock, touches
a socket or a real file: it asks its :class:`Context` to send, connect,
close, set or cancel a timer, log, or stop; it reads and writes its own
simulated disk through ``ctx.disk``. Because of that one actor runs unchanged
under every driver: the simulator applies the effects over a timed network,
the explorer and Hypothesis apply them to an in-flight message pool, and the
z3 minimiser replays them.

Whatever an observer may look at (properties, traces, the viewer) comes from
:meth:`Actor.view`: plain data, never a live object.
"""

from __future__ import annotations

from typing import Any, Protocol

from modelcheck.disk import Disk
from modelcheck.network import Endpoint


class Host(Protocol):
    """What a driver provides to contexts: connection ids, time and choices."""

    def open_connection(self, node: int, dst: int) -> Endpoint: ...

    def choose(self, n: int) -> int: ...


class Context:
    """Records the effects one handler call asks for, in order.

    Effects are tuples: ``("send", ep, msg)``, ``("connect", ep)``,
    ``("close", ep)``, ``("set_timer", name, after_ms)``,
    ``("cancel_timer", name)``, ``("log", kind, fields)``, ``("exit", code, message)``.
    Disk reads and writes act on ``disk`` at once (the handler must see its own
    writes); fsync is an explicit ``disk.fsync(name)``.
    """

    __slots__ = ("node", "now", "disk", "effects", "_host")

    def __init__(self, node: int, now: int, disk: Disk, host: Host) -> None:
        self.node = node
        self.now = now
        self.disk = disk
        self.effects: list[tuple] = []
        self._host = host

    def send(self, to: Endpoint, msg: Any) -> None:
        """Send ``msg`` on connection end ``to`` (a reply goes back on the ``src`` it came from)."""
        self.effects.append(("send", to, msg))

    def connect(self, dst: int) -> Endpoint:
        """Open a connection to node ``dst``; usable at once (sends queue behind the handshake)."""
        ep = self._host.open_connection(self.node, dst)
        self.effects.append(("connect", ep))
        return ep

    def close(self, ep: Endpoint) -> None:
        self.effects.append(("close", ep))

    def set_timer(self, name: str, after_ms: int) -> None:
        """(Re)arm the timer ``name``; an earlier setting of the same name is replaced."""
        assert after_ms >= 0, after_ms
        self.effects.append(("set_timer", name, after_ms))

    def cancel_timer(self, name: str) -> None:
        self.effects.append(("cancel_timer", name))

    def log(self, kind: str, **fields: Any) -> None:
        """Add a line to the event log (``kind`` then ``key=value`` fields)."""
        self.effects.append(("log", kind, tuple(fields.items())))

    def random(self, n: int) -> int:
        """A choice in ``[0, n)`` from the run's chooser (the only randomness an actor has)."""
        return self._host.choose(n)

    def exit(self, code: int, message: str = "") -> None:
        """Stop this actor for good with a result (the node stays up, idle)."""
        self.effects.append(("exit", code, message))


class Actor:
    """Base class with no-op handlers; subclasses override what they need."""

    def on_start(self, ctx: Context) -> None:
        """Called once per incarnation, after a (re)start; read the disk here."""

    def on_message(self, ctx: Context, src: Endpoint, msg: Any) -> None:
        """Called for each message received on connection end ``src``."""

    def on_timer(self, ctx: Context, name: str) -> None:
        """Called when the timer ``name`` fires."""

    def on_accept(self, ctx: Context, ep: Endpoint) -> None:
        """Called when a peer's connection to this node arrives."""

    def on_closed(self, ctx: Context, ep: Endpoint) -> None:
        """Called when this node's end ``ep`` is closed (keepalive timeout)."""

    def view(self) -> Any:
        """Observable state, as plain data, for properties and traces."""
        return None
