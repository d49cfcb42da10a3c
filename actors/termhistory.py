"""Term histories: ``((term, start_lsn), ...)``, terms increasing, LSNs non-decreasing.

A term history (TH) says where each term's WAL starts. A safekeeper's
*effective* TH is the part at or below its flush LSN (:func:`up_to`), and its
last log term is that part's last term (:func:`last_log_term`).
:func:`find_highest_common_point` is where a proposer and a safekeeper logs
stop agreeing, the point a safekeeper is truncated to (PROTOCOL.md 3.5).
"""

from __future__ import annotations

TermHistory = tuple[tuple[int, int], ...]


class TermHistoryError(AssertionError):
    """A term history breaks its own rules (a bug in whoever built it)."""


def up_to(th: TermHistory, lsn: int) -> TermHistory:
    """The entries that start at or below ``lsn``.

    >>> up_to(((1, 10), (2, 20), (3, 30)), 25)
    ((1, 10), (2, 20))
    """
    if not th or th[-1][1] <= lsn:
        return th
    return tuple(e for e in th if e[1] <= lsn)


def last_log_term(th: TermHistory, flush_lsn: int) -> int:
    """The term of the last entry of the effective TH (0 when empty)."""
    eff = up_to(th, flush_lsn)
    return eff[-1][0] if eff else 0


def check(th: TermHistory) -> None:
    """Raise :class:`TermHistoryError` unless terms increase and LSNs do not decrease."""
    for (t0, l0), (t1, l1) in zip(th, th[1:], strict=False):
        if t1 <= t0 or l1 < l0:
            raise TermHistoryError(f"bad term history {th}: ({t0},{l0}) then ({t1},{l1})")


def find_highest_common_point(prop_th: TermHistory, sk_th: TermHistory,
                              sk_wal_end: int) -> tuple[int, int] | None:
    """``(term, lsn)`` up to which both logs agree, or None without a common term.

    >>> find_highest_common_point(((1, 10), (2, 20), (4, 40)), ((1, 10), (2, 20), (3, 30)), 40)
    (2, 30)
    >>> find_highest_common_point(((0, 1),), ((1, 1), (2, 2)), 2) is None
    True
    """
    if sk_th and sk_th[-1][1] > sk_wal_end:
        raise TermHistoryError(f"safekeeper TH {sk_th} runs past its WAL end {sk_wal_end}")
    i = -1
    n = min(len(prop_th), len(sk_th))
    while i + 1 < n and prop_th[i + 1][0] == sk_th[i + 1][0]:
        i += 1
        if prop_th[i][1] != sk_th[i][1]:
            raise TermHistoryError(f"term {prop_th[i][0]} starts at {prop_th[i][1]} in the "
                                   f"proposer's TH but at {sk_th[i][1]} in the safekeeper's")
    if i < 0:
        return None
    term = prop_th[i][0]
    if i == len(prop_th) - 1:
        return term, sk_wal_end
    sk_next = sk_th[i + 1][1] if i + 1 < len(sk_th) else sk_wal_end
    return term, min(prop_th[i + 1][1], sk_next)
