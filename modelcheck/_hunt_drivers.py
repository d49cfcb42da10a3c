"""The hypothesis and explore drivers of :mod:`modelcheck.hunt` (kept apart: heavier imports).

Hypothesis has no time budget of its own, so the machine runs in chunks of
``chunk`` examples, each chunk under its own Hypothesis seed (``seed``,
``seed + 1``, ...: the hunt is reproducible), and the budget is checked
between chunks. The explorer reports progress to a stream every couple of
seconds; the hunt passes a stream that ends the search (as Ctrl-C would)
once the budget is spent, so the search returns its figures so far.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

from modelcheck.errors import InvalidArgument
from modelcheck.hunt import HuntResult, Progress, trace_directory
from modelcheck.trace import load_trace

__all__ = ["hunt_explore", "hunt_hypothesis"]


# -- hypothesis ------------------------------------------------------------------------------


def hunt_hypothesis(target: Any, mutant: str, budget_s: float, trace_path: Path | None,
                    opts: dict[str, Any], on_progress: Progress | None) -> HuntResult:
    """Run the protocol's Hypothesis machine with ``mutant`` on until it fails or time is up."""
    from hypothesis import Verbosity, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.internal.conjecture import engine
    from hypothesis.stateful import run_state_machine_as_test

    from modelcheck._stateful_io import profile_settings

    res = HuntResult(mutant, "hypothesis", budget_s=budget_s)
    machine = target.machine(mutant)
    chunk = int(opts.get("chunk", 10))
    if chunk < 1:
        raise InvalidArgument(f"chunk={chunk} must be >= 1")
    steps = int(opts.get("steps", 50))
    base_seed = int(opts.get("seed", 0))
    out_dir = trace_directory(opts.get("trace_dir"))
    counts = {"examples": 0, "first_fail": None}
    orig_init, orig_report = machine.__init__, machine._report

    def init(self: Any) -> None:
        counts["examples"] += 1
        orig_init(self)

    def report(self: Any, *args: Any, **kwargs: Any) -> None:
        if counts["first_fail"] is None:
            counts["first_fail"] = len(self.trace_actions())
            counts["first_fail_s"] = time.perf_counter() - start
        orig_report(self, *args, **kwargs)

    machine.__init__, machine._report = init, report
    machine.trace_directory, machine.last_trace = str(out_dir), None
    base = settings(profile_settings("dev"), max_examples=chunk, stateful_step_count=steps,
                    database=None, derandomize=False, print_blob=False,
                    verbosity=Verbosity.quiet)
    start = time.perf_counter()
    error: BaseException | None = None
    i = 0
    shrink_limit = engine.MAX_SHRINKING_SECONDS
    try:
        while time.perf_counter() - start < budget_s:
            # Shrinking has no budget of its own: give it what is left of ours.
            engine.MAX_SHRINKING_SECONDS = max(1, int(budget_s - (time.perf_counter() - start)))
            hypothesis_seed(base_seed + i)(machine)
            i += 1
            try:
                run_state_machine_as_test(machine, settings=base)
            except KeyboardInterrupt:
                res.interrupted = True
                break
            except Exception as exc:  # noqa: BLE001 - AssertionError is the find; others noted
                error = exc
                break
            finally:
                if on_progress is not None:
                    on_progress({"examples": counts["examples"],
                                 "elapsed_s": time.perf_counter() - start})
    finally:
        engine.MAX_SHRINKING_SECONDS = shrink_limit
        del machine.__init__, machine._report
        machine._hypothesis_internal_use_seed = None
    res.elapsed_s = time.perf_counter() - start
    res.examples = counts["examples"]
    res.seed = base_seed + i - 1 if i else None
    written = machine.last_trace
    if error is None:
        res.note = f"no failure in {i} chunk(s) of {chunk} examples"
        return res
    if written is None:
        res.note = f"hypothesis stopped without a trace: {type(error).__name__}: {error}"
        return res
    trace = load_trace(written)
    if trace_path is not None:
        trace_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(written, trace_path)
        written = trace_path
    v = trace.violation or {}
    res.found = True
    res.property, res.outcome = v.get("property"), v.get("outcome")
    res.message = str(v.get("message", ""))
    res.trace_path = str(written)
    res.shrunk_length = len(trace.actions or [])
    res.raw_length = counts["first_fail"]
    res.first_failure_s = counts.get("first_fail_s")
    res.trace_length = len(trace.events)
    return res


# -- explore ---------------------------------------------------------------------------------


class _BudgetStream:
    """A progress stream for :func:`modelcheck.explore.explore` that ends the search (by
    raising ``KeyboardInterrupt``, which the explorer turns into a clean stop) once the
    deadline has passed; it also forwards the progress line."""

    def __init__(self, deadline: float, on_progress: Progress | None) -> None:
        self.deadline = deadline
        self.on_progress = on_progress
        self.expired = False

    def write(self, text: str) -> int:
        if self.on_progress is not None and text.strip():
            self.on_progress({"explore": text.strip()})
        if time.perf_counter() >= self.deadline:
            self.expired = True
            raise KeyboardInterrupt
        return len(text)

    def flush(self) -> None:
        pass


def hunt_explore(target: Any, mutant: str, budget_s: float, trace_path: Path | None,
                 opts: dict[str, Any], on_progress: Progress | None) -> HuntResult:
    """Explore each model the target offers for ``mutant``, smallest first, within the budget.

    Each entry is ``(label, model name, options)``: the model is built as ``modelcheck
    explore --model NAME`` with those options would build it, so the trace file
    (:func:`modelcheck.explore_trace.violation_trace`) replays with ``modelcheck replay``.
    """
    from modelcheck.explore import explore
    from modelcheck.explore_cli import load_model_factory
    from modelcheck.explore_trace import violation_trace

    res = HuntResult(mutant, "explore", budget_s=budget_s)
    models = target.explore_models(mutant)
    if not models:
        res.applicable = False
        res.note = f"no explorer model has the mutant {mutant!r}"
        return res
    start = time.perf_counter()
    deadline = start + budget_s
    tried = []
    states = 0
    for label, name, options in models:
        if time.perf_counter() >= deadline:
            break
        model = load_model_factory(name)(argparse.Namespace(**options, mutant=mutant))
        stream = _BudgetStream(deadline, on_progress)
        symmetry = hasattr(model, "canonical")
        result = explore(model, symmetry=symmetry, progress=stream, progress_interval_s=1.0)
        states += result.distinct_states
        tried.append(f"{label}: {result.distinct_states} states"
                     + (" (complete)" if result.complete else ""))
        if result.interrupted and not stream.expired:
            res.interrupted = True
            break
        if result.violations:
            v = result.violations[0]
            res.first_failure_s = time.perf_counter() - start
            res.found, res.property, res.outcome = True, v.property, "safety"
            res.model, res.trace_length = label, len(v.trace)
            trace = violation_trace(model, v, model_name=name, options=options, mutant=mutant)
            res.message = str((trace.violation or {}).get("message") or
                              f"{v.kind} property {v.property!r} violated in {label}")
            path = trace_path or trace_directory(opts.get("trace_dir")) / (
                f"explore-{mutant}-{label.replace(' ', '_')}.trace.json")
            res.trace_path = str(trace.save(path))
            break
    res.elapsed_s = time.perf_counter() - start
    res.states = states
    res.note = "; ".join(tried)
    return res
