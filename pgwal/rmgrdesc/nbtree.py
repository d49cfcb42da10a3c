"""Btree resource manager (id 11).

14 and 15 print ``off 3``, ``level 0, firstrightoff ...``; 16 switched to
``key: value`` text and lists the deleted/updated offsets of VACUUM and DELETE
from block 0; 17 adds ``isCatalogRel`` to DELETE and REUSE_PAGE.
"""

# printf-style formatting is used on purpose: it mirrors PostgreSQL's format strings
# (%u, %X/%08X, %6.02f) and is the fastest formatter on the hot path.
# ruff: noqa: UP031

from __future__ import annotations

import struct

from pgwal.record import Record
from pgwal.rmgrdesc._common import U16, DescFn, array_text, block_data, u16_list

NAMES = {
    0x00: "INSERT_LEAF",
    0x10: "INSERT_UPPER",
    0x20: "INSERT_META",
    0x30: "SPLIT_L",
    0x40: "SPLIT_R",
    0x50: "INSERT_POST",
    0x60: "DEDUP",
    0x70: "DELETE",
    0x80: "UNLINK_PAGE",
    0x90: "UNLINK_PAGE_META",
    0xA0: "NEWROOT",
    0xB0: "MARK_PAGE_HALFDEAD",
    0xC0: "VACUUM",
    0xD0: "REUSE_PAGE",
    0xE0: "META_CLEANUP",
}

_SPLIT = struct.Struct("<IHHH").unpack_from
_VACUUM = struct.Struct("<HH").unpack_from
_DELETE = struct.Struct("<IHHB").unpack_from  # horizon, ndeleted, nupdated, isCatalogRel (16+)
_DELETE_OLD = struct.Struct("<IHH").unpack_from
_HALFDEAD = struct.Struct("<H2xIIII").unpack_from
_UNLINK = struct.Struct("<III4xQIII").unpack_from
_NEWROOT = struct.Struct("<II").unpack_from
_REUSE = struct.Struct("<IIIIQB").unpack_from
_REUSE_OLD = struct.Struct("<IIIIQ").unpack_from
_META_DELPAGES = struct.Struct("<20xI").unpack_from


def _insert(fmt: str) -> DescFn:
    def desc(rec: Record) -> str:
        return fmt % U16(rec.main_data)[0]

    return desc


def _split(fmt: str) -> DescFn:
    def desc(rec: Record) -> str:
        return fmt % _SPLIT(rec.main_data)

    return desc


def _dedup(fmt: str) -> DescFn:
    def desc(rec: Record) -> str:
        return fmt % U16(rec.main_data)[0]

    return desc


def _vacuum_old(rec: Record) -> str:
    return "ndeleted %u; nupdated %u" % _VACUUM(rec.main_data)


def _delete_old(rec: Record) -> str:
    return "latestRemovedXid %u; ndeleted %u; nupdated %u" % _DELETE_OLD(rec.main_data)


def _halfdead(fmt: str) -> DescFn:
    def desc(rec: Record) -> str:
        _poffset, leaf, left, right, top = _HALFDEAD(rec.main_data)
        return fmt % (top, leaf, left, right)

    return desc


def _unlink(fmt: str) -> DescFn:
    def desc(rec: Record) -> str:
        left, right, level, safexid, leafleft, leafright, leaftop = _UNLINK(rec.main_data)
        return fmt % (
            left,
            right,
            level,
            safexid >> 32,
            safexid & 0xFFFFFFFF,
            leafleft,
            leafright,
            leaftop,
        )

    return desc


def _newroot(fmt: str) -> DescFn:
    def desc(rec: Record) -> str:
        return fmt % _NEWROOT(rec.main_data)[1]

    return desc


def _reuse_old(rec: Record) -> str:
    spc, db, rel, _blk, full = _REUSE_OLD(rec.main_data)
    return "rel %u/%u/%u; latestRemovedXid %u:%u" % (spc, db, rel, full >> 32, full & 0xFFFFFFFF)


def _reuse_16(rec: Record) -> str:
    spc, db, rel, _blk, full = _REUSE_OLD(rec.main_data)
    return "rel: %u/%u/%u, snapshotConflictHorizon: %u:%u" % (
        spc,
        db,
        rel,
        full >> 32,
        full & 0xFFFFFFFF,
    )


def _reuse_17(rec: Record) -> str:
    spc, db, rel, _blk, full, catalog = _REUSE(rec.main_data)
    return "rel: %u/%u/%u, snapshotConflictHorizon: %u:%u, isCatalogRel: %s" % (
        spc,
        db,
        rel,
        full >> 32,
        full & 0xFFFFFFFF,
        "T" if catalog else "F",
    )


def _meta_cleanup(fmt: str) -> DescFn:
    def desc(rec: Record) -> str:
        data = block_data(rec, 0) or b""
        return fmt % _META_DELPAGES(data)[0]

    return desc


def _delvacuum(data: bytes, ndeleted: int, nupdated: int) -> str:
    """Deleted offsets and posting-list updates listed from block 0 (16+)."""
    deleted = u16_list(data, 0, ndeleted)
    updated_offs = u16_list(data, 2 * ndeleted, nupdated)
    pos = 2 * ndeleted + 2 * nupdated
    items = []
    for off in updated_offs:
        nptids = U16(data, pos)[0]
        ptids = u16_list(data, pos + 2, nptids)
        pos += 2 + 2 * nptids
        items.append(f"{{ off: {off}, nptids: {nptids}, ptids:{array_text(ptids)} }}")
    return f", deleted:{array_text(deleted)}, updated: [" + ", ".join(items) + "]"


def _vacuum_16(rec: Record) -> str:
    ndeleted, nupdated = _VACUUM(rec.main_data)
    text = f"ndeleted: {ndeleted}, nupdated: {nupdated}"
    data = block_data(rec, 0)
    if data is not None:
        text += _delvacuum(data, ndeleted, nupdated)
    return text


def _delete_new(with_catalog: bool) -> DescFn:
    def desc(rec: Record) -> str:
        horizon, ndeleted, nupdated, catalog = _DELETE(rec.main_data)
        text = f"snapshotConflictHorizon: {horizon}, ndeleted: {ndeleted}, nupdated: {nupdated}"
        if with_catalog:
            text += ", isCatalogRel: " + ("T" if catalog else "F")
        data = block_data(rec, 0)
        if data is not None:
            text += _delvacuum(data, ndeleted, nupdated)
        return text

    return desc


def tables(major: int) -> tuple[dict[int, str], dict[int, DescFn], int, int]:
    """(names by opcode, describers by opcode, identify mask, desc mask) for ``major``."""
    if major >= 16:
        ins = _insert("off: %u")
        descs: dict[int, DescFn] = {
            0x30: _split("level: %u, firstrightoff: %d, newitemoff: %d, postingoff: %d"),
            0x60: _dedup("nintervals: %u"),
            0xC0: _vacuum_16,
            0x70: _delete_new(with_catalog=major >= 17),
            0xB0: _halfdead("topparent: %u, leaf: %u, left: %u, right: %u"),
            0x80: _unlink(
                "left: %u, right: %u, level: %u, safexid: %u:%u, "
                "leafleft: %u, leafright: %u, leaftopparent: %u"
            ),
            0xA0: _newroot("level: %u"),
            0xD0: _reuse_17 if major >= 17 else _reuse_16,
            0xE0: _meta_cleanup("last_cleanup_num_delpages: %u"),
        }
    else:
        ins = _insert("off %u")
        descs = {
            0x30: _split("level %u, firstrightoff %d, newitemoff %d, postingoff %d"),
            0x60: _dedup("nintervals %u"),
            0xC0: _vacuum_old,
            0x70: _delete_old,
            0xB0: _halfdead("topparent %u; leaf %u; left %u; right %u"),
            0x80: _unlink(
                "left %u; right %u; level %u; safexid %u:%u; "
                "leafleft %u; leafright %u; leaftopparent %u"
            ),
            0xA0: _newroot("lev %u"),
            0xD0: _reuse_old,
            0xE0: _meta_cleanup("last_cleanup_num_delpages %u"),
        }
    for op in (0x00, 0x10, 0x20, 0x50):
        descs[op] = ins
    descs[0x40] = descs[0x30]
    descs[0x90] = descs[0x80]
    return NAMES, descs, 0xF0, 0xF0
