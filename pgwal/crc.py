"""CRC-32C (Castagnoli) as PostgreSQL computes it for WAL records.

PostgreSQL's ``xl_crc`` is CRC-32C (initial value 0xFFFFFFFF, reflected,
final XOR 0xFFFFFFFF) over the record body after the 24-byte header, then
over the first 20 header bytes (everything before ``xl_crc``). Because the
CRC is a running value, that equals ``crc32c(body + header[:20])``;
``record_crc`` computes it without concatenating.

The C-backed ``crc32c`` package (hardware instructions where available) is
used when importable; otherwise a table-driven pure-Python fallback, which
is slow (about 1-2 MB/s) but exact. Both are always available for testing as
``crc32c_python`` and ``crc32c_fast``.

>>> crc32c(b"123456789") == 0xE3069283
True
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

__all__ = ["HAVE_FAST_CRC", "crc32c", "crc32c_fast", "crc32c_python", "record_crc"]


def _make_table() -> tuple[int, ...]:
    poly = 0x82F63B78  # reflected Castagnoli polynomial
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE: tuple[int, ...] = ()  # built on first use: start-up is part of every dump's cost


def crc32c_python(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """Pure-Python CRC-32C of ``data``, continuing from a previous result ``value``."""
    global _TABLE  # noqa: PLW0603 - a lazily built constant
    table = _TABLE
    if not table:
        table = _TABLE = _make_table()
    crc = value ^ 0xFFFFFFFF
    for b in bytes(data):
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _load_fast() -> Callable[..., int] | None:
    """The C ``crc32c`` function of the ``crc32c`` package, or None if it is not installed.

    The package's ``__init__`` reads its own distribution metadata
    (``importlib.metadata``) and imports its command-line module (``argparse``):
    about 25 ms, a tenth of a whole ``pgwal dump`` run. Only the compiled
    ``crc32c._crc32c`` module is needed, so it is loaded from the package
    directory without running ``__init__``; any surprise in that layout falls
    back to the ordinary import.
    """
    loaded = sys.modules.get("crc32c")
    if loaded is not None:
        return loaded.crc32c  # type: ignore[no-any-return]
    try:
        import importlib.machinery
        import importlib.util

        spec = importlib.util.find_spec("crc32c")
        dirs = list(spec.submodule_search_locations or ()) if spec is not None else []
        for folder in dirs:
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = os.path.join(folder, "_crc32c" + suffix)
                if os.path.isfile(path):
                    loader = importlib.machinery.ExtensionFileLoader("crc32c._crc32c", path)
                    ext_spec = importlib.util.spec_from_loader("crc32c._crc32c", loader)
                    assert ext_spec is not None
                    module = importlib.util.module_from_spec(ext_spec)
                    loader.exec_module(module)
                    fn = module.crc32c
                    if fn(b"123456789") == 0xE3069283:
                        return fn  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001, S110 - fall back to the ordinary import below
        pass
    try:
        import crc32c as crc32c_module
    except ImportError:
        return None
    return crc32c_module.crc32c  # type: ignore[no-any-return]


crc32c_fast: Callable[..., int] | None = _load_fast()
HAVE_FAST_CRC = crc32c_fast is not None

crc32c: Callable[..., int] = crc32c_fast if crc32c_fast is not None else crc32c_python
"""CRC-32C(data, value=0): the fastest implementation available."""


def record_crc(header: bytes | bytearray | memoryview, body: bytes | bytearray | memoryview) -> int:
    """``xl_crc`` for a record: CRC-32C over ``body`` then ``header[:20]``."""
    return crc32c(header[:20], crc32c(body))
