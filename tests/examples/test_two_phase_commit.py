"""The two-phase commit example: TLC's counts, a sound symmetry, and a seeded bug."""

from __future__ import annotations

import pytest

from examples.two_phase_commit import State, TwoPhaseCommit
from modelcheck._explore_symmetry import check_symmetry
from modelcheck.errors import InvalidArgument
from modelcheck.explore import explore


@pytest.mark.parametrize(("rms", "distinct"), [(1, 12), (3, 288), (5, 8_832)])
def test_counts_without_symmetry(rms: int, distinct: int) -> None:
    r = explore(TwoPhaseCommit(rms))
    assert r.complete and r.violations == [] and r.distinct_states == distinct
    assert r.unsatisfied_sometimes == []


@pytest.mark.slow
def test_seven_rms_match_tlc() -> None:
    r = explore(TwoPhaseCommit(7), symmetry=False)
    assert r.distinct_states == 296_448 and r.violations == []


def test_symmetry_is_sound_and_reaches_every_orbit() -> None:
    m = TwoPhaseCommit(4)
    assert check_symmetry(m).sound
    full = explore(m, keep_keys=True)
    red = explore(m, symmetry=True, keep_keys=True)
    assert full.keys is not None and red.keys is not None
    orbits = {m.canonical(s) for s in full.keys}
    assert red.keys == orbits and red.distinct_states < full.distinct_states


def test_a_broken_tm_is_caught() -> None:
    class EagerTM(TwoPhaseCommit):
        """Commits once any RM is prepared (the bug)."""

        def next_state(self, s: State, action: tuple) -> State | None:
            if action[0] == "TMCommit" and s.tm == "init" and s.tm_prepared:
                return s._replace(tm="committed", msgs=s.msgs | {("Commit",)})
            return super().next_state(s, action)

    r = explore(EagerTM(3))
    [v] = r.violations
    assert v.property == "TCConsistent"
    assert [a[0] for a, _ in v.trace[1:]][-1] in ("RMRcvCommitMsg", "RMChooseToAbort")


def test_bad_size_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="rms"):
        TwoPhaseCommit(0)
