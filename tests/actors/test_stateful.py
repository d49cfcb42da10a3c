import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from actors.stateful import FineWalConsensusMachine, WalConsensusMachine
from modelcheck._stateful_io import NO_EXPLAIN
from modelcheck.cli import main as cli_main
from modelcheck.errors import InvalidArgument
from modelcheck.stateful import profile_settings, read_trace, replay_trace
from modelcheck.system import Command, Deliver, FireTimer
from modelcheck.trace import load_trace


class CoarseVoteBeforePersist(WalConsensusMachine):
    mutant = "vote-before-persist"


class FineBadQuorum(FineWalConsensusMachine):
    mutant = "bad-quorum"


class FineSingleEvents(FineWalConsensusMachine):
    settle_steps = 0  # no macro step: only single events


def _steps(exc):
    notes = "\n".join(getattr(exc, "__notes__", []))
    return [line for line in notes.splitlines()
            if line.startswith("state.") and not line.startswith("state.properties_hold")
            and line != "state.teardown()"]


def _find(machine, **kw):
    base = dict(max_examples=300, stateful_step_count=20, deadline=None, database=None,
                derandomize=True, report_multiple_bugs=False, phases=NO_EXPLAIN)
    base.update(kw)
    with pytest.raises(AssertionError, match="property .* violated") as info:
        run_state_machine_as_test(machine, settings=settings(**base))
    return info.value


def test_correct_protocol_passes_a_ci_run(tmp_path):
    WalConsensusMachine.trace_directory = str(tmp_path)
    ci = profile_settings("ci")
    run_state_machine_as_test(WalConsensusMachine,
                              settings=settings(ci, max_examples=15, stateful_step_count=15))
    assert not list(tmp_path.iterdir())


def test_fine_correct_protocol_passes_a_ci_run(tmp_path):
    FineWalConsensusMachine.trace_directory = str(tmp_path)
    ci = profile_settings("ci")
    run_state_machine_as_test(FineWalConsensusMachine,
                              settings=settings(ci, max_examples=40, stateful_step_count=40))
    assert not list(tmp_path.iterdir())


def test_fine_bad_quorum_is_found_shrunk_and_replays(tmp_path, capsys):
    FineBadQuorum.trace_directory = str(tmp_path)
    exc = _find(FineBadQuorum)
    steps = _steps(exc)
    # e.g. settle (both elections), write_tx, settle (a commit acked by one safekeeper);
    # the explorer's shortest counterexample for this mutant on the spec is 5 states
    assert 1 <= len(steps) <= 8, steps
    path = FineBadQuorum.last_trace
    assert path is not None and path.parent == tmp_path
    trace = load_trace(path)  # what `modelcheck show` / `replay` read
    assert trace.header["driver"] == "stateful" and trace.header["mutant"] == "bad-quorum"
    assert trace.events and trace.violation["property"] in str(exc)
    machine, violated = replay_trace(path)
    assert violated == trace.violation["property"]
    assert machine.program == trace.actions  # the replay applied the same events
    # the command line reads it too: replay exits 1 (safety, reproduced), show draws it
    assert cli_main(["replay", str(path)]) == 1
    assert "reproduced: always property" in capsys.readouterr().err
    assert cli_main(["show", str(path), "--no-color"]) == 0
    assert "write_wal" in capsys.readouterr().out


def test_fine_single_events_reach_a_commit():
    # Driven by hand (a fair order), the fine machine's single-event rules elect a leader
    # and commit a write; the observer sees it and no property is violated.
    m = FineSingleEvents()
    m.raise_on_failure = False
    written = False
    for _ in range(400):
        if m.observer.commits and written:
            break
        if not written and m.commands():
            m.apply_action(m.commands()[0])
            written = True
            continue
        acts = [a for a in m.system.enabled_actions() if type(a) in (Deliver, FireTimer)]
        m.apply_action(acts[0])
    assert m.failed is None and written
    assert m.observer.elections and m.observer.commits
    assert any(line.split()[2] == "write_wal" for line in m.system.log_lines())
    m.teardown()
    assert m.failed is None


def test_fine_liveness_phase_commits_the_last_write():
    class Live(FineWalConsensusMachine):
        liveness_steps = 3000
    m = Live()
    m.raise_on_failure = False
    m.teardown()
    assert m.failed is None
    assert m.observer.commits and m.observer.commits[-1].lsn >= m.observer.last_written_lsn
    assert m.program[0] == {"kind": "liveness"}


def test_fine_write_command_needs_a_normal_proposer():
    m = FineWalConsensusMachine()
    assert m.commands() == []  # the sync-safekeepers proposer takes no writes
    proposer = m.system.nodes[m.wp.nid].actor
    with pytest.raises(InvalidArgument, match="write_tx"):
        proposer.on_command(None, "write_tx", 1)
    assert Command(m.wp.nid, "write_tx", 1) not in m.system.enabled_actions()


def test_coarse_machine_finds_shrinks_and_replays(tmp_path):
    # The coarse machine finds bad-quorum only now and then (about one derandomized sequence
    # in two within 1,000 examples, depending on the class name that seeds it: too much luck
    # for a test; the fine machine's test above covers bad-quorum). vote-before-persist needs
    # a crash inside the vote window, which its fault plans draw: every sequence tried found
    # it within 300 examples (0.7-5 s).
    CoarseVoteBeforePersist.trace_directory = str(tmp_path)
    exc = _find(CoarseVoteBeforePersist, max_examples=300, stateful_step_count=20)
    steps = _steps(exc)
    print(f"vote-before-persist shrunk program: {len(steps)} steps: {steps}")
    assert 1 <= len(steps) <= 20, steps
    last = CoarseVoteBeforePersist.last_trace
    assert read_trace(last).violation["property"] == "acceptor_term_monotonic"
    assert "acceptor_term_monotonic" in str(exc)
    machine, violated = replay_trace(last)
    assert violated == machine.failed is not None
