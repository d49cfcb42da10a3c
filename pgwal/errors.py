"""The one exception hierarchy of ``pgwal``.

Every error says what was expected, what was found and where: the file (when
known), the byte offset in that file (or in the buffer being decoded) and the
LSN. The attributes ``path``, ``offset`` and ``lsn`` carry the same facts for
programs; each is ``None`` when unknown.

- ``WalError``: base class; catch this to catch everything from ``pgwal``.
- ``WalTruncated``: more bytes are needed (a short file, a record cut off at
  the end of the input). A streaming reader waits for more data.
- ``WalCorrupt`` (also a ``ValueError``): the bytes are there but wrong (bad
  CRC, page magic, page address, prev-link, lengths, block headers).
- ``WalArgumentError`` (also a ``ValueError``): a caller passed a bad value
  (an unparsable LSN, a segment size that is not a power of two, ...).
- ``WalNotFound`` (also a ``FileNotFoundError``): a segment file or directory
  is missing, or a directory holds no WAL segments.
"""

from __future__ import annotations

__all__ = [
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
]


def _fmt_lsn(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


class WalError(Exception):
    """Base class of every ``pgwal`` error.

    ``detail`` is the bare message (pg_waldump style, e.g. ``invalid record
    length at 0/10000F0: wanted 24, got 0``); ``str(exc)`` appends where it
    happened (file, offset, LSN) when those are known and not already in the
    message.
    """

    def __init__(
        self,
        detail: str,
        *,
        lsn: int | None = None,
        path: str | None = None,
        offset: int | None = None,
    ) -> None:
        self.detail = detail
        self.lsn = lsn
        self.path = path
        self.offset = offset
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.path is not None:
            where.append(f"file {self.path}")
        if self.offset is not None:
            where.append(f"offset {self.offset} (0x{self.offset:X})")
        if self.lsn is not None:
            where.append(f"LSN {_fmt_lsn(self.lsn)}")
        if not where:
            return self.detail
        return f"{self.detail} [{', '.join(where)}]"

    def with_location(
        self, *, path: str | None = None, offset: int | None = None, lsn: int | None = None
    ) -> WalError:
        """Return a copy of this error with missing location fields filled in."""
        new = type(self).__new__(type(self))
        WalError.__init__(
            new,
            self.detail,
            lsn=self.lsn if self.lsn is not None else lsn,
            path=self.path if self.path is not None else path,
            offset=self.offset if self.offset is not None else offset,
        )
        return new


class WalTruncated(WalError):
    """The input ends before a complete page or record: more bytes are needed."""


class WalNotFound(WalError, FileNotFoundError):
    """A segment file or WAL directory is missing or holds no segments."""


class WalArgumentError(WalError, ValueError):
    """A caller-supplied value is invalid (LSN text, segment size, version...)."""


class WalCorrupt(WalError, ValueError):
    """The bytes are present but not valid WAL."""


class WalBadPageHeader(WalCorrupt):
    """A page header is invalid (info bits, timeline, long-header fields)."""


class WalBadMagic(WalBadPageHeader):
    """``xlp_magic`` is not the expected XLOG_PAGE_MAGIC."""


class WalBadPageAddress(WalBadPageHeader):
    """``xlp_pageaddr`` disagrees with the position of the page."""


class WalBadContRecord(WalBadPageHeader):
    """``XLP_FIRST_IS_CONTRECORD`` / ``xlp_rem_len`` disagree with the record."""


class WalBadLength(WalCorrupt):
    """``xl_tot_len`` is impossible (too short, e.g. a zeroed tail, or too long)."""


class WalBadRmgr(WalCorrupt):
    """``xl_rmid`` is not a valid resource manager id."""


class WalBadPrevLink(WalCorrupt):
    """``xl_prev`` does not point at the previous record."""


class WalBadCrc(WalCorrupt):
    """The CRC-32C of the record does not match ``xl_crc``."""


class WalBadBlock(WalCorrupt):
    """A block reference or data header inside the record is inconsistent."""
