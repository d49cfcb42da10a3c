"""``modelcheck explore`` end to end: output, exit codes, JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from modelcheck.explore_cli import add_explore_parser, available_models, main


def test_spec_without_violation_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--model", "spec", "--max-term", "1", "--max-entries", "1", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "distinct states found" in out and "complete" in out


def test_bad_quorum_exits_1_with_trace_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "r.json"
    code = main(["--model", "spec", "--mutant", "bad-quorum", "--quiet", "--json", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "ElectionSafetyFull" in out and "5: BecomeLeader(p2)" in out
    doc = json.loads(path.read_text())
    for key in ("distinct_states", "states_generated", "depth", "violations", "elapsed_s"):
        assert key in doc
    v = next(v for v in doc["violations"] if v["property"] == "ElectionSafetyFull")
    assert v["trace_length"] == 5 and len(v["actions"]) == 4
    assert v["actions"][0].startswith("Vote(")


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--model", "nope"]) == 2
    assert "available" in capsys.readouterr().err
    assert main(["--model", "spec", "--mutant", "nope", "--quiet"]) == 2
    assert main(["--model", "spec", "--acceptors", "0", "--quiet"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["--max-term", "x"])
    assert exc.value.code == 2


def test_check_symmetry_reports_tied_donors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--model", "spec", "--check-symmetry"]) == 1
    out = capsys.readouterr().out
    assert "symmetry unsound" in out and "BecomeLeader(p1)" in out
    assert main(["--model", "two-phase", "--rms", "3", "--check-symmetry"]) == 0
    assert "symmetry sound" in capsys.readouterr().out


def test_workers_flag_is_accepted_and_two_phase_runs(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--model", "two-phase", "--rms", "3", "--workers", "2", "--no-symmetry", "--quiet"]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0 and "288 distinct states" in captured.out
    assert "runs in one process" in captured.err


def test_parser_hook_and_registry() -> None:
    parser = argparse.ArgumentParser(prog="modelcheck")
    sub = parser.add_subparsers(dest="command")
    add_explore_parser(sub)
    args = parser.parse_args(["explore", "--model", "spec", "--max-term", "3", "--dfs"])
    assert args.max_term == 3 and args.dfs and callable(args.func)
    assert {"spec", "two-phase"} <= set(available_models())
