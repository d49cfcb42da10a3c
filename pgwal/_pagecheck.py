"""Page-header validation of the streaming decoder (XLogReaderValidatePageHeader).

``PageHeaderChecks`` is the part of ``WalDecoder`` that reads the header at
every 8 KiB boundary: magic (which also fixes the version when unknown), info
bits, long-header fields (system id, segment size, block size), page address,
timeline order, and the continuation bookkeeping (``XLP_FIRST_IS_CONTRECORD``,
``xlp_rem_len``, overwritten contrecords, skipping to the first record). The
messages are pg_waldump's, with the segment file and offset.
"""

from __future__ import annotations

import struct

from pgwal.errors import (
    WalArgumentError,
    WalBadContRecord,
    WalBadMagic,
    WalBadPageAddress,
    WalBadPageHeader,
    WalError,
)
from pgwal.lsn import check_segment_size, format_lsn
from pgwal.page import (
    LONG_PAGE_HEADER,
    SHORT_PAGE_HEADER,
    XLP_ALL_FLAGS,
    XLP_FIRST_IS_CONTRECORD,
    XLP_FIRST_IS_OVERWRITE_CONTRECORD,
    XLP_LONG_HEADER,
)
from pgwal.versions import WalVersion, by_magic, by_major

__all__ = ["PageHeaderChecks", "segment_file_name"]

_PAGE = 8192
_U16x2 = struct.Struct("<HH")


def segment_file_name(tli: int, segno: int, segment_size: int) -> str:
    """``%08X%08X%08X`` name of segment ``segno`` on timeline ``tli``."""
    per = 0x100000000 // segment_size
    return f"{tli:08X}{segno // per:08X}{segno % per:08X}"


class PageHeaderChecks:
    """Mixin of ``WalDecoder``: validates page headers against the decoder's state."""

    version: WalVersion | None
    segment_size: int | None
    system_id: int | None
    timeline: int | None
    _latest_tli: int
    _rec: int | None
    _rec_len: int
    _got: int
    _parts: list[tuple[int, int]]
    _skip: bool
    _pos: int

    def _page_header(self, buf: bytearray, off: int, pos: int) -> int | None:  # noqa: C901
        """Validate the page header at ``pos``; return the position after it.

        Returns None when a whole page of skipped continuation data was passed
        (``self._pos`` then holds the next position).
        """
        magic, info = _U16x2.unpack_from(buf, off)
        is_long = info & XLP_LONG_HEADER
        st = LONG_PAGE_HEADER if is_long else SHORT_PAGE_HEADER
        fields = st.unpack_from(buf, off)
        tli, pageaddr, rem_len = fields[2], fields[3], fields[4]
        version = self.version
        if version is None:
            try:
                version = by_magic(magic)
            except WalBadMagic:
                raise self._page_error(
                    WalBadMagic, f"invalid magic number {magic:04X}", pos, tli
                ) from None
            self.version = version
        elif magic != version.page_magic:
            raise self._page_error(WalBadMagic, f"invalid magic number {magic:04X}", pos, tli)
        if info & ~XLP_ALL_FLAGS:
            raise self._page_error(WalBadPageHeader, f"invalid info bits {info:04X}", pos, tli)
        seg = self.segment_size
        if is_long:
            sysid, seg_size, blcksz = fields[5], fields[6], fields[7]
            if self.system_id is not None and sysid != self.system_id:
                raise WalBadPageHeader(
                    "WAL file is from different database system: WAL file database system "
                    f"identifier is {sysid}, pg_control database system identifier is "
                    f"{self.system_id}",
                    lsn=pos,
                )
            if seg is None:
                try:
                    check_segment_size(seg_size)
                except WalArgumentError:
                    raise WalBadPageHeader(
                        f"WAL segment size {seg_size} in the long page header at "
                        f"{format_lsn(pos)} is not a power of two between 1 MiB and 1 GiB",
                        lsn=pos,
                    ) from None
                self.segment_size = seg = seg_size
            elif seg_size != seg:
                raise WalBadPageHeader(
                    "WAL file is from different database system: incorrect segment size in "
                    f"page header (expected {seg}, found {seg_size})",
                    lsn=pos,
                )
            if blcksz != _PAGE:
                raise WalBadPageHeader(
                    "WAL file is from different database system: incorrect XLOG_BLCKSZ in "
                    f"page header (expected {_PAGE}, found {blcksz})",
                    lsn=pos,
                )
            self.system_id = sysid
        if seg is not None and bool(is_long) != (pos & (seg - 1) == 0):
            what = "long page header in mid-segment" if is_long else "short page header"
            raise self._page_error(
                WalBadPageHeader, f"{what} (info bits {info:04X})", pos, tli, at_start=True
            )
        if pageaddr != pos:
            raise self._page_error(
                WalBadPageAddress, f"unexpected pageaddr {format_lsn(pageaddr)}", pos, tli
            )
        if tli < self._latest_tli:
            raise self._page_error(
                WalBadPageHeader,
                f"out-of-sequence timeline ID {tli} (after {self._latest_tli})",
                pos,
                tli,
            )
        self._latest_tli = tli
        hsize = st.size
        after = pos + hsize
        if self._rec is not None:
            if info & XLP_FIRST_IS_OVERWRITE_CONTRECORD:
                # the record being assembled was abandoned (crash) and overwritten
                self._rec = None
                self._parts = []
            elif not info & XLP_FIRST_IS_CONTRECORD:
                raise WalBadContRecord(f"there is no contrecord flag at {format_lsn(pos)}", lsn=pos)
            elif rem_len == 0 or rem_len != self._rec_len - self._got:
                raise WalBadContRecord(
                    f"invalid contrecord length {rem_len} (expected "
                    f"{self._rec_len - self._got}) at {format_lsn(pos)}",
                    lsn=pos,
                )
        elif self._skip:
            if info & XLP_FIRST_IS_CONTRECORD:
                if rem_len >= _PAGE - hsize:
                    self._pos = pos + _PAGE
                    return None
                self._skip = False
                return after + ((rem_len + 7) & ~7)
            self._skip = False
        elif info & XLP_FIRST_IS_CONTRECORD:
            raise WalBadContRecord(f"contrecord is requested by {format_lsn(after)}", lsn=after)
        return after

    def _page_error(
        self, cls: type[WalError], what: str, pos: int, tli: int, at_start: bool = False
    ) -> WalError:
        seg = self.segment_size or (1 << 24)
        version = self.version or by_major(15)
        fname = segment_file_name(self.timeline or tli, pos // seg, seg)
        tail = version.segment_location(fname, format_lsn(pos), pos & (seg - 1))
        return cls(f"{what} {tail}", lsn=pos)
