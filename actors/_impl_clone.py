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
from modelcheck._system_state import Conn, Dir, SystemNode
from modelcheck.disk import Disk, _File
from modelcheck.system import System

__all__ = ["clone_system"]


def _dup(obj: Any) -> Any:
    """A shallow copy of an object with a ``__dict__`` (dataclasses), without copy's detours."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def _dup_slots(obj: Any, names: tuple[str, ...]) -> Any:
    new = object.__new__(type(obj))
    for name in names:
        setattr(new, name, getattr(obj, name))
    return new


_NODE_SLOTS = SystemNode.__slots__
_CONN_SLOTS = Conn.__slots__
_DIR_SLOTS = Dir.__slots__


def _clone_disk(disk: Disk) -> Disk:
    new = _dup(disk)
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
    new = _dup(dec)
    new._buf = bytearray(dec._buf)
    new._parts = list(dec._parts)
    return new


def _clone_safekeeper(sk: Safekeeper, disk: Disk) -> Safekeeper:
    new = _dup(sk)
    new.conns = {k: _dup(c) for k, c in sk.conns.items()}
    new._decoder = _clone_decoder(sk._decoder)
    if sk._wal is not None:
        wal = WalFiles(disk, sk._wal.segment_size, sk._wal.timeline)
        wal.dirty = set(sk._wal.dirty)
        new._wal = wal
    return new


def _clone_proposer(wp: WalProposer, disk: Disk) -> WalProposer:
    new = _dup(wp)
    new.sks = [_dup(s) for s in wp.sks]
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


def _clone_node(n: SystemNode) -> SystemNode:
    m = _dup_slots(n, _NODE_SLOTS)
    m.disk = _clone_disk(n.disk)
    m.actor = _clone_actor(n.actor, m.disk)
    m.timers = dict(n.timers)
    return m


def _clone_conn(c: Conn) -> Conn:
    d = _dup_slots(c, _CONN_SLOTS)
    dirs = []
    for x in c.dirs:
        y = _dup_slots(x, _DIR_SLOTS)
        y.queue = deque(x.queue)
        dirs.append(y)
    d.dirs = tuple(dirs)
    return d


def clone_system(system: System, touched: int | None = None) -> System:
    """A copy of ``system`` that the next action may change (hooks not copied, no action list).

    With ``touched``, only that node and the connections it is an end of are
    copied; the other nodes and connections are shared with ``system``. That
    is safe when the next action is handled by node ``touched`` alone (a
    delivery to it, a drop towards it, its timer, its crash or restart, a
    command to it): the system then changes no other node, and no connection
    it is not an end of. Without ``touched`` everything is copied.
    """
    new = System.__new__(System)
    new.__dict__.update(system.__dict__)
    new.on_event = new.on_actor_step = None
    new.actions = []
    new.events = list(system.events) if system.events is not None else None
    if touched is None:
        new.nodes = [_clone_node(n) for n in system.nodes]
        new.conns = [_clone_conn(c) for c in system.conns]
    else:
        new.nodes = list(system.nodes)
        new.nodes[touched] = _clone_node(system.nodes[touched])
        new.conns = [_clone_conn(c) if touched in c.nodes else c for c in system.conns]
    new._by_key = {c.key: c for c in new.conns}
    new._serial = dict(system._serial)
    new.isolated = set(system.isolated)
    new.used = dict(system.used)
    return new
