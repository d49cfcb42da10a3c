"""The WAL-consensus invariants, over :class:`properties.view.ConsensusView`.

Each property is an ``always`` / ``eventually`` / ``sometimes`` object whose
predicate returns ``True`` or a :class:`~properties.core.Failure` naming the
offending LSN (PostgreSQL ``X/X`` text), term and nodes. Drivers get them all
from :func:`consensus_properties` (or by name from :data:`REGISTRY`) and run
them through a :class:`~properties.core.Checker` after every step.

The same property names are offered over the abstract model's state by
:func:`spec_properties` (see :mod:`properties.spec_view`), so the TLA+-level
model and the implementation are judged by the same names.

Predicates are pure functions of the view. The history tuples are scanned
whole on each call (O(records) per step), which keeps the properties correct
for any driver, including the explorer, that does not visit views in order.
"""

from __future__ import annotations

from collections.abc import Iterator

from properties._commit_props import commit_lsn_monotonic, first_failure, log_safety
from properties._format import format_lsn, wal_digest
from properties._spec_props import SPEC_REGISTRY, TLA_NAMES, spec_properties
from properties.core import Failure, Property, Registry, always, eventually, fail, sometimes
from properties.view import AcceptorView, ConsensusView, TermHistory

__all__ = [
    "REGISTRY",
    "SPEC_REGISTRY",
    "TLA_NAMES",
    "commit_lsn_monotonic",
    "consensus_properties",
    "format_lsn",
    "log_safety",
    "spec_properties",
    "wal_digest",
]

Result = bool | Failure


# --------------------------------------------------------------------------- elections


def election_safety(view: ConsensusView) -> Result:
    """Never two leaders for the same term, over the whole run.

    Protects: the single-writer rule. Two leaders of one term would both
    believe they own the WAL from their start point, write different records
    at the same LSNs and both collect acknowledgements for them.
    Checks every :class:`~properties.view.Election` ever recorded (TLA+
    ElectionSafetyFull) and, at this instant, the proposers that are up and
    ``elected`` (ElectionSafety).
    """
    first_by_term: dict[int, tuple[int, int]] = {}
    for e in view.history.elections:
        first = first_by_term.get(e.term)
        if first is not None:
            return fail(
                f"term {e.term} elected twice: proposer {first[0]} at step {first[1]}, "
                f"proposer {e.proposer} at step {e.step}",
                term=e.term, nodes=(first[0], e.proposer), steps=(first[1], e.step),
                lsn=format_lsn(e.start_lsn),
            )
        first_by_term[e.term] = (e.proposer, e.step)
    leaders: dict[int, int] = {}
    for p in view.proposers:
        if p.up and p.state == "elected":
            other = leaders.setdefault(p.term, p.node)
            if other != p.node:
                return fail(
                    f"proposers {other} and {p.node} are both leader of term {p.term}",
                    term=p.term, nodes=(other, p.node),
                )
    return True


# --------------------------------------------------------------------------- logs


def log_monotonic(view: ConsensusView) -> Result:
    """Along each acceptor's log, record terms never decrease; term histories are ordered.

    Protects: the meaning of a term history. Log entries carry no term; the
    history ``((term, start_lsn), ...)`` says which term wrote which bytes,
    and election (donor choice by last log term) and truncation (highest
    common point) trust it. Checks each acceptor's ``log_terms`` (TLA+
    LogIsMonotonic) and that every acceptor's and proposer's term history has
    strictly increasing terms and non-decreasing LSNs.
    """
    for a in view.acceptors:
        failure = first_failure(
            lambda a=a: _log_terms_ordered(a),
            lambda a=a: _history_ordered("acceptor", a.node, a.term_history),
        )
        if failure is not None:
            return failure
    for p in view.proposers:
        failure = _history_ordered("proposer", p.node, p.term_history)
        if failure is not None:
            return failure
    return True


def _log_terms_ordered(a: AcceptorView) -> Failure | None:
    prev: tuple[int, int, int] | None = None
    for seg in a.log_terms:
        term, start, end = seg
        if start > end:
            return fail(
                f"acceptor {a.node}: log segment of term {term} ends at {format_lsn(end)} "
                f"before it starts at {format_lsn(start)}",
                lsn=format_lsn(start), term=term, nodes=(a.node,),
            )
        if prev is not None and (term < prev[0] or start < prev[2]):
            what = "term decreases" if term < prev[0] else "segments overlap"
            return fail(
                f"acceptor {a.node}: {what} along the log at {format_lsn(start)}: "
                f"term {prev[0]} up to {format_lsn(prev[2])}, then term {term}",
                lsn=format_lsn(start), term=term, terms=(prev[0], term), nodes=(a.node,),
            )
        prev = seg
    return None


def _history_ordered(kind: str, node: int, th: TermHistory) -> Failure | None:
    for (t0, l0), (t1, l1) in _pairs(th):
        if t1 <= t0 or l1 < l0:
            what = "terms not increasing" if t1 <= t0 else "LSNs decreasing"
            return fail(
                f"{kind} {node}: term history {what}: ({t0}, {format_lsn(l0)}) then "
                f"({t1}, {format_lsn(l1)})",
                lsn=format_lsn(l1), term=t1, terms=(t0, t1), nodes=(node,),
            )
    return None


def _pairs(th: TermHistory) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
    return zip(th, th[1:], strict=False)


# --------------------------------------------------------------------------- acceptors


def acceptor_term_monotonic(view: ConsensusView) -> Result:
    """An acceptor's term never decreases and covers every vote it gave.

    Protects: the promise behind a vote. Once an acceptor voted in term T it
    must refuse every lower term, across crashes, or two proposers can each
    count it in their quorum (PROTOCOL.md section 4, #7: a vote replied before
    it was persisted). Checks: the persisted term is not below the highest
    ever observed (``History.max_acceptor_term``) nor below any vote the
    acceptor gave, and one acceptor's votes have strictly increasing terms.
    """
    seen = dict(view.history.max_acceptor_term)
    last_vote: dict[int, tuple[int, int]] = {}  # acceptor -> (term, proposer)
    for v in view.history.votes:
        prev = last_vote.get(v.acceptor)
        if prev is not None and v.term <= prev[0]:
            return fail(
                f"acceptor {v.acceptor} voted for proposer {v.proposer} in term {v.term} at step "
                f"{v.step} after voting for proposer {prev[1]} in term {prev[0]}",
                term=v.term, terms=(prev[0], v.term), nodes=(v.acceptor, prev[1], v.proposer),
            )
        last_vote[v.acceptor] = (v.term, v.proposer)
    for a in view.acceptors:
        prev_term = seen.get(a.node)
        if prev_term is not None and a.term < prev_term:
            return fail(
                f"acceptor {a.node} term went back from {prev_term} to {a.term}",
                term=a.term, previous=prev_term, nodes=(a.node,),
            )
        vote = last_vote.get(a.node)
        if vote is not None and a.term < vote[0]:
            return fail(
                f"acceptor {a.node} has term {a.term} but voted for proposer {vote[1]} "
                f"in term {vote[0]}",
                term=a.term, previous=vote[0], nodes=(a.node, vote[1]),
            )
    return True


def lsn_order(view: ConsensusView) -> Result:
    """On every acceptor, flush LSN >= commit LSN and flush LSN >= truncate LSN (persisted).

    Protects: the acceptor's own bookkeeping. ``commit_lsn`` (persisted in
    the control file) is capped by the durable WAL end, so a commit LSN above
    ``flush_lsn`` claims bytes the acceptor does not have; ``truncate_lsn``
    (the persisted ``peer_horizon_lsn``) says every acceptor holds the WAL
    below it, this one included. Compared as persisted, so the check also
    holds for acceptors that are down.

    Commit and truncate LSN are deliberately not ordered with each other: a
    new proposer's horizon is the highest its voters report, while its commit
    LSN starts again from nothing, so an acceptor may learn that everyone
    holds some WAL before it learns that WAL is committed (walproposer seed
    1232 of the correct protocol does exactly this).
    """
    for a in view.acceptors:
        if a.commit_lsn > a.flush_lsn or a.truncate_lsn > a.flush_lsn:
            which, bad = ("commit_lsn", a.commit_lsn) if a.commit_lsn > a.flush_lsn \
                else ("truncate_lsn", a.truncate_lsn)
            return fail(
                f"acceptor {a.node}: {which} above flush_lsn (flush {format_lsn(a.flush_lsn)}, "
                f"commit {format_lsn(a.commit_lsn)}, truncate {format_lsn(a.truncate_lsn)})",
                lsn=format_lsn(bad), flush_lsn=format_lsn(a.flush_lsn),
                commit_lsn=format_lsn(a.commit_lsn), truncate_lsn=format_lsn(a.truncate_lsn),
                term=a.term, nodes=(a.node,),
            )
    return True


def committed_not_truncated(view: ConsensusView) -> Result:
    """No acceptor cuts its WAL below its own persisted commit LSN.

    Protects: committed data on each acceptor (the safekeeper's "attempt to
    truncate committed data" assertion). Checked for the truncations recorded
    at this step, against the acceptor's persisted ``commit_lsn`` (a
    truncation never lowers it). The spec-level property of the same name is
    stronger (no leader truncates a globally committed record) and is not a
    true invariant with 5 acceptors; see ``docs/properties.md``.
    """
    by_node = {a.node: a for a in view.acceptors}
    for t in reversed(view.history.truncations):
        if t.step != view.step:
            break
        a = by_node.get(t.acceptor)
        if a is not None and t.lsn < a.commit_lsn:
            return fail(
                f"acceptor {t.acceptor} truncated its WAL at {format_lsn(t.lsn)} in term "
                f"{t.term}, below its commit LSN {format_lsn(a.commit_lsn)}",
                lsn=format_lsn(t.lsn), commit_lsn=format_lsn(a.commit_lsn), term=t.term,
                nodes=(t.acceptor,),
            )
    return True


# --------------------------------------------------------------------------- liveness


def commit_progress(view: ConsensusView) -> Result:
    """The commit LSN reaches the end of the WAL written so far.

    Protects: availability. Once faults stop and a quorum is connected, a
    leader must be elected and everything the compute wrote
    (``History.last_written_lsn``) committed. The commit LSN is the highest
    of every recorded commit and every up proposer's ``commit_lsn``.
    """
    h = view.history
    commit = max([c.lsn for c in h.commits] + [p.commit_lsn for p in view.proposers if p.up],
                 default=0)
    if commit >= h.last_written_lsn:
        return True
    leaders = tuple(p.node for p in view.proposers if p.up and p.state == "elected")
    return fail(
        f"commit LSN {format_lsn(commit)} has not reached the last written LSN "
        f"{format_lsn(h.last_written_lsn)}",
        lsn=format_lsn(commit), last_written_lsn=format_lsn(h.last_written_lsn),
        term=max((p.term for p in view.proposers if p.up), default=0), nodes=leaders,
        acceptors_up=tuple(a.node for a in view.acceptors if a.up),
    )


# --------------------------------------------------------------------------- sometimes


def leader_elected(view: ConsensusView) -> Result:
    """Some proposer has been elected leader (the run got past the election)."""
    return bool(view.history.elections)


def wal_truncated(view: ConsensusView) -> Result:
    """Some acceptor dropped WAL when a new leader truncated it (divergent tails were
    exercised)."""
    return any(t.dropped > 0 for t in view.history.truncations)


def commit_after_proposer_restart(view: ConsensusView) -> Result:
    """A commit happened after a proposer restart that itself followed an earlier commit
    (recovery through a new term was exercised)."""
    h = view.history
    if not h.commits or not h.proposer_restarts:
        return False
    first, last = h.commits[0].step, h.commits[-1].step
    return any(first <= r < last for r in h.proposer_restarts)


# --------------------------------------------------------------------------- registry


def consensus_properties(*, liveness_within_ms: int = 10_000) -> list[Property[ConsensusView]]:
    """Every WAL-consensus property over :class:`~properties.view.ConsensusView`, in a
    fixed order: safety (``always``), then liveness (``eventually``), then witnesses
    (``sometimes``).

    ``liveness_within_ms`` is the virtual time the liveness phase allows
    ``commit_progress`` (must be > 0).

    >>> [p.name for p in consensus_properties()][:3]
    ['election_safety', 'log_safety', 'commit_lsn_monotonic']
    """
    return [
        always("election_safety", election_safety),
        always("log_safety", log_safety),
        always("commit_lsn_monotonic", commit_lsn_monotonic),
        always("log_monotonic", log_monotonic),
        always("acceptor_term_monotonic", acceptor_term_monotonic),
        always("lsn_order", lsn_order),
        always("committed_not_truncated", committed_not_truncated),
        eventually("commit_progress", commit_progress, within_ms=liveness_within_ms),
        sometimes("leader_elected", leader_elected),
        sometimes("wal_truncated", wal_truncated),
        sometimes("commit_after_proposer_restart", commit_after_proposer_restart),
    ]


#: The properties of :func:`consensus_properties` (default deadline), by name.
REGISTRY: Registry[ConsensusView] = Registry(consensus_properties())
