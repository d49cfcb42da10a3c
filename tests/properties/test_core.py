"""properties.core: declaring, registering and checking properties; outcomes."""

from __future__ import annotations

import doctest
import importlib
import types

import pytest

import properties
from properties.core import (
    Checker,
    DuplicateProperty,
    Failure,
    InvalidArgument,
    Outcome,
    PropertyError,
    Registry,
    UnknownProperty,
    always,
    eventually,
    fail,
    sometimes,
)


def at_most(n: int):
    def pred(v: int) -> bool | Failure:
        return True if v <= n else fail(f"{v} > {n}", value=v, limit=n)

    return pred


def test_duplicate_name_is_an_error() -> None:
    r = Registry([always("x", at_most(1))])
    with pytest.raises(DuplicateProperty, match="'x' is already registered"):
        r.add(sometimes("x", at_most(2)))
    with pytest.raises(DuplicateProperty):
        Registry([always("y", at_most(1)), always("y", at_most(2))])
    assert isinstance(DuplicateProperty("m"), (PropertyError, ValueError))
    assert r.names() == ["x"] and len(r) == 1


def test_unknown_name_lists_the_available_ones() -> None:
    r = Registry([always("b", at_most(1)), sometimes("a", at_most(0))])
    with pytest.raises(UnknownProperty) as info:
        r.get("c")
    assert str(info.value) == "unknown property 'c'; available: b, a"
    with pytest.raises(UnknownProperty, match="available: b, a"):
        r.select(["b", "nope"])
    assert [p.name for p in r.select(["a"])] == ["a"]
    assert [p.name for p in r.select(None)] == ["b", "a"]
    with pytest.raises(UnknownProperty, match=r"available: \(none\)"):
        Registry().get("z")


def test_always_violation_names_step_time_and_facts_and_fails_once() -> None:
    c = Checker([always("small", at_most(3))])
    assert c.step(2, time_ms=10) == []
    [v] = c.step(5, time_ms=20)
    assert (v.property, v.outcome, v.step, v.time_ms) == ("small", Outcome.SAFETY, 2, 20)
    assert v.message == "5 > 3" and dict(v.facts) == {"value": 5, "limit": 3}
    assert v.describe() \
        == "safety violation of small at step 2 (t=20 ms): 5 > 3 [value=5 limit=3]"
    assert v.to_dict()["facts"] == {"value": 5, "limit": 3}
    assert c.step(6, time_ms=30) == []  # reported once
    assert c.outcome is Outcome.SAFETY


def test_a_plain_false_predicate_gets_a_default_message() -> None:
    [v] = Checker([always("never", lambda v: False)]).step(0, 0)
    assert v.message == "never does not hold" and v.facts == ()


def test_sometimes_never_reached_is_weak_coverage_not_a_failure() -> None:
    c = Checker([sometimes("big", lambda v: v > 100), sometimes("odd", lambda v: v % 2 == 1)])
    for i, x in enumerate([2, 4, 7, 8]):
        assert c.step(x, time_ms=i) == []
    assert c.weak_coverage() == ["big"]
    assert c.reached["odd"] == 3
    assert c.outcome is Outcome.OK


def test_eventually_is_ignored_before_the_liveness_phase() -> None:
    c = Checker([eventually("done", lambda v: v == 1, within_ms=100)])
    assert c.step(0, time_ms=5000) == []
    assert c.finish(0, time_ms=6000) == []  # no liveness phase was started
    assert c.outcome is Outcome.OK


def test_eventually_past_its_deadline_is_a_liveness_failure() -> None:
    c = Checker([eventually("done", at_most(0), within_ms=100)])
    c.start_liveness(1000)
    assert c.step(3, time_ms=1050) == []
    assert c.step(3, time_ms=1100) == []  # exactly at the deadline: still allowed
    [v] = c.step(3, time_ms=1101)
    assert v.outcome is Outcome.LIVENESS and v.property == "done"
    assert "not true within 100 ms of the liveness phase (started t=1000)" in v.message
    assert dict(v.facts) == {"value": 3, "limit": 0}
    assert c.outcome is Outcome.LIVENESS and Outcome.LIVENESS == 3


def test_eventually_still_false_at_finish_fails_and_reached_in_time_passes() -> None:
    c = Checker([eventually("done", at_most(0), within_ms=100)])
    c.start_liveness(0)
    [v] = c.finish(7, time_ms=50)
    assert v.outcome is Outcome.LIVENESS
    ok = Checker([eventually("done", at_most(0), within_ms=100)])
    ok.start_liveness(0)
    ok.step(5, time_ms=10)
    ok.step(0, time_ms=90)
    assert ok.step(5, time_ms=500) == [] and ok.finish(5, time_ms=600) == []
    assert ok.outcome is Outcome.OK


def test_eventually_rejects_a_non_positive_deadline() -> None:
    with pytest.raises(InvalidArgument, match="within_ms=0"):
        eventually("x", at_most(0), within_ms=0)
    with pytest.raises(ValueError, match="within_ms=-5"):
        eventually("x", at_most(0), within_ms=-5)


def test_crash_outcome() -> None:
    c = Checker([always("small", at_most(3))])
    v = c.crash("safekeeper 2 on_message", ZeroDivisionError("division by zero"), time_ms=42)
    assert v.outcome is Outcome.CRASH and v.time_ms == 42
    assert v.message == "safekeeper 2 on_message: ZeroDivisionError: division by zero"
    assert c.outcome is Outcome.CRASH and int(Outcome.CRASH) == 4


def test_outcome_precedence_crash_then_safety_then_liveness() -> None:
    c = Checker([always("small", at_most(3)), eventually("zero", at_most(0), within_ms=1)])
    assert c.outcome is Outcome.OK
    c.start_liveness(0)
    c.step(1, time_ms=5)
    assert c.outcome is Outcome.LIVENESS
    c.step(9, time_ms=6)
    assert c.outcome is Outcome.SAFETY
    c.crash("x", RuntimeError("boom"), time_ms=7)
    assert c.outcome is Outcome.CRASH
    assert [int(o) for o in Outcome] == [0, 1, 2, 3, 4]
    assert [o.name for o in Outcome] == ["OK", "SAFETY", "USAGE", "LIVENESS", "CRASH"]


def test_property_over_another_state_keeps_name_kind_and_deadline() -> None:
    p = eventually("short", at_most(2), within_ms=7).over(len)
    assert (p.name, p.kind, p.within_ms) == ("short", "eventually", 7)
    assert p.evaluate("ab") is None
    assert p.evaluate("abc") == fail("3 > 2", value=3, limit=2)


def test_package_all_is_exactly_its_public_names() -> None:
    public = {
        n for n, v in vars(properties).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert set(properties.__all__) == public
    assert len(properties.__all__) == len(set(properties.__all__))


@pytest.mark.parametrize(
    "module",
    ["properties.core", "properties._format", "properties.consensus", "properties._spec_props",
     "properties.spec_view"],
)
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
