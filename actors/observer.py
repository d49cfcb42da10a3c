"""Builds the properties' view of a walproposer world, and its history, step by step.

The world calls :meth:`Observer.after_step` after every actor step and
:meth:`Observer.on_event` for every event-log line. Views are kept per node
and refreshed only for the node that just stepped; the history tuples are
rebuilt only when a record was added. Records:

* an :class:`~properties.view.Election` when a proposer becomes leader;
* a :class:`~properties.view.Vote` for each ``vote`` line a safekeeper logs
  (the proposer is the client end of the connection the vote came on);
* a :class:`~properties.view.Commit` each time a proposer's commit LSN
  advances, with the bytes it holds for ``[base_lsn, lsn)``: ``base_lsn`` is
  the proposer's previous commit, or for its first commit the start of the
  WAL it holds (so the first commit of a new leader overlaps what earlier
  leaders committed, and the properties compare them byte for byte);
* a :class:`~properties.view.Truncation` for each ``truncate`` line that
  dropped bytes;
* proposer launches, the compute's last written LSN, and per acceptor the
  highest persisted commit LSN and term ever seen.

Checking is skipped after a step that left the view unchanged (same node
views, no new record): every property is a pure function of the view, so
the verdict would be the one already given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.safekeeper import SafekeeperView
from actors.termhistory import up_to
from actors.walproposer import WalProposerView
from actors.walstore import FlatWal, WalFiles
from modelcheck.world import Node, World
from properties.consensus import wal_digest
from properties.core import Checker, Violation
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

__all__ = ["Observer"]


def _log_terms(th: tuple[tuple[int, int], ...], flush: int) -> tuple[tuple[int, int, int], ...]:
    eff = up_to(th, flush)
    out = []
    for i, (term, lsn) in enumerate(eff):
        end = eff[i + 1][1] if i + 1 < len(eff) else flush
        out.append((term, lsn, end))
    return tuple(out)


class _Durable:
    """A node's disk seen through :meth:`~modelcheck.disk.Disk.read_durable` (read only)."""

    __slots__ = ("disk",)

    def __init__(self, disk: Any) -> None:
        self.disk = disk

    def read(self, name: str, offset: int, length: int) -> bytes:
        return self.disk.read_durable(name, offset, length)

    def exists(self, name: str) -> bool:
        return self.disk.exists(name)

    def size(self, name: str) -> int:
        return self.disk.size(name)


class Observer:
    """Keeps a :class:`ConsensusView` of ``world`` current and runs ``checker`` on it."""

    def __init__(self, world: World, sk_nodes: list[int], quorum: int, segment_size: int,
                 checker: Checker | None) -> None:
        self.world = world
        self.sk_nodes = sk_nodes
        self.quorum = quorum
        self.segment_size = segment_size
        self.checker = checker
        self.steps = 0
        self.faults_on = True
        self.violations: list[Violation] = []
        self._acceptors: dict[int, AcceptorView] = {}
        self._sk_raw: dict[int, SafekeeperView] = {}
        self._proposers: dict[int, ProposerView] = {}
        self._wp_raw: dict[int, WalProposerView] = {}
        self._wal: dict[int, WalFiles] = {}
        self.elections: list[Election] = []
        self.votes: list[Vote] = []
        self.commits: list[Commit] = []
        self.truncations: list[Truncation] = []
        self.proposer_restarts: list[int] = []
        self.last_written_lsn = 0
        self.max_commit: dict[int, int] = {}
        self.max_term: dict[int, int] = {}
        self._history: History | None = None
        self._dirty = True
        self.max_commit_lsn = 0  # highest commit LSN any proposer ever reported
        world.on_actor_step = self.after_step
        world.on_event = self.on_event

    # -- hooks ---------------------------------------------------------------------------

    def on_event(self, event: tuple) -> None:
        kind = event[2]
        if kind == "vote":
            fields = dict(event[3])
            proposer = self.world.network.connections[fields["conn"]].nodes[0]
            self.votes.append(Vote(self.steps + 1, event[0], fields["term"], event[1], proposer))
            self._changed()
        elif kind == "truncate":
            fields = dict(event[3])
            if fields["dropped"] > 0:
                hi, lo = fields["lsn"].split("/")
                lsn = int(hi, 16) << 32 | int(lo, 16)
                self.truncations.append(Truncation(self.steps + 1, event[0], event[1],
                                                   fields["term"], lsn, fields["dropped"]))
                self._changed()

    def after_step(self, node: Node) -> None:
        self.steps += 1
        actor = node.actor
        if actor is not None:
            raw = actor.view()
            if isinstance(raw, SafekeeperView):
                if self._sk_raw.get(node.nid) != raw:
                    self._sk_raw[node.nid] = raw
                    self._acceptors[node.nid] = self._acceptor_view(node, raw, True)
                    self._dirty = True
            elif isinstance(raw, WalProposerView) and self._wp_raw.get(node.nid) != raw:
                self._proposer_stepped(node, raw)
        self.check()

    def check(self) -> None:
        if self.checker is None or not self._dirty:
            return
        self._dirty = False
        new = self.checker.step(self.view(), self.world.now)
        if new:
            self.violations.extend(new)

    # -- acceptors ----------------------------------------------------------------------

    def _reader(self, node: Node) -> Callable[[int, int], bytes]:
        """The acceptor's WAL as a crash now would leave it (``log_safety``: durably held)."""
        wal = self._wal.get(node.nid)
        if wal is None:
            wal = self._wal[node.nid] = WalFiles(_Durable(node.disk), self.segment_size)
        return wal.read

    def _acceptor_view(self, node: Node, raw: SafekeeperView, up: bool) -> AcceptorView:
        c = raw.control
        nid = node.nid
        if c.commit_lsn > self.max_commit.get(nid, -1):
            self.max_commit[nid] = c.commit_lsn
            self._changed()
        if c.term > self.max_term.get(nid, -1):
            self.max_term[nid] = c.term
            self._changed()
        return AcceptorView(nid, up, c.term, c.term_history, raw.flush_lsn, c.commit_lsn,
                            c.peer_horizon_lsn, c.timeline_start_lsn, c.local_start_lsn,
                            self._reader(node), _log_terms(c.term_history, raw.flush_lsn))

    def node_down(self, node: Node) -> None:
        """A node crashed: keep its last view, marked down."""
        nid = node.nid
        if nid in self._sk_raw:
            self._acceptors[nid] = self._acceptor_view(node, self._sk_raw[nid], False)
            self._dirty = True
        elif nid in self._wp_raw:
            raw = self._wp_raw[nid]
            self._proposers[nid] = self._proposer_view(raw, False)
            self._dirty = True

    # -- proposers ----------------------------------------------------------------------

    def proposer_launched(self, node: Node) -> None:
        self.proposer_restarts.append(self.steps + 1)
        self._changed()

    def written(self, end_lsn: int) -> None:
        """The compute wrote WAL up to ``end_lsn`` (a new compute may start lower)."""
        self.last_written_lsn = end_lsn
        self._changed()

    @staticmethod
    def _proposer_view(raw: WalProposerView, up: bool) -> ProposerView:
        return ProposerView(raw.node, up, raw.sync, raw.state, raw.term, raw.term_start_lsn,
                            raw.commit_lsn, raw.truncate_lsn, raw.flush_lsn, raw.term_history)

    def _proposer_stepped(self, node: Node, raw: WalProposerView) -> None:
        old = self._wp_raw.get(node.nid)
        self._wp_raw[node.nid] = raw
        self._proposers[node.nid] = self._proposer_view(raw, True)
        self._dirty = True
        step, now = self.steps, self.world.now
        if raw.state == "elected" and (old is None or old.state != "elected"):
            self.elections.append(Election(step, now, raw.term, node.nid, raw.term_start_lsn))
            self._changed()
        old_commit = old.commit_lsn if old is not None else 0
        if raw.commit_lsn > old_commit:
            if old_commit:
                base = old_commit
            else:
                base = raw.wal_start_lsn if raw.wal_start_lsn else raw.commit_lsn
            data = FlatWal(node.disk, raw.wal_base_lsn).read(base, raw.commit_lsn)
            self.commits.append(Commit(step, now, raw.term, node.nid, raw.commit_lsn, base,
                                       wal_digest(data), data))
            self.max_commit_lsn = max(self.max_commit_lsn, raw.commit_lsn)
            self._changed()

    # -- the view -----------------------------------------------------------------------

    def _changed(self) -> None:
        self._history = None
        self._dirty = True

    def history(self) -> History:
        if self._history is None:
            self._history = History(
                tuple(self.elections), tuple(self.votes), tuple(self.commits),
                tuple(self.truncations), tuple(self.proposer_restarts), self.last_written_lsn,
                tuple(sorted(self.max_commit.items())), tuple(sorted(self.max_term.items())))
        return self._history

    def view(self) -> ConsensusView:
        return ConsensusView(self.steps, self.world.now, self.quorum,
                             tuple(self._acceptors[n] for n in self.sk_nodes
                                   if n in self._acceptors),
                             tuple(self._proposers.values()), self.history(), self.faults_on)

    def acceptor_raw(self, nid: int) -> Any:
        return self._sk_raw.get(nid)
