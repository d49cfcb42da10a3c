"""XLogRecordAssemble: block references and records to bytes.

``make_block_ref`` derives the flag bytes from what a block carries,
``canonical_blocks`` sets ``BKPBLOCK_SAME_REL`` as PostgreSQL does, and
``encode_record`` lays out the header, block and data headers and payloads with
the CRC. What it produces decodes back to equal values (tested).
"""

from __future__ import annotations

from pgwal._record_layout import (
    _BLOCK_HEADER,
    _IMAGE_HEADER,
    _RLOC,
    _U16,
    _U32,
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
    RelFileLocator,
    _check_image,
)
from pgwal.crc import crc32c
from pgwal.errors import WalBadBlock, WalBadLength
from pgwal.versions import WalVersion


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
