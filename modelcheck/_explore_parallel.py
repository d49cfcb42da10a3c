"""Level-synchronous parallel BFS: workers keep and expand states, the parent deduplicates.

``W`` forked worker processes (they inherit the model) each keep the live
states they generated, and expands them at the next level; when one worker
holds more than its share of a level's frontier, the surplus moves to the
others first (pickled; after the first levels few states move). The parent
sends each worker the keys of the frontier states it runs; the worker expands
them and answers, per
state, the number of successors generated and, per successor, its key, the
``always`` properties it violates and the ``sometimes`` properties it
satisfies, keeping the successor objects aside. The parent then walks the
frontier in its global order, taking each state's answer from its worker, and
inserts keys into the one seen set exactly as the single-process BFS does; a
new state belongs to the worker that generated the copy the parent accepted,
which keeps it for the next level and drops the rest. Only keys, property
names and the states that change worker cross processes.

So the counts (distinct, generated, depth, states left), the first violation
and its trace (rebuilt in the parent by replaying the model) are those of one
worker. Needs keys that mean the same in every process: a model declares
``parallel_safe = True`` (the implementation model; not the spec model,
whose states are per-process interned ids).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
from collections.abc import Hashable
from typing import Any

from modelcheck.errors import InvalidArgument

__all__ = ["parallel_bfs"]


def _assign(frontier: list[tuple[Hashable, int]], workers: int) -> list[int]:
    """Which worker expands each frontier state: its holder, except that the surplus of
    a worker holding more than its share moves (last ones first) to those holding less."""
    share = -(-len(frontier) // workers)
    counts = [0] * workers
    for _, holder in frontier:
        counts[holder] += 1
    out = [holder for _, holder in frontier]
    short = [w for w in range(workers) if counts[w] < share]
    for i in range(len(frontier) - 1, -1, -1):
        if not short:
            break
        holder = out[i]
        if counts[holder] > share:
            to = short[0]
            out[i] = to
            counts[holder] -= 1
            counts[to] += 1
            if counts[to] >= share:
                short.pop(0)
    return out


def _worker(conn: Any, adapter: Any, sometimes: list, wid: int) -> None:
    """Serve requests until ("stop",); see the module docstring."""
    pending: dict[Hashable, Any] = {}  # states generated at the last level (or initial)
    try:
        while True:
            msg = conn.recv()
            if msg[0] == "stop":
                return
            if msg[0] == "init":
                pending = {adapter.key(s): s for s in adapter.model.init_states()}
                conn.send(None)
            elif msg[0] == "export":  # states another worker will expand
                conn.send([pickle.dumps(pending[k], protocol=5) for k in msg[1]])
            else:  # ("level", keys to expand in order, {key: pickled state})
                order, imports = msg[1], msg[2]
                held = {k: pickle.loads(b) for k, b in imports.items()}
                states = [held[k] if k in held else pending[k] for k in order]
                pending = {}
                out = []
                for state in states:
                    gen, succs = adapter.expand(state)
                    items = []
                    for t in succs:
                        kt = adapter.key(t)
                        if kt not in pending:
                            pending[kt] = t
                        hit = [name for name, p in sometimes if p(t)] if sometimes else []
                        items.append((kt, adapter.violations(t), hit))
                    out.append((gen, items))
                conn.send(out)
    except (EOFError, KeyboardInterrupt):
        return


def parallel_bfs(search: Any, workers: int) -> None:
    """Run ``search`` (a :class:`modelcheck.explore._Search`) breadth-first on ``workers``."""
    adapter = search.adapter
    if not getattr(adapter.model, "parallel_safe", False):
        raise InvalidArgument(
            f"workers={workers}: model {getattr(adapter.model, 'name', adapter.model)!r} does "
            "not declare parallel_safe states (process-independent keys); use workers=1")
    firsts = search._init()
    ctx = multiprocessing.get_context("fork")
    pipes, procs = [], []
    for w in range(workers):
        mine, theirs = ctx.Pipe()
        p = ctx.Process(target=_worker, args=(theirs, adapter, list(search.sometimes), w),
                        daemon=True)
        p.start()
        pipes.append(mine)
        procs.append(p)
    try:
        pipes[0].send(("init",))
        pipes[0].recv()
        _levels(search, pipes, [(k, 0) for _, k in firsts])
    finally:
        for pipe in pipes:
            with contextlib.suppress(BrokenPipeError, OSError):
                pipe.send(("stop",))
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()


def _exchange(pipes: list, frontier: list[tuple[Hashable, int]],
              runs: list[int]) -> list[dict]:
    """Move the states that change worker: per worker, ``{key: pickled state}`` it receives."""
    n = len(pipes)
    exports: list[list[tuple[Hashable, int]]] = [[] for _ in range(n)]
    for (k, holder), w in zip(frontier, runs, strict=True):
        if w != holder:
            exports[holder].append((k, w))
    for w, moves in enumerate(exports):
        if moves:
            pipes[w].send(("export", [k for k, _ in moves]))
    imports: list[dict] = [{} for _ in range(n)]
    for w, moves in enumerate(exports):
        if moves:
            for (k, to), blob in zip(moves, pipes[w].recv(), strict=True):
                imports[to][k] = blob
    return imports


def _levels(search: Any, pipes: list, frontier: list[tuple[Hashable, int]]) -> None:
    """The BFS levels; ``frontier`` holds ``(key, worker holding the state)`` in order."""
    result, seen, n = search.result, search.seen, len(pipes)
    level = 1
    while frontier and not search.stopped:
        if search.max_depth is not None and level >= search.max_depth:
            result.states_left = len(frontier)
            search.stopped = True
            return
        runs = _assign(frontier, n)
        imports = _exchange(pipes, frontier, runs)
        for w, pipe in enumerate(pipes):
            order = [k for (k, _), r in zip(frontier, runs, strict=True) if r == w]
            pipe.send(("level", order, imports[w]))
        answers = [iter(pipe.recv()) for pipe in pipes]
        nxt: list[tuple[Hashable, int]] = []
        for n_done, ((ks, _), owner) in enumerate(zip(frontier, runs, strict=True), 1):
            gen, items = next(answers[owner])
            result.states_generated += gen
            for kt, bad, hit in items:
                if kt in seen:
                    continue
                seen[kt] = ks
                nxt.append((kt, owner))
                if hit:
                    search.sometimes = [(n, p) for n, p in search.sometimes if n not in hit]
                if bad:
                    search._record_violations(kt, bad)
                    if search.stopped:
                        result.states_left = len(frontier) - n_done + len(nxt)
                        result.depth = level + 1
                        return
        if search.progress is not None:
            search._report(level, len(nxt))
        frontier = nxt
        if frontier:
            level += 1
            result.depth = level
