"""Where campaign batches run: local processes (the default) or a Dask cluster.

A *backend* maps a function over a stream of argument tuples (one tuple per
seed batch) and hands the results back in completion order, so progress moves
as soon as anything finishes. The stream keeps only a bounded window of
batches in flight (a few per worker), which is what lets a million-seed
campaign start at once, lets :func:`first_failure` stop early, and lets Ctrl-C
cancel little work. Every batch index is reported exactly once:

* a batch whose worker died is run again (Dask reschedules it itself; a batch
  that Dask gives up on with ``KilledWorker``, or whose local process pool broke
  because one of its processes died, is resubmitted here) and counted
  in :attr:`BatchStream.retried_batches`;
* :meth:`BatchStream.close` cancels whatever is still in flight.

Backends: :class:`LocalBackend` (``multiprocessing``, fork, all cores by
default) and ``DaskBackend`` (``--cluster local[:N]`` or ``--scheduler
tcp://HOST:PORT``), which needs the optional extra ``pip install '.[cluster]'``
and lives in :mod:`modelcheck._backend_dask` so this module imports without it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelcheck.errors import InvalidArgument, ModelcheckError

if TYPE_CHECKING:  # pragma: no cover
    from modelcheck.sim import SeedResult

INSTALL_HINT = "pip install '.[cluster]'  (or: pip install 'dask[distributed]>=2024.1')"
ATTEMPTS_MAX = 3  # submissions of one batch before a lost worker becomes an error


class BackendError(ModelcheckError):
    """A backend cannot run: Dask missing, a scheduler unreachable, or a batch lost for good."""


# -- the runner interface: what each backend provides ------------------------------------------

class Runner(ABC):
    """One stream's view of a backend: submit, wait, cancel (the backend-specific part)."""

    @abstractmethod
    def submit(self, index: int, attempt: int, fn: Callable[..., Any], args: tuple) -> Any:
        """Start ``fn(*args)`` for batch ``index``; return a handle."""

    @abstractmethod
    def wait(self, timeout_s: float) -> list[tuple[Any, bool, Any]]:
        """Handles finished within ``timeout_s``, each as ``(handle, ok, result or exception)``."""

    @abstractmethod
    def cancel(self, handles: list[Any]) -> None:
        """Stop the work of ``handles`` if the backend can (their results are dropped anyway)."""

    def is_lost_worker(self, exc: BaseException) -> bool:
        """True when ``exc`` means the batch's worker died (so running it again is right)."""
        return False

    def restarted(self) -> set[int]:
        """Batch indices the engine itself started more than once (worker loss)."""
        return set()

    def close(self) -> None:
        """Release what the stream held (pools, subscriptions)."""
        return None


class Backend(ABC):
    """Runs batches somewhere; :meth:`stream` is the one entry point every driver uses."""

    name: str = "?"

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many batches can run at the same time (processes or worker threads)."""

    @abstractmethod
    def runner(self) -> Runner:
        """A fresh runner for one stream."""

    def window(self) -> int:
        """How many batches to keep in flight: two per worker, so none ever waits for work."""
        return max(2, 2 * self.workers)

    def stream(self, fn: Callable[..., Any], args: Iterable[tuple]) -> BatchStream:
        """``fn(*a)`` for every ``a`` in ``args`` (lazy, may be endless), in completion order."""
        return BatchStream(self, fn, args)

    def close(self) -> None:
        """Release the backend (a cluster it started, its client)."""
        return None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BatchStream:
    """Iterates ``(index, result)`` pairs, each batch index exactly once, completion order.

    Shared by every backend: the bounded window, retries after a lost worker,
    :meth:`stop_after` (no batch past an index) and :meth:`close` (cancel the rest).
    """

    def __init__(self, backend: Backend, fn: Callable[..., Any], args: Iterable[tuple]) -> None:
        self._backend = backend
        self._fn = fn
        self._args: Iterator[tuple[int, tuple]] = enumerate(args)
        self._runner = backend.runner()
        self._pending: dict[Any, tuple[int, int, tuple]] = {}  # handle -> (index, attempt, args)
        self._ready: deque[tuple[int, Any]] = deque()
        self._yielded: set[int] = set()
        self._resubmitted: set[int] = set()
        self._limit: int | None = None
        self._exhausted = False
        self._closed = False
        self._retried: int | None = None
        self.cancelled_batches = 0  # in flight (or done, unreported) when dropped

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> tuple[int, Any]:
        while not self._ready:
            self._fill()
            if not self._pending:
                raise StopIteration
            for handle, ok, value in self._runner.wait(0.1):
                self._finish(handle, ok, value)
        index, result = self._ready.popleft()
        assert index not in self._yielded, f"batch {index} reported twice"
        self._yielded.add(index)
        return index, result

    def _fill(self) -> None:
        window = self._backend.window()
        while not self._exhausted and len(self._pending) < window:
            item = next(self._args, None)
            if item is None or (self._limit is not None and item[0] > self._limit):
                self._exhausted = True
                return
            index, args = item
            self._pending[self._runner.submit(index, 0, self._fn, args)] = (index, 0, args)

    def _finish(self, handle: Any, ok: bool, value: Any) -> None:
        if handle not in self._pending:  # cancelled by stop_after: its result is dropped
            return
        index, attempt, args = self._pending.pop(handle)
        if ok:
            self._ready.append((index, value))
            return
        if self._runner.is_lost_worker(value) and attempt + 1 < ATTEMPTS_MAX:
            self._resubmitted.add(index)
            new = self._runner.submit(index, attempt + 1, self._fn, args)
            self._pending[new] = (index, attempt + 1, args)
            return
        if self._runner.is_lost_worker(value):
            raise BackendError(f"batch {index} (args {args[:2]!r}...) lost its worker "
                               f"{ATTEMPTS_MAX} times; last error: {value}") from value
        raise value

    def stop_after(self, index: int) -> None:
        """Submit no batch past ``index``; cancel those in flight (their results are dropped)."""
        self._limit = index if self._limit is None else min(self._limit, index)
        drop = [h for h, (i, _, _) in self._pending.items() if i > self._limit]
        for handle in drop:
            del self._pending[handle]
        kept = deque((i, r) for i, r in self._ready if i <= self._limit)
        self.cancelled_batches += len(self._ready) - len(kept)
        self._ready = kept
        if drop:
            self.cancelled_batches += len(drop)
            self._runner.cancel(drop)

    @property
    def in_flight(self) -> int:
        """Batches submitted and not yet reported."""
        return len(self._pending)

    @property
    def retried_batches(self) -> int:
        """Batches that ran more than once because a worker was lost (final after close)."""
        if self._retried is not None:
            return self._retried
        return len(self._resubmitted | self._runner.restarted())

    def close(self) -> None:
        """Cancel everything still in flight and release the runner; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._pending:
                self.cancelled_batches += len(self._pending)
                self._runner.cancel(list(self._pending))
            self._retried = len(self._resubmitted | self._runner.restarted())
        finally:
            self._pending.clear()
            self._runner.close()

    def __enter__(self) -> BatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- local processes -----------------------------------------------------------------------------

class _InlineRunner(Runner):
    """One worker: run each batch in this process when it is waited for."""

    def __init__(self) -> None:
        self._queue: deque[tuple[int, Callable[..., Any], tuple]] = deque()

    def submit(self, index: int, attempt: int, fn: Callable[..., Any], args: tuple) -> Any:
        handle = (index, attempt)
        self._queue.append((handle, fn, args))
        return handle

    def wait(self, timeout_s: float) -> list[tuple[Any, bool, Any]]:
        if not self._queue:
            return []
        handle, fn, args = self._queue.popleft()
        return [(handle, True, fn(*args))]

    def cancel(self, handles: list[Any]) -> None:
        drop = set(handles)
        self._queue = deque(item for item in self._queue if item[0] not in drop)


class _PoolRunner(Runner):
    """Forked worker processes (a ``ProcessPoolExecutor``), made per stream, ended after it.

    A worker that dies (killed, out of memory) breaks the whole executor: every
    batch in flight then fails with ``BrokenProcessPool``, which counts as a
    lost worker, so the stream submits those batches again and the next submit
    starts a fresh executor. Nothing is lost and nothing is reported twice.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._ctx = multiprocessing.get_context(
            "fork" if sys.platform.startswith("linux") else "spawn")
        self._pool = self._new_pool()
        self._futures: list[Future] = []
        self.pools_started = 1

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self._workers, mp_context=self._ctx)

    def submit(self, index: int, attempt: int, fn: Callable[..., Any], args: tuple) -> Any:
        try:
            future = self._pool.submit(fn, *args)
        except BrokenProcessPool:  # a worker died: start over with a fresh set of processes
            self._terminate(self._pool)
            self._pool = self._new_pool()
            self.pools_started += 1
            future = self._pool.submit(fn, *args)
        self._futures.append(future)
        return future

    def wait(self, timeout_s: float) -> list[tuple[Any, bool, Any]]:
        if not self._futures:
            return []
        done, _ = futures_wait(self._futures, timeout_s, return_when=FIRST_COMPLETED)
        out = []
        for future in [f for f in self._futures if f in done]:  # submission order
            self._futures.remove(future)
            exc = future.exception()
            out.append((future, True, future.result()) if exc is None else (future, False, exc))
        return out

    def is_lost_worker(self, exc: BaseException) -> bool:
        return isinstance(exc, BrokenProcessPool)

    def cancel(self, handles: list[Any]) -> None:
        # A running batch cannot be stopped one by one; the stream drops its result and
        # close() ends the processes.
        for handle in handles:
            handle.cancel()
        self._futures = [f for f in self._futures if not any(f is h for h in handles)]

    @staticmethod
    def _terminate(pool: ProcessPoolExecutor) -> None:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:  # Ctrl-C and early stops must not wait for running batches
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)

    def close(self) -> None:
        self._terminate(self._pool)


class LocalBackend(Backend):
    """Worker processes on this machine (``workers=0``: all cores; 1: in this process)."""

    def __init__(self, workers: int = 0) -> None:
        if workers < 0:
            raise InvalidArgument(f"workers={workers} must be >= 0 (0 = all cores)")
        self._workers = workers or os.cpu_count() or 1
        self.name = "local"

    @property
    def workers(self) -> int:
        return self._workers

    def runner(self) -> Runner:
        return _InlineRunner() if self._workers == 1 else _PoolRunner(self._workers)


# -- choosing a backend --------------------------------------------------------------------------

def parse_cluster(spec: str) -> int:
    """Worker count of ``--cluster local`` (0 = all cores) or ``local:N``."""
    name, sep, count = spec.partition(":")
    if name != "local" or (sep and not count.isdigit()) or (sep and int(count) < 1):
        raise InvalidArgument(f"--cluster={spec!r}: expected 'local' or 'local:N' with N >= 1 "
                              "(for an existing cluster use --scheduler tcp://HOST:PORT)")
    return int(count) if sep else 0


def make_backend(*, workers: int = 0, cluster: str | None = None,
                 scheduler: str | None = None) -> Backend:
    """The backend the command line asked for; Dask ones fail with the install hint if absent."""
    if cluster is not None and scheduler is not None:
        raise InvalidArgument("give one of --cluster and --scheduler, not both")
    if cluster is None and scheduler is None:
        return LocalBackend(workers)
    count = parse_cluster(cluster) if cluster is not None else 0
    if cluster is not None and count and workers and workers != count:
        raise InvalidArgument(f"--cluster={cluster!r} and --workers={workers} disagree; "
                              "give the worker count once")
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        raise InvalidArgument(f"--scheduler={scheduler!r}: expected an address like "
                              "tcp://HOST:PORT")
    try:
        from modelcheck._backend_dask import DaskBackend
    except ImportError as exc:
        flag = f"--cluster {cluster}" if cluster is not None else f"--scheduler {scheduler}"
        raise BackendError(f"{flag} needs Dask distributed, which is not installed ({exc}); "
                           f"install it with: {INSTALL_HINT}") from exc
    if scheduler is not None:
        return DaskBackend(scheduler=scheduler)
    return DaskBackend(local_workers=count or workers or os.cpu_count() or 1)


def add_backend_args(parser: argparse.ArgumentParser) -> None:
    """``--cluster local[:N]`` and ``--scheduler ADDRESS`` (the Dask backends)."""
    parser.add_argument("--cluster", metavar="local[:N]", default=None,
                        help="run batches on a Dask LocalCluster of N worker processes "
                             f"(default: --workers, or all cores); needs {INSTALL_HINT}")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                        help="run batches on an existing Dask cluster (start workers with "
                             "'dask worker ADDRESS --nthreads 1')")


def backend_from_args(args: argparse.Namespace) -> Backend:
    """:func:`make_backend` from parsed ``--workers/--cluster/--scheduler``."""
    return make_backend(workers=getattr(args, "workers", 0) or 0,
                        cluster=getattr(args, "cluster", None),
                        scheduler=getattr(args, "scheduler", None))


# -- run until the first failure -----------------------------------------------------------------

@dataclass
class FirstHit:
    """What :func:`first_hit` stopped on: the lowest-index batch whose result was a hit."""

    index: int | None
    result: Any
    batches_run: int
    batches_cancelled: int
    retried_batches: int
    elapsed_s: float
    interrupted: bool = False
    budget_exhausted: bool = False


def first_hit(backend: Backend, fn: Callable[..., Any], args: Iterable[tuple], *,
              is_hit: Callable[[Any], bool], budget_s: float | None = None,
              on_result: Callable[[int, Any], None] | None = None) -> FirstHit:
    """Run ``fn(*a)`` for ``a`` in ``args`` (in order, may be endless) until a result is a hit.

    Deterministic whatever the backend: once batch *i* is a hit nothing past *i*
    is started or kept (in-flight batches are cancelled), and every batch before
    *i* still finishes, so the answer is the first hit in the order of ``args``.
    ``budget_s`` bounds the wall time while nothing is found; Ctrl-C returns what
    was found so far with ``interrupted`` set. ``on_result(index, result)`` sees
    every kept result as it arrives.
    """
    if budget_s is not None and budget_s <= 0:
        raise InvalidArgument(f"budget_s={budget_s} must be > 0")
    start = time.perf_counter()
    best: tuple[int, Any] | None = None
    batches_run = 0
    interrupted = budget_exhausted = False
    stream = backend.stream(fn, args)
    try:
        for index, result in stream:
            batches_run += 1
            if on_result is not None:
                on_result(index, result)
            if is_hit(result) and (best is None or index < best[0]):
                best = (index, result)
                stream.stop_after(index)
            if best is None and budget_s is not None and time.perf_counter() - start > budget_s:
                budget_exhausted = True
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stream.close()
    return FirstHit(best[0] if best else None, best[1] if best else None, batches_run,
                    stream.cancelled_batches, stream.retried_batches,
                    time.perf_counter() - start, interrupted, budget_exhausted)


@dataclass
class FirstFailure:
    """What :func:`first_failure` found: the earliest failing seed (in seed order), if any."""

    failure: SeedResult | None
    seeds_run: int
    batches_run: int
    batches_cancelled: int
    retried_batches: int
    elapsed_s: float
    interrupted: bool = False
    budget_exhausted: bool = False


def _chunks(seeds: Iterable[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for seed in seeds:
        chunk.append(seed)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def first_failure(scenario: str, seeds: Iterable[int], *, mutant: str | None = None,
                  acceptors: int = 3, wire: bool = False, batch: int = 8,
                  backend: Backend | None = None, budget_s: float | None = None,
                  on_batch: Callable[[list[SeedResult]], None] | None = None) -> FirstFailure:
    """Run ``seeds`` (in order, may be endless) in batches until one fails; cancel the rest.

    The answer is the first failing seed in the order of ``seeds``, whatever the
    backend and batch size (see :func:`first_hit`). ``budget_s`` bounds the wall
    time (then ``failure`` is None and ``budget_exhausted`` is set); Ctrl-C returns
    what was found so far with ``interrupted`` set.
    """
    from modelcheck.sim import load_scenario, run_batch

    if batch < 1:
        raise InvalidArgument(f"batch={batch} must be >= 1")
    load_scenario(scenario)  # a bad name fails here, not in every worker
    args = ((scenario, chunk, mutant, acceptors, wire, False) for chunk in _chunks(seeds, batch))
    seeds_run = 0

    def seen(index: int, pairs: list[tuple[SeedResult, bool]]) -> None:
        nonlocal seeds_run
        seeds_run += len(pairs)
        if on_batch is not None:
            on_batch([r for r, _ in pairs])

    hit = first_hit(backend or LocalBackend(), run_batch, args,
                    is_hit=lambda pairs: any(r.failed for r, _ in pairs),
                    budget_s=budget_s, on_result=seen)
    failure = next(r for r, _ in hit.result if r.failed) if hit.result is not None else None
    return FirstFailure(failure, seeds_run, hit.batches_run, hit.batches_cancelled,
                        hit.retried_batches, hit.elapsed_s, hit.interrupted,
                        hit.budget_exhausted)
