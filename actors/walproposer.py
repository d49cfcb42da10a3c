"""The walproposer (proposer), normal and sync-safekeepers mode (PROTOCOL.md 2.4, 3.6-3.9).

A sans-I/O port of walproposer.c's state machine as the original simulator
runs it: connect to every safekeeper (a connection attempt fails at once with
10 % probability, as the simulator's ``conn_status``), greet, collect terms
until a quorum has greeted, campaign with ``propTerm + 1``, become leader on a
quorum of votes, pick the donor with the highest ``(last_log_term,
flush_lsn)``, download ``[truncateLsn, propTermStartLsn)`` from the donor
(``START_REPLICATION`` on a separate connection), send ProposerElected, then
stream WAL in chunks of at most 128 KiB, with a heartbeat every reconnect
round. The commit LSN is the quorum-th highest flush LSN among those at or
above ``propTermStartLsn`` (the Raft rule). Every reconnect round (1000 ms)
offline safekeepers are reconnected and silent ones (5000 ms) dropped.

Expected fatal errors (PROTOCOL.md 2.4's allowlist, plus the higher-term
AppendResponse) end the actor with ``ctx.exit(1, msg)``; sync mode ends with
``ctx.exit(0, "X/Y")``. Anything else that goes wrong raises.

New WAL is announced by a :class:`actors.compute.Latch` message on the
pseudo-connection ``conn == -1`` (the original's ``NodeEvent::Internal``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors import termhistory as thmod
from actors.compute import Latch
from actors.messages import (
    MAX_SEND_SIZE,
    AcceptorGreeting,
    AppendRequest,
    AppendResponse,
    MembershipConfiguration,
    ProposerElected,
    ProposerGreeting,
    ReplicationData,
    StartReplication,
    VoteRequest,
    VoteResponse,
    decode_acceptor_message,
    encode,
)
from actors.mutants import NONE, Mutants, quorum
from actors.walstore import FlatWal
from modelcheck.actor import Actor, Context
from modelcheck.network import Endpoint
from pgwal.lsn import format_lsn

__all__ = ["WalProposer", "WalProposerConfig", "WalProposerView", "skip_page_header"]

OFFLINE, HANDSHAKE, WAIT_VOTING, WAIT_VERDICT, WAIT_ELECTED, ACTIVE = (
    "offline", "handshake", "wait_voting", "wait_verdict", "wait_elected", "active")
COLLECTING, CAMPAIGN, ELECTED, EXITED = "collecting", "campaign", "elected", "exited"

FATAL_REJECTED = "rejects our connection request with term"
FATAL_BASEBACKUP = "but basebackup LSN"
FATAL_DOWNLOAD = "failed to download WAL for logical replicaiton"  # (sic), as the original
FATAL_HIGHER_TERM = "rejected our request, our term"
EXPECTED_FATALS = (FATAL_REJECTED, FATAL_BASEBACKUP, FATAL_DOWNLOAD, FATAL_HIGHER_TERM)


def skip_page_header(lsn: int, segment_size: int) -> int:
    """``lsn``, moved past the page header when it sits exactly on a page boundary."""
    if lsn % 8192:
        return lsn
    return lsn + (40 if lsn % segment_size == 0 else 24)


@dataclass(frozen=True, slots=True)
class WalProposerConfig:
    safekeepers: tuple[int, ...]  # node ids
    sync: bool
    redo_start_lsn: int = 0  # the launch ("basebackup") LSN in normal mode
    wal_base_lsn: int = 0  # lowest LSN this proposer's WAL file can hold
    segment_size: int = 16 * 1024 * 1024
    system_id: int = 0
    pg_version: int = 150000
    tenant_id: str = "0" * 32
    timeline_id: str = "0" * 31 + "1"
    reconnect_timeout_ms: int = 1000
    connection_timeout_ms: int = 5000
    wire: bool = False
    mutants: Mutants = NONE


@dataclass(frozen=True, slots=True)
class WalProposerView:
    """What an observer may see of a walproposer."""

    node: int
    sync: bool
    state: str
    term: int
    term_start_lsn: int
    commit_lsn: int
    truncate_lsn: int
    flush_lsn: int  # end of the WAL the proposer holds
    wal_start_lsn: int  # start of the WAL the proposer holds
    wal_base_lsn: int  # where its WAL file starts (FlatWal)
    term_history: tuple[tuple[int, int], ...]


@dataclass
class _Sk:
    node: int
    state: str = OFFLINE
    ep: Endpoint | None = None
    latest_msg_at: int = 0
    vote: VoteResponse | None = None
    streaming_at: int = 0
    last_flush_lsn: int = 0  # from the last AppendResponse (kept across reconnects)
    last_commit_lsn: int = 0


@dataclass
class WalProposer(Actor):
    cfg: WalProposerConfig
    node: int = -1
    state: str = COLLECTING
    sks: list[_Sk] = field(default_factory=list)
    conn_to_sk: dict[int, int] = field(default_factory=dict)
    n_connected: int = 0
    prop_term: int = 0
    donor: int = -1
    prop_term_start_lsn: int = 0
    truncate_lsn: int = 0
    commit_lsn: int = 0
    available_lsn: int = 0
    flush_lsn: int = 0  # end of the WAL this proposer holds (the compute's flush)
    wal_start_lsn: int = 0
    prop_term_history: tuple[tuple[int, int], ...] = ()
    download: tuple[Endpoint, int, int, int] | None = None  # ep, start, end, started_at
    deferred: list[tuple[Endpoint, Any]] = field(default_factory=list)
    _wal: Any = None

    @property
    def quorum(self) -> int:
        return quorum(len(self.cfg.safekeepers), self.cfg.mutants)

    def view(self) -> WalProposerView:
        return WalProposerView(self.node, self.cfg.sync, self.state, self.prop_term,
                               self.prop_term_start_lsn, self.commit_lsn, self.truncate_lsn,
                               self.flush_lsn, self.wal_start_lsn, self.cfg.wal_base_lsn,
                               self.prop_term_history)

    # -- start, connections --------------------------------------------------------------

    def on_start(self, ctx: Context) -> None:
        self.node = ctx.node
        self._wal = FlatWal(ctx.disk, self.cfg.wal_base_lsn)
        self.sks = [_Sk(n) for n in self.cfg.safekeepers]
        if not self.cfg.sync:
            self.flush_lsn = self.wal_start_lsn = self.cfg.redo_start_lsn
        ctx.log("started", role="walproposer", sync=int(self.cfg.sync))
        for i in range(len(self.sks)):
            self._connect(ctx, i)
        ctx.set_timer("tick", self.cfg.reconnect_timeout_ms)

    def _send(self, ctx: Context, ep: Endpoint, msg: Any) -> None:
        ctx.send(ep, encode(msg) if self.cfg.wire else msg)

    def _connect(self, ctx: Context, i: int) -> None:
        sk = self.sks[i]
        assert sk.state == OFFLINE, sk
        if ctx.random(100) < 10:  # the simulator's conn_status: BAD 10 % of the time
            ctx.log("connect_failed", sk=sk.node)
            return
        ep = ctx.connect(sk.node)
        sk.ep, sk.state, sk.latest_msg_at = ep, HANDSHAKE, ctx.now
        self.conn_to_sk[ep.conn] = i
        self._send(ctx, ep, ProposerGreeting(
            self.cfg.tenant_id, self.cfg.timeline_id, MembershipConfiguration(0),
            self.cfg.pg_version, self.cfg.system_id, self.cfg.segment_size))

    def _shutdown(self, ctx: Context, i: int, why: str) -> None:
        sk = self.sks[i]
        if sk.ep is not None:
            ctx.close(sk.ep)
            self.conn_to_sk.pop(sk.ep.conn, None)
        ctx.log("sk_shutdown", sk=sk.node, why=why)
        sk.ep, sk.state = None, OFFLINE

    def _fatal(self, ctx: Context, message: str) -> None:
        ctx.log("fatal", message=message)
        self.state = EXITED
        ctx.exit(1, message)

    def _finish_sync(self, ctx: Context, lsn: int) -> None:
        self.state = EXITED
        ctx.exit(0, format_lsn(lsn))

    # -- events ------------------------------------------------------------------------------

    def wal_written(self, ctx: Context, start: int, end: int, count: int) -> None:
        """The compute of this node made ``[start, end)`` durable (``count`` transactions):
        log it and wake the proposer as the inbox's :class:`Latch` would (drivers without an
        inbox, such as the controlled System, call this from a command)."""
        ctx.log("write_wal", start=format_lsn(start), end=format_lsn(end), cnt=count)
        self.on_message(ctx, Endpoint(-1, ctx.node, ctx.node, 0), Latch(end))

    def on_message(self, ctx: Context, src: Endpoint, msg: Any) -> None:
        if self.state == EXITED:
            return
        if src.conn == -1:  # the latch: the compute flushed new WAL
            assert isinstance(msg, Latch), msg
            self.flush_lsn = max(self.flush_lsn, msg.flush_lsn)
            if self.state == ELECTED and self.download is None:
                self._broadcast(ctx)
            return
        if isinstance(msg, (bytes, bytearray)):
            msg = decode_acceptor_message(msg)
        if self.download is not None:
            if src.conn == self.download[0].conn:
                self._download_done(ctx, msg)
            else:
                self.deferred.append((src, msg))  # the original blocks in recovery_download
            return
        self._dispatch(ctx, src, msg)

    def _dispatch(self, ctx: Context, src: Endpoint, msg: Any) -> None:
        i = self.conn_to_sk.get(src.conn)
        if i is None or self.sks[i].ep != src:
            return  # a connection this proposer already shut down
        sk = self.sks[i]
        sk.latest_msg_at = ctx.now
        if sk.state == HANDSHAKE and isinstance(msg, AcceptorGreeting):
            self._greeting(ctx, i, msg)
        elif sk.state == WAIT_VERDICT and isinstance(msg, VoteResponse):
            self._vote_response(ctx, i, msg)
        elif sk.state == ACTIVE and isinstance(msg, AppendResponse):
            self._append_response(ctx, i, msg)
        else:  # readable while idle: the connection is broken
            self._shutdown(ctx, i, f"unexpected {type(msg).__name__} in state {sk.state}")

    def on_closed(self, ctx: Context, ep: Endpoint) -> None:
        if self.state == EXITED:
            return
        if self.download is not None and ep.conn == self.download[0].conn:
            self._fatal(ctx, f"{FATAL_DOWNLOAD}: the donor closed the connection")
            return
        i = self.conn_to_sk.get(ep.conn)
        if i is not None and self.sks[i].ep == ep:
            self._shutdown(ctx, i, "closed")

    def on_timer(self, ctx: Context, name: str) -> None:
        if self.state == EXITED or name != "tick":
            return
        ctx.set_timer("tick", self.cfg.reconnect_timeout_ms)
        if self.download is not None:
            if ctx.now - self.download[3] >= self.cfg.connection_timeout_ms:
                self._fatal(ctx, f"{FATAL_DOWNLOAD}: no answer from the donor")
            return
        for i, sk in enumerate(self.sks):
            if sk.state == OFFLINE:
                self._connect(ctx, i)
        if self.state == ELECTED:
            self._broadcast(ctx)
        for i, sk in enumerate(self.sks):
            if sk.state != OFFLINE and ctx.now - sk.latest_msg_at >= \
                    self.cfg.connection_timeout_ms:
                self._shutdown(ctx, i, "timeout")

    # -- election ----------------------------------------------------------------------------

    def _greeting(self, ctx: Context, i: int, msg: AcceptorGreeting) -> None:
        sk = self.sks[i]
        sk.state = WAIT_VOTING
        self.n_connected += 1
        if self.state == COLLECTING:
            self.prop_term = max(self.prop_term, msg.term)
            if self.n_connected >= self.quorum:
                self.prop_term += 1
                self.state = CAMPAIGN
                ctx.log("campaign", term=self.prop_term)
            else:
                return
        elif msg.term > self.prop_term and "ignore-higher-term" not in self.cfg.mutants:
            self._fatal(ctx, f"WAL acceptor node {sk.node} {FATAL_REJECTED} {msg.term}, "
                             f"our term {self.prop_term}")
            return
        for other in self.sks:
            if other.state == WAIT_VOTING:
                other.state = WAIT_VERDICT
                self._send(ctx, other.ep, VoteRequest(0, self.prop_term))  # type: ignore[arg-type]

    def _vote_response(self, ctx: Context, i: int, msg: VoteResponse) -> None:
        sk = self.sks[i]
        if not msg.vote_given and (msg.term > self.prop_term or self.state == CAMPAIGN):
            if "ignore-higher-term" in self.cfg.mutants:
                return
            self._fatal(ctx, f"WAL acceptor node {sk.node} {FATAL_REJECTED} {msg.term}, "
                             f"our term {self.prop_term}")
            return
        sk.vote = msg
        sk.state = WAIT_ELECTED
        if self.state == CAMPAIGN:
            if self._votes_collected():
                self._become_leader(ctx)
        elif self.state == ELECTED:
            self._send_elected(ctx, i)
            self._send_append_requests(ctx, i)

    def _votes_collected(self) -> bool:
        voters = [i for i, sk in enumerate(self.sks) if sk.state == WAIT_ELECTED]
        if len(voters) < self.quorum:
            return False
        by_flush = "donor-by-flush-lsn" in self.cfg.mutants
        best: tuple[int, int] | None = None
        for i in voters:
            v = self.sks[i].vote
            assert v is not None
            key = (0 if by_flush else thmod.last_log_term(v.term_history, v.flush_lsn),
                   v.flush_lsn)
            if best is None or key > best:
                best, self.donor = key, i
        donor_vote = self.sks[self.donor].vote
        assert donor_vote is not None
        self.prop_term_start_lsn = donor_vote.flush_lsn
        self.truncate_lsn = max(self.sks[i].vote.truncate_lsn for i in voters)  # type: ignore[union-attr]
        return True

    def _become_leader(self, ctx: Context) -> None:
        self.state = ELECTED
        cfg = self.cfg
        if self.prop_term_start_lsn == 0:  # every safekeeper is empty
            if cfg.sync:
                self._finish_sync(ctx, 0)
                return
            self.prop_term_start_lsn = self.truncate_lsn = cfg.redo_start_lsn
        start = self.prop_term_start_lsn
        self.available_lsn = start
        donor_vote = self.sks[self.donor].vote
        assert donor_vote is not None
        th = thmod.up_to(donor_vote.term_history, donor_vote.flush_lsn)
        self.prop_term_history = th + ((self.prop_term, start),)
        prev = th[-1] if th else (0, 0)
        ctx.log("prop_elected", lsn=format_lsn(start), term=self.prop_term,
                prev_lsn=format_lsn(prev[1]), prev_term=prev[0], donor=self.sks[self.donor].node)
        if not cfg.sync and skip_page_header(start, cfg.segment_size) != skip_page_header(
                cfg.redo_start_lsn, cfg.segment_size):
            self._fatal(ctx, f"collected propTermStartLsn {format_lsn(start)}, {FATAL_BASEBACKUP}"
                             f" {format_lsn(cfg.redo_start_lsn)}")
            return
        if self.truncate_lsn < start:
            ep = ctx.connect(self.sks[self.donor].node)
            self._send(ctx, ep, StartReplication(cfg.tenant_id, cfg.timeline_id,
                                                 self.truncate_lsn, start))
            self.download = (ep, self.truncate_lsn, start, ctx.now)
            return
        self._after_download(ctx)

    def _download_done(self, ctx: Context, msg: Any) -> None:
        assert self.download is not None
        ep, start, end, _ = self.download
        if not isinstance(msg, ReplicationData) or msg.start_lsn != start or \
                len(msg.wal_data) != end - start:
            got = len(msg.wal_data) if isinstance(msg, ReplicationData) else type(msg).__name__
            self._fatal(ctx, f"{FATAL_DOWNLOAD}: asked {format_lsn(start)}..{format_lsn(end)}, "
                             f"got {got}")
            return
        self._wal.write(start, msg.wal_data)
        self._wal.fsync()
        ctx.close(ep)
        self.download = None
        self.wal_start_lsn = min(self.wal_start_lsn, start) if self.wal_start_lsn else start
        self.flush_lsn = max(self.flush_lsn, end)
        ctx.log("downloaded", start=format_lsn(start), end=format_lsn(end))
        self._after_download(ctx)
        deferred, self.deferred = self.deferred, []
        for src, m in deferred:
            if self.state == EXITED or self.download is not None:
                break
            self._dispatch(ctx, src, m)

    def _after_download(self, ctx: Context) -> None:
        if self.cfg.sync and self.truncate_lsn == self.prop_term_start_lsn:
            self._finish_sync(ctx, self.prop_term_start_lsn)
            return
        for i, sk in enumerate(self.sks):
            if sk.state == WAIT_ELECTED:
                self._send_elected(ctx, i)
        self._broadcast(ctx)

    def _send_elected(self, ctx: Context, i: int) -> None:
        sk = self.sks[i]
        v = sk.vote
        assert v is not None
        th = self.prop_term_history
        lcp = thmod.find_highest_common_point(th, v.term_history, v.flush_lsn)
        start = th[0][1] if lcp is None else lcp[1]
        if start > self.available_lsn:
            raise AssertionError(f"startStreamingAt {format_lsn(start)} > availableLsn "
                                 f"{format_lsn(self.available_lsn)} for safekeeper {sk.node}")
        sk.streaming_at = start
        sk.state = ACTIVE
        self._send(ctx, sk.ep, ProposerElected(0, self.prop_term, start, th))  # type: ignore[arg-type]

    # -- streaming and commit ------------------------------------------------------------------

    def _broadcast(self, ctx: Context) -> None:
        if not self.cfg.sync:
            self.available_lsn = max(self.available_lsn, self.flush_lsn)
        for i, sk in enumerate(self.sks):
            if sk.state == ACTIVE:
                self._send_append_requests(ctx, i)

    def _send_append_requests(self, ctx: Context, i: int) -> None:
        sk = self.sks[i]
        end = self.available_lsn
        if sk.streaming_at < end and sk.streaming_at < self.wal_start_lsn:
            raise AssertionError(f"safekeeper {sk.node} needs WAL from "
                                 f"{format_lsn(sk.streaming_at)} but the proposer holds WAL "
                                 f"from {format_lsn(self.wal_start_lsn)} only")
        while True:
            begin = sk.streaming_at
            stop = min(end, begin + MAX_SEND_SIZE)
            data = self._wal.read(begin, stop) if stop > begin else b""
            self._send(ctx, sk.ep, AppendRequest(  # type: ignore[arg-type]
                0, self.prop_term, begin, stop, self.commit_lsn, self.truncate_lsn, data))
            sk.streaming_at = stop
            if stop >= end:
                return

    def _quorum_flush(self) -> int:
        floor = 0 if "commit-previous-term" in self.cfg.mutants else self.prop_term_start_lsn
        flushes = sorted(sk.last_flush_lsn if sk.last_flush_lsn >= floor else 0
                         for sk in self.sks)
        return flushes[len(flushes) - self.quorum]

    def _append_response(self, ctx: Context, i: int, msg: AppendResponse) -> None:
        sk = self.sks[i]
        if msg.term > self.prop_term:
            if "ignore-higher-term" in self.cfg.mutants:
                return
            self._fatal(ctx, f"WAL acceptor node {sk.node} with term {msg.term} "
                             f"{FATAL_HIGHER_TERM} {self.prop_term}")
            return
        sk.last_flush_lsn, sk.last_commit_lsn = msg.flush_lsn, msg.commit_lsn
        new_commit = self._quorum_flush()
        if new_commit > self.commit_lsn:
            self.commit_lsn = new_commit
            ctx.log("commit_lsn", lsn=format_lsn(new_commit))
            self._broadcast(ctx)
        min_flush = min(s.last_flush_lsn for s in self.sks)
        self.truncate_lsn = max(self.truncate_lsn, min(self.commit_lsn, min_flush))
        if self.cfg.sync:
            start = self.prop_term_start_lsn
            synced = all(s.state == OFFLINE or s.last_commit_lsn >= start for s in self.sks)
            if synced and new_commit >= start:
                self._broadcast(ctx)
                self._finish_sync(ctx, start)
