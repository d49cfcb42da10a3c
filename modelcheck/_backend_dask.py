"""The Dask distributed backend: a LocalCluster we start, or an existing scheduler.

Imported only when ``--cluster``/``--scheduler`` is used (Dask is the optional
``cluster`` extra). Each batch is one Dask task with a fresh key, submitted
through one client; results come back through done-callbacks into a queue,
so the shared :class:`~modelcheck.backends.BatchStream` sees them in
completion order. Dask itself reschedules a task whose worker died; to know
that it happened, every task logs a start event (batch index, worker, pid) on
a topic unique to the stream, and a batch that started more than once was
retried. Workers should run one thread each (``dask worker ADDR --nthreads
1``): the scenarios are pure Python, so threads would only share one core.
"""

from __future__ import annotations

import logging
import os
import queue
import time
import uuid
from collections.abc import Callable
from typing import Any

from distributed import Client, KilledWorker, LocalCluster, get_worker
from distributed.comm.core import CommClosedError

from modelcheck.backends import Backend, BackendError, Runner

CONNECT_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 10.0
NTHREADS_REFRESH_S = 2.0


class _LostFuture(Exception):
    """A future cancelled by something other than us (the scheduler lost it)."""


def run_logged(topic: str, index: int, fn: Callable[..., Any], args: tuple) -> Any:
    """Run one batch on a worker, first logging that it started (so retries can be counted)."""
    try:
        worker = get_worker()
    except ValueError:  # not on a worker (a test calling it directly)
        worker = None
    if worker is not None:
        worker.log_event(topic, {"batch": index, "pid": os.getpid(), "worker": worker.address})
    return fn(*args)


class _DaskRunner(Runner):
    def __init__(self, client: Client) -> None:
        self._client = client
        self.topic = f"modelcheck-batches-{uuid.uuid4().hex}"
        self._futures: dict[str, Any] = {}
        self._done: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def submit(self, index: int, attempt: int, fn: Callable[..., Any], args: tuple) -> Any:
        key = f"{self.topic}-{index}-{attempt}"
        future = self._client.submit(run_logged, self.topic, index, fn, args, key=key, pure=False)
        self._futures[key] = future
        future.add_done_callback(self._done.put)
        return key

    def wait(self, timeout_s: float) -> list[tuple[Any, bool, Any]]:
        try:
            done = [self._done.get(timeout=timeout_s)]
        except queue.Empty:
            return []
        while True:
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                break
        done = [f for f in done if self._futures.pop(f.key, None) is not None]
        finished = [f for f in done if f.status == "finished"]
        out: list[tuple[Any, bool, Any]] = []
        if finished:  # one round trip for every result that is ready
            results = self._client.gather(finished)
            out.extend((f.key, True, r) for f, r in zip(finished, results, strict=True))
        for future in done:
            if future.status == "error":
                out.append((future.key, False, future.exception()))
            elif future.status == "cancelled":
                out.append((future.key, False, _LostFuture(f"task {future.key} was cancelled")))
        return out

    def cancel(self, handles: list[Any]) -> None:
        futures = [self._futures.pop(k) for k in handles if k in self._futures]
        if futures:
            self._client.cancel(futures, force=True)

    def is_lost_worker(self, exc: BaseException) -> bool:
        return isinstance(exc, KilledWorker | CommClosedError | _LostFuture)

    def restarted(self) -> set[int]:
        starts: dict[int, int] = {}
        for _, msg in self._client.get_events(self.topic):
            starts[msg["batch"]] = starts.get(msg["batch"], 0) + 1
        return {index for index, count in starts.items() if count > 1}

    def start_events(self) -> list[dict[str, Any]]:
        """Every batch start so far (``batch``, ``worker``, ``pid``, ``time``), oldest first."""
        return [{**msg, "time": t} for t, msg in self._client.get_events(self.topic)]

    def close(self) -> None:
        if self._futures:
            self._client.cancel(list(self._futures.values()), force=True)
            self._futures.clear()


class DaskBackend(Backend):
    """Batches as Dask tasks: ``local_workers=N`` starts a LocalCluster, ``scheduler`` joins one."""

    def __init__(self, *, scheduler: str | None = None, local_workers: int | None = None,
                 timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        assert (scheduler is None) != (local_workers is None), "exactly one of the two"
        self._cluster: LocalCluster | None = None
        self._nthreads = 0
        self._nthreads_at = 0.0
        self.last_runner: _DaskRunner | None = None
        try:
            if scheduler is not None:
                self.name = f"dask {scheduler}"
                self.client = Client(scheduler, timeout=timeout_s, set_as_default=False)
            else:
                assert local_workers is not None and local_workers >= 1
                self.name = f"dask local:{local_workers}"
                self._cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1,
                                             processes=True, dashboard_address="127.0.0.1:0",
                                             host="127.0.0.1", silence_logs=logging.ERROR)
                self.client = Client(self._cluster, set_as_default=False)
        except (OSError, TimeoutError, RuntimeError) as exc:  # RuntimeError: cluster start
            self._close_cluster()
            if scheduler is None:
                raise BackendError(f"cannot start a Dask LocalCluster of {local_workers} "
                                   f"worker(s): {exc}") from exc
            raise BackendError(f"cannot reach the Dask scheduler at {scheduler} within "
                               f"{timeout_s:g} s: {exc}") from exc
        try:
            self.client.wait_for_workers(1, timeout=timeout_s)
        except TimeoutError as exc:
            self.close()
            raise BackendError(f"no Dask worker joined {self.name} within {timeout_s:g} s "
                               "(start some with: dask worker ADDRESS --nthreads 1)") from exc

    @property
    def workers(self) -> int:
        now = time.monotonic()
        if now - self._nthreads_at > NTHREADS_REFRESH_S and self.client.status == "running":
            self._nthreads = sum(self.client.nthreads().values())
            self._nthreads_at = now
        return self._nthreads

    def runner(self) -> Runner:
        self.last_runner = _DaskRunner(self.client)
        return self.last_runner

    def close(self) -> None:
        try:
            self.client.close(timeout=CLOSE_TIMEOUT_S)
        finally:
            self._close_cluster()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close(timeout=CLOSE_TIMEOUT_S)
            self._cluster = None
