"""modelcheck.show (terminal step list), the HTML page, and the trace commands of the CLI."""

from __future__ import annotations

import io
import json
import re

import pytest

import modelcheck.sim as sim
from modelcheck._trace_html import render_html
from modelcheck._trace_run import record_seed
from modelcheck.cli import main
from modelcheck.show import render_lines, show, state_lines
from modelcheck.trace import Trace, TraceEvent, load_trace
from tests.modelcheck._trace_scenario import CopyScenario, find_failing_seed

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def failing():
    seed = find_failing_seed()
    return seed, record_seed("trace-copy", seed, mutant="dup", scenario=CopyScenario())[1]


@pytest.fixture
def registered(monkeypatch):
    """Register the test scenario under its name, as an entry point would."""
    real = sim.available_scenarios

    def scenarios():
        return dict(real(), **{"trace-copy": "tests.modelcheck._trace_scenario:CopyScenario"})

    monkeypatch.setattr(sim, "available_scenarios", scenarios)


def test_plain_step_list(failing):
    _, trace = failing
    lines = render_lines(trace)
    steps = [line for line in lines if re.match(r"(!!|  )\s*\d+ t=", line)]
    assert len(steps) == len(trace.events)
    v = trace.violation["step"]
    marked = [line for line in steps if line.startswith("!!")]
    assert marked == [steps[v]] and f" {v} t={trace.events[v].t}" in marked[0]
    assert lines[-1].startswith("safety violation of prefix at step")
    first = trace.events[0]
    assert first.kind in steps[0] and trace.node_names()[first.node] in steps[0]
    assert len(render_lines(trace, first=3, last=5)) == len(lines) - len(steps) + 3


def test_colour_only_when_asked_or_on_a_terminal(failing):
    _, trace = failing
    plain, coloured = io.StringIO(), io.StringIO()
    show(trace, file=plain)  # StringIO is not a terminal: plain
    show(trace, file=coloured, color=True)
    assert "\x1b[" not in plain.getvalue()
    assert "\x1b[" in coloured.getvalue()
    squash = lambda s: [" ".join(line.split()) for line in s.splitlines()]  # noqa: E731
    assert squash(ANSI.sub("", coloured.getvalue())) == squash(plain.getvalue())


def test_state_lines_show_each_nodes_view(failing):
    _, trace = failing
    v = trace.violation["step"]
    text = "\n".join(state_lines(trace, v))
    receiver = trace.states_at(v)[0]
    assert f"values = [{', '.join(map(str, receiver['values']))}]" in text
    assert "sender:" in text and "acked = " in text


def test_html_page_is_self_contained(failing):
    _, trace = failing
    page = render_html(trace)
    assert page.startswith("<!DOCTYPE html>")
    for needle in ("<link", " src=", "@import", "url(http", "fetch(", "XMLHttpRequest"):
        assert needle not in page
    data = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page, re.S)
    assert json.loads(data.group(1)) == json.loads(trace.dumps())


def test_html_escapes_script_endings_in_the_data():
    nasty = "</script><script>alert(1)</script><!--"
    trace = Trace({"scenario": nasty}, [TraceEvent(0, 0, "log", {"text": nasty})])
    page = render_html(trace)
    assert page.count("</script>") == 2  # the data element's and the viewer's own
    data = re.search(r'id="trace-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(data)["events"][0]["fields"]["text"] == nasty
    assert "<title>modelcheck trace: &lt;/script&gt;" in page


def test_cli_show_and_html(failing, tmp_path, capsys):
    _, trace = failing
    path = trace.save(tmp_path / "t.trace.json")
    assert main(["show", str(path), "--no-color", "--to", "2", "--state", "5"]) == 0
    out = capsys.readouterr().out
    assert "state at step 5:" in out and len(re.findall(r"^\s+\d+ t=", out, re.M)) == 3
    html = tmp_path / "t.html"
    assert main(["show", str(path), "-o", str(html)]) == 0
    assert html.read_text().count('id="trace-data"') == 1
    assert main(["show", str(path), "--state", "99999"]) == 2


def test_cli_bad_trace_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "modelcheck-trace", "version": 1, "header": {},
                               "events": [{"t": -1, "node": 0, "kind": "x"}]}))
    assert main(["show", str(bad)]) == 2
    assert "events[0].t" in capsys.readouterr().err
    assert main(["replay", str(bad)]) == 2
    assert main(["replay"]) == 2
    assert "exactly one of" in capsys.readouterr().err


def test_cli_replay_trace_confirms_or_not(failing, tmp_path, capsys, registered):
    _, trace = failing
    path = trace.save(tmp_path / "t.trace.json")
    again = tmp_path / "again.trace.json"
    assert main(["replay", str(path), "--trace", str(again)]) == 1
    err = capsys.readouterr().err
    assert "via=choices" in err and "reproduced: safety violation of prefix" in err
    assert again.read_text() == path.read_text()
    fixed = Trace(dict(trace.header, mutant=None), trace.events, trace.snapshots)
    fixed_path = fixed.save(tmp_path / "fixed.trace.json")
    assert main(["replay", str(fixed_path)]) == 0
    assert "no longer reproduces" in capsys.readouterr().err


def test_cli_run_writes_traces_of_failing_seeds(tmp_path, capsys, registered):
    out = tmp_path / "traces"
    first = tmp_path / "first.trace.json"
    code = main(["run", "--scenario", "trace-copy", "--mutant", "dup", "--seeds", "6",
                 "--workers", "1", "--no-progress", "--trace-dir", str(out), "--trace-max", "2",
                 "--trace", str(first)])
    assert code == 1
    files = sorted(out.iterdir())
    assert 1 <= len(files) <= 2 and files[0].name.startswith("trace-copy-dup-seed")
    for f in files:
        t = load_trace(f)
        assert t.violation["property"] == "prefix" and t.snapshots
    assert load_trace(first).header["seed"] == load_trace(files[0]).header["seed"]
    assert "modelcheck show" in capsys.readouterr().err


def test_cli_replay_seed_writes_a_trace(tmp_path, registered):
    path = tmp_path / "s.trace.json"
    assert main(["replay", "--scenario", "reliable-copy", "--seed", "2", "--trace",
                 str(path)]) == 0
    t = load_trace(path)
    assert t.header["seed"] == 2 and t.header["outcome"] == "ok" and t.events
