"""modelcheck.trace: the format, the recorder, loading errors, and replay."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

import pytest

from modelcheck._trace_run import events_from_log, record_seed, replay_trace, trace_file_name
from modelcheck.errors import TraceError
from modelcheck.sim import load_scenario
from modelcheck.trace import (
    FORMAT,
    VERSION,
    Trace,
    TraceRecorder,
    json_safe,
    load_trace,
    loads_trace,
)
from tests.modelcheck._trace_scenario import CopyScenario, find_failing_seed

SCENARIO = CopyScenario()


@pytest.fixture(scope="module")
def failing():
    seed = find_failing_seed()
    result, trace = record_seed("trace-copy", seed, mutant="dup", scenario=SCENARIO)
    return seed, result, trace


def test_trace_records_the_run_exactly(failing):
    seed, result, trace = failing
    full = SCENARIO.run_seed(seed, mutant="dup", keep_log=True)
    # The trace's events are the event log, line for line.
    assert trace.log_lines() == full.log_lines
    assert trace.header["log_digest"] == full.log_digest
    sends = [e for e in trace.events if e.kind == "send"]
    assert sends and all(e.id == e.fields["id"] for e in sends)
    assert trace.header["choices"] and all(isinstance(c, int) for c in trace.choices)
    v = trace.violation
    assert v["property"] == "prefix" and v["outcome"] == "safety"
    assert 0 <= v["step"] < len(trace.events)
    assert v["t"] == trace.events[v["step"]].t
    assert {n["name"] for n in trace.header["nodes"]} == {"sender", "receiver"}
    assert trace.header["options"]["network"]["keepalive_timeout"] == 80


def test_snapshots_only_when_a_view_changes(failing):
    _, _, trace = failing
    snaps = trace.snapshots
    assert snaps, "the recorder took no snapshot"
    assert [s.step for s in snaps] == sorted(s.step for s in snaps)
    last: dict[int, object] = {}
    for s in snaps:
        assert last.get(s.node) != s.view  # never two equal views in a row for a node
        last[s.node] = s.view
    receiver = next(n["id"] for n in trace.header["nodes"] if n["name"] == "receiver")
    end = trace.states_at(len(trace.events) - 1)[receiver]
    assert end["_type"] == "ReceiverView"
    assert end["values"][-1] != len(end["values"])  # the duplicate the violation is about
    assert trace.states_at(-1).get(receiver, {"values": []})["values"] == []


def test_snapshot_cap_is_reported():
    rec = TraceRecorder(max_snapshots=3)
    SCENARIO.run_seed(1, recorder=rec)
    trace = rec.trace({"scenario": "trace-copy", "seed": 1})
    assert len(trace.snapshots) == 3 and trace.header["snapshots_truncated"] is True


def test_dumps_is_deterministic_and_round_trips(failing, tmp_path):
    seed, _, trace = failing
    text = trace.dumps()
    again = record_seed("trace-copy", seed, mutant="dup", scenario=SCENARIO)[1]
    assert again.dumps() == text
    path = trace.save(tmp_path / "sub" / trace_file_name(trace))
    assert path.name == f"trace-copy-dup-seed{seed}.trace.json"
    loaded = load_trace(path)
    assert loaded.dumps() == text
    doc = json.loads(text)
    assert doc["format"] == FORMAT and doc["version"] == VERSION


def test_replay_through_recorded_choices_is_identical(failing):
    _, result, trace = failing
    report = replay_trace(trace, scenario=SCENARIO)
    assert report.via == "choices" and report.reproduced and report.same_log
    assert report.trace.dumps() == trace.dumps()
    assert report.exit_code == 1


def test_replay_says_when_a_violation_no_longer_reproduces(failing):
    _, _, trace = failing
    fixed = Trace(dict(trace.header, mutant=None, choices=None), trace.events)
    report = replay_trace(fixed, scenario=SCENARIO)
    assert report.via == "seed" and not report.reproduced and report.exit_code == 0


def test_replay_falls_back_to_the_seed_when_choices_diverge(failing):
    _, _, trace = failing
    short = Trace(dict(trace.header, choices=trace.choices[:5]), trace.events)
    report = replay_trace(short, scenario=SCENARIO)
    assert report.via == "seed" and "diverged" in report.note and report.reproduced


def test_recorder_keeps_the_scenarios_own_hooks():
    # The scenario checks its property in on_actor_step; attaching the recorder
    # must not disconnect it (the dup mutant is still caught, at the same step).
    plain = SCENARIO.run_seed(1, mutant="dup")
    rec = TraceRecorder()
    traced = SCENARIO.run_seed(1, mutant="dup", recorder=rec)
    assert plain.failed and traced.facts == plain.facts
    assert traced.log_digest == plain.log_digest


def test_scenario_without_recorder_is_traced_from_its_log():
    result, trace = record_seed("reliable-copy", 3)
    full = load_scenario("reliable-copy").run_seed(3, keep_log=True)
    assert trace.log_lines() == full.log_lines
    assert trace.snapshots == [] and "choices" not in trace.header
    drops = [e for e in trace.events if e.kind == "drop"]  # plain tasks log no recv
    assert drops and all(isinstance(e.id, int) and e.id == e.fields["id"] for e in drops)
    send = next(e for e in trace.events if e.kind == "send")
    assert send.fields["msg"].startswith("Cell(") and isinstance(send.fields["conn"], int)


def test_events_from_log_keeps_bracketed_values_whole():
    [e] = events_from_log(["t=5 node=2 send conn=1 to=0 id=9 msg=X(a=1, b=[2, 3]) delay=4"])
    assert (e.t, e.node, e.kind, e.id) == (5, 2, "send", 9)
    assert e.fields == {"conn": 1, "to": 0, "id": 9, "msg": "X(a=1, b=[2, 3])", "delay": 4}
    with pytest.raises(TraceError, match="line 1"):
        events_from_log(["garbage"])


class Colour(enum.Enum):
    RED = 1


@dataclass(frozen=True)
class Inner:
    term: int
    history: tuple[tuple[int, int], ...]


def test_json_safe_makes_plain_data():
    value = {"inner": Inner(3, ((1, 0), (3, 10))), "c": Colour.RED, "s": frozenset({"b", "a"}),
             "raw": b"\x00\x01", "big": 1 << 62, 7: None}
    out = json_safe(value)
    assert out == {"inner": {"_type": "Inner", "term": 3, "history": [[1, 0], [3, 10]]},
                   "c": "RED", "s": ["a", "b"], "raw": out["raw"], "big": str(1 << 62),
                   "7": None}
    assert out["raw"].startswith("<2B:")
    json.dumps(out)  # must not raise
    assert json_safe(list(range(1000)))[-1] == "... 744 more"


def _doc(failing):
    return json.loads(failing[2].dumps())


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("format"), "format"),
    (lambda d: d.update(version=VERSION + 1), "version is 2, newer"),
    (lambda d: d.update(version="1"), "version"),
    (lambda d: d.update(header=[]), "header"),
    (lambda d: d["header"].update(seed="x"), "header.seed"),
    (lambda d: d["header"].update(choices=[1, -2]), r"header.choices\[1\]"),
    (lambda d: d["events"][3].update(t="soon"), r"events\[3\]\.t"),
    (lambda d: d["events"][4].pop("kind"), r"events\[4\]\.kind"),
    (lambda d: d["events"][2].update(fields=[1]), r"events\[2\]\.fields"),
    (lambda d: d["snapshots"][0].update(step=10**6), r"snapshots\[0\]\.step"),
    (lambda d: d["header"]["violation"].pop("property"), "header.violation.property"),
    (lambda d: d.update(events={}), "events"),
])
def test_malformed_traces_name_the_field(failing, mutate, field):
    doc = _doc(failing)
    mutate(doc)
    with pytest.raises(TraceError, match=field):
        loads_trace(json.dumps(doc), "t.json")


def test_unreadable_trace_files(tmp_path):
    with pytest.raises(TraceError, match="cannot read trace"):
        load_trace(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TraceError, match="not valid JSON"):
        load_trace(bad)
    bad.write_text("[]")
    with pytest.raises(TraceError, match="JSON object"):
        load_trace(bad)


def test_a_stateful_style_trace_loads():
    # Drivers that record actions instead of events (the Hypothesis driver) share the format.
    doc = {"format": FORMAT, "version": 1, "header": {"driver": "stateful", "machine": "m:M"},
           "actions": [{"kind": "deliver"}]}
    trace = loads_trace(json.dumps(doc))
    assert trace.events == [] and trace.actions == [{"kind": "deliver"}]
    with pytest.raises(TraceError, match="cannot replay"):
        replay_trace(trace)
