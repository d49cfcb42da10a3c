"""Action-level replay on a controlled :class:`~modelcheck.system.System`, for the minimiser.

:func:`replay_steps` applies a list of actions by identity (an action that is
not enabled is skipped, as a shorter run may not have sent that message or
armed that timer), checks the property after each applied one, and stops at
the first violation. With ``record=True`` it also notes what each applied
action *produced*: messages (``(conn key, side, n)``, from the direction
counters), connections, timers (from the handler's effects) and nodes. From
that record :func:`needs_of` derives each step's needs (see
:mod:`modelcheck._minimize_search`).

:class:`MachineAdapter` minimises traces written by a
:class:`~modelcheck.stateful.SystemMachine` (``driver: stateful``, actions of
the System recorded): the machine named in the header is rebuilt for every
replay and its ``check_now`` is the property check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelcheck.errors import TaskFailed, TraceError
from modelcheck.system import (
    Command,
    Crash,
    Deliver,
    Disconnect,
    Drop,
    FireTimer,
    Restart,
    System,
    Tick,
    action_from_dict,
    action_to_dict,
    describe,
)

__all__ = ["MachineAdapter", "Produced", "RunOutcome", "needs_of", "replay_steps"]


@dataclass
class Produced:
    """What one applied action produced."""

    msgs: list[tuple] = field(default_factory=list)  # (conn key, side, n); handshake = side 0, n 0
    timers: list[tuple[int, str]] = field(default_factory=list)
    nodes: list[int] = field(default_factory=list)


@dataclass
class RunOutcome:
    """One replay: positions applied (in the given list), the violation and where."""

    applied: list[int]
    violation: dict[str, Any] | None
    system: Any
    produced: list[Produced] | None = None  # per applied action, with record=True
    skipped: int = 0


def _counts(system: System) -> dict[tuple, int]:
    return {(c.key, side): c.dirs[side].count for c in system.conns for side in (0, 1)}


def replay_steps(system: System, actions: Sequence[Any], apply: Callable[[Any], bool],
                 check: Callable[[], dict[str, Any] | None], *, record: bool = False,
                 enabled: Callable[[Any], bool] | None = None) -> RunOutcome:
    """Apply ``actions`` in order (``apply`` returns False when it was not enabled)."""
    applied: list[int] = []
    produced: list[Produced] | None = [] if record else None
    timers: list[tuple[int, str]] = []
    if record:
        orig = system._handle

        def handle(node: Any, call: Callable) -> None:
            def spy(actor: Any, ctx: Any) -> None:
                call(actor, ctx)
                timers.extend((node.nid, e[1]) for e in ctx.effects if e[0] == "set_timer")
            orig(node, spy)

        system._handle = handle  # type: ignore[method-assign]
    violation = check()
    skipped = 0
    for pos, action in enumerate(actions):
        if violation is not None:
            break
        before = _counts(system) if record else None
        nodes_before = len(system.nodes)
        timers.clear()
        try:
            done = apply(action)
        except TaskFailed as exc:  # an actor raised: the run ends in a crash outcome
            applied.append(pos)
            violation = {"property": "crash", "message": str(exc), "outcome": "crash"}
            if produced is not None:
                produced.append(Produced())
            break
        if not done:
            skipped += 1
            continue
        applied.append(pos)
        if produced is not None and before is not None:
            p = Produced(timers=list(timers), nodes=list(range(nodes_before, len(system.nodes))))
            for key, count in _counts(system).items():
                for n in range(before.get(key, 0), count):
                    p.msgs.append((key[0], key[1], n))
            produced.append(p)
        violation = check()
    return RunOutcome(applied, violation, system, produced, skipped)


def needs_of(  # noqa: C901 (one case per action kind)
        actions: Sequence[Any], produced: Sequence[Produced], lane_of: Callable[[Any], int],
        initial_nodes: int) -> list[list[int]]:
    """Each step's needs, from a full recorded replay (``actions`` = the applied ones).

    A delivery or drop needs the step that produced the item and the step that
    consumed the item before it on the same direction; a timer firing needs the
    step that last armed it; a disconnect needs the step that opened the
    connection; a restart needs the node's crash and a crash the node's previous
    restart; every step on a node created during the run needs its creation.
    """
    maker: dict[tuple, int] = {}
    consumed: dict[tuple, int] = {}
    armed: dict[tuple[int, str], int] = {}
    created: dict[int, int] = {}
    last_crash: dict[int, int] = {}
    last_restart: dict[int, int] = {}
    out: list[list[int]] = []
    for j, (a, p) in enumerate(zip(actions, produced, strict=True)):
        needs: set[int] = set()
        node = lane_of(a)
        if node in created:
            needs.add(created[node])
        if isinstance(a, Deliver | Drop):
            side = 0 if a.conn[0] == a.src else 1
            item = (a.conn, side, a.n)
            if item in maker:
                needs.add(maker[item])
            prev = (a.conn, side, a.n - 1)
            if prev in consumed:
                needs.add(consumed[prev])
            consumed[item] = j
        elif isinstance(a, FireTimer):
            if (a.node, a.name) in armed:
                needs.add(armed[(a.node, a.name)])
        elif isinstance(a, Disconnect):
            if (a.conn, 0, 0) in maker:
                needs.add(maker[(a.conn, 0, 0)])
        elif isinstance(a, Restart):
            if a.node in last_crash:
                needs.add(last_crash[a.node])
            last_restart[a.node] = j
        elif isinstance(a, Crash):
            if a.node in last_restart:
                needs.add(last_restart[a.node])
            last_crash[a.node] = j
        needs.discard(j)
        out.append(sorted(needs))
        for item in p.msgs:
            maker[item] = j
        for t in p.timers:
            armed[t] = j
        for nid in p.nodes:
            if nid >= initial_nodes:
                created[nid] = j
    return out


def system_lane(action: Any) -> int:
    """The node whose order a System action keeps (deliveries and drops: the receiver)."""
    if isinstance(action, Deliver | Drop):
        return action.dst
    return getattr(action, "node", -1)


class MachineAdapter:
    """Minimise a :class:`~modelcheck.stateful.SystemMachine` trace (its recorded actions)."""

    kind = "machine"

    def __init__(self, trace: Any) -> None:
        from modelcheck.stateful import SystemMachine, _load_machine

        spec = str(trace.header.get("machine", ""))
        self.machine_cls = _load_machine(spec)
        if not issubclass(self.machine_cls, SystemMachine):
            raise TraceError(f"trace header machine={spec!r} is not a SystemMachine; the "
                             "minimiser replays System actions")
        self.spec = spec
        self.actions = [action_from_dict(a, f"actions[{i}]")
                        for i, a in enumerate(trace.actions or [])]
        if not self.actions:
            raise TraceError("trace has no actions to minimise (header.driver=stateful "
                             "traces of a SystemMachine record them)")
        self.initial_nodes = len(self.machine_cls().system.nodes)

    def header(self) -> dict[str, Any]:
        return {"machine": self.spec}

    lane = staticmethod(system_lane)

    @staticmethod
    def inner(action: Any) -> Any:
        return action

    describe = staticmethod(describe)
    to_json = staticmethod(action_to_dict)

    def from_json(self, data: Any, where: str) -> Any:
        return action_from_dict(data, where)

    def run(self, actions: Sequence[Any], *, record: bool = False, recorder: Any = None,
            target: str | None = None) -> RunOutcome:
        """Replay ``actions``; the machine stops at its first violation (``target`` unused)."""
        machine = self.machine_cls()
        machine.raise_on_failure = False
        system = machine.system
        if recorder is not None:
            recorder.attach(system)

        def apply(a: Any) -> bool:
            if isinstance(a, Command):
                if a not in machine.commands():
                    return False
            elif not isinstance(a, Tick) and not system.is_enabled(a):
                return False
            system._apply(a)
            return True

        def check() -> dict[str, Any] | None:
            machine.check_now()
            if machine.failed is None:
                return None
            kind, message, _ = machine.failure
            return {"property": machine.failed, "message": message,
                    "outcome": "safety" if kind == "always" else "liveness"}

        return replay_steps(system, actions, apply, check, record=record)
