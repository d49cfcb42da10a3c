"""WAL page headers (``XLogPageHeaderData`` / ``XLogLongPageHeaderData``).

Every 8 KiB WAL page starts with a short header (24 bytes after MAXALIGN);
the first page of each segment has the long header (40 bytes) that adds the
system identifier, the segment size and the WAL block size. Layout
(little-endian, ``xlog_internal.h``)::

    uint16 xlp_magic; uint16 xlp_info; uint32 xlp_tli; uint64 xlp_pageaddr;
    uint32 xlp_rem_len; [4 bytes padding]
    -- long header only --
    uint64 xlp_sysid; uint32 xlp_seg_size; uint32 xlp_xlog_blcksz;

>>> h = PageHeader(0xD110, XLP_LONG_HEADER, 1, 0x700000, 0, 7, 1 << 20, 8192)
>>> decode_page_header(encode_page_header(h)) == h
True
"""

from __future__ import annotations

import struct
from collections import namedtuple

from pgwal._value import value_type
from pgwal.errors import WalTruncated

__all__ = [
    "LONG_PAGE_HEADER",
    "SHORT_PAGE_HEADER",
    "SIZE_OF_LONG_PHD",
    "SIZE_OF_SHORT_PHD",
    "XLP_ALL_FLAGS",
    "XLP_BKP_REMOVABLE",
    "XLP_FIRST_IS_CONTRECORD",
    "XLP_FIRST_IS_OVERWRITE_CONTRECORD",
    "XLP_LONG_HEADER",
    "PageHeader",
    "decode_page_header",
    "encode_page_header",
]

XLP_FIRST_IS_CONTRECORD = 0x0001
XLP_LONG_HEADER = 0x0002
XLP_BKP_REMOVABLE = 0x0004
XLP_FIRST_IS_OVERWRITE_CONTRECORD = 0x0008
XLP_ALL_FLAGS = 0x000F

SHORT_PAGE_HEADER = struct.Struct("<HHIQI4x")
LONG_PAGE_HEADER = struct.Struct("<HHIQI4xQII")
SIZE_OF_SHORT_PHD = SHORT_PAGE_HEADER.size
SIZE_OF_LONG_PHD = LONG_PAGE_HEADER.size
assert SIZE_OF_SHORT_PHD == 24  # MAXALIGN(sizeof(XLogPageHeaderData))
assert SIZE_OF_LONG_PHD == 40  # MAXALIGN(sizeof(XLogLongPageHeaderData))


@value_type
class PageHeader(
    namedtuple(
        "PageHeader",
        "magic info tli pageaddr rem_len sysid seg_size xlog_blcksz",
        defaults=(None, None, None),
    )
):
    """A decoded page header; the last three fields are None for a short header."""

    __slots__ = ()

    magic: int
    info: int
    tli: int
    pageaddr: int
    rem_len: int
    sysid: int | None  # default None
    seg_size: int | None  # default None
    xlog_blcksz: int | None  # default None

    @property
    def is_long(self) -> bool:
        return bool(self.info & XLP_LONG_HEADER)

    @property
    def size(self) -> int:
        """Bytes the header occupies on the page (24 or 40)."""
        return SIZE_OF_LONG_PHD if self.is_long else SIZE_OF_SHORT_PHD

    @property
    def is_contrecord(self) -> bool:
        return bool(self.info & XLP_FIRST_IS_CONTRECORD)


def decode_page_header(
    data: bytes | bytearray | memoryview, offset: int = 0, *, path: str | None = None
) -> PageHeader:
    """Decode the page header at ``data[offset:]`` (long if ``XLP_LONG_HEADER`` is set).

    Raises ``WalTruncated`` if ``data`` is too short. Field values are not
    validated here (see ``pgwal.decoder`` for magic/address checks).
    """
    if len(data) - offset < 4:
        raise WalTruncated(
            f"page header needs {SIZE_OF_SHORT_PHD} bytes, found {max(0, len(data) - offset)}",
            path=path,
            offset=offset,
        )
    info = data[offset + 2] | (data[offset + 3] << 8)
    st = LONG_PAGE_HEADER if info & XLP_LONG_HEADER else SHORT_PAGE_HEADER
    if len(data) - offset < st.size:
        raise WalTruncated(
            f"page header needs {st.size} bytes, found {len(data) - offset}",
            path=path,
            offset=offset,
        )
    return PageHeader(*st.unpack_from(data, offset))


def encode_page_header(h: PageHeader) -> bytes:
    """The on-disk bytes of ``h`` (40 bytes if it is a long header, else 24)."""
    if h.is_long:
        if h.sysid is None or h.seg_size is None or h.xlog_blcksz is None:
            raise ValueError("a long page header needs sysid, seg_size and xlog_blcksz")
        return LONG_PAGE_HEADER.pack(
            h.magic, h.info, h.tli, h.pageaddr, h.rem_len, h.sysid, h.seg_size, h.xlog_blcksz
        )
    return SHORT_PAGE_HEADER.pack(h.magic, h.info, h.tli, h.pageaddr, h.rem_len)
