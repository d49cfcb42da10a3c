"""A plain-data view of the abstract model's state (the TLA+ ``ProposerAcceptorStatic`` spec).

The spec's WAL is a tuple of terms: the entry at LSN ``i`` (1-based, as in
the TLA+ spec) is ``wal[i - 1]``, and an entry is identified by
``(term, lsn)``. :func:`properties.consensus.spec_properties` reads this view.

The model (``actors.spec``) converts its state with
:meth:`SpecView.from_tuples`, which takes the spec's own component layout,
so the conversion is one pass over a handful of small tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from properties.core import PropertyError

TermHistory = tuple[tuple[int, int], ...]  # ((term, start_lsn), ...)
Entry = tuple[int, int]  # (term, lsn)


class SpecViewError(PropertyError, ValueError):
    """Spec state that does not have the documented layout."""


@dataclass(frozen=True, slots=True)
class SpecProposer:
    """``prop_state[p]`` without the votes and ``nextSendLsn`` (no property reads them)."""

    state: str  # "campaign" | "leader"
    term: int
    term_history: TermHistory
    wal: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SpecAcceptor:
    """``acc_state[a]``: its term, saved term history and WAL (a tuple of terms)."""

    term: int
    term_history: TermHistory
    wal: tuple[int, ...]

    @property
    def flush_lsn(self) -> int:
        """``FlushLsn(a)``: the LSN of the next entry, ``len(wal) + 1``."""
        return len(self.wal) + 1

    def effective_term_history(self) -> TermHistory:
        """``AcceptorTermHistory(a)``: the saved history cut to entries at or below FlushLsn."""
        flush = len(self.wal) + 1
        return tuple(e for e in self.term_history if e[1] <= flush)


@dataclass(frozen=True, slots=True)
class SpecView:
    """The spec's state as the properties see it.

    ``committed`` is the set of committed entries as a sorted tuple of
    ``(term, lsn)``; ``elected_history`` maps term to how many times it was
    elected, as a sorted tuple of ``(term, count)``. Proposers and acceptors
    are numbered from 0; messages name them ``p1``, ``a1`` ... as TLC does.
    """

    proposers: tuple[SpecProposer, ...]
    acceptors: tuple[SpecAcceptor, ...]
    committed: tuple[Entry, ...] = ()
    elected_history: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_tuples(
        cls,
        proposers: Sequence[Sequence[Any]],
        acceptors: Sequence[Sequence[Any]],
        committed: Sequence[Entry] = (),
        elected_history: Sequence[tuple[int, int]] = (),
    ) -> SpecView:
        """Build a view from the spec model's plain tuples.

        * a proposer is ``(leader, term, votes, term_history, wal, next_send_lsn)``
          with ``leader`` 1 for a leader and 0 in campaign (votes and
          next_send_lsn are ignored);
        * an acceptor is ``(term, term_history, wal)``;
        * ``committed`` and ``elected_history`` as in :class:`SpecView`.

        >>> v = SpecView.from_tuples([(1, 2, (), ((0, 1), (2, 1)), (2,), ())],
        ...                          [(2, ((0, 1), (2, 1)), (2,))], [(2, 1)], [(2, 1)])
        >>> v.proposers[0].state, v.acceptors[0].flush_lsn
        ('leader', 2)
        """
        try:
            props = tuple(
                SpecProposer("leader" if p[0] == 1 else "campaign", p[1], tuple(p[3]),
                             tuple(p[4]))
                for p in proposers
            )
            accs = tuple(SpecAcceptor(a[0], tuple(a[1]), tuple(a[2])) for a in acceptors)
        except (IndexError, TypeError) as e:
            raise SpecViewError(
                "expected proposers as (leader, term, votes, term_history, wal, next_send_lsn) "
                f"and acceptors as (term, term_history, wal); found {e}"
            ) from None
        return cls(props, accs, tuple(sorted(committed)), tuple(sorted(elected_history)))
