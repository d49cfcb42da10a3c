"""The trace parts of the command line: ``show``, ``replay TRACE`` and ``--trace`` options.

Kept apart from :mod:`modelcheck.cli` so that file only wires them in.
Exit codes follow the CLI's: 0 no violation, 1 safety, 3 liveness, 4 crash,
2 bad usage or bad input (an unreadable or malformed trace).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from modelcheck._trace_run import record_seed, replay_trace, trace_file_name
from modelcheck.errors import InvalidArgument
from modelcheck.sim import OUTCOME_NAMES, CampaignSummary
from modelcheck.trace import load_trace

__all__ = ["add_show_parser", "add_replay_trace_args", "add_run_trace_args", "cmd_replay_trace",
           "cmd_show", "write_campaign_traces", "write_seed_trace"]

EXIT_USAGE = 2


def add_show_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    show = sub.add_parser("show", help="print a trace as a step list, or write its HTML viewer")
    show.add_argument("trace", metavar="TRACE", help="a trace file (.trace.json)")
    show.add_argument("-o", "--output", metavar="FILE.html",
                      help="write one self-contained HTML page (lanes, arrows, state per step)")
    show.add_argument("--from", dest="first", type=int, default=0, help="first step to print")
    show.add_argument("--to", dest="last", type=int, default=None, help="last step to print")
    show.add_argument("--state", type=int, default=None, metavar="STEP",
                      help="also print every node's state at STEP")
    colour = show.add_mutually_exclusive_group()
    colour.add_argument("--color", dest="color", action="store_true", default=None,
                        help="colours even when not writing to a terminal")
    colour.add_argument("--no-color", dest="color", action="store_false",
                        help="plain text even on a terminal")
    show.set_defaults(func=cmd_show)
    return show


def add_replay_trace_args(replay: argparse.ArgumentParser) -> None:
    replay.add_argument("trace_file", nargs="?", metavar="TRACE",
                        help="replay this trace file (instead of --seed) and confirm its violation")
    replay.add_argument("--by-seed", action="store_true",
                        help="with TRACE: replay by seed, ignoring the recorded choices")
    replay.add_argument("--trace", metavar="PATH", help="write the trace of this replay to PATH")


def add_run_trace_args(run: argparse.ArgumentParser) -> None:
    run.add_argument("--trace", metavar="PATH",
                     help="write the trace of the first failing seed to PATH")
    run.add_argument("--trace-dir", metavar="DIR",
                     help="write a trace per failing seed into DIR (at most --trace-max)")
    run.add_argument("--trace-max", type=int, default=10, metavar="N",
                     help="most traces --trace-dir writes (default 10)")


def cmd_show(args: argparse.Namespace) -> int:
    from modelcheck.show import show

    trace = load_trace(args.trace)
    if args.output:
        from modelcheck._trace_html import write_html

        path = write_html(trace, args.output)
        print(f"wrote {path} ({len(trace.events)} events, {len(trace.snapshots)} snapshots)",
              file=sys.stderr)
        if args.state is None and args.last is None and args.first == 0:
            return 0
    if args.state is not None and not 0 <= args.state < max(1, len(trace.events)):
        raise InvalidArgument(f"--state={args.state}: the trace has steps 0.."
                              f"{len(trace.events) - 1}")
    show(trace, color=args.color, first=args.first, last=args.last, state_at=args.state)
    return 0


def cmd_replay_trace(args: argparse.Namespace) -> int:
    """``modelcheck replay TRACE``: rerun a trace and say whether its violation is still there."""
    original = load_trace(args.trace_file)
    if original.header.get("driver") == "explore":  # an explorer counterexample
        from modelcheck.explore_trace import cmd_replay_explore
        return cmd_replay_explore(original, args.trace_file)
    if original.header.get("driver") == "stateful":  # a Hypothesis machine's trace
        from modelcheck.stateful import cmd_replay_stateful
        return cmd_replay_stateful(original, args.trace_file)
    report = replay_trace(original, use_choices=not args.by_seed)
    h, result = original.header, report.result
    status = OUTCOME_NAMES.get(result.outcome, str(result.outcome))
    print(f"replayed {args.trace_file}: scenario={h.get('scenario')} seed={h.get('seed')} "
          f"via={report.via} outcome={status} events={result.events} "
          f"same_event_log={report.same_log}", file=sys.stderr)
    if report.note:
        print(f"note: {report.note}", file=sys.stderr)
    expected = original.violation
    if expected is not None and report.reproduced:
        print(f"reproduced: {expected.get('outcome', 'safety')} violation of "
              f"{expected['property']}: {result.message}", file=sys.stderr)
    elif expected is not None:
        now = (f"{status} violation of {result.property}: {result.message}" if result.failed
               else "no violation")
        print(f"no longer reproduces: the trace had {expected.get('outcome', 'safety')} "
              f"violation of {expected['property']}; the replay gave {now}", file=sys.stderr)
    elif result.failed:
        print(f"{status} violation of {result.property}: {result.message} "
              "(the trace had none)", file=sys.stderr)
    else:
        print("no violation (as in the trace)", file=sys.stderr)
    if args.trace:
        report.trace.save(args.trace)
        print(f"trace written to {args.trace}", file=sys.stderr)
    return report.exit_code


def write_seed_trace(args: argparse.Namespace, seed: int, path: str | Path) -> Path:
    """Record ``seed`` of the command's scenario into a trace at ``path``."""
    result, trace = record_seed(args.scenario, seed, mutant=args.mutant,
                                acceptors=args.acceptors, wire=args.wire)
    return trace.save(path)


def write_campaign_traces(args: argparse.Namespace, summary: CampaignSummary) -> list[Path]:
    """After a campaign: traces of its failing seeds (``--trace`` / ``--trace-dir``)."""
    failures = summary.failures
    written: list[Path] = []
    if args.trace_max < 1:
        raise InvalidArgument(f"--trace-max={args.trace_max} must be >= 1")
    if args.trace and failures:
        written.append(write_seed_trace(args, failures[0].seed, args.trace))
    if args.trace_dir:
        for failure in failures[: args.trace_max]:
            result, trace = record_seed(args.scenario, failure.seed, mutant=args.mutant,
                                        acceptors=args.acceptors, wire=args.wire)
            written.append(trace.save(Path(args.trace_dir) / trace_file_name(trace)))
    for path in written:
        print(f"trace: {path}  (modelcheck show {path} -o {Path(path).with_suffix('.html')})",
              file=sys.stderr)
    return written
