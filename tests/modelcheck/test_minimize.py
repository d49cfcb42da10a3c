"""The z3 minimiser: the search alone, toy machine traces, a walproposer trace."""

import itertools
import json

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from modelcheck._minimize_search import order_fewest_switches, search, switches
from modelcheck._trace_run import record_seed, replay_trace
from modelcheck.choice import SeededChooser
from modelcheck.cli import main
from modelcheck.errors import TaskFailed
from modelcheck.minimize import (
    CLAIM,
    MinimizeError,
    adapter_for,
    crash_signature,
    minimize_trace,
)
from modelcheck.stateful import SystemMachine
from modelcheck.system import Budgets, System, action_to_dict
from modelcheck.trace import Trace, event_from_tuple, load_trace
from properties.core import always
from tests.modelcheck._toy import Receiver, Sender, build, prefix_ok

# -- the search against a synthetic oracle ------------------------------------------------


def _chain_problem(n=12):
    """``n`` steps; 3 needs 1, 7 needs 3, 9 needs 8; the violation needs 7 and 9."""
    needs = [[] for _ in range(n)]
    needs[3], needs[7], needs[9] = [1], [3], [8]
    calls = []

    def oracle(order):
        calls.append(list(order))
        kept = set(order)
        ok = all(i in kept for j in kept for i in needs[j])  # the replay skips the rest
        return list(order) if ok and {7, 9} <= kept else None

    return needs, oracle, calls


@pytest.mark.parametrize("generalise", ["subsets", "exact"])
def test_search_finds_and_proves_the_smallest_set(generalise):
    n = 12 if generalise == "subsets" else 10  # exact blocking enumerates far more sets
    needs, oracle, calls = _chain_problem(n)
    res = search(n, needs, oracle, list(range(n)), budget_s=30, generalise=generalise)
    assert res.best == [1, 3, 7, 8, 9]
    assert res.proven
    assert res.replays == len(calls)
    # every candidate the oracle saw respected the needs that z3 was told about
    for order in calls:
        assert all(i in order for j in order for i in needs[j])


def test_search_without_greedy_still_proves_the_minimum():
    needs, oracle, _ = _chain_problem()
    res = search(12, needs, oracle, list(range(12)), budget_s=30, greedy=False)
    assert res.best == [1, 3, 7, 8, 9] and res.proven


def test_search_stops_at_the_replay_budget_unproven():
    needs, oracle, calls = _chain_problem()
    res = search(12, needs, oracle, list(range(12)), budget_s=30, max_replays=2)
    assert len(calls) == 2 and not res.proven
    assert {7, 9} <= set(res.best)


def test_fewest_switches_keeps_lanes_and_needs():
    lanes = [0, 1, 0, 1, 0, 1]
    needs = [[], [], [], [], [3], []]
    order = order_fewest_switches(range(6), needs, lanes)
    assert sorted(order) == list(range(6))
    for lane in (0, 1):
        mine = [s for s in order if lanes[s] == lane]
        assert mine == sorted(mine)
    assert order.index(3) < order.index(4)
    assert switches(order, lanes) < switches(list(range(6)), lanes)


# -- a toy machine's Hypothesis trace -------------------------------------------------------


class CopyMachine(SystemMachine):
    """The buggy reliable copy: a resend after a retry duplicates a value."""

    liveness_steps = 0

    def build_system(self):
        return build(System(budgets=Budgets(crashes_max=1, drops_max=1)), 3, True)

    def properties(self):
        return [always("prefix", prefix_ok)]


def _walk_trace(max_steps=10):
    """A seeded random walk of CopyMachine until ``prefix`` breaks, as a stateful trace."""
    for seed in range(200):
        machine = CopyMachine()
        machine.raise_on_failure = False
        chooser = SeededChooser(seed)
        for _ in range(max_steps):
            enabled = machine.system.enabled_actions()
            if not enabled:
                break
            machine.system.apply(enabled[chooser.below(len(enabled))])
            machine.check_now()
            if machine.failed:
                header = {"driver": "stateful", "machine": f"{__name__}:CopyMachine",
                          "outcome": "safety",
                          "violation": {"property": machine.failed, "message": "walk",
                                        "step": None}}
                return Trace(header, [event_from_tuple(e) for e in machine.system.events],
                             [], [action_to_dict(a) for a in machine.system.actions])
    raise AssertionError("no walk broke the property")


def _brute_force_smaller(trace, size):
    """No sub-list of the trace's steps (in their order) shorter than ``size`` violates."""
    adapter = adapter_for(trace)
    full = adapter.run(adapter.actions)
    steps = [adapter.actions[p] for p in full.applied]
    assert len(steps) <= 14, "the check is exponential"
    for k in range(size):
        for subset in itertools.combinations(range(len(steps)), k):
            run = adapter.run([steps[i] for i in subset])
            assert run.violation is None, (k, subset)


def test_toy_walk_minimises_and_is_proven_by_brute_force(tmp_path):
    trace = _walk_trace()
    report = minimize_trace(trace, budget_s=60, generalise="exact")
    assert report.property == "prefix" and report.proven_minimal
    assert report.minimized_length <= report.original_length
    out = report.trace
    assert out.header["driver"] == "minimize" and out.header["minimize"]["claim"] == CLAIM
    assert out.violation["property"] == "prefix"
    _brute_force_smaller(trace, report.minimized_length)
    path = out.save(tmp_path / "min.trace.json")
    again = replay_trace(load_trace(path))
    assert again.reproduced and again.same_log
    # the default (subset) generalisation reaches the same length
    assert minimize_trace(trace, budget_s=60).minimized_length == report.minimized_length


@pytest.mark.slow
def test_toy_hypothesis_trace_minimises_no_longer_than_hypothesis(tmp_path):
    CopyMachine.trace_directory = str(tmp_path)
    with pytest.raises(AssertionError, match="prefix"):
        run_state_machine_as_test(CopyMachine, settings=settings(
            max_examples=50, stateful_step_count=15, deadline=None, database=None,
            derandomize=True))
    trace = load_trace(CopyMachine.last_trace)
    report = minimize_trace(trace, budget_s=60, generalise="exact")
    assert report.property == "prefix" and report.proven_minimal
    assert report.minimized_length <= len(trace.actions)  # Hypothesis' shrunk program
    _brute_force_smaller(trace, report.minimized_length)


# -- a walproposer trace -------------------------------------------------------------------

# Seed 43 of bad-quorum breaks log_safety after 184 events (its shortest failing seed below
# 70); the Hypothesis machine over the walproposer is too slow for CI: its figure is in
# BENCHMARKS.md (## minimize).


@pytest.fixture(scope="module")
def bad_quorum(tmp_path_factory):
    result, trace = record_seed("walproposer", 43, mutant="bad-quorum")
    assert result.failed and result.property == "log_safety"
    path = trace.save(tmp_path_factory.mktemp("bq") / "bq.trace.json")
    return path, trace


def test_walproposer_trace_minimises_to_the_same_violation(bad_quorum, tmp_path):
    path, trace = bad_quorum
    out = tmp_path / "bq.min.trace.json"
    js = tmp_path / "bq.json"
    code = main(["minimize", str(path), "-o", str(out), "--json", str(js), "--budget-s", "60"])
    assert code == 0
    data = json.loads(js.read_text())
    assert data["original_length"] > data["minimized_length"] > 0
    assert data["replays"] >= 1 and data["elapsed_s"] > 0
    assert data["proven_minimal"] is True
    minimized = load_trace(out)
    assert len(minimized.actions) == data["minimized_length"]
    assert minimized.violation["property"] == "log_safety"
    assert len(minimized.events) < len(trace.events)
    report = replay_trace(minimized)
    assert report.reproduced and report.same_log
    assert main(["replay", str(out)]) == 1  # the CLI's safety exit code
    assert main(["show", str(out), "--no-color"]) == 0


def test_minimise_refuses_what_it_cannot_do(bad_quorum, tmp_path, capsys):
    path, trace = bad_quorum
    clean = load_trace(path)
    clean.header["violation"] = None
    with pytest.raises(MinimizeError, match="no violation"):
        minimize_trace(clean)
    with pytest.raises(MinimizeError, match="does not break 'election_safety'"):
        minimize_trace(trace, property="election_safety", budget_s=5)
    bad = tmp_path / "bad.trace.json"
    bad.write_text('{"format": "modelcheck-trace", "version": 1, "header": {}, "events": []}')
    assert main(["minimize", str(bad)]) == 2
    assert "no violation" in capsys.readouterr().err


# Every mutant the random simulator finds (seeds < 150 of walproposer, see BENCHMARKS.md
# ## minimize; the random hunt's overlap finds): its first failing seed minimises to a shorter
# trace that replays to the same violation; a crash to the same actor failing the same way.
_WP, _OVERLAP = "walproposer", "walproposer-overlap"
_FOUND = [
    (_WP, "vote-before-persist", 0, "acceptor_term_monotonic"),
    pytest.param(_WP, "bad-quorum", 53, "final_sync", marks=pytest.mark.slow),
    pytest.param(_WP, "commit-lsn-regress", 72, "commit_lsn_monotonic", marks=pytest.mark.slow),
    pytest.param(_WP, "ack-before-fsync", 46, "log_safety", marks=pytest.mark.slow),
    # a lingering proposer (scenario walproposer-overlap): a safekeeper refuses ProposerElected
    (_OVERLAP, "accept-stale-append", 417, "crash"),
    # the proposer's assertion on a safekeeper's term history
    pytest.param(_OVERLAP, "term-history-not-persisted", 323, "crash",
                 marks=pytest.mark.slow),
]


@pytest.mark.parametrize("scenario,mutant,seed,prop", _FOUND)
def test_every_found_mutant_minimises_to_the_same_violation(scenario, mutant, seed, prop):
    result, trace = record_seed(scenario, seed, mutant=mutant)
    assert result.failed and result.property == prop
    report = minimize_trace(trace, budget_s=90)
    assert report.property == prop
    assert 0 < report.minimized_length < report.original_length
    if scenario == _OVERLAP:  # the overlap is kept: some launch leaves its proposer running
        assert any(a["kind"] == "launch" and a.get("linger") for a in report.trace.actions)
    again = replay_trace(report.trace)
    assert again.reproduced and again.result.property == prop
    if prop == "crash":
        assert again.exit_code == 4
        assert (crash_signature(again.result.message)
                == crash_signature(trace.violation["message"]))


class _RaisingReceiver(Receiver):
    def on_message(self, ctx, src, msg):
        if msg.seqno < len(self.values):
            raise AssertionError(f"duplicate cell {msg.seqno}")
        super().on_message(ctx, src, msg)


class CrashMachine(SystemMachine):
    """The copy whose receiver raises on a duplicate: the violation is the crash outcome."""

    liveness_steps = 0

    def build_system(self):
        s = System(budgets=Budgets(crashes_max=0, drops_max=0))
        s.add_actor(lambda nid: Sender(nid, 2), "sender")
        s.add_actor(lambda nid: _RaisingReceiver(nid), "receiver")
        return s


def test_an_actor_that_raises_minimises_as_the_crash_outcome(tmp_path):
    machine = CrashMachine()
    chooser = SeededChooser(3)
    with pytest.raises(TaskFailed) as raised:
        for _ in range(40):
            enabled = machine.system.enabled_actions()
            machine.system.apply(enabled[chooser.below(len(enabled))])
    message = str(raised.value)
    header = {"driver": "stateful", "machine": f"{__name__}:CrashMachine", "outcome": "crash",
              "violation": {"property": "crash", "message": message, "outcome": "crash"}}
    trace = Trace(header, [], [], [action_to_dict(a) for a in machine.system.actions])
    report = minimize_trace(trace, budget_s=30)
    assert report.property == "crash" and report.proven_minimal
    assert report.minimized_length <= len(trace.actions)
    # the same actor failing the same way (crash_signature), not just any crash
    assert crash_signature(report.trace.violation["message"]) == crash_signature(message)
    again = replay_trace(load_trace(report.trace.save(tmp_path / "crash.trace.json")))
    assert again.reproduced and again.exit_code == 4
