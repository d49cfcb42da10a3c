"""WAL segment files: names, directories, and reading records across segments.

API (what ``pgwal dump`` and the safekeepers use):

- ``segment_name(tli, segno, segment_size) -> str`` and
  ``parse_segment_name(name, segment_size) -> (tli, segno)``: the
  ``%08X%08X%08X`` file names, for any power-of-two segment size.
  ``segment_name_for_lsn(tli, lsn, segment_size)`` names the file holding an LSN.
- ``list_segments(directory) -> list[str]``: WAL segment file names in the
  directory, in (timeline, segment) order; other files are ignored.
- ``read_segment_header(path) -> SegmentInfo``: the long page header of a
  segment file: version (from the page magic), segment size
  (``xlp_seg_size``), timeline, system id, ``xlp_rem_len``.
- ``read_records(directory, start_segment=None, end_segment=None, *,
  start_lsn=None, end_lsn=None, segment_size=None, version=None,
  timeline=None, strict=False) -> WalReader``: iterate ``Record``s. Like
  pg_waldump: the start is found with "find first valid record" (a first
  segment that begins inside a record is fine); with only ``start_segment``
  just that segment is read; ``end_segment`` reads up to the end of that
  segment; ``end_lsn`` stops before any record that does not end by it;
  with neither, reading goes on to the end of valid WAL or the first
  missing segment. After iteration ``reader.end`` is an
  ``pgwal.decoder.EndOfWal`` (``kind``, ``lsn`` = end of valid WAL,
  ``last_lsn`` = last good record, ``error`` with file/offset/LSN,
  ``reason`` with pg_waldump's wording). ``strict=True`` raises that error
  at the end instead. Problems found before the first byte is decoded
  (missing directory or start file, no segments, unreadable first header)
  raise at once.
- ``find_end_of_wal`` (re-exported from ``pgwal.decoder``) finds the end of
  valid WAL in a byte buffer; ``find_end_of_wal_in_directory`` does it over
  segment files.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple
from collections.abc import Iterator

from pgwal._value import value_type
from pgwal.decoder import EndOfWal, WalDecoder, find_end_of_wal, segment_file_name
from pgwal.errors import (
    WalArgumentError,
    WalBadPageHeader,
    WalCorrupt,
    WalNotFound,
    WalTruncated,
)
from pgwal.lsn import Lsn, check_segment_size, format_lsn
from pgwal.page import SIZE_OF_LONG_PHD, decode_page_header
from pgwal.record import Record
from pgwal.versions import WalVersion, by_magic, by_major

__all__ = [
    "SegmentInfo",
    "WalReader",
    "find_end_of_wal",
    "find_end_of_wal_in_directory",
    "list_segments",
    "parse_segment_name",
    "read_records",
    "read_segment_header",
    "segment_name",
    "segment_name_for_lsn",
]

_NAME_RE = re.compile(r"^[0-9A-F]{24}$")
_PAGE = 8192


def segment_name(tli: int, segno: int, segment_size: int) -> str:
    """The file name of segment ``segno`` on timeline ``tli``.

    >>> segment_name(1, 0x10, 1 << 20)
    '000000010000000000000010'
    >>> segment_name(1, 0x1000, 1 << 20)
    '000000010000000100000000'
    """
    check_segment_size(segment_size)
    if not 0 <= tli <= 0xFFFFFFFF or segno < 0:
        raise WalArgumentError(f"tli={tli!r} or segno={segno!r} out of range")
    return segment_file_name(tli, segno, segment_size)


def segment_name_for_lsn(tli: int, lsn: int, segment_size: int) -> str:
    """The file name of the segment holding ``lsn``."""
    return segment_name(tli, lsn // segment_size, segment_size)


def parse_segment_name(name: str, segment_size: int) -> tuple[int, int]:
    """``(timeline, segno)`` of a segment file name (a path's directory part is ignored).

    >>> parse_segment_name("00000001000000000000000A", 1 << 20)
    (1, 10)
    """
    check_segment_size(segment_size)
    base = os.path.basename(name)
    if not _NAME_RE.match(base):
        raise WalArgumentError(
            f"{name!r} is not a WAL segment file name: expected 24 upper-case hex digits"
        )
    tli, hi, lo = int(base[:8], 16), int(base[8:16], 16), int(base[16:], 16)
    per = 0x100000000 // segment_size
    if lo >= per:
        raise WalArgumentError(
            f"{name!r} is not a valid name for {segment_size}-byte segments: "
            f"the last part must be below {per:08X}"
        )
    return tli, hi * per + lo


def list_segments(directory: str) -> list[str]:
    """Names of the WAL segment files in ``directory``, sorted (timeline, then position)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        raise WalNotFound(f"WAL directory {directory!r} does not exist", path=directory) from None
    except NotADirectoryError:
        raise WalNotFound(f"{directory!r} is not a directory", path=directory) from None
    return sorted(n for n in names if _NAME_RE.match(n))


@value_type
class SegmentInfo(
    namedtuple(
        "SegmentInfo",
        "path version segment_size timeline system_id pageaddr rem_len file_size",
    )
):
    """Facts from the long page header at the start of a segment file."""

    __slots__ = ()

    path: str
    version: WalVersion
    segment_size: int
    timeline: int
    system_id: int
    pageaddr: int
    rem_len: int
    file_size: int


def read_segment_header(path: str) -> SegmentInfo:
    """Read and check the long page header of the segment file at ``path``."""
    try:
        with open(path, "rb") as f:
            head = f.read(SIZE_OF_LONG_PHD)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        raise WalNotFound(f"could not find WAL file {path!r}", path=path) from None
    except IsADirectoryError:
        raise WalNotFound(f"{path!r} is a directory, not a WAL file", path=path) from None
    if len(head) < SIZE_OF_LONG_PHD:
        raise WalTruncated(
            f"WAL file is {len(head)} bytes: expected at least the {SIZE_OF_LONG_PHD}-byte "
            "long page header",
            path=path,
            offset=len(head),
        )
    h = decode_page_header(head, path=path)
    version = by_magic(h.magic, path=path, offset=0, lsn=h.pageaddr)
    if not h.is_long:
        raise WalBadPageHeader(
            f"first page of a WAL segment has no long header (xlp_info 0x{h.info:04X})",
            path=path,
            offset=0,
            lsn=h.pageaddr,
        )
    assert h.seg_size is not None and h.sysid is not None
    try:
        check_segment_size(h.seg_size)
    except WalArgumentError:
        raise WalBadPageHeader(
            f"invalid WAL segment size {h.seg_size} in the long page header: expected a "
            "power of two between 1 MiB and 1 GiB",
            path=path,
            offset=0,
            lsn=h.pageaddr,
        ) from None
    return SegmentInfo(path, version, h.seg_size, h.tli, h.sysid, h.pageaddr, h.rem_len, size)


class WalReader:
    """Iterator of the ``Record``s of a directory of segment files; see ``read_records``."""

    def __init__(  # noqa: PLR0913
        self,
        directory: str,
        *,
        timeline: int,
        start_lsn: int,
        limit_lsn: int | None,
        limit_kind: str,
        segment_size: int,
        version: WalVersion,
        system_id: int | None,
        strict: bool,
    ) -> None:
        self.directory = directory
        self.timeline = timeline
        self.start_lsn = Lsn(start_lsn)
        self.limit_lsn = limit_lsn
        self.segment_size = segment_size
        self.version = version
        self.system_id = system_id
        self.strict = strict
        self.end: EndOfWal | None = None
        self.records_read = 0
        self._limit_kind = limit_kind
        self._iter = self._generate()

    def __iter__(self) -> Iterator[Record]:
        # the generator itself, so that a for loop skips __next__ (one call per record)
        return self._iter

    def __next__(self) -> Record:
        return next(self._iter)

    def segment_path(self, segno: int) -> str:
        """Path of segment ``segno`` of this reader's timeline."""
        return os.path.join(
            self.directory, segment_file_name(self.timeline, segno, self.segment_size)
        )

    def locate(self, lsn: int) -> tuple[str | None, int | None]:
        """(file path, offset in file) of ``lsn``."""
        seg = self.segment_size
        return self.segment_path(lsn // seg), lsn & (seg - 1)

    def _generate(self) -> Iterator[Record]:
        seg = self.segment_size
        dec = WalDecoder(
            self.start_lsn,
            version=self.version,
            segment_size=seg,
            find_first=True,
            timeline=self.timeline,
            system_id=self.system_id,
            locate=self.locate,
        )
        limit = self.limit_lsn
        segno = dec.start_lsn // seg
        pos = dec.start_lsn  # next LSN to feed
        while dec.end is None:
            if limit is not None and pos >= limit:
                dec.end = EndOfWal(
                    Lsn(dec.next_lsn),
                    None if dec.last_lsn is None else Lsn(dec.last_lsn),
                    self._limit_kind,
                )
                break
            path = self.segment_path(segno)
            seg_start = segno * seg
            try:
                with open(path, "rb") as f:
                    f.seek(pos - seg_start)
                    want = seg - (pos - seg_start)
                    if limit is not None:
                        want = min(want, limit - pos)
                    data = f.read(want)
                    size = os.fstat(f.fileno()).st_size
            except (FileNotFoundError, IsADirectoryError):
                err = WalNotFound(
                    f"could not find file {os.path.basename(path)!r} in {self.directory!r}",
                    path=path,
                    offset=0,
                    lsn=seg_start,
                )
                dec.end = EndOfWal(
                    Lsn(dec.next_lsn),
                    None if dec.last_lsn is None else Lsn(dec.last_lsn),
                    "missing",
                    err,
                )
                break
            if size > seg:
                dec.end = EndOfWal(
                    Lsn(dec.next_lsn),
                    None if dec.last_lsn is None else Lsn(dec.last_lsn),
                    "invalid",
                    WalCorrupt(
                        f"WAL file is {size} bytes: expected the segment size {seg}",
                        path=path,
                        offset=seg,
                        lsn=seg_start + seg,
                    ),
                )
                break
            short = len(data) < want
            if short:
                # like pg_waldump, only whole pages of a short file are read
                whole = ((pos - seg_start + len(data)) & ~(_PAGE - 1)) - (pos - seg_start)
                data = data[: max(0, whole)]
            for rec in dec.feed(data):
                self.records_read += 1
                yield rec
            pos += len(data)
            if short and dec.end is None:
                off = pos - seg_start
                got = size - off
                err = WalTruncated(
                    f"could not read from file {os.path.basename(path)}, offset {size}: "
                    f"read 0 of {_PAGE - got}",
                    path=path,
                    offset=size,
                    lsn=seg_start + size,
                )
                dec.end = EndOfWal(
                    Lsn(dec.next_lsn),
                    None if dec.last_lsn is None else Lsn(dec.last_lsn),
                    "truncated",
                    err,
                )
                break
            if pos == seg_start + seg:
                segno += 1
        self.end = dec.end
        if dec.end.kind in ("invalid", "truncated") and dec.last_lsn is None:
            self.end = EndOfWal(dec.end.lsn, None, "no_valid_record", dec.end.error)
        if self.strict and self.end.error is not None:
            raise self.end.error

    def no_valid_record_message(self) -> str:
        """pg_waldump's text when nothing valid follows the start position."""
        return f"could not find a valid record after {format_lsn(self.start_lsn)}"


def read_records(  # noqa: PLR0913
    directory: str,
    start_segment: str | None = None,
    end_segment: str | None = None,
    *,
    start_lsn: int | None = None,
    end_lsn: int | None = None,
    segment_size: int | None = None,
    version: int | WalVersion | None = None,
    timeline: int | None = None,
    system_id: int | None = None,
    strict: bool = False,
) -> WalReader:
    """Records of the segment files in ``directory``; see the module docstring."""
    names = list_segments(directory)
    if not names:
        raise WalNotFound(f"no WAL segment files in {directory!r}", path=directory)
    first = start_segment
    if first is None:
        if start_lsn is None:
            raise WalArgumentError("give start_segment or start_lsn")
        first = _first_for_lsn(directory, names, start_lsn, timeline)
    first = os.path.basename(first)
    info = read_segment_header(os.path.join(directory, first))
    seg = info.segment_size
    if segment_size is not None and check_segment_size(segment_size) != seg:
        raise WalBadPageHeader(
            f"segment size {seg} in the long page header differs from segment_size={segment_size}",
            path=info.path,
            offset=0,
            lsn=info.pageaddr,
        )
    tli, segno = parse_segment_name(first, seg)
    if timeline is not None:
        tli = timeline
    ver = (
        info.version
        if version is None
        else (by_major(version) if isinstance(version, int) else version)
    )
    seg_start = segno * seg
    start = seg_start if start_lsn is None else start_lsn
    if start_segment is not None and start_lsn is not None and start_lsn // seg != segno:
        raise WalArgumentError(f"start_lsn={format_lsn(start_lsn)} is not in segment {first}")
    limit: int | None = None
    kind = "end_lsn"
    if end_segment is not None:
        _etli, esegno = parse_segment_name(end_segment, seg)
        if esegno < segno:
            raise WalArgumentError(f"end segment {end_segment} is before start segment {first}")
        limit = (esegno + 1) * seg
        kind = "end_segment"
    elif start_segment is not None and end_lsn is None:
        limit = (segno + 1) * seg
        kind = "end_segment"
    if end_lsn is not None and (limit is None or end_lsn <= limit):
        if end_lsn < start:
            raise WalArgumentError(
                f"end_lsn={format_lsn(end_lsn)} is before the start {format_lsn(start)}"
            )
        limit = end_lsn
        kind = "end_lsn"
    return WalReader(
        directory,
        timeline=tli,
        start_lsn=start,
        limit_lsn=limit,
        limit_kind=kind,
        segment_size=seg,
        version=ver,
        system_id=info.system_id if system_id is None else system_id,
        strict=strict,
    )


def _first_for_lsn(directory: str, names: list[str], lsn: int, timeline: int | None) -> str:
    """The name of the file holding ``lsn`` (segment size from the first file of the timeline)."""
    for name in names:
        if timeline is None or int(name[:8], 16) == timeline:
            seg = read_segment_header(os.path.join(directory, name)).segment_size
            return segment_file_name(int(name[:8], 16), lsn // seg, seg)
    raise WalNotFound(
        f"no WAL segment files of timeline {timeline} in {directory!r}", path=directory
    )


def find_end_of_wal_in_directory(
    directory: str, start_segment: str, *, start_lsn: int | None = None
) -> EndOfWal:
    """Read segments from ``start_segment`` on and report where valid WAL ends."""
    info = read_segment_header(os.path.join(directory, os.path.basename(start_segment)))
    tli, segno = parse_segment_name(start_segment, info.segment_size)
    start = segno * info.segment_size if start_lsn is None else start_lsn
    reader = read_records(directory, start_lsn=start, timeline=tli)
    for _rec in reader:
        pass
    assert reader.end is not None
    return reader.end
