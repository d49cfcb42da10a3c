"""The spec model's semantics, action by action, and its fast paths against the slow ones."""

from __future__ import annotations

import pytest

from actors import _spec_rules as R
from actors.spec import MUTANTS, SpecConfig, SpecModel
from modelcheck.errors import InvalidArgument
from modelcheck.explore import explore

TH0 = ((0, 1),)


def acc(term: int, th: tuple = TH0, wal: tuple = ()) -> tuple:
    return (term, th, wal)


def test_init_state_matches_the_tla_init() -> None:
    m = SpecModel(2, 3, 2, 2)
    [s] = m.init_states()
    props, accs, committed, elected = m.decode(s)
    assert props == ((0, 1, (None,) * 3, (), (), (None,) * 3),) * 2
    assert accs == (acc(0),) * 3
    assert committed == () and elected == ()


def test_quorums_are_enumerated_by_size_then_lexicographically() -> None:
    cfg = SpecConfig(acceptors=3)
    assert cfg.quorums() == ((0, 1), (0, 2), (1, 2), (0, 1, 2))
    assert cfg.min_quorums() == ((0, 1), (0, 2), (1, 2))
    bad = SpecConfig(acceptors=3, mutant="bad-quorum")
    assert bad.quorum_size == 1
    assert bad.quorums()[0] == (0,) and len(bad.quorums()) == 7


def test_vote_requires_campaign_and_a_lower_acceptor_term() -> None:
    prop = R.init_proposer(2, 3)
    new_prop, new_acc = R.vote(prop, acc(1, ((0, 1), (1, 1)), (1,)), 1)
    assert new_acc[0] == 2
    # The vote carries the term history cut to FlushLsn and the FlushLsn.
    assert new_prop[2][1] == (((0, 1), (1, 1)), 2)
    assert R.vote(prop, acc(2), 0) is None
    leader = (1, *prop[1:])
    assert R.vote(leader, acc(0), 0) is None


def test_acceptor_term_history_drops_entries_beyond_flush_lsn() -> None:
    a = acc(3, ((0, 1), (1, 1), (2, 3)), (1,))
    assert R.acceptor_term_history(a) == ((0, 1), (1, 1))


def test_donor_choose_takes_the_first_acceptor_among_ties() -> None:
    v = (TH0, 1)
    assert R.max_vote_acceptor((None, v, v)) == 1
    higher = (((0, 1), (1, 1)), 1)
    assert R.max_vote_acceptor((v, v, higher)) == 2
    longer = (TH0, 3)
    assert R.max_vote_acceptor((longer, higher, None)) == 1  # term beats length


def test_become_leader_needs_the_donor_still_in_the_proposers_term() -> None:
    v = (TH0, 1)
    prop = (0, 1, (v, v, None), (), (), (None,) * 3)
    # a1 (the CHOOSEn donor) moved to term 2: disabled, even though a2 would do.
    assert R.become_leader(prop, (acc(2), acc(1), acc(0)), 2) is None
    leader = R.become_leader(prop, (acc(1, TH0, ()), acc(1), acc(0)), 2)
    assert leader is not None
    assert leader[0] == 1 and leader[3] == ((0, 1), (1, 1))
    assert R.become_leader((0, 1, (v, None, None), (), (), (None,) * 3), (acc(1),) * 3, 2) is None


def test_find_highest_common_point_cases() -> None:
    # Same history: the common term ends at the acceptor's flush LSN.
    assert R.find_highest_common_point(((0, 1), (1, 1)), ((0, 1), (1, 1)), 3) == (1, 3)
    # Acceptor diverged in term 2 from LSN 2; proposer's term 3 started at 2.
    prop_th = ((0, 1), (1, 1), (3, 2))
    acc_th = ((0, 1), (1, 1), (2, 2))
    assert R.find_highest_common_point(prop_th, acc_th, 4) == (1, 2)
    # Only the <<0, 1>> entry is common.
    assert R.find_highest_common_point(((0, 1), (2, 1)), ((0, 1), (1, 1)), 3) == (0, 1)


def test_truncate_wal_sets_history_cuts_wal_and_next_send_lsn() -> None:
    prop = (1, 3, (None,) * 3, ((0, 1), (1, 1), (3, 2)), (1,), (None,) * 3)
    new_prop, new_acc = R.truncate_wal(prop, acc(3, ((0, 1), (1, 1), (2, 2)), (1, 2, 2)), 0)
    assert new_acc == (3, prop[3], (1,))
    assert new_prop[5] == (2, None, None)
    assert R.truncated_records(prop, acc(3, ((0, 1), (1, 1), (2, 2)), (1, 2, 2))) == (
        (2, 2),
        (2, 3),
    )


def test_append_entry_and_commit_rule() -> None:
    th = ((0, 1), (2, 1))
    prop = (1, 2, (None,) * 3, th, (2, 2), (1, 1, None))
    new_prop, new_acc = R.append_entry(prop, acc(2, th, ()), 0)
    assert new_acc[2] == (2,) and new_prop[5][0] == 2
    accs = (acc(2, th, (2,)), acc(2, th, (2, 2)), acc(0))
    p2 = (*prop[:5], (2, 3, None))
    assert R.quorum_commit_lsn(p2, accs, (0, 1), None) == 2
    assert R.quorum_commit_lsn(p2, accs, (0, 2), None) is None  # a3 not in term
    assert R.commit_records(p2, 2) == ((2, 1),)


def test_commit_previous_term_mutant_drops_the_prop_start_lsn_rule() -> None:
    th = ((0, 1), (1, 1), (2, 3))  # term 2 started at LSN 3
    prop = (1, 2, (None,) * 3, th, (1, 1), (1, 1, None))
    accs = (acc(2, th, (1,)), acc(2, th, (1,)), acc(0))
    assert R.quorum_commit_lsn(prop, accs, (0, 1), None) is None
    assert R.quorum_commit_lsn(prop, accs, (0, 1), "commit-previous-term") == 2


def test_invariant_predicates() -> None:
    assert R.log_safety(((1, 1), (1, 2)))
    assert not R.log_safety(((1, 1), (2, 1)))
    assert R.election_safety_full(((1, 1), (2, 1)))
    assert not R.election_safety_full(((1, 2),))
    assert R.log_is_monotonic(acc(2, TH0, (1, 1, 2)))
    assert not R.log_is_monotonic(acc(2, TH0, (2, 1)))
    leader = (1, 2, (None,) * 3, TH0, (), (None,) * 3)
    assert not R.election_safety((leader, leader))
    assert R.acceptor_type_ok(acc(0)) and not R.acceptor_type_ok((-1, TH0, ()))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"proposers": 0},
        {"acceptors": "3"},
        {"max_term": -1},
        {"mutant": "no-such-bug"},
    ],
)
def test_bad_config_is_rejected_with_the_field_name(kwargs: dict) -> None:
    with pytest.raises(InvalidArgument, match=next(iter(kwargs))):
        SpecModel(**kwargs)


def test_mutant_table_names() -> None:
    assert set(MUTANTS) == {"bad-quorum", "commit-previous-term"}


def _reachable(m: SpecModel) -> list[int]:
    r = explore(m, keep_keys=True)
    assert r.complete and r.keys is not None
    return sorted(r.keys)


@pytest.mark.parametrize("mutant", [None, "bad-quorum", "commit-previous-term"])
def test_fast_expand_equals_generic_actions_and_next_state(mutant: str | None) -> None:
    m = SpecModel(2, 3, 2, 1, mutant)
    states = _reachable(m)[::150] if mutant is None else m.init_states()
    if mutant is not None:  # a bounded BFS prefix is enough for the mutants
        frontier = list(states)
        for _ in range(8):
            frontier = sorted({t for s in frontier for t in m.expand(s)[1]})[:300]
            states += frontier
    for s in states:
        gen, succs = m.expand(s)
        generic_gen, generic = 0, []
        for action in m.actions(s):
            t = m.next_state(s, action)
            if t is None:
                continue
            generic_gen += 1
            if t != s and m.within_boundary(t):
                generic.append(t)
        # Repeats (one restart term reached by several quorums) may be dropped.
        assert gen == generic_gen
        assert list(dict.fromkeys(succs)) == list(dict.fromkeys(generic))
        reference = m.expand_reference(s)  # the loops the generated code unrolls
        assert reference[0] == gen and reference[1] == generic
        assert m.violations(s) == m.violations_reference(s)
        assert [t for _, t in m.expand_labeled(s)] == generic


def test_canonical_is_orbit_invariant_and_matches_the_general_version() -> None:
    m = SpecModel(2, 3, 2, 1)
    group = list(m.symmetries())
    assert len(group) == 12
    for s in _reachable(m)[::50]:
        k = m.canonical(s)
        assert k == m._canonical_any(s)
        for g in group:
            assert m.canonical(m.permute(s, g)) == k


def test_three_proposers_use_the_general_canonical_key() -> None:
    m = SpecModel(3, 3, 1, 0)
    [s] = m.init_states()
    t = m.expand(s)[1][0]
    assert all(m.canonical(m.permute(t, g)) == m.canonical(t) for g in m.symmetries())
