"""Benchmark: ``pgwal dump`` vs ``pg_waldump`` decoding the corpus to a full listing.

Both programs list the same segment files with stdout to /dev/null, side by
side in one run (median of N timed runs after one warm-up). Figures: MB/s of
segment files, records/s, and pgwal's throughput as a fraction of
pg_waldump's. Only the pg15 corpus can be read by the installed pg_waldump
(Debian postgresql-15); for the other versions pgwal's figures are printed
beside the pg_waldump anchor recorded in the corpus (TIMING.txt, another
machine). ``--profile`` adds a cProfile of one in-process pg15 dump.

Run: ``python benchmarks/bench_pgwal.py [--runs 3] [--profile]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_WALDUMP = "/usr/lib/postgresql/15/bin/pg_waldump"


def corpus_root() -> Path:
    env = os.environ.get("PGWAL_CORPUS")
    return Path(env) if env else REPO.parent / "shared" / "pgwal-corpus"


def segments(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name))


def timed(cmd: list[str], runs: int) -> float:
    env = dict(os.environ, TZ="UTC", PYTHONPATH=str(REPO))
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def count_records(folder: Path, names: list[str]) -> int:
    from pgwal.segment import read_records

    return sum(1 for _ in read_records(str(folder), names[0], names[-1]))


def anchor(folder: Path) -> str:
    timing = folder / "TIMING.txt"
    if not timing.exists():
        return "no anchor"
    m = re.search(r"Plain listing: (\d+) records/s, ([\d.]+) MB/s", timing.read_text())
    return f"{m.group(1)} records/s, {m.group(2)} MB/s (corpus TIMING.txt)" if m else "no anchor"


def profile_pg15(root: Path, top: int) -> None:
    from pgwal.cli import main

    folder = root / "pg15"
    names = segments(folder)
    prof = cProfile.Profile()
    real_stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - restored below
    try:
        prof.runcall(main, ["dump", "-p", str(folder), names[0], names[-1]])
    finally:
        sys.stdout.close()
        sys.stdout = real_stdout
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    print("\ncProfile of one in-process `pgwal dump` of pg15 (top by own time):")
    print("\n".join(line for line in buf.getvalue().splitlines() if line.strip())[:6000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    root = corpus_root()
    if not root.is_dir():
        sys.exit(f"corpus not found at {root} (set PGWAL_CORPUS)")
    sys.path.insert(0, str(REPO))
    have_waldump = os.access(PG_WALDUMP, os.X_OK)
    print(f"{'corpus':6} {'tool':10} {'seconds':>8} {'MB/s':>8} {'records/s':>10}  ratio")
    for version in ("pg14", "pg15", "pg16", "pg17"):
        folder = root / version
        names = segments(folder)
        nbytes = sum((folder / n).stat().st_size for n in names)
        nrec = count_records(folder, names)
        ours = [sys.executable, "-m", "pgwal.cli", "dump", "-p", str(folder), names[0], names[-1]]
        t_ours = timed(ours, args.runs)
        print(f"{version:6} {'pgwal':10} {t_ours:8.3f} {nbytes / t_ours / 1e6:8.1f} "
              f"{nrec / t_ours:10.0f}")  # fmt: skip
        if version == "pg15" and have_waldump:
            ref = [PG_WALDUMP, "-p", str(folder), names[0], names[-1]]
            t_ref = timed(ref, args.runs)
            print(f"{version:6} {'pg_waldump':10} {t_ref:8.3f} {nbytes / t_ref / 1e6:8.1f} "
                  f"{nrec / t_ref:10.0f}  pgwal = {t_ref / t_ours:.2f} x pg_waldump")  # fmt: skip
        else:
            why = "pg_waldump 15 cannot read this version" if have_waldump else "no pg_waldump"
            print(f"{'':6} {'(ref)':10} {why}; anchor: {anchor(folder)}")
    if args.profile:
        profile_pg15(root, 15)


if __name__ == "__main__":
    main()
