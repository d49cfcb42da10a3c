"""The named events of a controlled actor system (see :mod:`modelcheck.system`).

Each event is a small frozen dataclass whose fields identify it *stably*: by
node ids, timer names and message keys, never by global counters. A message
is named by its connection's :data:`ConnKey` and its position ``n`` on that
direction, so when a shorter run sends fewer messages elsewhere, the same
message keeps the same name (which is what a minimiser's replay needs).

Actions sort in one fixed order (:func:`sort_key`): by kind in the order of
:data:`KINDS`, then by their fields; and they round-trip through plain JSON
data (:func:`action_to_dict`, :func:`action_from_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from modelcheck.errors import TraceError

ConnKey = tuple[int, int, int]
"""A connection's stable name: (client node, server node, serial), where the
serial counts the connections that client opened to that server (0, 1, ...)."""


class _Named:
    """Mixin: Hypothesis' pretty-printer shows the action as its plain repr."""

    __slots__ = ()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


@dataclass(frozen=True, slots=True)
class Deliver(_Named):
    """Deliver the head of the ``src -> dst`` direction of ``conn``: its ``n``-th item.

    Item 0 of the client-to-server direction is the handshake (the server's
    ``on_accept``); messages follow it. On the other direction messages count from 0.
    """

    src: int
    dst: int
    conn: ConnKey
    n: int
    kind: ClassVar[str] = "deliver"


@dataclass(frozen=True, slots=True)
class Drop(_Named):
    """Lose the head of a direction and break the direction (a failed send).

    Everything behind it on that direction, and everything sent on it later,
    is lost too; nobody is told (the ends learn only through :class:`Disconnect`).
    """

    src: int
    dst: int
    conn: ConnKey
    n: int
    kind: ClassVar[str] = "drop"


@dataclass(frozen=True, slots=True)
class FireTimer(_Named):
    """Fire the armed timer ``name`` of ``node``."""

    node: int
    name: str
    kind: ClassVar[str] = "timer"


@dataclass(frozen=True, slots=True)
class Disconnect(_Named):
    """``node``'s end of ``conn`` is closed by its keepalive (``on_closed``).

    Enabled only when nothing can ever arrive on that end again (the incoming
    direction is broken or closed and empty, or the handshake was lost).
    """

    node: int
    conn: ConnKey
    kind: ClassVar[str] = "disconnect"


@dataclass(frozen=True, slots=True)
class Command(_Named):
    """Ask ``node``'s actor to do a scenario action (``actor.on_command(ctx, name, arg)``)."""

    node: int
    name: str
    arg: int = 0
    kind: ClassVar[str] = "command"


@dataclass(frozen=True, slots=True)
class Crash(_Named):
    """Crash ``node``: memory, timers, connections and unsynced writes are lost."""

    node: int
    kind: ClassVar[str] = "crash"


@dataclass(frozen=True, slots=True)
class Restart(_Named):
    """Start a new incarnation of the crashed ``node`` (it reads its disk again)."""

    node: int
    kind: ClassVar[str] = "restart"


@dataclass(frozen=True, slots=True)
class Isolate(_Named):
    """Cut ``node`` off from every other node (in-flight messages across the cut are lost)."""

    node: int
    kind: ClassVar[str] = "isolate"


@dataclass(frozen=True, slots=True)
class Heal(_Named):
    """Remove every cut (directions broken by a cut stay broken, as in TCP)."""

    kind: ClassVar[str] = "heal"


@dataclass(frozen=True, slots=True)
class Tick(_Named):
    """Move the logical clock forward by ``ms`` (never listed as enabled: a driver's choice)."""

    ms: int
    kind: ClassVar[str] = "tick"


Action = Deliver | Drop | FireTimer | Disconnect | Command | Crash | Restart | Isolate | Heal | Tick

_CLASSES: tuple[type, ...] = (Deliver, Drop, FireTimer, Disconnect, Command, Crash, Restart,
                              Isolate, Heal, Tick)
KINDS: tuple[str, ...] = tuple(c.kind for c in _CLASSES)  # type: ignore[attr-defined]
_BY_KIND: dict[str, type] = {c.kind: c for c in _CLASSES}  # type: ignore[attr-defined]
_RANK: dict[type, int] = {c: i for i, c in enumerate(_CLASSES)}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {c: tuple(f.name for f in fields(c)) for c in _CLASSES}


def sort_key(action: Action) -> tuple:
    """The deterministic order of enabled actions: kind, then fields."""
    cls = type(action)
    return (_RANK[cls],) + tuple([getattr(action, name) for name in _FIELD_NAMES[cls]])


def action_to_dict(action: Action) -> dict[str, Any]:
    """Plain JSON data for one action: ``{"kind": ..., <fields>}``."""
    out: dict[str, Any] = {"kind": action.kind}
    for f in fields(action):
        value = getattr(action, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def action_from_dict(data: Any, where: str = "action") -> Action:
    """Rebuild an action from :func:`action_to_dict`'s output (raises :class:`TraceError`)."""
    if not isinstance(data, dict) or data.get("kind") not in _BY_KIND:
        kind = data.get("kind") if isinstance(data, dict) else None
        raise TraceError(f"{where}: kind={kind!r}, expected one of {', '.join(KINDS)}")
    cls = _BY_KIND[data["kind"]]
    args = {}
    for f in fields(cls):
        if f.name not in data:
            if f.name == "arg":
                continue
            raise TraceError(f"{where}: {data['kind']} needs field {f.name!r}, found {data!r}")
        value = data[f.name]
        if f.name == "conn":
            if not (isinstance(value, list | tuple) and len(value) == 3
                    and all(isinstance(x, int) for x in value)):
                raise TraceError(f"{where}: conn={value!r}, expected [client, server, serial]")
            value = tuple(value)
        elif f.name == "name":
            if not isinstance(value, str):
                raise TraceError(f"{where}: name={value!r}, expected a string")
        elif not isinstance(value, int) or isinstance(value, bool):
            raise TraceError(f"{where}: {f.name}={value!r}, expected an int")
        args[f.name] = value
    return cls(**args)


def describe(action: Action) -> str:
    """A short human form, e.g. ``deliver 0->1 conn=(0,1,0) #2``."""
    if isinstance(action, Deliver | Drop):
        c = action.conn
        return f"{action.kind} {action.src}->{action.dst} conn=({c[0]},{c[1]},{c[2]}) #{action.n}"
    if isinstance(action, Disconnect):
        c = action.conn
        return f"disconnect node={action.node} conn=({c[0]},{c[1]},{c[2]})"
    if isinstance(action, FireTimer):
        return f"timer node={action.node} {action.name}"
    if isinstance(action, Command):
        return f"command node={action.node} {action.name}({action.arg})"
    if isinstance(action, Tick):
        return f"tick {action.ms} ms"
    if isinstance(action, Heal):
        return "heal"
    return f"{action.kind} node={action.node}"
