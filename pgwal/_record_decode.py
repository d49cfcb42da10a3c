"""DecodeXLogRecord: a complete record's bytes to a ``Record``, with xlogreader's errors.

``decode_record`` checks the length field, ``decode_body`` tries the fast
paths of ``pgwal._record_fast`` and falls back to ``_decode_general``, a single
pass over the block and data headers that raises ``WalBadBlock`` with the
message xlogreader gives for the first inconsistency.
"""

from __future__ import annotations

import struct

from pgwal._record_fast import _decode_block0, _decode_fast
from pgwal._record_layout import (
    _HEADER_FIELDS,
    _IMAGE_HEADER,
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
    _check_image,
    _facts,
    _lsn,
    _rlocator,
    _short,
    _tuple_new,
)
from pgwal.errors import WalBadBlock, WalBadLength
from pgwal.versions import WalVersion


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
