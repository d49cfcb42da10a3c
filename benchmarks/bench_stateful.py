"""Benchmark: the Hypothesis stateful machines of ``modelcheck.stateful`` / ``actors.stateful``.

Part 1, rule steps per second, side by side in one run: a trivial machine (one
counter rule: Hypothesis' own cost per step), the coarse ``WalConsensusMachine``
(a rule runs the timed World for a stretch), the fine ``FineWalConsensusMachine``
(a rule is one System event, or a ``settle`` macro step) and the fine machine
with single events only (``settle_steps = 0``). Each runs the same number of
examples of the same length in the generate phase only; "events" are the
System actions (fine) or actor steps (coarse) those rule steps applied.

Part 2, per mutant of ``actors.mutants``: time to the first failure (generate
phase only, at most ``--cap`` seconds), then a full run with shrinking: the
shrunk program's length (rule steps) and the total time; next to the length of
the explorer's shortest counterexample on the spec model
(``modelcheck explore --model spec --mutant M``, BFS, so shortest; run here,
in a subprocess with the same cap). The fine machine is hunted for every
mutant; the coarse one for ``bad-quorum`` (``--coarse-all``: every mutant).

    python benchmarks/bench_stateful.py            # everything (~10-20 min on 2 busy cores)
    python benchmarks/bench_stateful.py --quick    # part 1 and bad-quorum only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.mutants import CATALOGUE  # noqa: E402
from actors.stateful import FineWalConsensusMachine, WalConsensusMachine  # noqa: E402
from modelcheck._stateful_io import NO_EXPLAIN  # noqa: E402

GENERATE = (Phase.explicit, Phase.reuse, Phase.generate)


class TimeUp(BaseException):
    """Raised from a machine's constructor when a hunt's cap has passed; Hypothesis then
    stops with some error, which the hunt reads as "not within the cap"."""


class Counters:
    steps = 0
    events = 0
    deadline: float | None = None
    timed_out = False


class Trivial(RuleBasedStateMachine):
    """One rule that increments a counter, one invariant: Hypothesis' own cost."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    @rule()
    def inc(self) -> None:
        self.n += 1

    @invariant()
    def counted(self) -> None:
        Counters.steps += 1


def _instrument(base: type, events: Any, **attrs: Any) -> type:
    def __init__(self: Any) -> None:
        if Counters.deadline is not None and time.perf_counter() > Counters.deadline:
            Counters.timed_out = True
            raise TimeUp()
        base.__init__(self)

    def properties_hold(self: Any) -> None:
        Counters.steps += 1
        base.properties_hold(self)

    def teardown(self: Any) -> None:
        try:
            base.teardown(self)
        finally:
            Counters.events += events(self)

    ns = {"__init__": __init__, "properties_hold": invariant()(properties_hold),
          "teardown": teardown, "__module__": __name__}
    ns.update(attrs)
    return type(f"Bench{base.__name__}", (base,), ns)


def _coarse_events(m: Any) -> int:
    return m.run.observer.steps


def _fine_events(m: Any) -> int:
    return len(m.program)


def _machine(kind: str, mutant: str | None = None) -> type:
    if kind == "trivial":
        return Trivial
    if kind == "coarse":
        return _instrument(WalConsensusMachine, _coarse_events, mutant=mutant)
    if kind == "fine":
        return _instrument(FineWalConsensusMachine, _fine_events, mutant=mutant)
    if kind == "fine-single":
        return _instrument(FineWalConsensusMachine, _fine_events, mutant=mutant,
                           settle_steps=0)
    raise ValueError(kind)


def steps_per_second(kinds: list[str], examples: int, steps: int) -> list[dict[str, Any]]:
    rows = []
    for kind in kinds:
        Counters.steps = Counters.events = 0
        Counters.deadline = None
        machine = _machine(kind)
        t0, c0 = time.perf_counter(), time.process_time()
        run_state_machine_as_test(machine, settings=settings(
            max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
            derandomize=True, phases=GENERATE))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rule_steps = Counters.steps - examples  # the invariant also runs once before any rule
        rows.append({"machine": kind, "rule_steps": rule_steps, "events": Counters.events,
                     "wall_s": wall, "cpu_s": cpu, "steps_per_cpu_s": rule_steps / cpu,
                     "events_per_cpu_s": Counters.events / cpu})
    return rows


def _program_length(exc: BaseException) -> int:
    notes = "\n".join(getattr(exc, "__notes__", []))
    return sum(1 for line in notes.splitlines()
               if line.startswith("state.") and not line.startswith("state.properties_hold")
               and line != "state.teardown()")


def hunt(kind: str, mutant: str, cap: float, examples: int, steps: int) -> dict[str, Any]:
    """Time to first failure (generate only), then shrunk length with a full run."""
    machine = _machine(kind, mutant)
    machine.trace_directory = tempfile.mkdtemp(prefix="bench-stateful-")
    out: dict[str, Any] = {"machine": kind, "mutant": mutant}
    for phases, key in ((GENERATE, "first"), (NO_EXPLAIN, "shrunk")):
        Counters.deadline = time.perf_counter() + cap
        Counters.timed_out = False
        t0 = time.perf_counter()
        try:
            run_state_machine_as_test(machine, settings=settings(
                max_examples=examples, stateful_step_count=steps, deadline=None,
                database=None, derandomize=True, report_multiple_bugs=False, phases=phases))
            out[key] = None
            out[f"{key}_note"] = f"none in {examples} examples"
        except BaseException as exc:  # noqa: BLE001 - TimeUp surfaces as whatever Hypothesis makes of it
            if Counters.timed_out:
                out[key] = None
                out[f"{key}_note"] = (f"none within {cap:.0f} s" if key == "first"
                                      else f"shrinking > {cap:.0f} s")
            elif isinstance(exc, AssertionError):
                out[key] = time.perf_counter() - t0
                out["property"] = str(exc).split("'")[1] if "'" in str(exc) else "?"
                if key == "shrunk":
                    out["length"] = _program_length(exc)
            else:
                raise
        finally:
            Counters.deadline = None
        if out[key] is None:
            break
    return out


def explorer_shortest(mutant: str, cap: float) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.json"
        try:
            subprocess.run([sys.executable, "-m", "modelcheck.cli", "explore", "--model", "spec",
                            "--mutant", mutant, "--json", str(path), "--quiet"],
                           timeout=cap, capture_output=True, check=False)
        except subprocess.TimeoutExpired:
            return f"none within {cap:.0f} s"
        if not path.exists():
            return "n/a (not in the spec model)"
        doc = json.loads(path.read_text())
        if not doc.get("violations"):
            return "none (complete)" if doc.get("complete") else "none (bounded)"
        v = doc["violations"][0]
        return f"{v['trace_length']} states ({v['property']})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=100, help="part 1: examples per machine")
    ap.add_argument("--steps", type=int, default=30, help="part 1: rule steps per example")
    ap.add_argument("--cap", type=float, default=60.0, help="part 2: seconds per hunt phase")
    ap.add_argument("--quick", action="store_true", help="part 2: bad-quorum only")
    ap.add_argument("--skip-steps", action="store_true", help="skip part 1")
    ap.add_argument("--coarse-all", action="store_true", help="part 2: coarse on every mutant")
    args = ap.parse_args(argv)

    print(f"## rule steps per second ({args.examples} examples x <= {args.steps} steps, "
          "generate phase only, derandomized)")
    print(f"{'machine':12} {'rule steps':>10} {'events':>8} {'cpu s':>7} {'wall s':>7} "
          f"{'steps/cpu s':>12} {'events/cpu s':>13} {'vs trivial':>10}")
    kinds = [] if args.skip_steps else ["trivial", "coarse", "fine", "fine-single"]
    rows = steps_per_second(kinds, args.examples, args.steps)
    for r in rows:
        base = rows[0]["steps_per_cpu_s"]
        print(f"{r['machine']:12} {r['rule_steps']:>10} {r['events']:>8} {r['cpu_s']:>7.2f} "
              f"{r['wall_s']:>7.2f} {r['steps_per_cpu_s']:>12.0f} {r['events_per_cpu_s']:>13.0f} "
              f"{r['steps_per_cpu_s'] / base:>9.3f}x")

    mutants = ["bad-quorum"] if args.quick else sorted(CATALOGUE)
    print(f"\n## time to first failure and shrunk length (cap {args.cap:.0f} s per phase; "
          "fine: 1000 examples x <= 30 steps, coarse: 1000 x <= 20)")
    print(f"{'mutant':28} {'machine':7} {'first s':>8} {'shrunk s':>9} {'length':>6} "
          f"{'property':24} explorer shortest")
    for mutant in mutants:
        explorer = explorer_shortest(mutant, args.cap)
        kinds = ["fine"] + (["coarse"] if args.coarse_all or mutant == "bad-quorum" else [])
        for kind in kinds:
            examples, steps = (1000, 30) if kind == "fine" else (1000, 20)
            r = hunt(kind, mutant, args.cap, examples, steps)
            first = f"{r['first']:.1f}" if r.get("first") is not None else "-"
            shrunk = f"{r['shrunk']:.1f}" if r.get("shrunk") is not None else "-"
            note = r.get("first_note") or r.get("shrunk_note") or ""
            print(f"{mutant:28} {kind:7} {first:>8} {shrunk:>9} {r.get('length', '-'):>6} "
                  f"{r.get('property', '-'):24} {explorer}  {note}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
