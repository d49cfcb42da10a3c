import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.stateful import run_state_machine_as_test

from modelcheck._stateful_io import NO_EXPLAIN
from modelcheck.errors import InvalidArgument, TraceError
from modelcheck.network import Delay, NetworkOptions
from modelcheck.stateful import (
    HypothesisChooser,
    SystemMachine,
    WorldMachine,
    profile_settings,
    read_trace,
    replay_trace,
)
from modelcheck.system import Budgets, System
from modelcheck.world import World
from properties.core import always, eventually
from tests.modelcheck._toy import build, prefix_ok


def copied(view):
    return view[1] is not None and list(view[1][1]) == [1, 2, 3]


class ToyMachine(SystemMachine):
    buggy = False
    liveness_steps = 2000
    created: list = []

    def __init__(self):
        super().__init__()
        type(self).created.append(self)

    def build_system(self):
        return build(System(budgets=Budgets(crashes_max=1, drops_max=2)), 3, self.buggy)

    def properties(self):
        return [always("prefix", prefix_ok),
                eventually("copied", copied, within_ms=1_000_000)]


class BuggyToy(ToyMachine):
    buggy = True
    created: list = []


class BuggyToyNoLiveness(BuggyToy):
    liveness_steps = 0
    created: list = []


def _fast(**kw):
    base = dict(max_examples=60, stateful_step_count=40, deadline=None, database=None,
                derandomize=True, phases=NO_EXPLAIN)
    base.update(kw)
    return settings(**base)


def _program(exc):
    notes = "\n".join(getattr(exc, "__notes__", []))
    return [line for line in notes.splitlines()
            if line.startswith("state.") and not line.startswith("state.properties_hold")
            and line != "state.teardown()"]


def test_correct_toy_passes_ci_profile(tmp_path):
    ToyMachine.trace_directory = str(tmp_path)
    run_state_machine_as_test(ToyMachine, settings=profile_settings("ci"))
    assert not list(tmp_path.iterdir())


def test_buggy_toy_fails_shrinks_and_writes_a_replayable_trace(tmp_path):
    BuggyToy.trace_directory = str(tmp_path)
    with pytest.raises(AssertionError, match="always property 'prefix' violated") as info:
        run_state_machine_as_test(BuggyToy, settings=_fast())
    program = _program(info.value)
    # e.g. two time steps (the retry timer fires, a second connection resends cell #1)
    # and the liveness phase in teardown delivers both connections' cells: a duplicate
    assert 1 <= len(program) <= 8, program
    notes = "\n".join(info.value.__notes__)
    assert "state.teardown()" in notes
    path = BuggyToy.last_trace
    assert path is not None and path.parent == tmp_path
    trace = read_trace(path)
    assert trace.violation["property"] == "prefix" and trace.header["outcome"] == "safety"
    assert trace.header["machine"].endswith(":BuggyToy")
    assert trace.events and len(trace.actions) >= len(program)
    doc = json.loads(path.read_text())
    machine, violated = replay_trace(path)
    assert violated == "prefix"
    assert not prefix_ok(machine.observe())
    # the correct machine does not violate on the same actions
    doc["header"]["machine"] = doc["header"]["machine"].replace("BuggyToy", "ToyMachine")
    other = tmp_path / "other.trace.json"
    other.write_text(json.dumps(doc))
    assert replay_trace(other)[1] is None


def test_failing_example_is_saved_and_replayed_first(tmp_path):
    db = DirectoryBasedExampleDatabase(str(tmp_path / "db"))
    machine = BuggyToyNoLiveness
    machine.trace_directory = str(tmp_path / "traces")
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine, settings=_fast(database=db, derandomize=False))
    assert any((tmp_path / "db").rglob("*"))
    machine.created = []
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine, settings=_fast(database=db, derandomize=False))
    first = machine.created[0]
    assert first.failed == "prefix"  # the saved example ran first, and failed at once


def test_bad_trace_files_raise_trace_error(tmp_path):
    p = tmp_path / "x.trace.json"
    p.write_text(json.dumps({"format": "modelcheck-trace", "version": 1, "header": {}}))
    with pytest.raises(TraceError, match="driver=None"):
        read_trace(p)
    p.write_text(json.dumps({"format": "modelcheck-trace", "version": 1, "header": {
        "driver": "stateful", "machine": "tests.modelcheck.test_stateful:NoSuch"},
        "actions": []}))
    with pytest.raises(TraceError, match="cannot be loaded"):
        replay_trace(p)


def test_profiles_are_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("MODELCHECK_PROFILE", "long")
    assert profile_settings().max_examples == 2000
    monkeypatch.setenv("MODELCHECK_PROFILE", "nope")
    with pytest.raises(InvalidArgument, match="available: dev, ci, long"):
        profile_settings()
    monkeypatch.delenv("MODELCHECK_PROFILE")
    assert profile_settings().max_examples == profile_settings("dev").max_examples


# -- the coarse machine over the timed World ---------------------------------------------

NET = NetworkOptions(keepalive_timeout=300, connect_delay=Delay(1, 20, 0.1),
                     send_delay=Delay(1, 20, 0.1))


class ToyWorld(WorldMachine):
    buggy = False
    stretch_ms_max = 500

    def build_world(self, chooser):
        return build(World(chooser=chooser, network=NET), 3, self.buggy)

    def observe(self):
        return tuple(n.actor.view() if n.actor is not None else None for n in self.world.nodes)

    def properties(self):
        return [always("prefix", prefix_ok)]


class BuggyToyWorld(ToyWorld):
    buggy = True


def test_coarse_machine_correct_passes_and_buggy_fails(tmp_path):
    ToyWorld.trace_directory = BuggyToyWorld.trace_directory = str(tmp_path)
    run_state_machine_as_test(ToyWorld, settings=_fast(max_examples=30, stateful_step_count=5))
    with pytest.raises(AssertionError, match="'prefix' violated") as info:
        run_state_machine_as_test(BuggyToyWorld, settings=_fast(max_examples=200,
                                                                stateful_step_count=5))
    assert 1 <= len(_program(info.value)) <= 2
    machine, violated = replay_trace(BuggyToyWorld.last_trace)
    assert violated == "prefix"


# -- a whole simulator run driven by Hypothesis data -------------------------------------

def test_hypothesis_chooser_primitives():
    @given(st.data())
    @settings(max_examples=20, database=None)
    def check(data):
        c = HypothesisChooser(data, draws_max=5)
        assert c.chance(0.0) is False and c.chance(1.0) is True and c.below(1) == 0
        assert c.draws == 0
        values = [c.below(7) for _ in range(10)]  # 5 draws, then the seeded rest
        assert all(0 <= v < 7 for v in values) and c.draws == 5
    check()
    with pytest.raises(InvalidArgument):
        HypothesisChooser(object())


def test_whole_world_run_from_hypothesis_data_shrinks():
    runs = []

    @given(st.data())
    @settings(max_examples=300, database=None, deadline=None, derandomize=True)
    def run(data):
        chooser = HypothesisChooser(data)
        world = build(World(chooser=chooser, network=NET), 3, buggy=True)
        world.run(until_ms=2000)
        runs.append(chooser.draws)
        assert prefix_ok((None, world.nodes[1].actor.view()))

    with pytest.raises(AssertionError):
        run()
    assert len(runs) > 1 and runs[-1] <= max(runs)
