"""Named, switchable protocol bugs, for measuring how much a checker catches.

Each mutant is a small deviation from PROTOCOL.md in the real actors, off by
default. Actors receive a :data:`Mutants` value (a frozenset of names) in their
configuration and test membership with ``"name" in mutants``; with no mutant
that is a lookup in an empty frozenset, so the cost when off is nil.

>>> parse_mutants("bad-quorum")
frozenset({'bad-quorum'})
>>> parse_mutants("no-such-bug")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
actors.mutants.UnknownMutant: unknown mutant 'no-such-bug'; known: accept-stale-append, ...
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CATALOGUE", "NONE", "Mutants", "UnknownMutant", "parse_mutants", "quorum"]

Mutants = frozenset[str]
NONE: Mutants = frozenset()

CATALOGUE: dict[str, str] = {
    "bad-quorum": "quorum of n/2 instead of n/2+1, for votes and for commits",
    "commit-previous-term": "commit earlier-term WAL before the leader's term start is on a "
                            "quorum (Raft figure 8)",
    "skip-truncate": "the safekeeper does not truncate its WAL on ProposerElected",
    "vote-before-persist": "the safekeeper replies to a vote before its new term is persisted",
    "ack-before-fsync": "the safekeeper acknowledges a flush LSN before the WAL is fsynced",
    "donor-by-flush-lsn": "the donor is the voter with the highest flush LSN, ignoring the "
                          "last log term",
    "accept-stale-append": "the safekeeper accepts appends from a lower term",
    "commit-lsn-regress": "the safekeeper takes the proposer's commit LSN even when it is "
                          "lower than its own",
    "ignore-higher-term": "the proposer ignores a higher term in greetings, votes and append "
                          "responses",
    "term-history-not-persisted": "the term history from ProposerElected is kept in memory, "
                                  "not persisted before WAL is acknowledged",
}


class UnknownMutant(ValueError):
    """A mutant name that is not in the catalogue (the message lists the known ones)."""


def parse_mutants(names: str | Iterable[str] | None) -> Mutants:
    """The :data:`Mutants` value for one name, several names, or None (no mutant)."""
    if names is None:
        return NONE
    if isinstance(names, str):
        names = [n for n in names.split(",") if n]
    chosen = frozenset(names)
    unknown = sorted(chosen - CATALOGUE.keys())
    if unknown:
        raise UnknownMutant(f"unknown mutant {unknown[0]!r}; known: {', '.join(sorted(CATALOGUE))}")
    return chosen


def quorum(n: int, mutants: Mutants = NONE) -> int:
    """How many of ``n`` acceptors form a quorum (``n // 2 + 1``; ``n // 2`` under bad-quorum)."""
    if "bad-quorum" in mutants:
        return max(1, n // 2)
    return n // 2 + 1
