"""spec_properties over SpecView: hand-made states, agreement with the spec model's own
invariants (actors._spec_rules) and a run through the explorer."""

from __future__ import annotations

import random

import pytest

from actors import _spec_rules as S
from actors.spec import SpecModel
from modelcheck.explore import explore
from properties import SPEC_REGISTRY, TLA_NAMES, SpecView, SpecViewError, spec_properties
from properties._spec_props import find_highest_common_point
from properties.core import Checker, Outcome
from properties.spec_view import SpecAcceptor, SpecProposer

TH0 = ((0, 1),)


def leader(term: int, th=TH0, wal=()) -> SpecProposer:
    return SpecProposer("leader", term, th, wal)


def campaign(term: int) -> SpecProposer:
    return SpecProposer("campaign", term, (), ())


def acc(term: int, th=TH0, wal=()) -> SpecAcceptor:
    return SpecAcceptor(term, th, wal)


def facts_of(name: str, v: SpecView) -> dict | None:
    found = Checker([SPEC_REGISTRY.get(name)]).step(v, 0)
    if not found:
        return None
    assert found[0].outcome is Outcome.SAFETY and found[0].property == name
    return dict(found[0].facts)


def test_names_match_the_implementation_properties() -> None:
    from properties import REGISTRY

    for name in set(TLA_NAMES.values()):
        assert name in SPEC_REGISTRY and name in REGISTRY
    assert "leader_elected" in REGISTRY and "leader_elected" in SPEC_REGISTRY
    assert "committed_not_truncated" not in [
        p.name for p in spec_properties(committed_not_truncated=False)
    ]


def test_election_safety_full_and_instant() -> None:
    ok = SpecView((leader(1), campaign(2)), (acc(1),) * 3, (), ((1, 1),))
    assert facts_of("election_safety", ok) is None
    twice = SpecView((leader(2), campaign(3)), (acc(2),) * 3, (), ((1, 1), (2, 2)))
    assert facts_of("election_safety", twice) == {"term": 2, "count": 2, "nodes": ("p1",)}
    two_now = SpecView((leader(2), leader(2)), (acc(2),) * 3, (), ((2, 1),))
    assert facts_of("election_safety", two_now) == {"term": 2, "nodes": ("p1", "p2")}


def test_log_monotonic() -> None:
    th = ((0, 1), (1, 1), (2, 2))
    ok = SpecView((leader(2, th, (1, 2)),), (acc(2, th, (1, 2, 2)), acc(1)))
    assert facts_of("log_monotonic", ok) is None
    bad = SpecView((leader(2, th, (1, 2)),), (acc(2, th, (1, 2)), acc(2, th, (2, 1))))
    assert facts_of("log_monotonic", bad) == {"lsn": 2, "term": 1, "terms": (2, 1),
                                              "nodes": ("a2",)}
    bad_th = SpecView((leader(2, ((0, 1), (2, 3), (1, 3))),), (acc(2),))
    assert facts_of("log_monotonic", bad_th) == {"lsn": 3, "term": 1, "terms": (2, 1),
                                                 "nodes": ("p1",)}


def test_log_safety() -> None:
    ok = SpecView((campaign(3),), (acc(3),), ((1, 1), (2, 2), (2, 3)))
    assert facts_of("log_safety", ok) is None
    bad = SpecView((campaign(3),), (acc(3),), ((1, 1), (1, 2), (2, 2)))
    assert facts_of("log_safety", bad) == {"lsn": 2, "term": 2, "terms": (1, 2), "nodes": ()}


def test_committed_not_truncated() -> None:
    # Leader of term 3 whose history left term 1 at lsn 2; a2 holds (1,1), (1,2) of term 1.
    p_th = ((0, 1), (1, 1), (3, 2))
    a_th = ((0, 1), (1, 1))
    safe = SpecView((leader(3, p_th, (1, 3)),), (acc(3, p_th, (1, 3)), acc(3, a_th, (1, 1))),
                    ((1, 1),))
    assert facts_of("committed_not_truncated", safe) is None
    bad = SpecView(safe.proposers, safe.acceptors, ((1, 1), (1, 2)))
    assert facts_of("committed_not_truncated", bad) == {
        "lsn": 2, "term": 1, "leader_term": 3, "nodes": ("p1", "a2")}
    # An acceptor in another term is not truncated by this leader.
    other = SpecView(safe.proposers, (acc(3, p_th, (1, 3)), acc(2, a_th, (1, 1))),
                     ((1, 1), (1, 2)))
    assert facts_of("committed_not_truncated", other) is None


def test_find_highest_common_point_vectors() -> None:
    # The vectors of PROTOCOL.md section 3.5 (shifted into spec terms).
    prop = ((1, 10), (2, 20), (4, 40))
    assert find_highest_common_point(prop, ((1, 10), (2, 20), (3, 30)), 40) == (2, 30)
    assert find_highest_common_point(prop, ((1, 10), (2, 20)), 32) == (2, 32)
    assert find_highest_common_point(((1, 10), (2, 20)), ((1, 10), (2, 20)), 32) == (2, 32)
    assert find_highest_common_point(((0, 1),), ((1, 1), (2, 2)), 3) is None


def test_from_tuples_reads_the_spec_layout_and_rejects_others() -> None:
    props = (S.init_proposer(1, 3), (1, 2, (None,) * 3, ((0, 1), (2, 1)), (2,), (1, 1, None)))
    v = SpecView.from_tuples(props, (S.INIT_ACCEPTOR,) * 3, [(2, 1)], [(2, 1)])
    assert v.proposers == (campaign(1), leader(2, ((0, 1), (2, 1)), (2,)))
    assert v.acceptors == (acc(0),) * 3 and v.committed == ((2, 1),)
    with pytest.raises(SpecViewError, match="expected proposers as"):
        SpecView.from_tuples([(1, 2)], [])


def _random_th(rng: random.Random, max_lsn: int) -> tuple:
    th, lsn = [(0, 1)], 1
    for term in (1, 2, 3):
        if rng.random() < 0.5:
            lsn = rng.randint(lsn, max_lsn)
            th.append((term, lsn))
    return tuple(th)


def _random_state(rng: random.Random) -> tuple:
    """A random (not necessarily reachable) state in the spec model's tuple layout."""
    def wal() -> tuple:
        return tuple(rng.randint(1, 3) for _ in range(rng.randint(0, 3)))

    accs = tuple((rng.randint(0, 3), _random_th(rng, 4), wal()) for _ in range(3))
    props = tuple(
        (rng.randint(0, 1), rng.randint(1, 3), (None,) * 3, _random_th(rng, 4), wal(),
         (None,) * 3)
        for _ in range(2)
    )
    committed = tuple(sorted({(rng.randint(1, 3), rng.randint(1, 3))
                              for _ in range(rng.randint(0, 3))}))
    elected = tuple(sorted({t: rng.randint(1, 2) for t in rng.sample((1, 2, 3), 2)}.items()))
    return props, accs, committed, elected


def test_agrees_with_the_spec_models_own_invariants_on_random_states() -> None:
    rng = random.Random(20240607)
    outcomes: dict[str, set[bool]] = {}
    for _ in range(3000):
        props, accs, committed, elected = _random_state(rng)
        expected = {
            "election_safety": S.election_safety(props) and S.election_safety_full(elected),
            "log_monotonic": all(S.log_is_monotonic(a) for a in accs),
            "log_safety": S.log_safety(committed),
            "committed_not_truncated": S.committed_not_truncated(props, accs, committed),
        }
        v = SpecView.from_tuples(props, accs, committed, elected)
        for name, want in expected.items():
            got = SPEC_REGISTRY.get(name).evaluate(v) is None
            assert got == want, (name, props, accs, committed, elected)
            outcomes.setdefault(name, set()).add(got)
    # Each property was seen both holding and broken.
    assert all(seen == {True, False} for seen in outcomes.values()), outcomes


class _SpecWithLibraryProperties:
    """The spec model, judged by this library's properties instead of its own."""

    def __init__(self, model: SpecModel) -> None:
        self.model = model
        self.name = model.name
        self.init_states = model.init_states
        self.expand = model.expand
        self.expand_labeled = model.expand_labeled

    def properties(self) -> list:
        decode = self.model.decode
        return [p.over(lambda s: SpecView.from_tuples(*decode(s))) for p in spec_properties()]


def test_explorer_checks_the_spec_with_these_properties() -> None:
    reference = explore(SpecModel(2, 3, 1, 2))
    result = explore(_SpecWithLibraryProperties(SpecModel(2, 3, 1, 2)))
    assert result.complete and result.violations == []
    assert result.distinct_states == reference.distinct_states == 2336
    assert result.unsatisfied_sometimes == []
