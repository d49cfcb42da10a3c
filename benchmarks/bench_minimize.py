"""Benchmark of ``modelcheck minimize`` and ``modelcheck bmc``.

Per walproposer mutant that the random simulator finds (first failing seed
below ``--seeds`` for each property it breaks): the trace's events, its
action-level steps, the minimised steps and events, replays used, time, and
whether z3 proved the result minimal (goal: every one proven within 60 s).
Side by side in the same run: Hypothesis' shrunk program for the same
mutant (the coarse walproposer machine, ``actors.mutants.HUNT_TARGET``),
and for the spec, BMC's shortest counterexample against the explorer's BFS.
The random hunt's finds in scenario ``walproposer-overlap`` (a replaced
proposer may linger; ``--overlap MUTANT:SEED,...``) get rows of their own;
``--only-overlap`` runs just those.

    python -m benchmarks.bench_minimize [--seeds 150] [--budget-s 60] [--hypothesis]
                                        [--overlap M:S,...] [--only-overlap]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from actors._spec_rules import SpecConfig
from actors.mutants import CATALOGUE, HUNT_TARGET
from actors.spec import SpecModel
from actors.spec_bmc import bmc
from modelcheck._trace_run import record_seed, replay_trace
from modelcheck.explore import explore
from modelcheck.minimize import crash_signature, minimize_trace
from modelcheck.sim import load_scenario
from modelcheck.trace import load_trace

FALSE_ALARMS = set(HUNT_TARGET.false_alarm_properties)
# what `modelcheck hunt --mutant M --driver random` found (odd seeds: walproposer-overlap)
OVERLAP_FINDS = "accept-stale-append:417,term-history-not-persisted:323"


def first_failures(seeds: int) -> list[tuple[str, int, str]]:
    """``(mutant, seed, property)``: the first failing seed per mutant and property."""
    scenario = load_scenario("walproposer")
    out = []
    for mutant in CATALOGUE:
        seen: set[str] = set()
        for seed in range(seeds):
            res = scenario.run_seed(seed, mutant=mutant)
            if res.failed and res.property not in seen and res.property not in FALSE_ALARMS:
                seen.add(res.property)
                out.append((mutant, seed, res.property))
    return out


def minimise_row(mutant: str, seed: int, budget_s: float,
                 scenario: str = "walproposer") -> dict:
    _, trace = record_seed(scenario, seed, mutant=mutant)
    row = {"mutant": mutant, "seed": seed, "property": trace.violation["property"],
           "events": len(trace.events)}
    try:
        report = minimize_trace(trace, budget_s=budget_s)
    except Exception as exc:  # noqa: BLE001 - a row says why it could not be minimised
        row["error"] = str(exc)[:90]
        return row
    again = replay_trace(report.trace)
    same = again.reproduced
    if row["property"] == "crash":  # and the same actor failing the same way
        same = same and (crash_signature(again.result.message)
                         == crash_signature(trace.violation["message"]))
        row["failure"] = crash_signature(trace.violation["message"])
    row.update(steps=report.original_length, min_steps=report.minimized_length,
               min_events=len(report.trace.events), replays=report.replays,
               seconds=report.elapsed_s, proven=report.proven_minimal,
               replays_same=same)
    return row


def hypothesis_row(mutant: str, budget_s: float) -> dict:
    """Hypothesis' shrunk program for ``mutant`` (the hunt's driver: seeded chunks, shrinking
    within the budget)."""
    from modelcheck._hunt_drivers import hunt_hypothesis

    res = hunt_hypothesis(HUNT_TARGET, mutant, budget_s, None,
                          {"steps": 50, "trace_dir": tempfile.mkdtemp()}, None)
    row = {"mutant": mutant, "found": res.found, "program": res.shrunk_length,
           "raw": res.raw_length, "events": res.trace_length, "property": res.property,
           "seconds": res.elapsed_s}
    if res.found and res.trace_path:
        try:  # and that trace, minimised
            report = minimize_trace(load_trace(res.trace_path), budget_s=60)
            row.update(min_steps=report.minimized_length, min_events=len(report.trace.events),
                       min_proven=report.proven_minimal, min_s=report.elapsed_s)
        except Exception as exc:  # noqa: BLE001 - the row says why
            row["min_error"] = str(exc)[:80]
    return row


def overlap_rows(spec: str, budget_s: float) -> None:
    """Rows for the random hunt's walproposer-overlap finds (``MUTANT:SEED,...``)."""
    finds = [item.rsplit(":", 1) for item in spec.split(",") if item.strip()]
    if not finds:
        return
    print("\n### minimize (walproposer-overlap, the random hunt's finds)")
    print("| mutant | seed | property | events | steps | minimised steps (events) | replays "
          "| time s | proven | replays to same violation |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for mutant, seed in finds:
        r = minimise_row(mutant.strip(), int(seed), budget_s, "walproposer-overlap")
        head = f"| {mutant} | {seed} | {r['property']} | {r['events']} |"
        if "error" in r:
            print(f"{head} - | not minimised: {r['error']} | | | | |", flush=True)
            continue
        print(f"{head} {r['steps']} | {r['min_steps']} ({r['min_events']}) | {r['replays']} | "
              f"{r['seconds']:.1f} | {'yes' if r['proven'] else 'no'} | "
              f"{'yes' if r['replays_same'] else 'NO'} |", flush=True)
        if "failure" in r:
            print(f"  failure: {r['failure']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=150)
    ap.add_argument("--budget-s", type=float, default=60.0)
    ap.add_argument("--hypothesis", action="store_true",
                    help="also run Hypothesis' walproposer machine on each mutant")
    ap.add_argument("--hypothesis-s", type=float, default=60.0,
                    help="Hypothesis budget per mutant (default 60)")
    ap.add_argument("--overlap", default=OVERLAP_FINDS,
                    help="walproposer-overlap finds to minimise, MUTANT:SEED,... "
                         f"(default {OVERLAP_FINDS}; '' for none)")
    ap.add_argument("--only-overlap", action="store_true",
                    help="run only the walproposer-overlap rows")
    args = ap.parse_args()
    print("note: the machine is shared (other helpers' work was running); times are wall")
    overlap_rows(args.overlap, args.budget_s)
    if args.only_overlap:
        return
    print(f"\n### minimize (walproposer, first failing seed < {args.seeds} per mutant/property)")
    print("| mutant | seed | property | events | steps | minimised steps (events) | replays "
          "| time s | proven | replays to same violation |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    failures = first_failures(args.seeds)
    for mutant, seed, prop in failures:
        r = minimise_row(mutant, seed, args.budget_s)
        if "error" in r:
            print(f"| {mutant} | {seed} | {prop} | {r['events']} | - | not minimised: "
                  f"{r['error']} | | | | |")
            continue
        print(f"| {mutant} | {seed} | {prop} | {r['events']} | {r['steps']} | "
              f"{r['min_steps']} ({r['min_events']}) | {r['replays']} | {r['seconds']:.1f} | "
              f"{'yes' if r['proven'] else 'no'} | {'yes' if r['replays_same'] else 'NO'} |",
              flush=True)
    if args.hypothesis:
        print("\n### Hypothesis' shrunk program, same mutants (coarse walproposer machine, "
              f"{args.hypothesis_s:.0f} s each)")
        print("| mutant | property | first failing program (rules) | shrunk program (rules) | "
              "shrunk events | time s | that trace minimised: steps (events), proven, s |")
        print("|---|---|---|---|---|---|---|")
        for mutant in sorted({m for m, _, _ in failures}):
            h = hypothesis_row(mutant, args.hypothesis_s)
            if not h["found"]:
                print(f"| {mutant} | not found | | | | {h['seconds']:.1f} | |", flush=True)
                continue
            mini = (f"{h['min_steps']} ({h['min_events']}), "
                    f"{'yes' if h['min_proven'] else 'no'}, {h['min_s']:.1f}"
                    if "min_steps" in h else h.get("min_error", ""))
            print(f"| {mutant} | {h['property']} | {h['raw']} | {h['program']} | "
                  f"{h['events']} | {h['seconds']:.1f} | {mini} |", flush=True)
    print("\n### bmc vs the explorer's BFS (spec p2 a3 t2 l2)")
    print("| mutant | BFS trace states | BFS s | BMC trace states | BMC s | unsat below |")
    print("|---|---|---|---|---|---|")
    for mutant in ("bad-quorum",):
        t0 = time.monotonic()
        res = explore(SpecModel(2, 3, 2, 2, mutant))
        bfs_s = time.monotonic() - t0
        bfs = len(res.violations[0].trace) if res.violations else None
        b = bmc(SpecConfig(2, 3, 2, 2, mutant), max_depth=12)
        unsat = sum(1 for _, v, _ in b.checked if v == "unsat")
        print(f"| {mutant} | {bfs} | {bfs_s:.1f} | {b.states_in_trace} | {b.elapsed_s:.1f} | "
              f"{unsat} depths |")


if __name__ == "__main__":
    main()
