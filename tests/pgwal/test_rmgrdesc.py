"""Unit tests of pgwal.rmgrdesc and the line formatting, on records built by hand.

The expected texts are facts: lines of the real pg_waldump listings in the
corpus (values copied from them) and the struct layouts of PostgreSQL's
WAL record definitions for each version.
"""

from __future__ import annotations

import calendar
import struct
import time

import pytest

from pgwal.dump import RecordFormatter, WalStats
from pgwal.record import BlockRef, Record, RelFileLocator
from pgwal.rmgrdesc import describe, identify, rmgr_table

REL = RelFileLocator(1663, 5, 3079)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def rec(
    rmid: int,
    info: int,
    main: bytes = b"",
    blocks=(),
    *,
    xid: int = 0,
    lsn: int = 0x700188,
    prev: int = 0x700148,
    origin: int | None = None,
) -> Record:
    total = 24 + len(main) + sum(len(b.image) + len(b.data) for b in blocks) + 2
    return Record(lsn, lsn + total, prev, xid, total, info, rmid, 0, tuple(blocks), main,
                  origin, None)  # fmt: skip


def blk(
    block_id: int = 0,
    *,
    data: bytes = b"",
    image: bytes = b"",
    fork: int = 0,
    apply: bool = True,
    hole=(0, 0),
    compression=None,
    blkno: int = 0,
) -> BlockRef:
    flags = fork | (0x10 if image else 0) | (0x20 if data else 0)
    return BlockRef(
        block_id, fork, flags, REL, blkno, bool(image), apply, image, 0, hole[0], hole[1],
        compression, data,
    )  # fmt: skip


# --------------------------------------------------------------------------- kinds


@pytest.mark.parametrize("major", [14, 15, 16, 17])
def test_every_builtin_rmgr_has_a_name_and_kinds(major: int) -> None:
    table = rmgr_table(major)
    names = [table[i].name for i in range(22)]
    assert names[0] == "XLOG" and names[10] == "Heap" and names[21] == "LogicalMessage"
    assert identify(major, 10, 0x80) == "INSERT+INIT"
    assert identify(major, 1, 0x80 | 0x20) == "ABORT"  # XLOG_XACT_HAS_INFO is not part of the kind
    assert identify(major, 20, 0x37) == "Generic"
    assert identify(major, 19, 0x01) is None  # replorigin_identify does not mask the low bits
    assert table[22] is None


def test_version_specific_kinds() -> None:
    assert identify(14, 4, 0x00) == "CREATE" and identify(15, 4, 0x00) == "CREATE_FILE_COPY"
    assert identify(16, 9, 0x10) == "PRUNE" and identify(17, 9, 0x10) == "PRUNE_ON_ACCESS"
    assert identify(16, 0, 0xE0) is None and identify(17, 0, 0xE0) == "CHECKPOINT_REDO"
    assert rmgr_table(14)[130] is None and rmgr_table(15)[130].name == "custom130"


def test_unknown_kind_and_custom_rmgr_lines() -> None:
    f = RecordFormatter(15)
    line = f(rec(10, 0x90 | 0x01, b"\x01\x00\x00"))  # 0x10|INIT_PAGE is no Heap kind
    assert "desc: UNKNOWN (90) " in line
    assert f(rec(130, 0x10)).endswith("desc: UNKNOWN (10) rmid: 130\n")
    assert f(rec(130, 0x10)).startswith("rmgr: custom130   len (rec/tot): ")


# --------------------------------------------------------------------------- line and blkrefs


def test_record_line_fields_and_padding() -> None:
    r = rec(10, 0x00, struct.pack("<HB", 2, 1), [blk(image=b"x" * 256, hole=(32, 7936))],
            xid=724, lsn=0x700188, prev=0x700148)  # fmt: skip
    line = RecordFormatter(15).line(r)
    assert line == (
        f"rmgr: Heap        len (rec/tot): {r.total_len - 256:6d}/{r.total_len:6d}, "
        "tx:        724, "
        "lsn: 0/00700188, prev 0/00700148, desc: INSERT off 2 flags 0x01"
    )
    assert RecordFormatter(16).line(r).endswith("desc: INSERT off: 2, flags: 0x01")
    big = rec(0, 0x30, struct.pack("<I", 24576), lsn=(5 << 32) | 0x28, prev=(4 << 32) | 0xFFFFF0)
    assert "lsn: 5/00000028, prev 4/00FFFFF0, desc: NEXTOID 24576" in RecordFormatter(14)(big)


def test_short_and_detailed_blkrefs() -> None:
    blocks = [
        blk(0, image=b"i" * 200, hole=(32, 7936), blkno=0),
        blk(1, data=b"d", fork=2, blkno=7),
        blk(3, image=b"z" * 100, apply=False, hole=(40, 8000), compression="lz4", blkno=9),
    ]
    r = rec(11, 0x10, struct.pack("<H", 3), blocks)
    short = RecordFormatter(16)(r)
    assert short.endswith(
        "desc: INSERT_UPPER off: 3, blkref #0: rel 1663/5/3079 blk 0 FPW, "
        "blkref #1: rel 1663/5/3079 fork vm blk 7, "
        "blkref #3: rel 1663/5/3079 blk 9 FPW for WAL verification\n"
    )
    detail15 = RecordFormatter(15, bkp_details=True)(r).split("\n")
    assert detail15[0].endswith("desc: INSERT_UPPER off 3")
    assert (
        detail15[1]
        == "\tblkref #0: rel 1663/5/3079 fork main blk 0 (FPW); hole: offset: 32, length: 7936"
    )
    assert detail15[2] == "\tblkref #1: rel 1663/5/3079 fork vm blk 7"
    saved = 8192 - 8000 - 100
    assert detail15[3] == (
        "\tblkref #3: rel 1663/5/3079 fork main blk 9 (FPW for WAL verification); "
        "hole: offset: 40, "
        f"length: 8000, compression saved: {saved}, method: lz4"
    )
    assert detail15[4] == ""
    detail14 = RecordFormatter(14, bkp_details=True)(r).split("\n")
    assert detail14[3].endswith(f"compression saved: {saved}")


# --------------------------------------------------------------------------- XLOG


def _checkpoint(wal_level: int = 0) -> bytes:
    # values of the corpus pg15 CHECKPOINT_ONLINE at 0/700060
    return struct.pack("<QIIB3xiQIIIIIII4xqIII", 0x700028, 1, 1, 1, wal_level, 724, 13572, 1, 0,
                       716, 1, 1, 1, 0, 0, 0, 724)  # fmt: skip


def test_checkpoint_wording_by_version() -> None:
    text = describe(rec(0, 0x10, _checkpoint()), 15)
    assert text == (
        "redo 0/700028; tli 1; prev tli 1; fpw true; xid 0:724; oid 13572; multi 1; offset 0; "
        "oldest xid 716 in DB 1; oldest multi 1 in DB 1; oldest/newest commit timestamp xid: 0/0; "
        "oldest running xid 724; online"
    )
    v17 = describe(rec(0, 0x00, _checkpoint(wal_level=2)), 17)
    assert "fpw true; wal_level logical; xid 0:724;" in v17 and v17.endswith("; shutdown")
    assert describe(rec(0, 0xE0, struct.pack("<i", 1)), 17) == "wal_level replica"


def test_xlog_small_records() -> None:
    assert describe(rec(0, 0x70, struct.pack("<q", 0) + b"pgwal_rp1\0"), 16) == "pgwal_rp1"
    assert describe(rec(0, 0x50, struct.pack("<Q", 0xA00028)), 14) == "0/A00028"
    assert describe(rec(0, 0x40), 15) == ""
    assert describe(rec(0, 0x80, b"\x00"), 15) == "false"
    pc = struct.pack("<iiiiiiBB", 100, 8, 10, 10, 64, 2, 1, 0)
    assert describe(rec(0, 0x60, pc), 15) == (
        "max_connections=100 max_worker_processes=8 max_wal_senders=10 max_prepared_xacts=10 "
        "max_locks_per_xact=64 wal_level=logical wal_log_hints=on track_commit_timestamp=off"
    )


# --------------------------------------------------------------------------- Transaction

# 2026-11-25 11:49:20.472255 UTC as a TimestampTz (microseconds since 2000-01-01 UTC)
UNIX = calendar.timegm((2026, 11, 25, 11, 49, 20, 0, 0, 0))
TS = (UNIX - 946684800) * 1_000_000 + 472255
TS_TEXT = "2026-11-25 11:49:20.472255 UTC"


def test_timestamp_matches_corpus_text() -> None:
    assert describe(rec(1, 0x20, struct.pack("<q", TS)), 15) == TS_TEXT


def _msg(msg_id: int, word4: int, word8: int) -> bytes:
    """A 16-byte SharedInvalidationMessage: int8 id, then 32-bit words at offsets 4 and 8."""
    return struct.pack("<b3xIII", msg_id, word4, word8, 0)


def _commit_body(xinfo: int, *parts: bytes) -> bytes:
    return struct.pack("<qI", TS, xinfo) + b"".join(parts)


def test_commit_with_everything_by_version() -> None:
    dbinfo = struct.pack("<II", 5, 1663)
    subx = struct.pack("<iII", 2, 777, 778)
    rels = struct.pack("<i", 1) + struct.pack("<III", 1663, 5, 16445)
    stats = struct.pack("<i", 1) + struct.pack("<iII", 2, 5, 16445)
    invals = struct.pack("<i", 2) + _msg(80, 5, 0) + _msg(-2, 5, 16401)
    origin = struct.pack("<Qq", 0x1234, TS)
    xinfo = 0x1 | 0x2 | 0x4 | 0x100 | 0x8 | 0x20 | (1 << 30) | (1 << 31) | (1 << 29)
    body = _commit_body(xinfo, dbinfo, subx, rels, stats, invals, origin)
    r = rec(1, 0x80, body, origin=1)
    want15 = (
        f"{TS_TEXT}; rels: base/5/16445; subxacts: 777 778; dropped stats: 2/5/16445; "
        "relcache init file inval dbid 5 tsid 1663; inval msgs: catcache 80 relcache 16401; "
        f"apply_feedback; sync; origin: node 1, lsn 0/1234, at {TS_TEXT}"
    )
    assert describe(r, 15) == want15
    assert describe(r, 17) == want15
    # 14 has no dropped stats (bit 8 unknown there) and no apply_feedback text
    body14 = _commit_body(xinfo & ~0x100, dbinfo, subx, rels, invals, origin)
    assert describe(rec(1, 0x80, body14, origin=1), 14) == want15.replace(
        "; dropped stats: 2/5/16445", ""
    ).replace("; apply_feedback", "")


def test_commit_prepared_abort_and_assignment() -> None:
    body = _commit_body(0x10, struct.pack("<I", 858))
    assert describe(rec(1, 0x80 | 0x30, body), 16) == f"858: {TS_TEXT}"
    assert describe(rec(1, 0x20, struct.pack("<q", TS)), 14) == TS_TEXT
    assign = struct.pack("<IiI", 776, 1, 777)
    assert describe(rec(1, 0x50, assign), 17) == "xtop 776: subxacts: 777"
    inval = struct.pack("<i", 3) + b"".join(_msg(i, 5, r) for i, r in
                                             ((83, 0), (-5, 2608), (-5, 2609)))  # fmt: skip
    assert (
        describe(rec(1, 0x60, inval), 15) == "; inval msgs: catcache 83 snapshot 2608 snapshot 2609"
    )


def test_prepare_by_version() -> None:
    gid = b"pgwal_2pc_1\0"
    head15 = struct.pack("<IIIIqIiiiiiiBxHQq", 0, 0, 859, 5, TS, 10, 1, 0, 0, 1, 0, 0, 0,
                         len(gid), 0, 0)  # fmt: skip
    body15 = (
        head15 + gid + b"\0" * 4 + struct.pack("<I", 860) + b"\0" * 4 + struct.pack("<iII", 2, 5, 9)
    )
    want = f"gid pgwal_2pc_1: {TS_TEXT}; subxacts: 860"
    assert describe(rec(1, 0x10, body15), 15) == (
        f"gid pgwal_2pc_1: {TS_TEXT}; commit dropped stats: 2/5/9; subxacts: 860"
    )
    assert describe(rec(1, 0x10, body15), 16) == want  # 16 no longer prints prepare stats
    head14 = struct.pack("<IIIIqIiiiiBxHQq", 0, 0, 859, 5, TS, 10, 1, 0, 0, 0, 0, len(gid), 0, 0)
    body14 = head14 + gid + b"\0" * 4 + struct.pack("<I", 860) + b"\0" * 4
    assert describe(rec(1, 0x10, body14), 14) == want


# --------------------------------------------------------------------------- Standby


def test_standby_records() -> None:
    lock = struct.pack("<iIII", 1, 733, 12972, 16384)
    assert describe(rec(8, 0x00, lock), 14) == "xid 733 db 12972 rel 16384 "
    running = struct.pack("<iiB3xIII", 2, 1, 1, 740, 733, 739) + struct.pack("<III", 733, 735, 736)
    assert describe(rec(8, 0x10, running), 15) == (
        "nextXid 740 latestCompletedXid 739 oldestRunningXid 733; 2 xacts: 733 735; subxid ovf"
    )
    assert describe(rec(8, 0x10, running), 16) == (
        "nextXid 740 latestCompletedXid 739 oldestRunningXid 733; 2 xacts: 733 735; "
        "subxid overflowed; 1 subxacts: 736"
    )
    invals = struct.pack("<IIB3xi", 5, 1663, 1, 1) + _msg(-4, 5, 0)
    assert describe(rec(8, 0x20, invals), 17) == (
        "; relcache init file inval dbid 5 tsid 1663; inval msgs: relmap db 5"
    )


# --------------------------------------------------------------------------- Heap / Heap2


def test_heap_wording_by_version() -> None:
    upd = struct.pack("<IHBBIH", 733, 39, 0, 0x02, 0, 15)
    assert describe(rec(10, 0x20, upd), 14) == "off 39 xmax 733 flags 0x02 ; new off 15 xmax 0"
    assert describe(rec(10, 0x20, upd), 16) == (
        "old_xmax: 733, old_off: 39, old_infobits: [], flags: 0x02, new_xmax: 0, new_off: 15"
    )
    lock = struct.pack("<IHBB", 753, 1, 0x06, 0)
    assert describe(rec(10, 0x60, lock), 15) == "off 1: xid 753: flags 0x00 LOCK_ONLY EXCL_LOCK "
    assert describe(rec(10, 0x60, lock), 17) == (
        "xmax: 753, off: 1, infobits: [LOCK_ONLY, EXCL_LOCK], flags: 0x00"
    )
    trunc = struct.pack("<IIB3xI", 5, 1, 0x03, 16419)
    assert describe(rec(10, 0x30, trunc), 14) == "cascade restart_seqs nrelids 1 relids 16419"
    assert describe(rec(10, 0x30, trunc), 16) == (
        "flags: [CASCADE, RESTART_SEQS], nrelids: 1, relids: [16419]"
    )


def test_heap2_prune_vacuum_freeze_by_version() -> None:
    prune_main = struct.pack("<IHHB", 0, 1, 1, 0)
    data = struct.pack("<HHHHH", 15, 23, 7, 8, 9)  # redirect 15->23, dead 7, unused 8 9
    r = rec(9, 0x10, prune_main, [blk(data=data)])
    assert describe(r, 15) == "latestRemovedXid 0 nredirected 1 ndead 1"
    assert describe(r, 16) == (
        "snapshotConflictHorizon: 0, nredirected: 1, ndead: 1, nunused: 2, "
        "redirected: [15->23], dead: [7], unused: [8, 9]"
    )
    # 17: reason, flags (catalog | horizon | redirections | unused), horizon xid
    flags17 = (1 << 1) | (1 << 3) | (1 << 5) | (1 << 7)
    main17 = struct.pack("<BBI", 1, flags17, 786)
    data17 = struct.pack("<HHH", 1, 23, 31) + struct.pack("<HHH", 2, 46, 47)
    assert describe(rec(9, 0x10, main17, [blk(data=data17)]), 17) == (
        "snapshotConflictHorizon: 786, isCatalogRel: T, nplans: 0, nredirected: 1, ndead: 0, "
        "nunused: 2, redirected: [23->31], unused: [46, 47]"
    )
    plan = struct.pack("<IHHBxH", 0, 32772, 11010, 0, 2)
    freeze = rec(
        9, 0x30, struct.pack("<IHB", 776, 1, 0), [blk(data=plan + struct.pack("<HH", 110, 113))]
    )
    assert describe(freeze, 16) == (
        "snapshotConflictHorizon: 776, nplans: 1, plans: [{ xmax: 0, infomask: 11010, "
        "infomask2: 32772, ntuples: 2, offsets: [110, 113] }]"
    )
    assert describe(rec(9, 0x30, struct.pack("<IH", 4244969370, 6)), 14) == (
        "cutoff xid 4244969370 ntuples 6"
    )


def test_heap2_new_cid_and_multi_insert() -> None:
    cid = struct.pack("<IIIIIIIHHH", 733, 0, 4294967295, 4294967295, 1663, 12972, 1247, 0, 13, 43)
    assert describe(rec(9, 0x70, cid), 14) == (
        "rel 1663/12972/1247; tid 13/43; cmin: 0, cmax: 4294967295, combo: 4294967295"
    )
    assert describe(rec(9, 0x70, cid), 16) == (
        "rel: 1663/12972/1247, tid: 13/43, cmin: 0, cmax: 4294967295, combo: 4294967295"
    )
    mi = struct.pack("<BxHHH", 0x02, 2, 5, 6)
    assert describe(rec(9, 0x50, mi, [blk(data=b"t")]), 16) == (
        "ntuples: 2, flags: 0x02, offsets: [5, 6]"
    )
    assert describe(rec(9, 0xD0, mi, [blk(data=b"t")]), 16) == "ntuples: 2, flags: 0x02"
    assert describe(rec(9, 0x50, mi), 15) == "2 tuples flags 0x02"


# --------------------------------------------------------------------------- Btree


def test_btree_wording_by_version() -> None:
    split = struct.pack("<IHHH", 0, 364, 403, 0)
    assert describe(rec(11, 0x40, split), 14) == (
        "level 0, firstrightoff 364, newitemoff 403, postingoff 0"
    )
    assert describe(rec(11, 0x40, split), 16) == (
        "level: 0, firstrightoff: 364, newitemoff: 403, postingoff: 0"
    )
    assert describe(rec(11, 0xA0, struct.pack("<II", 1, 0)), 15) == "lev 0"
    assert describe(rec(11, 0xA0, struct.pack("<II", 1, 0)), 16) == "level: 0"
    delete = struct.pack("<IHHB", 771, 0, 1, 0)
    # block 0: no deleted offsets, updated offset 53 with one posting-list tid 156
    data = struct.pack("<H", 53) + struct.pack("<HH", 1, 156)
    assert describe(rec(11, 0x70, delete, [blk(data=data)]), 17) == (
        "snapshotConflictHorizon: 771, ndeleted: 0, nupdated: 1, isCatalogRel: F, deleted: [], "
        "updated: [{ off: 53, nptids: 1, ptids: [156] }]"
    )
    assert describe(rec(11, 0x70, delete, [blk(data=data)]), 16) == (
        "snapshotConflictHorizon: 771, ndeleted: 0, nupdated: 1, deleted: [], "
        "updated: [{ off: 53, nptids: 1, ptids: [156] }]"
    )
    assert describe(rec(11, 0x70, delete[:8]), 15) == "latestRemovedXid 771; ndeleted 0; nupdated 1"
    unlink = struct.pack("<III4xQIII", 1, 2, 0, (1 << 32) | 900, 3, 4, 5)
    assert describe(rec(11, 0x80, unlink), 14) == (
        "left 1; right 2; level 0; safexid 1:900; leafleft 3; leafright 4; leaftopparent 5"
    )


# --------------------------------------------------------------------------- robustness and stats


def test_short_main_data_gives_a_marker_not_an_exception() -> None:
    line = RecordFormatter(16)(rec(10, 0x20, b"\x01"))
    assert "desc: UPDATE (undecodable 1-byte main data" in line


def test_stats_rows_and_percentages() -> None:
    st = WalStats(15)
    st.add(rec(10, 0x00, b"\x01\x00\x00", [blk(image=b"x" * 100)], lsn=0x700028))
    st.add(rec(1, 0x80, struct.pack("<qI", TS, 0), lsn=0x700100))
    text = st.render(per_record=True).splitlines()
    assert text[0] == "WAL statistics between 0/700028 and 0/700126:"
    heap = next(line for line in text if line.startswith("Heap/INSERT "))
    xact = next(line for line in text if line.startswith("Transaction/COMMIT "))
    assert heap.split()[1:3] == ["1", "("] or heap.split()[1] == "1"
    assert "( 50.00)" in heap and "(100.00)" in heap.split(")", 3)[2] + ")"
    assert xact.split()[1] == "1"
    assert text[-1].startswith("Total") and text[-1].endswith("[100%]")
    per_rmgr = st.render(per_record=False).splitlines()
    assert len(per_rmgr) == 3 + 22 + 2  # header, 22 builtin rmgrs, separator, total
    assert WalStats(15).render(per_record=True) == ""
