"""The semantics of Neon's TLA+ ``ProposerAcceptorStatic`` spec, as pure functions.

The semantics follow ``safekeeper/spec/ProposerAcceptorStatic.tla`` (and the
``StateConstraint`` and ``ProposerAcceptorSymmetry`` of
``MCProposerAcceptorStatic.tla``) exactly, so that the explorer
(:mod:`modelcheck.explore`) reproduces TLC's state counts to the unit:

* a proposer is ``(leader, term, votes, term_history, wal, next_send_lsn)``:
  ``leader`` is 0 (campaign) or 1 (leader); ``votes`` and ``next_send_lsn``
  are tuples indexed by acceptor, ``None`` meaning "no vote" / ``NULL``;
  a vote is ``(term_history, flush_lsn)``;
* an acceptor is ``(term, term_history, wal)``;
* a term history is a tuple of ``(term, lsn)`` pairs, a WAL a tuple of terms
  (LSN = 1-based index, ``FlushLsn = len(wal) + 1``);
* ``committed`` is a sorted tuple of ``(term, lsn)``; ``elected_history`` a
  sorted tuple of ``(term, times_elected)``.

CHOOSE (the donor of ``BecomeLeader``) takes the first satisfying acceptor in
declaration order, as TLC does. Each existential binding is its own successor
(``RestartProposer`` once per quorum, ``CommitEntries`` once per minimal
quorum), enumerated in the order TLC enumerates them.

The pure functions here define the semantics and are easy to read; the
:class:`actors.spec.SpecModel` built on them interns components and
memoises these functions, which is where the explorer's speed comes from.

Mutants (named, switchable bugs for measuring checker power) are a parameter
of the model, see :data:`MUTANTS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

from modelcheck.errors import InvalidArgument

TermHistory = tuple[tuple[int, int], ...]
Wal = tuple[int, ...]
Vote = tuple[TermHistory, int]
Proposer = tuple[int, int, tuple, TermHistory, Wal, tuple]
Acceptor = tuple[int, TermHistory, Wal]
Committed = tuple[tuple[int, int], ...]
Elected = tuple[tuple[int, int], ...]

#: Spec mutants: name -> one-line description. ``bad-quorum`` replaces Quorum
#: with the spec's own ``BadQuorum`` (n/2 instead of n/2+1, for RestartProposer,
#: BecomeLeader and CommitEntries); ``commit-previous-term`` drops the
#: ``quorum_lsn >= PropStartLsn(p)`` rule of QuorumCommitLsn (Raft figure 8).
MUTANTS: dict[str, str] = {
    "bad-quorum": "quorum of n/2 instead of n/2+1, for votes, restarts and commits",
    "commit-previous-term": "commit previous-term entries by quorum flush alone (figure 8)",
}

#: The order of Next's disjuncts (successors are generated in this order).
ACTION_NAMES = (
    "RestartProposer",
    "Vote",
    "BecomeLeader",
    "UpdateTerm",
    "TruncateWal",
    "NewEntry",
    "AppendEntry",
    "CommitEntries",
)

#: Invariant names, as in the TLA+ spec (TLC's config checks all but ElectionSafety).
INVARIANT_NAMES = (
    "TypeOk",
    "ElectionSafety",
    "ElectionSafetyFull",
    "LogIsMonotonic",
    "LogSafety",
    "CommittedNotTruncated",
)


@dataclass(frozen=True, slots=True)
class SpecConfig:
    """The model's constants: how many proposers and acceptors, and the constraint bounds."""

    proposers: int = 2
    acceptors: int = 3
    max_term: int = 2
    max_entries: int = 2
    mutant: str | None = None

    def __post_init__(self) -> None:
        for name in ("proposers", "acceptors"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= 9:
                raise InvalidArgument(f"{name}={value!r}: expected an integer in 1..9")
        for name in ("max_term", "max_entries"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise InvalidArgument(f"{name}={value!r}: expected a non-negative integer")
        if self.mutant is not None and self.mutant not in MUTANTS:
            raise InvalidArgument(
                f"mutant={self.mutant!r} is not a spec mutant; available: {sorted(MUTANTS)}"
            )

    @property
    def quorum_size(self) -> int:
        """Smallest quorum: n/2+1 (``FormsQuorum``), or n/2 under ``bad-quorum``."""
        half = self.acceptors // 2
        return half if self.mutant == "bad-quorum" else half + 1

    def quorums(self) -> tuple[tuple[int, ...], ...]:
        """``AllQuorums(acceptors)``: every set of at least :attr:`quorum_size` acceptors.

        Enumerated as TLC enumerates a SUBSET: by size, then lexicographically.
        """
        n = self.acceptors
        return tuple(q for k in range(self.quorum_size, n + 1) for q in combinations(range(n), k))

    def min_quorums(self) -> tuple[tuple[int, ...], ...]:
        """``AllMinQuorums(acceptors)``: every set of exactly :attr:`quorum_size` acceptors."""
        return tuple(combinations(range(self.acceptors), self.quorum_size))


# --------------------------------------------------------------------------
# Initial components


def init_proposer(term: int, acceptors: int) -> Proposer:
    """A proposer in campaign for ``term`` with no votes, history or WAL."""
    return (0, term, (None,) * acceptors, (), (), (None,) * acceptors)


INIT_ACCEPTOR: Acceptor = (0, ((0, 1),), ())


# --------------------------------------------------------------------------
# Helpers of the TLA+ spec


def flush_lsn(acc: Acceptor) -> int:
    """``FlushLsn(a)``: end of the acceptor's WAL (index of the next entry)."""
    return len(acc[2]) + 1


def acceptor_term_history(acc: Acceptor) -> TermHistory:
    """``AcceptorTermHistory(a)``: the saved history cut to entries at or below FlushLsn."""
    flush = len(acc[2]) + 1
    return tuple(entry for entry in acc[1] if entry[1] <= flush)


def find_highest_common_point(
    prop_th: TermHistory, acc_th: TermHistory, acc_flush_lsn: int
) -> tuple[int, int]:
    """``FindHighestCommonPoint``: ``(term, lsn)`` of the first divergent record."""
    common = [
        i for i in range(min(len(prop_th), len(acc_th))) if prop_th[i][0] == acc_th[i][0]
    ]
    assert common, "term histories always share the <<0, 1>> entry"
    idx = common[-1]
    acc_end = acc_flush_lsn if idx == len(acc_th) - 1 else acc_th[idx + 1][1]
    prop_end = acc_flush_lsn if idx == len(prop_th) - 1 else prop_th[idx + 1][1]
    return (prop_th[idx][0], min(acc_end, prop_end))


def max_vote_acceptor(votes: tuple) -> int:
    """``MaxVoteAcc(p)``: first voter (declaration order) with the max (LastLogTerm, flushLsn)."""
    pairs = [(v[0][-1][0], v[1]) if v is not None else None for v in votes]
    best = max(pair for pair in pairs if pair is not None)
    return pairs.index(best)


def truncated_records(prop: Proposer, acc: Acceptor) -> tuple[tuple[int, int], ...]:
    """Records TruncateWal(p, a) would remove from ``acc``: ``(term, lsn)`` at LSN >= hcp."""
    hcp_lsn = find_highest_common_point(prop[3], acceptor_term_history(acc), flush_lsn(acc))[1]
    wal = acc[2]
    return tuple((wal[lsn - 1], lsn) for lsn in range(hcp_lsn, len(wal) + 1))


# --------------------------------------------------------------------------
# Actions on components (None = not enabled)


def vote(prop: Proposer, acc: Acceptor, a: int) -> tuple[Proposer, Acceptor] | None:
    """``Vote(p, a)``: a campaigning proposer collects acceptor ``a``'s vote."""
    if prop[0] != 0 or acc[0] >= prop[1]:
        return None
    ballot = (acceptor_term_history(acc), len(acc[2]) + 1)
    votes = prop[2][:a] + (ballot,) + prop[2][a + 1 :]
    return (prop[0], prop[1], votes, prop[3], prop[4], prop[5]), (prop[1], acc[1], acc[2])


def become_leader(
    prop: Proposer, accs: tuple[Acceptor, ...], quorum_size: int
) -> Proposer | None:
    """``BecomeLeader(p)``: a quorum of votes elects ``p``; the donor must be in p's term."""
    if prop[0] != 0 or sum(v is not None for v in prop[2]) < quorum_size:
        return None
    donor = max_vote_acceptor(prop[2])
    if accs[donor][0] != prop[1]:
        return None
    donor_vote = prop[2][donor]
    th = donor_vote[0] + ((prop[1], donor_vote[1]),)
    return (1, prop[1], prop[2], th, accs[donor][2], prop[5])


def update_term(prop: Proposer, acc: Acceptor) -> Acceptor | None:
    """``UpdateTerm(p, a)``: a leader raises a lagging acceptor's term."""
    if prop[0] != 1 or acc[0] >= prop[1]:
        return None
    return (prop[1], acc[1], acc[2])


def truncate_wal(prop: Proposer, acc: Acceptor, a: int) -> tuple[Proposer, Acceptor] | None:
    """``TruncateWal(p, a)``: the leader cuts ``a``'s WAL at the highest common point."""
    if prop[0] != 1 or acc[0] != prop[1]:
        return None
    hcp_lsn = find_highest_common_point(prop[3], acceptor_term_history(acc), len(acc[2]) + 1)[1]
    nsl = prop[5][:a] + (hcp_lsn,) + prop[5][a + 1 :]
    new_acc = (acc[0], prop[3], acc[2][: hcp_lsn - 1])
    return (prop[0], prop[1], prop[2], prop[3], prop[4], nsl), new_acc


def new_entry(prop: Proposer) -> Proposer | None:
    """``NewEntry(p)``: a leader appends an entry of its term to its WAL."""
    if prop[0] != 1:
        return None
    return (prop[0], prop[1], prop[2], prop[3], prop[4] + (prop[1],), prop[5])


def append_entry(prop: Proposer, acc: Acceptor, a: int) -> tuple[Proposer, Acceptor] | None:
    """``AppendEntry(p, a)``: the leader sends its next entry to ``a``."""
    if prop[0] != 1 or acc[0] != prop[1]:
        return None
    send_lsn = prop[5][a]
    if send_lsn is None or send_lsn > len(prop[4]):
        return None
    nsl = prop[5][:a] + (send_lsn + 1,) + prop[5][a + 1 :]
    new_prop = (prop[0], prop[1], prop[2], prop[3], prop[4], nsl)
    return new_prop, (acc[0], acc[1], acc[2] + (prop[4][send_lsn - 1],))


def quorum_commit_lsn(
    prop: Proposer, accs: tuple[Acceptor, ...], q: tuple[int, ...], mutant: str | None
) -> int | None:
    """``QuorumCommitLsn(p, q)``: the LSN quorum ``q`` holds for leader ``p``, or None."""
    if prop[0] != 1:
        return None
    for a in q:
        if accs[a][0] != prop[1] or prop[5][a] is None:
            return None
    quorum_lsn = min(len(accs[a][2]) + 1 for a in q)
    if mutant != "commit-previous-term" and quorum_lsn < prop[3][-1][1]:
        return None
    return quorum_lsn


def commit_records(prop: Proposer, commit_lsn: int) -> tuple[tuple[int, int], ...]:
    """``DoCommitEntries``: the records ``(term, lsn)`` for every LSN below ``commit_lsn``."""
    assert commit_lsn - 1 <= len(prop[4]), "an acceptor never holds more than its leader"
    return tuple((prop[4][lsn - 1], lsn) for lsn in range(1, commit_lsn))


def add_committed(committed: Committed, records: tuple[tuple[int, int], ...]) -> Committed:
    """``committed \\cup records``, kept sorted."""
    return tuple(sorted(set(committed).union(records)))


def add_elected(elected: Elected, term: int) -> Elected:
    """``Upsert(elected_history, term, 1, c + 1)``."""
    counts = dict(elected)
    counts[term] = counts.get(term, 0) + 1
    return tuple(sorted(counts.items()))


# --------------------------------------------------------------------------
# Invariants, over components (the model wires them to states)


def is_term_history(th: object) -> bool:
    """``IsTermHistory``: a tuple of (term, lsn) pairs of naturals."""
    return isinstance(th, tuple) and all(
        isinstance(e, tuple) and len(e) == 2 and _is_nat(e[0]) and _is_nat(e[1]) for e in th
    )


def _is_nat(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _is_wal(w: object) -> bool:
    return isinstance(w, tuple) and all(_is_nat(t) for t in w)


def proposer_type_ok(prop: Proposer, acceptors: int) -> bool:
    """TypeOk's conjuncts about one proposer."""
    leader, term, votes, th, wal, nsl = prop
    votes_ok = len(votes) == acceptors and all(
        v is None or (is_term_history(v[0]) and _is_nat(v[1])) for v in votes
    )
    nsl_ok = len(nsl) == acceptors and all(x is None or _is_nat(x) for x in nsl)
    return leader in (0, 1) and _is_nat(term) and votes_ok and is_term_history(th) and (
        _is_wal(wal) and nsl_ok
    )


def acceptor_type_ok(acc: Acceptor) -> bool:
    """TypeOk's conjuncts about one acceptor."""
    return len(acc) == 3 and _is_nat(acc[0]) and is_term_history(acc[1]) and _is_wal(acc[2])


def election_safety(props: tuple[Proposer, ...]) -> bool:
    """ElectionSafety: no two leaders share a term."""
    terms = [p[1] for p in props if p[0] == 1]
    return len(terms) == len(set(terms))


def election_safety_full(elected: Elected) -> bool:
    """ElectionSafetyFull: every term was elected at most once."""
    return all(count <= 1 for _, count in elected)


def log_is_monotonic(acc: Acceptor) -> bool:
    """LogIsMonotonic (for one acceptor): entry terms never decrease along the WAL."""
    wal = acc[2]
    return all(wal[i] <= wal[i + 1] for i in range(len(wal) - 1))


def log_safety(committed: Committed) -> bool:
    """LogSafety: two committed entries at the same LSN are the same entry."""
    lsns = [lsn for _, lsn in committed]
    return len(lsns) == len(set(lsns))


def committed_not_truncated(
    props: tuple[Proposer, ...], accs: tuple[Acceptor, ...], committed: Committed
) -> bool:
    """CommittedNotTruncated: no leader's TruncateWal would remove a committed record."""
    done = set(committed)
    for prop in props:
        if prop[0] != 1:
            continue
        for acc in accs:
            if acc[0] == prop[1] and any(r in done for r in truncated_records(prop, acc)):
                return False
    return True


@dataclass(frozen=True, slots=True)
class Invariant:
    """A named state predicate: ``.name``, ``.kind`` ("always"/"sometimes"), ``.check(state)``."""

    name: str
    kind: str
    check: Callable[[object], bool]
