"""Backends: local processes and a real Dask cluster (scheduler + workers on loopback).

The cluster tests start ``dask scheduler`` and ``dask worker`` subprocesses on
free loopback ports (no mocks), and always tear them down. They check that the
summary does not depend on the backend or the batch size, that a worker killed
in the middle of a batch loses nothing, that Ctrl-C cancels the cluster's work,
and that ``first_failure`` stops at the first failing seed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelcheck.backends import BackendError, LocalBackend, first_failure, make_backend
from modelcheck.cli import main
from modelcheck.errors import InvalidArgument
from modelcheck.sim import CampaignConfig, run_batch, run_campaign

try:  # the `test` extra installs Dask; without it only the cluster tests skip
    import distributed
except ImportError:  # pragma: no cover
    distributed = None

ROOT = Path(__file__).resolve().parents[2]
# Keys of the JSON summary that describe how (not what) a campaign ran.
EXECUTION_KEYS = {"elapsed_s", "seeds_per_s", "events_per_s", "workers", "backend",
                  "retried_batches"}
START_TIMEOUT_S = 60
# `dask scheduler` / `dask worker`, run by this interpreter (no dependence on PATH or shims).
DASK_SCHEDULER = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
DASK_WORKER = [sys.executable, "-m", "distributed.cli.dask_worker"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: list[subprocess.Popen]) -> None:
    """Stop each process in turn (workers before their scheduler, so they leave cleanly)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


@contextlib.contextmanager
def loopback_cluster(tmp: Path, workers: int = 2):
    """A real ``dask scheduler`` and ``workers`` one-thread ``dask worker`` processes."""
    if distributed is None:  # pragma: no cover
        pytest.skip("needs Dask: pip install '.[cluster]'")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    common = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]  # never the shared 8787
    procs: list[subprocess.Popen] = []
    try:
        procs.append(subprocess.Popen(
            [*DASK_SCHEDULER, "--host", "127.0.0.1", "--port", str(port), *common],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        worker_procs = [subprocess.Popen(
            [*DASK_WORKER, address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
             "--death-timeout", "30", "--local-directory", str(tmp), *common],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)]
        procs.extend(worker_procs)
        with distributed.Client(address, timeout=START_TIMEOUT_S,
                                set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=START_TIMEOUT_S)
        yield address, worker_procs
    finally:
        _stop(procs[::-1])  # workers first, then the scheduler


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with loopback_cluster(tmp_path_factory.mktemp("dask")) as (address, workers):
        yield address, workers


def _comparable(summary) -> dict:
    data = summary.to_json()
    return {k: v for k, v in data.items() if k not in EXECUTION_KEYS}


def _wait_idle(client, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(client.processing().values()):
            return True
        time.sleep(0.1)
    return False


# -- without a cluster ------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_local_stream_reports_each_batch_once_and_stop_after_drops_the_rest():
    args = [("reliable-copy", [s], None, 3, False, False) for s in range(12)]
    with LocalBackend(2).stream(run_batch, args) as stream:
        seen = [index for index, _ in stream]
    assert sorted(seen) == list(range(12))
    with LocalBackend(2).stream(run_batch, iter(args)) as stream:
        first, _ = next(stream)
        stream.stop_after(first)
        rest = [index for index, _ in stream]
    assert all(i <= first for i in rest) and first not in rest


@pytest.mark.timeout(120)
def test_a_local_worker_killed_mid_run_loses_nothing():
    import multiprocessing

    seeds, batch = 60, 6
    reference = run_campaign(CampaignConfig(seeds=seeds, batch=30, workers=1))
    reported: list[int] = []
    killed: list[int] = []

    def kill_a_worker(results):
        reported.extend(r.seed for r in results)
        if not killed:
            workers = [p for p in multiprocessing.active_children() if p.pid]
            assert workers, "no pool process to kill"
            killed.append(workers[0].pid)
            os.kill(workers[0].pid, signal.SIGKILL)

    summary = run_campaign(CampaignConfig(seeds=seeds, batch=batch, workers=2),
                           on_batch=kill_a_worker)
    assert killed
    assert sorted(reported) == list(range(seeds))  # every seed exactly once
    assert summary.retried_batches >= 1
    assert _comparable(summary) == _comparable(reference)
    assert not summary.interrupted and summary.exit_code == 0
    assert not multiprocessing.active_children()  # the broken pool's processes are gone


@pytest.mark.timeout(60)
def test_first_failure_is_the_same_seed_for_any_local_worker_count_and_batch():
    found = [first_failure("walproposer", range(1, 10_000), mutant="bad-quorum", batch=b,
                           backend=LocalBackend(w)) for w, b in ((1, 1), (2, 3), (2, 7))]
    seeds = {f.failure.seed for f in found}
    assert len(seeds) == 1 and all(f.failure.failed for f in found)
    assert found[0].seeds_run == found[0].failure.seed  # batch 1, one worker: seeds 1..seed
    with pytest.raises(InvalidArgument, match="budget_s=0"):
        first_failure("walproposer", range(3), budget_s=0)


def test_flags_are_checked_and_name_what_is_allowed():
    with pytest.raises(InvalidArgument, match="local:N"):
        make_backend(cluster="remote:3")
    with pytest.raises(InvalidArgument, match="not both"):
        make_backend(cluster="local:1", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(InvalidArgument, match="disagree"):
        make_backend(cluster="local:2", workers=3)
    with pytest.raises(InvalidArgument, match="tcp://HOST:PORT"):
        make_backend(scheduler="127.0.0.1:8786")
    assert make_backend(workers=3).workers == 3


def test_without_dask_the_flags_exit_2_with_the_install_hint(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    monkeypatch.delitem(sys.modules, "modelcheck._backend_dask", raising=False)
    for flags in (["--cluster", "local:2"], ["--scheduler", "tcp://127.0.0.1:8786"]):
        code = main(["run", "--scenario", "reliable-copy", "--seeds", "2", "--no-progress",
                     *flags])
        err = capsys.readouterr().err
        assert code == 2 and "pip install '.[cluster]'" in err and flags[0] in err
    with pytest.raises(BackendError, match="not installed"):
        make_backend(cluster="local")
    assert run_campaign(CampaignConfig(scenario="reliable-copy", seeds=3, workers=1)).results


# -- on a real cluster -----------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_summary_is_identical_on_every_backend_and_batch_size(cluster):
    address, _ = cluster
    cfg = dict(scenario="walproposer", first_seed=100, seeds=30)
    reference = run_campaign(CampaignConfig(**cfg, workers=1, batch=7))
    assert reference.to_json()["seeds_run"] == 30
    # (local processes with other worker counts and batches: tests/modelcheck/test_sim_cli.py)
    with make_backend(scheduler=address) as backend:
        runs = [run_campaign(CampaignConfig(**cfg, batch=b), backend=backend) for b in (4, 30)]
    with make_backend(cluster="local:2") as backend:
        runs.append(run_campaign(CampaignConfig(**cfg, batch=3), backend=backend))
    assert [r.backend for r in runs] == [f"dask {address}", f"dask {address}", "dask local:2"]
    for run in runs:
        assert _comparable(run) == _comparable(reference)
        assert [r.seed for r in run.results] == list(range(100, 130))


@pytest.mark.timeout(90)
def test_cli_run_on_a_scheduler_writes_the_same_json(cluster, tmp_path, capsys):
    address, _ = cluster
    paths = [tmp_path / "local.json", tmp_path / "dask.json"]
    base = ["run", "--seeds", "40", "--mutant", "bad-quorum", "--no-progress"]
    codes = [main([*base, "--workers", "1", "--json", str(paths[0])]),
             main([*base, "--scheduler", address, "--batch", "3", "--json", str(paths[1])])]
    local, dask = (json.loads(p.read_text()) for p in paths)
    assert codes[0] == codes[1] == 1 and local["failures"]  # bad-quorum: safety violations
    assert dask["backend"] == f"dask {address}" and dask["workers"] == 2
    assert {k: v for k, v in local.items() if k not in EXECUTION_KEYS} == \
        {k: v for k, v in dask.items() if k not in EXECUTION_KEYS}
    assert f"backend=dask {address}" in capsys.readouterr().err


@pytest.mark.timeout(90)
def test_first_failure_on_the_cluster_is_the_first_failing_seed_and_cancels_the_rest(cluster):
    address, _ = cluster
    with make_backend(scheduler=address) as backend:
        found = first_failure("walproposer", range(5, 1_000_000), mutant="bad-quorum",
                              batch=4, backend=backend)
        events = backend.last_runner.start_events()
        window = backend.window()
        assert _wait_idle(backend.client), "cancelled batches still running"
    assert found.failure is not None and found.failure.failed, (found, events)
    seed = found.failure.seed
    # Independently: no seed before it fails, and it does.
    check = run_campaign(CampaignConfig(first_seed=5, seeds=seed - 4, mutant="bad-quorum",
                                        workers=1))
    assert [r.seed for r in check.failures] == [seed]
    failing_batch = (seed - 5) // 4
    assert found.batches_run >= failing_batch + 1
    # Every batch that started was reported or cancelled; past the find, at most the
    # window in flight (and the results already back) was dropped.
    started = {e["batch"] for e in events}
    assert len(started) <= found.batches_run + found.batches_cancelled
    assert found.batches_cancelled <= 2 * window and found.batches_run < 50


@pytest.mark.timeout(90)
def test_hunt_random_on_the_cluster_finds_the_same_seed_as_one_process(cluster, tmp_path):
    from modelcheck.hunt import search_seeds

    address, _ = cluster
    local, _, _ = search_seeds("walproposer", "bad-quorum", 60, first_seed=5, workers=1)
    with make_backend(scheduler=address) as backend:
        remote, timed_out, interrupted = search_seeds("walproposer", "bad-quorum", 60,
                                                      first_seed=5, batch=3, backend=backend)
        assert _wait_idle(backend.client), "batches past the find still running"
    assert local.found is not None and remote.found is not None
    assert remote.found.seed == local.found.seed and not timed_out and not interrupted
    out = tmp_path / "hunt.json"
    code = main(["hunt", "--mutant", "bad-quorum", "--first-seed", "5", "--scheduler", address,
                 "--no-progress", "--budget-s", "60", "--json", str(out),
                 "--trace", str(tmp_path / "t.trace.json")])
    data = json.loads(out.read_text())
    assert code == 0 and data["found"] and data["seed"] == local.found.seed


@pytest.mark.timeout(90)
def test_first_failure_with_a_budget_stops_an_endless_hunt(cluster):
    address, _ = cluster
    with make_backend(scheduler=address) as backend:
        start = time.monotonic()
        found = first_failure("reliable-copy", itertools.count(), batch=2, backend=backend,
                              budget_s=1.5)
        took = time.monotonic() - start
        assert _wait_idle(backend.client)
    assert found.failure is None and found.budget_exhausted and found.seeds_run > 0
    assert took < 30


@pytest.mark.timeout(90)
def test_interrupt_cancels_the_cluster_work_and_keeps_what_finished(cluster):
    address, _ = cluster
    calls = 0

    def interrupt(batch):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt

    with make_backend(scheduler=address) as backend:
        summary = run_campaign(CampaignConfig(scenario="reliable-copy", seeds=100_000, batch=4),
                               on_batch=interrupt, backend=backend)
        assert _wait_idle(backend.client, 10), "the cluster kept working after Ctrl-C"
    assert summary.interrupted and len(summary.results) == 3 * 4
    assert summary.to_json()["interrupted"] is True


@pytest.mark.timeout(90)
def test_sigint_to_the_cli_prints_what_finished_and_exits_130(cluster, tmp_path):
    address, _ = cluster
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelcheck.cli", "run", "--scenario", "reliable-copy",
         "--seeds", "1000000", "--batch", "4", "--no-progress", "--scheduler", address],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with distributed.Client(address, timeout=30, set_as_default=False) as client:
            deadline = time.monotonic() + 60
            while not any(client.processing().values()) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=45)
            assert _wait_idle(client, 15)
    finally:
        _stop([proc])
    assert proc.returncode == 130, err
    assert "interrupted:" in out and "of 1000000 seeds done" in out


@pytest.mark.timeout(90)
def test_ctrl_c_in_a_terminal_stops_a_local_cluster_and_leaves_no_process():
    if distributed is None:  # pragma: no cover
        pytest.skip("needs Dask: pip install '.[cluster]'")
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelcheck.cli", "run", "--scenario", "reliable-copy",
         "--seeds", "1000000", "--batch", "4", "--no-progress", "--cluster", "local:1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)  # its own process group, as a terminal's foreground job
    try:
        header = proc.stderr.readline()  # printed once the cluster is up
        assert "backend=dask local:1" in header, header
        time.sleep(1.5)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole group
        out, err = proc.communicate(timeout=60)
    finally:
        _stop([proc])
    assert proc.returncode == 130, err
    assert "interrupted:" in out and "of 1000000 seeds done" in out
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the cluster's nanny and worker go too
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("processes of the interrupted run were still alive 20 s later")


@pytest.mark.timeout(150)
def test_a_worker_killed_mid_batch_loses_nothing(tmp_path):
    seeds, batch = 80, 10
    reference = run_campaign(CampaignConfig(seeds=seeds, batch=40, workers=2))
    reported: list[int] = []
    killed: dict = {}
    with loopback_cluster(tmp_path, workers=2) as (address, workers), \
            make_backend(scheduler=address) as backend:
        pids = {p.pid for p in workers}

        def kill_a_busy_worker(results):
            reported.extend(r.seed for r in results)
            if killed:
                return
            done = {s // batch for s in reported}
            since = time.time() - 0.05
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # a batch that started just now, not done
                fresh = [e for e in backend.last_runner.start_events()
                         if e["time"] >= since and e["batch"] not in done and e["pid"] in pids]
                if fresh:
                    killed.update(fresh[-1])
                    os.kill(fresh[-1]["pid"], signal.SIGKILL)
                    return
                time.sleep(0.02)

        summary = run_campaign(CampaignConfig(seeds=seeds, batch=batch),
                               on_batch=kill_a_busy_worker, backend=backend)
        restarted = backend.last_runner.restarted()
    assert killed, "no batch was running when the first results came back"
    assert sorted(reported) == list(range(seeds))  # every seed exactly once
    assert killed["batch"] in restarted and summary.retried_batches >= 1
    assert summary.to_json()["retried_batches"] == summary.retried_batches
    assert _comparable(summary) == _comparable(reference)
    assert not summary.interrupted and summary.exit_code == 0
