"""The walproposer scenario as an action-level replay, the oracle of ``modelcheck minimize``.

A seed-campaign trace comes from the timed :class:`~modelcheck.world.World`:
delays and task order decide what happens when. The minimiser needs the
opposite: a list of named events it can drop and reorder, replayed
deterministically. :func:`translate` turns the trace's events into such a
list, and :class:`WalAdapter` replays any sub-list on an untimed
:class:`~modelcheck.system.System` running the same actors, the same
:class:`~actors.observer.Observer` and the same consensus checker:

* ``accept`` / ``recv`` -> :class:`~modelcheck.system.Deliver` of the
  handshake / the n-th message of that direction (``(client, server,
  serial)`` names a connection, so names survive a shorter run);
* a lost message (``drop`` with reason ``failed`` or ``partition``, or a
  connect whose handshake was lost) -> :class:`~modelcheck.system.Drop`,
  placed where the message reaches the head of its direction; partitions
  themselves are not events (what they did to messages is);
* ``closed`` -> :class:`~modelcheck.system.Disconnect` (as the World's
  keepalive, it closes an end that is still open even if not dead); ``timer`` ->
  :class:`~modelcheck.system.FireTimer`; a safekeeper's ``crash`` /
  ``restart`` -> :class:`~modelcheck.system.Crash` / ``Restart``;
* a proposer launch (a new node, as in the scenario) -> :class:`Launch`
  (crashes the previous proposer, unless the trace logged ``linger`` for it
  just before: scenario ``walproposer-overlap`` leaves it running; a normal
  launch starts at the LSN the last sync-safekeepers run returned, so it
  needs one that finished);
* ``write_wal`` -> :class:`WriteTx` (the compute writes and wakes its proposer).

Each step carries its original time, and a handler sees that time as
``ctx.now``; a proposer's coin for a failed connect (``ctx.random``) is
answered as in the trace for that proposer. So a node that sees the same
events behaves the same in any interleaving. Besides the step properties, a
sync-safekeepers run that returns an LSN below the highest commit LSN ever
reported is the ``final_sync`` violation (the scenario checks it at its final
sync; here at every sync).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from actors.compute import INITDB_LSN, Compute, RecordIndex
from actors.mutants import parse_mutants
from actors.observer import Observer
from actors.safekeeper import Safekeeper, SafekeeperConfig
from actors.scenario import LIVENESS_WITHIN_MS, SCENARIO_SEGMENT_SIZE, SYSTEM_ID, WAL_BASE_LSN
from actors.walproposer import WalProposer as _BaseProposer
from actors.walproposer import WalProposerConfig
from actors.walstore import FlatWal, WalFiles
from modelcheck._minimize_system import RunOutcome, replay_steps, system_lane
from modelcheck.errors import TraceError
from modelcheck.network import Endpoint
from modelcheck.system import (
    Budgets,
    Command,
    Crash,
    Deliver,
    Disconnect,
    Drop,
    FireTimer,
    Restart,
    System,
    action_from_dict,
    action_to_dict,
    describe,
)
from pgwal.decoder import decode_buffer
from pgwal.lsn import format_lsn
from properties.consensus import consensus_properties
from properties.core import Checker

__all__ = ["Launch", "Timed", "WalAdapter", "WriteTx", "translate"]


@dataclass(frozen=True, slots=True)
class Launch:
    """Start proposer ``node`` (sync-safekeepers when ``sync``), crashing the previous one
    unless ``linger`` (the overlap scenario left it running)."""

    node: int
    sync: bool
    linger: bool = False
    kind: ClassVar[str] = "launch"


@dataclass(frozen=True, slots=True)
class WriteTx:
    """The compute of proposer ``node`` writes ``n`` transactions and wakes it."""

    node: int
    n: int
    kind: ClassVar[str] = "write_tx"


@dataclass(frozen=True, slots=True)
class Timed:
    """A step of the run: ``action`` at original virtual time ``t``."""

    action: Any
    t: int


def _lsn(text: str) -> int:
    hi, lo = text.split("/")
    return int(hi, 16) << 32 | int(lo, 16)


def translate(trace: Any, acceptors: int) -> tuple[list[Timed], dict[int, list[int]]]:  # noqa: C901 (one case per event kind)
    """The trace's events as steps, and each proposer's answers to its connect coin."""
    events = trace.events
    sync: dict[int, bool] = {}
    for e in events:
        if e.kind == "started" and e.node >= acceptors:
            sync[e.node] = bool(e.fields.get("sync"))
    conns: dict[int, tuple[int, int, int]] = {}
    serials: dict[tuple[int, int], int] = {}
    counts: dict[tuple[int, int], int] = {}
    msgs: dict[int, tuple[int, int, int]] = {}
    accepted: set[int] = set()
    lost_handshake: set[int] = set()
    coins: dict[int, list[int]] = {}
    out: list[Timed] = []
    consumed_at: dict[tuple[int, int, int], int] = {}
    late_drops: list[tuple[int, tuple[int, int, int]]] = []
    attempts: list[tuple[int, int, int, int]] = []  # (proposer, t, safekeeper, coin)
    launched: set[int] = set()
    linger = False  # the next launch leaves the current proposer running
    early_writes: dict[int, list[Timed]] = {}

    def key(cid: int) -> tuple[int, int, int]:
        return conns[cid]

    def lose_handshake(cid: int, t: int) -> None:
        if cid not in lost_handshake and cid not in accepted:
            lost_handshake.add(cid)
            c, s, _ = conns[cid]
            out.append(Timed(Drop(c, s, key(cid), 0), t))
            consumed_at[(cid, 0, 0)] = len(out) - 1

    for e in events:
        k, f, node, t = e.kind, e.fields, e.node, e.t
        if k == "connect" and isinstance(f.get("conn"), int):
            cid, dst = f["conn"], f["to"]
            serial = serials.get((node, dst), 0)
            serials[(node, dst)] = serial + 1
            conns[cid] = (node, dst, serial)
            counts[(cid, 0)], counts[(cid, 1)] = 1, 0
            if node >= acceptors:
                attempts.append((node, t, dst, 99))
            if f.get("delay") in (None, "None"):
                lose_handshake(cid, t)
        elif k == "connect_failed" and node >= acceptors:
            attempts.append((node, t, int(f.get("sk", 0)), 0))
        elif k == "send" and f.get("conn", -1) in conns and e.id is not None:
            cid = f["conn"]
            side = 0 if conns[cid][0] == node else 1
            n = counts[(cid, side)]
            counts[(cid, side)] = n + 1
            msgs[e.id] = (cid, side, n)
        elif k == "start" and node >= acceptors and f.get("incarnation") == 0:
            out.append(Timed(Launch(node, sync.get(node, True), linger), t))
            linger = False
            launched.add(node)
            out.extend(early_writes.pop(node, []))
        elif k == "linger" and node >= acceptors:
            linger = True
        elif k == "crash" and node < acceptors:
            out.append(Timed(Crash(node), t))
        elif k == "restart" and node < acceptors:
            out.append(Timed(Restart(node), t))
        elif k == "accept" and f.get("conn") in conns:
            cid = f["conn"]
            accepted.add(cid)
            c, s, _ = conns[cid]
            out.append(Timed(Deliver(c, s, key(cid), 0), t))
            consumed_at[(cid, 0, 0)] = len(out) - 1
        elif k == "recv" and e.id in msgs and f.get("conn", -1) >= 0:
            cid, side, n = msgs[e.id]
            nodes = conns[cid][:2]
            out.append(Timed(Deliver(nodes[side], nodes[1 - side], key(cid), n), t))
            consumed_at[(cid, side, n)] = len(out) - 1
        elif k == "write_wal":
            step = Timed(WriteTx(node, int(f.get("cnt", 1))), t)
            if node in launched:
                out.append(step)
            else:  # written at launch, logged before the new node's start event
                early_writes.setdefault(node, []).append(step)
        elif k == "timer":
            out.append(Timed(FireTimer(node, str(f.get("name"))), t))
        elif k == "closed" and f.get("conn") in conns:
            cid = f["conn"]
            out.append(Timed(Disconnect(node, key(cid)), t))
        elif k == "drop" and e.id in msgs and f.get("reason") in ("failed", "partition"):
            cid, side, n = msgs[e.id]
            nodes = conns[cid][:2]
            out.append(Timed(Drop(nodes[side], nodes[1 - side], key(cid), n), t))
            late_drops.append((len(out) - 1, (cid, side, n)))
    # One handler draws its coins in safekeeper order; the log shows the connects first
    # (the network logs at once) and the failures after (an actor's log is an effect).
    for node, _, _, coin in sorted(attempts, key=lambda a: (a[0], a[1], a[2])):
        coins.setdefault(node, []).append(coin)
    # A lost message can only be dropped once it is at the head of its direction.
    moves: dict[int, int] = {}
    for pos, (cid, side, n) in late_drops:
        prev = consumed_at.get((cid, side, n - 1))
        if prev is not None and prev > pos:
            moves[pos] = prev
    if moves:
        order = sorted(range(len(out)), key=lambda i: (moves.get(i, i), i in moves))
        out = [out[i] for i in order]
    return out, coins


class _WalSystem(System):
    """A System whose ``choose`` answers each proposer's coin as the trace did."""

    def __init__(self, coins: dict[int, list[int]], **kw: Any) -> None:
        super().__init__(**kw)
        self.coins = coins
        self.coin_pos: dict[int, int] = {}
        self.original: dict[int, int] = {}  # system node id -> original node id
        self.current_node = -1

    def _handle(self, node: Any, call: Any) -> None:
        self.current_node = node.nid
        super()._handle(node, call)

    def choose(self, n: int) -> int:
        orig = self.original.get(self.current_node, self.current_node)
        answers = self.coins.get(orig, [])
        i = self.coin_pos.get(orig, 0)
        self.coin_pos[orig] = i + 1
        return min(answers[i], n - 1) if i < len(answers) else n - 1


class WalProposer(_BaseProposer):
    """The walproposer, its compute's latch arriving as a command (``latch``, flush LSN)."""

    def on_command(self, ctx: Any, name: str, arg: int) -> None:
        from actors.compute import Latch

        self.on_message(ctx, Endpoint(-1, ctx.node, ctx.node, 0), Latch(arg))


class _Run:
    """One replay: the system, the observer and the scenario's bookkeeping."""

    def __init__(self, adapter: WalAdapter, recorder: Any = None,
                 target: str | None = None) -> None:
        self.a = adapter
        self.target = target
        self.mutants = parse_mutants(adapter.mutant)
        seg = SCENARIO_SEGMENT_SIZE
        s = self.system = _WalSystem(adapter.coins, budgets=Budgets(None, None, None, None, None),
                                     step_ms=0)
        s.network = _Net(s)  # type: ignore[attr-defined]  # the observer reads connections
        self.map: dict[int, int] = {i: i for i in range(adapter.acceptors)}
        self.checker = Checker(consensus_properties(liveness_within_ms=LIVENESS_WITHIN_MS))
        self.observer = Observer(s, list(range(adapter.acceptors)), adapter.acceptors // 2 + 1,
                                 seg, self.checker)  # type: ignore[arg-type]
        if recorder is not None:
            recorder.attach(s)  # after the observer's hooks, before the first start
        for i in range(adapter.acceptors):
            cfg = SafekeeperConfig(node_id=i, segment_size=seg, wire=adapter.wire,
                                   mutants=self.mutants)
            s.add_actor(lambda nid, cfg=cfg: Safekeeper(cfg), f"sk{i}")
        self.wp: int | None = None  # system id of the current proposer
        self.wp_sync = True
        self.sync_result: int | None = None
        self.compute: Compute | None = None
        self.index = RecordIndex()
        self.final_sync: dict[str, Any] | None = None

    def _m(self, nid: int) -> int | None:
        return self.map.get(nid)

    def _mapped(self, a: Any) -> Any:
        if isinstance(a, Deliver | Drop):
            c = a.conn
            src, dst, cl, sv = self._m(a.src), self._m(a.dst), self._m(c[0]), self._m(c[1])
            if None in (src, dst, cl, sv):
                return None
            return type(a)(src, dst, (cl, sv, c[2]), a.n)
        if isinstance(a, Disconnect):
            node, cl, sv = self._m(a.node), self._m(a.conn[0]), self._m(a.conn[1])
            return None if None in (node, cl, sv) else Disconnect(node, (cl, sv, a.conn[2]))
        node = self._m(a.node)
        return None if node is None else type(a)(node, *[getattr(a, f) for f in a.__slots__[1:]])

    def apply(self, step: Timed) -> bool:
        s, a = self.system, step.action
        s.now = step.t
        if isinstance(a, Launch):
            return self._launch(a)
        if isinstance(a, WriteTx):
            return self._write(a)
        m = self._mapped(a)
        if m is None or not self._enabled(m):
            return False
        s._apply(m)
        if isinstance(m, Crash):
            self.observer.node_down(s.nodes[m.node])
        self._after()
        return True

    def _enabled(self, m: Any) -> bool:
        """``System.is_enabled`` for the kinds used here, without listing every action
        (budgets are unbounded); a disconnect as the World's keepalive."""
        nodes = self.system.nodes
        if isinstance(m, Deliver | Drop):
            conn = self.system._by_key.get(m.conn)
            if conn is None or not nodes[m.dst].active:
                return False
            q = conn.dirs[0 if conn.nodes[0] == m.src else 1].queue
            return bool(q) and q[0][0] == m.n
        if isinstance(m, FireTimer):
            return nodes[m.node].active and m.name in nodes[m.node].timers
        if isinstance(m, Crash):
            return nodes[m.node].alive
        if isinstance(m, Restart):
            return not nodes[m.node].alive
        return self._keepalive(m)

    def _keepalive(self, m: Any) -> bool:
        """The World's keepalive closes an end that heard nothing for a while, dead or not."""
        if not isinstance(m, Disconnect):
            return False
        conn = self.system._by_key.get(m.conn)
        if conn is None or not self.system.nodes[m.node].active:
            return False
        side = 0 if conn.nodes[0] == m.node else 1
        return not conn.dirs[1 - side].recv_closed

    def _after(self) -> None:
        if self.wp is None or not self.wp_sync:
            return
        node = self.system.nodes[self.wp]
        if node.exit is not None and node.exit[0] == 0 and self.sync_result is None:
            self.sync_result = lsn = _lsn(node.exit[1])
            best = self.observer.max_commit_lsn
            if lsn < best and self.final_sync is None:
                self.final_sync = {
                    "property": "final_sync", "outcome": "safety",
                    "message": f"sync-safekeepers returned {format_lsn(lsn)}, below the highest "
                               f"commit LSN ever reported {format_lsn(best)}"}

    def _launch(self, a: Launch) -> bool:
        s = self.system
        if a.node in self.map:
            return False
        if not a.sync and (self.wp is None or not self.wp_sync or self.sync_result is None):
            return False  # a normal proposer starts where a finished sync run said
        if self.wp is not None and s.nodes[self.wp].alive and not a.linger:
            s._apply(Crash(self.wp))
            self.observer.node_down(s.nodes[self.wp])
        lsn = 0
        self.compute = None
        if not a.sync:
            lsn = self.sync_result or INITDB_LSN
            self.compute = Compute(lsn, self._prev_record(lsn), self.index,
                                   segment_size=SCENARIO_SEGMENT_SIZE, system_id=SYSTEM_ID)
            self.observer.written(lsn)
        cfg = WalProposerConfig(tuple(range(self.a.acceptors)), a.sync, lsn, WAL_BASE_LSN,
                                SCENARIO_SEGMENT_SIZE, SYSTEM_ID, wire=self.a.wire,
                                mutants=self.mutants)
        nid = len(s.nodes)
        self.map[a.node] = nid
        s.original[nid] = a.node
        self.wp, self.wp_sync, self.sync_result = nid, a.sync, None
        s.add_actor(lambda n: WalProposer(cfg), f"wp{a.node}")
        self.observer.proposer_launched(s.nodes[nid])
        return True

    def _prev_record(self, lsn: int) -> int:
        """Start of the record ending at ``lsn`` (as the scenario finds it)."""
        if lsn == INITDB_LSN:
            return 0
        candidates = self.index.candidates(lsn)
        for start in candidates:
            for i in range(self.a.acceptors):
                raw = self.observer.acceptor_raw(i)
                if raw is None or raw.flush_lsn < lsn or raw.control.local_start_lsn > start:
                    continue
                data = WalFiles(self.system.nodes[i].disk, SCENARIO_SEGMENT_SIZE).read(start, lsn)
                recs, _ = decode_buffer(data, start, version=15,
                                        segment_size=SCENARIO_SEGMENT_SIZE)
                if len(recs) == 1 and recs[0].end_lsn == lsn:
                    return start
        return candidates[0] if candidates else 0

    def _write(self, a: WriteTx) -> bool:
        s = self.system
        nid = self.map.get(a.node)
        if nid is None or nid != self.wp or self.wp_sync or self.compute is None:
            return False
        node = s.nodes[nid]
        if not node.active:
            return False
        start, end, data = self.compute.write_tx(a.n)
        wal = FlatWal(node.disk, WAL_BASE_LSN)
        wal.write(start, data)
        wal.fsync()
        s._record(nid, "write_wal", (("start", format_lsn(start)), ("end", format_lsn(end)),
                                     ("cnt", a.n)))
        self.observer.written(end)
        s._apply(Command(nid, "latch", end))
        return True

    def check(self) -> dict[str, Any] | None:
        """The first violation of the target property (of any, without a target)."""
        target = self.target
        for v in self.observer.violations:
            if target is None or v.property == target:
                return {"property": v.property, "message": v.describe(),
                        "outcome": "safety" if int(v.outcome) == 1 else "liveness"}
        if self.final_sync is not None and target in (None, "final_sync"):
            return self.final_sync
        return None


class _Net:
    """What the observer reads of a network: ``connections[cid].nodes``."""

    def __init__(self, system: System) -> None:
        self.connections = system.conns


class WalAdapter:
    """The walproposer scenario's traces, for :func:`modelcheck.minimize.minimize_trace`."""

    kind = "walproposer"

    def __init__(self, trace: Any) -> None:
        h = trace.header
        self.mutant = h.get("mutant")
        options = h.get("options") if isinstance(h.get("options"), dict) else {}
        self.acceptors = int(h.get("acceptors") or options.get("acceptors") or 3)
        self.wire = bool(h.get("wire"))
        if h.get("driver") == "minimize":
            self.actions = [self.from_json(a, f"actions[{i}]")
                            for i, a in enumerate(trace.actions or [])]
            self.coins = {int(k): list(v) for k, v in (h.get("coins") or {}).items()}
        else:
            if not trace.events:
                raise TraceError("trace has no events to minimise (write it with "
                                 "modelcheck run --trace)")
            self.actions, self.coins = translate(trace, self.acceptors)
        self.initial_nodes = self.acceptors

    def header(self) -> dict[str, Any]:
        return {"coins": {str(k): v for k, v in sorted(self.coins.items())}}

    @staticmethod
    def inner(step: Timed) -> Any:
        return step.action

    @staticmethod
    def lane(step: Timed) -> int:
        a = step.action
        return a.node if isinstance(a, Launch | WriteTx) else system_lane(a)

    @staticmethod
    def describe(step: Timed) -> str:
        a = step.action
        if isinstance(a, Launch):
            linger = " (previous lingers)" if a.linger else ""
            return f"launch {'sync ' if a.sync else ''}proposer node={a.node}{linger}"
        if isinstance(a, WriteTx):
            return f"write {a.n} tx node={a.node}"
        return describe(a)

    @staticmethod
    def to_json(step: Timed) -> dict[str, Any]:
        a = step.action
        if isinstance(a, Launch):
            out: dict[str, Any] = {"kind": "launch", "node": a.node, "sync": a.sync}
            if a.linger:
                out["linger"] = True
        elif isinstance(a, WriteTx):
            out = {"kind": "write_tx", "node": a.node, "n": a.n}
        else:
            out = action_to_dict(a)
        out["t"] = step.t
        return out

    @staticmethod
    def from_json(data: Any, where: str) -> Timed:
        if not isinstance(data, dict) or not isinstance(data.get("t"), int):
            raise TraceError(f"{where}: expected an action object with an integer 't', "
                             f"found {data!r}")
        d = dict(data)
        t = d.pop("t")
        kind = d.get("kind")
        try:
            if kind == "launch":
                return Timed(Launch(int(d["node"]), bool(d["sync"]), bool(d.get("linger"))), t)
            if kind == "write_tx":
                return Timed(WriteTx(int(d["node"]), int(d["n"])), t)
        except (KeyError, TypeError, ValueError) as exc:
            raise TraceError(f"{where}: {kind} needs node and sync/n, found {data!r}") from exc
        return Timed(action_from_dict(d, where), t)

    @staticmethod
    def needs_hint(steps: Sequence[Timed]) -> list[list[int]]:
        """Extra needs: every step on a proposer (a write too) needs its launch."""
        launched: dict[int, int] = {}
        out: list[list[int]] = []
        for j, st in enumerate(steps):
            a = st.action
            extra = []
            if isinstance(a, Launch):
                launched[a.node] = j
            lane = WalAdapter.lane(st)
            if not isinstance(a, Launch) and lane in launched:
                extra.append(launched[lane])
            out.append(extra)
        return out

    def order_hint(self, steps: Sequence[Timed]) -> list[list[int]]:
        """Order only: a launch crashes the previous proposer, so it comes after every
        step of the proposers crashed so far (a lingering one keeps running: its steps
        are free to come later)."""
        out: list[list[int]] = []
        by_lane: dict[int, list[int]] = {}
        dead: set[int] = set()
        current: int | None = None
        for j, st in enumerate(steps):
            lane, a = self.lane(st), st.action
            if isinstance(a, Launch):
                if current is not None and not a.linger:
                    dead.add(current)
                current = a.node
                out.append(sorted(i for d in dead for i in by_lane.get(d, [])))
            else:
                out.append([])
            if lane >= self.acceptors:
                by_lane.setdefault(lane, []).append(j)
        return out

    def run(self, steps: Sequence[Timed], *, record: bool = False, recorder: Any = None,
            target: str | None = None) -> RunOutcome:
        """Replay ``steps``; stop at the first violation of ``target`` (of any, if None)."""
        r = _Run(self, recorder, target)
        out = replay_steps(r.system, steps, r.apply, r.check, record=record)
        if out.produced is not None:  # back to the trace's node ids
            orig = {**{i: i for i in range(self.acceptors)}, **r.system.original}

            def o(nid: int) -> int:
                return orig.get(nid, nid)
            for p in out.produced:
                p.msgs = [((o(k[0]), o(k[1]), k[2]), side, n) for k, side, n in p.msgs]
                p.timers = [(o(nid), name) for nid, name in p.timers]
                p.nodes = [o(nid) for nid in p.nodes]
        return out
