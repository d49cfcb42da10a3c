"""A deterministic scheduler: one task at a time, in virtual time.

Tasks are ordinary ``async def`` coroutines driven by this loop, not by
asyncio. They block only through the awaitables defined here (:func:`sleep`,
:func:`yield_now`, :func:`park`) or through primitives built on them
(``modelcheck.chan``). Rules:

* exactly one task runs at a time, until it blocks or finishes;
* virtual time is an integer number of milliseconds and moves only when no
  task can run: then it jumps to the earliest pending timer, and every timer
  due at that instant fires (in the order they were set);
* when several tasks are runnable, which one goes next is a choice of the
  executor's :class:`~modelcheck.choice.Chooser`;
* when nothing can run and no timer is pending, the run is over: *idle* if
  every blocked task is a daemon (a server waiting for work), a
  :class:`~modelcheck.errors.DeadlockError` naming the blocked tasks otherwise.

A woken task may find its condition still false (a stale timer or a second
waker); blocking primitives re-check in a loop, as in the original simulator.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Coroutine
from typing import Any

from modelcheck.choice import Chooser, SeededChooser
from modelcheck.errors import DeadlockError, InvalidArgument, TaskFailed


class _Command:
    """What a task hands to the loop when it blocks."""

    __slots__ = ("delay_ms",)

    def __init__(self, delay_ms: int) -> None:
        self.delay_ms = delay_ms

    def __await__(self):
        yield self


_PARK = _Command(-1)  # park until woken by someone else
_YIELD = _Command(0)  # run again on a later step


def park() -> _Command:
    """Block the current task until another party calls :meth:`Executor.wake` on it."""
    return _PARK


def yield_now() -> _Command:
    """Let other runnable tasks go first; the task runs again on a later step."""
    return _YIELD


def sleep(ms: int) -> _Command:
    """Block the current task for ``ms`` virtual milliseconds (may wake early, spuriously)."""
    if ms < 0:
        raise InvalidArgument(f"sleep: ms={ms} must be >= 0")
    return _Command(ms) if ms else _YIELD


class Task:
    """A coroutine under the executor's control."""

    __slots__ = ("tid", "name", "coro", "daemon", "alive", "runnable", "token", "result", "error")

    def __init__(self, tid: int, name: str, coro: Coroutine[Any, Any, Any], daemon: bool) -> None:
        self.tid = tid
        self.name = name
        self.coro = coro
        self.daemon = daemon
        self.alive = True
        self.runnable = False
        self.token = 0  # bumped on every wake-up; timers carrying an older token are stale
        self.result: Any = None
        self.error: BaseException | None = None

    def __repr__(self) -> str:
        state = "done" if not self.alive else ("runnable" if self.runnable else "blocked")
        return f"Task({self.tid}, {self.name!r}, {state})"


class Timer:
    """A handle to a scheduled callback; :meth:`cancel` makes it a no-op."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: int, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Executor:
    """Runs tasks and timers one step at a time under virtual time.

    >>> ex = Executor()
    >>> async def hello():
    ...     await sleep(3_600_000)
    ...     return ex.now
    >>> t = ex.spawn(hello(), "hello")
    >>> ex.run()
    >>> t.result
    3600000
    """

    def __init__(self, chooser: Chooser | None = None) -> None:
        self.chooser: Chooser = chooser if chooser is not None else SeededChooser(0)
        self.now = 0
        self.steps = 0
        self.current: Task | None = None
        self.tasks: list[Task] = []  # live tasks in spawn order
        self._runnable: list[Task] = []
        # (time, seq, target, token): token -1 = plain callback, 0 = Timer, >0 = task wake-up
        self._heap: list[tuple[int, int, Any, int]] = []
        self._seq = 0
        self._next_tid = 0
        self.on_task_done: Callable[[Task], None] | None = None

    # -- spawning and waking -------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str, *, daemon: bool = False) -> Task:
        """Register a coroutine as a task; it becomes runnable at once."""
        task = Task(self._next_tid, name, coro, daemon)
        self._next_tid += 1
        self.tasks.append(task)
        self.wake(task)
        return task

    def wake(self, task: Task) -> None:
        """Make a blocked task runnable (no-op if it already is, or is dead)."""
        if task.alive and not task.runnable:
            task.runnable = True
            task.token += 1
            self._runnable.append(task)

    def kill(self, task: Task) -> None:
        """Stop a task for good, wherever it is blocked (a crash: no cleanup runs)."""
        if not task.alive:
            return
        assert task is not self.current, "a task cannot kill itself; raise instead"
        task.alive = False
        if task.runnable:
            task.runnable = False
            self._runnable.remove(task)
        # Drop the frame without running its finally-blocks' awaits.
        task.coro.close()
        self.tasks.remove(task)

    # -- timers ----------------------------------------------------------------

    def call_at(self, when: int, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` (not a task: it must not block) at virtual time ``when``."""
        if when < self.now:
            raise InvalidArgument(f"call_at: when={when} is in the past (now={self.now})")
        timer = Timer(when, callback)
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, timer, 0))  # token 0: a Timer
        return timer

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` ``delay_ms`` virtual milliseconds from now."""
        return self.call_at(self.now + delay_ms, callback)

    def schedule(self, when: int, callback: Callable[[], None]) -> None:
        """Like :meth:`call_at` without a handle (cannot be cancelled; cheaper)."""
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, callback, -1))

    def next_timer_time(self) -> int | None:
        """The virtual time of the earliest live timer, or None."""
        heap = self._heap
        while heap:
            _, _, target, token = heap[0]
            if token < 0 or self._live(target, token):
                return heap[0][0]
            heapq.heappop(heap)
        return None

    @staticmethod
    def _live(target: Any, token: int) -> bool:
        if token < 0:
            return True
        if type(target) is Timer:
            return not target.cancelled
        return target.alive and not target.runnable and target.token == token

    # -- running ---------------------------------------------------------------

    def step(self) -> bool:
        """Run one task until it blocks, or else fire the next timers.

        Returns False when nothing can happen any more (idle or deadlocked).
        """
        self.steps += 1
        runnable = self._runnable
        if runnable:
            n = len(runnable)
            task = runnable.pop(self.chooser.below(n) if n > 1 else 0)
            task.runnable = False
            self._resume(task)
            return True
        return self._advance(None)

    def _advance(self, limit: int | None) -> bool:
        """Move time to the next timer (not past ``limit``) and fire all due there."""
        when = self.next_timer_time()
        if when is None:
            return False
        if limit is not None and when > limit:
            self.now = max(self.now, limit)
            return False
        self.now = when
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] == when:
            _, _, target, token = pop(heap)
            if token < 0:
                target()
            elif type(target) is Timer:
                if not target.cancelled:
                    target.cancelled = True
                    target.callback()
            elif target.alive and not target.runnable and target.token == token:
                target.runnable = True
                target.token += 1
                self._runnable.append(target)
        return True

    def _resume(self, task: Task) -> None:
        self.current = task
        try:
            command = task.coro.send(None)
        except StopIteration as stop:
            self.current = None
            self._finish(task, stop.value, None)
            return
        except BaseException as error:  # noqa: BLE001 - any failure of simulated code is a crash outcome
            self.current = None
            self._finish(task, None, error)
            self.close()  # the run is over: release every other coroutine frame now
            raise TaskFailed(task.name, self.now, error) from error
        self.current = None
        delay = command.delay_ms
        if delay == 0:
            self.wake(task)
        elif delay > 0:
            self._seq += 1
            heapq.heappush(self._heap, (self.now + delay, self._seq, task, task.token))

    def _finish(self, task: Task, result: Any, error: BaseException | None) -> None:
        task.alive = False
        task.result = result
        task.error = error
        self.tasks.remove(task)
        if self.on_task_done is not None:
            self.on_task_done(task)

    def run(
        self,
        until_ms: int | None = None,
        *,
        max_steps: int | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> None:
        """Step until idle, until virtual time ``until_ms``, ``max_steps``, or ``stop()``.

        Raises :class:`DeadlockError` when the run goes idle while a non-daemon
        task is still blocked, and :class:`TaskFailed` when a task raises.
        """
        budget = max_steps
        while budget is None or budget > 0:
            if budget is not None:
                budget -= 1
            if stop is not None and stop():
                return
            runnable = self._runnable
            if runnable:
                self.steps += 1
                n = len(runnable)
                task = runnable.pop(self.chooser.below(n) if n > 1 else 0)
                task.runnable = False
                self._resume(task)
                continue
            self.steps += 1
            if not self._advance(until_ms):
                if until_ms is None or self.next_timer_time() is None:
                    self.check_deadlock()
                return

    def close(self) -> None:
        """Kill every remaining task and drop every timer (the run is over)."""
        for task in list(self.tasks):
            self.kill(task)
        self._heap.clear()

    def check_deadlock(self) -> None:
        """Raise :class:`DeadlockError` if idle with a non-daemon task blocked."""
        if self._runnable or self.next_timer_time() is not None:
            return
        blocked = [t.name for t in self.tasks if t.alive and not t.daemon]
        if blocked:
            raise DeadlockError(self.now, blocked)

    @property
    def idle(self) -> bool:
        """True when nothing is runnable and no timer is pending."""
        return not self._runnable and self.next_timer_time() is None
