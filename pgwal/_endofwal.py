"""``EndOfWal``: where and why a decoder stopped (a value type of ``pgwal.decoder``)."""

from __future__ import annotations

from collections import namedtuple

from pgwal._value import value_type
from pgwal.errors import WalBadLength, WalError
from pgwal.lsn import Lsn, format_lsn

__all__ = ["EndOfWal"]


@value_type
class EndOfWal(namedtuple("EndOfWal", "lsn last_lsn kind error", defaults=(None,))):
    """Where and why decoding stopped.

    - ``lsn``: end of valid WAL, i.e. where the next record would start
      (xlogreader's EndRecPtr of the last good record; the start position if
      none was read). A safekeeper truncates its WAL here.
    - ``last_lsn``: start of the last good record (pg_waldump's "error in WAL
      record at ..."), None if there was none.
    - ``kind``: ``"end_of_input"`` (input ended at a record boundary),
      ``"end_lsn"`` (reached the requested stop LSN), ``"end_segment"`` (the
      requested segment range ended), ``"invalid"`` (``WalCorrupt``, including
      a zeroed tail), ``"truncated"`` (``WalTruncated``: input ended inside a
      record or page header), ``"missing"`` (a segment file is absent) or
      ``"no_valid_record"`` (no valid record at all after the start position).
    - ``error``: the ``WalError`` for the last four kinds, else None.
    """

    __slots__ = ()

    lsn: Lsn
    last_lsn: Lsn | None
    kind: str
    error: WalError | None  # default None

    @property
    def clean(self) -> bool:
        """True when decoding stopped without an error."""
        return self.error is None

    @property
    def zeroed(self) -> bool:
        """True when the WAL ended at a zero record length (never-written, zeroed space)."""
        return isinstance(self.error, WalBadLength) and self.error.detail.endswith("got 0")

    @property
    def reason(self) -> str:
        """The bare error text (pg_waldump wording) or a description of a clean stop."""
        if self.error is not None:
            return self.error.detail
        return {
            "end_of_input": f"end of input at {format_lsn(self.lsn)}",
            "end_lsn": f"reached end LSN at {format_lsn(self.lsn)}",
            "end_segment": f"end of the requested segments at {format_lsn(self.lsn)}",
        }.get(self.kind, self.kind)

    def raise_error(self) -> None:
        """Raise ``error`` if there is one."""
        if self.error is not None:
            raise self.error
