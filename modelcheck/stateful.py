"""Driver 3: Hypothesis chooses the schedule; properties are checked after every step.

Two base machines (subclass, then ``TestX = MyMachine.TestCase``):

* :class:`SystemMachine`, fine-grained, over a controlled
  :class:`~modelcheck.system.System`: each rule is one scheduling choice
  (deliver a message in flight, drop one, fire a timer, advance time,
  disconnect a dead end, crash, restart, isolate, heal, or a scenario
  :class:`~modelcheck.system.Command`), gated by a ``@precondition`` so only
  enabled kinds are drawn; which action of that kind is a labelled draw
  (``Draw 3 (deliver): Deliver(...)`` in the falsifying program).
* :class:`WorldMachine`, coarse: one rule runs the timed
  :class:`~modelcheck.world.World` for a stretch of virtual time under a
  fault plan Hypothesis draws (crash / restart / isolate / heal at offsets),
  with the stretch's network and schedule choices from a drawn seed.

Both check every ``always`` property of :meth:`properties` (duck-typed
``properties.core.Property`` objects: ``name``, ``kind``, ``evaluate(view)``)
after every step, via one ``@invariant``; ``teardown`` runs the optional
liveness phase (faults off, a fair calm schedule) and checks ``eventually``
properties. A violation raises ``AssertionError`` naming the property, and on
Hypothesis' final (shrunk) run writes a trace file (see
:mod:`modelcheck._stateful_io`) that :func:`replay_trace` reads back.
Settings come from the profile chosen by ``MODELCHECK_PROFILE``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from modelcheck import __version__
from modelcheck._stateful_io import (
    PROFILES,
    HypothesisChooser,
    profile_name,
    profile_settings,
    read_trace,
    trace_dir,
    write_trace,
)
from modelcheck.choice import Chooser, SeededChooser
from modelcheck.errors import InvalidArgument, TraceError
from modelcheck.system import (
    Command,
    Crash,
    Deliver,
    Disconnect,
    Drop,
    FireTimer,
    Heal,
    Isolate,
    Restart,
    System,
    Tick,
    action_from_dict,
    action_to_dict,
)

__all__ = [
    "PROFILES", "HypothesisChooser", "PropertyChecks", "SystemMachine", "WorldMachine",
    "profile_name", "profile_settings", "read_trace", "replay_trace",
]

FAULT_KINDS = frozenset({"drop", "crash", "partition"})


def _is_final_run() -> bool:
    """True on Hypothesis' final replay of the shrunk example (or outside Hypothesis)."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:  # noqa: BLE001 - no build context: a direct call, treat as final
        return True


class PropertyChecks:
    """Checking a list of properties against a view, shared by both machines."""

    mutant: ClassVar[str | None] = None
    trace_directory: ClassVar[str | None] = None
    last_trace: ClassVar[Any] = None  # path of the last trace written by this class

    def properties(self) -> Sequence[Any]:
        """The properties to check (``properties.core.Property`` objects)."""
        return ()

    def observe(self) -> Any:
        """The view the properties read."""
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """Plain data describing the knobs, for the trace header."""
        return {}

    def trace_actions(self) -> list[Any]:
        raise NotImplementedError

    def trace_events(self) -> list[tuple]:
        """The event log as ``(t, node, kind, fields)`` tuples."""
        return list(self._engine().events or ())

    def nodes_list(self) -> list[Any]:
        return list(self._engine().nodes)

    def _engine(self) -> Any:
        raise NotImplementedError

    def _init_checks(self) -> None:
        props = list(self.properties())
        self._always = [p for p in props if p.kind == "always"]
        self._eventually = [p for p in props if p.kind == "eventually"]
        self._sometimes = [p for p in props if p.kind == "sometimes"]
        self._reached: set[str] = set()
        self.failed: str | None = None

    @staticmethod
    def _evaluate(prop: Any, view: Any) -> Any:
        """None when ``prop`` holds, else something with a ``message`` (or a string)."""
        evaluate = getattr(prop, "evaluate", None)
        if evaluate is not None:
            return evaluate(view)
        return None if prop.predicate(view) else f"{prop.name} does not hold"

    raise_on_failure = True  # False when replaying a trace outside Hypothesis

    def check_now(self, *, defer: bool = False) -> None:
        """Check every ``always`` property on the current view.

        The first broken one is recorded (``failed``, ``failure``) and raised as
        ``AssertionError``, unless ``defer`` (inside a World run, where an
        exception would be wrapped as a task failure: :meth:`raise_pending` later).
        """
        if self.failed is not None:
            return
        view = self.observe()
        for prop in self._always:
            failure = self._evaluate(prop, view)
            if failure is not None:
                self._report(prop.name, "always", failure, defer)
                return
        for prop in self._sometimes:
            if prop.name not in self._reached and self._evaluate(prop, view) is None:
                self._reached.add(prop.name)

    def _report(self, name: str, kind: str, failure: Any, defer: bool = False) -> None:
        self.failed = name
        self.failure = (kind, getattr(failure, "message", str(failure)),
                        tuple(getattr(failure, "facts", ())))
        if not defer:
            self.raise_pending()

    def raise_pending(self) -> None:
        """Raise the recorded violation (writing the trace on the final run), if any."""
        if self.failed is None or not self.raise_on_failure:
            return
        kind, message, facts = self.failure
        text = f"{kind} property {self.failed!r} violated: {message}"
        if facts:
            text += " [" + " ".join(f"{k}={v}" for k, v in facts) + "]"
        if _is_final_run():
            cls = type(self)
            events = self.trace_events()
            nodes = self.nodes_list()
            outcome = "safety" if kind == "always" else "liveness"
            header = {"driver": "stateful", "project_version": __version__,
                      "machine": f"{cls.__module__}:{cls.__qualname__}",
                      "mutant": self.mutant, "options": self.options(), "outcome": outcome,
                      "violation": {"property": self.failed, "message": message,
                                    "outcome": outcome, "step": len(events) - 1,
                                    "t": events[-1][0] if events else 0},
                      "nodes": [{"id": n.nid, "name": n.name} for n in nodes],
                      "profile": profile_name()}
            path = write_trace(trace_dir(self.trace_directory), header, self.trace_actions(),
                               events)
            cls.last_trace = path
            text += f"\ntrace written to {path} (replay: modelcheck replay {path})"
        raise AssertionError(text)

    def _finish_checks(self, view: Any, liveness: bool) -> None:
        """End of run: coverage events; ``eventually`` properties if a liveness phase ran."""
        for prop in self._sometimes:
            event(f"sometimes {prop.name}: {'reached' if prop.name in self._reached else 'not'}")
        for prop in self._eventually if liveness else ():
            failure = self._evaluate(prop, view)
            if failure is not None:
                self._report(prop.name, "eventually", failure)


class SystemMachine(PropertyChecks, RuleBasedStateMachine):
    """Fine-grained machine over a :class:`System`; subclasses define :meth:`build_system`.

    Knobs (class attributes): ``faults`` (subset of ``{"drop", "crash",
    "partition"}``), ``advance_ms_max`` (largest time step of
    ``advance_time``), ``liveness_steps`` (calm steps in teardown; 0 = no
    liveness phase), ``mutant`` (recorded in traces), ``trace_directory``.
    """

    faults: ClassVar[frozenset[str]] = FAULT_KINDS
    advance_ms_max: ClassVar[int] = 1000
    liveness_steps: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        unknown = set(self.faults) - FAULT_KINDS
        if unknown:
            raise InvalidArgument(f"{type(self).__name__}.faults has {sorted(unknown)}; "
                                  f"known: {sorted(FAULT_KINDS)}")
        self.system = self.build_system()
        self._cache: tuple[int, list] = (-1, [])
        self._init_checks()

    @classmethod
    def _to_test_case(cls):  # Hypothesis' hook: give the TestCase the chosen profile
        test_case = super()._to_test_case()
        if not getattr(test_case, "_modelcheck_profile", False):
            test_case.settings = profile_settings()
            test_case._modelcheck_profile = True
        return test_case

    def build_system(self) -> System:
        """A fresh system with the protocol's nodes (its budgets bound the faults)."""
        raise NotImplementedError

    def observe(self) -> Any:
        return self.system.view()

    def commands(self) -> list[Command]:
        """Scenario actions offered now (e.g. write N transactions); none by default."""
        return []

    def trace_actions(self) -> list[Any]:
        return [action_to_dict(a) for a in self.system.actions]

    def _engine(self) -> Any:
        return self.system

    # -- enabled actions by kind --------------------------------------------------------

    def enabled_now(self) -> list:
        """``system.enabled_actions()``, computed once per step (subclasses that change the
        system outside an action reset ``self._cache``)."""
        steps = self.system.steps
        if self._cache[0] != steps:
            self._cache = (steps, self.system.enabled_actions())
        return self._cache[1]

    def _enabled(self, kind: type) -> list:
        return [a for a in self.enabled_now() if type(a) is kind]

    def apply_checked(self, action: Any) -> None:
        """``system.apply(action)``, checking enabledness against the per-step cache."""
        if type(action) not in (Tick, Command) and action in self.enabled_now():
            self.system._apply(action)  # noqa: SLF001 - enabled: checked just above
        else:
            self.system.apply(action)  # checks (and raises, listing what is enabled)

    def _apply_drawn(self, data: Any, kind: type, label: str) -> None:
        options = self._enabled(kind)
        self.apply_action(data.draw(st.sampled_from(options), label=label))

    def apply_action(self, action: Any) -> None:
        """Apply one action to the system; every rule goes through here (a subclass hook)."""
        self.apply_checked(action)

    def replay_action(self, action: Any, where: str) -> None:
        """Apply one recorded trace action again (by identity; raises if not enabled)."""
        if isinstance(action, dict):
            action = action_from_dict(action, where)
        self.apply_action(action)

    # -- rules --------------------------------------------------------------------------

    @precondition(lambda self: self.failed is None and bool(self._enabled(Deliver)))
    @rule(data=st.data())
    def deliver(self, data: Any) -> None:
        self._apply_drawn(data, Deliver, "deliver")

    @precondition(lambda self: self.failed is None and "drop" in self.faults
                  and bool(self._enabled(Drop)))
    @rule(data=st.data())
    def drop(self, data: Any) -> None:
        self._apply_drawn(data, Drop, "drop")

    @precondition(lambda self: self.failed is None and bool(self._enabled(FireTimer)))
    @rule(data=st.data())
    def fire_timer(self, data: Any) -> None:
        self._apply_drawn(data, FireTimer, "timer")

    @precondition(lambda self: self.failed is None and bool(self._enabled(FireTimer)))
    @rule(ms=st.integers(min_value=1, max_value=1000))
    def advance_time(self, ms: int) -> None:
        """Move the clock by ``ms`` and fire every timer now due, earliest first."""
        system = self.system
        self.apply_action(Tick(min(ms, self.advance_ms_max)))
        for due, action in system.due_timers():
            if due > system.now or self.failed is not None:
                break
            if system.is_enabled(action):
                self.apply_action(action)
                self.check_now()

    @precondition(lambda self: self.failed is None and bool(self._enabled(Disconnect)))
    @rule(data=st.data())
    def disconnect(self, data: Any) -> None:
        self._apply_drawn(data, Disconnect, "disconnect")

    @precondition(lambda self: self.failed is None and "crash" in self.faults
                  and bool(self._enabled(Crash)))
    @rule(data=st.data())
    def crash(self, data: Any) -> None:
        self._apply_drawn(data, Crash, "crash")

    @precondition(lambda self: self.failed is None and bool(self._enabled(Restart)))
    @rule(data=st.data())
    def restart(self, data: Any) -> None:
        self._apply_drawn(data, Restart, "restart")

    @precondition(lambda self: self.failed is None and "partition" in self.faults
                  and bool(self._enabled(Isolate)))
    @rule(data=st.data())
    def isolate(self, data: Any) -> None:
        self._apply_drawn(data, Isolate, "isolate")

    @precondition(lambda self: self.failed is None and bool(self._enabled(Heal)))
    @rule()
    def heal(self) -> None:
        self.apply_action(Heal())

    @precondition(lambda self: self.failed is None and bool(self.commands()))
    @rule(data=st.data())
    def command(self, data: Any) -> None:
        self.apply_action(data.draw(st.sampled_from(self.commands()), label="command"))

    @invariant()
    def properties_hold(self) -> None:
        self.check_now()

    # -- end of run ---------------------------------------------------------------------

    def teardown(self) -> None:
        if self.failed is not None:
            return
        if self.liveness_steps:
            calm_run(self.system, self.liveness_steps, after_step=self.check_now,
                     apply=self.apply_action)
        self._finish_checks(self.observe(), liveness=self.liveness_steps > 0)


def fair_step(system: System, turn: int, *, enabled: list | None = None,
              due_now_only: bool = False) -> tuple[Any, int]:
    """The next action of a fair, fault-free schedule, and the next ``turn``.

    Deliveries and disconnects go round-robin over the enabled ones (``enabled``
    defaults to ``system.enabled_actions()``); when none is enabled, the
    earliest due timer fires (only one due by now with ``due_now_only``).
    ``None`` when nothing can happen.
    """
    moves = [a for a in (system.enabled_actions() if enabled is None else enabled)
             if type(a) in (Deliver, Disconnect)]
    if moves:
        return moves[turn % len(moves)], turn + 1
    timers = system.due_timers()
    if due_now_only:
        timers = [(at, a) for at, a in timers if at <= system.now]
    return (timers[0][1] if timers else None), turn


def calm_run(system: System, steps: int, after_step: Callable[[], None] | None = None,
             apply: Callable[[Any], None] | None = None,
             restart: Callable[[Any], bool] | None = None) -> int:
    """The liveness phase: heal, restart crashed nodes, then a fair fault-free schedule.

    Deliveries and disconnects go round-robin over the enabled ones; when none
    is enabled, the earliest due timer fires. Stops after ``steps`` steps or
    when nothing can happen; returns the steps taken. ``apply`` applies an
    action (default ``system.apply``); ``restart(node)`` says whether a crashed
    node is restarted (default: all).
    """
    apply = apply or system.apply
    if system.isolated:
        apply(Heal())
    for node in system.nodes:
        if not node.alive and (restart is None or restart(node)):
            apply(Restart(node.nid))
    turn = 0
    for taken in range(steps):
        action, turn = fair_step(system, turn)
        if action is None:
            return taken
        apply(action)
        if after_step is not None:
            after_step()
    return steps


class _SwitchChooser(Chooser):
    """A chooser whose source is replaced at each stretch of the coarse machine."""

    __slots__ = ("inner",)

    def __init__(self) -> None:
        self.inner: Chooser = SeededChooser(0)

    def below(self, n: int) -> int:
        return self.inner.below(n)

    def chance(self, p: float) -> bool:
        return self.inner.chance(p)


_FAULT = st.tuples(st.integers(0, 10_000), st.sampled_from(["crash", "restart", "isolate",
                                                             "heal"]), st.integers(0, 63))


class WorldMachine(PropertyChecks, RuleBasedStateMachine):
    """Coarse machine: each step runs the timed World for a stretch under a drawn fault plan.

    Subclasses define :meth:`build_world` (given the chooser to use) and
    :meth:`observe`. Knobs: ``stretch_ms_max``, ``faults_max`` (faults per
    stretch), ``faults`` (kinds on), ``check_every_step`` (check ``always``
    properties after every actor step, not only at the end of a stretch),
    ``liveness_ms`` (in teardown: heal, restart crashed nodes, run that long
    with no fault plan, then check ``eventually`` properties; the network's
    own loss options stay as configured).
    """

    stretch_ms_max: ClassVar[int] = 2000
    liveness_ms: ClassVar[int] = 0
    faults_max: ClassVar[int] = 2
    faults: ClassVar[frozenset[str]] = FAULT_KINDS
    check_every_step: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.chooser = _SwitchChooser()
        self.world = self.build_world(self.chooser)
        self.stretches: list[dict[str, Any]] = []
        self._init_checks()
        if self.check_every_step:
            self.world.on_actor_step = lambda node: self.check_now(defer=True)

    _to_test_case = SystemMachine._to_test_case

    def build_world(self, chooser: Chooser) -> Any:
        raise NotImplementedError

    def trace_actions(self) -> list[Any]:
        return list(self.stretches)

    def _engine(self) -> Any:
        return self.world

    @precondition(lambda self: self.failed is None)
    @rule(ms=st.integers(1, 10_000), seed=st.integers(0, (1 << 32) - 1),
          plan=st.lists(_FAULT, max_size=4))
    def run_for(self, ms: int, seed: int, plan: list) -> None:
        """Run ``ms`` of virtual time (capped by ``stretch_ms_max``) under ``plan``."""
        ms = min(ms, self.stretch_ms_max)
        plan = self._usable_plan(plan, ms)
        self.stretches.append({"kind": "run_for", "ms": ms, "seed": seed,
                               "plan": [list(f) for f in plan]})
        run_stretch(self.world, self.chooser, ms, seed, plan, stop=self._stopped)
        self.raise_pending()
        self.check_now()

    def _stopped(self) -> bool:
        return self.failed is not None

    def replay_action(self, action: Any, where: str) -> None:
        """Apply one recorded step again (subclasses with more rules extend this)."""
        if not isinstance(action, dict) or action.get("kind") != "run_for":
            raise TraceError(f"{where} is {action!r}, expected a run_for stretch")
        self.stretches.append(action)
        run_stretch(self.world, self.chooser, action["ms"], action["seed"],
                    [tuple(f) for f in action["plan"]], stop=self._stopped)
        self.raise_pending()

    def _usable_plan(self, plan: list, ms: int) -> list[tuple[int, str, int]]:
        allowed = {"crash": "crash", "restart": "crash", "isolate": "partition",
                   "heal": "partition"}
        n = len(self.world.nodes)
        out = [(at % ms, kind, node % n) for at, kind, node in plan
               if allowed[kind] in self.faults]
        return sorted(out)[: self.faults_max]

    @invariant()
    def properties_hold(self) -> None:
        self.check_now()

    def teardown(self) -> None:
        try:
            if self.failed is None and self.liveness_ms:
                world = self.world
                world.heal()
                for node in world.nodes:
                    if not node.alive:
                        world.restart(node)
                run_stretch(world, self.chooser, self.liveness_ms, 0, [], stop=self._stopped)
                self.raise_pending()
            if self.failed is None:
                self._finish_checks(self.observe(), liveness=self.liveness_ms > 0)
        finally:
            # Tasks never resumed would warn "coroutine was never awaited".
            for task in list(self.world.executor.tasks):
                task.coro.close()


def run_stretch(world: Any, chooser: _SwitchChooser, ms: int, seed: int,
                plan: Sequence[tuple[int, str, int]],
                stop: Callable[[], bool] | None = None) -> None:
    """Run ``world`` for ``ms`` with choices from ``seed``, applying ``plan``'s faults."""
    chooser.inner = SeededChooser(seed)
    start = world.now
    for at, kind, nid in plan:
        world.executor.call_at(start + at, _fault(world, kind, nid))
    world.run(until_ms=start + ms, stop=stop)


def _fault(world: Any, kind: str, nid: int) -> Callable[[], None]:
    def apply() -> None:
        node = world.nodes[nid]
        if kind == "crash":
            world.crash(node)
        elif kind == "restart" and not node.alive:
            world.restart(node)
        elif kind == "isolate":
            world.partition([nid], [n.nid for n in world.nodes if n.nid != nid])
        elif kind == "heal":
            world.heal()
    return apply


def _load_machine(spec: str) -> type:
    module_name, _, qualname = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise TraceError(f"trace names machine={spec!r}, which cannot be loaded: {exc}") from exc
    return obj


def replay_trace(path: Any) -> tuple[Any, str | None]:
    """Rebuild the machine a trace names, replay its actions, and check its properties.

    Returns ``(machine, violated property or None)``; the replay is outside
    Hypothesis, so a violation is reported, not raised.
    """
    trace = read_trace(path)
    machine = _load_machine(str(trace.header.get("machine", "")))()
    machine.raise_on_failure = False
    if isinstance(machine, SystemMachine | WorldMachine):
        for i, s in enumerate(trace.actions or []):
            machine.replay_action(s, f"{path}: action #{i}")
            machine.check_now()
            if machine.failed:
                break
    else:
        raise TraceError(f"{path}: {type(machine).__name__} is not a modelcheck machine")
    if not machine.failed:
        machine.teardown()
    return machine, machine.failed


def cmd_replay_stateful(trace: Any, path: Any) -> int:
    """``modelcheck replay`` of a machine's trace: replay it, say whether the violation is back.

    Exit code as for scenario traces: 1 safety, 3 liveness, 4 crash, 0 no violation.
    """
    import sys

    machine, violated = replay_trace(path)
    h = trace.header
    expected = (trace.violation or {}).get("property")
    print(f"replayed {path}: stateful trace, machine={h.get('machine')} "
          f"mutant={h.get('mutant')} actions={len(trace.actions or [])}", file=sys.stderr)
    if violated is None:
        had = f"; the trace had {expected}" if expected else " (as in the trace)"
        print("no violation" + had, file=sys.stderr)
        return 0
    kind, message, _ = machine.failure
    state = "reproduced" if violated == expected else f"a different violation (trace: {expected})"
    print(f"{state}: {kind} property {violated}: {message}", file=sys.stderr)
    return 4 if violated == "crash" else 3 if kind == "eventually" else 1
