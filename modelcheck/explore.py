"""Driver 2: exhaustive explicit-state exploration (BFS or DFS), TLC-compatible counts.

:func:`explore` runs any model offering the interface described in
:mod:`modelcheck._explore_model` and returns an :class:`ExploreResult` with
TLC's statistics:

* **states generated**: every successor produced, including duplicates,
  self-loops, successors outside the model's boundary, and the initial states;
* **distinct states**: the states stored (inside the boundary);
* **depth**: the number of BFS levels, the initial states being level 1;
* **states left**: the frontier not yet expanded (non-zero after a stop).

With ``symmetry=True`` the search follows TLC's rule: a successor is stored and
expanded if no member of its orbit (``model.canonical``) was seen before; the
*first generated* member is the one kept. Successors are visited FIFO within a
level, each state's successors in the model's action order, so for a model
that is not truly symmetric the counts still match TLC's single-worker run.

The seen set maps each state's key (the state or its canonical form, exact;
or, with ``fingerprints=True``, a stable 64-bit BLAKE2b fingerprint of its
canonical encoding, never Python's ``hash()``) to its parent's key: no whole states
are kept beyond the frontier. A counterexample is rebuilt by replaying from an
initial state, picking at each step the successor whose key matches.

``workers > 1`` runs a level-synchronous BFS on forked worker processes
(:mod:`modelcheck._explore_parallel`) with the same counts as one worker; only
models whose states pickle and whose keys mean the same in every process
declare ``parallel_safe`` (the implementation model; not the spec model,
whose states are per-process interned ids).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TextIO

from modelcheck._explore_model import (
    Adapter,
    _identity,
    fingerprint,
    stable_encode,
    state_fingerprint,
)
from modelcheck.errors import InvalidArgument, ModelcheckError

__all__ = [
    "ExploreResult",
    "Violation",
    "explore",
    "fingerprint",
    "stable_encode",
    "state_fingerprint",
]

_PROGRESS_MASK = 4095  # clock read every 4096 expansions


@dataclass(frozen=True)
class Violation:
    """A property violated at a state reached by ``trace`` (initial state first)."""

    property: str
    kind: str
    trace: tuple[tuple[Any, Any], ...]  # (action or None for the initial state, state)

    def format(self, adapter: Adapter) -> str:
        """The trace step by step, as TLC prints it."""
        n = len(self.trace)
        head = f"{self.kind} property {self.property!r} violated; trace of {n} states:"
        lines = [head]
        for i, (action, state) in enumerate(self.trace, 1):
            label = "<Initial predicate>" if action is None else adapter.format_action(action)
            lines.append(f"{i}: {label}")
            lines.append(adapter.format_state(state))
        return "\n".join(lines)


@dataclass
class ExploreResult:
    """Statistics and findings of one search."""

    model: str
    distinct_states: int = 0
    states_generated: int = 0
    states_left: int = 0
    depth: int = 0
    elapsed_s: float = 0.0
    complete: bool = False
    interrupted: bool = False
    symmetry: bool = False
    strategy: str = "bfs"
    violations: list[Violation] = field(default_factory=list)
    unsatisfied_sometimes: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # "eventually" properties
    keys: set | None = None  # the stored keys, when asked for (tests)

    def summary(self) -> str:
        """One TLC-like line of figures."""
        rate = self.distinct_states / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return (
            f"{self.states_generated:,} states generated, {self.distinct_states:,} distinct states "
            f"found, {self.states_left:,} states left on queue; depth {self.depth}; "
            f"{self.elapsed_s:.2f} s ({rate:,.0f} distinct states/s)"
        )

    def to_json(self, adapter: Adapter | None = None) -> dict:
        """JSON-ready dict: figures and each violation's property and action trace."""
        fmt = adapter.format_action if adapter is not None else repr
        return {
            "model": self.model,
            "distinct_states": self.distinct_states,
            "states_generated": self.states_generated,
            "states_left": self.states_left,
            "depth": self.depth,
            "elapsed_s": round(self.elapsed_s, 3),
            "complete": self.complete,
            "interrupted": self.interrupted,
            "symmetry": self.symmetry,
            "strategy": self.strategy,
            "violations": [
                {
                    "property": v.property,
                    "kind": v.kind,
                    "trace_length": len(v.trace),
                    "actions": [fmt(a) for a, _ in v.trace[1:]],
                    "states": [adapter.format_state(s) if adapter else repr(s) for _, s in v.trace],
                }
                for v in self.violations
            ],
            "unsatisfied_sometimes": self.unsatisfied_sometimes,
            "unchecked_properties": self.unchecked,
        }


def explore(
    model: Any,
    *,
    symmetry: bool = False,
    dfs: bool = False,
    max_depth: int | None = None,
    stop_on_violation: bool = True,
    workers: int = 1,
    progress: TextIO | None = None,
    progress_interval_s: float = 2.0,
    keep_keys: bool = False,
    fingerprints: bool = False,
) -> ExploreResult:
    """Explore every state of ``model`` reachable inside its boundary.

    ``symmetry`` reduces by ``model.canonical`` (TLC's first-generated rule);
    ``dfs`` searches depth-first (no shortest-trace guarantee); ``max_depth``
    bounds the levels explored; ``progress`` (e.g. ``sys.stderr``) gets a
    line with rates every ``progress_interval_s``. Ctrl-C stops the search
    and returns the figures so far (``interrupted=True``). ``fingerprints``
    stores 64-bit stable fingerprints instead of exact keys (less memory for
    models whose states are not compact ints). ``workers > 1``: breadth-first
    on that many forked processes, same results as one (models that declare
    ``parallel_safe``; see :mod:`modelcheck._explore_parallel`).
    """
    if not isinstance(workers, int) or workers < 1:
        raise InvalidArgument(f"workers={workers!r}: expected a positive integer")
    if workers != 1 and dfs:
        raise InvalidArgument(f"workers={workers}: the parallel search is breadth-first; "
                              "use 1 with dfs")
    if max_depth is not None and (not isinstance(max_depth, int) or max_depth < 1):
        raise InvalidArgument(f"max_depth={max_depth!r}: expected a positive integer or None")
    adapter = Adapter(model, symmetry, fingerprints)
    search = _Search(adapter, stop_on_violation, progress, progress_interval_s, max_depth)
    result = search.result
    result.model = getattr(model, "name", type(model).__name__)
    result.symmetry, result.strategy = symmetry, "dfs" if dfs else "bfs"
    start = time.perf_counter()
    try:
        if workers > 1:
            from modelcheck._explore_parallel import parallel_bfs

            parallel_bfs(search, workers)
        else:
            (search.dfs if dfs else search.bfs)()
        result.complete = not search.stopped
    except KeyboardInterrupt:
        result.interrupted = True
    result.elapsed_s = time.perf_counter() - start
    result.distinct_states = len(search.seen)
    result.unsatisfied_sometimes = [name for name, _ in search.sometimes]
    result.unchecked = list(adapter.unchecked)
    if keep_keys:
        result.keys = set(search.seen)
    return result


class _Search:
    """The search state: seen keys with parent keys, counters, findings."""

    def __init__(
        self,
        adapter: Adapter,
        stop_on_violation: bool,
        progress: TextIO | None,
        interval_s: float,
        max_depth: int | None,
    ) -> None:
        self.adapter = adapter
        self.seen: dict[Hashable, Hashable] = {}
        self.result = ExploreResult(model="")
        self.stop_on_violation = stop_on_violation
        self.stopped = False
        self.progress = progress
        self.interval_s = interval_s
        self.max_depth = max_depth
        self.sometimes = list(adapter.sometimes)
        self.started = time.perf_counter()
        self.last_report = self.started

    # -------------------------------------------------------------- discovery
    def _discover(self, state: Any, key: Hashable, parent: Hashable | None) -> None:
        """Check a newly stored state; record violations and satisfied ``sometimes``."""
        bad = self.adapter.violations(state)
        if bad:
            self._record_violations(key, bad)
        if self.sometimes:
            self.sometimes = [(n, p) for n, p in self.sometimes if not p(state)]

    def _record_violations(self, key: Hashable, names: Any) -> None:
        """The state at ``key`` violates ``names``: record them with its trace."""
        trace = self._trace(key)
        for name in names:
            self.result.violations.append(Violation(name, "always", trace))
        if self.stop_on_violation:
            self.stopped = True

    def _init(self) -> list[tuple[Any, Hashable]]:
        key, seen, result = self.adapter.key, self.seen, self.result
        firsts = []
        for s in self.adapter.model.init_states():
            result.states_generated += 1
            within = getattr(self.adapter.model, "within_boundary", None)
            if within is not None and not within(s):
                continue
            k = key(s)
            if k not in seen:
                seen[k] = None
                firsts.append((s, k))
                self._discover(s, k, None)
        result.depth = 1 if firsts else 0
        return firsts

    # -------------------------------------------------------------- BFS
    def bfs(self) -> None:
        """Level by level, FIFO within a level (TLC's order)."""
        frontier = self._init()
        expand, key, seen, result = self.adapter.expand, self.adapter.key, self.seen, self.result
        violations = self.adapter.violations
        watch = bool(self.sometimes)
        level = 1
        while frontier and not self.stopped:
            if self.max_depth is not None and level >= self.max_depth:
                result.states_left = len(frontier)
                self.stopped = True
                return
            nxt: list[tuple[Any, Hashable]] = []
            append = nxt.append
            identity = key is _identity
            for n_done, (s, ks) in enumerate(frontier):
                gen, succs = expand(s)
                result.states_generated += gen
                for t in succs:
                    kt = t if identity else key(t)
                    if kt not in seen:
                        seen[kt] = ks
                        append((t, kt))
                        if watch or violations(t):
                            self._discover(t, kt, ks)
                            if self.stopped:
                                result.states_left = len(frontier) - n_done - 1 + len(nxt)
                                result.depth = level + 1
                                return
                if not n_done & _PROGRESS_MASK and self.progress is not None:
                    self._report(level, len(frontier) - n_done + len(nxt))
            frontier = nxt
            if frontier:
                level += 1
                result.depth = level

    # -------------------------------------------------------------- DFS
    def dfs(self) -> None:
        """Depth-first with an explicit stack; depth is the longest path stored."""
        expand, key, seen, result = self.adapter.expand, self.adapter.key, self.seen, self.result
        violations = self.adapter.violations
        watch = bool(self.sometimes)
        stack = [(s, k, 1) for s, k in reversed(self._init())]
        n_done = 0
        while stack and not self.stopped:
            s, ks, d = stack.pop()
            n_done += 1
            if self.max_depth is not None and d >= self.max_depth:
                continue
            gen, succs = expand(s)
            result.states_generated += gen
            for t in reversed(succs):
                kt = key(t)
                if kt not in seen:
                    seen[kt] = ks
                    stack.append((t, kt, d + 1))
                    if d + 1 > result.depth:
                        result.depth = d + 1
                    if watch or violations(t):
                        self._discover(t, kt, ks)
                        if self.stopped:
                            break
            if not n_done & _PROGRESS_MASK and self.progress is not None:
                self._report(result.depth, len(stack))
        result.states_left = len(stack)

    # -------------------------------------------------------------- helpers
    def _report(self, depth: int, left: int) -> None:
        now = time.perf_counter()
        if now - self.last_report < self.interval_s:
            return
        self.last_report = now
        elapsed = now - self.started
        r = self.result
        print(
            f"explore: depth={depth} distinct={len(self.seen):,} generated={r.states_generated:,} "
            f"left={left:,} {len(self.seen) / elapsed:,.0f} distinct/s "
            f"{r.states_generated / elapsed:,.0f} generated/s elapsed={elapsed:.1f}s",
            file=self.progress,
            flush=True,
        )

    def _trace(self, key: Hashable) -> tuple[tuple[Any, Any], ...]:
        """Rebuild the path to ``key`` by replaying from an initial state."""
        chain = [key]
        while self.seen[chain[-1]] is not None:
            chain.append(self.seen[chain[-1]])
        chain.reverse()
        k = self.adapter.key
        state = next((s for s in self.adapter.model.init_states() if k(s) == chain[0]), None)
        if state is None:
            raise ModelcheckError("trace rebuild: no initial state has the root key")
        trace: list[tuple[Any, Any]] = [(None, state)]
        for want in chain[1:]:
            step = next(((a, t) for a, t in self.adapter.labeled(state) if k(t) == want), None)
            if step is None:
                raise ModelcheckError(
                    "trace rebuild diverged: the model's successors are not deterministic"
                )
            trace.append(step)
            state = step[1]
        return tuple(trace)


def print_result(result: ExploreResult, adapter: Adapter, out: TextIO | None = None) -> None:
    """The figures, then each violation's trace (shortest first under BFS)."""
    out = sys.stdout if out is None else out
    status = "interrupted" if result.interrupted else ("complete" if result.complete else "stopped")
    print(f"model {result.model}: {status}", file=out)
    print(result.summary(), file=out)
    for name in result.unsatisfied_sometimes:
        print(f"warning: sometimes property {name!r} never satisfied", file=out)
    for name in result.unchecked:
        print(f"note: eventually property {name!r} not checked by the explorer", file=out)
    shown: set = set()
    for v in result.violations:
        if v.trace in shown:
            print(f"{v.kind} property {v.property!r} violated by the same trace", file=out)
            continue
        shown.add(v.trace)
        print(v.format(adapter), file=out)


def make_adapter(model: Any, symmetry: bool = False) -> Adapter:
    """The :class:`Adapter` :func:`explore` uses (for formatting results)."""
    return Adapter(model, symmetry)


CheckFn = Callable[[Any], bool]
