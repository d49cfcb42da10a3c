"""Benchmark: ``pgwal dump`` vs ``pg_waldump`` decoding the corpus to a full listing.

Both programs list the same segment files with stdout to /dev/null, side by
side in one run (median of N timed runs after one warm-up, each a fresh
process, as pg_waldump is). Figures: wall seconds and CPU seconds (user + sys
of the child), MB/s of segment files, records/s, and pgwal's throughput as a
fraction of pg_waldump's, by wall time and by CPU time (CPU time is the
steadier figure on a shared machine).

pgwal is timed as installed: the package is copied to a temporary directory
and byte-compiled there (what ``pip install`` does), so that a run does not
compile the sources, which it would otherwise do every time when
``PYTHONDONTWRITEBYTECODE`` is set. One extra pg15 line shows the source tree
run with that compile cost. ``--baseline REV`` also times the pgwal package
of git revision REV the same way, in the same run.

Only the pg15 corpus can be read by the installed pg_waldump
(Debian postgresql-15); for the other versions pgwal's figures are printed
beside the pg_waldump anchor recorded in the corpus (TIMING.txt, another
machine). A last table feeds the streaming decoder the first two pg15
segments in chunks of 2 MiB down to 64 bytes (CPU time per chunk size, each
package in its own process): the cost must stay flat as chunks shrink.
``--profile`` adds a cProfile of one in-process pg15 dump.

Run: ``python benchmarks/bench_pgwal.py [--runs 3] [--profile] [--baseline REV]``
"""

from __future__ import annotations

import argparse
import compileall
import cProfile
import io
import json
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_WALDUMP = "/usr/lib/postgresql/15/bin/pg_waldump"


def corpus_root() -> Path:
    env = os.environ.get("PGWAL_CORPUS")
    return Path(env) if env else REPO.parent / "shared" / "pgwal-corpus"


def segments(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name))


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], runs: int, pythonpath: Path = REPO) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of ``runs`` runs of ``cmd``."""
    env = dict(os.environ, TZ="UTC", PYTHONPATH=str(pythonpath))
    # run in the package's directory: `python -m` puts the working directory first on sys.path
    opts = {
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "env": env,
        "cwd": pythonpath,
    }
    subprocess.run(cmd, **opts)  # warm-up
    walls, cpus = [], []
    for _ in range(runs):
        c0 = _child_cpu()
        t0 = time.perf_counter()
        subprocess.run(cmd, **opts)
        walls.append(time.perf_counter() - t0)
        cpus.append(_child_cpu() - c0)
    return statistics.median(walls), statistics.median(cpus)


def install(tmp: Path, name: str, rev: str | None = None) -> Path:
    """A byte-compiled copy of the pgwal package (of git revision ``rev``) under ``tmp/name``."""
    dest = tmp / name
    dest.mkdir()
    if rev is None:
        shutil.copytree(
            REPO / "pgwal", dest / "pgwal", ignore=shutil.ignore_patterns("__pycache__")
        )
    else:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev, "pgwal"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    compileall.compile_dir(str(dest / "pgwal"), quiet=1)
    return dest


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


CHUNK_SIZES = (2 << 20, 8192, 512, 64)
_CHUNK_SCRIPT = """
import json, sys, time
from pgwal.decoder import WalDecoder
data = open(sys.argv[1], "rb").read() + open(sys.argv[2], "rb").read()
out = {}
for size in map(int, sys.argv[3:]):
    best = None
    for _ in range(3):
        t0 = time.process_time()
        dec = WalDecoder(0x700000, find_first=True)
        n = 0
        for pos in range(0, len(data), size):
            n += len(dec.feed(data[pos:pos + size]))
        dt = time.process_time() - t0
        best = dt if best is None else min(best, dt)
    out[size] = (best, n)
print(json.dumps(out))
"""


def chunked_feeding(root: Path, packages: list[tuple[str, Path]]) -> None:
    """The streaming decoder fed the first two pg15 segments in chunks of several sizes.

    Each package runs in its own process; the figure is the best of 3 CPU times
    (``process_time``) of decoding 2 MiB fed in chunks of the given size.
    """
    folder = root / "pg15"
    names = segments(folder)[:2]
    args = [str(folder / n) for n in names] + [str(c) for c in CHUNK_SIZES]
    print("\nstreaming decoder, first two pg15 segments (2 MiB) fed in chunks; CPU s (best of 3)")
    print(f"{'package':22} " + " ".join(f"{c:>10}" for c in CHUNK_SIZES) + "  records")
    for label, path in packages:
        env = dict(os.environ, PYTHONPATH=str(path))
        res = subprocess.run([sys.executable, "-c", _CHUNK_SCRIPT, *args], env=env, cwd=path,
                             capture_output=True, text=True, check=True)  # fmt: skip
        got = json.loads(res.stdout)
        times = [got[str(c)][0] for c in CHUNK_SIZES]
        counts = {got[str(c)][1] for c in CHUNK_SIZES}
        print(f"{label:22} " + " ".join(f"{t:>10.3f}" for t in times) + f"  {sorted(counts)}")


def row(
    version: str, tool: str, wall: float, cpu: float, nbytes: int, nrec: int, note: str
) -> None:
    print(f"{version:6} {tool:22} {wall:7.3f} {cpu:7.3f} {nbytes / wall / 1e6:7.1f} "
          f"{nrec / wall:10.0f}  {note}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--baseline", metavar="REV", help="also time pgwal of git revision REV")
    args = parser.parse_args()
    root = corpus_root()
    if not root.is_dir():
        sys.exit(f"corpus not found at {root} (set PGWAL_CORPUS)")
    sys.path.insert(0, str(REPO))
    have_waldump = os.access(PG_WALDUMP, os.X_OK)
    with tempfile.TemporaryDirectory(prefix="bench_pgwal_") as tmpdir:
        tmp = Path(tmpdir)
        ours_path = install(tmp, "current")
        base_path = install(tmp, "baseline", args.baseline) if args.baseline else None
        print(f"{'corpus':6} {'tool':22} {'wall s':>7} {'cpu s':>7} {'MB/s':>7} {'records/s':>10}  "
              "ratio (throughput vs pg_waldump: by wall time, by CPU time)")  # fmt: skip
        for version in ("pg14", "pg15", "pg16", "pg17"):
            folder = root / version
            names = segments(folder)
            nbytes = sum((folder / n).stat().st_size for n in names)
            nrec = count_records(folder, names)
            ours = [sys.executable, "-m", "pgwal.cli", "dump", "-p", str(folder), names[0],
                    names[-1]]  # fmt: skip
            ref_times = None
            if version == "pg15" and have_waldump:
                ref = [PG_WALDUMP, "-p", str(folder), names[0], names[-1]]
                ref_times = timed(ref, args.runs)

            def ratio(
                wall: float, cpu: float, times: tuple[float, float] | None = ref_times
            ) -> str:
                if times is None:
                    return ""
                return f"{times[0] / wall:.2f} x pg_waldump (wall), {times[1] / cpu:.2f} x (cpu)"

            wall, cpu = timed(ours, args.runs, ours_path)
            row(version, "pgwal", wall, cpu, nbytes, nrec, ratio(wall, cpu))
            if base_path is not None:
                wall, cpu = timed(ours, args.runs, base_path)
                row(version, f"pgwal {args.baseline}", wall, cpu, nbytes, nrec, ratio(wall, cpu))
            if ref_times is not None:
                wall, cpu = timed(ours, args.runs, REPO)
                row(version, "pgwal (source, no pyc)", wall, cpu, nbytes, nrec, ratio(wall, cpu))
                row(version, "pg_waldump", *ref_times, nbytes, nrec, "1.00")
            else:
                why = "pg_waldump 15 cannot read this version" if have_waldump else "no pg_waldump"
                print(f"{'':6} {'(ref)':22} {why}; anchor: {anchor(folder)}")
        packages = [("pgwal", ours_path)]
        if base_path is not None:
            packages.append((f"pgwal {args.baseline}", base_path))
        chunked_feeding(root, packages)
    if args.profile:
        profile_pg15(root, 15)


if __name__ == "__main__":
    main()
