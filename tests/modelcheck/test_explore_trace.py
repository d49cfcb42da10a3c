"""Explorer counterexamples as trace files: the generic (spec) path, replay, bad input."""

from __future__ import annotations

import json

import pytest

from actors.spec import SpecModel
from modelcheck.cli import main as cli_main
from modelcheck.errors import TraceError
from modelcheck.explore import explore
from modelcheck.explore_trace import replay_explore_trace, state_views, violation_trace
from modelcheck.trace import load_trace

OPTIONS = {"proposers": 2, "acceptors": 3, "max_term": 2, "max_entries": 1,
           "mutant": "bad-quorum"}


@pytest.fixture(scope="module")
def spec_trace():
    model = SpecModel(proposers=2, acceptors=3, max_term=2, max_entries=1, mutant="bad-quorum")
    result = explore(model)
    assert result.violations
    return violation_trace(model, result.violations[0], model_name="spec", options=OPTIONS,
                           mutant="bad-quorum")


def test_state_views_parse_format_state_lines():
    views = state_views("  p1: leader term=1 th=[(0, 1), (1, 1)] wal=[]\n"
                        "  committed=[] elected_history={1: 2}")
    assert views["p1"] == {"state": "leader", "term": 1, "th": "[(0, 1), (1, 1)]", "wal": "[]"}
    assert views["model"] == {"committed": "[]", "elected_history": "{1: 2}"}


def test_spec_trace_has_one_event_per_action_on_the_acting_node(spec_trace):
    t = spec_trace
    names = {n["id"]: n["name"] for n in t.header["nodes"]}
    assert set(names.values()) >= {"p1", "p2", "a1", "a2", "a3", "model"}
    assert [e.kind for e in t.events] == ["Vote", "Vote", "BecomeLeader", "BecomeLeader"]
    assert [names[e.node] for e in t.events[2:]] == ["p1", "p2"]
    assert [a["label"] for a in t.actions][2:] == ["BecomeLeader(p1)", "BecomeLeader(p2)"]
    assert t.violation["property"] == "ElectionSafety" and t.violation["step"] == 3
    # every node has a state before the first step, and p2 becomes leader at the last one
    first = {s.node for s in t.snapshots if s.step == -1}
    assert first == set(names)
    p2 = next(i for i, n in names.items() if n == "p2")
    assert t.states_at(3)[p2]["state"] == "leader"
    assert t.states_at(2)[p2]["state"] == "campaign"


def test_spec_trace_replays_and_says_when_the_bug_is_fixed(spec_trace, tmp_path):
    path = spec_trace.save(tmp_path / "spec.trace.json")
    loaded = load_trace(path)
    report = replay_explore_trace(loaded)
    assert report.reproduced and report.steps_applied == 4
    assert cli_main(["replay", str(path)]) == 1
    assert cli_main(["show", str(path), "-o", str(tmp_path / "spec.html")]) == 0
    doc = json.loads(path.read_text())
    doc["header"]["options"]["mutant"] = None
    doc["header"]["mutant"] = None
    fixed = tmp_path / "fixed.trace.json"
    fixed.write_text(json.dumps(doc))
    report = replay_explore_trace(load_trace(fixed))
    assert not report.reproduced and "no longer reproduces" in report.message
    assert cli_main(["replay", str(fixed)]) == 0


def test_cli_spec_explore_writes_a_trace(tmp_path):
    tr = tmp_path / "cli.trace.json"
    code = cli_main(["explore", "--model", "spec", "--acceptors", "3", "--max-term", "2",
                     "--max-entries", "1", "--mutant", "bad-quorum", "--quiet",
                     "--trace", str(tr)])
    assert code == 1
    t = load_trace(tr)
    assert t.header["model"] == "spec" and t.header["options"]["max_entries"] == 1
    assert cli_main(["replay", str(tr)]) == 1


def test_no_trace_is_written_without_a_violation(tmp_path):
    tr = tmp_path / "none.trace.json"
    code = cli_main(["explore", "--model", "spec", "--acceptors", "3", "--max-term", "1",
                     "--max-entries", "1", "--quiet", "--trace", str(tr)])
    assert code == 0 and not tr.exists()


def test_bad_explorer_traces_give_clear_errors(spec_trace, tmp_path):
    doc = json.loads(spec_trace.dumps())
    del doc["header"]["model"]
    with pytest.raises(TraceError, match="header.model"):
        replay_explore_trace(load_trace(_write(tmp_path / "a.json", doc)))
    doc = json.loads(spec_trace.dumps())
    doc["actions"][1] = {"nolabel": 1}
    with pytest.raises(TraceError, match=r"actions\[1\].label"):
        replay_explore_trace(load_trace(_write(tmp_path / "b.json", doc)))
    doc = json.loads(spec_trace.dumps())
    doc["header"]["model"] = "no-such-model"
    assert cli_main(["replay", str(_write(tmp_path / "c.json", doc))]) == 2


def _write(path, doc):
    path.write_text(json.dumps(doc))
    return path
