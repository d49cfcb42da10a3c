import os
import subprocess
import sys

from modelcheck.actor import Actor
from modelcheck.world import World

_DUMP_LOG = (
    "import sys; from examples.reliable_copy import build;"
    "w, _ = build(int(sys.argv[1]), 8); w.run(until_ms=1_000_000);"
    "sys.stdout.write('\\n'.join(w.log_lines()))"
)


def _log_in_subprocess(seed: int, hashseed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    return subprocess.run([sys.executable, "-c", _DUMP_LOG, str(seed)], env=env,
                          capture_output=True, text=True, check=True).stdout


def test_same_seed_same_log_bytes_under_any_hash_seed():
    a = _log_in_subprocess(17, "1")
    b = _log_in_subprocess(17, "4242")
    assert a == b and len(a.splitlines()) > 50


def test_different_seeds_give_different_schedules():
    from examples.reliable_copy import build

    digests = set()
    for seed in range(10):
        w, _ = build(seed, 8)
        w.run(until_ms=1_000_000)
        digests.add(w.log_digest())
    assert len(digests) == 10


class Counter(Actor):
    """Persists a counter on every timer tick, fsyncing only every other tick."""

    def __init__(self, nid: int) -> None:
        self.value = 0

    def on_start(self, ctx):
        raw = ctx.disk.read_all("count")
        self.value = int(raw) if raw else 0
        ctx.log("loaded", value=self.value)
        ctx.set_timer("tick", 10)

    def on_timer(self, ctx, name):
        self.value += 1
        ctx.disk.truncate("count", 0)
        ctx.disk.write("count", 0, str(self.value).encode())
        if self.value % 2 == 0:
            ctx.disk.fsync("count")
        ctx.set_timer("tick", 10)

    def view(self):
        return self.value


def test_actor_crash_restart_reloads_synced_state():
    w = World(1)
    node = w.add_actor(Counter, "counter")
    w.run(until_ms=35)  # ticks at 10, 20, 30 -> value 3, last fsync at 2
    assert node.actor.view() == 3
    w.crash(node)
    w.restart(node)
    w.run(until_ms=36)
    loaded = [line for line in w.log_lines() if "loaded" in line]
    assert loaded == ["t=0 node=0 loaded value=0", "t=35 node=0 loaded value=2"]


def test_crashed_actor_timers_do_not_fire_in_new_incarnation():
    w = World(1)
    node = w.add_actor(Counter, "counter")
    w.run(until_ms=15)
    w.crash(node)
    w.run(until_ms=100)
    assert not any(" timer " in line for line in w.log_lines()[3:])
    w.restart(node)
    w.run(until_ms=100)
    assert node.actor.view() >= 1
