"""properties.consensus over hand-made ConsensusViews: each property holds and is broken,
and the violation report names the offending LSN, term and nodes."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from properties import REGISTRY, consensus_properties, format_lsn, wal_digest
from properties._format import first_difference
from properties.core import Checker, InvalidArgument, Outcome, Violation
from properties.view import (
    AcceptorView,
    Commit,
    ConsensusView,
    Election,
    History,
    ProposerView,
    Truncation,
    Vote,
)

BASE = 0x16B3D78  # "0/16B3D78"
WAL = bytes((i * 7 + 3) % 251 for i in range(64))


def L(off: int) -> int:
    return BASE + off


def F(off: int) -> str:
    return format_lsn(BASE + off)


def reader(data: bytes, start: int = BASE):
    def read(s: int, e: int) -> bytes:
        assert start <= s <= e <= start + len(data), (s, e)
        return data[s - start : e - start]

    return read


def acc(node: int, data: bytes = WAL[:32], *, term: int = 2, commit: int | None = None,
        trunc: int = BASE, th=((2, BASE),), up: bool = True, log_terms=(),
        local_start: int = 0, start: int = BASE) -> AcceptorView:
    flush = start + len(data)
    return AcceptorView(node, up, term, th, flush, flush if commit is None else commit, trunc,
                        BASE, local_start, reader(data, start), log_terms)


def prop(node: int, *, term: int = 2, state: str = "elected", commit: int = BASE,
         th=((2, BASE),), up: bool = True) -> ProposerView:
    return ProposerView(node, up, False, state, term, BASE, commit, BASE, L(32), th)


def commit(lsn_off: int, *, base_off: int = 0, term: int = 2, proposer: int = 10,
           step: int = 5, data: bytes = WAL, keep_data: bool = True) -> Commit:
    chunk = data[base_off:lsn_off]
    return Commit(step, step * 10, term, proposer, L(lsn_off), L(base_off), wal_digest(chunk),
                  chunk if keep_data else None)


def view(acceptors=(), proposers=(), *, step: int = 5, quorum: int = 2,
         **history) -> ConsensusView:
    return ConsensusView(step, step * 10, quorum, tuple(acceptors), tuple(proposers),
                         History(**history))


def check(name: str, v: ConsensusView) -> Violation | None:
    found = Checker([REGISTRY.get(name)]).step(v, v.time_ms)
    assert len(found) <= 1
    return found[0] if found else None


def violation(name: str, v: ConsensusView) -> tuple[Violation, dict]:
    found = check(name, v)
    assert found is not None, f"{name} should be violated"
    assert found.property == name and found.outcome is Outcome.SAFETY
    assert found.step == 1 and found.time_ms == v.time_ms
    return found, dict(found.facts)


THREE = (acc(1), acc(2), acc(3))


# ------------------------------------------------------------------------- helpers


def test_format_lsn_and_digest() -> None:
    assert format_lsn(BASE) == "0/16B3D78"
    assert format_lsn((0xAB << 32) | 0xC) == "AB/C"
    assert wal_digest(WAL) == hashlib.blake2b(WAL, digest_size=16).hexdigest()
    assert first_difference(b"abcdef", b"abcdxf") == 4
    assert first_difference(b"same", b"same") == 4
    assert first_difference(b"", b"x") == 0


def test_registry_names_kinds_and_deadline() -> None:
    assert REGISTRY.names() == [
        "election_safety", "log_safety", "commit_lsn_monotonic", "log_monotonic",
        "acceptor_term_monotonic", "lsn_order", "committed_not_truncated", "commit_progress",
        "leader_elected", "wal_truncated", "commit_after_proposer_restart",
    ]
    kinds = {p.name: p.kind for p in REGISTRY}
    assert kinds["commit_progress"] == "eventually" and kinds["leader_elected"] == "sometimes"
    assert all(p.doc for p in REGISTRY)
    assert REGISTRY.get("commit_progress").within_ms == 10_000
    short = {p.name: p for p in consensus_properties(liveness_within_ms=250)}
    assert short["commit_progress"].within_ms == 250
    with pytest.raises(InvalidArgument, match="within_ms=0"):
        consensus_properties(liveness_within_ms=0)


def test_all_safety_properties_hold_on_a_healthy_view() -> None:
    v = view(THREE, [prop(10, commit=L(32))],
             elections=(Election(1, 10, 2, 10, BASE),),
             votes=(Vote(1, 10, 2, 1, 10), Vote(1, 10, 2, 2, 10)),
             commits=(commit(16, step=4), commit(32, base_off=16)),
             max_acceptor_commit=((1, L(32)),), max_acceptor_term=((1, 2),),
             last_written_lsn=L(32))
    c = Checker(consensus_properties())
    assert c.step(v, 50) == []
    c.start_liveness(50)
    assert c.step(v, 60) == [] and c.finish(v, 70) == []
    assert c.outcome is Outcome.OK


# ------------------------------------------------------------------------- election_safety


def test_election_safety_holds_for_distinct_terms() -> None:
    v = view(THREE, [prop(10, term=1, state="exited"), prop(11, term=2)],
             elections=(Election(1, 10, 1, 10, BASE), Election(3, 30, 2, 11, BASE)))
    assert check("election_safety", v) is None


def test_election_safety_term_elected_twice_over_history() -> None:
    # The first leader has long crashed: only the history remembers it.
    v = view(THREE, [prop(10, term=3, up=False), prop(11, term=3)],
             elections=(Election(1, 10, 3, 10, BASE), Election(4, 40, 3, 11, L(8))))
    found, facts = violation("election_safety", v)
    assert facts["term"] == 3 and facts["nodes"] == (10, 11) and facts["steps"] == (1, 4)
    assert facts["lsn"] == F(8)
    assert "term 3 elected twice" in found.message


def test_election_safety_two_leaders_now() -> None:
    v = view(THREE, [prop(10, term=4), prop(11, term=4), prop(12, term=4, up=False)])
    found, facts = violation("election_safety", v)
    assert facts == {"term": 4, "nodes": (10, 11)}
    # A leader that is down is not a second leader at this instant.
    assert check("election_safety", view(THREE, [prop(10, term=4), prop(12, term=4, up=False)])) \
        is None


# ------------------------------------------------------------------------- log_safety


def test_log_safety_holds_with_a_quorum_even_if_one_acceptor_differs() -> None:
    other = bytes(32)
    v = view([acc(1), acc(2), acc(3, other)], commits=(commit(32),))
    assert check("log_safety", v) is None
    # The digest-only path (commit recorded without its bytes) agrees.
    v = view([acc(1), acc(2), acc(3, other)], commits=(commit(32, keep_data=False),))
    assert check("log_safety", v) is None


def test_log_safety_commit_not_on_a_quorum() -> None:
    flipped = bytearray(WAL[:32])
    flipped[20] ^= 0xFF
    v = view([acc(1), acc(2, bytes(flipped)), acc(3, WAL[:16])], commits=(commit(32),))
    found, facts = violation("log_safety", v)
    assert facts["lsn"] == F(32) and facts["term"] == 2 and facts["proposer"] == 10
    assert facts["nodes"] == (1,) and facts["quorum"] == 2
    # Where each other acceptor fails: 2 differs at offset 20, 3 ends at offset 16.
    assert facts["lacking"] == (f"2@{F(20)}", f"3@{F(16)}")
    assert "only 1 acceptor(s) hold [0/16B3D78, 0/16B3D98)" in found.message


def test_log_safety_is_judged_at_the_step_of_the_commit_only() -> None:
    # Committed at step 3 on a quorum; acceptors changed since: not re-judged now.
    v = view([acc(1, bytes(32)), acc(2, bytes(32)), acc(3, bytes(32))],
             commits=(commit(32, step=3),))
    assert check("log_safety", v) is None


def test_log_safety_counts_acceptors_that_hold_the_range_from_their_local_start() -> None:
    late = acc(3, WAL[8:32], start=L(8), local_start=L(8))
    v = view([acc(1), acc(2, bytes(32)), late], commits=(commit(32),))
    assert check("log_safety", v) is None
    # Without the bytes in the record, a partial range cannot be compared.
    v = view([acc(1), acc(2, bytes(32)), late], commits=(commit(32, keep_data=False),))
    assert violation("log_safety", v)[1]["nodes"] == (1,)


def test_log_safety_two_commits_disagree_where_they_overlap() -> None:
    new = bytearray(WAL)
    new[24] ^= 1
    new = bytes(new)
    c_old = commit(32, step=3, term=2, proposer=10)
    c_new = commit(40, base_off=16, term=3, proposer=11, data=new)
    accs = [acc(n, new[:40]) for n in (1, 2, 3)]
    found, facts = violation("log_safety", view(accs, commits=(c_old, c_new)))
    assert facts["lsn"] == F(24) and facts["terms"] == (2, 3) and facts["term"] == 3
    assert facts["nodes"] == (10, 11) and facts["steps"] == (3, 5)
    assert "two different records committed at 0/16B3D90" in found.message
    # The same bytes committed again by a later term agree.
    same = commit(40, base_off=16, term=3, proposer=11)
    assert check("log_safety", view([acc(n, WAL[:40]) for n in (1, 2, 3)],
                                    commits=(c_old, same))) is None


def test_log_safety_same_range_different_digest_without_data() -> None:
    c_old = commit(16, step=3, keep_data=False)
    c_new = replace(commit(16, term=3, proposer=11, data=bytes(16), keep_data=False))
    accs = [acc(n, bytes(16)) for n in (1, 2, 3)]
    _, facts = violation("log_safety", view(accs, commits=(c_old, c_new)))
    assert facts["lsn"] == F(0) and facts["nodes"] == (10, 11)


def test_log_safety_reports_an_inconsistent_commit_record() -> None:
    bad = replace(commit(32), digest=wal_digest(b"other"))
    found, facts = violation("log_safety", view(THREE, commits=(bad,)))
    assert "observer error" in found.message and facts["lsn"] == F(32)


# ------------------------------------------------------------------------- commit_lsn_monotonic


def test_commit_lsn_monotonic_holds() -> None:
    v = view(THREE, [prop(11, term=3, commit=L(48))],
             commits=(commit(16, step=1), commit(32, step=2), commit(48, term=3, proposer=11)),
             elections=(Election(1, 10, 2, 10, BASE), Election(3, 30, 3, 11, L(32))),
             max_acceptor_commit=((1, L(32)), (2, L(32)), (3, L(32))))
    assert check("commit_lsn_monotonic", v) is None


def test_commit_lsn_monotonic_late_lower_term_commit_is_not_a_regression() -> None:
    # The old leader learns of acknowledgements sent before the acceptors voted for term 3.
    v = view(THREE, commits=(commit(48, step=4, term=3, proposer=11),
                             commit(40, step=5, term=2, proposer=10)))
    assert check("commit_lsn_monotonic", v) is None


def test_commit_lsn_monotonic_proposer_goes_back_within_a_term() -> None:
    v = view(THREE, commits=(commit(32, step=4), commit(16, step=5)))
    found, facts = violation("commit_lsn_monotonic", v)
    assert facts["lsn"] == F(16) and facts["previous"] == F(32)
    assert facts["term"] == 2 and facts["nodes"] == (10,)


def test_commit_lsn_monotonic_proposer_view_below_its_recorded_commit() -> None:
    v = view(THREE, [prop(10, commit=L(8))], commits=(commit(32, step=4),))
    _, facts = violation("commit_lsn_monotonic", v)
    assert facts["lsn"] == F(8) and facts["term"] == 2 and facts["nodes"] == (10,)
    # A crashed proposer's zeroed state is not a regression.
    v = view(THREE, [prop(10, commit=0, up=False)], commits=(commit(32, step=4),))
    assert check("commit_lsn_monotonic", v) is None


def test_commit_lsn_monotonic_higher_term_commits_below_a_lower_term() -> None:
    v = view(THREE, commits=(commit(32, step=2), commit(16, term=3, proposer=11)))
    found, facts = violation("commit_lsn_monotonic", v)
    assert facts["lsn"] == F(16) and facts["previous"] == F(32)
    assert facts["terms"] == (2, 3) and facts["nodes"] == (10, 11)


def test_commit_lsn_monotonic_leader_starts_below_the_committed_prefix() -> None:
    v = view(THREE, commits=(commit(32, step=2),),
             elections=(Election(1, 10, 2, 10, BASE), Election(5, 50, 3, 11, L(16))))
    found, facts = violation("commit_lsn_monotonic", v)
    assert facts["lsn"] == F(16) and facts["previous"] == F(32)
    assert facts["term"] == 3 and facts["nodes"] == (10, 11)
    assert "elected in term 3 starting at 0/16B3D88" in found.message


def test_commit_lsn_monotonic_acceptor_persisted_commit_goes_back_across_a_crash() -> None:
    v = view([acc(1), acc(2, commit=L(16)), acc(3)],
             max_acceptor_commit=((1, L(32)), (2, L(24))))
    _, facts = violation("commit_lsn_monotonic", v)
    assert facts["lsn"] == F(16) and facts["previous"] == F(24) and facts["nodes"] == (2,)
    assert facts["term"] == 2


# ------------------------------------------------------------------------- log_monotonic

GOOD_TH = ((1, BASE), (2, L(16)))
GOOD_LOG = ((1, BASE, L(16)), (2, L(16), L(32)))


def test_log_monotonic_holds() -> None:
    v = view([acc(1, th=GOOD_TH, log_terms=GOOD_LOG), acc(2, th=((1, BASE), (2, BASE)))],
             [prop(10, th=GOOD_TH)])
    assert check("log_monotonic", v) is None


def test_log_monotonic_record_terms_decrease_along_the_log() -> None:
    bad_log = ((2, BASE, L(16)), (1, L(16), L(32)))
    found, facts = violation("log_monotonic", view([acc(1), acc(3, log_terms=bad_log)]))
    assert facts["lsn"] == F(16) and facts["term"] == 1 and facts["terms"] == (2, 1)
    assert facts["nodes"] == (3,)
    assert "term decreases along the log at 0/16B3D88" in found.message


def test_log_monotonic_overlapping_log_segments() -> None:
    bad_log = ((1, BASE, L(16)), (2, L(8), L(32)))
    _, facts = violation("log_monotonic", view([acc(2, log_terms=bad_log)]))
    assert facts["lsn"] == F(8) and facts["nodes"] == (2,)


def test_log_monotonic_term_history_terms_must_strictly_increase() -> None:
    th = ((2, BASE), (2, L(16)))
    found, facts = violation("log_monotonic", view([acc(1), acc(2, th=th)]))
    assert facts["term"] == 2 and facts["lsn"] == F(16) and facts["nodes"] == (2,)
    assert "terms not increasing" in found.message


def test_log_monotonic_proposer_term_history_lsns_decrease() -> None:
    th = ((1, L(16)), (3, L(8)))
    found, facts = violation("log_monotonic", view(THREE, [prop(11, th=th)]))
    assert facts["term"] == 3 and facts["lsn"] == F(8) and facts["nodes"] == (11,)
    assert found.message.startswith("proposer 11")


# ------------------------------------------------------------------------- acceptor terms


def test_acceptor_term_monotonic_holds() -> None:
    v = view([acc(1, term=3), acc(2, term=2)],
             votes=(Vote(1, 10, 2, 1, 10), Vote(4, 40, 3, 1, 11), Vote(4, 40, 2, 2, 10)),
             max_acceptor_term=((1, 3), (2, 2)))
    assert check("acceptor_term_monotonic", v) is None


def test_acceptor_term_monotonic_two_votes_in_one_term() -> None:
    v = view([acc(1, term=3)], votes=(Vote(1, 10, 3, 1, 10), Vote(2, 20, 3, 1, 11)))
    found, facts = violation("acceptor_term_monotonic", v)
    assert facts["term"] == 3 and facts["nodes"] == (1, 10, 11)
    assert "acceptor 1 voted for proposer 11 in term 3" in found.message


def test_acceptor_term_monotonic_term_goes_back_across_a_crash() -> None:
    v = view([acc(1, term=3), acc(2, term=1)], max_acceptor_term=((1, 3), (2, 2)))
    _, facts = violation("acceptor_term_monotonic", v)
    assert facts == {"term": 1, "previous": 2, "nodes": (2,)}


def test_acceptor_term_monotonic_term_below_a_vote_it_gave() -> None:
    v = view([acc(1, term=2)], votes=(Vote(1, 10, 4, 1, 12),))
    _, facts = violation("acceptor_term_monotonic", v)
    assert facts == {"term": 2, "previous": 4, "nodes": (1, 12)}


# ------------------------------------------------------------------------- lsn_order


def test_lsn_order_holds_including_equal_values() -> None:
    v = view([acc(1, commit=L(16), trunc=L(8)), acc(2, commit=L(32), trunc=L(32)),
              acc(3, b"", commit=BASE, trunc=BASE)])
    assert check("lsn_order", v) is None


def test_lsn_order_commit_above_flush() -> None:
    v = view([acc(1), acc(2, WAL[:16], commit=L(24), trunc=L(8))])
    found, facts = violation("lsn_order", v)
    assert facts["lsn"] == F(24) and facts["flush_lsn"] == F(16)
    assert facts["commit_lsn"] == F(24) and facts["truncate_lsn"] == F(8)
    assert facts["nodes"] == (2,) and facts["term"] == 2
    assert "commit_lsn above flush_lsn" in found.message


def test_lsn_order_truncate_above_flush_on_a_down_acceptor() -> None:
    v = view([acc(3, WAL[:16], commit=L(8), trunc=L(20), up=False)])
    found, facts = violation("lsn_order", v)
    assert facts["lsn"] == F(20) and facts["nodes"] == (3,)
    assert "truncate_lsn above flush_lsn" in found.message


def test_lsn_order_allows_truncate_above_commit() -> None:
    # A new proposer's horizon comes from its voters; its commit LSN starts again.
    v = view([acc(1, commit=L(8), trunc=L(16)), acc(2, commit=L(8), trunc=L(16))])
    assert check("lsn_order", v) is None


# ------------------------------------------------------------------------- committed_not_truncated


def test_committed_not_truncated_holds_at_or_above_the_commit_lsn() -> None:
    v = view([acc(1, commit=L(16)), acc(2, commit=L(16))],
             truncations=(Truncation(2, 20, 1, 3, L(8), 4), Truncation(5, 50, 2, 3, L(16), 8)))
    assert check("committed_not_truncated", v) is None  # step-2 truncation is not re-judged


def test_committed_not_truncated_below_the_acceptor_commit() -> None:
    v = view([acc(1), acc(2, commit=L(16))], truncations=(Truncation(5, 50, 2, 3, L(8), 24),))
    found, facts = violation("committed_not_truncated", v)
    assert facts["lsn"] == F(8) and facts["commit_lsn"] == F(16)
    assert facts["term"] == 3 and facts["nodes"] == (2,)


# ------------------------------------------------------------------------- liveness


def test_commit_progress_liveness_failure_names_lsns() -> None:
    stuck = view(THREE, [prop(10, term=3, commit=L(16))], commits=(commit(16),),
                 last_written_lsn=L(40))
    c = Checker([REGISTRY.get("commit_progress")])
    assert c.step(stuck, 1000) == []  # not judged during the safety phase
    c.start_liveness(1000)
    assert c.step(stuck, 11_000) == []
    [v] = c.step(stuck, 11_001)
    facts = dict(v.facts)
    assert v.outcome is Outcome.LIVENESS and c.outcome is Outcome.LIVENESS
    assert facts["lsn"] == F(16) and facts["last_written_lsn"] == F(40)
    assert facts["term"] == 3 and facts["nodes"] == (10,) and facts["acceptors_up"] == (1, 2, 3)


def test_commit_progress_reached() -> None:
    done = view(THREE, [prop(10, commit=L(40))], last_written_lsn=L(40))
    c = Checker([REGISTRY.get("commit_progress")])
    c.start_liveness(0)
    assert c.step(done, 5) == [] and c.finish(done, 50_000) == []
    assert c.outcome is Outcome.OK


# ------------------------------------------------------------------------- sometimes


def test_sometimes_witnesses() -> None:
    names = ["leader_elected", "wal_truncated", "commit_after_proposer_restart"]
    c = Checker(REGISTRY.select(names))
    c.step(view(THREE, proposer_restarts=(0,)), 0)
    assert c.weak_coverage() == names
    c.step(view(THREE, elections=(Election(1, 10, 1, 10, BASE),),
                truncations=(Truncation(2, 20, 1, 1, BASE, 0),),  # dropped nothing
                commits=(commit(8, step=3),), proposer_restarts=(0,)), 30)
    assert c.weak_coverage() == ["wal_truncated", "commit_after_proposer_restart"]
    c.step(view(THREE, truncations=(Truncation(2, 20, 1, 1, BASE, 16),),
                commits=(commit(8, step=3), commit(16, step=9, term=2)),
                proposer_restarts=(0, 5)), 90)
    assert c.weak_coverage() == []
    assert c.outcome is Outcome.OK
