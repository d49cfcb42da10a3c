"""``modelcheck mutants`` and ``modelcheck hunt``: the seeded-bug catalogue and the hunt for one.

``modelcheck mutants`` lists the scenario's mutants, one a line, the name
first. ``modelcheck hunt --mutant NAME --driver random|hypothesis|explore|all``
runs the driver(s) of :mod:`modelcheck.hunt` until a violation or the end of
the budget, prints what was found and writes the trace file (``--trace``) and
a JSON summary (``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from modelcheck.backends import add_backend_args, backend_from_args
from modelcheck.hunt import DRIVERS, HuntResult, hunt, load_target

__all__ = ["add_parsers", "cmd_hunt", "cmd_mutants"]

EXIT_FOUND, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

HUNT_EPILOG = """\
exit codes: 0 the bug was found (by at least one driver, with --driver all), 1 not found
within the budget (or no driver applies), 2 bad usage (e.g. an unknown mutant),
130 interrupted. A hunt that finds its bug succeeds: the violation is what it looks for.
JSON (--json): one object per driver run ({"runs": [...]} with --driver all) with found,
applicable, driver, property, outcome, message, elapsed_s, first_failure_s, trace_length,
shrunk_length, raw_length, minimized_length, trace_path, seed, seeds_tried, examples,
states, model, scenario, note, unattributed (seeds that fail with the correct protocol too).
"""


def add_parsers(sub: Any) -> None:
    """Register ``mutants`` and ``hunt`` on the CLI's subparsers."""
    m = sub.add_parser("mutants", help="list the seeded protocol bugs (one a line, name first)")
    m.add_argument("--scenario", default="walproposer", help="scenario name (entry point)")
    m.set_defaults(func=cmd_mutants)

    h = sub.add_parser("hunt", help="run a driver until it finds a mutant's violation",
                       epilog=HUNT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    h.add_argument("--mutant", required=True, help="the bug to hunt (see: modelcheck mutants)")
    h.add_argument("--driver", default="random", choices=(*DRIVERS, "all"),
                   help="random (seed campaign), hypothesis (stateful machine), explore "
                        "(exhaustive), or all of them in turn (default random)")
    h.add_argument("--budget-s", type=float, default=60.0,
                   help="wall-clock budget per driver in seconds (default 60)")
    h.add_argument("--scenario", default="walproposer", help="scenario name (entry point)")
    h.add_argument("--workers", type=int, default=0, help="random: processes (0 = all cores)")
    h.add_argument("--first-seed", type=int, default=0, help="random: first seed (default 0)")
    h.add_argument("--seed", type=int, default=0,
                   help="hypothesis: seed of the first chunk of examples (default 0)")
    h.add_argument("--trace", metavar="PATH",
                   help="write the counterexample's trace here (with --driver all: "
                        "PATH's stem + .<driver>.trace.json); default: $MODELCHECK_TRACE_DIR "
                        "or .hypothesis/traces")
    h.add_argument("--minimize-s", type=float, default=0.0, metavar="T",
                   help="minimise the counterexample with modelcheck.minimize within T more "
                        "seconds, writing <trace>.min.trace.json (default 0: off)")
    h.add_argument("--json", metavar="PATH", help="write the result(s) as JSON")
    h.add_argument("--no-progress", action="store_true", help="no progress display")
    add_backend_args(h)  # random: --cluster local[:N] / --scheduler ADDRESS (Dask)
    h.set_defaults(func=cmd_hunt)


def cmd_mutants(args: argparse.Namespace) -> int:
    target = load_target(args.scenario)
    width = max(len(n) for n in target.mutants)
    for name in sorted(target.mutants):
        print(f"{name:<{width}}  {target.mutants[name]}")
    return 0


def cmd_hunt(args: argparse.Namespace) -> int:
    from modelcheck.errors import InvalidArgument
    from modelcheck.hunt import check_mutant

    if args.workers < 0:
        raise InvalidArgument(f"--workers={args.workers} must be >= 0 (0 = all cores)")
    target = load_target(args.scenario)
    check_mutant(target, args.mutant)
    drivers = DRIVERS if args.driver == "all" else (args.driver,)
    show = not args.no_progress and sys.stderr.isatty()
    results: list[HuntResult] = []
    dask = args.cluster is not None or args.scheduler is not None
    args.backend = backend_from_args(args) if dask and "random" in drivers else None
    for driver in drivers:
        path = _trace_path(args.trace, driver, len(drivers) > 1)
        print(f"modelcheck hunt: mutant={args.mutant} driver={driver} budget={args.budget_s:g}s",
              file=sys.stderr)
        result = _run(args, driver, path, show)
        results.append(result)
        _print(result)
        if result.interrupted:
            break
    if args.backend is not None:
        args.backend.close()
    if args.json:
        doc: dict[str, Any] = (results[0].to_json() if len(drivers) == 1
                               else {"mutant": args.mutant, "runs": [r.to_json() for r in results],
                                     "found": any(r.found for r in results)})
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, sort_keys=True)
            fh.write("\n")
    if any(r.interrupted for r in results):
        return EXIT_INTERRUPTED
    return EXIT_FOUND if any(r.found for r in results) else EXIT_NOT_FOUND


def _trace_path(path: str | None, driver: str, several: bool) -> str | None:
    if path is None or not several:
        return path
    stem = path[: -len(".trace.json")] if path.endswith(".trace.json") else path.rsplit(".", 1)[0]
    return f"{stem}.{driver}.trace.json"


def _run(args: argparse.Namespace, driver: str, path: str | None, show: bool) -> HuntResult:
    opts = {"workers": args.workers, "first_seed": args.first_seed, "seed": args.seed,
            "minimize_s": args.minimize_s,
            "backend": args.backend if driver == "random" else None}
    if not show:
        return hunt(args.mutant, driver, args.budget_s, scenario=args.scenario,
                    trace_path=path, **opts)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"[bold]{driver}"), BarColumn(), TimeElapsedColumn(),
               TextColumn(f"of {args.budget_s:g} s"), TextColumn("{task.fields[status]}"))
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(driver, total=args.budget_s, status="")

        def on_progress(info: dict[str, Any]) -> None:
            status = "  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in info.items() if k != "elapsed_s")
            progress.update(task, completed=progress.tasks[0].elapsed or 0.0,
                            status=status[:80])

        return hunt(args.mutant, driver, args.budget_s, scenario=args.scenario,
                    trace_path=path, on_progress=on_progress, **opts)


def _print(r: HuntResult) -> None:
    if not r.applicable:
        print(f"{r.driver}: not applicable ({r.note})")
        return
    if not r.found:
        what = (f"{r.seeds_tried} seeds" if r.seeds_tried is not None else
                f"{r.examples} examples" if r.examples is not None else
                f"{r.states} states" if r.states is not None else "")
        print(f"{r.driver}: NOT FOUND in {r.elapsed_s:.1f} s ({what})"
              + (" - interrupted" if r.interrupted else ""))
        return
    where = (f"seed {r.seed}" if r.driver == "random" else
             f"shrunk to {r.shrunk_length} steps (from {r.raw_length})" if r.driver == "hypothesis"
             else f"{r.model}, {r.states} states")
    first = f" (first failure at {r.first_failure_s:.1f} s)" if (
        r.first_failure_s is not None and r.first_failure_s + 0.05 < r.elapsed_s) else ""
    print(f"{r.driver}: FOUND {r.outcome} violation of {r.property} in {r.elapsed_s:.1f} s"
          f"{first}, {where}; trace length {r.trace_length}")
    print(f"  {r.message[:300]}")
    print(f"  trace: {r.trace_path}")
    if r.minimized_length is not None or "minimize" in r.note:
        print(f"  {r.note}")
    if r.unattributed:
        print(f"  (seeds failing with the correct protocol too, not counted: {r.unattributed})")
