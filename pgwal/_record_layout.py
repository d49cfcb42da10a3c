"""The WAL record's on-disk layout and the values it decodes to.

``XLogRecord`` and the block/data header structs of ``xlogrecord.h``, the
``BKPBLOCK_*``/``XLR_BLOCK_ID_*`` constants, the value types ``Record``,
``BlockRef`` and ``RelFileLocator``, and the checks that decoding and encoding
share (block image headers, xlogreader's length messages). Import these names
from ``pgwal.record``; this module exists so that the decode and encode
modules can share them without import cycles.
"""

from __future__ import annotations

import struct
from collections import namedtuple

from pgwal._value import value_type
from pgwal.errors import WalBadBlock
from pgwal.versions import WalVersion

# --- on-disk layout (xlogrecord.h) -------------------------------------------------------------
XLOG_RECORD = struct.Struct("<IIQBB2xI")
"""XLogRecord: xl_tot_len, xl_xid, xl_prev, xl_info, xl_rmid, (2 pad), xl_crc."""
SIZE_OF_XLOG_RECORD = XLOG_RECORD.size
assert SIZE_OF_XLOG_RECORD == 24
XLOG_RECORD_MAX_SIZE = 1020 * 1024 * 1024
"""Largest xl_tot_len accepted (XLogRecordMaxSize of PostgreSQL 16+; 14/15 allow a bit more)."""
BLCKSZ = 8192

_BLOCK_HEADER = struct.Struct("<BBH")  # id, fork_flags, data_length
_IMAGE_HEADER = struct.Struct("<HHB")  # length, hole_offset, bimg_info
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_RLOC = struct.Struct("<III")
assert _BLOCK_HEADER.size == 4 and _IMAGE_HEADER.size == 5 and _RLOC.size == 12

BKPBLOCK_FORK_MASK = 0x0F
BKPBLOCK_HAS_IMAGE = 0x10
BKPBLOCK_HAS_DATA = 0x20
BKPBLOCK_WILL_INIT = 0x40
BKPBLOCK_SAME_REL = 0x80

XLR_MAX_BLOCK_ID = 32
XLR_BLOCK_ID_DATA_SHORT = 255
XLR_BLOCK_ID_DATA_LONG = 254
XLR_BLOCK_ID_ORIGIN = 253
XLR_BLOCK_ID_TOPLEVEL_XID = 252


# --- value types --------------------------------------------------------------------------------
#
# The decoder builds one Record (and a BlockRef per block reference) for every
# record it reads, so these are immutable tuple subclasses rather than frozen
# dataclasses: constructing a frozen dataclass costs one object.__setattr__ per
# field, about 4x the cost of building a tuple. They keep the dataclass
# semantics the rest of the code relies on: attribute access by field name,
# immutability, equality (and hash) by field values only between instances of
# the same class, no ordering, and a ``Name(field=value, ...)`` repr. The
# decoder builds them with ``tuple.__new__(cls, values)``; the class call
# takes the fields positionally or by keyword, as the dataclasses did.

_tuple_new = tuple.__new__


@value_type
class RelFileLocator(namedtuple("RelFileLocator", "spc_oid db_oid rel_number")):
    """Tablespace, database and relation file number of a block reference."""

    __slots__ = ()
    spc_oid: int
    db_oid: int
    rel_number: int


@value_type
class BlockRef(
    namedtuple(
        "BlockRef",
        "block_id fork fork_flags rlocator blkno has_image apply_image image bimg_info "
        "hole_offset hole_length compression data",
    )
):
    """One block reference of a record (``DecodedBkpBlock``)."""

    __slots__ = ()
    block_id: int
    fork: int  # ForkNumber: 0 main, 1 fsm, 2 vm, 3 init
    fork_flags: int  # the raw fork_flags byte (BKPBLOCK_* bits in the high nibble)
    rlocator: RelFileLocator
    blkno: int
    has_image: bool
    apply_image: bool
    image: bytes  # the stored image bytes (compressed if compression is set); b"" if none
    bimg_info: int  # raw BKPIMAGE_* flags byte; 0 if no image
    hole_offset: int
    hole_length: int
    compression: str | None  # None, "pglz", "lz4" or "zstd"
    data: bytes  # block data; b"" when the block has none

    @property
    def has_data(self) -> bool:
        return bool(self.data)

    @property
    def will_init(self) -> bool:
        return bool(self.fork_flags & 0x40)  # BKPBLOCK_WILL_INIT


@value_type
class Record(
    namedtuple(
        "Record",
        "lsn end_lsn prev xid total_len info rmid crc blocks main_data origin toplevel_xid",
    )
):
    """A complete, CRC-checked WAL record as found at ``lsn``."""

    __slots__ = ()
    lsn: int  # where the record header starts
    end_lsn: int  # first byte after the record, as xlogreader's EndRecPtr / pg_walinspect's end_lsn
    prev: int  # xl_prev
    xid: int  # xl_xid
    total_len: int  # xl_tot_len
    info: int  # xl_info
    rmid: int  # xl_rmid
    crc: int  # xl_crc
    blocks: tuple[BlockRef, ...]
    main_data: bytes
    origin: int | None  # replication origin (XLR_BLOCK_ID_ORIGIN), if present
    toplevel_xid: int | None  # XLR_BLOCK_ID_TOPLEVEL_XID, if present

    @property
    def fpi_len(self) -> int:
        """Bytes of full-page images in the record (pg_waldump's ``fpi_len``)."""
        return sum(len(b.image) for b in self.blocks if b.has_image)


# --- helpers shared by the decode paths and the encoder ------------------------------------

_rloc_cache: dict[bytes, RelFileLocator] = {}
_FACTS: dict[int, tuple[int, int, int, tuple[str | None, ...]]] = {}
_NEWREL = struct.Struct("<H12sI").unpack_from  # data_length, RelFileLocator bytes, blkno
_SAMEREL = struct.Struct("<HI").unpack_from  # data_length, blkno
_HEADER_FIELDS = XLOG_RECORD.unpack_from


def _rlocator(raw: bytes) -> RelFileLocator:
    """Interned RelFileLocator for 12 raw bytes (most records touch few relations)."""
    loc = _rloc_cache.get(raw)
    if loc is None:
        if len(_rloc_cache) > 65536:
            _rloc_cache.clear()
        loc = _tuple_new(RelFileLocator, _RLOC.unpack(raw))
        _rloc_cache[raw] = loc
    return loc


def _facts(version: WalVersion) -> tuple[int, int, int, tuple[str | None, ...]]:
    """(HAS_HOLE bit, APPLY bit, compression mask, compression method by bimg_info), cached."""
    facts = _FACTS.get(version.major)
    if facts is None:
        names = tuple(version.compression_of(i) for i in range(256))
        facts = (
            version.bkpimage_has_hole,
            version.bkpimage_apply,
            version.bkpimage_compress_mask,
            names,
        )
        _FACTS[version.major] = facts
    return facts


def _short(lsn: int, what: str) -> WalBadBlock:
    return WalBadBlock(
        f"record with invalid length at {lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}: {what}", lsn=lsn
    )


def _lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def _check_image(
    lsn: int, has_hole: bool, compressed: bool, bimg_len: int, hole_off: int, hole_len: int
) -> None:
    """xlogreader's consistency checks of a block image header."""
    at = _lsn(lsn)
    if has_hole and (hole_off == 0 or hole_len == 0 or bimg_len == BLCKSZ):
        raise WalBadBlock(
            f"BKPIMAGE_HAS_HOLE set, but hole offset {hole_off} length {hole_len} "
            f"block image length {bimg_len} at {at}",
            lsn=lsn,
        )
    if not has_hole and (hole_off != 0 or hole_len != 0):
        raise WalBadBlock(
            f"BKPIMAGE_HAS_HOLE not set, but hole offset {hole_off} length {hole_len} at {at}",
            lsn=lsn,
        )
    if compressed and bimg_len == BLCKSZ:
        raise WalBadBlock(
            f"BKPIMAGE_COMPRESSED set, but block image length {bimg_len} at {at}", lsn=lsn
        )
    if not has_hole and not compressed and bimg_len != BLCKSZ:
        raise WalBadBlock(
            "neither BKPIMAGE_HAS_HOLE nor BKPIMAGE_COMPRESSED set, "
            f"but block image length is {bimg_len} at {at}",
            lsn=lsn,
        )
