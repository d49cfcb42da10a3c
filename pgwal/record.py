"""Decoded WAL records: the values the decoder yields and the encoder consumes.

These dataclasses are the contract between ``pgwal.decoder``/``pgwal.encoder``
(which fill them) and ``pgwal.rmgrdesc``/``pgwal.dump`` (which describe them the
way ``pg_waldump`` does). Field names follow PostgreSQL's ``xlogrecord.h`` and
``xlogreader.h`` where one exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RelFileLocator:
    """Tablespace, database and relation file number of a block reference."""

    spc_oid: int
    db_oid: int
    rel_number: int


@dataclass(frozen=True, slots=True)
class BlockRef:
    """One block reference of a record (``DecodedBkpBlock``)."""

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


@dataclass(frozen=True, slots=True)
class Record:
    """A complete, CRC-checked WAL record as found at ``lsn``."""

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
