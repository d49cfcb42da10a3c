"""The explorer over the implementation model: real actors, real WAL, bounded faults."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from actors.impl_model import ImplBounds, ImplModel, ImplState, explore_impl
from modelcheck.cli import main as cli_main
from modelcheck.errors import InvalidArgument
from modelcheck.explore import explore
from modelcheck.explore_trace import replay_explore_trace, violation_trace
from modelcheck.system import Command, Deliver, FireTimer
from modelcheck.trace import load_trace
from pgwal.decoder import decode_buffer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def bad_quorum():
    """A=2, P=2 under bad-quorum (a quorum of 1): the shortest double election."""
    return explore_impl(acceptors=2, proposers=2, max_writes=0, mutant="bad-quorum")


def test_bad_quorum_gives_the_shortest_double_election(bad_quorum):
    r = bad_quorum
    assert r.violations and r.violations[0].property == "election_safety"
    trace = r.violations[0].trace
    # each proposer: accept, greeting, greeting reply, vote request, vote reply = 5 deliveries
    assert len(trace) == 11 and r.depth == 11
    actions = [a for a, _ in trace[1:]]
    assert all(isinstance(a, Deliver) for a in actions)
    last = trace[-1][1]
    elected = [(t, p) for t, p, _ in last.ghost.elections]
    assert [t for t, _ in elected] == [1, 1] and len({p for _, p in elected}) == 2
    model = r.model_object
    assert "elected twice" in model.violation_message(last, "election_safety") or \
        "both leader" in model.violation_message(last, "election_safety")


class _Checked(ImplModel):
    """Checks every transition: the incremental fingerprint equals one computed from
    scratch, and computing the successor left the parent state unchanged (the fast
    copy shares nothing that the action mutates)."""

    def next_state(self, state, action):
        before = state.fp
        t = super().next_state(state, action)
        fresh = ImplState(t.system, t.ghost, t.writes, t.ticks, t.violated, self.encoding)
        assert fresh.fp == t.fp, f"incremental fingerprint differs after {action}"
        again = ImplState(state.system, state.ghost, state.writes, state.ticks,
                          state.violated, self.encoding)
        assert again.fp == before, f"{action} changed its parent state"
        return t


def test_correct_protocol_one_proposer_one_write_is_complete_and_clean():
    """Every transition is checked with _Checked (fast copy and fingerprints sound)."""
    r = explore(_Checked(ImplBounds(acceptors=2, proposers=1, max_writes=1)))
    assert r.complete and not r.violations
    assert r.distinct_states > 500 and r.states_generated > r.distinct_states
    # the run elects, writes real WAL and commits it
    assert "leader_elected" not in r.unsatisfied_sometimes
    assert "wal_committed" not in r.unsatisfied_sometimes


def test_counts_do_not_depend_on_the_encoding():
    bounds = ImplBounds(acceptors=1, proposers=1, max_writes=1, max_crashes=1)
    fast = explore(_Checked(bounds), max_depth=16)
    stable = explore(ImplModel(bounds, encoding="stable"), max_depth=16)
    assert fast.distinct_states > 300
    assert (fast.distinct_states, fast.states_generated, fast.depth, fast.states_left) == (
        stable.distinct_states, stable.states_generated, stable.depth, stable.states_left)


def _walk_to_commit(model: ImplModel) -> ImplState:
    """Write first, then take the first enabled delivery or timer until a commit."""
    state = model.init_states()[0]
    for _ in range(200):
        if state.ghost.commits:
            return state
        acts = model.actions(state)
        pick = next((a for a in acts if isinstance(a, Command)), None) or next(
            a for a in acts if isinstance(a, Deliver | FireTimer))
        state = model.next_state(state, pick)
        assert not state.violated, state.violated
    raise AssertionError("no commit within 200 steps")


def test_the_safekeepers_hold_real_wal_that_pgwal_decodes():
    from actors.impl_model import SEGMENT_SIZE, START_LSN
    from actors.walstore import WalFiles

    model = ImplModel(ImplBounds(acceptors=2, proposers=1, max_writes=1))
    state = _walk_to_commit(model)
    term, proposer, lsn, base, _, data = state.ghost.commits[0]
    assert lsn > START_LSN and base == START_LSN and len(data) == lsn - base
    for nid in model.sk_nodes:
        node = state.system.nodes[nid]
        flush = node.actor.view().flush_lsn
        wal = WalFiles(node.disk, SEGMENT_SIZE).read(START_LSN, flush)
        records, end = decode_buffer(wal, START_LSN, version=15, segment_size=SEGMENT_SIZE)
        assert end.lsn == flush and end.error is None
        # the one transaction: a heap insert (rmgr 10) and its commit (xact, rmgr 1)
        assert [r.rmid for r in records] == [10, 1] and records[0].xid == records[1].xid


def test_fingerprints_are_the_same_under_another_hash_seed():
    code = (
        "from actors.impl_model import ImplModel, ImplBounds\n"
        "m = ImplModel(ImplBounds(acceptors=2, proposers=1, max_writes=1))\n"
        "s = m.init_states()[0]\n"
        "out = [s.fp.hex()]\n"
        "for _ in range(12):\n"
        "    s = m.next_state(s, m.actions(s)[-1])\n"
        "    out.append(s.fp.hex())\n"
        "print(','.join(out))\n"
    )
    runs = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60, check=True)
        runs.add(res.stdout.strip())
    assert len(runs) == 1


def test_bounds_are_checked():
    with pytest.raises(InvalidArgument, match="acceptors=0"):
        ImplBounds(acceptors=0)
    with pytest.raises(InvalidArgument, match="max_crashes=-1"):
        ImplBounds(max_crashes=-1)
    with pytest.raises(InvalidArgument, match="no-such-bug"):
        ImplBounds(mutant="no-such-bug")


def test_counterexample_trace_renders_and_replays(bad_quorum, tmp_path):
    r = bad_quorum
    model = r.model_object
    trace = violation_trace(model, r.violations[0], model_name="impl",
                            options=model.options(), mutant="bad-quorum")
    path = trace.save(tmp_path / "bq.trace.json")
    loaded = load_trace(path)
    assert loaded.header["driver"] == "explore" and loaded.header["model"] == "impl"
    assert loaded.violation["property"] == "election_safety"
    assert len(loaded.actions) == 10
    elected = [e for e in loaded.events if e.kind == "prop_elected"]
    assert [e.fields["term"] for e in elected] == [1, 1] and len({e.node for e in elected}) == 2
    sends = {e.id for e in loaded.events if e.kind == "send"}
    recvs = {e.id for e in loaded.events if e.kind == "recv"}
    assert recvs and recvs <= sends  # arrows pair up
    assert loaded.snapshots and loaded.violation["step"] == len(loaded.events) - 1
    assert replay_explore_trace(loaded).reproduced
    html = tmp_path / "bq.html"
    assert cli_main(["show", str(path), "-o", str(html)]) == 0
    assert "prop_elected" in html.read_text()
    assert cli_main(["replay", str(path)]) == 1
    # without the mutant the same steps no longer elect twice
    doc = json.loads(path.read_text())
    doc["header"]["mutant"] = None
    doc["header"]["options"]["mutant"] = None
    fixed = tmp_path / "fixed.trace.json"
    fixed.write_text(json.dumps(doc))
    assert cli_main(["replay", str(fixed)]) == 0


def test_cli_explore_impl_writes_json_and_trace(tmp_path, capsys):
    out, tr = tmp_path / "r.json", tmp_path / "t.trace.json"
    code = cli_main(["explore", "--model", "impl", "--acceptors", "2", "--max-writes", "0",
                     "--mutant", "bad-quorum", "--quiet", "--json", str(out),
                     "--trace", str(tr)])
    assert code == 1
    doc = json.loads(out.read_text())
    assert doc["violations"][0]["property"] == "election_safety"
    assert doc["violations"][0]["trace_length"] == 11
    assert doc["distinct_states"] > 0 and load_trace(tr).violation is not None
    assert "deliver" in capsys.readouterr().out


def test_two_workers_give_the_counts_and_the_trace_of_one(bad_quorum):
    two = explore_impl(acceptors=2, proposers=2, max_writes=0, mutant="bad-quorum", workers=2)
    one = bad_quorum
    assert (two.distinct_states, two.states_generated, two.depth, two.states_left) == (
        one.distinct_states, one.states_generated, one.depth, one.states_left)
    labels = [[str(a) for a, _ in v.trace] for v in (one.violations[0], two.violations[0])]
    assert labels[0] == labels[1]
    bounds = ImplBounds(acceptors=1, proposers=1, max_writes=1, max_crashes=1)
    a, b = explore(ImplModel(bounds), max_depth=15), explore(ImplModel(bounds), workers=2,
                                                             max_depth=15)
    assert a.distinct_states > 300 and (a.distinct_states, a.states_generated, a.depth,
                                        a.states_left) == (
        b.distinct_states, b.states_generated, b.depth, b.states_left)
    assert a.unsatisfied_sometimes == b.unsatisfied_sometimes


def test_workers_need_a_parallel_safe_model():
    from actors.spec import SpecModel

    with pytest.raises(InvalidArgument, match="parallel_safe"):
        explore(SpecModel(proposers=2, acceptors=3, max_term=1, max_entries=1), workers=2)
    with pytest.raises(InvalidArgument, match="breadth-first"):
        explore(ImplModel(ImplBounds(acceptors=1, proposers=1)), workers=2, dfs=True)
