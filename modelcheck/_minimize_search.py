"""The z3 search of :mod:`modelcheck.minimize`: smallest kept set, then fewest node switches.

The search sees only indices ``0..n-1`` of the original run's steps, what
each step *needs* (steps that must be kept, and come earlier, for it to be
possible at all: the send of a message, the previous message on the same
direction, the arming of a timer, the crash before a restart, the launch of
the node it happens on) and each step's *lane* (the node whose order it
keeps). The oracle replays a candidate and answers with the steps it really
applied up to the violation, or None when nothing was violated.

Loop (:func:`search`):

1. a greedy pass (delta debugging: drop a chunk of steps - halves, then
   quarters, ... down to single steps, last first - and everything that
   needs them, keep the result if it still violates) gives a small upper
   bound cheaply; every failed try is remembered as a blocking clause;
   then a *probe* per kept step (the whole run without that step and what
   needs it): a refuted probe says every violating sub-run keeps the step;
2. z3 proposes a kept set that respects the needs, is below the best size
   found and is not blocked; the oracle replays it; a violating one is the
   new best, a non-violating one becomes a blocking clause. The loop ends
   when z3 says *unsat* (proven: nothing smaller exists) or the budget ends.
   With the subset generalisation (below) the candidate has exactly one step
   fewer than the best (a plain ``Solver`` with a pseudo-boolean equality:
   any smaller violating set would extend to one that size, and a large
   refuted candidate blocks the most); with ``exact`` blocking, z3
   ``Optimize`` proposes the smallest set left.

In subset mode a refuted candidate is first grown (:func:`_grow`: add chunks
of the other steps while it still does not violate), then blocked.
Blocking clauses are generalised to *every subset* of the failed candidate
(``generalise="subsets"``, the default): a sub-run of a run that does not
violate is taken not to violate either. That is what lets the loop converge;
it is an assumption about the protocol (fewer deliveries, timer firings and
crashes do not create a violation the larger run avoided), stated in the
output as the proof's basis. ``generalise="exact"`` blocks only the failed set
itself (a proof without the assumption, affordable only for short runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import z3

__all__ = ["SearchResult", "dependents", "order_fewest_switches", "search", "switches"]

Oracle = Callable[[list[int]], "list[int] | None"]


@dataclass
class SearchResult:
    """What the search found: the best kept steps (original order) and how it ended."""

    best: list[int]
    proven: bool
    replays: int
    greedy_best: int
    z3_candidates: int = 0
    blocked: int = 0
    elapsed_s: float = 0.0
    log: list[str] = field(default_factory=list)


def dependents(n: int, needs: Sequence[Sequence[int]]) -> list[list[int]]:
    """For each step, the steps that need it directly (the inverse of ``needs``)."""
    out: list[list[int]] = [[] for _ in range(n)]
    for j, ns in enumerate(needs):
        for i in ns:
            out[i].append(j)
    return out


def _closure_up(start: int, users: list[list[int]], within: set[int]) -> set[int]:
    """``start`` and every step of ``within`` that needs it, transitively."""
    seen = {start}
    todo = [start]
    while todo:
        i = todo.pop()
        for j in users[i]:
            if j in within and j not in seen:
                seen.add(j)
                todo.append(j)
    return seen


def _shrink(best: list[int], users: list[list[int]],
            try_set: Callable[[set[int]], list[int] | None],
            out_of_budget: Callable[[], bool]) -> list[int]:
    """Delta debugging over chunks: drop a chunk and what needs it, keep it if still violating."""
    chunk = max(1, len(best) // 2)
    while chunk >= 1 and not out_of_budget():
        pos = len(best)
        while pos > 0 and not out_of_budget():
            lo = max(0, pos - chunk)
            current = set(best)
            gone: set[int] = set()
            for j in best[lo:pos]:
                if j not in gone:
                    gone |= _closure_up(j, users, current)
            cand = current - gone
            if cand:
                got = try_set(cand)
                if got is not None and len(got) < len(best):
                    best = sorted(got)
                    pos = min(lo, len(best))
                    continue
            pos = lo
        chunk //= 2
    return best


def _grow(cand: set[int], n: int, needs: Sequence[Sequence[int]],
          try_set: Callable[[set[int]], list[int] | None],
          out_of_budget: Callable[[], bool]) -> tuple[set[int], list[int] | None]:
    """A larger refuted set around ``cand``: add chunks of the other steps (with their
    needs) while the run still does not violate; halve a chunk that makes it violate.

    A refuted set blocks all its subsets, so the larger, the stronger the clause.
    Returns the grown set and the smallest violating set seen on the way (or None).
    """
    chunks = [[i for i in range(n) if i not in cand]]
    found: list[int] | None = None
    while chunks and not out_of_budget():
        chunk = chunks.pop()
        trial = set(cand)
        todo = [i for i in chunk if i not in trial]
        while todo:
            i = todo.pop()
            if i not in trial:
                trial.add(i)
                todo.extend(needs[i])
        if trial == cand:
            continue
        got = try_set(trial)
        if got is None:
            cand = trial
        else:
            if found is None or len(got) < len(found):
                found = got
            if len(chunk) > 1:
                half = len(chunk) // 2
                chunks += [chunk[half:], chunk[:half]]
    return cand, found


def search(  # noqa: C901 (greedy, probes, z3 loop: one budget)
        n: int, needs: Sequence[Sequence[int]], oracle: Oracle, initial: list[int], *,
        budget_s: float = 60.0, max_replays: int | None = None,
        generalise: str = "subsets", greedy: bool = True) -> SearchResult:
    """Smallest set of steps (respecting ``needs``) whose replay the oracle finds violating.

    ``initial``: a violating set to start from (the original run's effective steps).
    """
    if generalise not in ("subsets", "exact"):
        raise ValueError(f"generalise={generalise!r}: expected 'subsets' or 'exact'")
    start = time.monotonic()
    deadline = start + budget_s
    best = sorted(initial)
    users = dependents(n, needs)
    blocked: list[set[int]] = []
    replays = 0
    log: list[str] = []

    def out_of_budget() -> bool:
        return time.monotonic() >= deadline or (max_replays is not None
                                                 and replays >= max_replays)

    def try_set(cand: set[int]) -> list[int] | None:
        nonlocal replays
        replays += 1
        got = oracle(sorted(cand))
        if got is None:
            blocked.append(set(cand))
        return got

    # 1. greedy: drop chunks (halves, quarters, ... single steps), last first
    if greedy:
        best = _shrink(best, users, try_set, out_of_budget)
    greedy_best = len(best)
    log.append(f"greedy: {len(initial)} -> {greedy_best} steps in {replays} replays")

    # 1b. probes: is each kept step needed by the *whole* run? (the whole run minus the
    # step and what needs it; a refuted probe means every violating sub-run keeps it)
    full = set(initial)
    for j in sorted(best, reverse=True):
        if out_of_budget():
            break
        cand = full - _closure_up(j, users, full)
        if cand:
            got = try_set(cand)
            if got is not None and len(got) < len(best):
                best = sorted(got)
    log.append(f"probes: {replays} replays so far")

    # 2. z3: a kept set below the best size that no refuted candidate covers
    keep = [z3.Bool(f"k{i}") for i in range(n)]
    solver = z3.Optimize() if generalise == "exact" else z3.Solver()
    for j, ns in enumerate(needs):
        for i in ns:
            solver.add(z3.Implies(keep[j], keep[i]))
    size = z3.Sum([z3.If(k, 1, 0) for k in keep])
    if generalise == "exact":
        solver.minimize(size)
    n_blocked = 0

    def add_block(s: set[int]) -> None:
        nonlocal n_blocked
        n_blocked += 1
        outside = [keep[i] for i in range(n) if i not in s]
        if generalise == "exact":
            outside += [z3.Not(keep[i]) for i in s]
        solver.add(z3.Or(outside) if outside else z3.BoolVal(False))

    for s in blocked:
        add_block(s)
    bound = len(best)
    proven = False
    candidates = 0
    while not out_of_budget():
        remaining = deadline - time.monotonic()
        solver.set("timeout", max(1, int(remaining * 1000)))
        if generalise == "exact":
            verdict = solver.check(size < bound)
        else:
            # Under the subset generalisation a violating set extends to a violating set
            # of any larger size (add the lowest step not kept: its needs come before it),
            # so asking for exactly bound - 1 steps loses nothing, and a refuted candidate
            # that large blocks the most.
            verdict = solver.check(z3.PbEq([(k, 1) for k in keep], bound - 1))
        if verdict == z3.unsat:
            proven = True
            break
        if verdict != z3.sat:
            log.append(f"z3: {verdict} (budget)")
            break
        model = solver.model()
        cand = {i for i in range(n) if z3.is_true(model.eval(keep[i], model_completion=True))}
        candidates += 1
        got = try_set(cand)
        if got is None:
            if generalise == "subsets":
                grown, found = _grow(cand, n, needs, try_set, out_of_budget)
                if found is not None and len(found) < len(best):
                    best = sorted(found)
                    bound = len(best)
                cand = grown
            add_block(cand)
            continue
        if len(got) < len(best):
            best = sorted(got)
        if len(best) < bound:
            bound = len(best)
        else:  # the replay applied every proposed step: block this set and go on
            add_block(cand)
    log.append(f"z3: {candidates} candidates, {n_blocked} blocking clauses, "
               f"{'proven minimal' if proven else 'not proven (budget)'} at {len(best)} steps")
    return SearchResult(best, proven, replays, greedy_best, candidates, n_blocked,
                        time.monotonic() - start, log)


def switches(order: Sequence[int], lanes: Sequence[int]) -> int:
    """How many times consecutive steps of ``order`` are on different lanes."""
    return sum(1 for a, b in zip(order, order[1:], strict=False) if lanes[a] != lanes[b])


def order_fewest_switches(kept: Sequence[int], needs: Sequence[Sequence[int]],
                          lanes: Sequence[int], *, timeout_s: float = 10.0,
                          before: Sequence[Sequence[int]] | None = None) -> list[int]:
    """An order of ``kept`` with the fewest lane switches that keeps every lane's order
    and puts every need first (z3 ``Optimize``); the original order if z3 times out.

    ``before[j]``: steps that must come before ``j`` when both are kept (order only).
    """
    kept = sorted(kept)
    k = len(kept)
    if k < 3:
        return list(kept)
    index = {s: p for p, s in enumerate(kept)}
    pos = [z3.Int(f"p{s}") for s in kept]
    opt = z3.Optimize()
    opt.set("timeout", max(1, int(timeout_s * 1000)))
    opt.add(z3.Distinct(pos))
    for p in pos:
        opt.add(p >= 0, p < k)
    last: dict[int, int] = {}
    for s in kept:
        lane = lanes[s]
        if lane in last:
            opt.add(pos[index[last[lane]]] < pos[index[s]])
        last[lane] = s
        for i in list(needs[s]) + list(before[s] if before is not None else ()):
            if i in index:
                opt.add(pos[index[i]] < pos[index[s]])
    cost = []
    for a in kept:
        for b in kept:
            if a != b and lanes[a] != lanes[b]:
                cost.append(z3.If(pos[index[b]] == pos[index[a]] + 1, 1, 0))
    opt.minimize(z3.Sum(cost) if cost else z3.IntVal(0))
    if opt.check() != z3.sat:
        return list(kept)
    model = opt.model()
    order = sorted(kept, key=lambda s: model.eval(pos[index[s]]).as_long())
    return order if switches(order, lanes) <= switches(kept, lanes) else list(kept)
