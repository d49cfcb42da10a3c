"""Run a scenario seed into a trace, and replay a trace to confirm its violation.

The recorder protocol (optional for a scenario, documented in
``docs/trace-format.md``): ``run_seed(seed, *, ..., recorder=None)``. A
scenario that accepts ``recorder`` builds its world with
``World(seed, chooser=recorder.chooser(seed))`` and calls
``recorder.attach(world)`` after setting its own hooks; its traces then carry
every node's view at every step and the list of choices, and can be replayed
through a :class:`~modelcheck.choice.ReplayChooser`. A scenario that does not
is still traced, from its event log (``keep_log=True``): events only, no
snapshots, replayed by seed.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

from modelcheck import __version__
from modelcheck.errors import ReplayDiverged, TaskFailed, TraceError
from modelcheck.sim import OUTCOME_NAMES, Scenario, SeedResult, load_scenario
from modelcheck.trace import MSG_KINDS, Trace, TraceEvent, TraceRecorder, json_safe

__all__ = ["ReplayReport", "accepts_recorder", "events_from_log", "record_seed", "replay_trace",
           "trace_file_name"]

_LINE = re.compile(r"t=(\d+) node=(-?\d+) (\S+)(?: (.*))?\Z")
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_OPEN, _CLOSE = "([{", ")]}"


def accepts_recorder(scenario: Scenario) -> bool:
    """True when the scenario's ``run_seed`` takes a ``recorder`` keyword."""
    try:
        params = inspect.signature(scenario.run_seed).parameters
    except (TypeError, ValueError):
        return False
    return "recorder" in params


def _split_fields(rest: str) -> list[tuple[str, str]]:
    """``k=v k2=v2`` into pairs; a space splits only outside brackets (values are reprs)."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(rest)
    while i < n:
        m = _KEY.match(rest, i)
        if m is None:  # not key=value: keep the rest as one field
            out.append(("_", rest[i:]))
            break
        j, depth = m.end(), 0
        while j < n:
            c = rest[j]
            if c in _OPEN:
                depth += 1
            elif c in _CLOSE:
                depth = max(0, depth - 1)
            elif c == " " and depth == 0 and _KEY.match(rest, j + 1):
                break
            j += 1
        out.append((m.group(1), rest[m.end():j]))
        i = j + 1
    return out


def _field_value(text: str) -> Any:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def events_from_log(lines: list[str]) -> list[TraceEvent]:
    """Events parsed back from event-log lines (for scenarios without a recorder).

    Time, node, kind and integer fields come back exactly; other values stay the
    log's text. A line that does not parse raises :class:`TraceError`.
    """
    events = []
    for i, line in enumerate(lines):
        m = _LINE.match(line)
        if m is None:
            raise TraceError(f"event log line {i + 1}: expected 't=<ms> node=<id> <kind> ...', "
                             f"found {line[:80]!r}")
        fields = {k: _field_value(v) for k, v in _split_fields(m.group(4) or "")}
        kind = m.group(3)
        msg_id = fields.get("id") if kind in MSG_KINDS else None
        events.append(TraceEvent(int(m.group(1)), int(m.group(2)), kind, fields,
                                 msg_id if isinstance(msg_id, int) else None))
    return events


def _violation(result: SeedResult, trace_events: int, recorder: TraceRecorder | None,
               events: list[TraceEvent]) -> dict[str, Any] | None:
    if not result.failed:
        return None
    facts = result.facts.get("violation") if isinstance(result.facts, dict) else None
    step = None
    t = None
    if isinstance(facts, dict):
        # Checkers count steps their own way; the time of the violation is common ground.
        t = facts.get("time_ms")
        if isinstance(t, int):
            later = [i for i, e in enumerate(events) if e.t <= t]
            step = later[-1] if later else None
    if step is None:
        step = trace_events - 1
    return {"property": result.property or "?", "message": result.message,
            "outcome": OUTCOME_NAMES.get(result.outcome, str(result.outcome)),
            "step": step, "t": t if isinstance(t, int) else (events[step].t if events and step >= 0
                                                               else None)}


def record_seed(scenario_name: str, seed: int, *, mutant: str | None = None,
                acceptors: int = 3, wire: bool = False, choices: list[int] | None = None,
                snapshots: bool = True, max_snapshots: int = 50_000,
                scenario: Scenario | None = None) -> tuple[SeedResult, Trace]:
    """Run one seed of a scenario and return its result and its trace.

    ``choices``: replay these recorded choices (only for scenarios that accept a
    recorder; :class:`~modelcheck.errors.ReplayDiverged` if they do not fit).
    """
    sc = scenario if scenario is not None else load_scenario(scenario_name)
    recorder: TraceRecorder | None = None
    if accepts_recorder(sc):
        recorder = TraceRecorder(choices=choices, snapshots=snapshots,
                                 max_snapshots=max_snapshots)
        try:
            result = sc.run_seed(seed, mutant=mutant, acceptors=acceptors,  # type: ignore[call-arg]
                                 keep_log=False, wire=wire, recorder=recorder)
        except TaskFailed:
            if recorder.diverged is None:
                raise
        if recorder.diverged is not None:
            _abandon(recorder._world)
            raise ReplayDiverged(str(recorder.diverged))
        events = recorder.events
    else:
        if choices is not None:
            raise ReplayDiverged(f"scenario {scenario_name!r} takes no recorder, so it cannot "
                                 "replay recorded choices; replay it by seed")
        result = sc.run_seed(seed, mutant=mutant, acceptors=acceptors, keep_log=True, wire=wire)
        events = events_from_log(result.log_lines or [])
    header: dict[str, Any] = {
        "driver": "sim", "project_version": __version__, "scenario": scenario_name,
        "seed": seed, "mutant": mutant, "acceptors": acceptors, "wire": wire,
        "options": _options(recorder, result),
        "outcome": OUTCOME_NAMES.get(result.outcome, str(result.outcome)),
        "violation": _violation(result, len(events), recorder, events),
        "log_digest": result.log_digest, "virtual_ms": result.virtual_ms,
        "facts": json_safe(result.facts),
    }
    if recorder is not None:
        trace = recorder.trace(header)
    else:
        header["snapshots_note"] = "scenario takes no recorder: events only, parsed from its log"
        trace = Trace(header, events)
    return result, trace


def _abandon(world: Any) -> None:
    """Close the tasks of a run cut short, so no coroutine is left unawaited."""
    executor = getattr(world, "executor", None)
    if executor is None:
        return
    for task in list(getattr(executor, "tasks", ())):
        if task is not executor.current:
            executor.kill(task)


def _options(recorder: TraceRecorder | None, result: SeedResult) -> dict[str, Any]:
    out: dict[str, Any] = dict(recorder.options) if recorder is not None else {}
    if "network" not in out and isinstance(result.facts, dict) and "network" in result.facts:
        out["network"] = json_safe(result.facts["network"])
    return out


def trace_file_name(trace: Trace) -> str:
    """A file name for a trace: ``<scenario>[-<mutant>]-seed<N>.trace.json``."""
    h = trace.header
    parts = [str(h.get("scenario") or h.get("driver") or "run")]
    if h.get("mutant"):
        parts.append(str(h["mutant"]))
    parts.append(f"seed{h.get('seed')}")
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts)) + ".trace.json"


@dataclass
class ReplayReport:
    """What replaying a trace gave: the new result and trace, and how they compare."""

    original: Trace
    result: SeedResult
    trace: Trace
    via: str  # "choices" or "seed"
    note: str = ""

    @property
    def expected(self) -> dict[str, Any] | None:
        return self.original.violation

    @property
    def reproduced(self) -> bool:
        """The replay ended as the trace did (same outcome and property, or both clean)."""
        v = self.expected
        if v is None:
            return not self.result.failed
        return (self.result.failed and self.result.property == v.get("property")
                and OUTCOME_NAMES.get(self.result.outcome) == v.get("outcome", "safety"))

    @property
    def same_log(self) -> bool | None:
        """True when the event log is identical to the trace's (None if it has no digest)."""
        digest = self.original.header.get("log_digest")
        return None if digest is None else digest == self.result.log_digest

    @property
    def exit_code(self) -> int:
        return self.result.outcome


def replay_trace(trace: Trace, *, use_choices: bool = True,
                 scenario: Scenario | None = None) -> ReplayReport:
    """Replay ``trace`` (by its recorded choices when it has them, else by seed).

    ``scenario``: the scenario object to run (default: the one registered under
    the trace's ``header.scenario``).
    """
    h = trace.header
    if h.get("driver") == "minimize":  # a step list, replayed on the System (modelcheck.minimize)
        from modelcheck.minimize import replay_minimized

        return replay_minimized(trace)
    name, seed = h.get("scenario"), h.get("seed")
    if not isinstance(name, str) or not isinstance(seed, int):
        raise TraceError(f"cannot replay: trace header needs 'scenario' and 'seed' "
                         f"(found scenario={name!r} seed={seed!r}); driver={h.get('driver')!r}")
    kwargs = {"mutant": h.get("mutant"), "acceptors": h.get("acceptors") or 3,
              "wire": bool(h.get("wire"))}
    if scenario is None:
        scenario = load_scenario(name)
    choices = trace.choices
    if use_choices and choices is not None and accepts_recorder(scenario):
        try:
            result, new = record_seed(name, seed, choices=choices, scenario=scenario, **kwargs)
            return ReplayReport(trace, result, new, "choices")
        except ReplayDiverged as exc:
            note = f"recorded choices diverged ({exc}); replayed by seed instead"
    else:
        note = "" if choices is None or not use_choices else (
            f"scenario {name!r} takes no recorder; replayed by seed")
    result, new = record_seed(name, seed, scenario=scenario, **kwargs)
    return ReplayReport(trace, result, new, "seed", note)
