"""Driver 1: seed campaigns. Run a scenario under many seeds, on all cores.

A *scenario* is any object with a ``name`` and
``run_seed(seed, *, mutant=None, acceptors=3, keep_log=False, wire=False) -> SeedResult``;
scenarios are found by name through the entry-point group
``modelcheck.scenarios`` (the engine imports no protocol). A campaign maps
seeds to results on a backend (``modelcheck.backends``: local processes by
default, or a Dask cluster), streams them back as they finish, shows a
progress bar (rate, ETA, failures so far), and summarises them in seed order,
so the summary is the same whatever the backend, worker count or batch size.
Ctrl-C stops the workers and returns what finished.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from modelcheck.backends import Backend, LocalBackend
from modelcheck.errors import InvalidArgument

OK, SAFETY, LIVENESS, CRASH = 0, 1, 3, 4
OUTCOME_NAMES = {OK: "ok", SAFETY: "safety", LIVENESS: "liveness", CRASH: "crash"}
# The exit code of a campaign is its most severe outcome, in this order.
_SEVERITY = (CRASH, SAFETY, LIVENESS)


@dataclass
class SeedResult:
    """What one seed of a scenario produced."""

    seed: int
    outcome: int  # 0 ok, 1 safety, 3 liveness, 4 crash (properties.core.Outcome values)
    property: str | None
    message: str
    events: int
    steps: int
    virtual_ms: int
    log_digest: str
    log_lines: list[str] | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.outcome != OK


class Scenario(Protocol):
    name: str

    def run_seed(self, seed: int, *, mutant: str | None = None, acceptors: int = 3,
                 keep_log: bool = False, wire: bool = False) -> SeedResult: ...


def available_scenarios() -> dict[str, str]:
    """Scenario names and the ``module:attr`` each comes from."""
    return {ep.name: ep.value for ep in entry_points(group="modelcheck.scenarios")}


def load_scenario(name: str) -> Scenario:
    """Instantiate the scenario registered under ``name``."""
    found = available_scenarios()
    if name not in found:
        raise InvalidArgument(
            f"unknown scenario={name!r}; available: {', '.join(sorted(found)) or '(none)'}")
    module_name, _, attr = found[name].partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(f"scenario={name!r}: cannot load {found[name]!r}: {exc}") from exc
    return obj() if isinstance(obj, type) else obj


def replay_command(scenario: str, seed: int, mutant: str | None, acceptors: int) -> str:
    """The one line that reproduces a seed."""
    parts = ["modelcheck replay", f"--seed {seed}"]
    if scenario != "walproposer":
        parts.append(f"--scenario {scenario}")
    if mutant:
        parts.append(f"--mutant {mutant}")
    if acceptors != 3:
        parts.append(f"--acceptors {acceptors}")
    return " ".join(parts)


@dataclass
class CampaignConfig:
    scenario: str = "walproposer"
    first_seed: int = 0
    seeds: int = 1000
    workers: int = 0  # 0: all cores
    mutant: str | None = None
    acceptors: int = 3
    wire: bool = False
    check_determinism: bool = False
    batch: int = 8

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise InvalidArgument(f"seeds={self.seeds} must be >= 1")
        if self.workers < 0:
            raise InvalidArgument(f"workers={self.workers} must be >= 0 (0 = all cores)")
        if self.acceptors < 1:
            raise InvalidArgument(f"acceptors={self.acceptors} must be >= 1")
        if self.batch < 1:
            raise InvalidArgument(f"batch={self.batch} must be >= 1")

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass
class CampaignSummary:
    """The seed-ordered outcome of a campaign; identical for any worker count."""

    config: CampaignConfig
    results: list[SeedResult]
    elapsed_s: float
    interrupted: bool = False
    nondeterministic: list[int] = field(default_factory=list)
    backend: str = "local"
    workers: int = 0  # what the backend ran on (0: the config's worker count)
    retried_batches: int = 0  # batches run again because their worker was lost

    @property
    def failures(self) -> list[SeedResult]:
        return [r for r in self.results if r.failed]

    @property
    def exit_code(self) -> int:
        if self.nondeterministic:
            return CRASH
        outcomes = {r.outcome for r in self.results}
        for code in _SEVERITY:
            if code in outcomes:
                return code
        return OK

    def to_json(self) -> dict[str, Any]:
        cfg = self.config
        events = sum(r.events for r in self.results)
        counts = {name: 0 for name in OUTCOME_NAMES.values()}
        for r in self.results:
            counts[OUTCOME_NAMES.get(r.outcome, str(r.outcome))] += 1
        digest = hashlib.blake2b(digest_size=16)
        for r in self.results:
            digest.update(f"{r.seed}:{r.outcome}:{r.log_digest}\n".encode())
        return {
            "scenario": cfg.scenario,
            "mutant": cfg.mutant,
            "acceptors": cfg.acceptors,
            "first_seed": cfg.first_seed,
            "seeds_requested": cfg.seeds,
            "seeds_run": len(self.results),
            "interrupted": self.interrupted,
            "outcomes": counts,
            "failures": [
                {"seed": r.seed, "outcome": OUTCOME_NAMES.get(r.outcome, str(r.outcome)),
                 "property": r.property, "message": r.message, "facts": r.facts,
                 "replay": replay_command(cfg.scenario, r.seed, cfg.mutant, cfg.acceptors)}
                for r in self.failures
            ],
            "nondeterministic_seeds": self.nondeterministic,
            "events": events,
            "steps": sum(r.steps for r in self.results),
            "virtual_ms": sum(r.virtual_ms for r in self.results),
            "events_per_seed": events / len(self.results) if self.results else 0.0,
            "elapsed_s": round(self.elapsed_s, 3),
            "seeds_per_s": round(len(self.results) / self.elapsed_s, 2) if self.elapsed_s else None,
            "events_per_s": round(events / self.elapsed_s) if self.elapsed_s else None,
            "workers": self.workers or cfg.worker_count,
            "backend": self.backend,
            "retried_batches": self.retried_batches,
            "results_digest": digest.hexdigest(),
        }


# -- workers ---------------------------------------------------------------------------------

_scenarios = threading.local()  # per worker thread: scenario name -> loaded scenario


def _scenario(name: str) -> Scenario:
    cache = _scenarios.__dict__.setdefault("by_name", {})
    if name not in cache:
        cache[name] = load_scenario(name)
    return cache[name]


def run_batch(name: str, seeds: list[int], mutant: str | None, acceptors: int, wire: bool,
              twice: bool) -> list[tuple[SeedResult, bool]]:
    """Run a batch of seeds (in a worker); each result comes with a determinism verdict."""
    scenario = _scenario(name)
    out = []
    for seed in seeds:
        result = scenario.run_seed(seed, mutant=mutant, acceptors=acceptors, wire=wire)
        same = True
        if twice:
            again = scenario.run_seed(seed, mutant=mutant, acceptors=acceptors, wire=wire)
            same = (again.log_digest, again.outcome) == (result.log_digest, result.outcome)
        out.append((result, same))
    return out


def _batches(cfg: CampaignConfig) -> Iterator[list[int]]:
    end = cfg.first_seed + cfg.seeds
    for lo in range(cfg.first_seed, end, cfg.batch):
        yield list(range(lo, min(lo + cfg.batch, end)))


def run_campaign(cfg: CampaignConfig,
                 on_batch: Callable[[list[SeedResult]], None] | None = None,
                 backend: Backend | None = None) -> CampaignSummary:
    """Run every seed of ``cfg`` on ``backend`` (default: local processes, ``cfg.workers``).

    Ctrl-C returns what finished, marked interrupted (the backend's work is cancelled).
    """
    load_scenario(cfg.scenario)  # fail fast, in this process, on a bad name
    backend = backend or LocalBackend(cfg.worker_count)
    start = time.perf_counter()
    results: list[SeedResult] = []
    nondeterministic: list[int] = []
    interrupted = False
    args = ((cfg.scenario, b, cfg.mutant, cfg.acceptors, cfg.wire, cfg.check_determinism)
            for b in _batches(cfg))
    stream = backend.stream(run_batch, args)
    try:
        for _, batch in stream:
            for result, same in batch:
                results.append(result)
                if not same:
                    nondeterministic.append(result.seed)
            if on_batch is not None:
                on_batch([r for r, _ in batch])
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stream.close()
    results.sort(key=lambda r: r.seed)
    assert len({r.seed for r in results}) == len(results), "a seed reported twice"
    return CampaignSummary(cfg, results, time.perf_counter() - start, interrupted,
                           sorted(nondeterministic), backend=backend.name,
                           workers=backend.workers, retried_batches=stream.retried_batches)


def result_dict(result: SeedResult) -> dict[str, Any]:
    data = asdict(result)
    data.pop("log_lines", None)
    return data
