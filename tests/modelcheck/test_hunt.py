"""modelcheck.hunt: the seed-batch search (attribution, lowest seed, budget) and the CLI."""

from __future__ import annotations

import json

import pytest

from actors.mutants import CATALOGUE
from modelcheck import hunt as hunt_mod
from modelcheck.cli import main
from modelcheck.errors import InvalidArgument
from modelcheck.hunt import hunt, run_seed_batch, search_seeds
from modelcheck.sim import SeedResult
from modelcheck.trace import load_trace


class _Fake:
    """A scenario whose seeds fail on a fixed set; some fail without the mutant too."""

    name = "fake"
    bad = {3: "p_mut", 5: "p_mut", 9: "p_mut", 12: "p_mut"}
    bad_anyway = {3: "p_mut", 9: "p_other"}

    def run_seed(self, seed: int, *, mutant: str | None = None, acceptors: int = 3,
                 **_: object) -> SeedResult:
        table = self.bad if mutant else self.bad_anyway
        prop = table.get(seed)
        return SeedResult(seed, 1 if prop else 0, prop, "m" if prop else "", 0, 0, 0, "d")


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(hunt_mod._worker_scenarios, "fake", _Fake())


def test_batch_skips_seeds_the_correct_protocol_fails_the_same_way(fake):
    rep = run_seed_batch("fake", list(range(10)), "m")
    assert rep.found is not None and rep.found.seed == 5  # 3 fails without the mutant too
    assert rep.unattributed == [3]
    assert rep.tried == 6  # stops at the find


def test_batch_counts_a_different_property_as_the_mutants(fake):
    rep = run_seed_batch("fake", [9], "m")
    assert rep.found is not None and rep.found.property == "p_mut"


@pytest.mark.parametrize("workers", [1, 2])
def test_search_finds_the_lowest_attributable_seed_with_any_worker_count(fake, workers):
    rep, timed_out, interrupted = search_seeds("fake", "m", 30.0, first_seed=4,
                                               workers=workers, batch=1)
    assert (rep.found.seed, timed_out, interrupted) == (5, False, False)
    rep, *_ = search_seeds("fake", "m", 30.0, first_seed=6, workers=workers, batch=2)
    assert rep.found.seed == 9


def test_search_stops_at_max_seeds_and_reports_nothing_found(fake):
    rep, timed_out, _ = search_seeds("fake", "m", 30.0, first_seed=13, workers=1,
                                     max_seeds=20)
    assert rep.found is None and rep.tried == 20 and not timed_out


def test_bad_budget_and_driver_are_clear_errors():
    with pytest.raises(InvalidArgument, match="budget_s"):
        hunt("bad-quorum", "random", 0)
    with pytest.raises(InvalidArgument, match="unknown driver 'dfs'"):
        hunt("bad-quorum", "dfs", 1)
    with pytest.raises(InvalidArgument, match="unknown mutant 'nope'; known: accept-stale"):
        hunt("nope", "random", 1)


# -- CLI ---------------------------------------------------------------------------------


def test_mutants_lists_the_catalogue_name_first(capsys):
    assert main(["mutants"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == sorted(CATALOGUE)
    assert len(lines) >= 10
    for ln in lines:
        name, desc = ln.split(None, 1)
        assert desc.strip() == CATALOGUE[name]


def test_unknown_mutant_exits_2_with_the_known_names(capsys):
    assert main(["hunt", "--mutant", "no-such-bug"]) == 2
    err = capsys.readouterr().err
    assert "unknown mutant 'no-such-bug'" in err and "bad-quorum" in err


def test_unknown_driver_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["hunt", "--mutant", "bad-quorum", "--driver", "dfs"])
    assert exc.value.code == 2


def test_hunt_json_fields_and_the_trace_replays(tmp_path, capsys):
    out, trace = tmp_path / "h.json", tmp_path / "bq.trace.json"
    code = main(["hunt", "--mutant", "bad-quorum", "--driver", "random", "--workers", "1",
                 "--budget-s", "60", "--json", str(out), "--trace", str(trace),
                 "--no-progress"])
    assert code == 0
    doc = json.loads(out.read_text())
    for key in ("found", "driver", "property", "elapsed_s", "trace_length", "trace_path",
                "seeds_tried", "seed", "unattributed"):
        assert key in doc
    assert doc["found"] is True and doc["driver"] == "random" and doc["applicable"] is True
    assert doc["trace_path"] == str(trace) and doc["trace_length"] > 0
    header = load_trace(trace).header
    assert header["mutant"] == "bad-quorum" and header["seed"] == doc["seed"]
    assert header["violation"]["property"] == doc["property"]
    assert main(["replay", str(trace)]) == 1  # the violation reproduces (a safety one)
    assert "reproduced" in capsys.readouterr().err


def test_explore_driver_without_a_model_is_not_applicable(tmp_path, monkeypatch):
    from actors.mutants import HUNT_TARGET

    monkeypatch.setattr(type(HUNT_TARGET), "explore_models", lambda self, mutant: [])
    r = hunt("skip-truncate", "explore", 5, trace_dir=str(tmp_path))
    assert (r.found, r.applicable) == (False, False)
    assert r.note == "no explorer model has the mutant 'skip-truncate'"
    assert r.to_json()["applicable"] is False


def test_explore_driver_stops_at_the_budget(tmp_path):
    r = hunt("skip-truncate", "explore", 3, trace_dir=str(tmp_path))
    assert r.applicable and r.states and r.states > 0
    assert r.elapsed_s < 3 + 10  # the budget is checked at each progress line (every ~1 s)


def test_explore_driver_finds_bad_quorum_with_a_short_trace(tmp_path):
    r = hunt("bad-quorum", "explore", 60, trace_dir=str(tmp_path))
    assert r.found and r.model and r.model.startswith("spec")
    assert r.trace_length is not None and r.trace_length <= 8
    t = load_trace(r.trace_path)
    assert t.header["driver"] == "explore" and len(t.actions) == r.trace_length - 1
    assert main(["replay", r.trace_path]) == 1  # the counterexample replays on the model


def test_explore_driver_finds_figure_8(tmp_path):
    # commit-previous-term (Raft's figure 8) needs four terms and two entries; one proposer
    # restarting through the terms reaches it (spec p1 a3 t4 l2, depth 25, ~7 s idle).
    r = hunt("commit-previous-term", "explore", 60, trace_dir=str(tmp_path))
    assert r.found and r.model == "spec p1 a3 t4 l2", r.note
    assert r.property in ("CommittedNotTruncated", "LogSafety")
    t = load_trace(r.trace_path)
    assert t.header["mutant"] == "commit-previous-term"
    assert sum(a["label"].startswith("RestartProposer") for a in t.actions) >= 3  # 4 terms
    assert main(["replay", r.trace_path]) == 1  # the counterexample replays on the model


@pytest.mark.slow
def test_figure_8_bound_is_clean_without_the_mutant():
    # No false alarm at the bound that finds figure 8: the correct spec at p1 a3 t4 l2 is
    # explored completely (667,454 states with symmetry, ~22 s idle) without a violation.
    from actors.spec import SpecModel
    from modelcheck.explore import explore

    r = explore(SpecModel(1, 3, 4, 2), symmetry=True)
    assert r.complete and r.violations == []
    assert r.distinct_states == 667_454


def test_hypothesis_driver_finds_shrinks_and_its_trace_replays(tmp_path):
    from modelcheck.stateful import replay_trace

    r = hunt("vote-before-persist", "hypothesis", 30, trace_dir=str(tmp_path),
             trace_path=tmp_path / "vbp.trace.json")
    assert r.found and r.property == "acceptor_term_monotonic"
    assert r.first_failure_s is not None and r.first_failure_s <= r.elapsed_s
    assert r.shrunk_length is not None and r.raw_length is not None
    assert 1 <= r.shrunk_length <= r.raw_length
    assert r.trace_path == str(tmp_path / "vbp.trace.json")
    machine, failed = replay_trace(r.trace_path)
    assert failed == "acceptor_term_monotonic" and machine.mutant == "vote-before-persist"
