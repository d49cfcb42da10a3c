"""Build valid PostgreSQL WAL from records (for a simulated compute and round-trip tests).

``WalEncoder(start_lsn)`` lays records out exactly as PostgreSQL's
XLogInsert does: a page header at every 8 KiB page (the long header at each
segment start, ``XLP_FIRST_IS_CONTRECORD`` and ``xlp_rem_len`` on pages
that continue a record), records at MAXALIGNed positions, each with its
CRC-32C and ``xl_prev`` pointing at the previous record, and XLOG_SWITCH
records padded with zeroes to the end of their segment. The output is the
contiguous byte stream from ``start_lsn``; ``segment_files()`` cuts it into
full-size segment files that pg_waldump reads.

>>> enc = WalEncoder(0x1000000, segment_size=1 << 20)
>>> start, end = enc.logical_message("sim", b"hello")
>>> str(start), str(end)
('0/1000028', '0/1000068')
>>> from pgwal.decoder import decode_buffer
>>> recs, _end = decode_buffer(enc.bytes_between(0x1000000, end), 0x1000000)
>>> recs[0].main_data[-5:]
b'hello'
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from pgwal.errors import WalArgumentError
from pgwal.lsn import Lsn, check_segment_size, format_lsn
from pgwal.page import (
    LONG_PAGE_HEADER,
    SHORT_PAGE_HEADER,
    XLP_BKP_REMOVABLE,
    XLP_FIRST_IS_CONTRECORD,
    XLP_LONG_HEADER,
)
from pgwal.record import BlockRef, RelFileLocator, canonical_blocks, encode_record, make_block_ref
from pgwal.segment import segment_name
from pgwal.versions import WalVersion, by_major

__all__ = [
    "PG_EPOCH_OFFSET_US",
    "RM_HEAP_ID",
    "RM_LOGICALMSG_ID",
    "RM_XACT_ID",
    "RM_XLOG_ID",
    "WalEncoder",
]

_PAGE = 8192
RM_XLOG_ID = 0
RM_XACT_ID = 1
RM_HEAP_ID = 10
RM_LOGICALMSG_ID = 21
XLOG_SWITCH = 0x40
XLOG_XACT_COMMIT = 0x00
XLOG_HEAP_INSERT = 0x00
XLOG_HEAP_INIT_PAGE = 0x80
XLOG_LOGICAL_MESSAGE = 0x00
XLR_INFO_MASK = 0x0F
PG_EPOCH_OFFSET_US = 946_684_800 * 1_000_000
"""Microseconds from the Unix epoch to PostgreSQL's epoch (2000-01-01 UTC)."""

_HEAP_INSERT = struct.Struct("<HB")  # xl_heap_insert: offnum, flags (SizeOfHeapInsert = 3)
_HEAP_HEADER = struct.Struct("<HHB")  # xl_heap_header: t_infomask2, t_infomask, t_hoff
_LOGICAL_MSG = struct.Struct("<IB3xQQ")  # xl_logical_message up to message[]
_XACT_COMMIT = struct.Struct("<q")  # xl_xact_commit: xact_time
assert _LOGICAL_MSG.size == 24 and _HEAP_INSERT.size == 3


class WalEncoder:
    """Appends records to a WAL byte stream that starts at ``start_lsn``.

    - ``start_lsn``: where the first record goes (8-byte aligned). At a page
      boundary the page header is written first; mid-page, the output starts
      with the record (to continue existing WAL).
    - ``prev_lsn``: ``xl_prev`` of the first record (0 for a brand-new WAL).
    - ``version`` (14..17), ``segment_size``, ``system_id``, ``timeline``: the
      page-header values.

    The whole output is kept (``bytes_between`` reads any part of it) until
    ``discard_before(lsn)`` frees it.
    """

    def __init__(  # noqa: PLR0913
        self,
        start_lsn: int,
        *,
        version: int | WalVersion = 15,
        segment_size: int = 16 * 1024 * 1024,
        system_id: int = 7_000_000_000_000_000_001,
        timeline: int = 1,
        prev_lsn: int = 0,
    ) -> None:
        check_segment_size(segment_size)
        if not isinstance(start_lsn, int) or start_lsn < 0 or start_lsn & 7:
            raise WalArgumentError(f"start_lsn={start_lsn!r} must be a non-negative multiple of 8")
        if start_lsn & (_PAGE - 1) and start_lsn & (_PAGE - 1) < SHORT_PAGE_HEADER.size:
            raise WalArgumentError(f"start_lsn={format_lsn(start_lsn)} falls inside a page header")
        self.version = by_major(version) if isinstance(version, int) else version
        self.segment_size = segment_size
        self.system_id = system_id
        self.timeline = timeline
        self.start_lsn = Lsn(start_lsn)
        self.prev_lsn = prev_lsn  # start of the last record written
        self.insert_lsn = start_lsn  # where the next record (or its page header) goes
        self._out = bytearray()
        self._out_start = start_lsn

    # -- output -----------------------------------------------------------------------------

    @property
    def end_lsn(self) -> Lsn:
        """The LSN after the last byte produced (the next record's start, or a page boundary)."""
        return Lsn(self._out_start + len(self._out))

    def bytes_between(self, start: int, end: int) -> bytes:
        """The WAL bytes of ``[start, end)`` (must lie within the retained output)."""
        lo, hi = self._out_start, self._out_start + len(self._out)
        if not lo <= start <= end <= hi:
            raise WalArgumentError(
                f"range {format_lsn(start)}..{format_lsn(end)} is outside the retained "
                f"output {format_lsn(lo)}..{format_lsn(hi)}"
            )
        return bytes(self._out[start - lo : end - lo])

    def discard_before(self, lsn: int) -> None:
        """Forget the output before ``lsn`` (bounded memory for long simulations)."""
        drop = min(max(0, lsn - self._out_start), len(self._out))
        del self._out[:drop]
        self._out_start += drop

    def segment_files(self, *, pad: bool = True) -> Iterator[tuple[str, bytes]]:
        """``(file name, bytes)`` of every segment the retained output touches.

        The retained output must start at a segment boundary. With ``pad`` the
        last segment is zero-filled to full size (what pg_waldump expects).
        """
        seg = self.segment_size
        if self._out_start % seg:
            raise WalArgumentError(
                f"output starts at {format_lsn(self._out_start)}, not at a segment boundary"
            )
        pos = self._out_start
        end = pos + len(self._out)
        while pos < end:
            chunk = bytes(self._out[pos - self._out_start : pos - self._out_start + seg])
            if pad and len(chunk) < seg:
                chunk += bytes(seg - len(chunk))
            yield segment_name(self.timeline, pos // seg, seg), chunk
            pos += seg

    # -- records ----------------------------------------------------------------------------

    def append(  # noqa: PLR0913
        self,
        rmid: int,
        info: int,
        main_data: bytes = b"",
        blocks: Sequence[BlockRef] = (),
        *,
        xid: int = 0,
        origin: int | None = None,
        toplevel_xid: int | None = None,
    ) -> tuple[Lsn, Lsn]:
        """Write one record; return ``(start_lsn, end_lsn)`` as the decoder reports them.

        ``end_lsn`` is the MAXALIGNed end (xlogreader's EndRecPtr); for an
        XLOG_SWITCH record it is the end of the segment.
        """
        if not self.version.rmgr_is_valid(rmid):
            raise WalArgumentError(f"rmid={rmid!r} is not valid in PostgreSQL {self.version.major}")
        if not 0 <= info <= 0xFF:
            raise WalArgumentError(f"info={info!r} must fit in one byte")
        self._page_header_if_needed(0)
        start = self.insert_lsn
        rec = encode_record(
            xid=xid,
            info=info,
            rmid=rmid,
            prev=self.prev_lsn,
            main_data=main_data,
            blocks=canonical_blocks(list(blocks)),
            origin=origin,
            toplevel_xid=toplevel_xid,
            version=self.version,
        )
        self._write_record(rec)
        self.prev_lsn = start
        if rmid == RM_XLOG_ID and info & ~XLR_INFO_MASK == XLOG_SWITCH:
            seg = self.segment_size
            target = (self.insert_lsn + seg - 1) & ~(seg - 1)
            self._out += bytes(target - self.insert_lsn)
            self.insert_lsn = target
        return Lsn(start), Lsn(self.insert_lsn)

    def _page_header_if_needed(self, rem_len: int) -> None:
        pos = self.insert_lsn
        if pos & (_PAGE - 1):
            return
        info = XLP_BKP_REMOVABLE | (XLP_FIRST_IS_CONTRECORD if rem_len else 0)
        magic = self.version.page_magic
        if pos % self.segment_size == 0:
            self._out += LONG_PAGE_HEADER.pack(
                magic, info | XLP_LONG_HEADER, self.timeline, pos, rem_len,
                self.system_id, self.segment_size, _PAGE,
            )  # fmt: skip
            self.insert_lsn += LONG_PAGE_HEADER.size
        else:
            self._out += SHORT_PAGE_HEADER.pack(magic, info, self.timeline, pos, rem_len)
            self.insert_lsn += SHORT_PAGE_HEADER.size

    def _write_record(self, rec: bytes) -> None:
        done = 0
        total = len(rec)
        while True:
            pos = self.insert_lsn
            room = ((pos | (_PAGE - 1)) + 1) - pos
            n = min(room, total - done)
            self._out += rec[done : done + n]
            done += n
            self.insert_lsn = pos + n
            if done == total:
                break
            self._page_header_if_needed(total - done)
        pad = (-self.insert_lsn) & 7
        if pad:
            self._out += bytes(pad)
            self.insert_lsn += pad

    # -- convenience builders ---------------------------------------------------------------

    def switch(self) -> tuple[Lsn, Lsn]:
        """XLOG_SWITCH: end the segment here (the rest is zero padding)."""
        return self.append(RM_XLOG_ID, XLOG_SWITCH)

    def commit(self, xid: int, *, timestamp_us: int = PG_EPOCH_OFFSET_US) -> tuple[Lsn, Lsn]:
        """A Transaction COMMIT record of ``xid`` (``xl_xact_commit`` with no extra info).

        ``timestamp_us`` is Unix time in microseconds (stored relative to 2000-01-01).
        """
        return self.append(
            RM_XACT_ID,
            XLOG_XACT_COMMIT,
            _XACT_COMMIT.pack(timestamp_us - PG_EPOCH_OFFSET_US),
            xid=xid,
        )

    def heap_insert(  # noqa: PLR0913
        self,
        xid: int,
        rel: RelFileLocator,
        blkno: int,
        offnum: int,
        tuple_data: bytes,
        *,
        init_page: bool = False,
        flags: int = 0,
        infomask2: int = 1,
        infomask: int = 0x0800,
        hoff: int = 24,
    ) -> tuple[Lsn, Lsn]:
        """A Heap INSERT of ``tuple_data`` at (``blkno``, ``offnum``) of ``rel`` (no FPI).

        Block 0 carries ``xl_heap_header`` + the tuple bytes, as heap_insert does;
        ``init_page`` sets XLOG_HEAP_INIT_PAGE and BKPBLOCK_WILL_INIT.
        """
        block = make_block_ref(
            0,
            rel,
            blkno,
            version=self.version,
            data=_HEAP_HEADER.pack(infomask2, infomask, hoff) + tuple_data,
            will_init=init_page,
        )
        info = XLOG_HEAP_INSERT | (XLOG_HEAP_INIT_PAGE if init_page else 0)
        return self.append(RM_HEAP_ID, info, _HEAP_INSERT.pack(offnum, flags), [block], xid=xid)

    def logical_message(
        self, prefix: str, payload: bytes, *, transactional: bool = False, xid: int = 0,
        db_oid: int = 5,
    ) -> tuple[Lsn, Lsn]:  # fmt: skip
        """A LogicalMessage MESSAGE record (what ``pg_logical_emit_message`` writes)."""
        pfx = prefix.encode() + b"\0"
        head = _LOGICAL_MSG.pack(db_oid, int(transactional), len(pfx), len(payload))
        return self.append(RM_LOGICALMSG_ID, XLOG_LOGICAL_MESSAGE, head + pfx + payload, xid=xid)
