import json
import os
import subprocess
import sys

import pytest

from modelcheck.actor import Actor
from modelcheck.choice import SeededChooser
from modelcheck.errors import InvalidArgument, TaskFailed, TraceError
from modelcheck.system import (
    Budgets,
    Crash,
    Deliver,
    Disconnect,
    Drop,
    FireTimer,
    Heal,
    Isolate,
    Restart,
    System,
    Tick,
    action_from_dict,
    action_to_dict,
    sort_key,
)
from tests.modelcheck._toy import Ack, Cell, build, prefix_ok


def random_walk(seed, steps=200, buggy=False, budgets=None):
    s = build(System(budgets=budgets or Budgets(crashes_max=1, drops_max=2)), buggy=buggy)
    c = SeededChooser(seed)
    for _ in range(steps):
        enabled = s.enabled_actions()
        if not enabled:
            break
        s.apply(c.pick(enabled))
    return s


def test_enabled_actions_are_sorted_and_equal_for_equal_systems():
    a, b = random_walk(5, 40), random_walk(5, 40)
    ea, eb = a.enabled_actions(), b.enabled_actions()
    assert ea == eb and ea == sorted(ea, key=sort_key) and ea
    assert a.fingerprint() == b.fingerprint() and a.log_lines() == b.log_lines()


def test_only_the_head_of_a_direction_is_deliverable_and_handshake_comes_first():
    s = build(System())
    delivers = [a for a in s.enabled_actions() if isinstance(a, Deliver)]
    assert delivers == [Deliver(0, 1, (0, 1, 0), 0)]  # the handshake, not Cell #1
    s.apply(delivers[0])
    assert "accept conn=0 from=0" in s.log_lines()[-1]
    s.apply(Deliver(0, 1, (0, 1, 0), 1))
    assert s.view()[1] == ("receiver", (1,))
    # the receiver's ack heads the other direction, numbered from 0
    assert Deliver(1, 0, (0, 1, 0), 0) in s.enabled_actions()
    with pytest.raises(InvalidArgument, match="not enabled"):
        s.apply(Deliver(0, 1, (0, 1, 0), 3))


def test_drop_breaks_the_direction_and_disconnect_follows():
    s = build(System())
    s.apply(Drop(0, 1, (0, 1, 0), 0))  # handshake lost: the whole connection is dead
    enabled = s.enabled_actions()
    assert not [a for a in enabled if isinstance(a, Deliver)]
    assert Disconnect(0, (0, 1, 0)) in enabled
    s.apply(Disconnect(0, (0, 1, 0)))
    assert s.log_lines()[-1].endswith("closed conn=0")
    # the retry timer reconnects on a new connection with serial 1
    s.apply(FireTimer(0, "retry"))
    assert Deliver(0, 1, (0, 1, 1), 0) in s.enabled_actions()


def test_crash_loses_memory_and_connections_restart_reads_disk():
    s = build(System())
    for n in range(3):
        s.apply(Deliver(0, 1, (0, 1, 0), n))
    assert s.view()[1] == ("receiver", (1, 2))
    s.apply(Crash(1))
    assert s.view()[1] is None
    enabled = s.enabled_actions()
    assert Restart(1) in enabled and Crash(0) not in enabled  # crash budget 1 used
    # what the receiver sent before crashing still arrives; then the end is dead
    assert Disconnect(0, (0, 1, 0)) not in enabled
    s.apply(Deliver(1, 0, (0, 1, 0), 0))
    s.apply(Deliver(1, 0, (0, 1, 0), 1))
    assert s.view()[0] == ("sender", 2)
    assert Disconnect(0, (0, 1, 0)) in s.enabled_actions()
    s.apply(Restart(1))
    assert s.view()[1] == ("receiver", (1, 2))  # fsynced values survive


def test_isolate_drops_in_flight_and_heal_reenables_new_connections():
    s = build(System())
    s.apply(Isolate(0))
    assert Heal() in s.enabled_actions()
    assert not [a for a in s.enabled_actions() if isinstance(a, Deliver)]
    s.apply(Heal())
    s.apply(FireTimer(0, "retry"))
    assert Deliver(0, 1, (0, 1, 1), 0) in s.enabled_actions()


def test_budgets_bound_faults_and_are_validated():
    s = build(System(budgets=Budgets(crashes_max=0, drops_max=0, partitions_max=0)))
    kinds = {type(a) for a in s.enabled_actions()}
    assert kinds == {Deliver, FireTimer}
    s = build(System(budgets=Budgets(steps_max=2)))
    s.apply(s.enabled_actions()[0])
    s.apply(s.enabled_actions()[0])
    assert s.enabled_actions() == []
    with pytest.raises(InvalidArgument, match="Budgets.drops_max=-1"):
        Budgets(drops_max=-1)


def test_logical_clock_fires_timers_no_earlier_than_due():
    s = build(System())
    assert s.now == 0
    s.apply(Deliver(0, 1, (0, 1, 0), 0))
    assert s.now == 1
    s.apply(FireTimer(0, "retry"))
    assert s.now == 100  # set at t=0 for 100 ms
    s.apply(Tick(50))
    assert s.now == 151
    assert [due for due, _ in s.due_timers()] == [200]


def test_correct_protocol_keeps_prefix_and_buggy_one_breaks_it():
    for seed in range(30):
        s = build(System(budgets=Budgets(crashes_max=1, drops_max=2)))
        c = SeededChooser(seed)
        for _ in range(150):
            enabled = s.enabled_actions()
            if not enabled:
                break
            s.apply(c.pick(enabled))
            assert prefix_ok(s.view()), (seed, s.log_lines()[-5:])
    broken = 0
    for seed in range(30):
        s = build(System(), buggy=True)
        c = SeededChooser(seed)
        for _ in range(150):
            enabled = s.enabled_actions()
            if not enabled:
                break
            s.apply(c.pick(enabled))
            if not prefix_ok(s.view()):
                broken += 1
                break
    assert broken > 0


def test_replay_by_identity_reproduces_log_and_state():
    s = random_walk(11, 120)
    trace = json.loads(json.dumps([action_to_dict(a) for a in s.actions]))
    r = build(System(budgets=Budgets(crashes_max=1, drops_max=2)))
    r.replay(trace)
    assert r.log_lines() == s.log_lines()
    assert r.fingerprint(include_time=True) == s.fingerprint(include_time=True)


def test_message_names_survive_a_shorter_run():
    # Drop an early action: later actions that name messages by (conn, n) still apply.
    s = build(System())
    script = [Deliver(0, 1, (0, 1, 0), 0), FireTimer(0, "retry"), Deliver(0, 1, (0, 1, 1), 0),
              Deliver(0, 1, (0, 1, 1), 1), Deliver(0, 1, (0, 1, 0), 1)]
    s.replay(script)
    short = build(System())
    applied = short.replay(script[1:], strict=False)
    # the handshake of conn (0,1,0) was never delivered, so its message #1 is not the head
    assert applied == script[1:4]
    assert short.view()[1] == ("receiver", (1,))
    with pytest.raises(InvalidArgument, match="not enabled"):
        build(System()).replay(script[1:])


def test_actions_round_trip_and_bad_dicts_name_the_field():
    for a in random_walk(3, 80).actions + [Tick(5), Heal(), Isolate(1)]:
        assert action_from_dict(json.loads(json.dumps(action_to_dict(a)))) == a
    with pytest.raises(TraceError, match="kind='teleport'"):
        action_from_dict({"kind": "teleport"})
    with pytest.raises(TraceError, match="conn=\\[1, 2\\]"):
        action_from_dict({"kind": "deliver", "src": 0, "dst": 1, "conn": [1, 2], "n": 0})
    with pytest.raises(TraceError, match="needs field 'node'"):
        action_from_dict({"kind": "crash"})


def test_snapshot_is_hashable_plain_data_and_clone_is_independent():
    s = random_walk(7, 10)
    assert s.enabled_actions()
    snap = s.snapshot()
    hash(snap)
    c = s.clone()
    assert c.snapshot() == snap and c.fingerprint() == s.fingerprint()
    c.apply(c.enabled_actions()[0])
    assert s.snapshot() == snap and c.snapshot() != snap


_FP = ("from tests.modelcheck.test_system import random_walk; import sys;"
       "s = random_walk(9, 150); sys.stdout.write(s.fingerprint() + s.log_digest())")


def test_fingerprint_and_log_identical_under_any_hash_seed():
    outs = set()
    for hs in ("1", "777"):
        env = dict(os.environ, PYTHONHASHSEED=hs)
        outs.add(subprocess.run([sys.executable, "-c", _FP], env=env, capture_output=True,
                                text=True, check=True).stdout)
    assert len(outs) == 1


class Boom(Actor):
    def on_start(self, ctx):
        ctx.set_timer("t", 1)

    def on_timer(self, ctx, name):
        raise RuntimeError("kaput")


def test_actor_exception_is_a_task_failure():
    s = System()
    s.add_actor(lambda nid: Boom(), "boom")
    with pytest.raises(TaskFailed, match="boom/actor.*kaput"):
        s.apply(FireTimer(0, "t"))


def test_ack_and_cell_are_the_toy_messages():
    assert Cell(0, 1) != Ack(1)
