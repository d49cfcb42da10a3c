"""Transaction resource manager (id 1): COMMIT, ABORT, PREPARE, ...

Parses the variable layout of commit/abort records (``xl_xact_xinfo`` then the
optional dbinfo, subxacts, relfile locators, dropped stats (15+), invalidation
messages, two-phase xid and gid, origin) and the MAXALIGNed arrays after an
``xl_xact_prepare`` header, and renders them as ``xactdesc.c`` does in each
version: 15 added dropped stats, ``apply_feedback`` and the origin of aborts
and prepares; 16 stopped printing the dropped stats of PREPARE records.
"""

# printf-style formatting is used on purpose: it mirrors PostgreSQL's format strings
# (%u, %X/%08X, %6.02f) and is the fastest formatter on the hot path.
# ruff: noqa: UP031

from __future__ import annotations

import struct

from pgwal.record import Record
from pgwal.rmgrdesc._common import (
    I32,
    U32,
    DescFn,
    cstring,
    lsn_text,
    relpath_main,
    timestamptz_text,
)
from pgwal.rmgrdesc.standby import SHARED_INVAL_MSG_SIZE, invalidations_text

NAMES = {
    0x00: "COMMIT",
    0x10: "PREPARE",
    0x20: "ABORT",
    0x30: "COMMIT_PREPARED",
    0x40: "ABORT_PREPARED",
    0x50: "ASSIGNMENT",
    0x60: "INVALIDATION",
}

XLOG_XACT_HAS_INFO = 0x80
HAS_DBINFO = 1 << 0
HAS_SUBXACTS = 1 << 1
HAS_RELFILES = 1 << 2
HAS_INVALS = 1 << 3
HAS_TWOPHASE = 1 << 4
HAS_ORIGIN = 1 << 5
HAS_GID = 1 << 7
HAS_DROPPED_STATS = 1 << 8
COMPLETION_APPLY_FEEDBACK = 1 << 29
COMPLETION_RELCACHE_FILE = 1 << 30
COMPLETION_FORCE_SYNC = 1 << 31
# xinfo bits whose parts a commit desc lists (any of them: the general path)
_LISTED_PARTS = (
    HAS_SUBXACTS | HAS_RELFILES | HAS_INVALS | HAS_TWOPHASE | HAS_ORIGIN | HAS_DROPPED_STATS
)

_I64 = struct.Struct("<q").unpack_from
_ORIGIN = struct.Struct("<Qq").unpack_from
_DBINFO = struct.Struct("<II").unpack_from
_PREPARE_15 = struct.Struct("<IIIIqIiiiiiiBxHQq").unpack_from  # 72 bytes
_PREPARE_14 = struct.Struct("<IIIIqIiiiiBxHQq").unpack_from  # 64 bytes


def _maxalign(n: int) -> int:
    return (n + 7) & ~7


class _Parsed:
    """The pieces of a commit/abort record (``xl_xact_parsed_commit``)."""

    __slots__ = (
        "xinfo",
        "db_id",
        "ts_id",
        "subxacts",
        "rels",
        "stats",
        "nmsgs",
        "msgs_at",
        "twophase_xid",
        "gid",
        "origin_lsn",
        "origin_ts",
    )

    def __init__(self) -> None:
        self.xinfo = 0
        self.db_id = 0
        self.ts_id = 0
        self.subxacts: tuple[int, ...] = ()
        self.rels: list[tuple[int, int, int]] = []
        self.stats: list[tuple[int, int, int]] = []
        self.nmsgs = 0
        self.msgs_at = 0
        self.twophase_xid = 0
        self.gid = ""
        self.origin_lsn = 0
        self.origin_ts = 0


def _triples(data: bytes, offset: int, count: int, fmt: str) -> list[tuple[int, int, int]]:
    if count <= 0:
        return []
    flat = struct.unpack_from("<" + fmt * count, data, offset)
    return [flat[i : i + 3] for i in range(0, 3 * count, 3)]


def _parse_completion(info: int, data: bytes, with_stats: bool) -> _Parsed:
    """Parse a commit or abort record body (main data)."""
    p = _Parsed()
    pos = 8  # after xact_time
    if info & XLOG_XACT_HAS_INFO:
        p.xinfo = U32(data, pos)[0]
        pos += 4
    xinfo = p.xinfo
    if xinfo & HAS_DBINFO:
        p.db_id, p.ts_id = _DBINFO(data, pos)
        pos += 8
    if xinfo & HAS_SUBXACTS:
        n = I32(data, pos)[0]
        p.subxacts = struct.unpack_from("<%dI" % max(n, 0), data, pos + 4)
        pos += 4 + 4 * max(n, 0)
    if xinfo & HAS_RELFILES:
        n = I32(data, pos)[0]
        p.rels = _triples(data, pos + 4, n, "III")
        pos += 4 + 12 * max(n, 0)
    if with_stats and xinfo & HAS_DROPPED_STATS:
        n = I32(data, pos)[0]
        p.stats = _triples(data, pos + 4, n, "iII")  # kind, dboid, objoid
        pos += 4 + 12 * max(n, 0)
    if xinfo & HAS_INVALS:
        p.nmsgs = I32(data, pos)[0]
        p.msgs_at = pos + 4
        pos += 4 + SHARED_INVAL_MSG_SIZE * max(p.nmsgs, 0)
    if xinfo & HAS_TWOPHASE:
        p.twophase_xid = U32(data, pos)[0]
        pos += 4
        if xinfo & HAS_GID:
            p.gid = cstring(data, pos)
            pos += len(data[pos:].split(b"\0", 1)[0]) + 1
    if xinfo & HAS_ORIGIN:
        p.origin_lsn, p.origin_ts = _ORIGIN(data, pos)
    return p


def _relations(label: str, rels: list[tuple[int, int, int]], major: int) -> str:
    if not rels:
        return ""
    return f"; {label}:" + "".join(" " + relpath_main(s, d, r, major) for s, d, r in rels)


def _subxacts(subxacts: tuple[int, ...]) -> str:
    if not subxacts:
        return ""
    return "; subxacts:" + "".join(f" {x}" for x in subxacts)


def _stats(label: str, stats: list[tuple[int, int, int]]) -> str:
    if not stats:
        return ""
    return f"; {label}dropped stats:" + "".join(f" {k}/{d}/{o}" for k, d, o in stats)


def _origin(node: int, lsn: int, ts: int) -> str:
    return f"; origin: node {node}, lsn {lsn_text(lsn)}, at {timestamptz_text(ts)}"


def _commit(major: int) -> DescFn:
    v15 = major >= 15

    def desc(rec: Record) -> str:
        data = rec.main_data
        info = rec.info
        if info & XLOG_XACT_HAS_INFO and len(data) >= 12:
            xinfo = U32(data, 8)[0]
            if not xinfo & _LISTED_PARTS and len(data) >= (20 if xinfo & HAS_DBINFO else 12):
                # the common commit: nothing to list but the time and the flags
                text = timestamptz_text(_I64(data)[0])
                if v15 and xinfo & COMPLETION_APPLY_FEEDBACK:
                    text += "; apply_feedback"
                if xinfo & COMPLETION_FORCE_SYNC:
                    text += "; sync"
                return text
        p = _parse_completion(info, data, v15)
        parts = []
        if p.twophase_xid:
            parts.append(f"{p.twophase_xid}: ")
        parts.append(timestamptz_text(_I64(data)[0]))
        parts.append(_relations("rels", p.rels, major))
        parts.append(_subxacts(p.subxacts))
        if v15:
            parts.append(_stats("", p.stats))
        parts.append(
            invalidations_text(
                data, p.msgs_at, p.nmsgs, p.db_id, p.ts_id, bool(p.xinfo & COMPLETION_RELCACHE_FILE)
            )
        )
        if v15 and p.xinfo & COMPLETION_APPLY_FEEDBACK:
            parts.append("; apply_feedback")
        if p.xinfo & COMPLETION_FORCE_SYNC:
            parts.append("; sync")
        if p.xinfo & HAS_ORIGIN:
            parts.append(_origin(rec.origin or 0, p.origin_lsn, p.origin_ts))
        return "".join(parts)

    return desc


def _abort(major: int) -> DescFn:
    v15 = major >= 15

    def desc(rec: Record) -> str:
        data = rec.main_data
        p = _parse_completion(rec.info, data, v15)
        parts = []
        if p.twophase_xid:
            parts.append(f"{p.twophase_xid}: ")
        parts.append(timestamptz_text(_I64(data)[0]))
        parts.append(_relations("rels", p.rels, major))
        parts.append(_subxacts(p.subxacts))
        if v15:
            if p.xinfo & HAS_ORIGIN:
                parts.append(_origin(rec.origin or 0, p.origin_lsn, p.origin_ts))
            parts.append(_stats("", p.stats))
        return "".join(parts)

    return desc


def _prepare(major: int) -> DescFn:
    def desc(rec: Record) -> str:
        data = rec.main_data
        if major >= 15:
            (
                _magic,
                _total,
                _xid,
                database,
                prepared_at,
                _owner,
                nsubxacts,
                ncommitrels,
                nabortrels,
                ncommitstats,
                nabortstats,
                ninvalmsgs,
                initfileinval,
                gidlen,
                origin_lsn,
                origin_ts,
            ) = _PREPARE_15(data)
            pos = 72
        else:
            (
                _magic,
                _total,
                _xid,
                database,
                prepared_at,
                _owner,
                nsubxacts,
                ncommitrels,
                nabortrels,
                ninvalmsgs,
                initfileinval,
                gidlen,
                origin_lsn,
                origin_ts,
            ) = _PREPARE_14(data)
            ncommitstats = nabortstats = 0
            pos = 64
        gid = cstring(data, pos, max(gidlen, 0))
        pos += _maxalign(gidlen)
        subxacts = struct.unpack_from("<%dI" % max(nsubxacts, 0), data, pos)
        pos += _maxalign(4 * max(nsubxacts, 0))
        commit_rels = _triples(data, pos, ncommitrels, "III")
        pos += _maxalign(12 * max(ncommitrels, 0))
        abort_rels = _triples(data, pos, nabortrels, "III")
        pos += _maxalign(12 * max(nabortrels, 0))
        commit_stats = _triples(data, pos, ncommitstats, "iII")
        pos += _maxalign(12 * max(ncommitstats, 0))
        abort_stats = _triples(data, pos, nabortstats, "iII")
        pos += _maxalign(12 * max(nabortstats, 0))
        parts = [f"gid {gid}: ", timestamptz_text(prepared_at)]
        parts.append(_relations("rels(commit)", commit_rels, major))
        parts.append(_relations("rels(abort)", abort_rels, major))
        if major == 15:
            # 16 stopped copying the stats counts in ParsePrepareRecord, so it prints none.
            parts.append(_stats("commit ", commit_stats))
            parts.append(_stats("abort ", abort_stats))
        parts.append(_subxacts(subxacts))
        parts.append(invalidations_text(data, pos, ninvalmsgs, database, 0, bool(initfileinval)))
        if major >= 15 and rec.origin:
            parts.append(_origin(rec.origin, origin_lsn, origin_ts))
        return "".join(parts)

    return desc


def _assignment(rec: Record) -> str:
    data = rec.main_data
    xtop, nsub = struct.unpack_from("<Ii", data)
    subs = struct.unpack_from("<%dI" % max(nsub, 0), data, 8)
    return f"xtop {xtop}: subxacts:" + "".join(f" {x}" for x in subs)


def _invalidation(rec: Record) -> str:
    data = rec.main_data
    return invalidations_text(data, 4, I32(data)[0], 0, 0, False)


def tables(major: int) -> tuple[dict[int, str], dict[int, DescFn], int, int]:
    """(names by opcode, describers by opcode, identify mask, desc mask) for ``major``."""
    commit = _commit(major)
    abort = _abort(major)
    descs: dict[int, DescFn] = {
        0x00: commit,
        0x10: _prepare(major),
        0x20: abort,
        0x30: commit,
        0x40: abort,
        0x50: _assignment,
        0x60: _invalidation,
    }
    return NAMES, descs, 0x70, 0x70
