"""Heap (id 10) and Heap2 (id 9) resource managers.

14 and 15 print terse ``off 3 flags 0x01`` text; 16 switched to ``key: value``
pairs with bracketed arrays read from block data (offsets of PRUNE, VACUUM,
FREEZE_PAGE plans, MULTI_INSERT); 17 merged PRUNE, VACUUM and FREEZE_PAGE into
the three PRUNE_* records whose block 0 carries optional sub-records.
"""

# printf-style formatting is used on purpose: it mirrors PostgreSQL's format strings
# (%u, %X/%08X, %6.02f) and is the fastest formatter on the hot path.
# ruff: noqa: UP031

from __future__ import annotations

import struct

from pgwal.record import Record
from pgwal.rmgrdesc._common import (
    U16,
    DescFn,
    array_text,
    block_data,
    u16_list,
    u32_list,
)

HEAP_NAMES = {
    0x00: "INSERT",
    0x80: "INSERT+INIT",
    0x10: "DELETE",
    0x20: "UPDATE",
    0xA0: "UPDATE+INIT",
    0x40: "HOT_UPDATE",
    0xC0: "HOT_UPDATE+INIT",
    0x30: "TRUNCATE",
    0x50: "HEAP_CONFIRM",
    0x60: "LOCK",
    0x70: "INPLACE",
}

HEAP2_NAMES = {
    0x10: "PRUNE",
    0x20: "VACUUM",
    0x30: "FREEZE_PAGE",
    0x40: "VISIBLE",
    0x50: "MULTI_INSERT",
    0xD0: "MULTI_INSERT+INIT",
    0x60: "LOCK_UPDATED",
    0x70: "NEW_CID",
    0x00: "REWRITE",
}
HEAP2_NAMES_17 = {
    **HEAP2_NAMES,
    0x10: "PRUNE_ON_ACCESS",
    0x20: "PRUNE_VACUUM_SCAN",
    0x30: "PRUNE_VACUUM_CLEANUP",
}

XLOG_HEAP_INIT_PAGE = 0x80

_INFOBITS = (
    (0x01, "IS_MULTI"),
    (0x02, "LOCK_ONLY"),
    (0x04, "EXCL_LOCK"),
    (0x08, "KEYSHR_LOCK"),
    (0x10, "KEYS_UPDATED"),
)

_INSERT = struct.Struct("<HB").unpack_from
_DELETE = struct.Struct("<IHBB").unpack_from  # xmax, offnum, infobits, flags (also LOCK)
_UPDATE = struct.Struct("<IHBBIH").unpack_from
_TRUNCATE = struct.Struct("<IIB").unpack_from  # dbId, nrelids, flags; relids at 12
_PRUNE_OLD = struct.Struct("<IHH").unpack_from
_FREEZE_OLD = struct.Struct("<IH").unpack_from
_VISIBLE = struct.Struct("<IB").unpack_from
_MULTI_INSERT = struct.Struct("<BxH").unpack_from  # flags, ntuples; offsets at 4
_NEW_CID = struct.Struct("<IIIIIIIHHH").unpack_from
_PLAN = struct.Struct("<IHHBxH").unpack_from  # xmax, infomask2, infomask, frzflags, ntuples
_PLAN_SIZE = 12
_PRUNE_17 = struct.Struct("<BB").unpack_from


# ---------------------------------------------------------------- 14 and 15 wording


_INFOBITS_OLD = tuple(
    "".join(name + " " for bit, name in _INFOBITS if bits & bit) for bits in range(256)
)  # the text of every infobits byte, computed once


def _infobits_old(bits: int) -> str:
    return _INFOBITS_OLD[bits]


def _insert_old(rec: Record) -> str:
    off, flags = _INSERT(rec.main_data)
    return "off %u flags 0x%02X" % (off, flags)


def _delete_old(rec: Record) -> str:
    _xmax, off, infobits, flags = _DELETE(rec.main_data)
    return "off %u flags 0x%02X %s" % (off, flags, _infobits_old(infobits))


def _update_old(rec: Record) -> str:
    old_xmax, old_off, infobits, flags, new_xmax, new_off = _UPDATE(rec.main_data)
    return "off %u xmax %u flags 0x%02X %s; new off %u xmax %u" % (
        old_off,
        old_xmax,
        flags,
        _infobits_old(infobits),
        new_off,
        new_xmax,
    )


def _truncate_old(rec: Record) -> str:
    data = rec.main_data
    _db, nrelids, flags = _TRUNCATE(data)
    text = ("cascade " if flags & 1 else "") + ("restart_seqs " if flags & 2 else "")
    relids = u32_list(data, 12, nrelids)
    return text + f"nrelids {nrelids} relids" + "".join(f" {r}" for r in relids)


def _offnum_old(rec: Record) -> str:
    return "off %u" % U16(rec.main_data)[0]


def _lock_old(rec: Record) -> str:
    xid, off, infobits, flags = _DELETE(rec.main_data)
    return "off %u: xid %u: flags 0x%02X %s" % (off, xid, flags, _infobits_old(infobits))


def _prune_old(rec: Record) -> str:
    xid, nredirected, ndead = _PRUNE_OLD(rec.main_data)
    return f"latestRemovedXid {xid} nredirected {nredirected} ndead {ndead}"


def _vacuum_old(rec: Record) -> str:
    return f"nunused {U16(rec.main_data)[0]}"


def _freeze_old(rec: Record) -> str:
    xid, ntuples = _FREEZE_OLD(rec.main_data)
    return f"cutoff xid {xid} ntuples {ntuples}"


def _visible_old(rec: Record) -> str:
    xid, flags = _VISIBLE(rec.main_data)
    return "cutoff xid %u flags 0x%02X" % (xid, flags)


def _multi_insert_old(rec: Record) -> str:
    flags, ntuples = _MULTI_INSERT(rec.main_data)
    return "%d tuples flags 0x%02X" % (ntuples, flags)


def _lock_updated_old(rec: Record) -> str:
    xmax, off, infobits, flags = _DELETE(rec.main_data)
    return "off %u: xmax %u: flags 0x%02X %s" % (off, xmax, flags, _infobits_old(infobits))


def _new_cid_old(rec: Record) -> str:
    (_top, cmin, cmax, combo, spc, db, rel, bi_hi, bi_lo, posid) = _NEW_CID(rec.main_data)
    return "rel %u/%u/%u; tid %u/%u; cmin: %u, cmax: %u, combo: %u" % (
        spc,
        db,
        rel,
        (bi_hi << 16) | bi_lo,
        posid,
        cmin,
        cmax,
        combo,
    )


# ---------------------------------------------------------------- 16 and 17 wording


def _infobits_new(bits: int, key: str) -> str:
    return f"{key}: [" + ", ".join(name for bit, name in _INFOBITS if bits & bit) + "]"


def _insert_new(rec: Record) -> str:
    off, flags = _INSERT(rec.main_data)
    return "off: %u, flags: 0x%02X" % (off, flags)


def _delete_new(rec: Record) -> str:
    xmax, off, infobits, flags = _DELETE(rec.main_data)
    return "xmax: %u, off: %u, %s, flags: 0x%02X" % (
        xmax,
        off,
        _infobits_new(infobits, "infobits"),
        flags,
    )


def _update_new(rec: Record) -> str:
    old_xmax, old_off, infobits, flags, new_xmax, new_off = _UPDATE(rec.main_data)
    return "old_xmax: %u, old_off: %u, %s, flags: 0x%02X, new_xmax: %u, new_off: %u" % (
        old_xmax,
        old_off,
        _infobits_new(infobits, "old_infobits"),
        flags,
        new_xmax,
        new_off,
    )


def _truncate_new(rec: Record) -> str:
    data = rec.main_data
    _db, nrelids, flags = _TRUNCATE(data)
    names = [n for bit, n in ((1, "CASCADE"), (2, "RESTART_SEQS")) if flags & bit]
    relids = u32_list(data, 12, nrelids)
    return "flags: [" + ", ".join(names) + f"], nrelids: {nrelids}, relids:" + array_text(relids)


def _offnum_new(rec: Record) -> str:
    return "off: %u" % U16(rec.main_data)[0]


def _lock_new(rec: Record) -> str:
    return _delete_new(rec)


def _prune_16(rec: Record) -> str:
    horizon, nredirected, ndead = _PRUNE_OLD(rec.main_data)
    text = f"snapshotConflictHorizon: {horizon}, nredirected: {nredirected}, ndead: {ndead}"
    data = block_data(rec, 0)
    if data is None:
        return text
    pairs = u16_list(data, 0, 2 * nredirected)
    dead = u16_list(data, 4 * nredirected, ndead)
    unused_at = 4 * nredirected + 2 * ndead
    nunused = (len(data) - unused_at) // 2
    unused = u16_list(data, unused_at, nunused)
    redirected = [f"{pairs[i]}->{pairs[i + 1]}" for i in range(0, len(pairs), 2)]
    return (
        f"{text}, nunused: {nunused}, redirected:{array_text(redirected)}, "
        f"dead:{array_text(dead)}, unused:{array_text(unused)}"
    )


def _vacuum_16(rec: Record) -> str:
    nunused = U16(rec.main_data)[0]
    text = f"nunused: {nunused}"
    data = block_data(rec, 0)
    if data is None:
        return text
    return f"{text}, unused:{array_text(u16_list(data, 0, nunused))}"


def _plans_text(data: bytes, plans_at: int, nplans: int, offsets_at: int) -> str:
    items = []
    pos = offsets_at
    for i in range(nplans):
        xmax, infomask2, infomask, _frz, ntuples = _PLAN(data, plans_at + i * _PLAN_SIZE)
        offs = u16_list(data, pos, ntuples)
        pos += 2 * ntuples
        items.append(
            f"{{ xmax: {xmax}, infomask: {infomask}, infomask2: {infomask2}, "
            f"ntuples: {ntuples}, offsets:{array_text(offs)} }}"
        )
    return array_text(items)


def _freeze_16(rec: Record) -> str:
    horizon, nplans = _FREEZE_OLD(rec.main_data)
    text = f"snapshotConflictHorizon: {horizon}, nplans: {nplans}"
    data = block_data(rec, 0)
    if data is None:
        return text
    return f"{text}, plans:" + _plans_text(data, 0, nplans, nplans * _PLAN_SIZE)


def _visible_new(rec: Record) -> str:
    xid, flags = _VISIBLE(rec.main_data)
    return "snapshotConflictHorizon: %u, flags: 0x%02X" % (xid, flags)


def _multi_insert_new(rec: Record) -> str:
    data = rec.main_data
    flags, ntuples = _MULTI_INSERT(data)
    text = "ntuples: %d, flags: 0x%02X" % (ntuples, flags)
    if not rec.info & XLOG_HEAP_INIT_PAGE and block_data(rec, 0) is not None:
        text += ", offsets:" + array_text(u16_list(data, 4, ntuples))
    return text


def _lock_updated_new(rec: Record) -> str:
    return _delete_new(rec)


def _new_cid_new(rec: Record) -> str:
    (_top, cmin, cmax, combo, spc, db, rel, bi_hi, bi_lo, posid) = _NEW_CID(rec.main_data)
    return "rel: %u/%u/%u, tid: %u/%u, cmin: %u, cmax: %u, combo: %u" % (
        spc,
        db,
        rel,
        (bi_hi << 16) | bi_lo,
        posid,
        cmin,
        cmax,
        combo,
    )


# PostgreSQL 17 prune/freeze records: xl_heap_prune flags
_HAS_CATALOG_REL = 1 << 1
_HAS_CONFLICT_HORIZON = 1 << 3
_HAS_FREEZE_PLANS = 1 << 4
_HAS_REDIRECTIONS = 1 << 5
_HAS_DEAD_ITEMS = 1 << 6
_HAS_NOW_UNUSED = 1 << 7


def _prune_17(rec: Record) -> str:
    main = rec.main_data
    _reason, flags = _PRUNE_17(main)
    parts = []
    if flags & _HAS_CONFLICT_HORIZON:
        parts.append("snapshotConflictHorizon: %u" % struct.unpack_from("<I", main, 2)[0])
    parts.append(", isCatalogRel: %s" % ("T" if flags & _HAS_CATALOG_REL else "F"))
    data = block_data(rec, 0)
    if data is not None:
        pos = 0
        nplans = 0
        plans_at = 0
        if flags & _HAS_FREEZE_PLANS:
            nplans = U16(data, 0)[0]
            plans_at = 4
            pos = 4 + _PLAN_SIZE * nplans
        redirect: tuple[int, ...] = ()
        dead: tuple[int, ...] = ()
        unused: tuple[int, ...] = ()
        if flags & _HAS_REDIRECTIONS:
            n = U16(data, pos)[0]
            redirect = u16_list(data, pos + 2, 2 * n)
            pos += 2 + 4 * n
        if flags & _HAS_DEAD_ITEMS:
            n = U16(data, pos)[0]
            dead = u16_list(data, pos + 2, n)
            pos += 2 + 2 * n
        if flags & _HAS_NOW_UNUSED:
            n = U16(data, pos)[0]
            unused = u16_list(data, pos + 2, n)
            pos += 2 + 2 * n
        parts.append(
            f", nplans: {nplans}, nredirected: {len(redirect) // 2}, ndead: {len(dead)}, "
            f"nunused: {len(unused)}"
        )
        if nplans > 0:
            parts.append(", plans:" + _plans_text(data, plans_at, nplans, pos))
        if redirect:
            pairs = [f"{redirect[i]}->{redirect[i + 1]}" for i in range(0, len(redirect), 2)]
            parts.append(", redirected:" + array_text(pairs))
        if dead:
            parts.append(", dead:" + array_text(dead))
        if unused:
            parts.append(", unused:" + array_text(unused))
    return "".join(parts)


def _empty(_rec: Record) -> str:
    return ""


def heap_tables(major: int) -> tuple[dict[int, str], dict[int, DescFn], int, int]:
    """Heap: (names by info, describers by opcode, identify mask, desc mask)."""
    if major >= 16:
        descs = {
            0x00: _insert_new,
            0x10: _delete_new,
            0x20: _update_new,
            0x40: _update_new,
            0x30: _truncate_new,
            0x50: _offnum_new,
            0x60: _lock_new,
            0x70: _offnum_new,
        }
    else:
        descs = {
            0x00: _insert_old,
            0x10: _delete_old,
            0x20: _update_old,
            0x40: _update_old,
            0x30: _truncate_old,
            0x50: _offnum_old,
            0x60: _lock_old,
            0x70: _offnum_old,
        }
    return HEAP_NAMES, descs, 0xF0, 0x70


def heap2_tables(major: int) -> tuple[dict[int, str], dict[int, DescFn], int, int]:
    """Heap2: (names by info, describers by opcode, identify mask, desc mask)."""
    if major >= 17:
        descs = {
            0x10: _prune_17,
            0x20: _prune_17,
            0x30: _prune_17,
            0x40: _visible_new,
            0x50: _multi_insert_new,
            0x60: _lock_updated_new,
            0x70: _new_cid_new,
            0x00: _empty,
        }
        return HEAP2_NAMES_17, descs, 0xF0, 0x70
    if major == 16:
        descs = {
            0x10: _prune_16,
            0x20: _vacuum_16,
            0x30: _freeze_16,
            0x40: _visible_new,
            0x50: _multi_insert_new,
            0x60: _lock_updated_new,
            0x70: _new_cid_new,
            0x00: _empty,
        }
    else:
        descs = {
            0x10: _prune_old,
            0x20: _vacuum_old,
            0x30: _freeze_old,
            0x40: _visible_old,
            0x50: _multi_insert_old,
            0x60: _lock_updated_old,
            0x70: _new_cid_old,
            0x00: _empty,
        }
    return HEAP2_NAMES, descs, 0xF0, 0x70
