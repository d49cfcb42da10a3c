"""pgwal: read and write PostgreSQL write-ahead log (WAL), versions 14 to 17.

- ``pgwal.lsn``: ``Lsn`` and segment/page arithmetic.
- ``pgwal.versions``: per-version format facts (page magic, block image bits, rmgr names).
- ``pgwal.crc``: CRC-32C as PostgreSQL computes it.
- ``pgwal.page`` / ``pgwal.record``: the on-disk structs, decode and encode.
- ``pgwal.decoder``: the streaming decoder (``WalDecoder``, ``find_end_of_wal``).
- ``pgwal.encoder``: builds valid WAL from records (``WalEncoder``).
- ``pgwal.segment``: segment file names, directories, ``read_records``.
- ``pgwal.errors``: ``WalError`` and its subclasses.
"""

from pgwal.decoder import EndOfWal, WalDecoder, decode_buffer, find_end_of_wal
from pgwal.encoder import WalEncoder
from pgwal.errors import (
    WalArgumentError,
    WalBadBlock,
    WalBadContRecord,
    WalBadCrc,
    WalBadLength,
    WalBadMagic,
    WalBadPageAddress,
    WalBadPageHeader,
    WalBadPrevLink,
    WalBadRmgr,
    WalCorrupt,
    WalError,
    WalNotFound,
    WalTruncated,
)
from pgwal.lsn import Lsn
from pgwal.record import BlockRef, Record, RelFileLocator
from pgwal.segment import (
    SegmentInfo,
    WalReader,
    list_segments,
    parse_segment_name,
    read_records,
    read_segment_header,
    segment_name,
)
from pgwal.versions import WalVersion, by_magic, by_major

__all__ = [
    "BlockRef",
    "EndOfWal",
    "Lsn",
    "Record",
    "RelFileLocator",
    "SegmentInfo",
    "WalArgumentError",
    "WalBadBlock",
    "WalBadContRecord",
    "WalBadCrc",
    "WalBadLength",
    "WalBadMagic",
    "WalBadPageAddress",
    "WalBadPageHeader",
    "WalBadPrevLink",
    "WalBadRmgr",
    "WalCorrupt",
    "WalDecoder",
    "WalEncoder",
    "WalError",
    "WalNotFound",
    "WalReader",
    "WalTruncated",
    "WalVersion",
    "by_magic",
    "by_major",
    "decode_buffer",
    "find_end_of_wal",
    "list_segments",
    "parse_segment_name",
    "read_records",
    "read_segment_header",
    "segment_name",
]
