"""``modelcheck explore``: exhaustive exploration of a named model from the command line.

``modelcheck explore --model spec --proposers 2 --acceptors 3 --max-term 2
--max-entries 2`` reproduces TLC's figures for Neon's static spec;
``modelcheck explore --model impl --acceptors 2 --max-writes 1 --max-crashes 1``
explores the real actors (:mod:`actors.impl_model`). Models are
found by name: first the entry-point group ``modelcheck.models`` (each entry
a function ``from_cli(args) -> model``), then the small built-in table below
(``spec``, ``two-phase``, ``impl``). ``--trace PATH`` writes the first
counterexample as a trace file (:mod:`modelcheck.explore_trace`). The engine
imports no protocol: models are loaded by their dotted names at run time.

Exit codes: 0 no violation (or the symmetry is sound), 1 a violation (or a
symmetry counterexample), 2 bad usage, 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from importlib.metadata import entry_points
from typing import Any

from modelcheck._explore_symmetry import check_symmetry
from modelcheck.errors import InvalidArgument, ModelcheckError
from modelcheck.explore import explore, make_adapter, print_result

#: Built-in models: name -> "module:from_cli" (used when no entry point has the name).
BUILTIN_MODELS: dict[str, str] = {
    "spec": "actors.spec:from_cli",
    "two-phase": "examples.two_phase_commit:from_cli",
    "impl": "actors.impl_model:from_cli",
}

#: Options that rebuild a model (a trace header's ``options``, for ``modelcheck replay``).
MODEL_OPTIONS = ("proposers", "acceptors", "max_term", "max_entries", "rms", "mutant",
                 "max_crashes", "max_drops", "max_writes", "max_ticks")

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def available_models() -> dict[str, str]:
    """Every model name with where it comes from (entry points override built-ins)."""
    found = dict(BUILTIN_MODELS)
    for ep in entry_points(group="modelcheck.models"):
        found[ep.name] = ep.value
    return found


def load_model_factory(name: str) -> Any:
    """The ``from_cli(args)`` function registered under ``name``."""
    models = available_models()
    if name not in models:
        raise InvalidArgument(f"unknown model={name!r}; available: {sorted(models)}")
    module_name, _, attr = models[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidArgument(f"model={name!r}: cannot import {module_name!r}: {exc}") from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise InvalidArgument(f"model={name!r}: {models[name]!r} is not a callable")
    return factory


def add_explore_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``explore`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "explore",
        help="exhaustive BFS/DFS of a model, TLC-compatible counts",
        description=__doc__.split("\n\n")[0],
    )
    configure_parser(p)
    p.set_defaults(func=run_explore)
    return p


def configure_parser(p: argparse.ArgumentParser) -> None:
    """The options of ``modelcheck explore``."""
    p.add_argument("--model", default="spec", help="model name (default: spec)")
    p.add_argument("--proposers", type=int, default=2, help="spec, impl: number of proposers")
    p.add_argument("--acceptors", type=int, default=3, help="spec, impl: number of acceptors")
    p.add_argument("--max-term", type=int, default=2, help="spec: StateConstraint term bound")
    p.add_argument("--max-entries", type=int, default=2, help="spec: StateConstraint WAL bound")
    p.add_argument("--rms", type=int, default=3, help="two-phase: number of resource managers")
    p.add_argument("--max-crashes", type=int, default=0, help="impl: node crashes per path")
    p.add_argument("--max-drops", type=int, default=0, help="impl: message drops per path")
    p.add_argument("--max-writes", type=int, default=1,
                   help="impl: transactions the computes write per path (real WAL records)")
    p.add_argument("--max-ticks", type=int, default=0,
                   help="impl: walproposer reconnect/heartbeat timer firings per path")
    p.add_argument("--mutant", default=None, help="a seeded bug of the model (e.g. bad-quorum)")
    p.add_argument(
        "--no-symmetry",
        action="store_true",
        help="no symmetry reduction (default: reduce when the model declares a symmetry)",
    )
    p.add_argument("--dfs", action="store_true", help="depth-first (no shortest traces)")
    p.add_argument(
        "--check-symmetry",
        action="store_true",
        help="only check that the declared symmetry is sound; print a counterexample if not",
    )
    p.add_argument("--max-depth", type=int, default=None, help="stop after this many levels")
    p.add_argument(
        "--fingerprints", action="store_true", help="store 64-bit fingerprints, not exact keys"
    )
    p.add_argument(
        "--workers", type=int, default=1,
        help="worker processes for a level-synchronous BFS, same counts as 1 (impl model; "
        "other models run in one process and say so)",
    )
    p.add_argument("--json", metavar="PATH", default=None, help="write the result as JSON")
    p.add_argument("--trace", metavar="PATH", default=None,
                   help="write the first counterexample as a trace file (modelcheck show/replay)")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")


def run_explore(args: argparse.Namespace) -> int:
    """Run ``modelcheck explore`` for parsed ``args``; returns the exit code."""
    try:
        model = load_model_factory(args.model)(args)
        workers = args.workers
        if workers != 1 and (args.dfs or not getattr(model, "parallel_safe", False)):
            why = "--dfs" if args.dfs else f"model {args.model!r} keeps per-process state ids"
            print(f"explore: workers={workers} requested; {why}, so the search runs in one "
                  "process", file=sys.stderr)
            workers = 1
        if args.check_symmetry:
            return _check_symmetry(model, args)
        symmetry = not args.no_symmetry and hasattr(model, "canonical")
        result = explore(
            model,
            symmetry=symmetry,
            dfs=args.dfs,
            max_depth=args.max_depth,
            fingerprints=args.fingerprints,
            progress=None if args.quiet else sys.stderr,
            workers=workers,
        )
    except ModelcheckError as exc:
        print(f"explore: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    adapter = make_adapter(model)
    print_result(result, adapter)
    if args.trace and result.violations:
        _write_trace(model, result, args)
    if args.json:
        doc = result.to_json(adapter)
        doc["options"] = {k: v for k, v in sorted(vars(args).items()) if k != "func"}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
    if result.violations:
        return EXIT_VIOLATION
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK


def model_options(model: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The options that rebuild ``model`` (the model's own ``options()`` if it has one)."""
    own = getattr(model, "options", None)
    if callable(own):
        return dict(own())
    return {k: getattr(args, k) for k in MODEL_OPTIONS if hasattr(args, k)}


def _write_trace(model: Any, result: Any, args: argparse.Namespace) -> None:
    from modelcheck.explore_trace import violation_trace

    trace = violation_trace(model, result.violations[0], model_name=args.model,
                            options=model_options(model, args), mutant=args.mutant)
    path = trace.save(args.trace)
    print(f"trace: {path}  (modelcheck show {path} -o {path.with_suffix('.html')}; "
          f"modelcheck replay {path})", file=sys.stderr)


def _check_symmetry(model: Any, args: argparse.Namespace) -> int:
    report = check_symmetry(model)
    adapter = make_adapter(model)
    if report.sound:
        print(
            f"symmetry sound: {report.states_checked:,} reachable states checked against "
            f"{report.group_size} permutations"
        )
    else:
        assert report.counterexample is not None
        print(report.counterexample.format(adapter))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {"sound": report.sound, "states_checked": report.states_checked}, fh, indent=2
            )
    return EXIT_OK if report.sound else EXIT_VIOLATION


def main(argv: list[str] | None = None) -> int:
    """Standalone entry: ``python -m modelcheck.explore_cli --model spec ...``."""
    parser = argparse.ArgumentParser(prog="modelcheck explore", description=__doc__)
    configure_parser(parser)
    return run_explore(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
