"""Benchmark: seed campaigns on each backend, side by side in one run.

Rows (the same seeds, the same batch size, each on a warm backend):

* ``local 1``: the plain local backend, one process (batches run in this process);
* ``local 2``: the local backend with a pool of 2 worker processes;
* ``dask local:1`` / ``dask local:2``: a Dask LocalCluster of 1 / 2 one-thread workers;
* ``loopback 2``: a real ``dask scheduler`` and two ``dask worker --nthreads 1``
  processes on 127.0.0.1, reached with ``--scheduler``.

All backends are started first (start-up timed apart, not in seeds/s) and
warmed; then ``--rounds`` rounds run every row in turn and each row keeps its
best round, so a load that drifts during the run (a shared machine) hits every
row alike. Every run must give the same ``results_digest`` (the benchmark fails
otherwise). It prints seeds/s per row, then the two goals of issue 11: 2
workers vs 1 (goal >= 1.8x) and the cluster's cost over local processes at an
equal worker count (goal < 10%). Because wall-clock ratios mean little on a
loaded machine, it also prints the CPU time per seed of every row (this
process, its finished children, and every live descendant, the Dask
scheduler and workers included): less sensitive to other load than wall
time, though still inflated by contention (cache, SMT, steal); scaling can
only be measured on idle cores. Last, the fixed cost of a batch on each
backend (CPU and wall ms per no-op task, every process counted), and what
it adds to a batch of ``--batch`` seeds at local 1's CPU ms per seed: the
cluster's cost projected from parts that are each less noisy.

    python benchmarks/bench_cluster.py --seeds 400          # all rows, 3 rounds
    python benchmarks/bench_cluster.py --seeds 2000 --batch 16
    python benchmarks/bench_cluster.py --rows local1,local2,dask2
"""

from __future__ import annotations

import argparse
import contextlib
import operator
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from modelcheck.backends import Backend, LocalBackend, make_backend  # noqa: E402
from modelcheck.sim import CampaignConfig, run_campaign  # noqa: E402

# `dask scheduler` / `dask worker`, run by this interpreter (no dependence on PATH or shims).
DASK_SCHEDULER = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
DASK_WORKER = [sys.executable, "-m", "distributed.cli.dask_worker"]
ROWS = ("local1", "local2", "dask1", "dask2", "loopback2")
LABELS = {"local1": "local 1", "local2": "local 2", "dask1": "dask local:1",
          "dask2": "dask local:2", "loopback2": "loopback 2"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def loopback_cluster(workers: int) -> Iterator[str]:
    """A ``dask scheduler`` and ``workers`` one-thread ``dask worker`` processes on loopback."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT}
    common = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            procs.append(subprocess.Popen([*DASK_SCHEDULER, "--host", "127.0.0.1",
                                           "--port", str(port), *common], **quiet))
            procs += [subprocess.Popen([*DASK_WORKER, address, "--nthreads", "1",
                                        "--no-nanny", "--host", "127.0.0.1",
                                        "--local-directory", tmp, *common], **quiet)
                      for _ in range(workers)]
            with Client(address, timeout=60, set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=60)
            yield address
        finally:
            for p in procs[::-1]:  # workers first, then their scheduler
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


@contextlib.contextmanager
def open_backend(row: str) -> Iterator[Backend]:
    if row == "local1":
        yield LocalBackend(1)
    elif row == "local2":
        yield LocalBackend(2)
    elif row in ("dask1", "dask2"):
        with make_backend(cluster=f"local:{row[-1]}") as backend:
            yield backend
    else:
        with loopback_cluster(2) as address, make_backend(scheduler=address) as backend:
            yield backend


def cpu_s() -> float:
    """CPU seconds of this process, its reaped children and its live descendants."""
    import resource

    import psutil  # comes with distributed

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    total += sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def task_overhead(backend: Backend, tasks: int = 300) -> tuple[float, float]:
    """CPU ms and wall ms per no-op batch: what the backend itself costs per batch."""
    list(backend.stream(operator.add, [(i, 1) for i in range(20)]))  # warm
    cpu, wall = cpu_s(), time.perf_counter()
    done = sum(1 for _ in backend.stream(operator.add, [(i, 1) for i in range(tasks)]))
    assert done == tasks
    return 1000 * (cpu_s() - cpu) / tasks, 1000 * (time.perf_counter() - wall) / tasks


def run_rows(rows: list[str], cfg: CampaignConfig, rounds: int) -> dict[str, dict]:
    """Best-of-``rounds`` seeds/s of every row, rows interleaved within each round."""
    out: dict[str, dict] = {}
    with contextlib.ExitStack() as stack:
        backends = {}
        for row in rows:
            started = time.perf_counter()
            backends[row] = stack.enter_context(open_backend(row))
            out[row] = {"startup_s": time.perf_counter() - started, "rounds": [],
                        "workers": backends[row].workers, "digests": set(), "retried": 0}
            warm = CampaignConfig(scenario=cfg.scenario, first_seed=cfg.first_seed + cfg.seeds,
                                  seeds=cfg.batch * 2 * backends[row].workers, batch=cfg.batch)
            run_campaign(warm, backend=backends[row])  # imports, first touch on every worker
        for _ in range(rounds):
            for row in rows:
                cpu_before = cpu_s()
                summary = run_campaign(cfg, backend=backends[row])
                out[row].setdefault("cpu_ms", []).append(
                    1000 * (cpu_s() - cpu_before) / len(summary.results))
                data = summary.to_json()
                out[row]["rounds"].append(len(summary.results) / summary.elapsed_s)
                out[row]["digests"].add(data["results_digest"])
                out[row]["retried"] += data["retried_batches"]
        for row in rows:
            out[row]["task_cpu_ms"], out[row]["task_wall_ms"] = task_overhead(backends[row])
    for r in out.values():
        r["seeds_per_s"] = max(r["rounds"])
        r["cpu_ms_per_seed"] = min(r["cpu_ms"])
    return out


def _ratio(rows: dict, a: str, b: str) -> float | None:
    if a in rows and b in rows:
        return rows[a]["seeds_per_s"] / rows[b]["seeds_per_s"]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=400, help="seeds per row (default 400)")
    parser.add_argument("--batch", type=int, default=8, help="seeds per batch (default 8)")
    parser.add_argument("--scenario", default="walproposer")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"subset of {','.join(ROWS)}")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; best kept (default 3)")
    args = parser.parse_args(argv)
    rows = [r for r in args.rows.split(",") if r]
    bad = [r for r in rows if r not in ROWS]
    if bad:
        parser.error(f"unknown rows {bad}; choose from {','.join(ROWS)}")
    cfg = CampaignConfig(scenario=args.scenario, seeds=args.seeds, batch=args.batch)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench_cluster: scenario={cfg.scenario} seeds={cfg.seeds} batch={cfg.batch} "
          f"rounds={args.rounds} cpus={os.cpu_count()} load1={load:.1f}", flush=True)
    results = run_rows(rows, cfg, max(1, args.rounds))
    for row, r in results.items():
        rounds = " ".join(f"{x:.1f}" for x in r["rounds"])
        print(f"  {LABELS[row]:<14} workers={r['workers']}  best {r['seeds_per_s']:7.1f} seeds/s"
              f"  {r['cpu_ms_per_seed']:6.1f} CPU ms/seed  (rounds: {rounds}; "
              f"start-up {r['startup_s']:.1f} s; "
              f"retried {r['retried']})")
    digests = set().union(*(r["digests"] for r in results.values()))
    print("ratios (seeds/s):")
    for label, a, b, goal in (
            ("local 2 / local 1", "local2", "local1", "goal >= 1.8"),
            ("dask local:2 / dask local:1", "dask2", "dask1", "goal >= 1.8"),
            ("dask local:1 / local 1", "dask1", "local1", "goal >= 0.9 (cost < 10%)"),
            ("dask local:2 / local 2", "dask2", "local2", "goal >= 0.9 (cost < 10%)"),
            ("loopback 2 / local 2", "loopback2", "local2", "goal >= 0.9 (cost < 10%)")):
        ratio = _ratio(results, a, b)
        if ratio is not None:
            print(f"  {label:<30} {ratio:5.2f}x   {goal}")
    print("CPU cost per seed (less load-sensitive; goal < 1.10x):")
    for label, a, b in (("dask local:1 / local 1", "dask1", "local1"),
                        ("dask local:2 / local 2", "dask2", "local2"),
                        ("loopback 2 / local 2", "loopback2", "local2")):
        if a in results and b in results:
            ratio = results[a]["cpu_ms_per_seed"] / results[b]["cpu_ms_per_seed"]
            print(f"  {label:<30} {ratio:5.2f}x")
    print(f"fixed cost per batch (no-op tasks), share of a {cfg.batch}-seed batch at "
          "local 1's CPU ms/seed:")
    base = results.get("local1", next(iter(results.values())))["cpu_ms_per_seed"] * cfg.batch
    for row, r in results.items():
        print(f"  {LABELS[row]:<14} {r['task_cpu_ms']:6.2f} CPU ms  "
              f"{r['task_wall_ms']:6.2f} wall ms  -> {100 * r['task_cpu_ms'] / base:5.1f}% "
              "of a batch")
    print(f"load1 after: {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")
    if len(digests) != 1:
        print(f"FAIL: results_digest differs between rows: {sorted(digests)}")
        return 1
    print(f"same results_digest on every row and round: {digests.pop()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
