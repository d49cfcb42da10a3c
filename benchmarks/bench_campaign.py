"""Benchmark: ``modelcheck run`` on the default campaign, 1 worker vs all workers, one run.

Each configuration is a fresh ``python -m modelcheck.cli run --seeds N --workers W
--json PATH --no-progress`` process (the command a user types), timed from the
outside (wall seconds and the CPU seconds of the process tree) and read back
from its JSON summary (seeds run, events, events per seed, outcomes and the
results digest). The configurations run one after the other in the same
invocation, so their ratio is measured under the same machine load; the
results digest must be equal across worker counts (same seeds, same logs).

Figures printed per configuration: seeds/s, events/s, events per seed, wall
and CPU seconds, the speed-up over 1 worker, and the projected time for 1,000
seeds against the goal of issue 4 (under 60 s on this 2-core machine), the CPU
milliseconds per seed, and the CPU share each worker obtained (below 1 when
other work competes for the cores; the CPU-time projection then says what the
same campaign takes on idle cores).
``--baseline REV`` also runs the packages of git revision REV (unpacked into a
temporary directory), interleaved with the current tree, and the results digests
of both must agree when REV's logs are the same. ``--profile`` adds a cProfile of
``--profile-seeds`` seeds run in-process (top functions by own and cumulative time).

Run: ``python benchmarks/bench_campaign.py [--seeds 1000] [--workers 1,0] [--baseline REV]
[--profile]``
(``0`` = all cores, as ``modelcheck run --workers 0``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_SEEDS, GOAL_S = 1000, 60.0


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PACKAGES = ("modelcheck", "actors", "pgwal", "properties")


def checkout(rev: str, dest: Path) -> Path:
    """The project's packages as of git revision ``rev``, unpacked under ``dest``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, *PACKAGES],
                             check=True, capture_output=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def run_campaign(seeds: int, workers: int, first_seed: int, root: Path = REPO) -> dict:
    """One ``modelcheck run`` process; its JSON summary plus outside wall and CPU seconds.

    ``root`` holds the packages to run (this tree, or a ``checkout`` of a baseline);
    the scenario is found through the installed entry point and imported from ``root``.
    """
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        out = Path(tmp) / "summary.json"
        cmd = [sys.executable, "-m", "modelcheck.cli", "run", "--seeds", str(seeds),
               "--first-seed", str(first_seed), "--workers", str(workers),
               "--json", str(out), "--no-progress"]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(root))
        cpu0, t0 = _child_cpu(), time.perf_counter()
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                              check=False)  # fmt: skip
        wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
        if proc.returncode not in (0, 1) or not out.exists():
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        summary = json.loads(out.read_text())
    summary["wall_s"], summary["cpu_s"], summary["exit"] = wall, cpu, proc.returncode
    return summary


def profile(seeds: int, top: int) -> str:
    """cProfile of ``seeds`` seeds of the default scenario, in this process."""
    sys.path.insert(0, str(REPO))
    from actors.scenario import WalproposerScenario

    scenario = WalproposerScenario()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for seed in range(seeds):
        scenario.run_seed(seed)
    prof.disable()
    elapsed = time.perf_counter() - t0
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    buf.write(f"cProfile of {seeds} seeds in-process: {elapsed:.2f} s with the profiler "
              f"({elapsed / seeds * 1000:.1f} ms/seed)\n")  # fmt: skip
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=GOAL_SEEDS)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", default="1,0", help="comma-separated worker counts")
    parser.add_argument("--baseline", metavar="REV", help="also run the packages of git REV")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-seeds", type=int, default=100)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    load = os.getloadavg()
    print(f"modelcheck run, default campaign (walproposer, 3 safekeepers), {args.seeds} seeds "
          f"from {args.first_seed}; {os.cpu_count()} CPUs, load average before "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-campaign-base-") as tmp:
        roots = [("now", REPO)]
        if args.baseline:
            roots.append((args.baseline, checkout(args.baseline, Path(tmp))))
        for w in counts:  # interleaved, so that both trees see the same load
            for label, root in roots:
                s = run_campaign(args.seeds, w, args.first_seed, root)
                s["label"] = label
                rows.append(s)
    base = {}
    for s in rows:
        base.setdefault(s["label"], s["wall_s"])  # each tree's 1-worker (first) row
    print(
        f"{'tree':>8} {'workers':>8} {'seeds':>6} {'wall s':>8} {'cpu s':>8} {'seeds/s':>8} "
        f"{'events/s':>9} {'ev/seed':>8} {'speed-up':>8} {'1000 seeds':>10} "
        f"{'cpu ms/seed':>11} {'cpu share':>9}  outcomes"
    )
    for s in rows:
        rate = s["seeds_run"] / s["wall_s"]
        # cpu share: CPU seconds obtained per wall second per worker (1.0 = a core each)
        share = s["cpu_s"] / s["wall_s"] / s["workers"]
        print(f"{s['label']:>8} {s['workers']:>8} {s['seeds_run']:>6} {s['wall_s']:>8.2f} "
              f"{s['cpu_s']:>8.2f} "
              f"{rate:>8.1f} {s['events'] / s['wall_s']:>9.0f} {s['events_per_seed']:>8.0f} "
              f"{base[s['label']] / s['wall_s']:>7.2f}x {GOAL_SEEDS / rate:>9.1f}s "
              f"{s['cpu_s'] / s['seeds_run'] * 1000:>11.1f} {share:>9.2f}  "
              f"{s['outcomes']}")  # fmt: skip
    same_runs = all(
        len({s["results_digest"] for s in rows if s["label"] == label}) == 1 for label in base
    )
    print(f"results digest equal across worker counts: {same_runs}")
    if len(base) > 1:
        across = len({s["results_digest"] for s in rows}) == 1
        print(f"results digest equal across trees (same event logs): {across}")
    now = [s for s in rows if s["label"] == "now"]  # the goal is judged on this tree
    best = min(GOAL_SEEDS * s["wall_s"] / s["seeds_run"] for s in now)
    verdict = "met" if best < GOAL_S else "NOT met"
    print(f"goal {GOAL_SEEDS} seeds < {GOAL_S:.0f} s: {verdict} (best projection {best:.1f} s)")
    cores = os.cpu_count() or 1
    idle = min(GOAL_SEEDS * s["cpu_s"] / s["seeds_run"] / min(s["workers"], cores) for s in now)
    print(f"by CPU time (what {cores} idle cores would take): {idle:.1f} s for {GOAL_SEEDS} seeds")
    load = os.getloadavg()
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.profile:
        print(profile(args.profile_seeds, args.top))
    return 0 if same_runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
