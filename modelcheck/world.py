"""The world: nodes, their tasks and actors, the network, disks and the event log.

A node is an id with a disk that survives crashes, an inbox for its network
and timer events, and either plain tasks (``spawn``) or one actor
(``add_actor``). ``crash`` kills the node's tasks, forgets its memory (the
actor object), closes its connection ends silently and loses its unsynced
disk writes; ``restart`` starts a new incarnation that reads its disk again.

The event log has one line per event in a stable text form,
``t=<ms> node=<id> <kind> key=value ...``, the same for the same seed in any
process (the determinism tests compare it byte for byte).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from typing import Any

from modelcheck.actor import Actor, Context
from modelcheck.chan import Chan
from modelcheck.choice import Chooser, SeededChooser
from modelcheck.disk import Disk, DiskOptions
from modelcheck.errors import InvalidArgument
from modelcheck.executor import Executor, Task
from modelcheck.network import Endpoint, Network, NetworkOptions

ActorFactory = Callable[[int], Actor]

_LONG_VALUE = 160


def format_value(value: Any) -> str:
    """Render a log field value deterministically and briefly."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return f"<{len(data)}B:{hashlib.blake2b(data, digest_size=4).hexdigest()}>"
    log_repr = getattr(value, "log_repr", None)
    text = log_repr() if log_repr is not None else repr(value)
    if len(text) > _LONG_VALUE:
        digest = hashlib.blake2b(text.encode(), digest_size=4).hexdigest()
        text = f"{text[:_LONG_VALUE]}...<{digest}>"
    return text


def format_event(event: tuple) -> str:
    """One event tuple ``(t, node, kind, fields)`` as a log line."""
    t, node, kind, fields = event
    parts = [f"t={t} node={node} {kind}"]
    parts.extend(f"{k}={v if isinstance(v, (int, str)) else format_value(v)}" for k, v in fields)
    return " ".join(parts)


def events_digest(events) -> str:
    """A short digest of an event log (its lines, each ended by a newline): what determinism
    checks compare, for the World and the System alike."""
    h = hashlib.blake2b(digest_size=16)
    for event in events or ():
        h.update(format_event(event).encode())
        h.update(b"\n")
    return h.hexdigest()


class Node:
    """One simulated machine."""

    __slots__ = ("nid", "name", "disk", "alive", "incarnation", "inbox", "tasks", "actor",
                 "factory", "timers", "exit", "actor_task")

    def __init__(self, nid: int, name: str, disk: Disk, inbox: Chan) -> None:
        self.nid = nid
        self.name = name
        self.disk = disk
        self.alive = True
        self.incarnation = 0
        self.inbox = inbox
        self.tasks: list[Task] = []
        self.actor: Actor | None = None
        self.factory: ActorFactory | None = None
        self.timers: dict[str, int] = {}  # timer name -> generation of its live setting
        self.exit: tuple[int, str] | None = None
        self.actor_task: Task | None = None

    def __repr__(self) -> str:
        return f"Node({self.nid}, {self.name!r}, {'up' if self.alive else 'down'})"


class World:
    """Everything a simulated run has, driven by one chooser.

    >>> w = World(seed=1)
    >>> a = w.add_node("a")
    >>> async def hello():
    ...     w.log(a, "hello", x=1)
    >>> _ = w.spawn(a, hello(), "hello"); w.run(); w.log_lines()
    ['t=0 node=0 hello x=1']
    """

    def __init__(
        self,
        seed: int | None = None,
        *,
        chooser: Chooser | None = None,
        network: NetworkOptions | None = None,
        disk: DiskOptions | None = None,
        log_events: bool = True,
    ) -> None:
        if chooser is None:
            if seed is None:
                raise InvalidArgument("World needs seed=<int> or chooser=<Chooser>")
            chooser = SeededChooser(seed)
        self.seed = seed
        self.chooser = chooser
        self.executor = Executor(chooser)
        self.disk_options = disk or DiskOptions()
        self.events: list[tuple] | None = [] if log_events else None
        self.network = Network(self.executor, chooser, network or NetworkOptions(),
                               self._deliver, self._net_log if log_events else None)
        self.nodes: list[Node] = []
        self._timer_generation = 0
        self.on_event: Callable[[tuple], None] | None = None
        self.on_actor_step: Callable[[Node], None] | None = None

    # -- time and logging ----------------------------------------------------

    @property
    def now(self) -> int:
        return self.executor.now

    def log(self, node: Node | int, kind: str, **fields: Any) -> None:
        nid = node.nid if isinstance(node, Node) else node
        self._record(nid, kind, tuple(fields.items()))

    def _net_log(self, nid: int, kind: str, fields: tuple) -> None:
        self._record(nid, kind, fields)

    def _record(self, nid: int, kind: str, fields: tuple) -> None:
        event = (self.executor.now, nid, kind, fields)
        if self.events is not None:
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def log_lines(self) -> list[str]:
        """The event log as text lines."""
        return [format_event(e) for e in self.events or ()]

    def log_digest(self) -> str:
        """A short digest of the whole event log (for determinism checks)."""
        return events_digest(self.events)

    # -- nodes ------------------------------------------------------------------

    def add_node(self, name: str | None = None) -> Node:
        nid = len(self.nodes)
        node = Node(nid, name or f"n{nid}", Disk(self.disk_options), Chan(self.executor))
        self.nodes.append(node)
        return node

    def node(self, nid: int) -> Node:
        if not 0 <= nid < len(self.nodes):
            raise InvalidArgument(f"node={nid} does not exist (nodes 0..{len(self.nodes) - 1})")
        return self.nodes[nid]

    def spawn(self, node: Node, coro: Coroutine[Any, Any, Any], name: str, *,
              daemon: bool = False) -> Task:
        """Run a plain coroutine task on ``node`` (killed if the node crashes)."""
        if not node.alive:
            raise InvalidArgument(f"spawn: node {node.name} is down")
        task = self.executor.spawn(coro, f"{node.name}/{name}", daemon=daemon)
        node.tasks.append(task)
        return task

    def crash(self, node: Node | int) -> None:
        """Kill the node: tasks, memory, connections and unsynced writes are gone."""
        node = node if isinstance(node, Node) else self.node(node)
        if not node.alive:
            return
        self._record(node.nid, "crash", (("incarnation", node.incarnation),))
        node.alive = False
        for task in list(node.tasks):
            self.executor.kill(task)
        node.tasks.clear()
        node.actor = None
        node.actor_task = None
        node.timers.clear()
        node.inbox.clear()
        self.network.close_node(node.nid)
        node.disk.crash(self.chooser if node.disk.options.torn_writes else None)

    def restart(self, node: Node | int) -> None:
        """Bring a node back (crashing it first if it is up); its actor starts again."""
        node = node if isinstance(node, Node) else self.node(node)
        if node.alive:
            self.crash(node)
        node.alive = True
        node.incarnation += 1
        node.exit = None
        node.inbox = Chan(self.executor)
        self._record(node.nid, "restart", (("incarnation", node.incarnation),))
        if node.factory is not None:
            self._start_actor(node)

    def _deliver(self, nid: int, event: tuple) -> None:
        node = self.nodes[nid]
        if node.alive:
            node.inbox.send(event)
        elif self.events is not None:
            self._record(nid, "lost", (("event", event[0]),))

    # -- plain-task networking -------------------------------------------------

    def connect(self, node: Node, dst: int) -> Endpoint:
        return self.network.connect(node.nid, dst)

    def send(self, ep: Endpoint, msg: Any) -> int:
        return self.network.send(ep, msg)

    def close(self, ep: Endpoint) -> None:
        self.network.close(ep)

    # -- actors -------------------------------------------------------------------

    def add_actor(self, factory: ActorFactory, name: str | None = None) -> Node:
        """Add a node running the actor ``factory(node_id)``, started at once."""
        node = self.add_node(name)
        node.factory = factory
        self._start_actor(node)
        return node

    def _start_actor(self, node: Node) -> None:
        assert node.factory is not None
        node.actor = node.factory(node.nid)
        node.actor_task = self.spawn(node, self._actor_loop(node, node.actor), "actor",
                                     daemon=True)

    # Host protocol for contexts.
    def open_connection(self, nid: int, dst: int) -> Endpoint:
        return self.network.connect(nid, dst)

    def choose(self, n: int) -> int:
        return self.chooser.below(n)

    async def _actor_loop(self, node: Node, actor: Actor) -> None:
        nid = node.nid
        self._record(nid, "start", (("actor", type(actor).__name__),
                                    ("incarnation", node.incarnation)))
        ctx = Context(nid, self.executor.now, node.disk, self)
        actor.on_start(ctx)
        self._apply(node, ctx)
        inbox = node.inbox
        while node.exit is None:
            event = await inbox.recv()
            ctx = Context(nid, self.executor.now, node.disk, self)
            kind = event[0]
            if kind == "msg":
                _, ep, msg, msg_id = event
                if self.events is not None:
                    self._record(nid, "recv", (("conn", ep.conn), ("from", ep.peer),
                                               ("id", msg_id)))
                actor.on_message(ctx, ep, msg)
            elif kind == "timer":
                _, name, generation = event
                if node.timers.get(name) != generation:
                    continue  # cancelled or re-armed since
                del node.timers[name]
                self._record(nid, "timer", (("name", name),))
                actor.on_timer(ctx, name)
            elif kind == "accept":
                self._record(nid, "accept", (("conn", event[1].conn), ("from", event[1].peer)))
                actor.on_accept(ctx, event[1])
            elif kind == "closed":
                self._record(nid, "closed", (("conn", event[1].conn),))
                actor.on_closed(ctx, event[1])
            else:  # pragma: no cover - the world only queues the kinds above
                raise AssertionError(f"unknown node event {event!r}")
            self._apply(node, ctx)

    def _apply(self, node: Node, ctx: Context) -> None:
        network = self.network
        for effect in ctx.effects:
            op = effect[0]
            if op == "send":
                network.send(effect[1], effect[2])
            elif op == "set_timer":
                self._set_timer(node, effect[1], effect[2])
            elif op == "cancel_timer":
                node.timers.pop(effect[1], None)
            elif op == "log":
                self._record(node.nid, effect[1], effect[2])
            elif op == "close":
                network.close(effect[1], notify=False)
            elif op == "exit":
                node.exit = (effect[1], effect[2])
                node.timers.clear()
                self._record(node.nid, "exit", (("code", effect[1]), ("message", effect[2])))
            # "connect" was applied when the handler asked (it needed the endpoint).
        if self.on_actor_step is not None:
            self.on_actor_step(node)

    def _set_timer(self, node: Node, name: str, after_ms: int) -> None:
        self._timer_generation += 1
        generation = node.timers[name] = self._timer_generation
        inbox, incarnation = node.inbox, node.incarnation

        def fire() -> None:
            if node.alive and node.incarnation == incarnation:
                inbox.send(("timer", name, generation))

        self.executor.call_later(after_ms, fire)

    # -- running ----------------------------------------------------------------

    def run(self, until_ms: int | None = None, *, max_steps: int | None = None,
            stop: Callable[[], bool] | None = None) -> None:
        """Run the executor (see :meth:`Executor.run`)."""
        self.executor.run(until_ms, max_steps=max_steps, stop=stop)

    def partition(self, side_a: list[int], side_b: list[int]) -> None:
        self.network.partition(side_a, side_b)

    def heal(self) -> None:
        self.network.heal()
