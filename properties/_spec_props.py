"""Private module for selective re-export (through :mod:`properties.consensus`).

The consensus properties over the abstract model's state
(:class:`properties.spec_view.SpecView`), with the TLA+ semantics of
``ProposerAcceptorStatic.tla``, under the implementation's property names
(:data:`TLA_NAMES` gives the correspondence). LSNs here are the spec's
1-based entry indexes, printed as plain integers.
"""

from __future__ import annotations

from properties.core import Failure, Property, Registry, always, fail, sometimes
from properties.spec_view import SpecAcceptor, SpecView, TermHistory

Result = bool | Failure

#: TLA+ invariant name -> the property that checks it (ElectionSafety and
#: ElectionSafetyFull are both checked by ``election_safety``).
TLA_NAMES: dict[str, str] = {
    "ElectionSafety": "election_safety",
    "ElectionSafetyFull": "election_safety",
    "LogIsMonotonic": "log_monotonic",
    "LogSafety": "log_safety",
    "CommittedNotTruncated": "committed_not_truncated",
}


def _p(i: int) -> str:
    return f"p{i + 1}"


def _a(i: int) -> str:
    return f"a{i + 1}"


def spec_election_safety(view: SpecView) -> Result:
    """No term is ever elected twice (ElectionSafetyFull) and no two leaders share a term
    now (ElectionSafety)."""
    for term, count in view.elected_history:
        if count > 1:
            holders = tuple(_p(i) for i, p in enumerate(view.proposers)
                            if p.term == term and p.state == "leader")
            return fail(f"term {term} was elected {count} times", term=term, count=count,
                        nodes=holders)
    leaders: dict[int, int] = {}
    for i, p in enumerate(view.proposers):
        if p.state == "leader":
            j = leaders.setdefault(p.term, i)
            if j != i:
                return fail(f"{_p(j)} and {_p(i)} are both leader of term {p.term}",
                            term=p.term, nodes=(_p(j), _p(i)))
    return True


def spec_log_monotonic(view: SpecView) -> Result:
    """Entry terms never decrease along each acceptor's WAL (LogIsMonotonic); term
    histories have strictly increasing terms and non-decreasing LSNs."""
    for i, a in enumerate(view.acceptors):
        for lsn in range(2, len(a.wal) + 1):
            if a.wal[lsn - 1] < a.wal[lsn - 2]:
                return fail(
                    f"{_a(i)}: entry term drops from {a.wal[lsn - 2]} to {a.wal[lsn - 1]} "
                    f"at lsn {lsn}",
                    lsn=lsn, term=a.wal[lsn - 1], terms=(a.wal[lsn - 2], a.wal[lsn - 1]),
                    nodes=(_a(i),),
                )
    named = [(_a(i), a.term_history) for i, a in enumerate(view.acceptors)]
    named += [(_p(i), p.term_history) for i, p in enumerate(view.proposers)]
    for node, th in named:
        for (t0, l0), (t1, l1) in zip(th, th[1:], strict=False):
            if t1 <= t0 or l1 < l0:
                return fail(
                    f"{node}: term history out of order: ({t0}, {l0}) then ({t1}, {l1})",
                    lsn=l1, term=t1, terms=(t0, t1), nodes=(node,),
                )
    return True


def spec_log_safety(view: SpecView) -> Result:
    """Two committed entries at the same LSN are the same entry (LogSafety)."""
    term_at: dict[int, int] = {}
    for term, lsn in view.committed:
        other = term_at.setdefault(lsn, term)
        if other != term:
            return fail(
                f"entries of terms {other} and {term} both committed at lsn {lsn}",
                lsn=lsn, term=term, terms=(other, term), nodes=(),
            )
    return True


def find_highest_common_point(
    prop_th: TermHistory, acc_th: TermHistory, acc_flush_lsn: int
) -> tuple[int, int] | None:
    """``FindHighestCommonPoint``: ``(term, lsn)`` where the acceptor's log leaves the
    proposer's, or None when the histories share no term at the same index.

    >>> find_highest_common_point(((0, 1), (1, 1), (3, 2)), ((0, 1), (1, 1), (2, 3)), 4)
    (1, 2)
    """
    idx = -1
    for i in range(min(len(prop_th), len(acc_th))):
        if prop_th[i][0] == acc_th[i][0]:
            idx = i
    if idx < 0:
        return None
    acc_end = acc_flush_lsn if idx == len(acc_th) - 1 else acc_th[idx + 1][1]
    prop_end = acc_flush_lsn if idx == len(prop_th) - 1 else prop_th[idx + 1][1]
    return prop_th[idx][0], min(acc_end, prop_end)


def _truncated(prop_th: TermHistory, acc: SpecAcceptor) -> tuple[tuple[int, int], ...]:
    hcp = find_highest_common_point(prop_th, acc.effective_term_history(), acc.flush_lsn)
    start = 1 if hcp is None else hcp[1]
    return tuple((acc.wal[lsn - 1], lsn) for lsn in range(max(start, 1), len(acc.wal) + 1))


def spec_committed_not_truncated(view: SpecView) -> Result:
    """No leader's TruncateWal on an acceptor of its term would remove a committed entry
    (CommittedNotTruncated; true with 3 acceptors, not with 5)."""
    done = set(view.committed)
    for i, p in enumerate(view.proposers):
        if p.state != "leader":
            continue
        for j, a in enumerate(view.acceptors):
            if a.term != p.term:
                continue
            for term, lsn in _truncated(p.term_history, a):
                if (term, lsn) in done:
                    return fail(
                        f"leader {_p(i)} (term {p.term}) would truncate committed entry "
                        f"(term {term}, lsn {lsn}) on {_a(j)}",
                        lsn=lsn, term=term, leader_term=p.term, nodes=(_p(i), _a(j)),
                    )
    return True


def spec_leader_elected(view: SpecView) -> Result:
    """Some proposer has been elected leader."""
    return bool(view.elected_history)


def spec_entry_committed(view: SpecView) -> Result:
    """Some entry has been committed."""
    return bool(view.committed)


def spec_properties(*, committed_not_truncated: bool = True) -> list[Property[SpecView]]:
    """The consensus properties over :class:`~properties.spec_view.SpecView`, same names
    as :func:`properties.consensus.consensus_properties` where both exist.

    ``committed_not_truncated=False`` leaves out the property that is not a
    true invariant with 5 acceptors (PROTOCOL.md section 4, #3).

    >>> [p.name for p in spec_properties()]  # doctest: +NORMALIZE_WHITESPACE
    ['election_safety', 'log_monotonic', 'log_safety', 'committed_not_truncated',
     'leader_elected', 'entry_committed']
    """
    props = [
        always("election_safety", spec_election_safety),
        always("log_monotonic", spec_log_monotonic),
        always("log_safety", spec_log_safety),
    ]
    if committed_not_truncated:
        props.append(always("committed_not_truncated", spec_committed_not_truncated))
    props += [
        sometimes("leader_elected", spec_leader_elected),
        sometimes("entry_committed", spec_entry_committed),
    ]
    return props


#: The properties of :func:`spec_properties`, by name.
SPEC_REGISTRY: Registry[SpecView] = Registry(spec_properties())
