"""Benchmark: the explorer over the implementation model (real actors, real WAL).

Prints, per bounded world, the explorer's figures (distinct states,
generated, depth, wall time, distinct states per second, CPU seconds of the
search including worker processes), side by side with 1 and 2 workers where
asked, so the ratio is measured in one run on the same machine. There is no
TLC figure for this model: the implementation is not a TLA+ spec.

Usage: ``python benchmarks/bench_explore_impl.py [--quick] [--workers-too]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from actors.impl_model import explore_impl

ROWS = [
    # (label, bounds, expect a violation)
    ("a2 p1 writes1 (correct)", dict(acceptors=2, proposers=1, max_writes=1), False),
    ("a1 p1 writes1 crashes1 (correct)",
     dict(acceptors=1, proposers=1, max_writes=1, max_crashes=1), False),
    ("a1 p2 writes1 (correct)", dict(acceptors=1, proposers=2, max_writes=1), False),
    ("a2 p2 bad-quorum", dict(acceptors=2, proposers=2, max_writes=0, mutant="bad-quorum"),
     True),
    ("a3 p2 bad-quorum", dict(acceptors=3, proposers=2, max_writes=0, mutant="bad-quorum"),
     True),
]


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(label: str, bounds: dict, violation: bool, workers: int) -> None:
    cpu0, t0 = _cpu(), time.perf_counter()
    r = explore_impl(workers=workers, **bounds)
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    found = r.violations[0] if r.violations else None
    if bool(found) != violation:
        raise SystemExit(f"{label}: expected violation={violation}, got {found}")
    what = f"{found.property} in {len(found.trace)} states" if found else "none"
    print(f"| {label} | {workers} | {r.distinct_states:,} | {r.states_generated:,} | {r.depth} "
          f"| {wall:.2f} | {r.distinct_states / wall:,.0f} | {cpu:.2f} | {what} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the first and fourth rows only")
    p.add_argument("--workers-too", action="store_true",
                   help="also run each row with 2 workers, right after the 1-worker run")
    args = p.parse_args(argv)
    rows = [ROWS[0], ROWS[3]] if args.quick else ROWS
    print("| world | workers | distinct | generated | depth | wall s | distinct/s | CPU s "
          "| violation |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, bounds, violation in rows:
        run(label, bounds, violation, 1)
        if args.workers_too:
            run(label, bounds, violation, 2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the parent process: {peak:.0f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
