"""Per-major-version facts of the WAL format for PostgreSQL 14, 15, 16 and 17.

What differs between these versions and matters to a WAL reader or writer:

- ``XLOG_PAGE_MAGIC`` (first two bytes of every page),
- the ``bimg_info`` bits of a block image header: 14 has ``HAS_HOLE 0x01``,
  ``IS_COMPRESSED 0x02`` (pglz, the only method) and ``APPLY 0x04``; 15+ have
  ``HAS_HOLE 0x01``, ``APPLY 0x02`` and one bit per compression method
  (``PGLZ 0x04``, ``LZ4 0x08``, ``ZSTD 0x10``),
- which ``xl_rmid`` values are valid (15 added custom resource managers
  128..255),
- the wording of some xlogreader messages (16 reworded several).

The built-in resource-manager table is the same in all four (ids 0..21).
Choose a version with ``by_major(15)`` or from the magic found in a file with
``by_magic(0xD110)``.

>>> by_magic(0xD110).major
15
>>> by_major(14).rmgr_name(21)
'LogicalMessage'
"""

from __future__ import annotations

from collections import namedtuple

from pgwal._value import value_type
from pgwal.errors import WalArgumentError, WalBadMagic

__all__ = [
    "RMGR_NAMES",
    "SUPPORTED_MAJORS",
    "VERSIONS",
    "WalVersion",
    "by_magic",
    "by_major",
]

RMGR_NAMES: tuple[str, ...] = (
    "XLOG",
    "Transaction",
    "Storage",
    "CLOG",
    "Database",
    "Tablespace",
    "MultiXact",
    "RelMap",
    "Standby",
    "Heap2",
    "Heap",
    "Btree",
    "Hash",
    "Gin",
    "Gist",
    "Sequence",
    "SPGist",
    "BRIN",
    "CommitTs",
    "ReplicationOrigin",
    "Generic",
    "LogicalMessage",
)
"""Built-in resource manager names by id (``rmgrlist.h``), identical in 14..17."""

RM_MAX_BUILTIN_ID = len(RMGR_NAMES) - 1
RM_MIN_CUSTOM_ID = 128
RM_MAX_CUSTOM_ID = 255


@value_type  # a frozen value class, like a frozen dataclass (see pgwal._value)
class WalVersion(
    namedtuple(
        "WalVersion",
        "major page_magic bkpimage_has_hole bkpimage_apply bkpimage_compress_bits custom_rmgrs "
        "msg_record_length msg_segment_word",
    )
):
    """The WAL-format facts of one PostgreSQL major version."""

    __slots__ = ()

    major: int
    page_magic: int
    bkpimage_has_hole: int
    bkpimage_apply: int
    # bimg_info bit -> compression method name; 14 has a single "compressed" bit (pglz)
    bkpimage_compress_bits: tuple[tuple[int, str], ...]
    custom_rmgrs: bool
    # xlogreader message wording
    msg_record_length: str  # "wanted" (<= 15) or "expected at least" (16+)
    msg_segment_word: str  # "log segment %s, offset %u" (<= 15) or WAL segment + LSN (16+)

    @property
    def bkpimage_compress_mask(self) -> int:
        """All bimg_info bits that mean "the image is compressed"."""
        mask = 0
        for bit, _name in self.bkpimage_compress_bits:
            mask |= bit
        return mask

    def compression_of(self, bimg_info: int) -> str | None:
        """The compression method named by ``bimg_info`` (None if uncompressed)."""
        for bit, name in self.bkpimage_compress_bits:
            if bimg_info & bit:
                return name
        return None

    def compress_bit(self, method: str) -> int:
        """The ``bimg_info`` bit for ``method`` ("pglz", "lz4", "zstd")."""
        for bit, name in self.bkpimage_compress_bits:
            if name == method:
                return bit
        raise WalArgumentError(
            f"compression={method!r} does not exist in PostgreSQL {self.major}: "
            f"expected one of {[n for _b, n in self.bkpimage_compress_bits]}"
        )

    def rmgr_is_valid(self, rmid: int) -> bool:
        """True if ``xl_rmid`` is accepted by this version's xlogreader."""
        if rmid <= RM_MAX_BUILTIN_ID:
            return rmid >= 0
        return self.custom_rmgrs and RM_MIN_CUSTOM_ID <= rmid <= RM_MAX_CUSTOM_ID

    def rmgr_name(self, rmid: int) -> str:
        """pg_waldump's name for ``rmid`` (custom ids print as ``custom%03d``)."""
        if 0 <= rmid <= RM_MAX_BUILTIN_ID:
            return RMGR_NAMES[rmid]
        if self.custom_rmgrs and RM_MIN_CUSTOM_ID <= rmid <= RM_MAX_CUSTOM_ID:
            return f"custom{rmid:03d}"
        return f"unknown{rmid}"

    def invalid_length_message(self, lsn_text: str, wanted: int, got: int) -> str:
        """xlogreader's "invalid record length" text in this version's words."""
        return f"invalid record length at {lsn_text}: {self.msg_record_length} {wanted}, got {got}"

    def segment_location(self, fname: str, page_lsn_text: str, offset: int) -> str:
        """The "in log segment X, offset N" tail of page-header messages."""
        if self.msg_segment_word == "log":
            return f"in log segment {fname}, offset {offset}"
        return f"in WAL segment {fname}, LSN {page_lsn_text}, offset {offset}"


_PG14_BITS = ((0x02, "pglz"),)
_PG15_BITS = ((0x04, "pglz"), (0x08, "lz4"), (0x10, "zstd"))

VERSIONS: dict[int, WalVersion] = {
    14: WalVersion(14, 0xD10D, 0x01, 0x04, _PG14_BITS, False, "wanted", "log"),
    15: WalVersion(15, 0xD110, 0x01, 0x02, _PG15_BITS, True, "wanted", "log"),
    16: WalVersion(16, 0xD113, 0x01, 0x02, _PG15_BITS, True, "expected at least", "WAL"),
    17: WalVersion(17, 0xD116, 0x01, 0x02, _PG15_BITS, True, "expected at least", "WAL"),
}
SUPPORTED_MAJORS: tuple[int, ...] = tuple(sorted(VERSIONS))
_BY_MAGIC = {v.page_magic: v for v in VERSIONS.values()}


def by_major(major: int) -> WalVersion:
    """The facts for PostgreSQL ``major`` (14..17); raises ``WalArgumentError`` otherwise."""
    try:
        return VERSIONS[major]
    except (KeyError, TypeError):
        raise WalArgumentError(
            f"version={major!r} is not supported: expected one of {list(SUPPORTED_MAJORS)}"
        ) from None


def by_magic(
    magic: int, *, path: str | None = None, offset: int | None = None, lsn: int | None = None
) -> WalVersion:
    """The version whose ``XLOG_PAGE_MAGIC`` is ``magic``; raises ``WalBadMagic`` otherwise."""
    v = _BY_MAGIC.get(magic)
    if v is None:
        known = ", ".join(f"0x{m:04X} ({v.major})" for m, v in sorted(_BY_MAGIC.items()))
        raise WalBadMagic(
            f"unknown WAL page magic 0x{magic:04X}: expected one of {known}",
            path=path,
            offset=offset,
            lsn=lsn,
        )
    return v
