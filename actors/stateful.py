"""The ready Hypothesis machine for a walproposer and its safekeepers.

Use it in a test file as ``TestWalConsensus = WalConsensusMachine.TestCase``;
``class Buggy(WalConsensusMachine): mutant = "bad-quorum"`` is a test that
fails. Knobs (class attributes): ``acceptors`` (3), ``mutant`` (None),
``faults`` (subset of ``{"crash", "partition"}``: safekeeper and proposer
restarts, isolating one node), ``stretch_ms_max``.

It is the coarse granularity of :mod:`modelcheck.stateful`: it drives the
seed-campaign scenario's :class:`~actors.scenario.WalproposerRun` (the same
world, observer and ``properties.consensus`` checker ``modelcheck run`` uses),
and its rules are the scenario's actions: run the timed world for a stretch
(network and schedule choices from a drawn seed, the network's own failure
probabilities from the scenario's options), write N transactions, restart a
safekeeper, restart the proposer, isolate a node, heal. Every consensus
property is checked after every actor step by the scenario's observer; a
violation fails the step that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from actors.compute import INITDB_LSN, Compute, RecordIndex
from actors.mutants import parse_mutants, quorum
from actors.observer import Observer
from actors.safekeeper import Safekeeper, SafekeeperConfig
from actors.scenario import (
    LIVENESS_WITHIN_MS,
    SCENARIO_SEGMENT_SIZE,
    SYSTEM_ID,
    WAL_BASE_LSN,
    Heal,
    Partition,
    RestartSafekeeper,
    RestartWalProposer,
    WalproposerRun,
    generate_network_opts,
)
from actors.walproposer import WalProposer, WalProposerConfig
from modelcheck.actor import Context
from modelcheck.choice import Chooser, SeededChooser
from modelcheck.errors import InvalidArgument, TaskFailed, TraceError
from modelcheck.stateful import SystemMachine, WorldMachine, fair_step
from modelcheck.system import (
    Budgets,
    Command,
    Crash,
    Deliver,
    Isolate,
    Restart,
    System,
    action_to_dict,
)
from modelcheck.system import Heal as HealAction
from properties.consensus import commit_progress, consensus_properties
from properties.core import Checker, Outcome
from properties.view import Vote

__all__ = ["CommandedWalProposer", "FineWalConsensusMachine", "SystemObserver",
           "WalConsensusMachine"]


class WalConsensusMachine(WorldMachine):
    """Walproposer + ``acceptors`` safekeepers, scheduled by Hypothesis."""

    acceptors: ClassVar[int] = 3
    stretch_ms_max: ClassVar[int] = 500
    network_seed: ClassVar[int] = 9  # which seed's network options (delays, loss) to use
    faults: ClassVar[frozenset[str]] = frozenset({"crash", "partition"})
    check_every_step = False  # the scenario's observer checks after every actor step

    def build_world(self, chooser: Chooser) -> Any:
        self.run = WalproposerRun(0, acceptors=self.acceptors,
                                  mutants=parse_mutants(self.mutant),
                                  network=generate_network_opts(self.network_seed), schedule=[])
        world = self.run.world
        # every choice of the world (task order, delays, losses) comes from our chooser
        world.chooser = world.executor.chooser = world.network.chooser = chooser
        self.run._launch(sync=True)
        return world

    def options(self) -> dict[str, Any]:
        return {"acceptors": self.acceptors, "network_seed": self.network_seed,
                "faults": sorted(self.faults), "stretch_ms_max": self.stretch_ms_max}

    def observe(self) -> Any:
        return self.run.observer.view()

    def check_now(self, *, defer: bool = False) -> None:
        if self.failed is None and self.run.observer.violations:
            v = self.run.observer.violations[0]
            self._report(v.property, "eventually" if v.outcome == Outcome.LIVENESS else "always",
                         _Failure(v.message, v.facts), defer)

    # -- rules ------------------------------------------------------------------------

    def _step(self, action: dict[str, Any]) -> None:
        self.stretches.append(action)
        try:
            self._do(action)
        except TaskFailed as exc:
            self._report("crash", "always", _Failure(str(exc), ()))
        self.check_now()

    def _do(self, a: dict[str, Any]) -> None:
        run, kind = self.run, a["kind"]
        if kind == "run_for":
            self.chooser.inner = SeededChooser(a["seed"])
            run.run_until(run.world.now + a["ms"])
        elif kind == "write_tx":
            run.write_tx(a["n"])
        elif kind == "restart_safekeeper":
            run.execute(RestartSafekeeper(a["i"]))
        elif kind == "restart_walproposer":
            run.execute(RestartWalProposer())
        elif kind == "isolate":
            names = [f"sk{i}" for i in range(self.acceptors)] + ["wp"]
            cut = names[a["i"]]
            run.execute(Partition((cut,), tuple(n for n in names if n != cut)))
        elif kind == "heal":
            run.execute(Heal())
        else:
            raise TraceError(f"unknown WalConsensusMachine action kind={kind!r}")

    def replay_action(self, action: Any, where: str) -> None:
        if not isinstance(action, dict) or not isinstance(action.get("kind"), str):
            raise TraceError(f"{where} is {action!r}, expected an action object")
        self._step(dict(action))

    @precondition(lambda self: self.failed is None)
    @rule(ms=st.integers(1, 500), seed=st.integers(0, (1 << 32) - 1))
    def run_for(self, ms: int, seed: int) -> None:  # type: ignore[override]
        self._step({"kind": "run_for", "ms": min(ms, self.stretch_ms_max), "seed": seed})

    @precondition(lambda self: self.failed is None)
    @rule(n=st.integers(1, 20))
    def write_tx(self, n: int) -> None:
        self._step({"kind": "write_tx", "n": n})

    @precondition(lambda self: self.failed is None and "crash" in self.faults)
    @rule(i=st.integers(0, 15))
    def restart_safekeeper(self, i: int) -> None:
        self._step({"kind": "restart_safekeeper", "i": i % self.acceptors})

    @precondition(lambda self: self.failed is None and "crash" in self.faults)
    @rule()
    def restart_walproposer(self) -> None:
        self._step({"kind": "restart_walproposer"})

    @precondition(lambda self: self.failed is None and "partition" in self.faults)
    @rule(i=st.integers(0, 15))
    def isolate(self, i: int) -> None:
        self._step({"kind": "isolate", "i": i % (self.acceptors + 1)})

    @precondition(lambda self: self.failed is None and "partition" in self.faults)
    @rule()
    def heal(self) -> None:
        self._step({"kind": "heal"})


class _Failure:
    __slots__ = ("message", "facts")

    def __init__(self, message: str, facts: Any) -> None:
        self.message = message
        self.facts = facts


# -- the fine-grained machine ---------------------------------------------------------------


class SystemObserver(Observer):
    """The scenario's :class:`~actors.observer.Observer` over a controlled ``System``.

    The only thing the Observer reads from a World's network is which node
    opened the connection a vote came on; a System names that in its own
    connection table.
    """

    def on_event(self, event: tuple) -> None:
        if event[2] == "vote":
            fields = dict(event[3])
            proposer = self.world.conns[fields["conn"]].nodes[0]  # type: ignore[attr-defined]
            self.votes.append(Vote(self.steps + 1, event[0], fields["term"], event[1], proposer))
            self._changed()
        else:
            super().on_event(event)


@dataclass
class CommandedWalProposer(WalProposer):
    """A walproposer whose compute writes WAL on a System ``Command("write_tx", n)``.

    The World feeds new WAL through the node's inbox (a :class:`Latch` message);
    a System has no inbox, so the command writes ``n`` transactions into the
    node's WAL file (fsynced), logs ``write_wal`` and hands the proposer the
    same latch the inbox would.
    """

    compute: Compute | None = None

    def on_command(self, ctx: Context, name: str, arg: int) -> None:
        if name != "write_tx" or self.compute is None or arg < 1:
            raise InvalidArgument(f"walproposer command {name!r}({arg}): expected write_tx(n>=1)"
                                  " on a normal (non-sync) walproposer")
        start, end = self.compute.write_durably(ctx.disk, arg, self.cfg.wal_base_lsn)
        self.wal_written(ctx, start, end, arg)


class FineWalConsensusMachine(SystemMachine):
    """Walproposer + ``acceptors`` safekeepers over a System: every rule is one event.

    Rules (from :class:`~modelcheck.stateful.SystemMachine`): deliver a chosen
    message in flight, drop one, fire a timer, advance time, notice a dead
    connection, crash / restart a safekeeper, crash the proposer, isolate a
    node, heal, the command ``write_tx(n)`` to the running normal walproposer;
    plus :meth:`restart_walproposer` (crash the running proposer, launch a
    fresh sync-safekeepers one on a new node, as the scenario's
    ``RestartWalProposer``). As in the scenario, a sync proposer that finishes
    launches a normal proposer at the LSN it returned (a failed one is
    relaunched), right after the step that made it due. Every consensus
    property is checked after every actor step by the scenario's observer.
    ``teardown`` runs the end-of-run checks: with ``liveness_steps`` a calm
    phase (heal, restart, one more transaction, a fair schedule) after which
    ``commit_progress`` must hold; always the scenario's final-state check
    (every safekeeper's WAL decodes to its flush LSN; committed WAL is
    byte-identical on a quorum and equal to what each proposer committed).

    Knobs: ``acceptors``, ``mutant``, ``faults`` (``drop``, ``crash``,
    ``partition``), ``budgets`` (fault bounds per run: crashes include
    ``restart_walproposer``), ``tx_sizes`` (the ``n`` a write may draw),
    ``advance_ms_max``, ``liveness_steps``, ``settle_steps`` (the most events one
    :meth:`settle` applies; 0 removes that rule and leaves only single events).
    """

    acceptors: ClassVar[int] = 3
    faults: ClassVar[frozenset[str]] = frozenset({"drop", "crash", "partition"})
    budgets: ClassVar[Budgets] = Budgets(crashes_max=2, drops_max=2, partitions_max=1)
    tx_sizes: ClassVar[tuple[int, ...]] = (1, 3)
    liveness_steps: ClassVar[int] = 0
    settle_steps: ClassVar[int] = 300

    # -- building ---------------------------------------------------------------------

    def build_system(self) -> System:
        self.mutants = parse_mutants(self.mutant)
        system = System(budgets=self.budgets)
        self.quorum = quorum(self.acceptors, self.mutants)
        self.segment_size = SCENARIO_SEGMENT_SIZE
        self.checker = Checker(consensus_properties(liveness_within_ms=LIVENESS_WITHIN_MS))
        self.observer = SystemObserver(system, list(range(self.acceptors)),  # type: ignore[arg-type]
                                       self.acceptors // 2 + 1, self.segment_size, self.checker)
        self.sks = [system.add_actor(self._sk_factory(i), f"sk{i}") for i in range(self.acceptors)]
        self.index = RecordIndex()
        self.proposers: list[int] = []
        self.wp: Any = None
        self.wp_sync = True
        self.compute: Compute | None = None
        self.program: list[dict[str, Any]] = []
        self.sync_results: list[str] = []
        self.system = system
        self._launch(sync=True)
        return system

    def _sk_factory(self, i: int) -> Any:
        cfg = SafekeeperConfig(node_id=i, segment_size=self.segment_size, mutants=self.mutants)
        return lambda nid: Safekeeper(cfg)

    def options(self) -> dict[str, Any]:
        return {"acceptors": self.acceptors, "faults": sorted(self.faults),
                "budgets": [self.budgets.crashes_max, self.budgets.drops_max,
                            self.budgets.partitions_max],
                "tx_sizes": list(self.tx_sizes), "liveness_steps": self.liveness_steps}

    def observe(self) -> Any:
        return self.observer.view()

    def trace_actions(self) -> list[Any]:
        return list(self.program)

    # -- the proposer's lifecycle (as the scenario's run_until) ------------------------

    def _launch(self, sync: bool, lsn: int = 0) -> None:
        system = self.system
        if self.wp is not None and self.wp.alive:  # an exited one: its process is gone
            system.stop_node(self.wp.nid)
            self.observer.node_down(self.wp)
        cfg = WalProposerConfig(tuple(n.nid for n in self.sks), sync, lsn, WAL_BASE_LSN,
                                self.segment_size, SYSTEM_ID, mutants=self.mutants)
        self.wp_sync = sync
        compute = None
        if not sync:
            prev = WalproposerRun._prev_record(self, lsn)  # type: ignore[arg-type]
            compute = Compute(lsn, prev, self.index, segment_size=self.segment_size,
                              system_id=SYSTEM_ID)
            self.observer.written(lsn)
        self.compute = compute
        self.wp = system.add_actor(lambda nid: CommandedWalProposer(cfg, compute=compute),
                                   f"wp{len(system.nodes)}")
        self.proposers.append(self.wp.nid)
        self.observer.proposer_launched(self.wp)
        self._cache = (-1, [])  # a launch is no System action: the enabled list changed

    def _follow_proposer(self) -> None:
        """A finished sync proposer launches a normal one; a failed one is relaunched."""
        while (self.wp_sync and self.wp.exit is not None and self.wp.alive
               and not self.observer.violations):
            code, msg = self.wp.exit
            if code != 0:
                self._launch(sync=True)
                continue
            self.sync_results.append(msg)
            hi, lo = msg.split("/")
            self._launch(sync=False, lsn=(int(hi, 16) << 32 | int(lo, 16)) or INITDB_LSN)

    def apply_action(self, action: Any) -> None:
        self.program.append(action_to_dict(action))
        try:
            self.apply_checked(action)
            if type(action) is Crash:
                self.observer.node_down(self.system.nodes[action.node])
            elif type(action) is Command and self.compute is not None:
                self.observer.written(self.compute.end_lsn)
                self.observer.check()
            self._follow_proposer()
        except TaskFailed as exc:
            self._report("crash", "always", _Failure(str(exc), ()))
        self.check_now()

    _replayed_liveness = False

    def replay_action(self, action: Any, where: str) -> None:
        kind = action.get("kind") if isinstance(action, dict) else None
        if self._replayed_liveness:
            return  # the liveness phase ran again from its marker: it applied the rest
        if kind == "relaunch_walproposer":
            self._relaunch()
        elif kind == "liveness":
            self._replayed_liveness = True
            self._liveness_phase()
        else:
            super().replay_action(action, where)

    def check_now(self, *, defer: bool = False) -> None:
        if self.failed is None and self.observer.violations:
            v = self.observer.violations[0]
            self._report(v.property, "eventually" if v.outcome == Outcome.LIVENESS else "always",
                         _Failure(v.message, v.facts), defer)

    # -- which actions are offered ----------------------------------------------------

    def _enabled(self, kind: type) -> list:
        actions = super()._enabled(kind)
        if kind in (Crash, Isolate):
            retired = set(self.proposers[:-1])
            return [a for a in actions if a.node not in retired]
        if kind is Restart:  # a proposer is relaunched on a new node, never restarted
            return [a for a in actions if a.node not in self.proposers]
        return actions

    def commands(self) -> list[Command]:
        wp = self.wp
        if self.wp_sync or wp is None or not wp.active:
            return []
        return [Command(wp.nid, "write_tx", n) for n in self.tx_sizes]

    @precondition(lambda self: self.failed is None and self.settle_steps > 0
                  and bool(self._enabled(Deliver)))
    @rule()
    def settle(self) -> None:
        """A macro step: deliver what is in flight, fairly, until nothing is (or the timers
        due now, such as a safekeeper's zero-delay flush); at most ``settle_steps`` events."""
        turn = 0
        for _ in range(self.settle_steps):
            action, turn = fair_step(self.system, turn, enabled=self.enabled_now(),
                                     due_now_only=True)
            if action is None:
                return
            self.apply_action(action)
            if self.failed is not None:
                return

    def _can_restart_walproposer(self) -> bool:
        if self.failed is not None or "crash" not in self.faults:
            return False
        wp = self.wp
        return not wp.active or (wp.alive and self.system.is_enabled(Crash(wp.nid)))

    @precondition(_can_restart_walproposer)
    @rule()
    def restart_walproposer(self) -> None:
        """Crash the running proposer (a drawn fault) and launch a fresh sync-safekeepers one."""
        if self.wp.active:
            self.apply_action(Crash(self.wp.nid))
            if self.failed is not None:
                return
        self._relaunch()

    def _relaunch(self) -> None:
        self.program.append({"kind": "relaunch_walproposer"})
        try:
            self._launch(sync=True)
            self._follow_proposer()
        except TaskFailed as exc:
            self._report("crash", "always", _Failure(str(exc), ()))
        self.check_now()

    # -- end of run ---------------------------------------------------------------------

    def teardown(self) -> None:
        if self.failed is None and self.liveness_steps and not self._replayed_liveness:
            self._liveness_phase()
        if self.failed is None:
            message = WalproposerRun.validate(self)  # type: ignore[arg-type]
            if message:
                self._report("final_state", "always", _Failure(message, ()))

    def _liveness_phase(self) -> None:
        """Faults off, every safekeeper up, one more transaction; commit must reach it."""
        self.program.append({"kind": "liveness"})
        self.observer.faults_on = False
        system = self.system
        written = False
        self.checker.start_liveness(system.now)
        if self.wp is None or not self.wp.active:
            self._launch(sync=True)
        if system.isolated:
            self.apply_action(HealAction())
        for sk in self.sks:
            if not sk.alive:
                self.apply_action(Restart(sk.nid))
        turn = 0
        for _ in range(self.liveness_steps):
            if self.failed is not None or (written and commit_progress(self.observe()) is True):
                break
            if not written and self.commands():
                self.apply_action(self.commands()[0])
                written = True
                self.checker.start_liveness(system.now)
                continue
            if self.wp.exit is not None and not self.wp_sync:
                self._launch(sync=True)
            action, turn = fair_step(system, turn)
            if action is None:
                break
            self.apply_action(action)
        if self.failed is None:
            self.observer.violations.extend(self.checker.finish(self.observe(), system.now))
            self.check_now()
