"""Hunt a seeded protocol bug: run one driver until it finds a violation or the budget ends.

A *mutant* is a named, switchable bug in a protocol's actors (for the
walproposer: :mod:`actors.mutants`). A hunt measures a checker's power: how
long a driver takes to find the bug, and how long its counterexample is.
Drivers:

* ``random``: the seed campaign (:mod:`modelcheck.sim`'s scenario), seeds in
  batches on worker processes, stopping at the first attributable failure.
  :func:`run_seed_batch` is the unit of work, a plain picklable function, so
  another backend (a Dask cluster) can run the same search;
* ``hypothesis``: the protocol's Hypothesis machine with the mutant on
  (shrunk counterexample);
* ``explore``: the exhaustive explorer over the protocol's models for that
  mutant (shortest counterexample), or "not applicable" when it has none.

A failure counts only if it is *attributable*: the same seed with the
correct protocol must not fail the same way (else it is the checker's false
alarm, or a bug of the protocol itself, and the hunt goes on; such seeds are
listed as ``unattributed``).

The engine imports no protocol: the protocol's side (catalogue, machine,
models) is the scenario's ``hunt_target`` attribute, a ``"module:attr"`` name.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelcheck.backends import Backend, first_hit
from modelcheck.errors import InvalidArgument
from modelcheck.sim import OUTCOME_NAMES, SeedResult, load_scenario

__all__ = ["DRIVERS", "BatchReport", "HuntResult", "hunt", "hunt_all", "load_target",
           "run_seed_batch", "search_seeds", "trace_directory"]

DRIVERS = ("random", "hypothesis", "explore")
TRACE_DIR_ENV = "MODELCHECK_TRACE_DIR"
Progress = Callable[[dict[str, Any]], None]


@dataclass
class HuntResult:
    """What one driver's hunt for one mutant gave (``to_json`` for the CLI's ``--json``)."""

    mutant: str
    driver: str
    found: bool = False
    applicable: bool = True
    property: str | None = None
    outcome: str | None = None  # safety / liveness / crash
    message: str = ""
    elapsed_s: float = 0.0
    first_failure_s: float | None = None  # when the first failure was seen (before shrinking)
    budget_s: float = 0.0
    trace_length: int | None = None  # events (random), steps (hypothesis), states (explore)
    shrunk_length: int | None = None  # hypothesis: steps of the shrunk program
    raw_length: int | None = None  # hypothesis: steps of the first failing program
    minimized_length: int | None = None
    trace_path: str | None = None
    seed: int | None = None
    seeds_tried: int | None = None
    examples: int | None = None
    states: int | None = None
    model: str | None = None
    scenario: str | None = None  # random: the scenario of the failing seed
    unattributed: list[int] = field(default_factory=list)
    interrupted: bool = False
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["elapsed_s"] = round(self.elapsed_s, 3)
        if self.first_failure_s is not None:
            data["first_failure_s"] = round(self.first_failure_s, 3)
        return data


def trace_directory(override: str | os.PathLike | None = None) -> Path:
    """Where hunt traces go by default: ``$MODELCHECK_TRACE_DIR``, else ``.hypothesis/traces``."""
    return Path(override or os.environ.get(TRACE_DIR_ENV) or Path(".hypothesis") / "traces")


def load_target(scenario: str = "walproposer") -> Any:
    """The protocol's hunt target: catalogue (``mutants``), ``machine``, ``explore_models``."""
    sc = load_scenario(scenario)
    spec = getattr(sc, "hunt_target", None)
    if not isinstance(spec, str) or ":" not in spec:
        raise InvalidArgument(f"scenario={scenario!r} declares no mutants (no hunt_target)")
    module_name, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(f"scenario={scenario!r}: cannot load hunt_target {spec!r}: "
                              f"{exc}") from exc


def check_mutant(target: Any, mutant: str) -> None:
    """:class:`InvalidArgument` naming the known mutants when ``mutant`` is not one."""
    if mutant not in target.mutants:
        raise InvalidArgument(f"unknown mutant {mutant!r}; known: "
                              f"{', '.join(sorted(target.mutants))} (see: modelcheck mutants)")


# -- the random driver ------------------------------------------------------------------------


@dataclass
class BatchReport:
    """What :func:`run_seed_batch` found in its seeds (picklable)."""

    tried: int
    found: SeedResult | None = None
    unattributed: list[int] = field(default_factory=list)
    scenario: str = ""  # the scenario of ``found``


_worker_scenarios: dict[str, Any] = {}


def _scenario(name: str) -> Any:
    sc = _worker_scenarios.get(name)
    if sc is None:
        sc = _worker_scenarios[name] = load_scenario(name)
    return sc


def run_seed_batch(scenario: str | Sequence[str], seeds: list[int], mutant: str,
                   acceptors: int = 3, ignore: tuple[str, ...] = ()) -> BatchReport:
    """Run ``seeds`` in order with ``mutant`` on; stop at the first attributable failure.

    With several scenarios, seed ``s`` runs on ``scenario[s % len(scenario)]``.

    A failing seed is rerun with the correct protocol: if that fails with the same
    property too, the failure is not the mutant's (listed in ``unattributed``). So is
    a failure of a property in ``ignore`` (properties the correct protocol is known to
    break: a find through them would be the checker's false alarm, not the mutant's).
    """
    names = (scenario,) if isinstance(scenario, str) else tuple(scenario)
    report = BatchReport(0)
    for seed in seeds:
        report.tried += 1
        report.scenario = names[seed % len(names)]
        sc = _scenario(report.scenario)
        result = sc.run_seed(seed, mutant=mutant, acceptors=acceptors)
        if not result.failed:
            continue
        if result.property in ignore:
            report.unattributed.append(seed)
            continue
        clean = sc.run_seed(seed, mutant=None, acceptors=acceptors)
        if clean.failed and clean.property == result.property:
            report.unattributed.append(seed)
            continue
        report.found = result
        return report
    return report


def _seed_batches(first: int, batch: int) -> Iterator[list[int]]:
    seed = first
    while True:
        yield list(range(seed, seed + batch))
        seed += batch


def search_seeds(scenario: str | Sequence[str], mutant: str, budget_s: float, *,
                 first_seed: int = 0, workers: int = 0, batch: int = 4, acceptors: int = 3,
                 max_seeds: int | None = None, on_progress: Progress | None = None,
                 backend: Backend | None = None,
                 ignore: tuple[str, ...] = ()) -> tuple[BatchReport, bool, bool]:
    """Seeds from ``first_seed`` on worker processes until a find, the budget or ``max_seeds``.

    With several scenarios, seed ``s`` runs on ``scenario[s % len(scenario)]``. Returns
    ``(combined report, timed_out, interrupted)``; the find is the lowest attributable
    failing seed (batches of lower seeds still running when something is found are
    waited for).
    """
    scenarios = (scenario,) if isinstance(scenario, str) else tuple(scenario)
    if not scenarios:
        raise InvalidArgument("search_seeds needs at least one scenario")
    if budget_s <= 0:
        raise InvalidArgument(f"budget_s={budget_s} must be > 0")
    n_workers = workers or os.cpu_count() or 1
    start = time.perf_counter()
    total = BatchReport(0)
    limit = first_seed + max_seeds if max_seeds is not None else None

    def batches() -> Iterator[tuple[str, list[int], str, int, tuple[str, ...]]]:
        for b in _seed_batches(first_seed, batch):
            b = [s for s in b if limit is None or s < limit]
            if not b:
                return
            yield (scenarios, b, mutant, acceptors, ignore)

    def merge(rep: BatchReport) -> None:
        total.tried += rep.tried
        total.unattributed.extend(rep.unattributed)
        if rep.found is not None and (total.found is None or rep.found.seed < total.found.seed):
            total.found, total.scenario = rep.found, rep.scenario
        if on_progress is not None:
            on_progress({"seeds_tried": total.tried, "elapsed_s": time.perf_counter() - start,
                         "unattributed": len(total.unattributed)})

    def over() -> bool:
        return time.perf_counter() - start >= budget_s

    source = batches()
    interrupted = False
    try:
        if backend is not None:  # a Dask cluster (modelcheck.backends): cancels past the find
            interrupted = first_hit(
                backend, run_seed_batch, source,
                is_hit=lambda rep: rep.found is not None, budget_s=budget_s,
                on_result=lambda _, rep: merge(rep)).interrupted
        elif n_workers == 1:
            for args in source:
                merge(run_seed_batch(*args))
                if total.found is not None or over():
                    break
        else:
            _pool_search(n_workers, source, total, merge, over)
    except KeyboardInterrupt:
        interrupted = True
    total.unattributed.sort()
    return total, total.found is None and over(), interrupted


def _pool_search(n_workers: int, source: Iterator[tuple[Any, ...]], total: BatchReport,
                 merge: Callable[[BatchReport], None], over: Callable[[], bool]) -> None:
    """The batches of ``source`` (:func:`run_seed_batch` arguments) on a process pool, at
    most two per worker in flight."""
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    pool = ctx.Pool(n_workers)
    pending: list[tuple[int, Any]] = []  # (first seed of the batch, async result)
    exhausted = False
    try:
        while True:
            if total.found is not None:
                # Keep only the batches of lower seeds (already running): the find is then
                # the lowest attributable failing seed, whatever the worker count.
                pending = [(s, p) for s, p in pending if s < total.found.seed]
                if not pending:
                    break
            else:
                while not exhausted and len(pending) < 2 * n_workers and not over():
                    args = next(source, None)
                    if args is None:
                        exhausted = True
                        break
                    pending.append((args[1][0], pool.apply_async(run_seed_batch, args)))
            done = [(s, p) for s, p in pending if p.ready()]
            for item in done:
                pending.remove(item)
                merge(item[1].get())
            if total.found is None and (over() or (exhausted and not pending)):
                break
            if not done and pending:
                pending[0][1].wait(0.05)
    finally:
        pool.terminate()
        pool.join()


def _hunt_random(target: Any, mutant: str, budget_s: float, trace_path: Path | None,
                 opts: dict[str, Any], on_progress: Progress | None) -> HuntResult:
    from modelcheck._trace_run import record_seed, trace_file_name

    scenarios = tuple(opts.get("scenarios") or getattr(target, "scenarios", None)
                      or (target.scenario,))
    ignore = tuple(getattr(target, "false_alarm_properties", {}))
    res = HuntResult(mutant, "random", budget_s=budget_s)
    start = time.perf_counter()
    report, _, interrupted = search_seeds(
        scenarios, mutant, budget_s, first_seed=opts.get("first_seed", 0),
        workers=opts.get("workers", 0), batch=opts.get("batch", 4),
        acceptors=opts.get("acceptors", 3), max_seeds=opts.get("max_seeds"),
        on_progress=on_progress, backend=opts.get("backend"), ignore=ignore)
    res.elapsed_s = time.perf_counter() - start
    res.seeds_tried, res.unattributed, res.interrupted = (report.tried, report.unattributed,
                                                          interrupted)
    found = report.found
    if found is None:
        res.note = f"no attributable failure in {report.tried} seeds"
        if ignore and report.unattributed:
            res.note += f" (not counted: failures of {', '.join(ignore)} or of the correct " \
                        "protocol too)"
        return res
    res.found, res.seed, res.property = True, found.seed, found.property
    res.scenario = report.scenario
    res.first_failure_s = res.elapsed_s
    res.outcome = OUTCOME_NAMES.get(found.outcome, str(found.outcome))
    res.message = found.message
    _, trace = record_seed(report.scenario, found.seed, mutant=mutant,
                           acceptors=opts.get("acceptors", 3))
    path = trace_path or trace_directory(opts.get("trace_dir")) / trace_file_name(trace)
    res.trace_path = str(trace.save(path))
    step = (trace.violation or {}).get("step")
    res.trace_length = step + 1 if isinstance(step, int) else len(trace.events)
    return res


# -- entry points ---------------------------------------------------------------------------


def hunt(mutant: str, driver: str, budget_s: float = 60.0, *, scenario: str = "walproposer",
         trace_path: str | os.PathLike | None = None, on_progress: Progress | None = None,
         **opts: Any) -> HuntResult:
    """Run ``driver`` against ``mutant`` for at most ``budget_s`` (see the module docstring).

    ``opts``: random: ``workers`` (0 = all cores), ``first_seed``, ``batch``,
    ``max_seeds``, ``acceptors``, ``backend`` (a :mod:`modelcheck.backends` backend,
    e.g. a Dask cluster, instead of ``workers``); hypothesis: ``chunk`` (examples between budget
    checks), ``seed``, ``steps``; all: ``trace_dir`` (default :func:`trace_directory`),
    ``minimize_s`` (> 0: minimise the found trace with :mod:`modelcheck.minimize`,
    within that many seconds more).
    """
    if driver not in DRIVERS:
        raise InvalidArgument(f"unknown driver {driver!r}; expected one of "
                              f"{', '.join(DRIVERS)} (or all)")
    if not budget_s > 0:
        raise InvalidArgument(f"budget_s={budget_s} must be > 0")
    target = load_target(scenario)
    check_mutant(target, mutant)
    path = Path(trace_path) if trace_path is not None else None
    if driver == "random":
        result = _hunt_random(target, mutant, budget_s, path, opts, on_progress)
    elif driver == "hypothesis":
        from modelcheck._hunt_drivers import hunt_hypothesis

        result = hunt_hypothesis(target, mutant, budget_s, path, opts, on_progress)
    else:
        from modelcheck._hunt_drivers import hunt_explore

        result = hunt_explore(target, mutant, budget_s, path, opts, on_progress)
    minimize_s = float(opts.get("minimize_s", 0.0))
    if result.found and result.trace_path and minimize_s > 0:
        _minimize(result, minimize_s)
    return result


def hunt_all(mutant: str, budget_s: float = 60.0, *, scenario: str = "walproposer",
             trace_path: str | os.PathLike | None = None, on_progress: Progress | None = None,
             **opts: Any) -> list[HuntResult]:
    """:func:`hunt` with every driver in turn, each with the full budget.

    With ``trace_path``, each driver's trace goes next to it, named
    ``<stem>.<driver>.trace.json``.
    """
    out = []
    for driver in DRIVERS:
        path = None
        if trace_path is not None:
            p = Path(trace_path)
            stem = p.name[: -len(".trace.json")] if p.name.endswith(".trace.json") else p.stem
            path = p.with_name(f"{stem}.{driver}.trace.json")
        out.append(hunt(mutant, driver, budget_s, scenario=scenario, trace_path=path,
                        on_progress=on_progress, **opts))
        if out[-1].interrupted:
            break
    return out


def _minimize(result: HuntResult, budget_s: float) -> None:
    """Minimise the found trace with :mod:`modelcheck.minimize` (when installed), within
    ``budget_s``; fills ``minimized_length`` and writes ``<trace>.min.trace.json``."""
    try:
        from modelcheck.minimize import minimize_trace
    except ImportError:
        result.note = _join(result.note, "minimize: modelcheck.minimize is not available")
        return
    from modelcheck.errors import ModelcheckError
    from modelcheck.trace import load_trace

    assert result.trace_path is not None
    try:
        report = minimize_trace(load_trace(result.trace_path), budget_s=budget_s)
    except ModelcheckError as exc:
        result.note = _join(result.note, f"minimize: {exc}")
        return
    path = str(result.trace_path)
    stem = path[: -len(".trace.json")] if path.endswith(".trace.json") else path
    report.trace.save(stem + ".min.trace.json")
    result.minimized_length = report.minimized_length
    result.note = _join(result.note, f"minimized {report.original_length} -> "
                                     f"{report.minimized_length} steps"
                                     + (" (proven minimal)" if report.proven_minimal else ""))


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b
