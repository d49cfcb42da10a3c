"""Log sequence numbers (``XLogRecPtr``) and WAL position arithmetic.

An ``Lsn`` is an ``int`` subclass: ordered, hashable and usable wherever an
integer byte position is expected. It parses and prints PostgreSQL's ``X/X``
text form. Arithmetic on it returns plain ``int`` (wrap with ``Lsn(...)`` when
the text form is wanted again).

>>> lsn = Lsn.parse("0/16B3748")
>>> str(lsn), lsn.waldump()
('0/16B3748', '0/016B3748')
>>> segment_number(lsn, 16 * 1024 * 1024), segment_offset(lsn, 1 << 24)
(1, 7026504)
"""

from __future__ import annotations

import re

from pgwal.errors import WalArgumentError

__all__ = [
    "MAX_SEGMENT_SIZE",
    "MIN_SEGMENT_SIZE",
    "XLOG_BLCKSZ",
    "Lsn",
    "check_segment_size",
    "format_lsn",
    "format_lsn_waldump",
    "maxalign",
    "next_page_boundary",
    "page_offset",
    "page_start",
    "segment_number",
    "segment_offset",
    "segment_start",
    "segments_per_xlogid",
]

XLOG_BLCKSZ = 8192
"""WAL page size. PostgreSQL allows other build-time values; we support 8 KiB only."""
MIN_SEGMENT_SIZE = 1 << 20
MAX_SEGMENT_SIZE = 1 << 30
_MAX_LSN = (1 << 64) - 1
_LSN_RE = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


class Lsn(int):
    """A 64-bit WAL position, printed as ``%X/%X`` (high/low 32 bits)."""

    __slots__ = ()

    def __new__(cls, value: int = 0) -> Lsn:
        if isinstance(value, Lsn):
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            raise WalArgumentError(f"Lsn value must be an int, got {value!r}")
        if not 0 <= value <= _MAX_LSN:
            raise WalArgumentError(f"Lsn value must be in 0..2**64-1, got {value!r}")
        return super().__new__(cls, value)

    @classmethod
    def parse(cls, text: str) -> Lsn:
        """Parse ``"0/16B3748"`` (hex high/low halves) into an ``Lsn``."""
        if not isinstance(text, str):
            raise WalArgumentError(f"LSN text must be a str, got {text!r}")
        m = _LSN_RE.match(text.strip())
        if m is None:
            raise WalArgumentError(f"invalid LSN {text!r}: expected 'X/X' with hex halves")
        return cls((int(m.group(1), 16) << 32) | int(m.group(2), 16))

    @property
    def hi(self) -> int:
        """The high 32 bits (``xlogid``)."""
        return int(self) >> 32

    @property
    def lo(self) -> int:
        """The low 32 bits (``xrecoff``)."""
        return int(self) & 0xFFFFFFFF

    def __str__(self) -> str:
        return format_lsn(self)

    def __repr__(self) -> str:
        return f"Lsn('{format_lsn(self)}')"

    def waldump(self) -> str:
        """pg_waldump's ``%X/%08X`` form used in ``lsn:`` and ``prev`` fields."""
        return format_lsn_waldump(self)


def format_lsn(lsn: int) -> str:
    """``%X/%X`` form, e.g. ``0/16B3748``."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def format_lsn_waldump(lsn: int) -> str:
    """``%X/%08X`` form, e.g. ``0/016B3748`` (pg_waldump's record line)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:08X}"


def check_segment_size(segment_size: int) -> int:
    """Return ``segment_size`` if it is a power of two in 1 MiB..1 GiB, else raise."""
    if (
        not isinstance(segment_size, int)
        or segment_size < MIN_SEGMENT_SIZE
        or segment_size > MAX_SEGMENT_SIZE
        or segment_size & (segment_size - 1)
    ):
        raise WalArgumentError(
            f"segment_size={segment_size!r} is invalid: expected a power of two "
            f"between {MIN_SEGMENT_SIZE} (1 MiB) and {MAX_SEGMENT_SIZE} (1 GiB)"
        )
    return segment_size


def maxalign(n: int) -> int:
    """Round up to a multiple of 8 (PostgreSQL's MAXALIGN on 64-bit builds)."""
    return (n + 7) & ~7


def segment_number(lsn: int, segment_size: int) -> int:
    """The segment number (``XLByteToSeg``) that holds ``lsn``."""
    return lsn // segment_size


def segment_offset(lsn: int, segment_size: int) -> int:
    """Byte offset of ``lsn`` inside its segment (``XLogSegmentOffset``)."""
    return lsn & (segment_size - 1)


def segment_start(segno: int, segment_size: int) -> Lsn:
    """The LSN of the first byte of segment ``segno`` (``XLogSegNoOffsetToRecPtr``)."""
    return Lsn(segno * segment_size)


def segments_per_xlogid(segment_size: int) -> int:
    """How many segments fit in 4 GiB (the middle/last parts of a file name)."""
    return 0x100000000 // segment_size


def page_offset(lsn: int) -> int:
    """Byte offset of ``lsn`` inside its 8 KiB WAL page."""
    return lsn & (XLOG_BLCKSZ - 1)


def page_start(lsn: int) -> int:
    """The LSN of the start of the page holding ``lsn``."""
    return lsn & ~(XLOG_BLCKSZ - 1)


def next_page_boundary(lsn: int) -> int:
    """The first page boundary strictly after ``lsn`` (``lsn`` itself excluded)."""
    return (lsn | (XLOG_BLCKSZ - 1)) + 1
