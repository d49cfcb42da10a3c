"""Private module for selective re-export: LSN text and WAL digests.

Properties must not import ``pgwal``, so the PostgreSQL ``X/X`` LSN notation
is written here again (it is one line).
"""

from __future__ import annotations

import hashlib

_LOW_MASK = 0xFFFFFFFF


def format_lsn(lsn: int) -> str:
    """An LSN as PostgreSQL prints it: high and low 32 bits in hex, ``X/X``.

    >>> format_lsn(0), format_lsn(0x16B3D78), format_lsn(0x1_0000_0028)
    ('0/0', '0/16B3D78', '1/28')
    """
    return f"{lsn >> 32:X}/{lsn & _LOW_MASK:X}"


def wal_digest(data: bytes) -> str:
    """The digest an observer must put in :class:`properties.view.Commit` records.

    BLAKE2b with a 16-byte digest, as lowercase hex. Properties compare it
    with the same function applied to an acceptor's WAL bytes, so any other
    digest would make every commit look unreplicated.

    >>> wal_digest(b"")
    'cae66941d9efbd404e4d88758ea67670'
    """
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def first_difference(a: bytes, b: bytes) -> int:
    """Offset of the first byte where ``a`` and ``b`` differ (``min(len)`` if one is a prefix).

    >>> first_difference(b"abcd", b"abxd"), first_difference(b"ab", b"abc")
    (2, 2)
    """
    n = min(len(a), len(b))
    lo, hi = 0, n
    # Binary search over slice equality: C-speed compares instead of a Python loop.
    while lo < hi:
        mid = (lo + hi) // 2
        if a[lo : mid + 1] == b[lo : mid + 1]:
            lo = mid + 1
        else:
            hi = mid
    return lo
