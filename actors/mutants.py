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
from typing import Any

__all__ = ["CATALOGUE", "HUNT_TARGET", "NONE", "HuntTarget", "Mutants", "UnknownMutant",
           "parse_mutants", "quorum"]

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
    "commit-lsn-regress": "the safekeeper takes the proposer's commit LSN as it comes, even "
                          "when it is lower than its own (a new proposer's 0/0 included)",
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


# -- what ``modelcheck hunt`` needs to know about this protocol ------------------------------

#: Explorer runs per spec mutant, tried in order within the hunt's budget: (proposers,
#: acceptors, max_term, max_entries). Figure 8 needs four terms (PROTOCOL.md 4, #1) and two
#: entries (the mutant differs only when a quorum holds part of the donor's WAL, not all of it:
#: with one entry there is no such part), but one proposer: RestartProposer walks a single
#: proposer through every term, and a second one only multiplies the states (p1 a3 t4 l2 finds
#: it at depth 25 in about 7 s; p2 a3 t4 l2 does not in 60 s).
SPEC_BOUNDS: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    "bad-quorum": ((2, 3, 2, 1), (2, 3, 2, 2)),
    "commit-previous-term": ((1, 3, 4, 2), (2, 3, 4, 2)),
}


#: Implementation-explorer runs (every mutant is in the real actors), tried after the spec:
#: (proposers, acceptors, max_crashes, max_drops, max_writes, max_ticks).
IMPL_BOUNDS: tuple[tuple[int, int, int, int, int, int], ...] = (
    (2, 3, 0, 0, 1, 0),
    (2, 3, 1, 0, 1, 0),
)


class HuntTarget:
    """The walproposer protocol as seen by :mod:`modelcheck.hunt` (which imports no protocol).

    ``scenario`` is the seed-campaign scenario (``scenarios`` those the random driver
    alternates between, seed by seed); :meth:`machine`
    the Hypothesis machine of the hypothesis driver; :meth:`explore_models` the models
    the explore driver searches, in order (none: the driver does not apply).
    """

    scenario = "walproposer"
    #: The random driver's seeds: even ones on the default campaign, odd ones with
    #: overlapping computes (actors.scenario_overlap: a replaced walproposer may linger).
    scenarios = ("walproposer", "walproposer-overlap")
    mutants = CATALOGUE
    #: Properties the correct protocol itself breaks: a failure of one of them is not
    #: credited to a mutant (the random driver lists such seeds as unattributed). None since
    #: lsn_order no longer orders commit and truncate LSN (9e65380; Neon's safekeeper takes
    #: max(peer_horizon, the proposer's truncate_lsn) whatever its own commit LSN).
    false_alarm_properties: dict[str, str] = {}

    def machine(self, mutant: str) -> type:
        """A :class:`actors.stateful.WalConsensusMachine` subclass with ``mutant`` on."""
        parse_mutants(mutant)
        return _machine_class("Hunt_" + mutant.replace("-", "_"))

    def explore_models(self, mutant: str) -> list[tuple[str, str, dict[str, Any]]]:
        """``(label, model name, options)`` of each model to explore for ``mutant``, smallest
        first; the options are ``modelcheck explore`` flags (``--model NAME``), so the
        counterexample's trace file replays with ``modelcheck replay``."""
        parse_mutants(mutant)
        out: list[tuple[str, str, dict[str, Any]]] = []
        for p, a, t, n in SPEC_BOUNDS.get(mutant, ()):
            out.append((f"spec p{p} a{a} t{t} l{n}", "spec",
                        {"proposers": p, "acceptors": a, "max_term": t, "max_entries": n}))
        for p, a, c, d, w, k in IMPL_BOUNDS:
            out.append((f"impl p{p} a{a} crashes{c} drops{d} writes{w} ticks{k}", "impl",
                        {"proposers": p, "acceptors": a, "max_crashes": c, "max_drops": d,
                         "max_writes": w, "max_ticks": k}))
        return out


HUNT_TARGET = HuntTarget()
_MACHINES: dict[str, type] = {}


def _machine_class(name: str) -> type:
    """``Hunt_<mutant>``: built on first use, importable as ``actors.mutants:Hunt_<mutant>``
    (so a trace's ``machine`` field replays with ``modelcheck replay``)."""
    cls = _MACHINES.get(name)
    if cls is None:
        from actors.stateful import WalConsensusMachine

        mutant = name[len("Hunt_"):].replace("_", "-")
        parse_mutants(mutant)
        cls = _MACHINES[name] = type(name, (WalConsensusMachine,),
                                     {"mutant": mutant, "__module__": __name__,
                                      "__qualname__": name})
    return cls


def __getattr__(name: str) -> Any:
    if name.startswith("Hunt_") and name[len("Hunt_"):].replace("_", "-") in CATALOGUE:
        return _machine_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
