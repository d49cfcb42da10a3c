"""Driver 5: z3 finds the smallest interleaving of a trace's events that still breaks the property.

Input: a violating trace from any driver. Output: a normal trace file (same
format, ``header.driver = "minimize"``) that ``modelcheck replay`` and
``modelcheck show`` read, whose run breaks the same property with as few
steps as the search could prove.

**The oracle: an action-level replay on** :class:`~modelcheck.system.System`.
The timed World decides order through delays and a chooser; dropping one
event there shifts every later random draw, so a shortened World run is a
different run. The controlled System instead applies named events (deliver
the n-th message of a connection, fire a timer, crash, restart, ...) to the
same sans-I/O actors, so a sub-list of the original events replays
deterministically and matches events by identity: a message is ``(client,
server, serial)`` plus its position on its direction, a timer ``(node,
name)``, never a global counter; a node that sees fewer messages may send
different ones, and a step that is no longer possible is skipped. An
*adapter* turns a trace into such steps and replays any sub-list:

* traces of a :class:`~modelcheck.stateful.SystemMachine` (their recorded
  System actions) - :class:`modelcheck._minimize_system.MachineAdapter`;
* a scenario's traces, when the scenario offers ``minimize_adapter(trace)``
  (the walproposer does: :mod:`actors.minimize_wal` translates the World's
  events into System steps plus proposer launches and compute writes); a
  coarse machine's trace over a World (``WorldMachine``, e.g. the walproposer
  machine) is read as the default scenario's events.

**Constraints.** One recorded replay of the whole translated run says what
each step produced, hence what each step *needs* (kept and earlier): a
delivery its send and the delivery before it on that direction, a timer
firing its arming, a restart its crash, a step on a node its launch. Each
node's kept steps keep their relative order (a node's *lane*).

**Search** (:mod:`modelcheck._minimize_search`): a greedy pass for a quick
upper bound, then z3 (``Optimize``) proposes the smallest kept set not yet
refuted; the replay decides; a non-violating candidate becomes a blocking
clause (generalised to its subsets, the stated assumption of the proof), a
violating one the new best, until z3 answers *unsat* (proven: nothing smaller
exists) or the budget ends. Secondary objective: z3 orders the kept steps
with the fewest switches between nodes, keeping every lane's order and every
need first; that order is replayed again and used only if it violates too.

A *crash* (an actor raised) counts as the same violation only when the same
task raised the same exception with the same message, LSNs aside
(:func:`crash_signature`): a shorter run that crashes elsewhere is refuted.

"Minimal" means minimal among the interleavings of the original trace's
events (sub-sequences of its steps, in any order the constraints allow);
the header says so, with the proof's basis.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from modelcheck import __version__
from modelcheck._minimize_search import order_fewest_switches, search, switches
from modelcheck._minimize_system import MachineAdapter, needs_of
from modelcheck.errors import ModelcheckError, TraceError
from modelcheck.trace import Trace, TraceRecorder

__all__ = ["CLAIM", "MinimizeError", "MinimizeReport", "adapter_for", "crash_signature",
           "minimize_trace", "replay_minimized"]

DEFAULT_SCENARIO = "walproposer"  # as ``modelcheck run``'s default
CLAIM = "minimal among the interleavings of the original trace's events"
BASIS = {"subsets": "a sub-run of a run that does not violate is taken not to violate "
                    "(blocking clauses cover every subset of a refuted candidate)",
         "exact": "exact: every smaller candidate the constraints allow was replayed or "
                  "excluded by z3"}


class MinimizeError(ModelcheckError):
    """The trace cannot be minimised (no violation, no adapter, replay does not reproduce)."""


@dataclass
class MinimizeReport:
    """The result: the minimised trace and the figures of the search."""

    trace: Trace
    property: str
    original_length: int
    original_events: int
    minimized_length: int
    proven_minimal: bool
    replays: int
    elapsed_s: float
    greedy_length: int
    z3_candidates: int
    switches: int
    generalise: str
    log: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"property": self.property, "original_length": self.original_length,
                "original_events": self.original_events,
                "minimized_length": self.minimized_length,
                "proven_minimal": self.proven_minimal, "replays": self.replays,
                "elapsed_s": round(self.elapsed_s, 3), "greedy_length": self.greedy_length,
                "z3_candidates": self.z3_candidates, "node_switches": self.switches,
                "claim": CLAIM, "proof_basis": BASIS[self.generalise]}


def adapter_for(trace: Trace) -> Any:
    """The replay adapter for ``trace`` (see the module docstring)."""
    h = trace.header
    name = h.get("scenario")
    if h.get("machine"):
        from modelcheck.stateful import SystemMachine, _load_machine

        if issubclass(_load_machine(str(h["machine"])), SystemMachine):
            return MachineAdapter(trace)
        if not trace.events:
            raise MinimizeError(f"machine {h['machine']!r} is not a SystemMachine and the "
                                "trace has no events to translate")
        # a coarse machine over a scenario's World (its events are the scenario's)
        name = name or DEFAULT_SCENARIO
    if not isinstance(name, str):
        raise MinimizeError(f"cannot minimise: the trace names neither a machine nor a "
                            f"scenario (driver={h.get('driver')!r})")
    from modelcheck.sim import load_scenario

    scenario = load_scenario(name)
    factory = getattr(scenario, "minimize_adapter", None)
    if factory is None:
        raise MinimizeError(f"scenario {name!r} offers no minimize_adapter(trace): it cannot "
                            "be replayed as a list of named events")
    return factory(trace)


_LSN = re.compile(r"\b[0-9A-F]+/[0-9A-F]+\b")
_AT = re.compile(r" at t=\d+ ms")
_TASK = re.compile(r"task \S+ failed at t=\d+ ms: ")


def crash_signature(message: str) -> str:
    """A crash message without its time and LSNs: ``task sk1/actor failed: Error: text``."""
    return _LSN.sub("LSN", _AT.sub("", message))


def _same(violation: dict[str, Any] | None, target: str, crash: str | None) -> bool:
    if violation is None or violation["property"] != target:
        return False
    return crash is None or crash_signature(str(violation.get("message", ""))) == crash


def _inner(adapter: Any, step: Any) -> Any:
    inner = getattr(adapter, "inner", None)
    return inner(step) if inner is not None else step


def minimize_trace(trace: Trace, *, property: str | None = None, budget_s: float = 60.0,
                   generalise: str = "subsets", max_replays: int | None = None,
                   snapshots: bool = True) -> MinimizeReport:
    """Minimise a violating trace; raises :class:`MinimizeError` when it cannot."""
    start = time.monotonic()
    violation = trace.violation
    target = property or (violation or {}).get("property")
    if not target:
        raise MinimizeError("the trace records no violation; give --property NAME")
    adapter = adapter_for(trace)
    crash = None  # a recorded actor failure: the minimised run must fail the same way
    message = str((violation or {}).get("message", ""))
    if target == "crash" and (violation or {}).get("property") == "crash" and _TASK.match(message):
        crash = crash_signature(message)
    full = adapter.run(adapter.actions, record=True, target=target)
    if not _same(full.violation, target, crash):
        found = (f"{full.violation['property']}: {full.violation['message']}"
                 if full.violation else "no violation")
        raise MinimizeError(f"the action-level replay of the trace does not break {target!r} "
                            f"(it gave {found}); nothing to minimise")
    steps = [adapter.actions[p] for p in full.applied]
    assert full.produced is not None
    needs = needs_of([_inner(adapter, s) for s in steps], full.produced, _lane_inner,
                     adapter.initial_nodes)
    hint = getattr(adapter, "needs_hint", None)
    if hint is not None:
        for j, extra in enumerate(hint(steps)):
            needs[j] = sorted(set(needs[j]) | {i for i in extra if i < j})
    lanes = [adapter.lane(s) for s in steps]

    def oracle(order: list[int]) -> list[int] | None:
        out = adapter.run([steps[i] for i in order], target=target)
        if not _same(out.violation, target, crash):
            return None
        return [order[p] for p in out.applied]

    remaining = max(0.0, budget_s - (time.monotonic() - start))
    res = search(len(steps), needs, oracle, list(range(len(steps))), budget_s=remaining,
                 max_replays=max_replays, generalise=generalise)
    order_hint = getattr(adapter, "order_hint", None)
    before = order_hint(steps) if order_hint is not None else None
    order = order_fewest_switches(res.best, needs, lanes, before=before,
                                  timeout_s=min(10.0, max(1.0, remaining / 10)))
    replays = res.replays
    if order != sorted(res.best):
        replays += 1
        got = oracle(order)
        if got is None or len(got) != len(order):
            order = sorted(res.best)
    final = _record(adapter, [steps[i] for i in order], snapshots, target)
    header = _header(trace, adapter, final, target)
    report = MinimizeReport(final, target, len(steps), len(trace.events), len(order),
                            res.proven, replays, time.monotonic() - start, res.greedy_best,
                            res.z3_candidates, switches(order, lanes), generalise, res.log)
    header["minimize"] = {k: v for k, v in report.to_json().items() if k != "elapsed_s"}
    final.header = {**header, **{k: v for k, v in final.header.items() if k not in header}}
    return report


def _lane_inner(action: Any) -> int:
    from modelcheck._minimize_system import system_lane

    lane = getattr(action, "node", None)
    if type(action).__name__ in ("Launch", "WriteTx") and isinstance(lane, int):
        return lane
    return system_lane(action)


def _record(adapter: Any, steps: list[Any], snapshots: bool, target: str) -> Trace:
    recorder = TraceRecorder(snapshots=snapshots)
    out = adapter.run(steps, recorder=recorder, target=target)
    if out.violation is None:
        raise MinimizeError("internal: the minimised steps no longer violate on the final "
                            "replay (the replay is not deterministic)")
    events = recorder.events
    v = dict(out.violation)
    v["step"] = len(events) - 1 if events else None
    v["t"] = events[-1].t if events else 0
    t = recorder.trace({"violation": v, "outcome": v.get("outcome", "safety")})
    t.actions = [adapter.to_json(s) for s in steps]
    t.header["log_digest"] = out.system.log_digest()
    return t


def _header(trace: Trace, adapter: Any, final: Trace, target: str) -> dict[str, Any]:
    h = trace.header
    out: dict[str, Any] = {"driver": "minimize", "project_version": __version__}
    for key in ("scenario", "seed", "mutant", "acceptors", "wire", "machine"):
        if h.get(key) is not None:
            out[key] = h[key]
    out["adapter"] = adapter.kind
    out.update(adapter.header())
    out["source"] = {"driver": h.get("driver"), "events": len(trace.events),
                     "violation": (h.get("violation") or {}).get("message")}
    out["outcome"] = final.header["violation"].get("outcome", "safety")
    return out


def replay_minimized(trace: Trace) -> Any:
    """Replay a minimised trace (``modelcheck replay``): a :class:`ReplayReport`."""
    from modelcheck._trace_run import ReplayReport
    from modelcheck.sim import SeedResult

    if trace.actions is None:
        raise TraceError("a minimised trace needs its 'actions' list to be replayed")
    adapter = adapter_for(trace)
    recorder = TraceRecorder()
    out = adapter.run(adapter.actions, recorder=recorder,
                      target=(trace.violation or {}).get("property"))
    v = out.violation
    outcome = 0 if v is None else {"liveness": 3, "crash": 4}.get(v.get("outcome", ""), 1)
    system = out.system
    result = SeedResult(int(trace.header.get("seed") or 0), outcome,
                        v["property"] if v else None, v["message"] if v else "",
                        len(system.events or ()), len(out.applied), system.now,
                        system.log_digest(), None, {})
    new = recorder.trace({**trace.header, "violation": v})
    new.actions = trace.actions
    note = f"replayed {len(out.applied)} of {len(adapter.actions)} steps on the System"
    return ReplayReport(trace, result, new, "actions", note)
