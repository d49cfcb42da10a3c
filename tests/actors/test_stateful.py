import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from actors.stateful import WalConsensusMachine
from modelcheck.stateful import profile_settings, replay_trace


class BadQuorum(WalConsensusMachine):
    mutant = "bad-quorum"


def _steps(exc):
    notes = "\n".join(getattr(exc, "__notes__", []))
    return [line for line in notes.splitlines()
            if line.startswith("state.") and not line.startswith("state.properties_hold")
            and line != "state.teardown()"]


def test_correct_protocol_passes_a_ci_run(tmp_path):
    WalConsensusMachine.trace_directory = str(tmp_path)
    ci = profile_settings("ci")
    run_state_machine_as_test(WalConsensusMachine,
                              settings=settings(ci, max_examples=15, stateful_step_count=15))
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_bad_quorum_is_found_shrunk_and_replays(tmp_path):
    # Finding takes seconds; Hypothesis' shrinking of these coarse runs can take up to its
    # own 5-minute cap (measured once: ~5 min), hence slow.
    BadQuorum.trace_directory = str(tmp_path)
    with pytest.raises(AssertionError, match="property .* violated") as info:
        run_state_machine_as_test(BadQuorum, settings=settings(
            max_examples=300, stateful_step_count=40, deadline=None, database=None,
            derandomize=True))
    steps = _steps(info.value)
    print(f"bad-quorum shrunk program: {len(steps)} steps: {steps}")
    assert 1 <= len(steps) <= 40, steps
    machine, violated = replay_trace(BadQuorum.last_trace)
    assert violated == machine.failed is not None
