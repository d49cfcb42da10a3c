"""BMC of the spec in z3: its shortest counterexample equals the explorer's BFS, and the
encoding agrees with :class:`actors.spec.SpecModel` step by step."""

import json

import pytest

from actors._spec_rules import SpecConfig
from actors.spec import SpecModel
from actors.spec_bmc import bmc, encode_path
from modelcheck.choice import SeededChooser
from modelcheck.cli import main
from modelcheck.explore import explore


def _bfs_trace_states(mutant, **bounds):
    model = SpecModel(mutant=mutant, **bounds)
    result = explore(model)
    assert result.violations, "the explorer finds no violation"
    return len(result.violations[0].trace), result.violations[0].property


def test_bad_quorum_bmc_length_equals_bfs():
    states, prop = _bfs_trace_states("bad-quorum")
    res = bmc(SpecConfig(2, 3, 2, 2, "bad-quorum"), max_depth=states + 1)
    assert res.states_in_trace == states  # 5 states: Vote, Vote, BecomeLeader, BecomeLeader
    assert prop in res.violated
    # the proof: every shorter unrolling is unsat, the last one sat
    assert [v for _, v, _ in res.checked] == ["unsat"] * (states - 1) + ["sat"]
    # the counterexample is a real run of the model (bmc replays it) ending in a violation
    assert len(res.states) == states and len(res.actions) == states - 1


def test_correct_spec_has_no_short_counterexample():
    res = bmc(SpecConfig(2, 3, 2, 2, None), max_depth=3)
    assert res.depth is None
    assert [v for _, v, _ in res.checked] == ["unsat"] * 4


@pytest.mark.parametrize("mutant", [None, "bad-quorum", "commit-previous-term"])
def test_encoding_follows_the_model_on_random_walks(mutant):
    model = SpecModel(2, 3, 2, 2, mutant)
    config = SpecConfig(2, 3, 2, 2, mutant)
    for seed in range(3):
        chooser = SeededChooser(seed)
        s = model.init_states()[0]
        actions, values = [], [model.value(s)]
        for _ in range(10):
            successors = model.expand_labeled(s)
            if not successors:
                break
            action, s = successors[chooser.below(len(successors))]
            actions.append(action)
            values.append(model.value(s))
        assert encode_path(config, actions) == values, (seed, actions)


def test_encoding_refuses_a_disabled_action():
    # BecomeLeader without votes is not enabled in Init
    assert encode_path(SpecConfig(2, 3, 2, 2, None), [("BecomeLeader", 0)]) is None


def test_bmc_cli(tmp_path, capsys):
    js = tmp_path / "bmc.json"
    assert main(["bmc", "--mutant", "bad-quorum", "--max-depth", "6", "--json", str(js)]) == 1
    data = json.loads(js.read_text())
    assert data["depth"] == 4 and data["trace_states"] == 5 and len(data["actions"]) == 4
    out = capsys.readouterr().out
    assert "shortest counterexample: 4 transitions (5 states)" in out
    assert main(["bmc", "--mutant", "no-such"]) == 2
