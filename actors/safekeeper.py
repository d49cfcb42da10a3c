"""The safekeeper (acceptor), as a sans-I/O actor (PROTOCOL.md 2.2-2.3, 3.3-3.5).

Persistent state lives in a control file (``safekeeper.control``, JSON with
sorted keys) on the node's simulated disk, rewritten and fsynced by every
persist; WAL lives in pgwal segment files next to it (:mod:`actors.walstore`).
Incoming WAL is fed to a pgwal decoder to find record boundaries: only
complete records are written to disk; a partial record's bytes stay in memory
(lost on a crash, as in the original). A flush fsyncs the segments and moves
``flush_record_lsn`` to the last complete record. On restart the control file
is read back and the end of WAL is found by decoding from the persisted
``commit_lsn``.

Appends are processed without flushing; a flush timer at the same virtual
instant (after the messages already queued have been handled) flushes once
and answers every connection that appended, like the original's
NoFlushAppendRequest + FlushWAL. Every ``bail!`` of the original raises
:class:`SafekeeperError`: the world reports it as a crash outcome, as Neon's
simulator panics on them. One kind is a connection's error instead,
:class:`WalContinuityError` (an append that would rewrite WAL or leave a gap):
a walproposer's previous connection can still deliver appends after it has
reconnected and re-run the election on a new one (TCP data already sent is
delivered even after the sender closed), and a real safekeeper then fails
that connection only; the node closes it, logs ``conn_error`` and goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import Any

from actors import termhistory as thmod
from actors.messages import (
    AcceptorGreeting,
    AppendRequest,
    AppendResponse,
    MembershipConfiguration,
    ProposerElected,
    ProposerGreeting,
    ProtocolError,
    ReplicationData,
    StartReplication,
    VoteRequest,
    VoteResponse,
    decode_proposer_message,
    encode,
)
from actors.mutants import NONE, Mutants
from actors.walstore import WalFiles
from modelcheck.actor import Actor, Context
from modelcheck.network import Endpoint
from pgwal.decoder import WalDecoder, find_end_of_wal
from pgwal.lsn import format_lsn

__all__ = ["ControlFile", "Safekeeper", "SafekeeperConfig", "SafekeeperError", "SafekeeperView",
           "WalContinuityError"]

CONTROL_FILE = "safekeeper.control"
DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024
_MUTANT_DELAY_MS = 50  # how long a mutant leaves its window open (persist/fsync later)


class SafekeeperError(ProtocolError):
    """A protocol violation detected by a safekeeper (every ``bail!`` of the original)."""


class WalContinuityError(SafekeeperError):
    """An append that does not continue the WAL written so far (rewrite or gap): fails its
    connection, not the node (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class SafekeeperConfig:
    node_id: int
    segment_size: int = DEFAULT_SEGMENT_SIZE
    wal_version: int = 15
    wire: bool = False
    mutants: Mutants = NONE


@dataclass(frozen=True, slots=True)
class ControlFile:
    """``TimelinePersistentState``: what a safekeeper persists (the consensus part)."""

    tenant_id: str = ""
    timeline_id: str = ""
    generation: int = 0
    term: int = 0
    term_history: tuple[tuple[int, int], ...] = ()
    pg_version: int = 0
    system_id: int = 0
    wal_seg_size: int = 0
    timeline_start_lsn: int = 0
    local_start_lsn: int = 0
    commit_lsn: int = 0
    peer_horizon_lsn: int = 0

    def to_bytes(self) -> bytes:
        # a flat dict of the fields, not dataclasses.asdict: asdict deep-copies every value
        # and cost ~5 % of a campaign seed (written on every persist); same JSON bytes
        values = {name: getattr(self, name) for name in _CONTROL_FIELDS}
        return json.dumps(values, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ControlFile:
        try:
            raw = json.loads(data)
            raw["term_history"] = tuple((int(t), int(lsn)) for t, lsn in raw["term_history"])
            return cls(**raw)
        except (ValueError, TypeError, KeyError) as exc:
            raise SafekeeperError(f"control file {CONTROL_FILE} is corrupt: {exc}") from None


_CONTROL_FIELDS = tuple(f.name for f in fields(ControlFile))


@dataclass(frozen=True, slots=True)
class SafekeeperView:
    """What an observer may see of a safekeeper."""

    node: int
    control: ControlFile  # as last persisted
    flush_lsn: int  # flush_lsn() as reported to the proposer
    write_lsn: int
    inmem_commit_lsn: int
    term: int  # in-memory term (== control.term unless a mutant delays the persist)


@dataclass
class _Conn:
    ep: Endpoint
    greeted: bool = False
    flush_pending: bool = False


@dataclass
class Safekeeper(Actor):
    """One acceptor incarnation; state is rebuilt from disk in :meth:`on_start`."""

    cfg: SafekeeperConfig
    control: ControlFile = field(default_factory=ControlFile)  # persisted copy
    term: int = 0  # in-memory term
    term_history: tuple[tuple[int, int], ...] = ()  # in-memory TH
    inmem_commit_lsn: int = 0
    inmem_peer_horizon_lsn: int = 0
    term_start_lsn: int = 0
    write_lsn: int = 0  # end of the bytes received (including a partial record)
    write_record_lsn: int = 0  # end of the last complete record received
    flush_record_lsn: int = 0  # end of the last complete record made durable
    pending: bytes = b""  # bytes after write_record_lsn (a partial record)
    conns: dict[int, _Conn] = field(default_factory=dict)
    _decoder: Any = None
    _padding_end: int = 0  # end of a decoded record whose padding is still to come
    _wal: Any = None

    # -- start / persistence ------------------------------------------------------------

    def on_start(self, ctx: Context) -> None:
        self._wal = WalFiles(ctx.disk, self.cfg.segment_size)
        ctx.log("started", role="safekeeper")
        if not ctx.disk.exists(CONTROL_FILE):
            return
        c = ControlFile.from_bytes(ctx.disk.read_all(CONTROL_FILE))
        if c.commit_lsn < c.local_start_lsn:
            raise SafekeeperError(f"control file: commit_lsn {format_lsn(c.commit_lsn)} < "
                                  f"local_start_lsn {format_lsn(c.local_start_lsn)}")
        self.control = c
        self.term, self.term_history = c.term, c.term_history
        self.inmem_commit_lsn, self.inmem_peer_horizon_lsn = c.commit_lsn, c.peer_horizon_lsn
        end = 0
        if c.commit_lsn:
            data = self._wal.read_to_end(c.commit_lsn)
            end = int(find_end_of_wal(data, c.commit_lsn, self.cfg.segment_size,
                                      version=self.cfg.wal_version))
        self.write_lsn = self.write_record_lsn = self.flush_record_lsn = end
        self._reset_decoder(end)
        ctx.log("tli_loaded", flush=format_lsn(end), commit=format_lsn(c.commit_lsn))

    def _reset_decoder(self, lsn: int) -> None:
        self.pending = b""
        self._padding_end = 0
        self._decoder = (WalDecoder(lsn, version=self.cfg.wal_version,
                                    segment_size=self.cfg.segment_size) if lsn else None)

    def _persist(self, ctx: Context, **changes: Any) -> None:
        """Write the control file with ``changes`` and the in-memory values, then fsync."""
        c = replace(self.control, commit_lsn=self.inmem_commit_lsn,
                    peer_horizon_lsn=self.inmem_peer_horizon_lsn, **changes)
        if c == self.control:
            return
        data = c.to_bytes()
        ctx.disk.write(CONTROL_FILE, 0, data)
        ctx.disk.truncate(CONTROL_FILE, len(data))
        ctx.disk.fsync(CONTROL_FILE)
        self.control = c

    def flush_lsn(self) -> int:
        return max(self.flush_record_lsn, self.control.timeline_start_lsn)

    def view(self) -> SafekeeperView:
        return SafekeeperView(self.cfg.node_id, self.control, self.flush_lsn(), self.write_lsn,
                              self.inmem_commit_lsn, self.term)

    # -- dispatch -------------------------------------------------------------------------

    def _send(self, ctx: Context, ep: Endpoint, msg: Any) -> None:
        ctx.send(ep, encode(msg) if self.cfg.wire else msg)

    def on_accept(self, ctx: Context, ep: Endpoint) -> None:
        self.conns[ep.conn] = _Conn(ep)

    def on_closed(self, ctx: Context, ep: Endpoint) -> None:
        self.conns.pop(ep.conn, None)

    def on_message(self, ctx: Context, src: Endpoint, msg: Any) -> None:
        if isinstance(msg, (bytes, bytearray)):
            msg = decode_proposer_message(msg)
        conn = self.conns.get(src.conn)
        if conn is None:
            raise SafekeeperError(f"message {type(msg).__name__} on connection {src.conn} "
                                  "that this safekeeper never accepted")
        if not conn.greeted:
            if isinstance(msg, StartReplication):
                self._start_replication(ctx, conn, msg)
                return
            if not isinstance(msg, ProposerGreeting):
                raise SafekeeperError(f"connection {src.conn}: first message must be a "
                                      f"ProposerGreeting, got {type(msg).__name__}")
            self._greeting(ctx, conn, msg)
            return
        if isinstance(msg, AppendRequest):
            self._append(ctx, conn, msg)
        elif isinstance(msg, VoteRequest):
            self._vote(ctx, conn, msg)
        elif isinstance(msg, ProposerElected):
            self._elected(ctx, msg)
        else:
            raise SafekeeperError(f"unexpected {type(msg).__name__} on connection {src.conn}")

    def on_timer(self, ctx: Context, name: str) -> None:
        if name == "flush":
            self._flush_wal(ctx)
        elif name == "fsync":  # ack-before-fsync: the delayed fsync
            self._wal.fsync()
        elif name == "persist":  # vote-before-persist / term-history-not-persisted
            self._persist(ctx, term=self.term, term_history=self.term_history)

    # -- handlers -------------------------------------------------------------------------

    def _greeting(self, ctx: Context, conn: _Conn, msg: ProposerGreeting) -> None:
        c = self.control
        if c.tenant_id and (c.tenant_id, c.timeline_id) != (msg.tenant_id, msg.timeline_id):
            raise SafekeeperError(f"greeting for {msg.tenant_id}/{msg.timeline_id}, but this "
                                  f"safekeeper holds {c.tenant_id}/{c.timeline_id}")
        if c.pg_version and c.pg_version // 10000 != msg.pg_version // 10000:
            raise SafekeeperError(f"greeting: pg_version {msg.pg_version}, stored {c.pg_version}")
        if c.wal_seg_size and c.wal_seg_size != msg.wal_seg_size:
            raise SafekeeperError(f"greeting: wal_seg_size {msg.wal_seg_size}, "
                                  f"stored {c.wal_seg_size}")
        if msg.wal_seg_size != self.cfg.segment_size:
            raise SafekeeperError(f"greeting: wal_seg_size {msg.wal_seg_size}, this safekeeper "
                                  f"stores {self.cfg.segment_size}-byte segments")
        if msg.mconf.generation != c.generation:
            raise SafekeeperError(f"greeting: generation {msg.mconf.generation}, "
                                  f"own {c.generation} (membership changes are not simulated)")
        if not c.tenant_id or (msg.system_id and msg.system_id != c.system_id):
            self._persist(ctx, tenant_id=msg.tenant_id, timeline_id=msg.timeline_id,
                          pg_version=msg.pg_version, system_id=msg.system_id,
                          wal_seg_size=msg.wal_seg_size)
        conn.greeted = True
        self._send(ctx, conn.ep, AcceptorGreeting(self.cfg.node_id,
                                                  MembershipConfiguration(c.generation),
                                                  self.term))

    def _check_generation(self, what: str, generation: int) -> None:
        if generation != self.control.generation:
            raise SafekeeperError(f"{what}: generation {generation}, own "
                                  f"{self.control.generation}")

    def _vote(self, ctx: Context, conn: _Conn, msg: VoteRequest) -> None:
        self._check_generation("VoteRequest", msg.generation)
        self._flush(ctx)  # so the new proposer can stream exactly from our WAL end
        flush = self.flush_lsn()
        given = False
        if self.term < msg.term:
            self.term = msg.term
            given = True
            if "vote-before-persist" in self.cfg.mutants:
                ctx.set_timer("persist", _MUTANT_DELAY_MS)
            else:
                self._persist(ctx, term=msg.term)  # persist before replying
            ctx.log("vote", term=msg.term, conn=conn.ep.conn)
        self._send(ctx, conn.ep, VoteResponse(
            self.control.generation, self.term, given, flush, self.inmem_peer_horizon_lsn,
            thmod.up_to(self.term_history, flush)))

    def _elected(self, ctx: Context, msg: ProposerElected) -> None:
        self._check_generation("ProposerElected", msg.generation)
        if self.term < msg.term:
            self.term = msg.term
            self._persist(ctx, term=msg.term)
        if self.term > msg.term:
            return
        th = msg.term_history
        if not th:
            raise SafekeeperError("ProposerElected with an empty term history")
        flush = self.flush_lsn()
        lcp = thmod.find_highest_common_point(th, thmod.up_to(self.term_history, flush), flush)
        lcp_lsn = th[0][1] if lcp is None else lcp[1]
        start = msg.start_streaming_at
        if lcp_lsn != start:
            raise SafekeeperError(f"refusing ProposerElected with unexpected truncation point: "
                                  f"lcp {format_lsn(lcp_lsn)}, start_streaming_at "
                                  f"{format_lsn(start)}")
        if start < self.inmem_commit_lsn:
            raise SafekeeperError(f"attempt to truncate committed data: start_streaming_at "
                                  f"{format_lsn(start)} < commit_lsn "
                                  f"{format_lsn(self.inmem_commit_lsn)}")
        # skip-truncate: the write position moves back, but the old WAL is not erased.
        self._truncate_wal(ctx, start, erase="skip-truncate" not in self.cfg.mutants)
        c = self.control
        tl_start = c.timeline_start_lsn or th[0][1]
        self.inmem_peer_horizon_lsn = max(self.inmem_peer_horizon_lsn, c.peer_horizon_lsn
                                          or tl_start)
        self.inmem_commit_lsn = max(self.inmem_commit_lsn, tl_start)
        self.term_history = th
        if "term-history-not-persisted" in self.cfg.mutants:
            self._persist(ctx, timeline_start_lsn=tl_start,
                          local_start_lsn=c.local_start_lsn or start)
            ctx.set_timer("persist", _MUTANT_DELAY_MS)
        else:
            self._persist(ctx, timeline_start_lsn=tl_start,
                          local_start_lsn=c.local_start_lsn or start, term_history=th)
        self.term_start_lsn = th[-1][1]
        ctx.log("elected", term=msg.term, start=format_lsn(start))

    def _truncate_wal(self, ctx: Context, end: int, *, erase: bool = True) -> None:
        self._flush(ctx)
        if self.write_lsn and end > self.write_lsn:
            raise SafekeeperError(f"truncate_wal to {format_lsn(end)} past write_lsn "
                                  f"{format_lsn(self.write_lsn)}")
        if self.write_record_lsn and end > self.write_record_lsn:
            raise SafekeeperError(f"truncate_wal to {format_lsn(end)} inside the incomplete "
                                  f"record after {format_lsn(self.write_record_lsn)}")
        top = max(self.write_lsn, self.write_record_lsn)
        dropped = top - end if top > end else 0
        if top > end and erase:
            self._wal.zero(end, top)
            self._wal.fsync()
        ctx.log("truncate", lsn=format_lsn(end), dropped=dropped, term=self.term)
        self.write_lsn = self.write_record_lsn = self.flush_record_lsn = end
        self._reset_decoder(end)

    def _append(self, ctx: Context, conn: _Conn, msg: AppendRequest) -> None:
        self._check_generation("AppendRequest", msg.generation)
        stale_ok = "accept-stale-append" in self.cfg.mutants
        if self.term < msg.term:
            raise SafekeeperError(f"AppendRequest of term {msg.term} before ProposerElected "
                                  f"(own term {self.term})")
        if self.term > msg.term and not stale_ok:
            self._send(ctx, conn.ep, AppendResponse(self.control.generation, self.term, 0, 0))
            return
        if msg.wal_data:
            try:
                self._write_wal(msg.begin_lsn, msg.wal_data)
            except WalContinuityError as exc:
                ctx.log("conn_error", conn=conn.ep.conn, error=str(exc))
                self.conns.pop(conn.ep.conn, None)
                ctx.close(conn.ep)
                return
        # commit-lsn-regress: the proposer's commit LSN is taken as it comes, even 0/0 (a new
        # proposer's "not known yet") and even below our own.
        if msg.commit_lsn or "commit-lsn-regress" in self.cfg.mutants:
            self._update_commit_lsn(ctx, msg.commit_lsn)
        self.inmem_peer_horizon_lsn = max(self.inmem_peer_horizon_lsn, msg.truncate_lsn)
        conn.flush_pending = True
        ctx.set_timer("flush", 0)

    def _write_wal(self, begin: int, data: bytes) -> None:
        if self.write_lsn > begin:
            raise WalContinuityError(f"write_wal rewrites WAL written before: write_lsn "
                                  f"{format_lsn(self.write_lsn)} > begin {format_lsn(begin)}")
        if self.write_lsn < begin and self.write_lsn != 0:
            raise WalContinuityError(f"write_wal creates a gap: write_lsn "
                                  f"{format_lsn(self.write_lsn)} < begin {format_lsn(begin)}")
        if self._decoder is None or self.write_lsn == 0:
            self.write_lsn = self.write_record_lsn = begin
            self._reset_decoder(begin)
        dec = self._decoder
        records = dec.feed(data)
        if dec.end is not None and dec.end.error is not None:
            raise SafekeeperError(f"received WAL does not decode: {dec.end.error}")
        self.write_lsn = write_lsn = begin + len(data)
        # A record's end is MAXALIGNed: the decoder may report one whose padding has not
        # arrived yet; its end becomes a record boundary only once the bytes are here.
        new_end = 0
        if self._padding_end and self._padding_end <= write_lsn:
            new_end, self._padding_end = self._padding_end, 0
        for r in reversed(records):
            if r.end_lsn <= write_lsn:
                new_end = max(new_end, int(r.end_lsn))
                break
        if records and records[-1].end_lsn > write_lsn:
            self._padding_end = int(records[-1].end_lsn)
        if new_end > self.write_record_lsn:
            buf = self.pending + data
            cut = new_end - self.write_record_lsn
            self._wal.write(self.write_record_lsn, buf[:cut])
            self.pending = buf[cut:]
            self.write_record_lsn = new_end
        else:
            self.pending += data

    def _update_commit_lsn(self, ctx: Context, candidate: int) -> None:
        if "commit-lsn-regress" in self.cfg.mutants:
            c = min(candidate, self.flush_lsn())
        else:
            c = min(max(candidate, self.inmem_commit_lsn), self.flush_lsn())
            if c < self.inmem_commit_lsn:
                raise SafekeeperError(f"commit_lsn would go back from "
                                      f"{format_lsn(self.inmem_commit_lsn)} to {format_lsn(c)}")
        self.inmem_commit_lsn = c
        if c >= self.term_start_lsn > self.control.commit_lsn:
            self._persist(ctx)  # sync-safekeepers waits for this

    def _flush(self, ctx: Context) -> None:
        if self.flush_record_lsn == self.write_record_lsn:
            return
        if "ack-before-fsync" in self.cfg.mutants:
            ctx.set_timer("fsync", _MUTANT_DELAY_MS)
        else:
            self._wal.fsync()
        self.flush_record_lsn = self.write_record_lsn

    def _flush_wal(self, ctx: Context) -> None:
        """FlushWAL: flush once, then answer every connection that appended."""
        self._flush(ctx)
        resp = AppendResponse(self.control.generation, self.term, self.flush_lsn(),
                              self.control.commit_lsn)
        for key in sorted(self.conns):
            conn = self.conns[key]
            if conn.flush_pending:
                conn.flush_pending = False
                self._send(ctx, conn.ep, resp)

    def _start_replication(self, ctx: Context, conn: _Conn, msg: StartReplication) -> None:
        """The recovery download: send [start, min(end, flush)) in one message, then close."""
        end = min(msg.end_lsn, self.flush_lsn())
        data = self._wal.read(msg.start_lsn, end) if end > msg.start_lsn else b""
        self._send(ctx, conn.ep, ReplicationData(msg.start_lsn, data))
        ctx.close(conn.ep)
        del self.conns[conn.ep.conn]
