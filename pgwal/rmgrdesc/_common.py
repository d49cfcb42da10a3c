"""Shared helpers of the record describers: struct readers, LSN/time/path text.

Everything here mirrors how ``pg_waldump`` renders values: LSNs in desc text
are ``%X/%X``; timestamps are PostgreSQL ``TimestampTz`` (microseconds since
2000-01-01 UTC) shown in the local time zone as ``YYYY-MM-DD HH:MM:SS.ffffff
ZONE``; relation paths follow ``relpathperm`` (``base/DB/REL``, ``global/REL``,
``pg_tblspc/SPC/PG_<major>_<catversion>/DB/REL``).
"""

# printf-style formatting is used on purpose: it mirrors PostgreSQL's format strings
# (%u, %X/%08X, %6.02f) and is the fastest formatter on the hot path.
# ruff: noqa: UP031

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from pgwal.record import Record

DescFn = Callable[[Record], str]
"""A describer: the text ``pg_waldump`` prints after the record kind."""

U8 = struct.Struct("<B").unpack_from
I8 = struct.Struct("<b").unpack_from
U16 = struct.Struct("<H").unpack_from
U32 = struct.Struct("<I").unpack_from
I32 = struct.Struct("<i").unpack_from
U64 = struct.Struct("<Q").unpack_from
I64 = struct.Struct("<q").unpack_from

FORK_NAMES = ("main", "fsm", "vm", "init")

# TimestampTz epoch (2000-01-01) relative to the Unix epoch, in seconds.
_PG_EPOCH_OFFSET = 946684800
_USECS = 1_000_000

# Catalog version of each major, for tablespace directories (TABLESPACE_VERSION_DIRECTORY).
CATALOG_VERSION = {14: 202107181, 15: 202209061, 16: 202307071, 17: 202406281}

DEFAULT_TABLESPACE_OID = 1663
GLOBAL_TABLESPACE_OID = 1664


def lsn_text(lsn: int) -> str:
    """``%X/%X`` form used inside desc text."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def _c_divmod(value: int, div: int) -> tuple[int, int]:
    """Integer division and remainder that truncate toward zero, as C does."""
    q = abs(value) // div
    if value < 0:
        q = -q
    return q, value - q * div


_ts_cache: dict[int, tuple[str, str]] = {}  # seconds -> (date and time text, zone name)
_ts_cache_zone: object = None  # the time.tzname the cache was filled under


def timestamptz_text(ts: int) -> str:
    """Render a ``TimestampTz`` like pg_waldump's ``timestamptz_to_str``.

    The date text of each second is cached (commit records come many per
    second); ``time.tzset()`` replaces ``time.tzname``, which empties the cache.
    """
    global _ts_cache_zone  # noqa: PLW0603 - the cache's validity key
    secs, usecs = _c_divmod(ts, _USECS)
    zone_key = time.tzname
    if zone_key is not _ts_cache_zone:
        _ts_cache.clear()
        _ts_cache_zone = zone_key
    cached = _ts_cache.get(secs)
    if cached is None:
        try:
            tm = time.localtime(secs + _PG_EPOCH_OFFSET)
        except (OverflowError, OSError, ValueError):
            return f"(timestamp {ts} out of range)"
        if len(_ts_cache) > 4096:
            _ts_cache.clear()
        cached = _ts_cache[secs] = (
            time.strftime("%Y-%m-%d %H:%M:%S", tm),
            time.strftime("%Z", tm),
        )
    return "%s.%06d %s" % (cached[0], usecs, cached[1])


def relpath_main(spc: int, db: int, rel: int, major: int) -> str:
    """``relpathperm(locator, MAIN_FORKNUM)``."""
    if spc == GLOBAL_TABLESPACE_OID:
        return f"global/{rel}"
    if spc == DEFAULT_TABLESPACE_OID:
        return f"base/{db}/{rel}"
    return f"pg_tblspc/{spc}/PG_{major}_{CATALOG_VERSION.get(major, 0)}/{db}/{rel}"


def cstring(data: bytes, offset: int = 0, limit: int | None = None) -> str:
    """A NUL-terminated string starting at ``offset`` (bytes decoded as UTF-8)."""
    end = data.find(b"\0", offset)
    if end < 0:
        end = len(data)
    if limit is not None and end - offset > limit:
        end = offset + limit
    return data[offset:end].decode("utf-8", "replace")


def u16_list(data: bytes, offset: int, count: int) -> tuple[int, ...]:
    """``count`` little-endian uint16 values starting at ``offset``."""
    if count <= 0:
        return ()
    return struct.unpack_from("<%dH" % count, data, offset)


def u32_list(data: bytes, offset: int, count: int) -> tuple[int, ...]:
    """``count`` little-endian uint32 values starting at ``offset``."""
    if count <= 0:
        return ()
    return struct.unpack_from("<%dI" % count, data, offset)


def array_text(items: tuple[object, ...] | list[object]) -> str:
    """``array_desc`` of PostgreSQL 16+: `` [a, b, c]`` (note the leading space)."""
    return " [" + ", ".join(map(str, items)) + "]"


def block_data(rec: Record, block_id: int) -> bytes | None:
    """The data of block reference ``block_id``, or None if it has none."""
    for blk in rec.blocks:
        if blk.block_id == block_id:
            return blk.data if blk.data else None
    return None


def empty(_rec: Record) -> str:
    """Describer of records that print nothing after their kind."""
    return ""
