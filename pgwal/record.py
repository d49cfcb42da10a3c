"""Decoded WAL records: the values the decoder yields and the encoder consumes.

These value types are the contract between ``pgwal.decoder``/``pgwal.encoder``
(which fill them) and ``pgwal.rmgrdesc``/``pgwal.dump`` (which describe them the
way ``pg_waldump`` does). Field names follow PostgreSQL's ``xlogrecord.h`` and
``xlogreader.h`` where one exists.

The record code is split by job: ``pgwal._record_layout`` (structs, constants,
value types), ``pgwal._record_fast`` (the decoder's fast paths for common
shapes), ``pgwal._record_decode`` (``decode_record`` with xlogreader's errors)
and ``pgwal._record_encode`` (``encode_record`` and block-reference builders).
This module is their public face: import from here.
"""

from __future__ import annotations

from pgwal._record_decode import decode_body, decode_record
from pgwal._record_encode import canonical_blocks, encode_record, make_block_ref
from pgwal._record_layout import (
    BKPBLOCK_FORK_MASK,
    BKPBLOCK_HAS_DATA,
    BKPBLOCK_HAS_IMAGE,
    BKPBLOCK_SAME_REL,
    BKPBLOCK_WILL_INIT,
    BLCKSZ,
    SIZE_OF_XLOG_RECORD,
    XLOG_RECORD,
    XLOG_RECORD_MAX_SIZE,
    XLR_BLOCK_ID_DATA_LONG,
    XLR_BLOCK_ID_DATA_SHORT,
    XLR_BLOCK_ID_ORIGIN,
    XLR_BLOCK_ID_TOPLEVEL_XID,
    XLR_MAX_BLOCK_ID,
    BlockRef,
    Record,
    RelFileLocator,
)

__all__ = [
    "BKPBLOCK_FORK_MASK",
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
    "decode_body",
    "decode_record",
    "encode_record",
    "make_block_ref",
]
