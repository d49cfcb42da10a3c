"""The ``pgwal`` command: ``pgwal dump`` lists WAL records like ``pg_waldump``.

``pgwal dump [-p DIR] STARTSEG [ENDSEG] [-s LSN] [-e LSN] [-b] [--stats[=record]]``
prints one line per record in the wording of the PostgreSQL version that wrote
the WAL (detected from the page magic), or the statistics tables. When valid
WAL ends, the reason goes to stderr as pg_waldump reports it (``error in WAL
record at X/X: ...``) with exit status 1, as pg_waldump does. Bad arguments
and unreadable input give one ``pgwal: error: ...`` line and exit status 2;
never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
from collections.abc import Sequence

from pgwal.dump import RecordFormatter, WalStats, lsn_text

TYPE_CHECKING = False  # typing is not imported at run time: start-up is part of every dump
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["main"]

EXIT_OK = 0
EXIT_WAL_ERROR = 1  # pg_waldump's status when the WAL ends in an error
EXIT_USAGE = 2  # bad arguments or input that cannot be read at all

_BATCH = 512  # records formatted per write to stdout


class _UsageError(Exception):
    """A command-line problem found after argparse (reported with exit status 2)."""


def _version_text() -> str:
    try:
        from importlib.metadata import version

        return version("modelcheck")
    except Exception:  # noqa: BLE001 - metadata is optional (running from a source tree)
        return "0+unknown"


def _terminal_width() -> int:
    """Columns of the terminal, as ``shutil.get_terminal_size`` finds them (80 if unknown)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter without its ``import shutil`` (3 ms, paid even without --help)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _terminal_width() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


class _VersionAction(argparse.Action):
    """``--version``: looked up only when asked (``importlib.metadata`` costs ~20 ms to import)."""

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001, ANN204
        sys.stdout.write(f"pgwal {_version_text()}\n")
        parser.exit()


def _parse_lsn(text: str) -> int:
    hi, sep, lo = text.partition("/")
    try:
        if not sep:
            raise ValueError
        value = (int(hi, 16) << 32) | int(lo, 16)
        if int(hi, 16) > 0xFFFFFFFF or int(lo, 16) > 0xFFFFFFFF:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'invalid WAL location: "{text}" (expected X/X, e.g. 0/16B3748)'
        ) from None
    return value


def _parse_stats(text: str) -> str:
    if text not in ("record", "rmgr"):
        raise argparse.ArgumentTypeError(
            f"unrecognized value for option --stats: {text} (expected record or rmgr)"
        )
    return text


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgwal",
        description="Read, check and list PostgreSQL write-ahead log (WAL) files.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--version", action=_VersionAction, nargs=0, help="show the version and exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    dump = sub.add_parser(
        "dump",
        help="list WAL records like pg_waldump",
        formatter_class=_HelpFormatter,
        description=(
            "Decode and list WAL records, pg_waldump-compatible (PostgreSQL 14 to 17, "
            "detected from the files)."
        ),
    )
    dump.add_argument("startseg", nargs="?", metavar="STARTSEG", help="first segment file")
    dump.add_argument("endseg", nargs="?", metavar="ENDSEG", help="last segment file")
    dump.add_argument("-p", "--path", help="directory with the segment files")
    dump.add_argument("-s", "--start", type=_parse_lsn, metavar="LSN", help="start at LSN")
    dump.add_argument("-e", "--end", type=_parse_lsn, metavar="LSN", help="stop at LSN")
    dump.add_argument("-t", "--timeline", type=int, metavar="TLI", help="timeline to read")
    dump.add_argument("-n", "--limit", type=int, metavar="N", help="number of records to show")
    dump.add_argument(
        "-b", "--bkp-details", action="store_true", help="show block references in detail"
    )
    dump.add_argument(
        "-z",
        "--stats",
        type=_parse_stats,
        metavar="record|rmgr",
        help="show statistics instead of records (--stats: per rmgr; --stats=record)",
    )
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """Give a bare ``--stats``/``-z`` pg_waldump's default value (per rmgr)."""
    return ["--stats=rmgr" if a in ("--stats", "-z") else a for a in argv]


def _resolve(args: argparse.Namespace) -> tuple[str, str | None, str | None]:
    """(directory, start segment name, end segment name) as pg_waldump finds them."""
    directory = args.path
    start = args.startseg
    end = args.endseg
    if start is not None and os.sep in start:
        head, start = os.path.split(start)
        if directory is None:
            directory = head
    if end is not None:
        end = os.path.basename(end)
    if directory is None:
        directory = "."
        if start is not None and not os.path.exists(start) and os.path.isdir("pg_wal"):
            directory = "pg_wal"
    if not os.path.isdir(directory):
        raise _UsageError(f'could not open directory "{directory}": no such directory')
    if start is not None and not os.path.isfile(os.path.join(directory, start)):
        raise _UsageError(f'could not open file "{start}" in "{directory}"')
    if end is not None and not os.path.isfile(os.path.join(directory, end)):
        raise _UsageError(f'could not open file "{end}" in "{directory}"')
    if end is not None and not _is_segment_name(end):
        raise _UsageError(
            f'ENDSEG "{end}" is not a WAL segment file name (24 upper-case hex digits)'
        )
    if start is None and args.start is None:
        raise _UsageError("no start WAL location given (STARTSEG or --start)")
    return directory, start, end


def _check_range(args: argparse.Namespace, directory: str, start: str, end: str | None) -> None:
    """pg_waldump's checks of ``-s``/``-e`` against STARTSEG/ENDSEG, with its messages."""
    from pgwal.segment import parse_segment_name, read_segment_header

    seg = read_segment_header(os.path.join(directory, start)).segment_size
    _tli, segno = parse_segment_name(start, seg)
    if args.start is not None and args.start // seg != segno:
        raise _UsageError(f'start WAL location {lsn_text(args.start)} is not inside file "{start}"')
    if end is not None:
        _tli, endno = parse_segment_name(end, seg)
        if endno < segno:
            raise _UsageError(f"ENDSEG {args.endseg} is before STARTSEG {args.startseg}")
        segno = endno
    if args.end is not None and args.end // seg != segno and args.end != (segno + 1) * seg:
        last = args.endseg if args.endseg is not None else args.startseg
        raise _UsageError(f'end WAL location {lsn_text(args.end)} is not inside file "{last}"')


def _is_segment_name(name: str) -> bool:
    """``%08X%08X%08X``: the timeline and position of a segment, as ENDSEG must be."""
    return len(name) == 24 and all(c in "0123456789ABCDEF" for c in name)


def _dump(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from pgwal.segment import read_records

    directory, start, end = _resolve(args)
    if start is not None:
        _check_range(args, directory, start, end)
    timeline = args.timeline
    if end is not None and timeline is None:
        # pg_waldump reads every segment on the timeline named by ENDSEG
        timeline = int(end[:8], 16)
    reader = read_records(
        directory,
        start,
        end,
        start_lsn=args.start,
        end_lsn=args.end,
        timeline=timeline,
    )
    major = reader.version.major
    label = "fatal" if major <= 14 else "error"
    stats = WalStats(major) if args.stats else None
    fmt = RecordFormatter(major, bkp_details=args.bkp_details)
    limit = args.limit if args.limit and args.limit > 0 else None
    write = out.write
    records = iter(reader)
    rec = next(records, None)
    shown = 0
    if rec is not None:
        requested = args.start
        seg = reader.segment_size
        if requested is not None and rec.lsn != requested and requested % seg != 0:
            skipped = rec.lsn - requested
            write(
                f"first record is after {lsn_text(requested)}, at {lsn_text(rec.lsn)}, "
                f"skipping over {skipped} byte{'' if skipped == 1 else 's'}\n"
            )
        if limit is not None:
            records = itertools.islice(itertools.chain((rec,), records), limit)
        else:
            records = itertools.chain((rec,), records)
        if stats is not None:
            for rec in records:
                stats.add(rec)
                shown += 1
        else:
            # the hot loop: format and write in batches, the iteration itself in C
            texts = map(fmt.format, records)
            while True:
                chunk = list(itertools.islice(texts, _BATCH))
                if not chunk:
                    break
                shown += len(chunk)
                write("".join(chunk))
    if stats is not None:
        write(stats.render(per_record=args.stats == "record"))
    out.flush()
    end_report = reader.end
    if limit is not None and shown >= limit:
        return EXIT_OK
    if end_report is None or end_report.error is None:
        return EXIT_OK
    if end_report.kind == "no_valid_record":
        print(f"pgwal: {label}: {reader.no_valid_record_message()}", file=err)
    elif end_report.last_lsn is not None:
        print(
            f"pgwal: {label}: error in WAL record at {lsn_text(end_report.last_lsn)}: "
            f"{end_report.error.detail}",
            file=err,
        )
    else:
        print(f"pgwal: {label}: {end_report.error}", file=err)
    return EXIT_WAL_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pgwal`` console script; returns the exit status."""
    from pgwal.errors import WalError

    parser = _build_parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(_normalise(raw))
    except SystemExit as exc:  # argparse already printed usage/--help/--version
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return _dump(args, sys.stdout, sys.stderr)
    except _UsageError as exc:
        print(f"pgwal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WalError as exc:
        print(f"pgwal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader of our output went away (e.g. `| head`): stop quietly
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # keep the interpreter's final flush quiet
        return EXIT_OK
    except OSError as exc:
        print(f"pgwal: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
