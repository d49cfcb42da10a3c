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

from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from actors.mutants import parse_mutants
from actors.scenario import (
    Heal,
    Partition,
    RestartSafekeeper,
    RestartWalProposer,
    WalproposerRun,
    generate_network_opts,
)
from modelcheck.choice import Chooser, SeededChooser
from modelcheck.errors import TaskFailed, TraceError
from modelcheck.stateful import WorldMachine

__all__ = ["WalConsensusMachine"]


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
            self._report(v.property, "always" if v.outcome == 1 else "eventually",
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
