"""What the implementation model remembers and checks: a path-free history and its properties.

The exhaustive explorer (:mod:`actors.impl_model`) visits each *state* once,
whatever path reached it, so it cannot keep the observer's step-numbered
history (:mod:`actors.observer`). It keeps a :class:`Ghost` instead: the
history as sets (elections, votes, commits, whether WAL was ever truncated),
per acceptor the highest persisted commit LSN and term ever seen, and the
last view of every node that is down. The ghost is part of the model state,
so two states are merged only when their histories agree too.

Properties are checked on each *transition*: the view's history lists the
ghost's old records (step 0, sorted) followed by the records the transition
added (step 1), and the view's step is 1. Every WAL-consensus ``always``
property of :func:`properties.consensus.consensus_properties` compares new
records with old ones (a vote against the acceptor's earlier votes, a commit
against every earlier commit) or reads whole sets, so checking each record
once, when it is new, is exactly what the step-by-step observer does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from actors.safekeeper import SafekeeperView
from actors.termhistory import up_to
from actors.walproposer import WalProposerView
from actors.walstore import FlatWal, WalFiles
from modelcheck.system import System
from properties.consensus import consensus_properties, wal_digest
from properties.view import (
    AcceptorView,
    Commit,
    ConsensusView,
    Election,
    History,
    ProposerView,
    Truncation,
    Vote,
)

__all__ = ["Ghost", "Observation", "check", "observe", "ALWAYS"]

ALWAYS = [p for p in consensus_properties() if p.kind == "always"]
"""The safety properties the explorer checks (liveness needs fair cycles: not checked)."""


@dataclass(frozen=True, slots=True)
class Ghost:
    """The history part of an implementation-model state (plain, hashable data)."""

    elections: tuple[tuple[int, int, int], ...] = ()  # (term, proposer node, start lsn), sorted
    votes: tuple[tuple[int, int, int], ...] = ()  # (acceptor, term, proposer), sorted
    commits: tuple[tuple[int, int, int, int, str, bytes], ...] = ()  # (term, proposer, lsn,
    # base_lsn, digest, data), sorted
    truncated: bool = False  # some acceptor dropped WAL on a truncation
    max_commit: tuple[int, ...] = ()  # per acceptor: highest persisted commit LSN seen
    max_term: tuple[int, ...] = ()  # per acceptor: highest persisted term seen
    down_views: tuple[Any, ...] = ()  # per node: its last view while it is down, else None


@dataclass
class Observation:
    """What one transition added (the records new at this step)."""

    elections: list[tuple[int, int, int]] = dataclasses.field(default_factory=list)
    votes: list[tuple[int, int, int]] = dataclasses.field(default_factory=list)
    commits: list[tuple[int, int, int, int, str, bytes]] = dataclasses.field(
        default_factory=list)
    truncations: list[tuple[int, int, int, int]] = dataclasses.field(
        default_factory=list)  # (acceptor, term, lsn, dropped)


def proposer_id(system: System, nid: int) -> int:
    """A proposer incarnation's identity: ``node + 1000 * incarnation``.

    A restarted walproposer is a new proposer (the scenario launches it as a
    new node); the properties compare commits and elections per proposer, so
    incarnations of one node must not share an identity.
    """
    return nid + 1000 * system.nodes[nid].incarnation


def log_terms(th: tuple[tuple[int, int], ...], flush: int) -> tuple[tuple[int, int, int], ...]:
    """The acceptor's log along its term history up to ``flush``: ``(term, start, end)``."""
    eff = up_to(th, flush)
    return tuple((term, lsn, eff[i + 1][1] if i + 1 < len(eff) else flush)
                 for i, (term, lsn) in enumerate(eff))


def on_event(system: System, out: Observation, event: tuple) -> None:
    """Collect votes and truncations from the event log lines of one transition."""
    kind = event[2]
    if kind == "vote":
        fields = dict(event[3])
        proposer = system.conns[fields["conn"]].nodes[0]
        out.votes.append((event[1], fields["term"], proposer_id(system, proposer)))
    elif kind == "truncate":
        fields = dict(event[3])
        if fields["dropped"] > 0:
            hi, lo = fields["lsn"].split("/")
            out.truncations.append((event[1], fields["term"], int(hi, 16) << 32 | int(lo, 16),
                                    fields["dropped"]))


def observe(system: System, nid: int, before: Any, out: Observation) -> None:
    """Elections and commits of proposer ``nid`` between its view ``before`` and now."""
    node = system.nodes[nid]
    if node.actor is None:
        return
    raw = node.actor.view()
    if not isinstance(raw, WalProposerView):
        return
    old = before if isinstance(before, WalProposerView) else None
    pid = proposer_id(system, nid)
    if raw.state == "elected" and (old is None or old.state != "elected"):
        out.elections.append((raw.term, pid, raw.term_start_lsn))
    old_commit = old.commit_lsn if old is not None else 0
    if raw.commit_lsn > old_commit:
        base = old_commit or raw.wal_start_lsn or raw.commit_lsn
        data = FlatWal(node.disk, raw.wal_base_lsn).read(base, raw.commit_lsn)
        out.commits.append((raw.term, pid, raw.commit_lsn, base, wal_digest(data), data))


def _merge(old: tuple, new: list) -> tuple:
    return tuple(sorted(set(old).union(new))) if new else old


def next_ghost(ghost: Ghost, system: System, sk_nodes: range, obs: Observation,
               down: dict[int, Any]) -> Ghost:
    """The ghost after a transition: records merged, maxima raised, down views updated."""
    max_commit, max_term = list(ghost.max_commit), list(ghost.max_term)
    for i, nid in enumerate(sk_nodes):
        view = _sk_view(system, nid, ghost, down)
        if view is not None:
            max_commit[i] = max(max_commit[i], view.control.commit_lsn)
            max_term[i] = max(max_term[i], view.control.term)
    views = list(ghost.down_views)
    for nid, view in down.items():
        views[nid] = view
    return Ghost(_merge(ghost.elections, obs.elections), _merge(ghost.votes, obs.votes),
                 _merge(ghost.commits, obs.commits), ghost.truncated or bool(obs.truncations),
                 tuple(max_commit), tuple(max_term), tuple(views))


def _sk_view(system: System, nid: int, ghost: Ghost, down: dict[int, Any]) -> Any:
    node = system.nodes[nid]
    if node.actor is not None:
        return node.actor.view()
    return down.get(nid, ghost.down_views[nid] if ghost.down_views else None)


def consensus_view(system: System, sk_nodes: range, wp_nodes: range, quorum: int,
                   ghost: Ghost, obs: Observation, seg: int) -> ConsensusView:
    """The properties' view after a transition: old records at step 0, new ones at step 1."""
    acceptors = []
    for nid in sk_nodes:
        node = system.nodes[nid]
        raw = node.actor.view() if node.actor is not None else ghost.down_views[nid]
        if not isinstance(raw, SafekeeperView):
            continue
        c = raw.control
        acceptors.append(AcceptorView(
            nid, node.actor is not None, c.term, c.term_history, raw.flush_lsn, c.commit_lsn,
            c.peer_horizon_lsn, c.timeline_start_lsn, c.local_start_lsn,
            WalFiles(node.disk, seg).read, log_terms(c.term_history, raw.flush_lsn)))
    proposers = []
    for nid in wp_nodes:
        node = system.nodes[nid]
        up = node.actor is not None
        raw = node.actor.view() if up else ghost.down_views[nid]
        if isinstance(raw, WalProposerView):
            pid = proposer_id(system, nid)  # a down node keeps its incarnation
            proposers.append(ProposerView(pid, up, raw.sync, raw.state, raw.term,
                                          raw.term_start_lsn, raw.commit_lsn, raw.truncate_lsn,
                                          raw.flush_lsn, raw.term_history))
    history = History(
        tuple(Election(0, 0, t, p, lsn) for t, p, lsn in ghost.elections)
        + tuple(Election(1, 0, t, p, lsn) for t, p, lsn in obs.elections),
        tuple(Vote(0, 0, t, a, p) for a, t, p in ghost.votes)
        + tuple(Vote(1, 0, t, a, p) for a, t, p in obs.votes),
        tuple(Commit(0, 0, *c) for c in ghost.commits)
        + tuple(Commit(1, 0, *c) for c in obs.commits),
        tuple(Truncation(1, 0, a, t, lsn, d) for a, t, lsn, d in obs.truncations),
        (), 0,
        tuple((nid, v) for nid, v in zip(sk_nodes, ghost.max_commit, strict=True)),
        tuple((nid, v) for nid, v in zip(sk_nodes, ghost.max_term, strict=True)))
    return ConsensusView(1, system.now, quorum, tuple(acceptors), tuple(proposers), history)


def check(view: ConsensusView) -> tuple[tuple[str, str], ...]:
    """``(property, message)`` for every ``always`` property the view violates."""
    out = []
    for prop in ALWAYS:
        result = prop.predicate(view)
        if result is not True:
            out.append((prop.name, getattr(result, "message", "") or f"{prop.name} is false"))
    return tuple(out)
