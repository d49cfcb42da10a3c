"""Describe WAL records the way ``pg_waldump`` does, per PostgreSQL major version.

For every resource manager the kind of each record (``rm_identify``: the first
word of ``desc:``) is known; for XLOG, Transaction, Standby, Heap, Heap2 and
Btree the full desc text follows the wording of PostgreSQL 14, 15, 16 and 17.
Other resource managers get their kind only (empty desc text).

The tables are expanded to one entry per ``xl_info`` byte so that describing a
record is two tuple look-ups and one call:

>>> table = rmgr_table(15)
>>> table[10].name, table[10].kinds[0x80]
('Heap', 'INSERT+INIT')
"""

from __future__ import annotations

from collections import namedtuple

from pgwal._value import value_type
from pgwal.record import Record
from pgwal.rmgrdesc import heap, nbtree, others, standby, xact, xlog
from pgwal.rmgrdesc._common import DescFn, empty
from pgwal.versions import RMGR_NAMES  # the one rmgr table, shared with the decoder

__all__ = [
    "FULL_DESC_RMGRS",
    "RMGR_NAMES",
    "SUPPORTED_MAJORS",
    "RmgrEntry",
    "describe",
    "identify",
    "rmgr_table",
]

SUPPORTED_MAJORS = (14, 15, 16, 17)

"""Built-in resource managers by id (``rmgrlist.h``; the same in 14 to 17)."""

FULL_DESC_RMGRS = frozenset({"XLOG", "Transaction", "Standby", "Heap2", "Heap", "Btree"})
"""Resource managers whose whole desc text is reproduced."""

RM_MIN_CUSTOM_ID = 128
XLR_INFO_MASK = 0x0F


@value_type
class RmgrEntry(namedtuple("RmgrEntry", "rmid name kinds descs full_desc")):
    """One resource manager of one version, expanded per ``xl_info`` byte."""

    __slots__ = ()

    rmid: int
    name: str
    kinds: tuple[str | None, ...]  # 256 entries: rm_identify(info), None if unknown
    descs: tuple[DescFn, ...]  # 256 entries: the describer for that info byte
    full_desc: bool  # True when the desc text is complete, not just the kind

    def kind(self, info: int) -> str:
        """The first word of ``desc:`` (``UNKNOWN (%x)`` for unknown kinds)."""
        name = self.kinds[info]
        return name if name is not None else "UNKNOWN (%x)" % (info & ~XLR_INFO_MASK)


def _expand(
    rmid: int,
    name: str,
    names: dict[int, str],
    ident_mask: int,
    descs: dict[int, DescFn],
    desc_mask: int,
    full: bool,
) -> RmgrEntry:
    kinds = tuple(names.get(info & ident_mask) for info in range(256))
    fns = tuple(descs.get(info & desc_mask, empty) for info in range(256))
    return RmgrEntry(rmid, name, kinds, fns, full)


def _custom_desc(rmid: int) -> DescFn:
    text = f"rmid: {rmid}"

    def desc(_rec: Record) -> str:
        return text

    return desc


def _build(major: int) -> tuple[RmgrEntry | None, ...]:
    full = {
        0: xlog.tables(major),
        1: xact.tables(major),
        8: standby.tables(major),
        9: heap.heap2_tables(major),
        10: heap.heap_tables(major),
        11: nbtree.tables(major),
    }
    entries: list[RmgrEntry | None] = [None] * 256
    for rmid, name in enumerate(RMGR_NAMES):
        if rmid in full:
            names, descs, imask, dmask = full[rmid]
            entries[rmid] = _expand(rmid, name, names, imask, descs, dmask, True)
        else:
            names, imask = others.names(rmid, major)
            entries[rmid] = _expand(rmid, name, names, imask, {}, 0xF0, False)
    if major >= 15:  # custom resource managers: numeric names, "rmid: N" desc
        for rmid in range(RM_MIN_CUSTOM_ID, 256):
            fn = _custom_desc(rmid)
            entries[rmid] = RmgrEntry(rmid, f"custom{rmid:03d}", (None,) * 256, (fn,) * 256, True)
    return tuple(entries)


_TABLES: dict[int, tuple[RmgrEntry | None, ...]] = {}


def rmgr_table(major: int) -> tuple[RmgrEntry | None, ...]:
    """The 256-slot resource manager table of PostgreSQL ``major`` (None = invalid id)."""
    table = _TABLES.get(major)
    if table is None:
        if major not in SUPPORTED_MAJORS:
            from pgwal.errors import WalArgumentError

            raise WalArgumentError(
                f"PostgreSQL major version {major} is not supported: expected one of "
                f"{', '.join(map(str, SUPPORTED_MAJORS))}"
            )
        table = _TABLES[major] = _build(major)
    return table


def identify(major: int, rmid: int, info: int) -> str | None:
    """``rm_identify``: the record kind, or None when the kind (or rmgr) is unknown."""
    entry = rmgr_table(major)[rmid]
    return None if entry is None else entry.kinds[info]


def describe(rec: Record, major: int) -> str:
    """The desc text after the kind (without block references), as pg_waldump prints it."""
    entry = rmgr_table(major)[rec.rmid]
    if entry is None:
        return ""
    return entry.descs[rec.info](rec)
