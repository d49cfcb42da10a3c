"""Fast decode paths of DecodeXLogRecord for the common record shapes.

Both functions return None instead of raising on anything unusual, so that
``pgwal._record_decode``'s general path decodes the record again and reports
xlogreader's exact error. Kept flat on purpose: this is the decoder's hot path.
"""

from __future__ import annotations

import struct

from pgwal._record_layout import (
    _IMAGE_HEADER,
    _NEWREL,
    _SAMEREL,
    _U16,
    _U32,
    BKPBLOCK_FORK_MASK,
    BKPBLOCK_HAS_DATA,
    BKPBLOCK_HAS_IMAGE,
    BKPBLOCK_SAME_REL,
    BLCKSZ,
    SIZE_OF_XLOG_RECORD,
    XLR_BLOCK_ID_DATA_LONG,
    XLR_BLOCK_ID_DATA_SHORT,
    XLR_BLOCK_ID_ORIGIN,
    XLR_BLOCK_ID_TOPLEVEL_XID,
    XLR_MAX_BLOCK_ID,
    BlockRef,
    Record,
    _facts,
    _rloc_cache,
    _rlocator,
    _tuple_new,
)
from pgwal.versions import WalVersion

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
