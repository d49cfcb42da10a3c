"""The walproposer scenario with overlapping computes: a restarted compute may linger.

In production a compute is "restarted" by starting a new one; the old one can
stay up for a while (a node cut off from the control plane, a slow shutdown),
still holding its connections, its in-flight messages and its term. Fencing
it off is the consensus protocol's job: a safekeeper that has voted in a
higher term must refuse its appends, and it must exit on seeing that term.
The default scenario (like the original simulator) crashes the old
walproposer at the instant the next one starts, so two proposers never run
at once and that fencing is never exercised.

This variant (scenario ``walproposer-overlap``) differs in one decision: at
each restart of a normal-mode walproposer, with probability
:data:`LINGER_P`, drawn from the seed's own ``overlap`` sub-stream (so the
network options and the schedule are those of the same seed in
``walproposer``), the old walproposer is left running. It is stopped when
the liveness phase starts (the operator cleans up). Everything else, the
properties and the final checks included, is the default scenario's.
"""

from __future__ import annotations

from typing import Any

from actors.mutants import parse_mutants
from actors.scenario import WalproposerRun, WalproposerScenario
from modelcheck.choice import SeededChooser
from modelcheck.sim import SeedResult
from modelcheck.world import Node

__all__ = ["LINGER_P", "OverlapRun", "WalproposerOverlapScenario"]

LINGER_P = 0.5


class OverlapRun(WalproposerRun):
    """A :class:`WalproposerRun` whose replaced normal walproposers may keep running."""

    def __init__(self, seed: int, *, linger_p: float = LINGER_P, **kwargs: Any) -> None:
        super().__init__(seed, **kwargs)
        self.linger_p = linger_p
        self._linger = SeededChooser(seed).derive("overlap")
        self.lingering: list[Node] = []

    def _launch(self, sync: bool, lsn: int = 0) -> None:
        wp = self.wp
        if (wp is not None and wp.alive and wp.exit is None and not self.wp_sync
                and not self.liveness and self._linger.chance(self.linger_p)):
            self.world.log(wp, "linger")
            self.lingering.append(wp)
            self.wp = None  # the base class would crash it
        super()._launch(sync, lsn)

    def _liveness_phase(self) -> None:
        for wp in self.lingering:
            if wp.alive:
                self.world.crash(wp)
                self.observer.node_down(wp)
        self.facts["lingering_proposers"] = len(self.lingering)
        self.lingering.clear()
        super()._liveness_phase()


class WalproposerOverlapScenario(WalproposerScenario):
    """Entry point ``walproposer-overlap`` of ``modelcheck.scenarios``."""

    name = "walproposer-overlap"

    def run_seed(self, seed: int, *, mutant: str | None = None, acceptors: int = 3,
                 keep_log: bool = False, wire: bool = False,
                 recorder: Any = None) -> SeedResult:
        return OverlapRun(seed, acceptors=acceptors, mutants=parse_mutants(mutant), wire=wire,
                          keep_log=keep_log, recorder=recorder).run()
