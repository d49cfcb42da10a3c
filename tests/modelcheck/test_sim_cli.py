import json
import subprocess
import sys

import pytest

from modelcheck.cli import main
from modelcheck.errors import InvalidArgument
from modelcheck.sim import CampaignConfig, run_campaign


def test_summary_identical_for_any_worker_count_and_batch():
    a = run_campaign(CampaignConfig(scenario="reliable-copy", seeds=24, workers=1, batch=5))
    b = run_campaign(CampaignConfig(scenario="reliable-copy", seeds=24, workers=2, batch=3))
    ja, jb = a.to_json(), b.to_json()
    assert ja["results_digest"] == jb["results_digest"]
    assert ja["seeds_run"] == jb["seeds_run"] == 24
    assert [r.seed for r in a.results] == list(range(24))


def test_check_determinism_passes_for_a_deterministic_scenario():
    s = run_campaign(CampaignConfig(scenario="reliable-copy", seeds=6, workers=1,
                                    check_determinism=True))
    assert s.nondeterministic == [] and s.exit_code == 0


def test_bad_config_names_the_field():
    with pytest.raises(InvalidArgument, match="seeds=0"):
        CampaignConfig(seeds=0)


def test_cli_run_json_and_exit_code(tmp_path, capsys):
    out = tmp_path / "s.json"
    code = main(["run", "--scenario", "reliable-copy", "--seeds", "10", "--workers", "1",
                 "--json", str(out), "--no-progress"])
    assert code == 0
    data = json.loads(out.read_text())
    for key in ("seeds_run", "failures", "events", "elapsed_s"):
        assert key in data
    assert data["seeds_run"] == 10 and data["failures"] == [] and data["events"] > 0


def test_cli_bad_usage_exits_2(capsys):
    assert main(["run", "--scenario", "no-such-thing", "--seeds", "1"]) == 2
    assert "available:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["run", "--seeds", "x"])
    assert info.value.code == 2


def test_replay_log_is_byte_identical_across_hash_seeds(tmp_path):
    logs = []
    for hashseed in ("0", "999"):
        path = tmp_path / f"log{hashseed}.txt"
        subprocess.run([sys.executable, "-m", "modelcheck.cli", "replay", "--scenario",
                        "reliable-copy", "--seed", "5", "--log", str(path)],
                       env={"PYTHONHASHSEED": hashseed, "PATH": "/usr/bin:/bin"},
                       check=True, capture_output=True)
        logs.append(path.read_bytes())
    assert logs[0] == logs[1] and logs[0].count(b"\n") > 50


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert "modelcheck" in capsys.readouterr().out
