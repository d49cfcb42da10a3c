import time

import pytest

from modelcheck.chan import TIMEOUT, Chan
from modelcheck.choice import SeededChooser
from modelcheck.errors import DeadlockError, TaskFailed
from modelcheck.executor import Executor, sleep, yield_now


def test_one_hour_of_virtual_time_is_fast():
    ex = Executor()
    woke = []

    async def sleeper():
        for _ in range(60):
            await sleep(60_000)
        woke.append(ex.now)

    ex.spawn(sleeper(), "sleeper")
    start = time.perf_counter()
    ex.run()
    assert woke == [3_600_000]
    assert time.perf_counter() - start < 0.5


def test_time_jumps_only_when_nothing_runs():
    ex = Executor()
    seen = []

    async def busy():
        for _ in range(3):
            seen.append(("busy", ex.now))
            await yield_now()

    async def lazy():
        await sleep(10)
        seen.append(("lazy", ex.now))

    ex.spawn(busy(), "busy")
    ex.spawn(lazy(), "lazy")
    ex.run()
    assert [t for _, t in seen if _ == "busy"] == [0, 0, 0]
    assert ("lazy", 10) in seen


def test_runnable_order_is_a_choice_and_differs_between_seeds():
    def order(seed):
        ex = Executor(SeededChooser(seed))
        out = []

        async def worker(i):
            out.append(i)

        for i in range(6):
            ex.spawn(worker(i), f"w{i}")
        ex.run()
        return out

    orders = {tuple(order(s)) for s in range(20)}
    assert len(orders) > 5
    assert order(4) == order(4)


def test_deadlock_names_blocked_tasks_and_time():
    ex = Executor()
    ch = Chan(ex)

    async def waiter():
        await sleep(7)
        await ch.recv()

    ex.spawn(waiter(), "stuck-reader")
    with pytest.raises(DeadlockError) as info:
        ex.run()
    assert info.value.now_ms == 7
    assert "stuck-reader" in str(info.value) and "t=7" in str(info.value)


def test_daemons_waiting_is_idle_not_deadlock():
    ex = Executor()
    ch = Chan(ex)

    async def server():
        while True:
            await ch.recv()

    ex.spawn(server(), "server", daemon=True)
    ex.run()
    assert ex.idle


def test_task_exception_is_a_crash_outcome():
    ex = Executor()

    async def bad():
        await sleep(3)
        raise RuntimeError("boom")

    async def bystander():
        await sleep(100)

    ex.spawn(bad(), "bad")
    other = ex.spawn(bystander(), "bystander")
    with pytest.raises(TaskFailed, match="task bad failed at t=3 ms: RuntimeError: boom"):
        ex.run()
    assert not other.alive and ex.idle  # the failed run released every other task


def test_recv_timeout_and_stale_timer_do_not_misfire():
    ex = Executor()
    ch = Chan(ex)
    got = []

    async def rx():
        got.append(await ch.recv_timeout(100))
        got.append(ex.now)
        got.append(await ch.recv_timeout(50))
        got.append(ex.now)

    async def tx():
        await sleep(10)
        ch.send("x")

    ex.spawn(rx(), "rx")
    ex.spawn(tx(), "tx")
    ex.run()
    assert got == ["x", 10, TIMEOUT, 60]


def test_kill_stops_a_sleeping_task():
    ex = Executor()
    ran = []

    async def victim():
        await sleep(5)
        ran.append(1)

    t = ex.spawn(victim(), "victim")
    ex.step()
    ex.kill(t)
    ex.run()
    assert ran == [] and not t.alive


def test_run_until_stops_the_clock_there():
    ex = Executor()

    async def ticker():
        while True:
            await sleep(100)

    ex.spawn(ticker(), "ticker", daemon=True)
    ex.run(until_ms=250)
    assert ex.now == 250
