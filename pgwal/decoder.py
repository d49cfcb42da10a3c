"""Streaming WAL decoder: bytes in (any chunking), complete records out.

``WalDecoder(start_lsn)`` takes the WAL byte stream that begins at
``start_lsn`` through ``feed(data)`` and returns the records completed so
far. It walks page headers at every 8 KiB boundary (long header at segment
starts), reassembles records that continue across pages and segments
(``XLP_FIRST_IS_CONTRECORD`` / ``xlp_rem_len``), and verifies what
PostgreSQL's xlogreader verifies: page magic, info bits, page address,
timeline order, long-header fields, record length, resource manager id,
prev-link, CRC-32C and the block/data headers.

The first invalid thing ends decoding, as in PostgreSQL's recovery and in
pg_waldump: ``decoder.end`` then holds an ``EndOfWal`` saying where valid
WAL ends (``lsn``, the end of the last good record), the last good record
(``last_lsn``) and the error (a ``WalError`` carrying file, offset and LSN).
A zeroed tail is reported like pg_waldump does ("invalid record length at
0/10000F0: wanted 24, got 0"); ``EndOfWal.zeroed`` tells it apart. Call
``finish()`` when no more bytes will come: an unfinished record then ends
the WAL as ``WalTruncated``.

Page-header checks live in ``pgwal._pagecheck`` and ``EndOfWal`` in
``pgwal._endofwal``; both are reached through this module.

Restarting is cheap: a decoder holds only the undecoded tail of its input,
and ``decode_buffer`` / ``find_end_of_wal`` run one over a ``bytes`` buffer.

>>> dec = WalDecoder(0x700000, version=15)
>>> dec.feed(b"")
[]
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from pgwal._endofwal import EndOfWal
from pgwal._pagecheck import PageHeaderChecks, segment_file_name
from pgwal._record_decode import decode_body, decode_record
from pgwal._record_fast import _decode_block0
from pgwal._record_layout import XLOG_RECORD, XLOG_RECORD_MAX_SIZE, Record
from pgwal.crc import crc32c
from pgwal.errors import (
    WalArgumentError,
    WalBadCrc,
    WalBadLength,
    WalBadPrevLink,
    WalBadRmgr,
    WalCorrupt,
    WalError,
    WalTruncated,
)
from pgwal.lsn import Lsn, check_segment_size, format_lsn
from pgwal.page import XLP_LONG_HEADER
from pgwal.versions import WalVersion, by_major

__all__ = ["EndOfWal", "WalDecoder", "decode_buffer", "find_end_of_wal", "segment_file_name"]

_PAGE = 8192
_PAGE_MASK = _PAGE - 1
_U32 = struct.Struct("<I")
RM_XLOG_ID = 0
XLOG_SWITCH = 0x40

Locator = Callable[[int], tuple[str | None, int | None]]
"""Maps an LSN to (file path, byte offset in that file) for error messages."""


_NO_RMIDS = bytes(256)
_RMID_TABLES: dict[tuple[int, bool], bytes] = {}


def _valid_rmids(version: WalVersion | None) -> bytes:
    """256 flags: is ``xl_rmid`` accepted (all zero while the version is unknown).

    Built once per major version: ``feed`` consults it on every call, and a
    caller feeding one byte at a time must not pay for 256 checks each time.
    """
    if version is None:
        return _NO_RMIDS
    key = (version.major, bool(version.custom_rmgrs))  # all rmgr_is_valid depends on
    table = _RMID_TABLES.get(key)
    if table is None:
        table = _RMID_TABLES[key] = bytes(version.rmgr_is_valid(rmid) for rmid in range(256))
    return table


class WalDecoder(PageHeaderChecks):
    """Incremental decoder of the WAL stream that starts at ``start_lsn``.

    - ``version``: PostgreSQL major (14..17) or a ``WalVersion``; None detects
      it from the first page magic (required when ``start_lsn`` is mid-page).
    - ``segment_size``: None learns it from the first long page header.
    - ``prev_lsn``: the expected ``xl_prev`` of the first record; None checks
      only that it points backwards (xlogreader's random-access rule).
    - ``find_first``: ``start_lsn`` need not be a record start: skip the
      continuation of a record begun earlier (``xlp_rem_len``) and any record
      starting before ``start_lsn``, as pg_waldump's XLogFindNextRecord.
      ``start_lsn`` is then rounded down to its page, so feed from there.
    - ``stop_lsn``: stop (cleanly) before any record starting at or after it.
    - ``locate``: optional ``lsn -> (path, offset)`` for error messages.
    """

    def __init__(  # noqa: PLR0913 - all keyword options
        self,
        start_lsn: int,
        *,
        version: int | WalVersion | None = None,
        segment_size: int | None = None,
        prev_lsn: int | None = None,
        find_first: bool = False,
        stop_lsn: int | None = None,
        timeline: int | None = None,
        system_id: int | None = None,
        locate: Locator | None = None,
    ) -> None:
        if not isinstance(start_lsn, int) or start_lsn < 0:
            raise WalArgumentError(f"start_lsn={start_lsn!r} must be a non-negative int")
        if segment_size is not None:
            check_segment_size(segment_size)
        if isinstance(version, int) and not isinstance(version, bool):
            version = by_major(version)
        elif version is not None and not isinstance(version, WalVersion):
            raise WalArgumentError(f"version={version!r}: expected 14..17 or a WalVersion")
        self.min_lsn = start_lsn
        if find_first:
            start_lsn &= ~_PAGE_MASK
        elif start_lsn & 7:
            raise WalArgumentError(
                f"start_lsn={format_lsn(start_lsn)} is not 8-byte aligned, so it cannot be "
                "a record start (use find_first=True)"
            )
        self.start_lsn = Lsn(start_lsn)
        self.version: WalVersion | None = version
        self.segment_size = segment_size
        self.system_id = system_id
        self.timeline = timeline
        self.stop_lsn = stop_lsn
        self.end: EndOfWal | None = None
        self.last_lsn: int | None = None
        self.next_lsn: int = start_lsn  # EndRecPtr of the last record (or the start)
        self.records_decoded = 0
        self._locate = locate
        self._prev = prev_lsn
        self._skip = find_first
        self._find = find_first
        self._latest_tli = 0
        self._buf = bytearray()
        self._base = start_lsn  # LSN of _buf[0]
        self._pos = start_lsn  # cursor
        self._rec: int | None = None  # start of a record being assembled across pages
        self._rec_len = 0
        self._parts: list[tuple[int, int]] = []
        self._got = 0
        self._hdr_ok = False
        self._need = 0  # the loop cannot progress before input reaches this LSN

    # -- public -----------------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Bytes held that are not yet part of a returned record."""
        return len(self._buf)

    @property
    def input_lsn(self) -> Lsn:
        """The LSN of the next byte ``feed`` expects."""
        return Lsn(self._base + len(self._buf))

    def feed(self, data: bytes | bytearray | memoryview) -> list[Record]:
        """Append ``data`` (the bytes at ``input_lsn``) and return the records it completes."""
        if self.end is not None:
            return []
        self._buf += data
        if self._base + len(self._buf) < self._need:  # small chunks: nothing can complete yet
            return []
        return self._run()

    def finish(self) -> EndOfWal:
        """Declare the end of input and return why decoding stopped."""
        if self.end is None:
            if self._rec is not None or self._skip or self._base + len(self._buf) > self._pos:
                at = self._rec if self._rec is not None else self._pos
                have = self._base + len(self._buf)
                err = WalTruncated(
                    f"input ends at {format_lsn(have)} inside the record or page header "
                    f"at {format_lsn(at)}",
                    lsn=at,
                )
                self._set_end("truncated", self._add_location(err, have))
            else:
                self._set_end("end_of_input", None)
        assert self.end is not None
        return self.end

    # -- internals --------------------------------------------------------------------------

    def _set_end(self, kind: str, error: WalError | None) -> None:
        if error is not None and self._find and self.last_lsn is None and kind == "invalid":
            kind = "no_valid_record"
        self.end = EndOfWal(
            Lsn(self.next_lsn), None if self.last_lsn is None else Lsn(self.last_lsn), kind, error
        )
        self._buf = bytearray()
        self._parts = []

    def _add_location(self, err: WalError, lsn: int | None = None) -> WalError:
        lsn = err.lsn if lsn is None else lsn
        if lsn is None:
            return err
        path = offset = None
        if self._locate is not None:
            path, offset = self._locate(lsn)
        else:
            offset = lsn - self.start_lsn
        return err.with_location(path=path, offset=offset, lsn=lsn)

    def _run(self) -> list[Record]:
        out: list[Record] = []
        try:
            self._loop(out)
        except WalError as err:
            self._set_end("truncated" if isinstance(err, WalTruncated) else "invalid",
                          self._add_location(err))  # fmt: skip
        except (IndexError, struct.error, ValueError) as exc:  # safety net: never leak these
            at = self._rec if self._rec is not None else self._pos
            err = WalCorrupt(f"undecodable WAL at {format_lsn(at)}: {exc}", lsn=at)
            self._set_end("invalid", self._add_location(err))
        else:
            self._compact()
        return out

    def _compact(self) -> None:
        keep = self._rec if self._rec is not None else self._pos
        drop = min(keep - self._base, len(self._buf))
        if drop > 0:
            del self._buf[:drop]
            self._base += drop

    def _loop(self, out: list[Record]) -> None:  # noqa: C901, PLR0912 - the hot loop, kept flat
        buf = self._buf
        base = self._base
        end = base + len(buf)
        pos = self._pos
        unpack_rec = XLOG_RECORD.unpack_from
        u32 = _U32.unpack_from
        append = out.append
        decode_block0 = _decode_block0
        stop_lsn = self.stop_lsn
        min_lsn = self.min_lsn
        version = self.version
        valid_rmid = _valid_rmids(version)
        mv = memoryview(buf)
        need = 0
        try:
            while True:
                if not pos & _PAGE_MASK:
                    if end - pos < 40 and (end - pos < 24 or buf[pos - base + 2] & XLP_LONG_HEADER):
                        need = pos + (24 if end - pos < 24 else 40)
                        break
                    self._pos = pos
                    pos = self._page_header(buf, pos - base, pos)
                    if pos is None:  # skipped a page of continuation data
                        pos = self._pos
                    if version is None:
                        version = self.version
                        valid_rmid = _valid_rmids(version)
                    continue
                if self._rec is not None:
                    rec = self._rec
                    page_end = (pos | _PAGE_MASK) + 1
                    n = min(self._rec_len - self._got, page_end - pos)
                    if end - pos < n:
                        need = pos + n
                        break
                    self._parts.append((pos, pos + n))
                    self._got += n
                    pos += n
                    if not self._hdr_ok and self._got >= 24:
                        head = b"".join([mv[a - base : b - base] for a, b in self._parts])[:24]
                        self._check_header(rec, unpack_rec(head, 0))
                        self._hdr_ok = True
                    if self._got == self._rec_len:
                        payload = b"".join([mv[a - base : b - base] for a, b in self._parts])
                        self._parts = []
                        self._rec = None
                        self._pos = pos
                        pos = self._complete(rec, payload, pos, out)
                    continue
                # a record starts at pos
                if self._skip:
                    self._skip = False
                if stop_lsn is not None and pos >= stop_lsn:
                    self._pos = pos
                    self._set_end("end_lsn", None)
                    return
                o = pos - base
                if end - pos >= 24:
                    fields = unpack_rec(buf, o)
                    tot_len = fields[0]
                elif end - pos >= 4:
                    (tot_len,) = u32(buf, o)
                    fields = None
                else:
                    need = pos + 4
                    break
                page_end = (pos | _PAGE_MASK) + 1
                if pos + tot_len <= page_end and tot_len >= 24:
                    if fields is None or end - pos < tot_len:
                        need = pos + tot_len
                        break
                    rmid = fields[4]
                    prev = fields[2]
                    expected = self._prev
                    if (
                        not valid_rmid[rmid]
                        or (prev != expected if expected is not None else prev >= pos)
                        or version is None
                    ):
                        self._check_header(pos, fields)  # raises the precise error
                    if crc32c(mv[o : o + 20], crc32c(mv[o + 24 : o + tot_len])) != fields[5]:
                        raise WalBadCrc(
                            "incorrect resource manager data checksum in record at "
                            + format_lsn(pos),
                            lsn=pos,
                        )
                    nxt = (pos + tot_len + 7) & ~7
                    if rmid == RM_XLOG_ID and fields[3] & 0xF0 == XLOG_SWITCH:
                        nxt = self._switch_end(pos, nxt)
                    payload = mv[o : o + tot_len].tobytes()
                    if tot_len >= 44 and payload[24] == 0:  # block 0 first: the commonest shapes
                        rec = decode_block0(payload, pos, nxt, fields)
                        if rec is None:
                            rec = decode_body(payload, pos, nxt, version, fields)
                    else:
                        rec = decode_body(payload, pos, nxt, version, fields)
                    self._prev = pos
                    self.next_lsn = nxt
                    if pos >= min_lsn:
                        self.last_lsn = pos
                        self.records_decoded += 1
                        append(rec)
                    pos = nxt
                    continue
                self._pos = pos
                self._check_length(pos, tot_len)
                if end < page_end:
                    need = page_end
                    break
                self._rec = pos
                self._rec_len = tot_len
                self._parts = [(pos, page_end)]
                self._got = page_end - pos
                self._hdr_ok = False
                if self._got >= 24:
                    self._check_header(pos, unpack_rec(buf, pos - base))
                    self._hdr_ok = True
                pos = page_end
        finally:
            mv.release()
            self._need = need
            if self.end is None:
                self._pos = pos

    def _check_length(self, lsn: int, tot_len: int) -> None:
        if tot_len < 24:
            v = self.version or by_major(15)
            raise WalBadLength(v.invalid_length_message(format_lsn(lsn), 24, tot_len), lsn=lsn)
        if tot_len > XLOG_RECORD_MAX_SIZE:
            raise WalBadLength(f"record length {tot_len} at {format_lsn(lsn)} too long", lsn=lsn)

    def _check_header(self, lsn: int, fields: tuple[int, ...]) -> None:
        """ValidXLogRecordHeader: length, resource manager id, prev-link."""
        tot_len, _xid, prev, _info, rmid, _crc = fields
        self._check_length(lsn, tot_len)
        version = self._need_version(lsn)
        if not version.rmgr_is_valid(rmid):
            raise WalBadRmgr(f"invalid resource manager ID {rmid} at {format_lsn(lsn)}", lsn=lsn)
        expected = self._prev
        if (expected is None and prev >= lsn) or (expected is not None and prev != expected):
            raise WalBadPrevLink(
                f"record with incorrect prev-link {format_lsn(prev)} at {format_lsn(lsn)}"
                + ("" if expected is None else f" (expected {format_lsn(expected)})"),
                lsn=lsn,
            )

    def _need_version(self, lsn: int) -> WalVersion:
        if self.version is None:
            raise WalArgumentError(
                f"cannot decode the record at {format_lsn(lsn)} before any page header: "
                "pass version= when starting mid-page"
            )
        return self.version

    def _complete(self, lsn: int, payload: bytes, phys_end: int, out: list[Record]) -> int:
        """Verify the CRC of an assembled record, decode it, return the next record position."""
        (crc,) = _U32.unpack_from(payload, 20)
        if crc32c(payload[:20], crc32c(memoryview(payload)[24:])) != crc:
            raise WalBadCrc(
                f"incorrect resource manager data checksum in record at {format_lsn(lsn)}",
                lsn=lsn,
            )
        nxt = (phys_end + 7) & ~7
        if payload[17] == RM_XLOG_ID and payload[16] & 0xF0 == XLOG_SWITCH:
            nxt = self._switch_end(lsn, nxt)
        assert self.version is not None
        rec = decode_record(payload, lsn, nxt, self.version)
        self._prev = lsn
        self.next_lsn = nxt
        if lsn >= self.min_lsn:
            self.last_lsn = lsn
            self.records_decoded += 1
            out.append(rec)
        return nxt

    def _switch_end(self, lsn: int, nxt: int) -> int:
        """The end of an XLOG_SWITCH record: the rest of its segment is padding."""
        seg = self.segment_size
        if seg is None:
            raise WalArgumentError(
                f"XLOG_SWITCH at {format_lsn(lsn)} but the segment size is unknown: "
                "pass segment_size="
            )
        return (nxt + seg - 1) & ~(seg - 1)


def decode_buffer(
    data: bytes | bytearray | memoryview, start_lsn: int, **options: object
) -> tuple[list[Record], EndOfWal]:
    """Decode all records of ``data`` (the WAL at ``start_lsn``); return them and the end.

    ``options`` are ``WalDecoder``'s keyword options.
    """
    dec = WalDecoder(start_lsn, **options)  # type: ignore[arg-type]
    records = dec.feed(data)
    return records, dec.finish()


def find_end_of_wal(
    data: bytes | bytearray | memoryview,
    start_lsn: int,
    segment_size: int,
    *,
    version: int | WalVersion | None = None,
    prev_lsn: int | None = None,
) -> Lsn:
    """The end of the last complete, valid record in ``data`` (WAL starting at ``start_lsn``).

    ``start_lsn`` must be a record start (or a page boundary where a record
    starts after the header). What a safekeeper calls on restart: everything
    from the returned LSN on is a partial record, garbage or zeroes and must
    be truncated. Returns ``start_lsn`` when no complete record is present.
    """
    dec = WalDecoder(start_lsn, version=version, segment_size=segment_size, prev_lsn=prev_lsn)
    dec.feed(data)
    return dec.finish().lsn
