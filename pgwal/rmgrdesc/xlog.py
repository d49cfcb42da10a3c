"""XLOG resource manager (id 0): checkpoints, NEXTOID, SWITCH, FPI, ...

Record kinds and the desc text of ``xlogdesc.c`` for PostgreSQL 14 to 17;
17 adds ``CHECKPOINT_REDO`` and a ``wal_level`` field to checkpoints and
end-of-recovery records.
"""

from __future__ import annotations

import struct

from pgwal.record import Record
from pgwal.rmgrdesc._common import (
    U8,
    U64,
    DescFn,
    cstring,
    empty,
    lsn_text,
    timestamptz_text,
)

NAMES = {
    0x00: "CHECKPOINT_SHUTDOWN",
    0x10: "CHECKPOINT_ONLINE",
    0x20: "NOOP",
    0x30: "NEXTOID",
    0x40: "SWITCH",
    0x50: "BACKUP_END",
    0x60: "PARAMETER_CHANGE",
    0x70: "RESTORE_POINT",
    0x80: "FPW_CHANGE",
    0x90: "END_OF_RECOVERY",
    0xA0: "FPI_FOR_HINT",
    0xB0: "FPI",
    0xD0: "OVERWRITE_CONTRECORD",
}
NAMES_17 = {**NAMES, 0xE0: "CHECKPOINT_REDO"}

# wal_level enum values -> first matching GUC option name.
_WAL_LEVELS = {0: "minimal", 1: "replica", 2: "logical"}

# CheckPoint: redo, tli, prev tli, fpw, (wal_level in 17), nextXid, nextOid, nextMulti,
# nextMultiOffset, oldestXid, oldestXidDB, oldestMulti, oldestMultiDB, time,
# oldestCommitTsXid, newestCommitTsXid, oldestActiveXid.
_CHECKPOINT = struct.Struct("<QIIB3xiQIIIIIII4xqIII").unpack_from
_PARAM_CHANGE = struct.Struct("<iiiiiiBB").unpack_from
_END_OF_RECOVERY = struct.Struct("<qIIi").unpack_from
_END_OF_RECOVERY_OLD = struct.Struct("<qII").unpack_from
_OVERWRITE = struct.Struct("<Qq").unpack_from
_NEXTOID = struct.Struct("<I").unpack_from
_INT = struct.Struct("<i").unpack_from


def _wal_level(value: int) -> str:
    return _WAL_LEVELS.get(value, "?")


def _checkpoint(with_wal_level: bool, shutdown: bool) -> DescFn:
    tail = "shutdown" if shutdown else "online"

    def desc(rec: Record) -> str:
        (
            redo,
            tli,
            prev_tli,
            fpw,
            wal_level,
            next_xid,
            next_oid,
            next_multi,
            next_off,
            oldest_xid,
            oldest_xid_db,
            oldest_multi,
            oldest_multi_db,
            _time,
            oldest_cts,
            newest_cts,
            oldest_active,
        ) = _CHECKPOINT(rec.main_data)
        level = f"wal_level {_wal_level(wal_level)}; " if with_wal_level else ""
        return (
            f"redo {lsn_text(redo)}; tli {tli}; prev tli {prev_tli}; "
            f"fpw {'true' if fpw else 'false'}; {level}"
            f"xid {next_xid >> 32}:{next_xid & 0xFFFFFFFF}; oid {next_oid}; "
            f"multi {next_multi}; offset {next_off}; "
            f"oldest xid {oldest_xid} in DB {oldest_xid_db}; "
            f"oldest multi {oldest_multi} in DB {oldest_multi_db}; "
            f"oldest/newest commit timestamp xid: {oldest_cts}/{newest_cts}; "
            f"oldest running xid {oldest_active}; {tail}"
        )

    return desc


def _nextoid(rec: Record) -> str:
    return str(_NEXTOID(rec.main_data)[0])


def _restore_point(rec: Record) -> str:
    return cstring(rec.main_data, 8)


def _backup_end(rec: Record) -> str:
    return lsn_text(U64(rec.main_data)[0])


def _parameter_change(rec: Record) -> str:
    (max_conn, max_workers, max_senders, max_prepared, max_locks, wal_level, hints, track_cts) = (
        _PARAM_CHANGE(rec.main_data)
    )
    return (
        f"max_connections={max_conn} max_worker_processes={max_workers} "
        f"max_wal_senders={max_senders} max_prepared_xacts={max_prepared} "
        f"max_locks_per_xact={max_locks} wal_level={_wal_level(wal_level)} "
        f"wal_log_hints={'on' if hints else 'off'} "
        f"track_commit_timestamp={'on' if track_cts else 'off'}"
    )


def _fpw_change(rec: Record) -> str:
    return "true" if U8(rec.main_data)[0] else "false"


def _end_of_recovery_old(rec: Record) -> str:
    end_time, tli, prev_tli = _END_OF_RECOVERY_OLD(rec.main_data)
    return f"tli {tli}; prev tli {prev_tli}; time {timestamptz_text(end_time)}"


def _end_of_recovery_17(rec: Record) -> str:
    end_time, tli, prev_tli, wal_level = _END_OF_RECOVERY(rec.main_data)
    return (
        f"tli {tli}; prev tli {prev_tli}; time {timestamptz_text(end_time)}; "
        f"wal_level {_wal_level(wal_level)}"
    )


def _overwrite_contrecord(rec: Record) -> str:
    lsn, when = _OVERWRITE(rec.main_data)
    return f"lsn {lsn_text(lsn)}; time {timestamptz_text(when)}"


def _checkpoint_redo(rec: Record) -> str:
    return f"wal_level {_wal_level(_INT(rec.main_data)[0])}"


def tables(major: int) -> tuple[dict[int, str], dict[int, DescFn], int, int]:
    """(names by opcode, describers by opcode, identify mask, desc mask) for ``major``."""
    v17 = major >= 17
    descs: dict[int, DescFn] = {
        0x00: _checkpoint(v17, shutdown=True),
        0x10: _checkpoint(v17, shutdown=False),
        0x30: _nextoid,
        0x50: _backup_end,
        0x60: _parameter_change,
        0x70: _restore_point,
        0x80: _fpw_change,
        0x90: _end_of_recovery_17 if v17 else _end_of_recovery_old,
        0xA0: empty,
        0xB0: empty,
        0xD0: _overwrite_contrecord,
    }
    if v17:
        descs[0xE0] = _checkpoint_redo
    return (NAMES_17 if v17 else NAMES), descs, 0xF0, 0xF0
