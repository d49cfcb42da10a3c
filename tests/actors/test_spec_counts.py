"""The spec explored exhaustively gives TLC's figures to the unit (tlc-results.md, part A)."""

from __future__ import annotations

import pytest

from actors.spec import SpecModel
from modelcheck.explore import ExploreResult, explore


def figures(r: ExploreResult) -> tuple[int, int, int]:
    return r.distinct_states, r.states_generated, r.depth


@pytest.fixture(scope="module")
def model() -> SpecModel:
    """One p2 a3 t2 l2 model for both searches (state ints are per model instance)."""
    return SpecModel(2, 3, 2, 2)


@pytest.fixture(scope="module")
def unreduced(model: SpecModel) -> ExploreResult:
    """p2 a3 t2 l2 without symmetry, keeping every stored state."""
    return explore(model, keep_keys=True)


@pytest.fixture(scope="module")
def reduced(model: SpecModel) -> ExploreResult:
    """p2 a3 t2 l2 with symmetry (TLC's first-generated rule)."""
    return explore(model, symmetry=True, keep_keys=True)


def test_p2_a3_t2_l2_without_symmetry_matches_tlc(unreduced: ExploreResult) -> None:
    assert unreduced.complete and unreduced.violations == []
    assert figures(unreduced) == (673_586, 9_795_811, 30)
    assert unreduced.states_left == 0


def test_p2_a3_t2_l2_with_symmetry_matches_tlc(reduced: ExploreResult) -> None:
    assert reduced.complete and reduced.violations == []
    assert figures(reduced) == (61_403, 893_167, 30)


def test_p2_a3_t3_l0_without_symmetry_matches_tlc() -> None:
    assert figures(explore(SpecModel(2, 3, 3, 0))) == (213_155, 2_573_615, 24)


@pytest.mark.slow
def test_p2_a3_t3_l1_with_symmetry_matches_tlc() -> None:
    assert figures(explore(SpecModel(2, 3, 3, 1), symmetry=True)) == (302_296, 3_999_810, 31)


def test_reduced_search_against_unreduced(
    model: SpecModel, unreduced: ExploreResult, reduced: ExploreResult
) -> None:
    """Every orbit the reduced search stores is reachable; the ones it misses are due to CHOOSE.

    The spec is not truly symmetric (see test_check_symmetry_finds_tied_donors),
    so TLC's rule reaches 61,403 of the 61,506 orbits of the reachable set; a
    sound symmetry reaches them all (tests/examples: two-phase commit).
    """
    assert unreduced.keys is not None and reduced.keys is not None
    orbits = {model.canonical(s) for s in unreduced.keys}
    assert len(orbits) == 61_506
    assert reduced.keys <= orbits  # nothing unreachable was stored
    assert len(orbits - reduced.keys) == 103


def test_correct_model_has_no_violation_with_any_strategy() -> None:
    r = explore(SpecModel(2, 3, 2, 1), symmetry=True, dfs=True)
    assert r.complete and r.violations == []
    bfs = explore(SpecModel(2, 3, 2, 1), symmetry=True)
    assert r.distinct_states > 0 and bfs.violations == []


def test_bad_quorum_breaks_election_safety_with_a_5_state_trace() -> None:
    m = SpecModel(2, 3, 2, 2, mutant="bad-quorum")
    r = explore(m, symmetry=True)
    assert not r.complete
    names = {v.property for v in r.violations}
    assert "ElectionSafetyFull" in names and "ElectionSafety" in names
    trace = next(v.trace for v in r.violations if v.property == "ElectionSafetyFull")
    assert [a[0] if a else None for a, _ in trace] == [
        None,
        "Vote",
        "Vote",
        "BecomeLeader",
        "BecomeLeader",
    ]
    # The trace is real: each step is a successor of the previous state.
    for (_, s), (action, t) in zip(trace, trace[1:], strict=False):
        assert m.next_state(s, action) == t
    assert "ElectionSafetyFull" in m.violations(trace[-1][1])
    assert r.depth == 5


def test_bad_quorum_is_also_found_without_symmetry_and_depth_first() -> None:
    m = SpecModel(2, 3, 2, 2, mutant="bad-quorum")
    assert len(explore(m).violations[0].trace) == 5
    deep = explore(m, dfs=True)
    assert deep.violations and len(deep.violations[0].trace) >= 5


def test_commit_previous_term_mutant_changes_the_space_but_needs_a_bigger_world() -> None:
    """Figure 8 needs p2 a3 t4 l4 (TLC, part B); at t2 l1 the mutant is still safe."""
    correct = explore(SpecModel(2, 3, 2, 1), symmetry=True)
    mutant = explore(SpecModel(2, 3, 2, 1, mutant="commit-previous-term"), symmetry=True)
    assert mutant.complete and mutant.violations == []
    # The weaker commit rule enables more CommitEntries steps (more successors generated), but
    # at this size they lead only to states the correct rule also reaches.
    assert mutant.states_generated > correct.states_generated
    assert mutant.distinct_states >= correct.distinct_states
