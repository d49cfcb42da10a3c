"""A fast copy of a controlled system running the walproposer and safekeeper actors.

The explorer copies the parent state's system for every successor.
``copy.deepcopy`` walks every object, immutable messages included (about a
thousand objects per copy, 10 ms); this copy knows which parts of these
actors are mutable and shares the rest: frozen messages, configurations,
control files, the factories. Unknown actor classes fall back to
``copy.deepcopy``. Tests check that expanding a state leaves the parent's
fingerprint unchanged (nothing mutable is shared by mistake).

The compute (its WAL encoder) is shared too: :class:`ComputeProposer` copies
it before writing (copy-on-write), the only place it changes.
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from actors.safekeeper import Safekeeper
from actors.walproposer import WalProposer
from actors.walstore import FlatWal, WalFiles
from modelcheck.disk import Disk, _File
from modelcheck.system import System

__all__ = ["clone_system"]


def _clone_disk(disk: Disk) -> Disk:
    new = Disk.__new__(Disk)
    new.options, new.writes, new.fsyncs = disk.options, disk.writes, disk.fsyncs
    files = {}
    for name, f in disk._files.items():
        g = _File.__new__(_File)
        g.data, g.undo, g.durable_size = bytearray(f.data), list(f.undo), f.durable_size
        files[name] = g
    new._files = files
    return new


def _clone_decoder(dec: Any) -> Any:
    if dec is None:
        return None
    new = copy.copy(dec)
    new._buf = bytearray(dec._buf)
    new._parts = list(dec._parts)
    return new


def _clone_safekeeper(sk: Safekeeper, disk: Disk) -> Safekeeper:
    new = copy.copy(sk)
    new.conns = {k: copy.copy(c) for k, c in sk.conns.items()}
    new._decoder = _clone_decoder(sk._decoder)
    if sk._wal is not None:
        wal = WalFiles(disk, sk._wal.segment_size, sk._wal.timeline)
        wal.dirty = set(sk._wal.dirty)
        new._wal = wal
    return new


def _clone_proposer(wp: WalProposer, disk: Disk) -> WalProposer:
    new = copy.copy(wp)
    new.sks = [copy.copy(s) for s in wp.sks]
    new.conn_to_sk = dict(wp.conn_to_sk)
    new.deferred = list(wp.deferred)
    if wp._wal is not None:
        new._wal = FlatWal(disk, wp._wal.base_lsn, wp._wal.name)
    return new


def _clone_actor(actor: Any, disk: Disk) -> Any:
    if actor is None:
        return None
    if type(actor) is Safekeeper:
        return _clone_safekeeper(actor, disk)
    if isinstance(actor, WalProposer):
        return _clone_proposer(actor, disk)
    return copy.deepcopy(actor)


def clone_system(system: System) -> System:
    """An independent copy of ``system`` (hooks not copied, action list empty)."""
    new = System.__new__(System)
    new.__dict__.update(system.__dict__)
    new.on_event = new.on_actor_step = None
    new.actions = []
    new.events = list(system.events) if system.events is not None else None
    nodes = []
    for n in system.nodes:
        m = copy.copy(n)
        m.disk = _clone_disk(n.disk)
        m.actor = _clone_actor(n.actor, m.disk)
        m.timers = dict(n.timers)
        nodes.append(m)
    new.nodes = nodes
    conns = []
    for c in system.conns:
        d = copy.copy(c)
        dirs = []
        for x in c.dirs:
            y = copy.copy(x)
            y.queue = deque(x.queue)
            dirs.append(y)
        d.dirs = tuple(dirs)
        conns.append(d)
    new.conns = conns
    new._by_key = {c.key: c for c in conns}
    new._serial = dict(system._serial)
    new.isolated = set(system.isolated)
    new.used = dict(system.used)
    return new
