"""The implementation model: the real walproposer and safekeeper actors, explored exhaustively.

The state of the model is a controlled actor system
(:class:`modelcheck.system.System`) running ``proposers`` normal-mode
walproposers (each with its compute, which writes real pgwal-encoded WAL) and
``acceptors`` safekeepers, plus the fault budgets used and a :class:`Ghost`
history for the properties. Actions are the system's own: deliver or drop
the head of a connection direction, fire a timer, close a dead connection end,
crash or restart a node, and ``write`` (the compute of a proposer commits one
transaction and wakes its walproposer). Bounds are options
(:class:`ImplBounds`): crashes, drops, WAL writes and walproposer ``tick``
timer firings (the reconnect/heartbeat round). A safekeeper's own timers (the
flush after appends) are free: without them nothing is ever acknowledged.

Choices: the actors' only random choice (a walproposer's 10 % connection
failure) is fixed to "succeeds"; connection losses come from the explorer's
drops and crashes instead. Time: a logical clock that only timer firings move
(``step_ms = 0``), so states repeat; the clock and due times are part of the
state, as the walproposer keeps receive times.

A state's fingerprint is a 128-bit BLAKE2b of a canonical encoding
(:func:`modelcheck._explore_model.stable_encode`): per node, whether it is up
or exited, its actor's fields (connections as sorted tuples, the WAL decoder
by its cursor and buffered bytes), its timers and its disk (visible bytes and
the undo log of unsynced writes, which decides what a crash keeps); the
connections not closed at both ends in key order, each direction's FIFO of
messages in flight (TCP order is part of the semantics, so a direction is a
sequence; the set of directions is sorted by connection key); the budgets
used; the ghost. No ``hash()``, no ``id()``: the same in every process.

Every WAL-consensus ``always`` property is checked after every transition
(see :mod:`actors._impl_observe`), and an exception escaping an actor
(a safekeeper ``bail!``, a walproposer assertion) is the violation
``actor_exception``. Use :func:`explore_impl` from Python, or
``modelcheck explore --model impl --acceptors 3 --max-crashes 0 ...``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from collections import deque
from dataclasses import dataclass
from typing import Any

from actors._impl_clone import clone_system
from actors._impl_observe import (
    ALWAYS,
    Ghost,
    Observation,
    check,
    consensus_view,
    next_ghost,
    observe,
    on_event,
)
from actors.compute import Compute, RecordIndex
from actors.mutants import parse_mutants
from actors.safekeeper import Safekeeper, SafekeeperConfig
from actors.walproposer import EXITED, WalProposer, WalProposerConfig
from modelcheck._explore_model import stable_encode
from modelcheck._system_state import ACCEPT
from modelcheck.choice import Chooser
from modelcheck.errors import InvalidArgument, TaskFailed
from modelcheck.system import (
    Budgets,
    Command,
    Crash,
    Drop,
    FireTimer,
    Restart,
    System,
    action_to_dict,
    describe,
    sort_key,
)
from pgwal.lsn import format_lsn

__all__ = ["ImplBounds", "ImplModel", "ImplState", "explore_impl", "from_cli"]

SEGMENT_SIZE = 1024 * 1024  # the smallest PostgreSQL WAL segment
START_LSN = 16 * SEGMENT_SIZE + 40  # first record of segment 16, after its long page header
WAL_BASE_LSN = 16 * SEGMENT_SIZE
SYSTEM_ID = 7_000_000_000_000_000_001
CRASH = "actor_exception"


@dataclass(frozen=True, slots=True)
class ImplBounds:
    """The world and its bounds (``max_*``: how many of each fault or event a path may have)."""

    acceptors: int = 3
    proposers: int = 2
    max_crashes: int = 0
    max_drops: int = 0
    max_writes: int = 1
    max_ticks: int = 0
    mutant: str | None = None

    def __post_init__(self) -> None:
        for name in ("acceptors", "proposers"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 7:
                raise InvalidArgument(f"{name}={v!r}: expected an integer in 1..7")
        for name in ("max_crashes", "max_drops", "max_writes", "max_ticks"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise InvalidArgument(f"{name}={v!r}: expected an integer >= 0")
        try:
            parse_mutants(self.mutant)
        except ValueError as exc:
            raise InvalidArgument(f"mutant={self.mutant!r}: {exc}") from None


class _Succeeds(Chooser):
    """Every choice is its largest answer: a walproposer's connection attempt succeeds."""

    def below(self, n: int) -> int:
        if n < 1:
            raise InvalidArgument(f"below({n}): n must be >= 1")
        return n - 1

    def chance(self, p: float) -> bool:
        return p >= 1.0


@dataclass
class ComputeProposer(WalProposer):
    """A normal-mode walproposer with its compute: ``write`` commits one transaction.

    The compute builds real WAL records (:class:`actors.compute.Compute`:
    heap insert plus commit, pgwal-encoded) into the node's ``pg_wal``, makes
    them durable and wakes the walproposer with a :class:`Latch`, as the
    scenario's ``write_tx``. ``xid_base`` makes each proposer's records differ.
    """

    xid_base: int = 1000
    compute: Any = None

    def on_start(self, ctx: Any) -> None:
        super().on_start(ctx)
        self.compute = Compute(self.cfg.redo_start_lsn, 0, RecordIndex(next_xid=self.xid_base),
                               segment_size=self.cfg.segment_size, system_id=self.cfg.system_id)

    def on_command(self, ctx: Any, name: str, arg: int) -> None:
        if name != "write" or arg < 1:
            raise InvalidArgument(f"command {name}({arg}): expected write(n >= 1)")
        if self.state == EXITED:
            return
        self.compute = copy.deepcopy(self.compute)  # shared with the parent state's copy
        start, end = self.compute.write_durably(ctx.disk, arg, self.cfg.wal_base_lsn)
        self.wal_written(ctx, start, end, arg)


class _Factory:
    """``cls(*args)`` for any node id: a picklable actor factory (states cross processes)."""

    __slots__ = ("cls", "args")

    def __init__(self, cls: type, *args: Any) -> None:
        self.cls, self.args = cls, args

    def __call__(self, nid: int) -> Any:
        return self.cls(*self.args)


_SKIP = frozenset({"cfg", "_wal", "_decoder", "compute", "xid_base"})
_DECODER_SKIP = frozenset({"records_decoded", "_locate", "version", "segment_size",
                                "system_id", "timeline", "stop_lsn", "min_lsn", "end"})


def _plain(value: Any) -> Any:
    t = type(value)
    if t is dict:
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    if t is list:
        return tuple(_plain(v) for v in value)
    if t is bytearray:
        return bytes(value)
    if t is set:
        return tuple(sorted(value))
    return value


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls)
                                     if f.name not in _SKIP)
    return names


def actor_value(actor: Any) -> Any:
    """An actor's state as plain data: its fields, minus configuration and live handles."""
    if actor is None:
        return None
    d = actor.__dict__
    out: list[Any] = [type(actor).__name__]
    out.extend(_plain(d[name]) for name in _field_names(type(actor)))
    dec = d.get("_decoder")
    if dec is not None:
        out.append((dec.end is not None,) + tuple(
            (k, _plain(v)) for k, v in sorted(vars(dec).items()) if k not in _DECODER_SKIP))
    wal = d.get("_wal")
    if wal is not None and hasattr(wal, "dirty"):
        out.append(tuple(sorted(wal.dirty)))
    compute = d.get("compute")
    if compute is not None:
        out.append((compute.end_lsn, compute.index.next_xid))
    return tuple(out)


def node_value(node: Any) -> tuple:
    """One node as plain data: up, incarnation (a restarted proposer is a new proposer),
    exited, its actor, its timers, its disk (data and undo log)."""
    files = tuple((name, bytes(f.data), tuple(f.undo))
                  for name, f in sorted(node.disk._files.items()))
    return (node.alive, node.incarnation, node.exit, actor_value(node.actor),
            tuple(sorted(node.timers.items())), files)


def conn_value(c: Any) -> tuple:
    """One connection: key, accepted, and per direction its flags, count and FIFO."""
    return (c.key, c.accepted, tuple((d.send_closed, d.recv_closed, d.count,
                                      tuple((k, item) for k, item, _ in d.queue))
                                     for d in c.dirs))


def _open(c: Any) -> bool:
    return not (c.dirs[0].recv_closed and c.dirs[1].recv_closed)


def _encode(value: Any, encoding: str) -> bytes:
    data = repr(value).encode() if encoding == "repr" else stable_encode(value)
    return b"%d:" % len(data) + data


class ImplState:
    """One model state: the system, the ghost history, the budgets used, its fingerprint.

    The fingerprint hashes a canonical text of the state's plain value: its
    ``repr`` (``encoding="repr"``, the fast default) or
    :func:`~modelcheck._explore_model.stable_encode` (``"stable"``). The value
    holds only tuples, ints, strings, bytes, None and dataclasses or named
    tuples whose ``repr`` shows every field (dicts and sets are sorted
    tuples), so its ``repr`` is injective and the same in every process; a
    test checks that both encodings give the same state counts.
    """

    __slots__ = ("system", "ghost", "writes", "ticks", "violated", "fp", "nodes_enc",
                 "conns_enc")

    def __init__(self, system: System, ghost: Ghost, writes: int, ticks: int,
                 violated: tuple[tuple[str, str], ...], encoding: str = "repr",
                 parent: ImplState | None = None, touched: int | None = None) -> None:
        self.system, self.ghost, self.writes, self.ticks = system, ghost, writes, ticks
        self.violated = violated
        if parent is None:
            enc = [_encode(node_value(n), encoding) for n in system.nodes]
        else:  # only the node that handled the action changed
            enc = list(parent.nodes_enc)
            if touched is not None:
                enc[touched] = _encode(node_value(system.nodes[touched]), encoding)
        self.nodes_enc = enc
        # connections not closed at both ends, by key; only the touched node's can change
        old = parent.conns_enc if parent is not None and touched is not None else {}
        conns = {c.key: (old[c.key] if c.key in old and touched not in c.key[:2]
                         else _encode(conn_value(c), encoding))
                 for c in system.conns if _open(c)}
        self.conns_enc = conns
        rest = _encode((tuple(sorted(system.used.items())), system.now, ghost, writes, ticks,
                        violated), encoding)
        self.fp = hashlib.blake2b(b"".join(enc) + b"".join(conns[k] for k in sorted(conns))
                                  + rest, digest_size=16).digest()

    def __getstate__(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, data: tuple) -> None:
        for name, value in zip(self.__slots__, data, strict=True):
            setattr(self, name, value)
        # the system recognises a handshake by identity: restore the sentinel after unpickling
        for conn in self.system.conns:
            for d in conn.dirs:
                if any(item == ACCEPT and item is not ACCEPT for _, item, _ in d.queue):
                    d.queue = deque((n, ACCEPT if item == ACCEPT else item, m)
                                    for n, item, m in d.queue)


class ImplModel:
    """The explorer's model interface (see :mod:`modelcheck._explore_model`) over the actors."""

    fingerprints = True  # states are live systems: key them by their fingerprint
    parallel_safe = True  # states pickle; fingerprints are the same in every process

    def __init__(self, bounds: ImplBounds | None = None, *, encoding: str = "repr") -> None:
        if encoding not in ("repr", "stable"):
            raise InvalidArgument(f"encoding={encoding!r}: expected 'repr' or 'stable'")
        self.encoding = encoding
        self.bounds = b = bounds or ImplBounds()
        self.mutants = parse_mutants(b.mutant)
        self.sk_nodes = range(b.acceptors)
        self.wp_nodes = range(b.acceptors, b.acceptors + b.proposers)
        self.quorum = b.acceptors // 2 + 1  # the true quorum: the observer's yardstick
        self.name = (f"impl a{b.acceptors} p{b.proposers} crashes{b.max_crashes} "
                     f"drops{b.max_drops} writes{b.max_writes} ticks{b.max_ticks}"
                     + (f" mutant={b.mutant}" if b.mutant else ""))

    # -- building -------------------------------------------------------------------------

    def new_system(self, *, log_events: bool = False) -> System:
        """The initial system: safekeepers ``0..A-1``, then the walproposers."""
        b = self.bounds
        system = System(budgets=Budgets(crashes_max=b.max_crashes, drops_max=b.max_drops,
                                        partitions_max=0),
                        chooser=_Succeeds(), step_ms=0, log_events=log_events)
        self._populate(system)
        return system

    def _populate(self, system: System) -> None:
        for i in self.sk_nodes:
            cfg = SafekeeperConfig(node_id=i, segment_size=SEGMENT_SIZE, mutants=self.mutants)
            system.add_actor(_Factory(Safekeeper, cfg), f"sk{i}")
        wp_cfg = WalProposerConfig(tuple(self.sk_nodes), False, START_LSN, WAL_BASE_LSN,
                                   SEGMENT_SIZE, SYSTEM_ID, mutants=self.mutants)
        for p, _ in enumerate(self.wp_nodes):
            system.add_actor(_Factory(ComputeProposer, wp_cfg, 1000 * (p + 1)), f"wp{p}")

    def init_states(self) -> list[ImplState]:
        system = self.new_system()
        n = len(system.nodes)
        ghost = Ghost(max_commit=(0,) * len(self.sk_nodes), max_term=(0,) * len(self.sk_nodes),
                      down_views=(None,) * n)
        return [ImplState(system, ghost, 0, 0, (), self.encoding)]

    # -- transitions ----------------------------------------------------------------------

    def actions(self, state: ImplState) -> list[Any]:
        """The enabled actions in one fixed order (the system's, then ``write``)."""
        if state.violated:
            return []
        system, b = state.system, self.bounds
        out = []
        for a in system.enabled_actions():
            if isinstance(a, FireTimer) and a.name == "tick" and state.ticks >= b.max_ticks:
                continue
            out.append(a)
        if state.writes < b.max_writes:
            for nid in self.wp_nodes:
                node = system.nodes[nid]
                if node.active and node.actor.state != EXITED:
                    out.append(Command(nid, "write", 1))
        out.sort(key=sort_key)
        return out

    def next_state(self, state: ImplState, action: Any) -> ImplState | None:
        """Apply ``action`` to a copy of the state's system; check the properties."""
        nid = getattr(action, "node", getattr(action, "dst", None))
        system = clone_system(state.system, nid)
        before = system.nodes[nid].actor.view() if system.nodes[nid].actor is not None else None
        obs = Observation()
        system.on_event = lambda e: on_event(system, obs, e)
        down: dict[int, Any] = {}
        violated: tuple[tuple[str, str], ...] = ()
        try:
            if isinstance(action, Crash):
                down[nid] = before
            elif isinstance(action, Restart):
                down[nid] = None
            system._apply(action)  # enabled: it comes from actions()
        except TaskFailed as exc:
            violated = ((CRASH, str(exc)),)
        finally:
            system.on_event = None
        if not violated:
            observe(system, nid, before, obs)
        ghost = state.ghost
        node = system.nodes[nid]
        after = node.actor.view() if node.actor is not None else None
        changed = bool(down or obs.votes or obs.elections or obs.commits or obs.truncations
                       or after != before)
        if not violated and changed:  # else the view is the parent's, which was checked
            view = consensus_view(system, self.sk_nodes, self.wp_nodes, self.quorum,
                                  _with_down(ghost, down), obs, SEGMENT_SIZE)
            violated = check(view)
        new_ghost = next_ghost(ghost, system, self.sk_nodes, obs, down) if changed else ghost
        writes = state.writes + isinstance(action, Command)
        ticks = state.ticks + (isinstance(action, FireTimer) and action.name == "tick")
        touched = None if isinstance(action, Drop) else nid
        return ImplState(system, new_ghost, writes, ticks, violated, self.encoding, state,
                         touched)

    def expand_labeled(self, state: ImplState) -> list[tuple[Any, ImplState]]:
        return [(a, self.next_state(state, a)) for a in self.actions(state)]

    def expand(self, state: ImplState) -> tuple[int, list[ImplState]]:
        succ = [t for _, t in self.expand_labeled(state)]
        return len(succ), succ

    def value(self, state: ImplState) -> bytes:
        """The state's 128-bit fingerprint (the explorer hashes it again to 64 bits)."""
        return state.fp

    def violations(self, state: ImplState) -> list[str]:
        return [name for name, _ in state.violated]

    def violation_message(self, state: ImplState, name: str) -> str:
        return next((m for n, m in state.violated if n == name), "")

    def properties(self) -> list:
        from properties.core import always, sometimes

        def prop(name: str) -> Any:
            return always(name, lambda s: all(n != name for n, _ in s.violated))

        return ([prop(p.name) for p in ALWAYS] + [prop(CRASH)]
                + [sometimes("leader_elected", lambda s: bool(s.ghost.elections)),
                   sometimes("wal_truncated", lambda s: s.ghost.truncated),
                   sometimes("wal_committed", lambda s: bool(s.ghost.commits))])

    # -- formatting -----------------------------------------------------------------------

    def format_action(self, action: Any) -> str:
        return describe(action)

    def format_state(self, state: ImplState) -> str:
        lines = []
        for node in state.system.nodes:
            name = node.name
            if node.actor is None:
                lines.append(f"  {name}: down")
                continue
            v = node.actor.view()
            if hasattr(v, "control"):
                c = v.control
                lines.append(f"  {name}: term={v.term} th={list(c.term_history)} "
                             f"flush={format_lsn(v.flush_lsn)} commit={format_lsn(c.commit_lsn)}")
            else:
                lines.append(f"  {name}: {v.state} term={v.term} th={list(v.term_history)} "
                             f"flush={format_lsn(v.flush_lsn)} commit={format_lsn(v.commit_lsn)}"
                             + (" exited" if node.exit else ""))
        g = state.ghost
        lines.append(f"  elections={list(g.elections)} commits={[(c[0], c[1], format_lsn(c[2])) for c in g.commits]}"  # noqa: E501
                     f" writes={state.writes} ticks={state.ticks}")
        return "\n".join(lines)

    def action_data(self, action: Any) -> dict[str, Any]:
        """An action as plain JSON data (a trace's ``actions[i].action``)."""
        return action_to_dict(action)

    def record_trace(self, actions: list[Any]) -> tuple[list, list, list, int]:
        """Replay ``actions`` on a fresh system with a recorder: events, views, nodes, time."""
        from modelcheck.trace import TraceRecorder

        recorder = TraceRecorder()
        system = System(budgets=Budgets(crashes_max=None, drops_max=None, partitions_max=0),
                        chooser=_Succeeds(), step_ms=0)
        recorder.attach(system)
        self._populate(system)
        for a in actions:
            try:
                system._apply(a)
            except TaskFailed:
                break  # the actor exception is the violation: the trace ends there
        return list(recorder.events), list(recorder.snapshots), recorder.nodes(), system.now

    def options(self) -> dict[str, Any]:
        """The bounds as plain data (a trace header's ``options``)."""
        return dataclasses.asdict(self.bounds)


def _with_down(ghost: Ghost, down: dict[int, Any]) -> Ghost:
    if not down:
        return ghost
    views = list(ghost.down_views)
    for nid, view in down.items():
        views[nid] = view
    return dataclasses.replace(ghost, down_views=tuple(views))


def from_cli(args: object) -> ImplModel:
    """Build the model from ``modelcheck explore --model impl`` options."""
    return ImplModel(ImplBounds(
        acceptors=getattr(args, "acceptors", 3),
        proposers=getattr(args, "proposers", 2),
        max_crashes=getattr(args, "max_crashes", 0),
        max_drops=getattr(args, "max_drops", 0),
        max_writes=getattr(args, "max_writes", 1),
        max_ticks=getattr(args, "max_ticks", 0),
        mutant=getattr(args, "mutant", None),
    ))


def explore_impl(*, acceptors: int = 3, proposers: int = 2, mutant: str | None = None,
                 max_crashes: int = 0, max_drops: int = 0, max_writes: int = 1,
                 max_ticks: int = 0, max_depth: int | None = None, dfs: bool = False,
                 stop_on_violation: bool = True, progress: Any = None,
                 workers: int = 1) -> Any:
    """Explore the implementation model; returns a :class:`modelcheck.explore.ExploreResult`.

    A violation's ``trace`` holds ``(action, ImplState)`` pairs, the initial
    state first; :func:`modelcheck.explore_trace.violation_trace` turns it
    into a trace file. The model is ``result_model`` on the result.
    """
    from modelcheck.explore import explore

    model = ImplModel(ImplBounds(acceptors, proposers, max_crashes, max_drops, max_writes,
                                 max_ticks, mutant))
    result = explore(model, dfs=dfs, max_depth=max_depth, stop_on_violation=stop_on_violation,
                     progress=progress, fingerprints=True, workers=workers)
    result.model_object = model  # type: ignore[attr-defined]
    return result
