"""``modelcheck run`` / ``replay`` on the default campaign: the walproposer and safekeepers.

``tests/modelcheck/test_sim_cli.py`` checks the campaign runner on the engine's
toy scenario; these tests check the same promises of issue 4 item 7 on the
real one: the default scenario is the walproposer, a seeded bug gives exit
status 1 (safety; README: 3 liveness, 4 crash) with a JSON failure entry that
carries its replay command, that command reproduces the failure and writes the
same log byte for byte under any ``PYTHONHASHSEED``, ``--check-determinism``
passes, and ``--acceptors 5`` runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from modelcheck.cli import main

REPO = Path(__file__).resolve().parents[2]
SEVERITY = {"crash": 4, "safety": 1, "liveness": 3}


def _run(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "summary.json"
    code = main(["run", "--workers", "1", "--no-progress", "--json", str(out), *args])
    return code, json.loads(out.read_text())


def test_default_campaign_is_the_walproposer_and_passes(tmp_path: Path) -> None:
    code, data = _run(tmp_path, "--seeds", "6")
    assert code == 0
    assert data["scenario"] == "walproposer" and data["acceptors"] == 3
    assert data["seeds_run"] == 6 and data["failures"] == [] and data["outcomes"]["ok"] == 6
    assert data["events"] > 6 * 100 and data["elapsed_s"] > 0


def test_five_acceptors_and_check_determinism(tmp_path: Path) -> None:
    code, data = _run(tmp_path, "--seeds", "3", "--acceptors", "5", "--check-determinism")
    assert code == 0 and data["acceptors"] == 5 and data["nondeterministic_seeds"] == []


def test_seeded_bug_fails_with_a_replay_command_that_reproduces_it(tmp_path: Path) -> None:
    code, data = _run(tmp_path, "--seeds", "20", "--mutant", "bad-quorum")
    failures = data["failures"]
    assert failures, "bad-quorum survived 20 seeds"
    kinds = {f["outcome"] for f in failures}
    expected = 4 if "crash" in kinds else 1 if "safety" in kinds else 3  # the most severe
    assert code == expected
    first = failures[0]
    assert first["property"] and first["message"]
    assert first["replay"] == f"modelcheck replay --seed {first['seed']} --mutant bad-quorum"
    # the replay command, in fresh processes with different hash seeds
    logs, errs = [], []
    for hashseed in ("0", "12345"):
        log = tmp_path / f"seed-{hashseed}.log"
        argv = first["replay"].split()[1:] + ["--log", str(log)]
        proc = subprocess.run(
            [sys.executable, "-m", "modelcheck.cli", *argv], cwd=REPO, capture_output=True,
            text=True, timeout=120,
            env={**os.environ, "PYTHONHASHSEED": hashseed},
        )  # fmt: skip
        assert proc.returncode == SEVERITY[first["outcome"]], proc.stderr
        logs.append(log.read_bytes())
        errs.append(proc.stderr)
    assert logs[0] == logs[1] and logs[0].count(b"\n") > 100
    assert errs[0] == errs[1]
    assert f"violation of {first['property']}" in errs[0]
    assert f"reproduce: {first['replay']}" in errs[0]
