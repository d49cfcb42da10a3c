"""An untimed, fully controlled actor system, for drivers that pick every event.

The timed :class:`~modelcheck.world.World` lets a chooser decide delays and
task order; here nothing happens on its own. The system lists the events that
could happen next (:meth:`System.enabled_actions`, in one deterministic sorted
order) and applies the one its driver picks (:meth:`System.apply`): Hypothesis
(:mod:`modelcheck.stateful`), the exhaustive explorer, or the z3 minimiser's
replay. Actors are the same sans-I/O :class:`~modelcheck.actor.Actor` classes
the World runs, with the same :class:`~modelcheck.actor.Context`.

Network: each connection has two directions, each a FIFO queue (TCP order).
Only the head of a direction can be delivered or dropped. Item 0 of the
client-to-server direction is the handshake, so no message overtakes the
accept. A drop breaks its direction as a failed send does in the World: the
rest of the queue and later sends on it are lost, nobody is told. An end
learns that a connection is dead through a :class:`Disconnect` action, enabled
once nothing can ever arrive on that end (the keepalive of the timed network).

Identity: actions name messages by ``(conn key, n)`` where the connection key
is ``(client, server, serial)`` (the serial-th connection that client opened
to that server) and ``n`` the position on the direction; timers by ``(node,
name)``. These names do not shift when a shorter run sends fewer messages
elsewhere, so a recorded action list replays by identity (:meth:`replay`).

Virtual time is a logical clock in integer ms: every applied action moves it
forward by ``step_ms`` (1 by default), a :class:`FireTimer` moves it to the
timer's due time if that is later (a timer never fires before its delay has
elapsed as far as ``ctx.now`` shows), and :class:`Tick` moves it by any amount.
Timers may fire in any order regardless of their due times (the untimed
over-approximation every explicit-state checker makes); :meth:`due_timers`
lists them by due time for drivers that want timed behaviour.

Faults are bounded by :class:`Budgets`. :meth:`snapshot` gives the whole state
as plain hashable data (by default without the clock and due times, so the
explorer's state space stays finite) and :meth:`fingerprint` a stable digest
of it. The event log uses the World's line format.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from modelcheck._explore_model import stable_encode
from modelcheck._system_actions import (
    KINDS,
    Action,
    Command,
    ConnKey,
    Crash,
    Deliver,
    Disconnect,
    Drop,
    FireTimer,
    Heal,
    Isolate,
    Restart,
    Tick,
    action_from_dict,
    action_to_dict,
    describe,
    sort_key,
)
from modelcheck._system_state import (
    ACCEPT,
    ActorFactory,
    Budgets,
    Conn,
    SystemNode,
    actor_state,
    freeze,
)
from modelcheck.actor import Actor, Context
from modelcheck.choice import Chooser, SeededChooser
from modelcheck.disk import Disk, DiskOptions
from modelcheck.errors import InvalidArgument, TaskFailed
from modelcheck.network import Endpoint
from modelcheck.world import events_digest, format_event

__all__ = [
    "KINDS", "Action", "Budgets", "Command", "ConnKey", "Crash", "Deliver", "Disconnect",
    "Drop", "FireTimer", "Heal", "Isolate", "Restart", "System", "Tick", "action_from_dict",
    "action_to_dict", "describe", "freeze", "sort_key",
]


class System:
    """Nodes running actors; every event is an explicit :class:`Action`.

    >>> from modelcheck.actor import Actor
    >>> class Ping(Actor):
    ...     def on_start(self, ctx):
    ...         if ctx.node == 0:
    ...             ctx.send(ctx.connect(1), "ping")
    >>> s = System(); _ = s.add_actor(lambda nid: Ping()); _ = s.add_actor(lambda nid: Ping())
    >>> for a in s.enabled_actions()[:3]:
    ...     print(describe(a))
    deliver 0->1 conn=(0,1,0) #0
    drop 0->1 conn=(0,1,0) #0
    crash node=0
    """

    def __init__(self, *, budgets: Budgets | None = None, chooser: Chooser | None = None,
                 disk: DiskOptions | None = None, step_ms: int = 1,
                 log_events: bool = True) -> None:
        if not isinstance(step_ms, int) or step_ms < 0:
            raise InvalidArgument(f"step_ms={step_ms!r} must be an int >= 0")
        self.budgets = budgets or Budgets()
        self.chooser: Chooser = chooser or SeededChooser(0)
        self.disk_options = disk or DiskOptions()
        self.step_ms = step_ms
        self.now = 0
        self.steps = 0
        self.nodes: list[SystemNode] = []
        self.conns: list[Conn] = []
        self._by_key: dict[ConnKey, Conn] = {}
        self._serial: dict[tuple[int, int], int] = {}
        self.isolated: set[int] = set()
        self.used = {"crashes": 0, "drops": 0, "partitions": 0, "timer_fires": 0}
        self.events: list[tuple] | None = [] if log_events else None
        self.actions: list[Action] = []  # every applied action, in order
        self.on_event: Callable[[tuple], None] | None = None
        self.on_actor_step: Callable[[SystemNode], None] | None = None
        self._msg_ids = 0

    # -- building -----------------------------------------------------------------

    def add_actor(self, factory: ActorFactory, name: str | None = None) -> SystemNode:
        """Add a node running ``factory(node_id)``; its ``on_start`` runs at once."""
        nid = len(self.nodes)
        node = SystemNode(nid, name or f"n{nid}", factory, Disk(self.disk_options))
        self.nodes.append(node)
        self._start(node)
        return node

    def node(self, nid: int) -> SystemNode:
        if not isinstance(nid, int) or not 0 <= nid < len(self.nodes):
            raise InvalidArgument(f"node={nid!r} does not exist (nodes 0..{len(self.nodes) - 1})")
        return self.nodes[nid]

    # -- logging ------------------------------------------------------------------

    def _record(self, nid: int, kind: str, fields: tuple) -> None:
        event = (self.now, nid, kind, fields)
        if self.events is not None:
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def log_lines(self) -> list[str]:
        """The event log as text lines (the World's format)."""
        return [format_event(e) for e in self.events or ()]

    def log_digest(self) -> str:
        """A short digest of the event log, as the World's."""
        return events_digest(self.events)

    # -- Host protocol for contexts ----------------------------------------------------

    def open_connection(self, node: int, dst: int) -> Endpoint:
        if dst == node or not isinstance(dst, int) or dst < 0:
            raise InvalidArgument(f"connect: node {node} cannot connect to dst={dst!r}")
        serial = self._serial.get((node, dst), 0)
        self._serial[(node, dst)] = serial + 1
        conn = Conn(len(self.conns), (node, dst, serial))
        self.conns.append(conn)
        self._by_key[conn.key] = conn
        self._record(node, "connect", (("conn", conn.cid), ("to", dst)))
        d = conn.dirs[0]
        d.count = 1
        if self._cut(node, dst) or (dst < len(self.nodes) and not self.nodes[dst].alive):
            d.send_closed = True  # the handshake is lost; nobody is told
        else:
            d.queue.append((0, ACCEPT, 0))
        return conn.ends[0]

    def choose(self, n: int) -> int:
        return self.chooser.below(n)

    # -- enabled actions ----------------------------------------------------------------

    def _cut(self, a: int, b: int) -> bool:
        return a != b and (a in self.isolated or b in self.isolated)

    def _end_dead(self, conn: Conn, side: int) -> bool:
        """True when nothing can ever arrive again on ``conn``'s end ``side``."""
        incoming = conn.dirs[1 - side]
        if incoming.recv_closed:
            return False  # the end is closed already
        if incoming.send_closed and not incoming.queue:
            return True
        if side == 0 and not conn.accepted:
            hs = conn.dirs[0]
            return hs.send_closed and not hs.queue  # the handshake was lost
        return False

    def _budget_left(self, used: str, limit: int | None) -> bool:
        return limit is None or self.used[used] < limit

    def enabled_actions(self) -> list[Action]:
        """Every action that can happen now, sorted by :func:`sort_key` (deterministic)."""
        b = self.budgets
        if b.steps_max is not None and self.steps >= b.steps_max:
            return []
        out = self._network_actions()
        nodes = self.nodes
        if self._budget_left("timer_fires", b.timer_fires_max):
            for node in nodes:
                if node.active:
                    out.extend(FireTimer(node.nid, name) for name in node.timers)
        can_crash = self._budget_left("crashes", b.crashes_max)
        can_cut = self._budget_left("partitions", b.partitions_max)
        for node in nodes:
            if node.alive and can_crash:
                out.append(Crash(node.nid))
            if not node.alive:
                out.append(Restart(node.nid))
            if can_cut and node.nid not in self.isolated and len(nodes) > 1:
                out.append(Isolate(node.nid))
        if self.isolated:
            out.append(Heal())
        out.sort(key=sort_key)
        return out

    def _network_actions(self) -> list[Action]:
        out: list[Action] = []
        nodes = self.nodes
        can_drop = self._budget_left("drops", self.budgets.drops_max)
        for conn in self.conns:
            if conn.dirs[0].recv_closed and conn.dirs[1].recv_closed:
                continue  # both ends closed: nothing can happen on it any more
            for side in (0, 1):
                d = conn.dirs[side]
                src, dst = conn.nodes[side], conn.nodes[1 - side]
                if d.queue and dst < len(nodes) and nodes[dst].active:
                    n = d.queue[0][0]
                    out.append(Deliver(src, dst, conn.key, n))
                    if can_drop:
                        out.append(Drop(src, dst, conn.key, n))
                own = conn.nodes[side]
                if own < len(nodes) and nodes[own].active and self._end_dead(conn, side):
                    out.append(Disconnect(conn.nodes[side], conn.key))
        return out

    def due_timers(self) -> list[tuple[int, FireTimer]]:
        """Armed timers of active nodes as ``(due_ms, FireTimer)``, earliest first."""
        timers = [(due, FireTimer(n.nid, name)) for n in self.nodes if n.active
                  for name, due in n.timers.items()]
        timers.sort(key=lambda t: (t[0], sort_key(t[1])))
        return timers

    # -- applying --------------------------------------------------------------------

    def is_enabled(self, action: Action) -> bool:
        if isinstance(action, Tick):
            return action.ms >= 0
        if isinstance(action, Command):  # offered by the driver, not listed: any active node
            return 0 <= action.node < len(self.nodes) and self.nodes[action.node].active
        return action in self.enabled_actions()

    def apply(self, action: Action) -> None:
        """Apply one enabled action (raises :class:`InvalidArgument` if it is not enabled).

        An exception escaping an actor handler is raised as :class:`TaskFailed`.
        """
        if not self.is_enabled(action):
            raise InvalidArgument(
                f"action {describe(action)} is not enabled at step {self.steps}; enabled: "
                + (", ".join(describe(a) for a in self.enabled_actions()) or "(none)"))
        self._apply(action)

    def _apply(self, action: Action) -> None:
        self.steps += 1
        self.actions.append(action)
        self.now += self.step_ms
        kind = type(action)
        if kind is Deliver:
            self._deliver(action)
        elif kind is Drop:
            self._drop(action)
        elif kind is FireTimer:
            node = self.nodes[action.node]
            self.now = max(self.now, node.timers.pop(action.name))
            self.used["timer_fires"] += 1
            self._record(node.nid, "timer", (("name", action.name),))
            self._handle(node, lambda a, ctx: a.on_timer(ctx, action.name))
        elif kind is Disconnect:
            conn = self._by_key[action.conn]
            ep = conn.ends[0 if conn.nodes[0] == action.node else 1]
            self._close(ep)
            self._record(action.node, "closed", (("conn", conn.cid),))
            self._handle(self.nodes[action.node], lambda a, ctx: a.on_closed(ctx, ep))
        elif kind is Command:
            self._command(action)
        elif kind is Crash:
            self.used["crashes"] += 1
            self._crash(self.nodes[action.node])
        elif kind is Restart:
            node = self.nodes[action.node]
            node.alive, node.exit = True, None
            node.incarnation += 1
            self._record(node.nid, "restart", (("incarnation", node.incarnation),))
            self._start(node)
        elif kind is Isolate:
            self.used["partitions"] += 1
            self._isolate(action.node)
        elif kind is Heal:
            self.isolated.clear()
            self._record(-1, "heal", ())
        elif kind is Tick:
            self.now += action.ms
        else:  # pragma: no cover - every Action class is handled above
            raise AssertionError(f"unknown action {action!r}")

    def _deliver(self, action: Deliver) -> None:
        conn = self._by_key[action.conn]
        side = 0 if conn.nodes[0] == action.src else 1
        n, item, msg_id = conn.dirs[side].queue.popleft()
        assert n == action.n, (n, action)
        node = self.nodes[action.dst]
        ep = conn.ends[1 - side]
        if item is ACCEPT:
            conn.accepted = True
            self._record(node.nid, "accept", (("conn", conn.cid), ("from", action.src)))
            self._handle(node, lambda a, ctx: a.on_accept(ctx, ep))
        else:
            msg = item[1]
            self._record(node.nid, "recv", (("conn", conn.cid), ("from", action.src),
                                             ("id", msg_id)))
            self._handle(node, lambda a, ctx: a.on_message(ctx, ep, msg))

    def _drop(self, action: Drop) -> None:
        conn = self._by_key[action.conn]
        d = conn.dirs[0 if conn.nodes[0] == action.src else 1]
        self.used["drops"] += 1
        lost = [msg_id for _, _, msg_id in d.queue]
        d.queue.clear()
        d.send_closed = True
        self._record(action.dst, "drop", (("conn", conn.cid), ("n", action.n),
                                           ("lost", len(lost)), ("reason", "failed")))

    def _command(self, action: Command) -> None:
        node = self.node(action.node)
        if not node.active:
            raise InvalidArgument(f"command {describe(action)}: node {node.nid} is not active")
        handler = getattr(node.actor, "on_command", None)
        if handler is None:
            raise InvalidArgument(
                f"command {describe(action)}: {type(node.actor).__name__} has no on_command")
        self._record(node.nid, "command", (("name", action.name), ("arg", action.arg)))
        self._handle(node, lambda a, ctx: a.on_command(ctx, action.name, action.arg))

    def stop_node(self, nid: int) -> None:
        """Crash ``nid`` as the driver's own lifecycle step, not as a drawn fault.

        Like :class:`Crash`, but outside the budgets and the action list (a
        scenario retiring a process it replaces; the driver replays it itself).
        """
        node = self.node(nid)
        if node.alive:
            self._crash(node)

    def _isolate(self, nid: int) -> None:
        self.isolated.add(nid)
        self._record(-1, "partition", (("a", [nid]),
                                       ("b", [n.nid for n in self.nodes if n.nid != nid])))
        for conn in self.conns:
            if nid in conn.nodes:
                for d in conn.dirs:
                    if d.queue or not d.send_closed:
                        d.queue.clear()
                        d.send_closed = True

    def _crash(self, node: SystemNode) -> None:
        self._record(node.nid, "crash", (("incarnation", node.incarnation),))
        node.alive = False
        node.actor = None
        node.timers.clear()
        for conn in self.conns:
            for side in (0, 1):
                if conn.nodes[side] == node.nid:
                    self._close(conn.ends[side], log=False)
        node.disk.crash(self.chooser if node.disk.options.torn_writes else None)

    def _close(self, ep: Endpoint, *, log: bool = True) -> None:
        """Close an end: what is in flight to it is dropped; what it sent still arrives."""
        conn = self.conns[ep.conn]
        incoming, outgoing = conn.dirs[1 - ep.side], conn.dirs[ep.side]
        if incoming.recv_closed and outgoing.send_closed:
            return
        dropped = len(incoming.queue)
        incoming.recv_closed = True
        incoming.queue.clear()
        outgoing.send_closed = True
        if log:
            self._record(ep.node, "close", (("conn", ep.conn), ("dropped", dropped)))

    def _send(self, ep: Endpoint, msg: Any) -> None:
        conn = self.conns[ep.conn]
        d = conn.dirs[ep.side]
        self._msg_ids += 1
        msg_id = self._msg_ids
        n = d.count
        d.count = n + 1
        self._record(ep.node, "send", (("conn", ep.conn), ("to", ep.peer), ("id", msg_id),
                                       ("msg", msg)))
        if d.send_closed or d.recv_closed or self._cut(ep.node, ep.peer):
            reason = "broken" if d.send_closed else "closed" if d.recv_closed else "partition"
            d.send_closed = True
            self._record(ep.node, "drop", (("id", msg_id), ("reason", reason)))
            return
        d.queue.append((n, ("msg", msg), msg_id))

    # -- actors ------------------------------------------------------------------------

    def _start(self, node: SystemNode) -> None:
        node.actor = node.factory(node.nid)
        self._record(node.nid, "start", (("actor", type(node.actor).__name__),
                                         ("incarnation", node.incarnation)))
        self._handle(node, lambda a, ctx: a.on_start(ctx))

    def _handle(self, node: SystemNode, call: Callable[[Actor, Context], None]) -> None:
        actor = node.actor
        assert actor is not None and node.active, node
        ctx = Context(node.nid, self.now, node.disk, self)
        try:
            call(actor, ctx)
        except Exception as error:  # noqa: BLE001 - an actor failure is a crash outcome
            raise TaskFailed(f"{node.name}/actor", self.now, error) from error
        for effect in ctx.effects:
            op = effect[0]
            if op == "send":
                self._send(effect[1], effect[2])
            elif op == "set_timer":
                node.timers[effect[1]] = self.now + effect[2]
            elif op == "cancel_timer":
                node.timers.pop(effect[1], None)
            elif op == "log":
                self._record(node.nid, effect[1], effect[2])
            elif op == "close":
                self._close(effect[1])
            elif op == "exit":
                node.exit = (effect[1], effect[2])
                node.timers.clear()
                self._record(node.nid, "exit", (("code", effect[1]), ("message", effect[2])))
            # "connect" was applied when the handler asked (it needed the endpoint).
        if self.on_actor_step is not None:
            self.on_actor_step(node)

    # -- observing ---------------------------------------------------------------------

    def view(self) -> tuple:
        """Per node, its actor's :meth:`~modelcheck.actor.Actor.view` (None when down)."""
        return tuple(n.actor.view() if n.actor is not None else None for n in self.nodes)

    def in_flight(self) -> list[tuple[int, int, ConnKey, int, Any]]:
        """Messages in flight as ``(src, dst, conn key, n, msg)`` (handshakes excluded)."""
        out = []
        for conn in self.conns:
            for side in (0, 1):
                src, dst = conn.nodes[side], conn.nodes[1 - side]
                out.extend((src, dst, conn.key, n, item[1])
                           for n, item, _ in conn.dirs[side].queue if item is not ACCEPT)
        return out

    def snapshot(self, *, include_time: bool = False) -> tuple:
        """The whole state as plain hashable data.

        Per node: up, incarnation, exit, actor state (``actor.state()`` if the
        actor defines it, else its attributes), armed timers (with due times
        only if ``include_time``), disk content. Per connection not closed at
        both ends (a closed one can never act again): key, accepted and both
        directions (closed flags, item count, queued ``(n, item)``).
        Then the cut nodes, the budgets used, and the clock if ``include_time``.
        """
        nodes = []
        for n in self.nodes:
            timers = tuple(sorted(n.timers.items())) if include_time else tuple(sorted(n.timers))
            nodes.append((n.alive, n.incarnation, n.exit, actor_state(n.actor), timers,
                          n.disk.snapshot()))
        conns = tuple(
            (c.key, c.accepted, tuple((d.send_closed, d.recv_closed, d.count,
                                       tuple((k, item) for k, item, _ in d.queue))
                                      for d in c.dirs))
            for c in self.conns if not (c.dirs[0].recv_closed and c.dirs[1].recv_closed))
        used = tuple(sorted(self.used.items()))
        state = (tuple(nodes), conns, tuple(sorted(self.isolated)), used)
        return state + (self.now,) if include_time else state

    def fingerprint(self, *, include_time: bool = False) -> str:
        """A stable hex digest of :meth:`snapshot` (same in every process and hash seed)."""
        data = stable_encode(self.snapshot(include_time=include_time))
        return hashlib.blake2b(data, digest_size=16).hexdigest()

    def clone(self) -> System:
        """An independent deep copy (for a driver that branches; hooks are not copied)."""
        hooks = (self.on_event, self.on_actor_step)
        self.on_event = self.on_actor_step = None
        try:
            return copy.deepcopy(self)
        finally:
            self.on_event, self.on_actor_step = hooks

    # -- replay -----------------------------------------------------------------------

    def replay(self, actions: Iterable[Action | dict], *, strict: bool = True) -> list[Action]:
        """Apply recorded actions by identity; returns those applied.

        With ``strict`` a recorded action that is not enabled raises
        :class:`InvalidArgument`; otherwise it is skipped (a minimiser's replay
        of a shortened run).
        """
        return list(self.replay_iter(actions, strict=strict))

    def replay_iter(self, actions: Iterable[Action | dict], *,
                    strict: bool = True) -> Iterator[Action]:
        """Like :meth:`replay`, yielding after each applied action (to check properties)."""
        for i, a in enumerate(actions):
            action = action_from_dict(a, f"action #{i}") if isinstance(a, dict) else a
            if not self.is_enabled(action):
                if strict:
                    self.apply(action)  # raises with the list of enabled actions
                continue
            self._apply(action)
            yield action
