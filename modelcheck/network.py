"""A simulated TCP-like network with the original simulator's semantics.

Connections are reliable and ordered per direction, with a per-message delay
drawn uniformly in ``[min, max]``. With probability ``fail_prob`` a connect or
a send *fails*: that direction silently breaks and every later message on it
is dropped; nobody is told, and the peer learns only through its keepalive
timeout (``keepalive_timeout``: a side that has heard nothing for that long
closes its end and gets a ``closed`` event). Closing an end drops what was in
flight towards it; what it already sent is still delivered. A partition
between two sets of nodes breaks every direction that crosses it, for
messages sent during the partition and for those in flight when it started.

Events reach nodes through a ``deliver(node, event)`` callback, as tuples:
``("accept", ep)``, ``("msg", ep, msg, msg_id)``, ``("closed", ep)``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from modelcheck.choice import Chooser
from modelcheck.errors import InvalidArgument
from modelcheck.executor import Executor


def _check_probability(owner: str, name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise InvalidArgument(f"{owner}.{name}={value!r} must be a probability in [0, 1]")


@dataclass(frozen=True, slots=True)
class Delay:
    """A delay in ``[min, max]`` ms (uniform, both ends included), or a failure.

    >>> Delay(1, 5, 0.0).min
    1
    >>> Delay(5, 1)
    Traceback (most recent call last):
    ...
    modelcheck.errors.InvalidArgument: Delay.max=1 must be >= Delay.min=5
    """

    min: int
    max: int
    fail_prob: float = 0.0

    def __post_init__(self) -> None:
        for name in ("min", "max"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidArgument(f"Delay.{name}={value!r} must be an int >= 0 (ms)")
        if self.max < self.min:
            raise InvalidArgument(f"Delay.max={self.max} must be >= Delay.min={self.min}")
        _check_probability("Delay", "fail_prob", self.fail_prob)

    @classmethod
    def fixed(cls, ms: int) -> Delay:
        return cls(ms, ms, 0.0)

    def draw(self, chooser: Chooser) -> int | None:
        """Draw a delay, or None for a failure (the failure is drawn first)."""
        if self.fail_prob and chooser.chance(self.fail_prob):
            return None
        if self.min == self.max:
            return self.min
        return self.min + chooser.below(self.max - self.min + 1)


@dataclass(frozen=True, slots=True)
class NetworkOptions:
    """Network behaviour: keepalive (ms, None = never) and connect/send delays."""

    keepalive_timeout: int | None = 2000
    connect_delay: Delay = field(default_factory=lambda: Delay(1, 5))
    send_delay: Delay = field(default_factory=lambda: Delay(1, 5))

    def __post_init__(self) -> None:
        k = self.keepalive_timeout
        if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k <= 0):
            raise InvalidArgument(
                f"NetworkOptions.keepalive_timeout={k!r} must be a positive int (ms) or None"
            )
        for name in ("connect_delay", "send_delay"):
            if not isinstance(getattr(self, name), Delay):
                raise InvalidArgument(f"NetworkOptions.{name} must be a Delay")

    def to_dict(self) -> dict[str, Any]:
        def d(x: Delay) -> dict[str, Any]:
            return {"min": x.min, "max": x.max, "fail_prob": x.fail_prob}

        return {
            "keepalive_timeout": self.keepalive_timeout,
            "connect_delay": d(self.connect_delay),
            "send_delay": d(self.send_delay),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkOptions:
        return cls(
            keepalive_timeout=data["keepalive_timeout"],
            connect_delay=Delay(**data["connect_delay"]),
            send_delay=Delay(**data["send_delay"]),
        )


class Endpoint(NamedTuple):
    """One end of a connection, as its owner sees it (side 0 opened it)."""

    conn: int
    node: int
    peer: int
    side: int


class _Direction:
    __slots__ = ("queue", "tail_at", "send_closed", "recv_closed", "last_recv", "keepalive_armed")

    def __init__(self, last_recv: int | None) -> None:
        self.queue: deque[tuple[Any, int]] = deque()
        self.tail_at = 0  # delivery time of the last queued message (FIFO)
        self.send_closed = False
        self.recv_closed = False
        self.last_recv = last_recv
        self.keepalive_armed = False


class Connection:
    """Two directions between a client (side 0) and a server (side 1)."""

    __slots__ = ("cid", "nodes", "dirs", "accepted", "ends")

    def __init__(self, cid: int, client: int, server: int, now: int) -> None:
        self.cid = cid
        self.nodes = (client, server)
        # dirs[0] carries client -> server, dirs[1] server -> client.
        self.dirs = (_Direction(None), _Direction(now))
        self.accepted = False
        self.ends = (Endpoint(cid, client, server, 0), Endpoint(cid, server, client, 1))

    def endpoint(self, side: int) -> Endpoint:
        return self.ends[side]


DeliverFn = Callable[[int, tuple], None]
LogFn = Callable[[int, str, tuple], None]


class Network:
    """Connections between nodes, driven by the executor's timers."""

    def __init__(
        self,
        executor: Executor,
        chooser: Chooser,
        options: NetworkOptions,
        deliver: DeliverFn,
        log: LogFn | None = None,
    ) -> None:
        self.executor = executor
        self.chooser = chooser
        self.options = options
        self._deliver = deliver
        self._log = log
        self.connections: list[Connection] = []
        self._partitions: set[tuple[int, int]] = set()
        self.messages_sent = 0
        self.messages_delivered = 0
        self.messages_dropped = 0

    # -- topology ---------------------------------------------------------------

    def partition(self, side_a: Iterable[int], side_b: Iterable[int]) -> None:
        """Cut every path between a node of ``side_a`` and one of ``side_b``."""
        a, b = sorted(set(side_a)), sorted(set(side_b))
        for x in a:
            for y in b:
                if x != y:
                    self._partitions.add((x, y))
                    self._partitions.add((y, x))
        if self._log:
            self._log(-1, "partition", (("a", a), ("b", b)))

    def heal(self) -> None:
        """Remove every partition (connections broken by them stay broken)."""
        self._partitions.clear()
        if self._log:
            self._log(-1, "heal", ())

    def partitioned(self, x: int, y: int) -> bool:
        return (x, y) in self._partitions

    # -- connections ------------------------------------------------------------

    def connect(self, src: int, dst: int) -> Endpoint:
        """Open a connection from ``src`` to ``dst``; the client end is usable at once."""
        ex = self.executor
        conn = Connection(len(self.connections), src, dst, ex.now)
        self.connections.append(conn)
        delay = self.options.connect_delay.draw(self.chooser)
        if self._log:
            self._log(src, "connect", (("conn", conn.cid), ("to", dst), ("delay", delay)))
        if delay is None or self.partitioned(src, dst):
            conn.dirs[0].send_closed = True  # the handshake is lost; nobody is told
        else:
            # The handshake is the first item of the client->server FIFO (as in the
            # original): a message sent at once never overtakes the accept.
            conn.dirs[0].tail_at = ex.now + delay
            ex.schedule(ex.now + delay, lambda: self._arrive_accept(conn))
        self._arm_keepalive(conn, 1)
        return conn.endpoint(0)

    def _arrive_accept(self, conn: Connection) -> None:
        d = conn.dirs[0]
        if d.recv_closed:
            return
        if self.partitioned(*conn.nodes):
            # The handshake is lost, and so is everything queued behind it.
            d.send_closed = d.recv_closed = True
            self.messages_dropped += len(d.queue)
            d.queue.clear()
            return
        conn.accepted = True
        d.last_recv = self.executor.now
        self._arm_keepalive(conn, 0)
        self._deliver(conn.nodes[1], ("accept", conn.endpoint(1)))

    def send(self, ep: Endpoint, msg: Any) -> int:
        """Queue ``msg`` on the sending direction of ``ep``; returns its message id."""
        conn = self.connections[ep.conn]
        side = ep.side
        d = conn.dirs[side]
        self.messages_sent += 1
        msg_id = self.messages_sent
        sd = self.options.send_delay
        # The delay is drawn first, even when the message is dropped below (as the original).
        if sd.fail_prob and self.chooser.chance(sd.fail_prob):
            delay = None
        elif sd.min == sd.max:
            delay = sd.min
        else:
            delay = sd.min + self.chooser.below(sd.max - sd.min + 1)
        log = self._log
        if log:
            log(ep.node, "send", (("conn", ep.conn), ("to", ep.peer), ("id", msg_id),
                                  ("msg", msg), ("delay", delay)))
        if d.send_closed or delay is None or d.recv_closed or (
            self._partitions and self.partitioned(ep.node, ep.peer)
        ):
            if d.send_closed:
                reason = "broken"
            elif delay is None:
                reason = "failed"
            elif d.recv_closed:
                reason = "closed"
            else:
                reason = "partition"
            if reason in ("failed", "partition"):
                d.send_closed = True
            self.messages_dropped += 1
            if log:
                log(ep.node, "drop", (("id", msg_id), ("reason", reason)))
            return msg_id
        at = self.executor.now + delay
        if at < d.tail_at:
            at = d.tail_at
        d.tail_at = at
        d.queue.append((msg, msg_id))
        self.executor.schedule(at, lambda: self._arrive(conn, side))
        return msg_id

    def _arrive(self, conn: Connection, side: int) -> None:
        d = conn.dirs[side]
        if not d.queue:
            return  # the receiving end was closed and its queue dropped
        msg, msg_id = d.queue.popleft()
        receiver = conn.nodes[1 - side]
        if self._partitions and self.partitioned(conn.nodes[side], receiver):
            d.send_closed = True
            d.queue.clear()
            self.messages_dropped += 1
            if self._log:
                self._log(receiver, "drop", (("id", msg_id), ("reason", "partition")))
            return
        self.messages_delivered += 1
        d.last_recv = self.executor.now
        if not d.keepalive_armed and self.options.keepalive_timeout is not None:
            self._arm_keepalive(conn, side)
        self._deliver(receiver, ("msg", conn.ends[1 - side], msg, msg_id))

    def close(self, ep: Endpoint, *, notify: bool = True) -> None:
        """Close the end ``ep``: drop what is in flight to it; the peer is not told."""
        conn = self.connections[ep.conn]
        incoming, outgoing = conn.dirs[1 - ep.side], conn.dirs[ep.side]
        if incoming.recv_closed and outgoing.send_closed:
            return
        dropped = len(incoming.queue)
        incoming.recv_closed = True
        incoming.queue.clear()
        self.messages_dropped += dropped
        outgoing.send_closed = True
        if self._log:
            self._log(ep.node, "close", (("conn", ep.conn), ("dropped", dropped)))
        if notify:
            self._deliver(ep.node, ("closed", ep))

    def close_node(self, node: int) -> None:
        """Close, silently, every end that ``node`` owns (the node crashed)."""
        for conn in self.connections:
            for side in (0, 1):
                if conn.nodes[side] == node and (side == 0 or conn.accepted):
                    self.close(conn.endpoint(side), notify=False)
            if conn.nodes[1] == node and not conn.accepted:
                # A handshake in flight finds nobody, and neither do the messages
                # queued behind it: the connection never reaches the new incarnation.
                d = conn.dirs[0]
                d.recv_closed = True
                self.messages_dropped += len(d.queue)
                d.queue.clear()

    # -- keepalive --------------------------------------------------------------

    def _arm_keepalive(self, conn: Connection, side: int) -> None:
        timeout = self.options.keepalive_timeout
        d = conn.dirs[side]
        if timeout is None or d.recv_closed or d.last_recv is None:
            return
        d.keepalive_armed = True
        self.executor.schedule(d.last_recv + timeout, lambda: self._keepalive(conn, side))

    def _keepalive(self, conn: Connection, side: int) -> None:
        d = conn.dirs[side]
        d.keepalive_armed = False
        if d.recv_closed or d.last_recv is None:
            return
        if self.executor.now - d.last_recv >= self.options.keepalive_timeout:  # type: ignore[operator]
            self.close(conn.endpoint(1 - side))
        else:
            self._arm_keepalive(conn, side)
