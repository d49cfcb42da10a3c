"""Recorded traces: one versioned JSON format that every driver writes and every tool reads.

A trace is what a person debugs from. It holds a *header* (what ran: the
driver, scenario, seed, options, mutant, the violated property and the step
where it was seen, and the recorded choices so a replay chooser can repeat the
run), the *events* of the run in the event log's own shape (virtual time,
node, kind, message id, fields), and optional *snapshots* of each node's
observable state (``Actor.view()`` made JSON-safe), so a viewer can show every
node's state at any step. The file layout is documented in
``docs/trace-format.md``.

:class:`TraceRecorder` builds a trace from any :class:`~modelcheck.world.World`
(or anything with the same ``on_event`` / ``on_actor_step`` hooks): it chains
onto the hooks, keeps each event, and snapshots a node's view after an actor
step only when it changed (with a cap). A scenario that wants rich traces
accepts an optional ``recorder`` keyword in ``run_seed`` and does two things
with it (see :mod:`modelcheck._trace_run`)::

    world = World(seed, chooser=recorder.chooser(seed) if recorder else None, ...)
    ...                              # set up its own hooks (observers, checkers)
    if recorder: recorder.attach(world)   # last, so it chains onto theirs

Loading checks every field and raises :class:`~modelcheck.errors.TraceError`
naming it (``events[12].t``), and refuses a trace written by a newer format
version instead of misreading it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from modelcheck import __version__
from modelcheck.choice import Chooser, RecordingChooser, ReplayChooser, SeededChooser
from modelcheck.errors import ReplayDiverged, TraceError
from modelcheck.world import format_event, format_value

__all__ = [
    "FORMAT", "VERSION", "Trace", "TraceEvent", "Snapshot", "TraceRecorder", "json_safe",
    "load_trace", "loads_trace", "MSG_KINDS",
]

FORMAT = "modelcheck-trace"
VERSION = 1
MSG_KINDS = frozenset({"send", "recv", "drop"})
"""Event kinds whose ``id`` field is a message id (send and receive pair up by it)."""

_STR_MAX = 400
_SEQ_MAX = 256
_DEPTH_MAX = 12
_JS_SAFE_INT = (1 << 53) - 1


def json_safe(value: Any, _depth: int = 0) -> Any:
    """Plain JSON data for ``value``: what a snapshot or a header may hold.

    Dataclasses and named tuples become objects with a ``"_type"`` key, tuples
    and lists become lists (at most 256 items, then a ``"..."`` marker), sets
    sorted lists, enums their name, bytes a ``<nB:digest>`` summary, integers
    beyond 2**53 strings (a browser would round them), anything else its
    bounded ``repr``. Deterministic: no ``id()``, no set iteration order.

    >>> json_safe((1, frozenset({3, 2}), None, 1 << 60))
    [1, [2, 3], None, '1152921504606846976']
    """
    if value is None or isinstance(value, (bool, str, float)):
        return value if not isinstance(value, str) or len(value) <= _STR_MAX else (
            value[:_STR_MAX] + "...")
    if isinstance(value, int):
        return value if -_JS_SAFE_INT <= value <= _JS_SAFE_INT else str(value)
    if _depth >= _DEPTH_MAX:
        return format_value(value)
    d = _depth + 1
    if isinstance(value, enum.Enum):
        return value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"_type": type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = json_safe(getattr(value, f.name), d)
        return out
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        out = {"_type": type(value).__name__}
        for name in value._fields:
            out[name] = json_safe(getattr(value, name), d)
        return out
    if isinstance(value, (list, tuple)):
        items = [json_safe(v, d) for v in value[:_SEQ_MAX]]
        if len(value) > _SEQ_MAX:
            items.append(f"... {len(value) - _SEQ_MAX} more")
        return items
    if isinstance(value, (set, frozenset)):
        items = sorted((json_safe(v, d) for v in value), key=_sort_key)
        return items[:_SEQ_MAX]
    if isinstance(value, dict):
        return {str(k): json_safe(v, d) for k, v in value.items()}
    return format_value(value)


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def event_field(value: Any) -> Any:
    """An event field as the trace keeps it: what the log line shows, as JSON.

    Integers, strings, booleans, floats, None and lists of ints/strings stay as
    they are; anything else becomes the log's own rendering
    (:func:`~modelcheck.world.format_value`), so :meth:`Trace.log_lines`
    reproduces the event log byte for byte.
    """
    if value is None or isinstance(value, (bool, int, str, float)):
        return value
    if isinstance(value, list) and all(
            isinstance(v, (int, str)) and not isinstance(v, bool) for v in value):
        return list(value)
    return format_value(value)


@dataclasses.dataclass(frozen=True, slots=True)
class TraceEvent:
    """One event: virtual time (ms), node id (-1 for the network), kind, message id, fields."""

    t: int
    node: int
    kind: str
    fields: dict[str, Any]
    id: int | None = None

    def line(self) -> str:
        """The event as an event-log line (``t=<ms> node=<id> <kind> key=value ...``)."""
        return format_event((self.t, self.node, self.kind, tuple(self.fields.items())))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": self.t, "node": self.node, "kind": self.kind}
        if self.id is not None:
            out["id"] = self.id
        out["fields"] = self.fields
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """Node ``node``'s view as it was after event ``step`` (-1: before the first event)."""

    step: int
    node: int
    view: Any

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "node": self.node, "view": self.view}


def event_from_tuple(event: tuple) -> TraceEvent:
    """A :class:`TraceEvent` from a world event tuple ``(t, node, kind, fields)``."""
    t, node, kind, fields = event
    data = {str(k): event_field(v) for k, v in fields}
    msg_id = data.get("id") if kind in MSG_KINDS else None
    return TraceEvent(t, node, kind, data, msg_id if isinstance(msg_id, int) else None)


@dataclasses.dataclass
class Trace:
    """A whole trace: header, events and snapshots (see ``docs/trace-format.md``)."""

    header: dict[str, Any]
    events: list[TraceEvent] = dataclasses.field(default_factory=list)
    snapshots: list[Snapshot] = dataclasses.field(default_factory=list)
    actions: list[Any] | None = None

    # -- convenience views of the header --------------------------------------------------

    @property
    def violation(self) -> dict[str, Any] | None:
        return self.header.get("violation")

    @property
    def choices(self) -> list[int] | None:
        return self.header.get("choices")

    def node_names(self) -> dict[int, str]:
        """Node id -> name, from the header, else ``n<id>`` for every node seen in events."""
        names = {int(n["id"]): str(n["name"]) for n in self.header.get("nodes") or ()}
        for e in self.events:
            if e.node >= 0 and e.node not in names:
                names[e.node] = f"n{e.node}"
        return dict(sorted(names.items()))

    def log_lines(self) -> list[str]:
        """The events as event-log lines (identical to the world's ``log_lines()``)."""
        return [e.line() for e in self.events]

    def states_at(self, step: int) -> dict[int, Any]:
        """Each node's last snapshot taken at or before event ``step``."""
        out: dict[int, Any] = {}
        for s in self.snapshots:
            if s.step > step:
                break
            out[s.node] = s.view
        return out

    # -- serialisation --------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "header": self.header,
                               "events": [e.to_json() for e in self.events],
                               "snapshots": [s.to_json() for s in self.snapshots]}
        if self.actions is not None:
            doc["actions"] = self.actions
        return doc

    def dumps(self) -> str:
        """The trace as JSON text: the header indented, one event or snapshot per line.

        Deterministic (same run, same bytes), diff-friendly, and plain ``json``.
        """
        head = json.dumps(self.header, indent=1, ensure_ascii=False, allow_nan=False)

        def rows(items: Sequence[Any]) -> str:
            if not items:
                return "[]"
            body = ",\n".join(json.dumps(x, ensure_ascii=False, separators=(",", ":"),
                                         allow_nan=False) for x in items)
            return "[\n" + body + "\n]"

        parts = [f'"format": {json.dumps(FORMAT)}', f'"version": {VERSION}', f'"header": {head}',
                 f'"events": {rows([e.to_json() for e in self.events])}',
                 f'"snapshots": {rows([s.to_json() for s in self.snapshots])}']
        if self.actions is not None:
            parts.append(f'"actions": {rows(self.actions)}')
        return "{\n" + ",\n".join(parts) + "\n}\n"

    def save(self, path: str | os.PathLike) -> Path:
        """Write the trace to ``path`` (parent directories are created); returns the path."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.dumps(), encoding="utf-8")
        return p


# -- loading and checking ----------------------------------------------------------------

def _fail(where: str, expected: str, found: Any) -> TraceError:
    shown = repr(found)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return TraceError(f"trace field {where}: expected {expected}, found {shown}")


def _want_int(obj: dict, key: str, where: str, *, optional: bool = False,
              minimum: int | None = None) -> int | None:
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise TraceError(f"trace field {where}.{key} is missing (expected an integer)")
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(f"{where}.{key}", "an integer", value)
    if minimum is not None and value < minimum:
        raise _fail(f"{where}.{key}", f"an integer >= {minimum}", value)
    return value


_HEADER_TYPES: dict[str, tuple[type, ...]] = {
    "driver": (str,), "scenario": (str,), "project_version": (str,), "mutant": (str,),
    "acceptors": (int,), "wire": (bool,), "options": (dict,), "facts": (dict,),
    "nodes": (list,), "choices": (list,), "outcome": (str,), "violation": (dict,),
    "log_digest": (str,), "seed": (int,), "snapshots_truncated": (bool,),
}


def _check_header(header: Any) -> dict[str, Any]:
    if not isinstance(header, dict):
        raise _fail("header", "an object", header)
    for key, types in _HEADER_TYPES.items():
        value = header.get(key)
        if value is None:
            continue
        if not isinstance(value, types) or (types == (int,) and isinstance(value, bool)):
            raise _fail(f"header.{key}", f"{' or '.join(t.__name__ for t in types)} or null",
                        value)
    for i, c in enumerate(header.get("choices") or ()):
        if not isinstance(c, int) or isinstance(c, bool) or c < 0:
            raise _fail(f"header.choices[{i}]", "an integer >= 0", c)
    for i, n in enumerate(header.get("nodes") or ()):
        if not isinstance(n, dict):
            raise _fail(f"header.nodes[{i}]", "an object {id, name}", n)
        _want_int(n, "id", f"header.nodes[{i}]", minimum=0)
        if not isinstance(n.get("name"), str):
            raise _fail(f"header.nodes[{i}].name", "a string", n.get("name"))
    v = header.get("violation")
    if v is not None:
        for key in ("property", "message"):
            if not isinstance(v.get(key), str):
                raise _fail(f"header.violation.{key}", "a string", v.get(key))
        _want_int(v, "step", "header.violation", optional=True, minimum=-1)
    return header


def _check_event(i: int, raw: Any) -> TraceEvent:
    where = f"events[{i}]"
    if not isinstance(raw, dict):
        raise _fail(where, "an object {t, node, kind, fields}", raw)
    t = _want_int(raw, "t", where, minimum=0)
    node = _want_int(raw, "node", where, minimum=-1)
    kind = raw.get("kind")
    if not isinstance(kind, str) or not kind:
        raise _fail(f"{where}.kind", "a non-empty string", kind)
    fields = raw.get("fields", {})
    if not isinstance(fields, dict):
        raise _fail(f"{where}.fields", "an object", fields)
    msg_id = _want_int(raw, "id", where, optional=True, minimum=0)
    assert t is not None and node is not None
    return TraceEvent(t, node, kind, fields, msg_id)


def _check_snapshot(i: int, raw: Any, n_events: int, last: int) -> Snapshot:
    where = f"snapshots[{i}]"
    if not isinstance(raw, dict):
        raise _fail(where, "an object {step, node, view}", raw)
    step = _want_int(raw, "step", where, minimum=-1)
    node = _want_int(raw, "node", where, minimum=0)
    assert step is not None and node is not None
    if step >= max(n_events, 1):
        raise _fail(f"{where}.step", f"a step below the number of events ({n_events})", step)
    if step < last:
        raise _fail(f"{where}.step", f"steps in order (>= {last})", step)
    return Snapshot(step, node, raw.get("view"))


def trace_from_json(doc: Any, source: str = "trace") -> Trace:
    """Check a parsed trace document and build a :class:`Trace` (raises :class:`TraceError`)."""
    if not isinstance(doc, dict):
        raise TraceError(f"{source}: expected a JSON object at the top, found "
                         f"{type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise TraceError(f"{source}: trace field format: expected {FORMAT!r}, found "
                         f"{doc.get('format')!r}")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TraceError(f"{source}: trace field version: expected an integer >= 1, found "
                         f"{version!r}")
    if version > VERSION:
        raise TraceError(f"{source}: trace field version is {version}, newer than this "
                         f"modelcheck {__version__} reads (up to {VERSION}); upgrade modelcheck")
    try:
        header = _check_header(doc.get("header"))
        raw_events = doc.get("events", [])
        if not isinstance(raw_events, list):
            raise _fail("events", "a list", raw_events)
        events = [_check_event(i, e) for i, e in enumerate(raw_events)]
        raw_snaps = doc.get("snapshots", [])
        if not isinstance(raw_snaps, list):
            raise _fail("snapshots", "a list", raw_snaps)
        snaps: list[Snapshot] = []
        for i, s in enumerate(raw_snaps):
            snaps.append(_check_snapshot(i, s, len(events), snaps[-1].step if snaps else -1))
        actions = doc.get("actions")
        if actions is not None and not isinstance(actions, list):
            raise _fail("actions", "a list or null", actions)
    except TraceError as exc:
        raise TraceError(f"{source}: {exc}") from None
    return Trace(header, events, snaps, actions)


def loads_trace(text: str, source: str = "trace") -> Trace:
    """Parse and check a trace from JSON text."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise TraceError(f"{source}: not valid JSON: {exc}") from None
    return trace_from_json(doc, source)


def load_trace(path: str | os.PathLike) -> Trace:
    """Read and check a trace file (raises :class:`TraceError` naming the bad field)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace {os.fspath(path)!r}: {exc}") from None
    return loads_trace(text, os.fspath(path))


class _WatchedReplay(ReplayChooser):
    """A replay chooser that remembers its divergence: a run may catch it as a crash."""

    __slots__ = ("diverged",)

    def __init__(self, choices: Sequence[int]) -> None:
        super().__init__(choices)
        self.diverged: ReplayDiverged | None = None

    def _next(self, what: str, n: int) -> int:
        try:
            return super()._next(what, n)
        except ReplayDiverged as exc:
            if self.diverged is None:
                self.diverged = exc
            raise


# -- recording -----------------------------------------------------------------------------

class TraceRecorder:
    """Records a run into a :class:`Trace`: events, node views and the choices made.

    ``choices``: replay these recorded choices instead of drawing from the seed
    (``chooser`` then returns a :class:`~modelcheck.choice.ReplayChooser`).
    ``snapshots``: take node views at all; ``max_snapshots`` caps how many
    (the header says ``snapshots_truncated`` when the cap was hit).
    A view is stored only when it differs from that node's previous one, so a
    quiet node costs nothing.
    """

    def __init__(self, *, choices: Sequence[int] | None = None, snapshots: bool = True,
                 max_snapshots: int = 50_000) -> None:
        self.replay_choices = list(choices) if choices is not None else None
        self.snapshots_on = snapshots
        self.max_snapshots = max_snapshots
        self.events: list[TraceEvent] = []
        self.snapshots: list[Snapshot] = []
        self.truncated = False
        self.actor_steps: list[int] = []  # actor step n (1-based) -> index of its last event
        self._recording: RecordingChooser | None = None
        self._replay: _WatchedReplay | None = None
        self._last: dict[int, Any] = {}
        self._world: Any = None
        self.options: dict[str, Any] = {}  # the world's options when attached

    def chooser(self, seed: int) -> Chooser:
        """The chooser a world should use: the seed's own, recorded (or the replayed list)."""
        if self.replay_choices is not None:
            self._replay = _WatchedReplay(self.replay_choices)
            inner: Chooser = self._replay
        else:
            inner = SeededChooser(seed)
        self._recording = RecordingChooser(inner)
        return self._recording

    @property
    def choices(self) -> list[int] | None:
        """Every choice the world's chooser answered (None when :meth:`chooser` was not used)."""
        return list(self._recording.record) if self._recording is not None else None

    @property
    def diverged(self) -> ReplayDiverged | None:
        """The divergence a replay ran into (even if the run caught it), else None."""
        return self._replay.diverged if self._replay is not None else None

    @property
    def replay_exhausted(self) -> bool | None:
        """After a replay: True when every recorded choice was used (None if not replaying)."""
        return self._replay.exhausted if self._replay is not None else None

    def attach(self, world: Any) -> None:
        """Chain onto ``world.on_event`` and ``world.on_actor_step`` (call it last)."""
        self._world = world
        net = getattr(getattr(world, "network", None), "options", None)
        if net is not None and hasattr(net, "to_dict"):
            self.options["network"] = json_safe(net.to_dict())
        disk = getattr(world, "disk_options", None)
        if disk is not None:
            self.options["disk"] = json_safe(disk)
        prev_event: Callable[[tuple], None] | None = world.on_event
        prev_step: Callable[[Any], None] | None = world.on_actor_step
        events, record = self.events, event_from_tuple

        if prev_event is None:
            def on_event(event: tuple) -> None:
                events.append(record(event))
        else:
            def on_event(event: tuple) -> None:
                events.append(record(event))
                prev_event(event)

        def on_actor_step(node: Any) -> None:
            self._step(node)
            if prev_step is not None:
                prev_step(node)

        world.on_event = on_event
        world.on_actor_step = on_actor_step
        for node in getattr(world, "nodes", ()):
            self._step(node, count=False)

    def _step(self, node: Any, *, count: bool = True) -> None:
        step = len(self.events) - 1
        if count:
            self.actor_steps.append(step)
        if not self.snapshots_on or self.truncated:
            return
        actor = getattr(node, "actor", None)
        if actor is None:
            return
        view = json_safe(actor.view())
        nid = node.nid
        if nid in self._last and self._last[nid] == view:
            return
        if len(self.snapshots) >= self.max_snapshots:
            self.truncated = True
            return
        self._last[nid] = view
        self.snapshots.append(Snapshot(step, nid, view))

    def event_for_actor_step(self, n: int) -> int | None:
        """Index of the last event of actor step ``n`` (1-based, as checkers count)."""
        if 1 <= n <= len(self.actor_steps):
            return self.actor_steps[n - 1]
        return None

    def nodes(self) -> list[dict[str, Any]]:
        """``[{id, name}]`` of the attached world's nodes."""
        return [{"id": n.nid, "name": str(getattr(n, "name", f"n{n.nid}"))}
                for n in getattr(self._world, "nodes", ())]

    def trace(self, header: dict[str, Any]) -> Trace:
        """The recorded trace under ``header`` (nodes, choices and caps are filled in)."""
        h = dict(header)
        h.setdefault("format_note", "see docs/trace-format.md")
        if self._world is not None:
            h.setdefault("nodes", self.nodes())
        if self._recording is not None:
            h.setdefault("choices", self.choices)
        if self.truncated:
            h["snapshots_truncated"] = True
        return Trace(h, list(self.events), list(self.snapshots))
