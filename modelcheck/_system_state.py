"""The state pieces of :mod:`modelcheck.system`: budgets, nodes, connections.

Kept apart so that ``system.py`` holds only the behaviour. :func:`freeze`
turns actor attributes into plain hashable data for snapshots.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelcheck._explore_model import stable_encode
from modelcheck._system_actions import ConnKey
from modelcheck.actor import Actor
from modelcheck.disk import Disk
from modelcheck.errors import InvalidArgument
from modelcheck.network import Endpoint

ActorFactory = Callable[[int], Actor]
ACCEPT = ("accept",)


@dataclass(frozen=True, slots=True)
class Budgets:
    """Bounds on faults and on the run (``None`` = unbounded; 0 turns a fault kind off)."""

    crashes_max: int | None = 1
    drops_max: int | None = 2
    partitions_max: int | None = 1
    timer_fires_max: int | None = None
    steps_max: int | None = None

    def __post_init__(self) -> None:
        for name in ("crashes_max", "drops_max", "partitions_max", "timer_fires_max",
                     "steps_max"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise InvalidArgument(f"Budgets.{name}={v!r} must be an int >= 0 or None")


def freeze(value: Any) -> Any:
    """Plain hashable data: lists become tuples, dicts and sets sorted tuples.

    >>> freeze({"b": [1, 2], "a": {3}})
    (('a', (3,)), ('b', (1, 2)))
    """
    if value is None or isinstance(value, bool | int | str | bytes | float):
        return value
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(((freeze(k), freeze(v)) for k, v in value.items()),
                            key=lambda kv: stable_encode(kv[0])))
    if isinstance(value, set | frozenset):
        return tuple(sorted((freeze(v) for v in value), key=stable_encode))
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value  # frozen dataclasses, enums, named tuples: already plain


class Dir:
    """One direction of a connection: a FIFO of ``(n, item, msg_id)``."""

    __slots__ = ("queue", "count", "send_closed", "recv_closed")

    def __init__(self) -> None:
        self.queue: deque[tuple[int, tuple, int]] = deque()
        self.count = 0  # items ever put on this direction (the next item's n)
        self.send_closed = False
        self.recv_closed = False


class Conn:
    __slots__ = ("cid", "key", "nodes", "dirs", "accepted", "ends")

    def __init__(self, cid: int, key: ConnKey) -> None:
        self.cid = cid
        self.key = key
        self.nodes = (key[0], key[1])
        self.dirs = (Dir(), Dir())  # [0] client -> server, [1] server -> client
        self.accepted = False
        self.ends = (Endpoint(cid, key[0], key[1], 0), Endpoint(cid, key[1], key[0], 1))


class SystemNode:
    """One node: an actor factory, its current actor, timers and a durable disk."""

    __slots__ = ("nid", "name", "factory", "actor", "alive", "incarnation", "exit", "timers",
                 "disk")

    def __init__(self, nid: int, name: str, factory: ActorFactory, disk: Disk) -> None:
        self.nid = nid
        self.name = name
        self.factory = factory
        self.actor: Actor | None = None
        self.alive = True
        self.incarnation = 0
        self.exit: tuple[int, str] | None = None
        self.timers: dict[str, int] = {}  # name -> due time (ms)
        self.disk = disk

    @property
    def active(self) -> bool:
        """Up and not exited: its actor handles events."""
        return self.alive and self.exit is None


def actor_state(actor: Actor | None) -> Any:
    if actor is None:
        return None
    state = getattr(actor, "state", None)
    if callable(state):
        return freeze(state())
    attrs = getattr(actor, "__dict__", None)
    if attrs is None:
        attrs = {s: getattr(actor, s) for s in getattr(type(actor), "__slots__", ())
                 if hasattr(actor, s)}
    return (type(actor).__name__, freeze(attrs))
