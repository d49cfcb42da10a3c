"""Explorer counterexamples as trace files, and their replay.

:func:`violation_trace` turns a :class:`~modelcheck.explore.Violation` into a
:class:`~modelcheck.trace.Trace` (``docs/trace-format.md``) that ``modelcheck
show`` renders. Two sources of events:

* a model that runs actors offers ``record_trace(actions) -> (events,
  snapshots, nodes, now)`` (the implementation model replays the actions
  through a fresh system with a :class:`~modelcheck.trace.TraceRecorder`
  attached: real sends, receives, timers, crashes, each node's view);
* any other model (the TLA+-level spec, two-phase commit) gets one event per
  action, on the node its label names first (``Vote(p1, a2)``: ``p1``), and
  snapshots parsed from ``format_state``: each line ``name: k=v ...`` is that
  node's state (other lines belong to a node named ``model``).

The header says ``driver: "explore"``, the ``model`` name and the
``options`` that rebuild it (``modelcheck explore`` flags), the mutant and the
violated property; ``actions`` lists each step's label (and, when the model
offers ``action_data``, the action as plain data).

Replay (:func:`replay_explore_trace`, ``modelcheck replay TRACE``) rebuilds
the model from the header, starts from its initial state and follows the
recorded labels, at each step taking the successor whose ``format_action``
matches; it confirms the violation when the last state violates the recorded
property. For the spec this checks the counterexample against the model as
it is now (after a fix: "no longer reproduces", or the step that is no longer
enabled); for the implementation model it reruns the real actors.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from typing import Any

from modelcheck import __version__
from modelcheck._explore_model import Adapter
from modelcheck.errors import TraceError
from modelcheck.explore import Violation
from modelcheck.trace import Snapshot, Trace, TraceEvent

__all__ = ["ExploreReplay", "replay_explore_trace", "violation_trace", "state_views"]

_LINE = re.compile(r"\s*([A-Za-z_][\w-]*):\s(.*)\Z")
_NAME = re.compile(r"[A-Za-z_][\w-]*")


def _fields(text: str) -> dict[str, Any]:
    """``leader term=1 th=[(0, 1)]`` -> ``{"state": "leader", "term": "1", "th": "[(0, 1)]"}``.

    Spaces split fields only outside brackets; a word without ``=`` is ``state``.
    """
    parts: list[str] = []
    depth, cur = 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        if ch == " " and depth == 0:
            if cur:
                parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if cur:
        parts.append("".join(cur))
    out: dict[str, Any] = {}
    for p in parts:
        key, eq, value = p.partition("=")
        if eq and _NAME.fullmatch(key):
            out[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
        else:
            out["state"] = f"{out['state']} {p}" if "state" in out else p
    return out


def state_views(text: str) -> dict[str, dict[str, Any]]:
    """Per node name, its fields, from a model's ``format_state`` text."""
    views: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m:
            views[m.group(1)] = _fields(m.group(2))
        else:
            views.setdefault("model", {}).update(_fields(line.strip()))
    return views


def _generic_events(adapter: Adapter, violation: Violation) -> tuple[list[TraceEvent],
                                                                     list[Snapshot],
                                                                     list[dict[str, Any]], int]:
    per_step = [state_views(adapter.format_state(s)) for _, s in violation.trace]
    names: list[str] = []
    for views in per_step:
        names.extend(n for n in views if n not in names)
    ids = {n: i for i, n in enumerate(names)}
    events: list[TraceEvent] = []
    snaps = [Snapshot(-1, ids[n], v) for n, v in per_step[0].items()]
    for i, (action, _) in enumerate(violation.trace[1:], 1):
        label = adapter.format_action(action)
        kind, _, args = label.partition("(")
        actor = next((a for a in _NAME.findall(args) if a in ids), None)
        node = ids[actor] if actor is not None else ids.get("model", 0)
        events.append(TraceEvent(i, node, kind.strip() or "step", {"action": label}))
        for n, v in per_step[i].items():
            if per_step[i - 1].get(n) != v:
                snaps.append(Snapshot(len(events) - 1, ids[n], v))
    nodes = [{"id": i, "name": n} for n, i in ids.items()]
    return events, snaps, nodes, len(events)


def violation_trace(model: Any, violation: Violation, *, model_name: str,
                    options: dict[str, Any] | None = None,
                    mutant: str | None = None) -> Trace:
    """The trace file of one explorer counterexample (see the module docstring)."""
    adapter = Adapter(model, symmetry=False)
    actions = [a for a, _ in violation.trace[1:]]
    record = getattr(model, "record_trace", None)
    if record is not None:
        events, snaps, nodes, now = record(actions)
    else:
        events, snaps, nodes, now = _generic_events(adapter, violation)
    last = violation.trace[-1][1]
    message_of = getattr(model, "violation_message", None)
    message = (message_of(last, violation.property) if message_of is not None else "") or (
        f"{violation.kind} property {violation.property!r} violated after "
        f"{len(violation.trace) - 1} steps")
    data_of = getattr(model, "action_data", None)
    steps = []
    for a in actions:
        entry: dict[str, Any] = {"label": adapter.format_action(a)}
        if data_of is not None:
            entry["action"] = data_of(a)
        steps.append(entry)
    header = {
        "driver": "explore",
        "project_version": __version__,
        "model": model_name,
        "model_description": getattr(model, "name", model_name),
        "options": dict(options or {}),
        "mutant": mutant,
        "outcome": "safety",
        "violation": {"property": violation.property, "message": message, "outcome": 1,
                      "step": len(events) - 1 if events else None, "t": now},
        "trace_states": len(violation.trace),
        "nodes": nodes,
        "format_note": "see docs/trace-format.md",
    }
    return Trace(header, events, snaps, steps)


@dataclass
class ExploreReplay:
    """The outcome of replaying an explorer trace."""

    reproduced: bool
    steps_applied: int
    message: str

    @property
    def exit_code(self) -> int:
        return 1 if self.reproduced else 0


def replay_explore_trace(trace: Trace) -> ExploreReplay:
    """Rebuild the model from ``trace``'s header and follow its action labels (see above)."""
    from modelcheck.explore_cli import load_model_factory

    h = trace.header
    name = h.get("model")
    if not isinstance(name, str):
        raise TraceError(f"trace field header.model: expected a model name, found {name!r}")
    if trace.actions is None:
        raise TraceError("trace field actions: an explorer trace needs its action list")
    labels = []
    for i, step in enumerate(trace.actions):
        label = step.get("label") if isinstance(step, dict) else None
        if not isinstance(label, str):
            raise TraceError(f"trace field actions[{i}].label: expected a string, found {step!r}")
        labels.append(label)
    options = dict(h.get("options") or {})
    options.setdefault("mutant", h.get("mutant"))
    model = load_model_factory(name)(argparse.Namespace(**options))
    adapter = Adapter(model, symmetry=False)
    want = (h.get("violation") or {}).get("property")
    for state in model.init_states():
        done = 0
        for label in labels:
            step = next((t for a, t in adapter.labeled(state)
                         if adapter.format_action(a) == label), None)
            if step is None:
                break
            state, done = step, done + 1
        if done < len(labels):
            continue
        bad = adapter.violations(state)
        if want in bad:
            return ExploreReplay(True, done, f"reproduced: {want} violated after {done} steps")
        return ExploreReplay(False, done, f"no longer reproduces: every step applies, but the "
                                          f"last state violates {bad or 'nothing'}, not {want}")
    return ExploreReplay(False, 0, "no longer reproduces: from no initial state are all "
                                   f"{len(labels)} recorded steps enabled")


def cmd_replay_explore(trace: Trace, source: str) -> int:
    """``modelcheck replay TRACE`` for an explorer trace: 1 reproduced, 0 not."""
    report = replay_explore_trace(trace)
    h = trace.header
    print(f"replayed {source}: explorer trace, model={h.get('model')} "
          f"mutant={h.get('mutant') or '-'} steps={report.steps_applied}/"
          f"{len(trace.actions or ())}", file=sys.stderr)
    print(report.message, file=sys.stderr)
    return report.exit_code
