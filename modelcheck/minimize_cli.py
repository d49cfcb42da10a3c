"""``modelcheck minimize`` (z3 minimiser of a violating trace) and ``modelcheck bmc`` (spec BMC).

``modelcheck minimize TRACE [--property NAME] [--budget-s T] [-o OUT] [--json PATH]``
writes the smallest interleaving of TRACE's events that still breaks the
property, as a normal trace file (``modelcheck replay OUT`` reproduces it,
``modelcheck show OUT`` draws it). Exit codes: 0 minimised (proven or not:
see the output and the JSON), 2 bad input (no violation, unreadable trace,
a scenario that cannot be replayed step by step).

``modelcheck bmc [--proposers P --acceptors A --max-term T --max-entries L]
[--mutant M] [--max-depth K]`` runs bounded model checking of the abstract
spec in z3 (:mod:`actors.spec_bmc`, loaded by name, as the explorer loads
models): the shortest counterexample with the proof that none is shorter.
Exit codes: 1 a counterexample, 0 none up to the depth, 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from modelcheck.errors import InvalidArgument
from modelcheck.trace import load_trace

__all__ = ["add_parser", "cmd_bmc", "cmd_minimize"]

BMC_MODULE = "actors.spec_bmc"


def add_parser(subparsers: Any) -> None:
    """Add ``minimize`` and ``bmc`` to ``modelcheck``'s subcommands."""
    p = subparsers.add_parser("minimize", help="z3: the smallest interleaving of a trace's "
                              "events that still breaks its property")
    p.add_argument("trace", metavar="TRACE", help="a violating trace file (any driver)")
    p.add_argument("--property", default=None, metavar="NAME",
                   help="the property to keep broken (default: the trace's violation)")
    p.add_argument("--budget-s", type=float, default=60.0, metavar="T",
                   help="time budget in seconds (default 60)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="minimised trace file (default: TRACE with .min.trace.json)")
    p.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    p.add_argument("--max-replays", type=int, default=None, metavar="N",
                   help="stop after N replays (default: only the time budget)")
    p.add_argument("--exact", action="store_true",
                   help="block only each refuted candidate itself, not its subsets (a proof "
                        "without the monotonicity assumption; slow on long traces)")
    p.set_defaults(func=cmd_minimize)

    b = subparsers.add_parser("bmc", help="bounded model checking of the spec in z3 "
                              "(shortest counterexample + proof)")
    b.add_argument("--proposers", type=int, default=2)
    b.add_argument("--acceptors", type=int, default=3)
    b.add_argument("--max-term", type=int, default=2)
    b.add_argument("--max-entries", type=int, default=2)
    b.add_argument("--mutant", default=None, help="a spec mutant (bad-quorum, ...)")
    b.add_argument("--max-depth", type=int, default=12, metavar="K",
                   help="deepest unrolling tried (default 12)")
    b.add_argument("--timeout-s", type=float, default=600.0, help="z3 time budget (default 600)")
    b.add_argument("--json", metavar="PATH", help="write the result as JSON")
    b.set_defaults(func=cmd_bmc)


def _default_output(trace: str) -> Path:
    p = Path(trace)
    name = p.name
    for suffix in (".trace.json", ".json"):
        if name.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + ".min.trace.json")
    return p.with_name(name + ".min.trace.json")


def cmd_minimize(args: argparse.Namespace) -> int:
    from modelcheck.minimize import CLAIM, minimize_trace

    if args.budget_s <= 0:
        raise InvalidArgument(f"--budget-s={args.budget_s}: expected a positive number")
    trace = load_trace(args.trace)
    report = minimize_trace(trace, property=args.property, budget_s=args.budget_s,
                            generalise="exact" if args.exact else "subsets",
                            max_replays=args.max_replays)
    out = Path(args.output) if args.output else _default_output(args.trace)
    report.trace.save(out)
    data = report.to_json()
    data["output"] = str(out)
    status = "proven minimal" if report.proven_minimal else "not proven minimal (budget)"
    print(f"minimize: {report.property}: {report.original_length} steps "
          f"({report.original_events} events) -> {report.minimized_length} steps, {status}; "
          f"{report.replays} replays, {report.elapsed_s:.1f} s, "
          f"{report.switches} node switches", file=sys.stderr)
    print(f"minimize: {CLAIM}; proof basis: {data['proof_basis']}", file=sys.stderr)
    for line in report.log:
        print(f"  {line}", file=sys.stderr)
    print(f"trace: {out}  (modelcheck replay {out}; modelcheck show {out})", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")
    return 0


def cmd_bmc(args: argparse.Namespace) -> int:
    if args.max_depth < 0:
        raise InvalidArgument(f"--max-depth={args.max_depth}: expected an integer >= 0")
    try:
        module = importlib.import_module(BMC_MODULE)
    except ImportError as exc:
        raise InvalidArgument(f"bmc: cannot import {BMC_MODULE!r}: {exc}") from exc
    code, data = module.main(args)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")
    return code
