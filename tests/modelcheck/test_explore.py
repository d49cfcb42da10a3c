"""The generic explorer on small hand-written models: TLC's counting, traces, options."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from modelcheck.errors import InvalidArgument
from modelcheck.explore import explore, fingerprint, stable_encode


@dataclass(frozen=True)
class Prop:
    name: str
    kind: str
    check: object


class Counter:
    """x in 0..limit; actions: inc, dec, stay (self-loop), jump (+10, outside the boundary)."""

    def __init__(self, limit: int = 3, bad: int | None = None) -> None:
        self.limit, self.bad = limit, bad

    def init_states(self) -> list[int]:
        return [0]

    def actions(self, s: int) -> list[str]:
        return ["inc", "dec", "stay", "jump"]

    def next_state(self, s: int, a: str) -> int | None:
        if a == "inc":
            return s + 1
        if a == "dec":
            return s - 1 if s > 0 else None
        if a == "stay":
            return s
        return s + 10

    def within_boundary(self, s: int) -> bool:
        return s <= self.limit

    def properties(self) -> list[Prop]:
        props = [Prop("reaches-limit", "sometimes", lambda s: s == self.limit)]
        if self.bad is not None:
            props.append(Prop("below-bad", "always", lambda s: s < self.bad))
        props.append(Prop("never", "sometimes", lambda s: s < 0))
        return props


def test_counts_follow_tlc() -> None:
    r = explore(Counter(3))
    # States 0..3; generated: the initial state, then per state inc + stay + jump
    # (+ dec when x > 0), counting self-loops and out-of-boundary successors.
    assert r.distinct_states == 4
    assert r.states_generated == 1 + 4 * 3 + 3
    assert r.depth == 4 and r.complete and r.states_left == 0
    assert r.unsatisfied_sometimes == ["never"]


def test_bfs_gives_the_shortest_trace_and_dfs_some_trace() -> None:
    r = explore(Counter(5, bad=3))
    [v] = r.violations
    assert v.property == "below-bad"
    assert [a for a, _ in v.trace] == [None, "inc", "inc", "inc"]
    assert [s for _, s in v.trace] == [0, 1, 2, 3]
    d = explore(Counter(5, bad=3), dfs=True)
    assert d.violations and d.violations[0].trace[-1][1] == 3
    assert d.strategy == "dfs"


def test_keep_going_after_a_violation() -> None:
    r = explore(Counter(5, bad=3), stop_on_violation=False)
    assert r.complete and len(r.violations) == 3  # states 3, 4, 5


def test_max_depth_stops_with_states_left() -> None:
    r = explore(Counter(10), max_depth=3)
    # Levels {0}, {1, 10} (jump lands on the limit), {2, 9}: the last one is left.
    assert not r.complete and r.depth == 3 and r.states_left == 2 and r.distinct_states == 5


def test_tuple_states_and_fingerprint_keys() -> None:
    class Pairs(Counter):
        def init_states(self) -> list:
            return [(0, "a")]

        def next_state(self, s: tuple, a: str) -> tuple | None:
            n = Counter.next_state(self, s[0], a)
            return None if n is None else (n, "a")

        def within_boundary(self, s: tuple) -> bool:
            return s[0] <= self.limit

        def properties(self) -> list:
            return []

    exact = explore(Pairs(4))
    fps = explore(Pairs(4), fingerprints=True, keep_keys=True)
    assert exact.distinct_states == fps.distinct_states == 5
    assert fps.keys == {fingerprint((i, "a")) for i in range(5)}


def test_progress_line_and_interrupt() -> None:
    class Interrupting(Counter):
        def next_state(self, s: int, a: str) -> int | None:
            if s == 2:
                raise KeyboardInterrupt
            return Counter.next_state(self, s, a)

    r = explore(Interrupting(5))
    assert r.interrupted and not r.complete and r.distinct_states == 3
    out = io.StringIO()
    explore(Counter(3), progress=out, progress_interval_s=0.0)
    assert "distinct=" in out.getvalue() and "generated/s" in out.getvalue()


def test_bad_arguments_raise_the_package_error() -> None:
    with pytest.raises(InvalidArgument, match="workers"):
        explore(Counter(), workers=0)
    with pytest.raises(InvalidArgument, match="canonical"):
        explore(Counter(), symmetry=True)
    with pytest.raises(InvalidArgument, match="max_depth"):
        explore(Counter(), max_depth=0)

    class Dup(Counter):
        def properties(self) -> list:
            return [Prop("x", "always", bool), Prop("x", "always", bool)]

    with pytest.raises(InvalidArgument, match="duplicate"):
        explore(Dup())
    with pytest.raises(InvalidArgument, match="fingerprint"):
        stable_encode(object())


def test_stable_encoding_is_canonical_for_sets_and_dicts() -> None:
    assert stable_encode(frozenset({"b", "a"})) == stable_encode(frozenset({"a", "b"}))
    assert stable_encode({2: "x", 1: "y"}) == stable_encode({1: "y", 2: "x"})
    assert stable_encode((1, "1")) != stable_encode(("1", 1))
    assert stable_encode(True) != stable_encode(1)


_FP_SCRIPT = """
from actors.spec import SpecModel
from modelcheck.explore import explore, state_fingerprint, fingerprint
m = SpecModel(2, 3, 1, 1)
r = explore(m, keep_keys=True)
fps = sorted(state_fingerprint(m, s) for s in r.keys)
print(len(fps), fps[0], fps[-1], fingerprint(frozenset({'a', 'b', ('c', 1)})))
"""


def test_fingerprints_are_identical_across_hash_seeds() -> None:
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run(
            [sys.executable, "-c", _FP_SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        outs.append(done.stdout)
    assert outs[0] == outs[1] and int(outs[0].split()[0]) > 100
