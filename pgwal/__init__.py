"""pgwal: read and write PostgreSQL write-ahead log (WAL), versions 14 to 17.

- ``pgwal.lsn``: ``Lsn`` and segment/page arithmetic.
- ``pgwal.versions``: per-version format facts (page magic, block image bits, rmgr names).
- ``pgwal.crc``: CRC-32C as PostgreSQL computes it.
- ``pgwal.page`` / ``pgwal.record``: the on-disk structs, decode and encode.
- ``pgwal.decoder``: the streaming decoder (``WalDecoder``, ``find_end_of_wal``).
- ``pgwal.encoder``: builds valid WAL from records (``WalEncoder``).
- ``pgwal.segment``: segment file names, directories, ``read_records``.
- ``pgwal.errors``: ``WalError`` and its subclasses.

The names below are imported on first use (PEP 562), so ``import pgwal`` and
the ``pgwal dump`` command load only the modules they need: a dump starts a
fresh process per run, like pg_waldump, and import time is part of its cost.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "pgwal.decoder": ("EndOfWal", "WalDecoder", "decode_buffer", "find_end_of_wal"),
    "pgwal.encoder": ("WalEncoder",),
    "pgwal.errors": (
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
        "WalError",
        "WalNotFound",
        "WalTruncated",
    ),
    "pgwal.lsn": ("Lsn",),
    "pgwal.record": ("BlockRef", "Record", "RelFileLocator"),
    "pgwal.segment": (
        "SegmentInfo",
        "WalReader",
        "list_segments",
        "parse_segment_name",
        "read_records",
        "read_segment_header",
        "segment_name",
    ),
    "pgwal.versions": ("WalVersion", "by_magic", "by_major"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
_SUBMODULES = frozenset(
    ("cli", "crc", "decoder", "dump", "encoder", "errors", "lsn", "page", "record", "rmgrdesc",
     "segment", "versions")
)  # fmt: skip

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    """Import the module that defines ``name`` on first access (PEP 562)."""
    module = _WHERE.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"pgwal.{name}")
    raise AttributeError(f"module 'pgwal' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE) | _SUBMODULES)
