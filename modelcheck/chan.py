"""Unbounded FIFO channels between tasks: ``send`` never blocks, ``recv`` awaits."""

from __future__ import annotations

from collections import deque
from typing import Any, Generic, TypeVar

from modelcheck.executor import Executor, Task, park, sleep

T = TypeVar("T")

_TIMEOUT = object()


class Chan(Generic[T]):
    """An unbounded FIFO queue whose receivers block until an item arrives.

    >>> from modelcheck.executor import Executor
    >>> ex = Executor(); ch = Chan(ex); got = []
    >>> async def rx():
    ...     got.append(await ch.recv())
    >>> _ = ex.spawn(rx(), "rx"); _ = ex.step(); ch.send(5); ex.run(); got
    [5]
    """

    __slots__ = ("_executor", "_items", "_waiters")

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._items: deque[T] = deque()
        self._waiters: list[Task] = []

    def __len__(self) -> int:
        return len(self._items)

    def send(self, item: T) -> None:
        """Append ``item`` and wake every task waiting on this channel."""
        self._items.append(item)
        if self._waiters:
            wake = self._executor.wake
            for task in self._waiters:
                wake(task)
            self._waiters.clear()

    def try_recv(self) -> T | None:
        """Pop the oldest item, or return None when empty."""
        return self._items.popleft() if self._items else None

    async def recv(self) -> T:
        """Wait for an item and pop it."""
        items = self._items
        while not items:
            self._waiters.append(self._executor.current)  # type: ignore[arg-type]
            await park()
        return items.popleft()

    async def recv_timeout(self, timeout_ms: int) -> T | Any:
        """Wait at most ``timeout_ms`` for an item; return :data:`TIMEOUT` if none came."""
        ex = self._executor
        deadline = ex.now + timeout_ms
        items = self._items
        me = ex.current
        while not items:
            if ex.now >= deadline:
                if me in self._waiters:  # leave no stale registration behind
                    self._waiters.remove(me)  # type: ignore[arg-type]
                return _TIMEOUT
            self._waiters.append(me)  # type: ignore[arg-type]
            await sleep(deadline - ex.now)
        return items.popleft()

    def clear(self) -> None:
        """Drop every queued item."""
        self._items.clear()


TIMEOUT = _TIMEOUT
