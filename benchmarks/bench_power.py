"""Checker power: every mutant by every driver, time to detection and counterexample length.

For each mutant of ``modelcheck mutants`` and each driver (random seed campaign,
Hypothesis machine, exhaustive explorer) this runs ``modelcheck.hunt.hunt`` with
a budget (default 60 s) and prints one row: found or not, the property, the
time to the first failure (and the total with Hypothesis' shrinking), and the
counterexample's length: raw (random: events of the failing seed up to the
violation; hypothesis: steps of the first failing program; explore: states of
the shortest trace), shrunk (Hypothesis' shrunk program) and minimised
(``modelcheck.minimize`` on the random driver's trace, when it is installed).
Then the false-alarm check: the correct protocol over ``--false-alarm-seeds``
random seeds (default 10,000) must give zero violations.

    python benchmarks/bench_power.py                       # the full scoreboard
    python benchmarks/bench_power.py --mutants bad-quorum --drivers random --false-alarm-seeds 0

The issue's goals are printed with the table: every mutant found by some
driver within the budget, the random campaign alone finding >= 80 % of them,
zero false alarms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from modelcheck.hunt import DRIVERS, HuntResult, hunt, load_target
from modelcheck.sim import OUTCOME_NAMES, CampaignConfig, run_campaign


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _fmt(x: Any) -> str:
    return "-" if x is None else str(x)


def row(r: HuntResult) -> dict[str, Any]:
    if not r.applicable:
        return {"mutant": r.mutant, "driver": r.driver, "found": "n/a", "property": "-",
                "detect_s": "-", "total_s": "-", "raw": "-", "shrunk": "-", "minimised": "-",
                "where": r.note}
    where = (f"seed {r.seed} ({r.seeds_tried} seeds run)" if r.driver == "random" and r.found
             else f"{r.seeds_tried} seeds" if r.driver == "random"
             else f"{r.examples} examples" if r.driver == "hypothesis"
             else f"{r.model or ''} {r.states} states".strip())
    return {"mutant": r.mutant, "driver": r.driver, "found": "yes" if r.found else "no",
            "property": r.property or "-",
            "detect_s": _fmt_s(r.first_failure_s if r.found else None),
            "total_s": _fmt_s(r.elapsed_s),
            "raw": _fmt(r.trace_length if r.driver != "hypothesis" else r.raw_length),
            "shrunk": _fmt(r.shrunk_length), "minimised": _fmt(r.minimized_length),
            "where": where}


COLUMNS = ("mutant", "driver", "found", "property", "detect_s", "total_s", "raw", "shrunk",
           "minimised", "where")


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(str(r[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def false_alarms(seeds: int, workers: int, scenario: str = "walproposer") -> dict[str, Any]:
    """The correct protocol over ``seeds`` seeds: every failure is a false alarm."""
    cfg = CampaignConfig(scenario=scenario, seeds=seeds, workers=workers, batch=16)
    summary = run_campaign(cfg)
    fails = summary.failures
    by_prop: dict[str, list[int]] = {}
    for f in fails:
        by_prop.setdefault(f"{OUTCOME_NAMES.get(f.outcome)} {f.property}", []).append(f.seed)
    return {"scenario": scenario, "seeds": len(summary.results), "violations": len(fails),
            "elapsed_s": round(summary.elapsed_s, 1), "by_property": by_prop}


def _summary(rows: list[dict[str, Any]], results: list[HuntResult], mutants: list[str],
             drivers: list[str], budget_s: float, start: float) -> None:
    print(markdown(rows))
    found_any = {r.mutant for r in results if r.found}
    found_random = {r.mutant for r in results if r.found and r.driver == "random"}
    print(f"\nfound by some driver within {budget_s:g} s: {len(found_any)}/{len(mutants)}"
          f" (missing: {', '.join(sorted(set(mutants) - found_any)) or 'none'})")
    if "random" in drivers:
        print(f"found by the random campaign: {len(found_random)}/{len(mutants)} = "
              f"{100 * len(found_random) / len(mutants):.0f} % (goal >= 80 %)")
    print(f"scoreboard wall time: {time.perf_counter() - start:.0f} s")


def main(argv: list[str] | None = None) -> int:
    target = load_target("walproposer")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget-s", type=float, default=60.0, help="per mutant per driver")
    p.add_argument("--mutants", default=",".join(sorted(target.mutants)))
    p.add_argument("--drivers", default=",".join(DRIVERS))
    p.add_argument("--workers", type=int, default=0, help="random driver processes (0 = all)")
    p.add_argument("--minimize-s", type=float, default=30.0,
                   help="budget for minimising each random find (0: off)")
    p.add_argument("--false-alarm-seeds", type=int, default=10_000)
    p.add_argument("--overlap-seeds", type=int, default=2_000,
                   help="false-alarm seeds of the walproposer-overlap scenario too")
    p.add_argument("--trace-dir", default=os.path.join(".hypothesis", "power-traces"))
    p.add_argument("--seeds-to-find", type=int, default=0, metavar="N",
                   help="for each mutant the random driver missed within the budget, search "
                        "on (no time limit) up to N seeds and report the seed it is found at "
                        "(load-independent)")
    p.add_argument("--json", metavar="PATH", help="write every result as JSON")
    args = p.parse_args(argv)
    mutants = [m for m in args.mutants.split(",") if m]
    drivers = [d for d in args.drivers.split(",") if d]
    print(f"bench_power: {len(mutants)} mutants x {drivers}, budget {args.budget_s:g} s each, "
          f"cpus={os.cpu_count()}", file=sys.stderr)
    results: list[HuntResult] = []
    start = time.perf_counter()
    for m in mutants:
        for d in drivers:
            r = hunt(m, d, args.budget_s, trace_dir=args.trace_dir, workers=args.workers,
                     minimize_s=args.minimize_s if d == "random" else 0.0)
            results.append(r)
            rr = row(r)
            print(f"  {m:<27} {d:<10} found={rr['found']:<3} {rr['property']:<24} "
                  f"detect={rr['detect_s']}s raw={rr['raw']} shrunk={rr['shrunk']} "
                  f"min={rr['minimised']}  {rr['where']}", file=sys.stderr, flush=True)
    rows = [row(r) for r in results]
    if rows:
        _summary(rows, results, mutants, drivers, args.budget_s, start)
    beyond = []
    if args.seeds_to_find:
        missed = [r.mutant for r in results if r.driver == "random" and not r.found]
        for m in missed:
            r = hunt(m, "random", 10_000.0, trace_dir=args.trace_dir, workers=args.workers,
                     max_seeds=args.seeds_to_find)
            beyond.append(r)
            print(f"seeds to find {m}: "
                  + (f"seed {r.seed} ({r.property}; {r.seeds_tried} seeds run in "
                     f"{r.elapsed_s:.0f} s)" if r.found else
                     f"not in {r.seeds_tried} seeds ({r.elapsed_s:.0f} s)"), flush=True)
    fa = []
    for scenario, n in (("walproposer", args.false_alarm_seeds),
                        ("walproposer-overlap", args.overlap_seeds)):
        if not n:
            continue
        f = false_alarms(n, args.workers, scenario)
        fa.append(f)
        print(f"\nfalse alarms: correct protocol, scenario {scenario}, {f['seeds']} seeds: "
              f"{f['violations']} violations in {f['elapsed_s']} s"
              + "".join(f"\n  {k}: seeds {v[:20]}" for k, v in f["by_property"].items()),
              flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"budget_s": args.budget_s, "results": [r.to_json() for r in results],
                       "seeds_to_find": [r.to_json() for r in beyond],
                       "false_alarms": fa}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
