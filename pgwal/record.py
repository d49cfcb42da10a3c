"""Decoded WAL records: the values the decoder yields and the encoder consumes.

These dataclasses are the contract between ``pgwal.decoder``/``pgwal.encoder``
(which fill them) and ``pgwal.rmgrdesc``/``pgwal.dump`` (which describe them the
way ``pg_waldump`` does). Field names follow PostgreSQL's ``xlogrecord.h`` and
``xlogreader.h`` where one exists.
"""

from __future__ import annotations

import struct
from collections import namedtuple

from pgwal._value import value_type
from pgwal.errors import WalBadBlock, WalBadLength
from pgwal.versions import WalVersion

__all__ = [
    "BKPBLOCK_HAS_DATA",
    "BKPBLOCK_HAS_IMAGE",
    "BKPBLOCK_SAME_REL",
    "BKPBLOCK_WILL_INIT",
    "BLCKSZ",
    "SIZE_OF_XLOG_RECORD",
    "XLOG_RECORD",
    "XLR_BLOCK_ID_DATA_LONG",
    "XLR_BLOCK_ID_DATA_SHORT",
    "XLR_BLOCK_ID_ORIGIN",
    "XLR_BLOCK_ID_TOPLEVEL_XID",
    "XLR_MAX_BLOCK_ID",
    "XLOG_RECORD_MAX_SIZE",
    "BlockRef",
    "Record",
    "RelFileLocator",
    "canonical_blocks",
    "decode_record",
    "encode_record",
    "make_block_ref",
]

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


# --- decoding (DecodeXLogRecord) ---------------------------------------------------------------

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


def decode_record(payload: bytes, lsn: int, end_lsn: int, version: WalVersion) -> Record:
    """Decode a complete record (``payload`` = its ``xl_tot_len`` bytes, header included).

    The CRC is not checked here (the decoder does that first, as xlogreader
    does). Raises ``WalBadLength`` if the length field disagrees with
    ``len(payload)`` and ``WalBadBlock`` for inconsistent block or data headers,
    with the messages xlogreader uses.
    """
    fields = _HEADER_FIELDS(payload, 0)
    tot_len = fields[0]
    if tot_len != len(payload) or tot_len < SIZE_OF_XLOG_RECORD:
        raise WalBadLength(
            f"record length field {tot_len} disagrees with {len(payload)} bytes assembled",
            lsn=lsn,
        )
    return decode_body(payload, lsn, end_lsn, version, fields)


def decode_body(
    payload: bytes,
    lsn: int,
    end_lsn: int,
    version: WalVersion,
    fields: tuple[int, int, int, int, int, int],
) -> Record:
    """``decode_record`` after the header: ``fields`` is the unpacked ``XLOG_RECORD``.

    ``len(payload)`` must equal ``xl_tot_len`` (the caller checked it). Most
    records take the fast path; any record it does not fully accept is decoded
    again by the general path, which raises xlogreader's exact error.
    """
    tot_len, xid, prev, info, rmid, crc = fields
    # Fast path: no block references, just a short main-data header.
    if tot_len > SIZE_OF_XLOG_RECORD and payload[24] == XLR_BLOCK_ID_DATA_SHORT:
        mlen = payload[25]
        if 26 + mlen != tot_len:
            raise _short(lsn, f"main data length {mlen} but {tot_len - 26} bytes remain")
        return _tuple_new(
            Record,
            (lsn, end_lsn, prev, xid, tot_len, info, rmid, crc, (), payload[26:], None, None),
        )
    if tot_len >= 44 and payload[24] == 0:
        rec = _decode_block0(payload, lsn, end_lsn, fields)
        if rec is not None:
            return rec
    rec = _decode_fast(payload, lsn, end_lsn, version, fields)
    if rec is None:
        return _decode_general(payload, lsn, end_lsn, version, *fields)
    return rec


_BLOCK0 = struct.Struct("<BH12sI").unpack_from  # fork_flags, data_length, rlocator, blkno
_BLOCK1 = struct.Struct("<BBHI").unpack_from  # block_id, fork_flags, data_length, blkno (same rel)
_NO_IMAGE_NEW_REL = BKPBLOCK_HAS_IMAGE | BKPBLOCK_SAME_REL


def _decode_block0(
    payload: bytes, lsn: int, end_lsn: int, fields: tuple[int, int, int, int, int, int]
) -> Record | None:
    """The commonest shapes (three records in four of the corpus), decoded in a few steps.

    Block 0 without an image and with its own relation, optionally block 1
    of the same relation without an image, then nothing or a short main-data
    header. Returns None for anything else, or anything inconsistent, so
    that the complete paths decide.
    """
    tot_len = fields[0]
    flags0, len0, raw, blkno0 = _BLOCK0(payload, 25)
    if flags0 & _NO_IMAGE_NEW_REL or (len0 == 0) == bool(flags0 & BKPBLOCK_HAS_DATA):
        return None
    loc = _rloc_cache.get(raw)
    if loc is None:
        loc = _rlocator(raw)
    pos = 44
    second = None
    if tot_len - pos > len0 and payload[pos] == 1 and tot_len >= pos + 8:
        _bid, flags1, len1, blkno1 = _BLOCK1(payload, pos)
        if flags1 & _NO_IMAGE_NEW_REL != BKPBLOCK_SAME_REL:
            return None
        if (len1 == 0) == bool(flags1 & BKPBLOCK_HAS_DATA):
            return None
        pos += 8
        second = (flags1, len1, blkno1)
        datatotal = len0 + len1
    else:
        datatotal = len0
    main_len = 0
    if tot_len - pos > datatotal:
        if payload[pos] != XLR_BLOCK_ID_DATA_SHORT or tot_len < pos + 2:
            return None
        main_len = payload[pos + 1]
        pos += 2
        datatotal += main_len
    if tot_len - pos != datatotal:
        return None
    end = pos + len0
    blocks: tuple[BlockRef, ...] = (
        _tuple_new(
            BlockRef,
            (0, flags0 & BKPBLOCK_FORK_MASK, flags0, loc, blkno0, False, False, b"", 0, 0, 0, None,
             payload[pos:end] if len0 else b""),
        ),
    )  # fmt: skip
    if second is not None:
        flags1, len1, blkno1 = second
        pos = end
        end = pos + len1
        blocks += (
            _tuple_new(
                BlockRef,
                (1, flags1 & BKPBLOCK_FORK_MASK, flags1, loc, blkno1, False, False, b"", 0, 0, 0,
                 None, payload[pos:end] if len1 else b""),
            ),
        )  # fmt: skip
    return _tuple_new(
        Record,
        (lsn, end_lsn, fields[2], fields[1], tot_len, fields[3], fields[4], fields[5], blocks,
         payload[end : end + main_len], None, None),
    )  # fmt: skip


def _decode_fast(  # noqa: C901, PLR0912, PLR0915 - the hot path, kept flat
    payload: bytes,
    lsn: int,
    end_lsn: int,
    version: WalVersion,
    fields: tuple[int, int, int, int, int, int],
) -> Record | None:
    """DecodeXLogRecord for well-formed records; None when anything is unusual.

    Checks everything ``_decode_general`` checks, but on any problem returns
    None instead of raising, so that the general path reports it.
    """
    tot_len = fields[0]
    has_hole_bit, apply_bit, compress_mask, compression_names = _facts(version)
    pos = SIZE_OF_XLOG_RECORD
    datatotal = 0
    main_len = 0
    origin = None
    toplevel = None
    max_block_id = -1
    rloc = None
    # per block: (id, fork_flags, rloc, blkno, data_len, bimg_len, bimg_info, hole_off, hole_len)
    specs = []
    try:
        while tot_len - pos > datatotal:
            block_id = payload[pos]
            if block_id <= XLR_MAX_BLOCK_ID:
                if block_id <= max_block_id:
                    return None
                max_block_id = block_id
                fork_flags = payload[pos + 1]
                if not fork_flags & BKPBLOCK_HAS_IMAGE:
                    if fork_flags & BKPBLOCK_SAME_REL:
                        if rloc is None:
                            return None
                        data_len, blkno = _SAMEREL(payload, pos + 2)
                        pos += 8
                    else:
                        data_len, raw, blkno = _NEWREL(payload, pos + 2)
                        rloc = _rloc_cache.get(raw)
                        if rloc is None:
                            rloc = _rlocator(raw)
                        pos += 20
                    if (data_len == 0) == bool(fork_flags & BKPBLOCK_HAS_DATA):
                        return None
                    datatotal += data_len
                    specs.append((block_id, fork_flags, rloc, blkno, data_len, 0, 0, 0, 0))
                    continue
                (data_len,) = _U16.unpack_from(payload, pos + 2)
                if (data_len == 0) == bool(fork_flags & BKPBLOCK_HAS_DATA):
                    return None
                bimg_len, hole_off, bimg_info = _IMAGE_HEADER.unpack_from(payload, pos + 4)
                pos += 9
                datatotal += data_len + bimg_len
                has_hole = bimg_info & has_hole_bit
                compressed = bimg_info & compress_mask
                hole_len = 0
                if has_hole:
                    if compressed:
                        (hole_len,) = _U16.unpack_from(payload, pos)
                        pos += 2
                    else:
                        hole_len = BLCKSZ - bimg_len
                    if hole_off == 0 or hole_len == 0 or bimg_len == BLCKSZ:
                        return None
                    if compressed and bimg_len == BLCKSZ:
                        return None
                elif hole_off != 0 or (
                    bimg_len != BLCKSZ if not compressed else bimg_len == BLCKSZ
                ):
                    return None
                if not fork_flags & BKPBLOCK_SAME_REL:
                    rloc = _rlocator(payload[pos : pos + 12])
                    if pos + 12 > tot_len:
                        return None
                    pos += 12
                elif rloc is None:
                    return None
                (blkno,) = _U32.unpack_from(payload, pos)
                pos += 4
                specs.append(
                    (block_id, fork_flags, rloc, blkno, data_len, bimg_len, bimg_info, hole_off,
                     hole_len)
                )  # fmt: skip
                continue
            pos += 1
            if block_id == XLR_BLOCK_ID_DATA_SHORT:
                main_len = payload[pos]
                pos += 1
                datatotal += main_len
                break
            if block_id == XLR_BLOCK_ID_DATA_LONG:
                (main_len,) = _U32.unpack_from(payload, pos)
                pos += 4
                datatotal += main_len
                break
            if block_id == XLR_BLOCK_ID_ORIGIN:
                (origin,) = _U16.unpack_from(payload, pos)
                pos += 2
                continue
            if block_id == XLR_BLOCK_ID_TOPLEVEL_XID:
                (toplevel,) = _U32.unpack_from(payload, pos)
                pos += 4
                continue
            return None
    except (IndexError, struct.error):
        return None
    if pos > tot_len or tot_len - pos != datatotal:
        return None
    blocks = []
    append = blocks.append
    for (
        block_id,
        fork_flags,
        loc,
        blkno,
        data_len,
        bimg_len,
        bimg_info,
        hole_off,
        hole_len,
    ) in specs:
        if fork_flags & BKPBLOCK_HAS_IMAGE:
            image = payload[pos : pos + bimg_len]
            pos += bimg_len
            has_image = True
            compression = compression_names[bimg_info]
        else:
            image = b""
            has_image = False
            compression = None
        if data_len:
            data = payload[pos : pos + data_len]
            pos += data_len
        else:
            data = b""
        append(
            _tuple_new(
                BlockRef,
                (
                    block_id,
                    fork_flags & BKPBLOCK_FORK_MASK,
                    fork_flags,
                    loc,
                    blkno,
                    has_image,
                    bool(bimg_info & apply_bit),
                    image,
                    bimg_info,
                    hole_off,
                    hole_len,
                    compression,
                    data,
                ),
            )  # fmt: skip
        )
    return _tuple_new(
        Record,
        (lsn, end_lsn, fields[2], fields[1], tot_len, fields[3], fields[4], fields[5],
         tuple(blocks), payload[pos : pos + main_len], origin, toplevel),
    )  # fmt: skip


def _decode_general(  # noqa: C901, PLR0912, PLR0915 - one pass over the headers, as xlogreader
    payload: bytes,
    lsn: int,
    end_lsn: int,
    version: WalVersion,
    tot_len: int,
    xid: int,
    prev: int,
    info: int,
    rmid: int,
    crc: int,
) -> Record:
    pos = SIZE_OF_XLOG_RECORD
    datatotal = 0
    main_len = 0
    origin = None
    toplevel = None
    max_block_id = -1
    # per block: (id, fork_flags, data_len, bimg_len, hole_off, hole_len, bimg_info, rloc, blkno)
    specs = []
    rloc = None
    has_hole_bit, _apply, compress_mask, _names = _facts(version)
    try:
        while tot_len - pos > datatotal:
            block_id = payload[pos]
            pos += 1
            if block_id == XLR_BLOCK_ID_DATA_SHORT:
                main_len = payload[pos]
                pos += 1
                datatotal += main_len
                break
            if block_id == XLR_BLOCK_ID_DATA_LONG:
                (main_len,) = _U32.unpack_from(payload, pos)
                pos += 4
                datatotal += main_len
                break
            if block_id == XLR_BLOCK_ID_ORIGIN:
                (origin,) = _U16.unpack_from(payload, pos)
                pos += 2
                continue
            if block_id == XLR_BLOCK_ID_TOPLEVEL_XID:
                (toplevel,) = _U32.unpack_from(payload, pos)
                pos += 4
                continue
            if block_id > XLR_MAX_BLOCK_ID:
                raise WalBadBlock(f"invalid block_id {block_id} at {_lsn(lsn)}", lsn=lsn)
            if block_id <= max_block_id:
                raise WalBadBlock(f"out-of-order block_id {block_id} at {_lsn(lsn)}", lsn=lsn)
            max_block_id = block_id
            fork_flags = payload[pos]
            (data_len,) = _U16.unpack_from(payload, pos + 1)
            pos += 3
            if fork_flags & BKPBLOCK_HAS_DATA:
                if data_len == 0:
                    raise WalBadBlock(
                        f"BKPBLOCK_HAS_DATA set, but no data included at {_lsn(lsn)}", lsn=lsn
                    )
            elif data_len != 0:
                raise WalBadBlock(
                    f"BKPBLOCK_HAS_DATA not set, but data length is {data_len} at {_lsn(lsn)}",
                    lsn=lsn,
                )
            datatotal += data_len
            bimg_len = hole_off = hole_len = bimg_info = 0
            if fork_flags & BKPBLOCK_HAS_IMAGE:
                bimg_len, hole_off, bimg_info = _IMAGE_HEADER.unpack_from(payload, pos)
                pos += 5
                datatotal += bimg_len
                has_hole = bimg_info & has_hole_bit
                compressed = bimg_info & compress_mask
                if has_hole and compressed:
                    (hole_len,) = _U16.unpack_from(payload, pos)
                    pos += 2
                elif has_hole:
                    hole_len = BLCKSZ - bimg_len
                _check_image(lsn, bool(has_hole), bool(compressed), bimg_len, hole_off, hole_len)
            if not fork_flags & BKPBLOCK_SAME_REL:
                rloc = _rlocator(payload[pos : pos + 12])
                if pos + 12 > tot_len:
                    raise IndexError
                pos += 12
            elif rloc is None:
                raise WalBadBlock(
                    f"BKPBLOCK_SAME_REL set but no previous rel at {_lsn(lsn)}", lsn=lsn
                )
            (blkno,) = _U32.unpack_from(payload, pos)
            pos += 4
            specs.append(
                (
                    block_id,
                    fork_flags,
                    data_len,
                    bimg_len,
                    hole_off,
                    hole_len,
                    bimg_info,
                    rloc,
                    blkno,
                )
            )
    except (IndexError, struct.error):
        raise _short(lsn, f"block headers run past xl_tot_len {tot_len}") from None
    if pos > tot_len or tot_len - pos != datatotal:
        raise _short(lsn, f"headers announce {datatotal} data bytes but {tot_len - pos} remain")
    blocks = []
    apply_bit = version.bkpimage_apply
    compression_of = version.compression_of
    for (
        block_id,
        fork_flags,
        data_len,
        bimg_len,
        hole_off,
        hole_len,
        bimg_info,
        loc,
        blkno,
    ) in specs:
        if fork_flags & BKPBLOCK_HAS_IMAGE:
            image = payload[pos : pos + bimg_len]
            pos += bimg_len
            has_image = True
            compression = compression_of(bimg_info)
        else:
            image = b""
            has_image = False
            compression = None
        data = payload[pos : pos + data_len]
        pos += data_len
        blocks.append(
            BlockRef(
                block_id,
                fork_flags & BKPBLOCK_FORK_MASK,
                fork_flags,
                loc,
                blkno,
                has_image,
                bool(bimg_info & apply_bit),
                image,
                bimg_info,
                hole_off,
                hole_len,
                compression,
                data,
            )
        )
    main_data = payload[pos : pos + main_len]
    return Record(
        lsn,
        end_lsn,
        prev,
        xid,
        tot_len,
        info,
        rmid,
        crc,
        tuple(blocks),
        main_data,
        origin,
        toplevel,
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


# --- encoding (XLogRecordAssemble) -------------------------------------------------------------


def make_block_ref(
    block_id: int,
    rlocator: RelFileLocator,
    blkno: int,
    *,
    version: WalVersion,
    fork: int = 0,
    data: bytes = b"",
    image: bytes = b"",
    will_init: bool = False,
    apply_image: bool = True,
    hole_offset: int = 0,
    hole_length: int = 0,
    compression: str | None = None,
) -> BlockRef:
    """A ``BlockRef`` with ``fork_flags`` and ``bimg_info`` derived from the arguments.

    ``image`` is the stored image (without the hole; compressed if
    ``compression`` is set). ``BKPBLOCK_SAME_REL`` is not set here; see
    ``canonical_blocks``.
    """
    flags = fork & BKPBLOCK_FORK_MASK
    bimg_info = 0
    if image:
        flags |= BKPBLOCK_HAS_IMAGE
        if hole_length:
            bimg_info |= version.bkpimage_has_hole
        if apply_image:
            bimg_info |= version.bkpimage_apply
        if compression is not None:
            bimg_info |= version.compress_bit(compression)
    if data:
        flags |= BKPBLOCK_HAS_DATA
    if will_init:
        flags |= BKPBLOCK_WILL_INIT
    return BlockRef(
        block_id,
        fork & BKPBLOCK_FORK_MASK,
        flags,
        rlocator,
        blkno,
        bool(image),
        bool(image) and apply_image,
        image,
        bimg_info,
        hole_offset if image else 0,
        hole_length if image else 0,
        compression if image else None,
        data,
    )


def canonical_blocks(blocks: tuple[BlockRef, ...] | list[BlockRef]) -> tuple[BlockRef, ...]:
    """Set ``BKPBLOCK_SAME_REL`` exactly where a block's relation equals the previous one's.

    This is what PostgreSQL's XLogRecordAssemble does, so records built from
    the result decode back to identical ``BlockRef`` values.
    """
    out = []
    prev = None
    for b in blocks:
        flags = b.fork_flags & ~BKPBLOCK_SAME_REL
        if prev is not None and b.rlocator == prev:
            flags |= BKPBLOCK_SAME_REL
        prev = b.rlocator
        out.append(
            BlockRef(
                b.block_id, b.fork, flags, b.rlocator, b.blkno, b.has_image, b.apply_image,
                b.image, b.bimg_info, b.hole_offset, b.hole_length, b.compression, b.data,
            )
        )  # fmt: skip
    return tuple(out)


def encode_record(  # noqa: PLR0913 - mirrors the XLogRecord fields
    *,
    xid: int,
    info: int,
    rmid: int,
    prev: int,
    main_data: bytes = b"",
    blocks: tuple[BlockRef, ...] | list[BlockRef] = (),
    origin: int | None = None,
    toplevel_xid: int | None = None,
    version: WalVersion,
) -> bytes:
    """The complete record bytes (header with ``xl_crc`` + block/data headers + data).

    Raises ``ValueError`` (``WalBadBlock``) for blocks that would not decode:
    ids out of order or above 32, flags that disagree with the content,
    images that break xlogreader's hole/length rules.
    """
    from pgwal.crc import crc32c  # local import keeps record.py free of import cycles

    headers = bytearray()
    payloads: list[bytes] = []
    last_id = -1
    prev_loc = None
    for b in blocks:
        if not 0 <= b.block_id <= XLR_MAX_BLOCK_ID or b.block_id <= last_id:
            raise WalBadBlock(f"block_id {b.block_id} invalid or out of order (after {last_id})")
        last_id = b.block_id
        flags = b.fork_flags
        if bool(flags & BKPBLOCK_HAS_IMAGE) != b.has_image or bool(
            flags & BKPBLOCK_HAS_DATA
        ) != bool(b.data):
            raise WalBadBlock(
                f"block {b.block_id}: fork_flags 0x{flags:02X} disagree with "
                f"has_image={b.has_image} data length {len(b.data)}"
            )
        if flags & BKPBLOCK_SAME_REL and b.rlocator != prev_loc:
            raise WalBadBlock(f"block {b.block_id}: BKPBLOCK_SAME_REL but a different relation")
        if len(b.data) > 0xFFFF:
            raise WalBadBlock(f"block {b.block_id}: data length {len(b.data)} exceeds 65535")
        headers += _BLOCK_HEADER.pack(b.block_id, flags, len(b.data))
        if b.has_image:
            has_hole = bool(b.bimg_info & version.bkpimage_has_hole)
            compressed = bool(b.bimg_info & version.bkpimage_compress_mask)
            hole_len = b.hole_length if has_hole else 0
            if has_hole and not compressed and len(b.image) != BLCKSZ - hole_len:
                raise WalBadBlock(
                    f"block {b.block_id}: image of {len(b.image)} bytes with a hole of "
                    f"{hole_len} (expected {BLCKSZ - hole_len} bytes)"
                )
            _check_image(0, has_hole, compressed, len(b.image), b.hole_offset, hole_len)
            headers += _IMAGE_HEADER.pack(len(b.image), b.hole_offset, b.bimg_info)
            if has_hole and compressed:
                headers += _U16.pack(hole_len)
            payloads.append(b.image)
        if not flags & BKPBLOCK_SAME_REL:
            loc = b.rlocator
            headers += _RLOC.pack(loc.spc_oid, loc.db_oid, loc.rel_number)
        prev_loc = b.rlocator
        headers += _U32.pack(b.blkno)
        payloads.append(b.data)
    if origin is not None:
        headers += bytes((XLR_BLOCK_ID_ORIGIN,)) + _U16.pack(origin)
    if toplevel_xid is not None:
        headers += bytes((XLR_BLOCK_ID_TOPLEVEL_XID,)) + _U32.pack(toplevel_xid)
    if main_data:
        if len(main_data) < 256:
            headers += bytes((XLR_BLOCK_ID_DATA_SHORT, len(main_data)))
        else:
            headers += bytes((XLR_BLOCK_ID_DATA_LONG,)) + _U32.pack(len(main_data))
        payloads.append(main_data)
    body = bytes(headers) + b"".join(payloads)
    tot_len = SIZE_OF_XLOG_RECORD + len(body)
    if tot_len > XLOG_RECORD_MAX_SIZE:
        raise WalBadLength(f"record of {tot_len} bytes exceeds {XLOG_RECORD_MAX_SIZE}")
    head = XLOG_RECORD.pack(tot_len, xid, prev, info, rmid, 0)
    crc = crc32c(head[:20], crc32c(body))
    return XLOG_RECORD.pack(tot_len, xid, prev, info, rmid, crc) + body
