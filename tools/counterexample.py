"""Make the README's picture: a walproposer counterexample in the trace viewer, as a PNG.

    python tools/counterexample.py --mutant bad-quorum --seeds 50 --out out/ \
        --png docs/counterexample.png

Finds the first failing seed of the walproposer scenario under the mutant,
records its trace (events plus every node's view after each step; the
recorder is chained onto the scenario's world after its observer), writes
``out/<name>.trace.json`` and ``out/cex.html`` (``modelcheck show`` works on
the trace too), and screenshots the page with headless Chromium. The page
opens at the violating step, so the picture shows it and every node's state.
Once the scenario accepts ``recorder`` (docs/trace-format.md) the same trace
comes from ``modelcheck run --mutant bad-quorum --seeds 50 --trace-dir out/``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.mutants import parse_mutants  # noqa: E402
from actors.scenario import WalproposerRun  # noqa: E402
from modelcheck import __version__  # noqa: E402
from modelcheck._trace_html import write_html  # noqa: E402
from modelcheck._trace_run import _violation, trace_file_name  # noqa: E402
from modelcheck.sim import OUTCOME_NAMES  # noqa: E402
from modelcheck.trace import TraceRecorder, json_safe  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def record(seed: int, mutant: str):
    run = WalproposerRun(seed, mutants=parse_mutants(mutant))
    recorder = TraceRecorder()
    recorder.attach(run.world)
    result = run.run()
    header = {"driver": "sim", "project_version": __version__, "scenario": "walproposer",
              "seed": seed, "mutant": mutant, "acceptors": 3, "wire": False,
              "options": recorder.options,
              "outcome": OUTCOME_NAMES.get(result.outcome, str(result.outcome)),
              "violation": _violation(result, len(recorder.events), recorder, recorder.events),
              "log_digest": result.log_digest, "virtual_ms": result.virtual_ms,
              "facts": json_safe(result.facts)}
    return result, recorder.trace(header)


def screenshot(html: Path, png: Path, width: int, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}",
                        f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
                        html.resolve().as_uri()], check=True, capture_output=True, timeout=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mutant", default="bad-quorum")
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--out", default="out")
    p.add_argument("--png", default="docs/counterexample.png")
    p.add_argument("--size", default="1400x860", help="window size WxH")
    args = p.parse_args(argv)
    out = Path(args.out)
    for seed in range(args.seeds):
        result, trace = record(seed, args.mutant)
        if result.failed:
            break
    else:
        print(f"no failing seed in 0..{args.seeds - 1}", file=sys.stderr)
        return 0
    path = trace.save(out / trace_file_name(trace))
    html = write_html(trace, out / "cex.html")
    w, h = (int(x) for x in args.size.split("x"))
    png = Path(args.png)
    png.parent.mkdir(parents=True, exist_ok=True)
    screenshot(html, png, w, h)
    print(f"seed {seed}: {result.message[:160]}\ntrace {path}\npage {html}\npicture {png} "
          f"({png.stat().st_size // 1024} KB)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
