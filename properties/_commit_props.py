"""Private module for selective re-export (through :mod:`properties.consensus`).

The commit properties over :class:`properties.view.ConsensusView`:
``log_safety`` (committed WAL is on a quorum and never changes) and
``commit_lsn_monotonic`` (commit LSNs never go backwards).
"""

from __future__ import annotations

from collections.abc import Callable

from properties._format import first_difference, format_lsn, wal_digest
from properties.core import Failure, fail
from properties.view import AcceptorView, Commit, ConsensusView

Result = bool | Failure

def first_failure(*checks: Callable[[], Failure | None]) -> Failure | None:
    """The first check's Failure, running no further (a Failure is falsy: never chain
    checks with ``or``)."""
    for check in checks:
        failure = check()
        if failure is not None:
            return failure
    return None


# --------------------------------------------------------------------------- log safety


def log_safety(view: ConsensusView) -> Result:
    """Everything committed is on a quorum when committed, and never changes.

    Protects: durability of acknowledged transactions. For each commit
    recorded at this step, a quorum of acceptors must durably hold exactly
    the proposer's bytes ``[base_lsn, lsn)`` (compared with
    :func:`wal_digest`, or byte for byte when the commit carries ``data``).
    And any two commits, at any steps, must agree wherever their ranges
    overlap: the same LSN is always the same record (TLA+ LogSafety).
    """
    commits = view.history.commits
    for i in _new_commit_indices(commits, view.step):
        c = commits[i]
        failure = first_failure(
            lambda c=c: _self_consistent(c),
            lambda c=c: _on_quorum(view, c),
            lambda i=i: _agrees_with_earlier(commits, i),
        )
        if failure is not None:
            return failure
    return True


def _new_commit_indices(commits: tuple[Commit, ...], step: int) -> list[int]:
    """Indices of the commits recorded at ``step`` (records are in step order)."""
    out: list[int] = []
    for i in range(len(commits) - 1, -1, -1):
        if commits[i].step != step:
            break
        out.append(i)
    out.reverse()
    return out


def _self_consistent(c: Commit) -> Failure | None:
    if c.base_lsn > c.lsn:
        return fail(
            f"commit record of proposer {c.proposer} has base_lsn {format_lsn(c.base_lsn)} "
            f"above lsn {format_lsn(c.lsn)} (observer error)",
            lsn=format_lsn(c.lsn), term=c.term, nodes=(c.proposer,),
        )
    if c.data is not None and (len(c.data) != c.lsn - c.base_lsn or wal_digest(c.data) != c.digest):
        return fail(
            f"commit record of proposer {c.proposer} at {format_lsn(c.lsn)}: data does not match "
            "its range or digest (observer error: use properties.consensus.wal_digest)",
            lsn=format_lsn(c.lsn), term=c.term, nodes=(c.proposer,),
        )
    return None


def _holds(a: AcceptorView, c: Commit) -> tuple[bool, int | None]:
    """Whether acceptor ``a`` durably holds the commit's bytes; else the first bad LSN."""
    if c.lsn == c.base_lsn:
        return True, None
    if a.flush_lsn < c.lsn:
        return False, a.flush_lsn
    start = max(c.base_lsn, a.local_start_lsn)
    if start >= c.lsn or (c.data is None and start != c.base_lsn):
        return False, c.base_lsn
    got = a.wal(start, c.lsn)
    if c.data is None:
        return (True, None) if wal_digest(got) == c.digest else (False, c.base_lsn)
    want = c.data[start - c.base_lsn :]
    if got == want:
        return True, None
    return False, start + first_difference(got, want)


def _on_quorum(view: ConsensusView, c: Commit) -> Failure | None:
    holders: list[int] = []
    lacking: list[str] = []
    for a in view.acceptors:
        ok, bad_lsn = _holds(a, c)
        if ok:
            holders.append(a.node)
        else:
            lacking.append(f"{a.node}@{format_lsn(bad_lsn or 0)}")
    if len(holders) >= view.quorum:
        return None
    return fail(
        f"proposer {c.proposer} (term {c.term}) committed up to {format_lsn(c.lsn)} but only "
        f"{len(holders)} acceptor(s) hold [{format_lsn(c.base_lsn)}, {format_lsn(c.lsn)}) "
        f"identically; quorum is {view.quorum}",
        lsn=format_lsn(c.lsn), term=c.term, nodes=tuple(holders), proposer=c.proposer,
        lacking=tuple(lacking), quorum=view.quorum,
    )


def _agrees_with_earlier(commits: tuple[Commit, ...], i: int) -> Failure | None:
    c = commits[i]
    for e in commits[:i]:
        lo, hi = max(c.base_lsn, e.base_lsn), min(c.lsn, e.lsn)
        if lo >= hi:
            continue
        bad: int | None = None
        if c.data is not None and e.data is not None:
            mine = c.data[lo - c.base_lsn : hi - c.base_lsn]
            theirs = e.data[lo - e.base_lsn : hi - e.base_lsn]
            if mine != theirs:
                bad = lo + first_difference(mine, theirs)
        elif (c.base_lsn, c.lsn) == (e.base_lsn, e.lsn) and c.digest != e.digest:
            bad = lo
        if bad is not None:
            return fail(
                f"two different records committed at {format_lsn(bad)}: by proposer "
                f"{e.proposer} (term {e.term}) at step {e.step} and by proposer {c.proposer} "
                f"(term {c.term}) at step {c.step}",
                lsn=format_lsn(bad), terms=(e.term, c.term), term=c.term,
                nodes=(e.proposer, c.proposer), steps=(e.step, c.step),
            )
    return None


# --------------------------------------------------------------------- commit monotonicity


def commit_lsn_monotonic(view: ConsensusView) -> Result:
    """Commit LSNs never go backwards, for a proposer, an acceptor or the whole system.

    Protects: readers (replicas, the pageserver, sync-safekeepers' basebackup
    LSN) that act on a commit LSN once they have seen it. Checks: each
    proposer's commits within a term are non-decreasing and its current
    ``commit_lsn`` is not below them; every commit of a term is at or above
    every commit of all lower terms, and a new leader starts at or above them
    (leader completeness: the globally committed prefix never shrinks); each
    acceptor's persisted ``commit_lsn`` is not below the highest ever observed,
    across crashes (``History.max_acceptor_commit``). That the prefix never
    *changes* is :func:`log_safety`'s job.
    """
    failure = first_failure(
        lambda: _proposer_commits(view),
        lambda: _commits_across_terms(view),
        lambda: _acceptor_commits(view),
    )
    return True if failure is None else failure


def _proposer_commits(view: ConsensusView) -> Failure | None:
    last: dict[tuple[int, int], int] = {}
    for c in view.history.commits:
        key = (c.proposer, c.term)
        prev = last.get(key)
        if prev is not None and c.lsn < prev:
            return fail(
                f"proposer {c.proposer} commit LSN went back in term {c.term}: "
                f"{format_lsn(prev)} -> {format_lsn(c.lsn)} at step {c.step}",
                lsn=format_lsn(c.lsn), previous=format_lsn(prev), term=c.term,
                nodes=(c.proposer,),
            )
        last[key] = c.lsn if prev is None else max(prev, c.lsn)
    for p in view.proposers:
        prev = last.get((p.node, p.term))
        if p.up and prev is not None and p.commit_lsn < prev:
            return fail(
                f"proposer {p.node} commit LSN {format_lsn(p.commit_lsn)} is below "
                f"{format_lsn(prev)}, committed earlier in term {p.term}",
                lsn=format_lsn(p.commit_lsn), previous=format_lsn(prev), term=p.term,
                nodes=(p.node,),
            )
    return None


def _commits_across_terms(view: ConsensusView) -> Failure | None:
    lowest: dict[int, Commit] = {}
    highest: dict[int, Commit] = {}
    for c in view.history.commits:
        if c.term not in lowest or c.lsn < lowest[c.term].lsn:
            lowest[c.term] = c
        if c.term not in highest or c.lsn > highest[c.term].lsn:
            highest[c.term] = c
    best: Commit | None = None  # the highest commit of all lower terms
    for term in sorted(lowest):
        low = lowest[term]
        if best is not None and low.lsn < best.lsn:
            return fail(
                f"proposer {low.proposer} committed {format_lsn(low.lsn)} in term {term}, below "
                f"{format_lsn(best.lsn)} committed by proposer {best.proposer} in term {best.term}",
                lsn=format_lsn(low.lsn), previous=format_lsn(best.lsn), term=term,
                terms=(best.term, term), nodes=(best.proposer, low.proposer),
            )
        if best is None or highest[term].lsn > best.lsn:
            best = highest[term]
    for e in view.history.elections:
        below = [c for t, c in highest.items() if t < e.term and c.lsn > e.start_lsn]
        if below:
            c = max(below, key=lambda x: (x.lsn, x.term))
            return fail(
                f"proposer {e.proposer} elected in term {e.term} starting at "
                f"{format_lsn(e.start_lsn)}, below {format_lsn(c.lsn)} committed in term {c.term}",
                lsn=format_lsn(e.start_lsn), previous=format_lsn(c.lsn), term=e.term,
                terms=(c.term, e.term), nodes=(c.proposer, e.proposer),
            )
    return None


def _acceptor_commits(view: ConsensusView) -> Failure | None:
    seen = dict(view.history.max_acceptor_commit)
    for a in view.acceptors:
        prev = seen.get(a.node)
        if prev is not None and a.commit_lsn < prev:
            return fail(
                f"acceptor {a.node} persisted commit LSN went back: {format_lsn(prev)} -> "
                f"{format_lsn(a.commit_lsn)}",
                lsn=format_lsn(a.commit_lsn), previous=format_lsn(prev), term=a.term,
                nodes=(a.node,),
            )
    return None
