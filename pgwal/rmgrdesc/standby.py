"""Standby resource manager (id 8): LOCK, RUNNING_XACTS, INVALIDATIONS.

Also home of the invalidation-message text shared with Transaction records
(``standby_desc_invalidations``). 16 renamed ``subxid ovf`` to ``subxid
overflowed`` and started listing the subtransaction ids of RUNNING_XACTS.
"""

# printf-style formatting is used on purpose: it mirrors PostgreSQL's format strings
# (%u, %X/%08X, %6.02f) and is the fastest formatter on the hot path.
# ruff: noqa: UP031

from __future__ import annotations

import struct

from pgwal.record import Record
from pgwal.rmgrdesc._common import DescFn

NAMES = {0x00: "LOCK", 0x10: "RUNNING_XACTS", 0x20: "INVALIDATIONS"}

_RUNNING = struct.Struct("<iiB3xIII").unpack_from
_INVALS = struct.Struct("<IIB3xi").unpack_from
_MSG = struct.Struct("<b3xII").unpack_from  # id, then the two 4-byte words at offsets 4 and 8
SHARED_INVAL_MSG_SIZE = 16
_MSG_ITER = struct.Struct("<b3xII4x").iter_unpack  # whole SharedInvalidationMessages


def invalidations_text(
    data: bytes, offset: int, nmsgs: int, db_id: int, ts_id: int, relcache_init_file: bool
) -> str:
    """Text of ``nmsgs`` shared-invalidation messages starting at ``offset``."""
    if nmsgs <= 0:
        return ""
    parts = []
    if relcache_init_file:
        parts.append(f"; relcache init file inval dbid {db_id} tsid {ts_id}")
    parts.append("; inval msgs:")
    size = SHARED_INVAL_MSG_SIZE
    if len(data) >= offset + nmsgs * size:  # all there: unpack them in one pass
        msgs = _MSG_ITER(memoryview(data)[offset : offset + nmsgs * size])
    else:  # short data: message by message, failing where the data ends
        msgs = (_MSG(data, offset + i * size) for i in range(nmsgs))
    for msg_id, word4, word8 in msgs:
        if msg_id >= 0:
            parts.append(f" catcache {msg_id}")
        elif msg_id == -1:
            parts.append(f" catalog {word8}")
        elif msg_id == -2:
            parts.append(f" relcache {word8}")
        elif msg_id == -3:
            parts.append(" smgr")
        elif msg_id == -4:
            parts.append(f" relmap db {word4}")
        elif msg_id == -5:
            parts.append(f" snapshot {word8}")
        else:
            parts.append(f" unrecognized id {msg_id}")
    return "".join(parts)


def _lock(rec: Record) -> str:
    data = rec.main_data
    nlocks = struct.unpack_from("<i", data)[0]
    if nlocks <= 0:
        return ""
    words = struct.unpack_from("<%dI" % (3 * nlocks), data, 4)
    return "".join(
        f"xid {words[i]} db {words[i + 1]} rel {words[i + 2]} " for i in range(0, 3 * nlocks, 3)
    )


def _running_xacts(overflow_word: str, list_subxacts: bool) -> DescFn:
    def desc(rec: Record) -> str:
        data = rec.main_data
        xcnt, subxcnt, overflow, next_xid, oldest_running, latest_completed = _RUNNING(data)
        text = (
            f"nextXid {next_xid} latestCompletedXid {latest_completed} "
            f"oldestRunningXid {oldest_running}"
        )
        if xcnt > 0:
            xids = struct.unpack_from("<%dI" % xcnt, data, 24)
            text += f"; {xcnt} xacts:" + "".join(f" {x}" for x in xids)
        if overflow:
            text += overflow_word
        if list_subxacts and subxcnt > 0:
            subs = struct.unpack_from("<%dI" % subxcnt, data, 24 + 4 * max(xcnt, 0))
            text += f"; {subxcnt} subxacts:" + "".join(f" {x}" for x in subs)
        return text

    return desc


def _invalidations(rec: Record) -> str:
    data = rec.main_data
    db_id, ts_id, init_file, nmsgs = _INVALS(data)
    return invalidations_text(data, 16, nmsgs, db_id, ts_id, bool(init_file))


def tables(major: int) -> tuple[dict[int, str], dict[int, DescFn], int, int]:
    """(names by opcode, describers by opcode, identify mask, desc mask) for ``major``."""
    if major >= 16:
        running = _running_xacts("; subxid overflowed", list_subxacts=True)
    else:
        running = _running_xacts("; subxid ovf", list_subxacts=False)
    descs: dict[int, DescFn] = {0x00: _lock, 0x10: running, 0x20: _invalidations}
    return NAMES, descs, 0xF0, 0xF0
