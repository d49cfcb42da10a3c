"""``modelcheck``: the command line of the engine.

Commands: ``run`` (a seed campaign), ``replay`` (one seed, with its full event
log, or a trace file), ``show`` (a trace as a step list or an HTML viewer),
``explore`` (exhaustive search of a model). The command line knows no
protocol: scenarios and models come from entry points.

Exit codes (every command): 0 no violation, 1 a safety violation, 2 bad
usage or bad input, 3 a liveness failure, 4 a crash (an exception in an
actor, or a nondeterministic seed), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from modelcheck import __version__
from modelcheck._trace_cli import (
    add_replay_trace_args,
    add_run_trace_args,
    add_show_parser,
    cmd_replay_trace,
    write_campaign_traces,
    write_seed_trace,
)
from modelcheck.backends import Backend, add_backend_args, backend_from_args
from modelcheck.errors import InvalidArgument, ModelcheckError
from modelcheck.sim import (
    OUTCOME_NAMES,
    CampaignConfig,
    CampaignSummary,
    SeedResult,
    load_scenario,
    replay_command,
    run_campaign,
)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep one line
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modelcheck", description=__doc__.split("\n\n")[0].strip("`: "))
    parser.add_argument("--version", action="version", version=f"modelcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run a seed campaign (the main job)")
    _scenario_args(run)
    run.add_argument("--seeds", type=int, default=1000, help="number of seeds (default 1000)")
    run.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    run.add_argument("--workers", type=int, default=0, help="worker processes (0 = all cores)")
    run.add_argument("--batch", type=int, default=8, help="seeds per work unit (default 8)")
    run.add_argument("--check-determinism", action="store_true",
                     help="run every seed twice and fail on any difference in its event log")
    run.add_argument("--json", metavar="PATH", help="write the summary as JSON")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_run_trace_args(run)
    add_backend_args(run)
    run.set_defaults(func=cmd_run)

    replay = sub.add_parser("replay", help="rerun one seed and write its full event log")
    _scenario_args(replay)
    replay.add_argument("--seed", type=int, default=None, help="the seed (or give a TRACE)")
    replay.add_argument("--log", metavar="PATH", help="write the event log here ('-' = stdout)")
    add_replay_trace_args(replay)
    replay.set_defaults(func=cmd_replay)
    add_show_parser(sub)

    try:
        from modelcheck.explore_cli import add_explore_parser, run_explore
    except ImportError:  # pragma: no cover - the explorer is part of the package
        pass
    else:
        explore = add_explore_parser(sub)
        explore.set_defaults(func=lambda args: run_explore(args))
    from modelcheck.hunt_cli import add_parsers as add_hunt_parsers

    add_hunt_parsers(sub)  # mutants, hunt
    from modelcheck.minimize_cli import add_parser as add_minimize_parsers

    add_minimize_parsers(sub)  # minimize, bmc
    return parser


def _scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", default="walproposer", help="scenario name (entry point)")
    p.add_argument("--acceptors", type=int, default=3, help="number of safekeepers (default 3)")
    p.add_argument("--mutant", default=None, help="switch on a named protocol bug")
    p.add_argument("--wire", action="store_true", help="send messages as bytes, not objects")


def cmd_run(args: argparse.Namespace) -> int:
    cfg = CampaignConfig(scenario=args.scenario, first_seed=args.first_seed, seeds=args.seeds,
                         workers=args.workers, mutant=args.mutant, acceptors=args.acceptors,
                         wire=args.wire, check_determinism=args.check_determinism,
                         batch=args.batch)
    with backend_from_args(args) as backend:
        print(f"modelcheck run: scenario={cfg.scenario} seeds={cfg.first_seed}.."
              f"{cfg.first_seed + cfg.seeds - 1} workers={backend.workers} "
              f"acceptors={cfg.acceptors} mutant={cfg.mutant or '-'}"
              + (" check-determinism" if cfg.check_determinism else "")
              + (f" backend={backend.name}" if backend.name != "local" else ""), file=sys.stderr)
        summary = _run_with_progress(cfg, show=not args.no_progress and sys.stderr.isatty(),
                                     backend=backend)
    _print_summary(summary)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary.to_json(), fh, indent=2, sort_keys=True)
            fh.write("\n")
    if summary.interrupted:
        return 130
    write_campaign_traces(args, summary)
    return summary.exit_code


def _run_with_progress(cfg: CampaignConfig, *, show: bool,
                       backend: Backend | None = None) -> CampaignSummary:
    if not show:
        return run_campaign(cfg, backend=backend)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    failures = 0
    columns = (TextColumn("[bold]seeds"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]:>7.1f} seeds/s"), TextColumn("ETA"),
               TimeRemainingColumn(), TimeElapsedColumn(),
               TextColumn("[red]{task.fields[failures]} failed"))
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("seeds", total=cfg.seeds, rate=0.0, failures=0)

        def on_batch(batch: list[SeedResult]) -> None:
            nonlocal failures
            failures += sum(r.failed for r in batch)
            progress.advance(task, len(batch))
            elapsed = progress.tasks[0].elapsed or 1e-9
            progress.update(task, failures=failures,
                            rate=progress.tasks[0].completed / elapsed)

        return run_campaign(cfg, on_batch, backend)


def _print_summary(summary: CampaignSummary) -> None:
    from rich.console import Console
    from rich.table import Table

    data = summary.to_json()
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    table = Table(title="campaign summary", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("seeds_run", "events", "events_per_seed", "elapsed_s", "seeds_per_s",
                "events_per_s", "workers"):
        value = data[key]
        table.add_row(key, f"{value:.1f}" if isinstance(value, float) else str(value))
    for name, count in data["outcomes"].items():
        table.add_row(f"outcome {name}", str(count))
    console.print(table)
    for failure in data["failures"][:20]:
        console.print(f"FAIL seed={failure['seed']} {failure['outcome']} "
                      f"{failure['property']}: {failure['message']}")
        console.print(f"  reproduce: {failure['replay']}")
    if len(data["failures"]) > 20:
        console.print(f"... and {len(data['failures']) - 20} more failures (see --json)")
    for seed in summary.nondeterministic:
        console.print(f"NONDETERMINISTIC seed={seed}: two runs gave different event logs")
    if summary.retried_batches:
        console.print(f"retried {summary.retried_batches} batch(es) whose worker was lost")
    if summary.interrupted:
        console.print(f"interrupted: {len(summary.results)} of {summary.config.seeds} seeds done")


def cmd_replay(args: argparse.Namespace) -> int:
    if (args.seed is None) == (args.trace_file is None):
        raise InvalidArgument("replay needs exactly one of --seed N or a TRACE file")
    if args.trace_file is not None:
        return cmd_replay_trace(args)
    scenario = load_scenario(args.scenario)
    result = scenario.run_seed(args.seed, mutant=args.mutant, acceptors=args.acceptors,
                               keep_log=True, wire=args.wire)
    lines = result.log_lines or []
    if args.log == "-":
        sys.stdout.write("".join(line + "\n" for line in lines))
    elif args.log:
        with open(args.log, "w", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
    status = OUTCOME_NAMES.get(result.outcome, str(result.outcome))
    print(f"seed={result.seed} outcome={status} events={result.events} "
          f"virtual_ms={result.virtual_ms} digest={result.log_digest}", file=sys.stderr)
    if result.failed:
        print(f"{status} violation of {result.property}: {result.message}", file=sys.stderr)
        print(f"reproduce: {replay_command(args.scenario, args.seed, args.mutant, args.acceptors)}",
              file=sys.stderr)
    if args.trace:
        write_seed_trace(args, args.seed, args.trace)
        print(f"trace written to {args.trace}", file=sys.stderr)
    return result.outcome


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except ModelcheckError as exc:
        print(f"modelcheck: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("modelcheck: interrupted", file=sys.stderr)
        return 130


def _entry() -> Any:  # pragma: no cover
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
