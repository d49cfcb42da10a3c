"""Text output of ``pgwal dump``: pg_waldump's record lines, block references and stats.

``RecordFormatter`` turns each ``Record`` into exactly the text
``pg_waldump`` prints for it (one line, plus one tab-indented ``blkref`` line
per block reference with ``--bkp-details``), in the wording of the chosen
PostgreSQL major version. ``WalStats`` accumulates the counts behind
``--stats`` / ``--stats=record`` and renders pg_waldump's table.

The formatting path is the hot loop of the dump, so the per-rmgr parts of the
line are precomputed and each record costs one ``%`` format plus its desc.
"""

# printf-style formatting is used on purpose: it mirrors PostgreSQL's format strings
# (%u, %X/%08X, %6.02f) and is the fastest formatter on the hot path.
# ruff: noqa: UP031

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable

from pgwal.record import BlockRef, Record, RelFileLocator
from pgwal.rmgrdesc import RMGR_NAMES, RmgrEntry, rmgr_table
from pgwal.rmgrdesc._common import FORK_NAMES

__all__ = ["BLCKSZ", "RecordFormatter", "WalStats", "blkref_detail", "blkref_short", "lsn_text"]

BLCKSZ = 8192
XLR_INFO_MASK = 0x0F
RM_XACT_ID = 1

_LINE = "%6u/%6u, tx: %10u, lsn: %X/%08X, prev %X/%08X, desc: %s %s"


def lsn_text(lsn: int) -> str:
    """``%X/%X``, the LSN form of pg_waldump's messages and stats header."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def _fork_name(fork: int) -> str:
    return FORK_NAMES[fork] if 0 <= fork < len(FORK_NAMES) else str(fork)


def blkref_short(blk: BlockRef) -> str:
    """The ``, blkref #N: rel S/D/R [fork F ]blk B[ FPW]`` text appended to the line."""
    loc = blk.rlocator
    if blk.fork:
        text = ", blkref #%d: rel %u/%u/%u fork %s blk %u" % (
            blk.block_id,
            loc.spc_oid,
            loc.db_oid,
            loc.rel_number,
            _fork_name(blk.fork),
            blk.blkno,
        )
    else:
        text = ", blkref #%d: rel %u/%u/%u blk %u" % (
            blk.block_id,
            loc.spc_oid,
            loc.db_oid,
            loc.rel_number,
            blk.blkno,
        )
    if blk.has_image:
        text += " FPW" if blk.apply_image else " FPW for WAL verification"
    return text


def blkref_detail(blk: BlockRef, major: int) -> str:
    """One ``--bkp-details`` line (tab-indented, newline-terminated)."""
    loc = blk.rlocator
    text = "\tblkref #%d: rel %u/%u/%u fork %s blk %u" % (
        blk.block_id,
        loc.spc_oid,
        loc.db_oid,
        loc.rel_number,
        _fork_name(blk.fork),
        blk.blkno,
    )
    if blk.has_image:
        verify = "" if blk.apply_image else " for WAL verification"
        if blk.compression is not None:
            saved = (BLCKSZ - blk.hole_length - len(blk.image)) & 0xFFFFFFFF
            text += " (FPW%s); hole: offset: %u, length: %u, compression saved: %u" % (
                verify,
                blk.hole_offset,
                blk.hole_length,
                saved,
            )
            if major >= 15:
                text += ", method: " + blk.compression
        else:
            text += " (FPW%s); hole: offset: %u, length: %u" % (
                verify,
                blk.hole_offset,
                blk.hole_length,
            )
    return text + "\n"


class RecordFormatter:
    """Format records as pg_waldump of PostgreSQL ``major`` does.

    Calling the formatter returns the full text for one record, newline
    included (and the ``blkref`` lines when ``bkp_details``).
    """

    def __init__(self, major: int, bkp_details: bool = False) -> None:
        self.major = major
        self.bkp_details = bkp_details
        table = rmgr_table(major)
        self._table = table
        self._prefix = tuple(
            None if e is None else "rmgr: %-11s len (rec/tot): " % e.name for e in table
        )
        self._line, self.format = _build(self._table, self._prefix, major, bkp_details)

    def line(self, rec: Record) -> str:
        """The record line without block references and without the newline."""
        return self._line(rec)

    def __call__(self, rec: Record) -> str:
        """The full text of ``rec`` (same as ``self.format(rec)``, which is one call less)."""
        return self.format(rec)

    def format_all(self, records: Iterable[Record]) -> Iterable[str]:
        """Texts of ``records``, one string per record."""
        return map(self.format, records)


def _build(  # noqa: C901 - closures sharing their caches
    table: tuple[RmgrEntry | None, ...],
    prefixes: tuple[str | None, ...],
    major: int,
    bkp_details: bool,
) -> tuple[Callable[[Record], str], Callable[[Record], str]]:
    """The line formatter and the record formatter of a ``RecordFormatter``.

    Closures rather than methods, with caches of text pieces that repeat
    from record to record: the ``rec/tot`` lengths, the transaction id, the
    previous record's LSN (the next record's ``prev``) and the relation of a
    block reference. The caches are keyed by the values they render, so the
    text is the same in any order of calls.
    """
    # per rmid: (line prefix, kinds by xl_info, describers by xl_info), None if invalid
    rmgrs = tuple(
        None if entry is None else (prefix, entry.kinds, entry.descs)
        for entry, prefix in zip(table, prefixes, strict=True)
    )
    lens_cache: dict[int, str] = {}
    rel_cache: dict[RelFileLocator, str] = {}
    last_xid = -1
    xid_text = ""
    last_lsn = -1
    last_lsn_text = ""

    def blkref(blk: BlockRef) -> str:
        block_id, fork, _flags, loc, blkno, has_image, apply_image = blk[:7]
        rel = rel_cache.get(loc)
        if rel is None:
            if len(rel_cache) > 4096:
                rel_cache.clear()
            rel = rel_cache[loc] = "rel %u/%u/%u" % (loc[0], loc[1], loc[2])
        if fork:
            text = f", blkref #{block_id}: {rel} fork {_fork_name(fork)} blk {blkno}"
        else:
            text = f", blkref #{block_id}: {rel} blk {blkno}"
        if has_image:
            text += " FPW" if apply_image else " FPW for WAL verification"
        return text

    def render(rec: Record, full: bool = True) -> str:  # noqa: C901 - the hot path, flat
        """The record's text: with ``full``, newline and block references included."""
        nonlocal last_xid, xid_text, last_lsn, last_lsn_text
        # Record is a tuple: one unpack is cheaper than seven attribute reads
        lsn, _end, prev, xid, tot, info, rmid, _crc, blocks, _main, _origin, _top = rec
        rmgr = rmgrs[rmid]
        if rmgr is None:
            prefix, kind, desc = _unknown_rmgr(rmid, info)
        else:
            prefix, kinds, descs = rmgr
            kind = kinds[info]
            if kind is None:
                kind = "UNKNOWN (%x)" % (info & ~XLR_INFO_MASK)
            try:
                desc = descs[info](rec)
            except _DESC_ERRORS as exc:
                desc = _undecodable(rec, exc)
        fpi = 0
        for blk in blocks:
            if blk[5]:  # has_image
                fpi += len(blk[7])  # image
        key = (tot << 32) | fpi
        lens = lens_cache.get(key)
        if lens is None:
            if len(lens_cache) > 4096:
                lens_cache.clear()
            lens = lens_cache[key] = "%6u/%6u, tx: " % (tot - fpi, tot)
        if xid != last_xid:
            xid_text = "%10u, lsn: " % xid
            last_xid = xid
        if prev == last_lsn:
            prev_text = last_lsn_text
        else:
            prev_text = "%X/%08X" % (prev >> 32, prev & 0xFFFFFFFF)
        lsn_text = "%X/%08X" % (lsn >> 32, lsn & 0xFFFFFFFF)
        last_lsn = lsn
        last_lsn_text = lsn_text
        text = f"{prefix}{lens}{xid_text}{lsn_text}, prev {prev_text}, desc: {kind} {desc}"
        if not full:
            return text
        if bkp_details:
            return text + "\n" + "".join([blkref_detail(b, major) for b in blocks])
        if not blocks:
            return text + "\n"
        if len(blocks) == 1:
            block_id, fork, _flags, loc, blkno, has_image = blocks[0][:6]
            if not fork and not has_image:  # the commonest case, inline
                rel = rel_cache.get(loc)
                if rel is not None:
                    return f"{text}, blkref #{block_id}: {rel} blk {blkno}\n"
            return text + blkref(blocks[0]) + "\n"
        return text + "".join([blkref(b) for b in blocks]) + "\n"

    def line(rec: Record) -> str:
        return render(rec, False)

    return line, render


def _unknown_rmgr(rmid: int, info: int) -> tuple[str, str, str]:
    """(line prefix, kind, desc) of a record of a resource manager this version lacks."""
    return (
        "rmgr: %-11s len (rec/tot): " % f"rmid{rmid}",
        "UNKNOWN (%x)" % (info & ~XLR_INFO_MASK),
        "",
    )


_DESC_ERRORS = (struct.error, IndexError, ValueError, KeyError, OverflowError)


def _undecodable(rec: Record, exc: Exception) -> str:
    """The desc of a record whose main data is too short: a marker, not a crash."""
    return f"(undecodable {len(rec.main_data)}-byte main data: {exc})"


class WalStats:
    """Counts, record sizes and FPI sizes per rmgr and per record kind (``XLogStats``)."""

    def __init__(self, major: int) -> None:
        self.major = major
        self.count = 0
        self.start: int | None = None  # LSN of the first record counted
        self.end: int | None = None  # end LSN of the last record counted
        # [rmid][recid] -> [count, rec_len, fpi_len]
        self._per_record: dict[int, dict[int, list[int]]] = {}

    def add(self, rec: Record) -> None:
        """Count one record."""
        if self.start is None:
            self.start = rec.lsn
        self.end = rec.end_lsn
        self.count += 1
        fpi = 0
        for blk in rec.blocks:
            if blk.has_image:
                fpi += len(blk.image)
        recid = rec.info >> 4
        if rec.rmid == RM_XACT_ID:
            recid &= 0x07
        per_rmgr = self._per_record.get(rec.rmid)
        if per_rmgr is None:
            per_rmgr = self._per_record[rec.rmid] = {}
        cell = per_rmgr.get(recid)
        if cell is None:
            per_rmgr[recid] = [1, rec.total_len - fpi, fpi]
        else:
            cell[0] += 1
            cell[1] += rec.total_len - fpi
            cell[2] += fpi

    def add_all(self, records: Iterable[Record]) -> WalStats:
        """Count every record of ``records``; returns self."""
        for rec in records:
            self.add(rec)
        return self

    def _rmgr_ids(self) -> list[int]:
        ids = list(range(len(RMGR_NAMES)))
        if self.major >= 15:
            ids += [r for r in sorted(self._per_record) if r >= 128]
        return ids

    def render(self, per_record: bool) -> str:
        """pg_waldump's ``--stats`` (per rmgr) or ``--stats=record`` table."""
        if self.count == 0 and self.major >= 15:
            return ""  # nothing counted: pg_waldump 15+ prints no table
        table = rmgr_table(self.major)
        totals = [0, 0, 0]
        for cells in self._per_record.values():
            for count, rec_len, fpi_len in cells.values():
                totals[0] += count
                totals[1] += rec_len
                totals[2] += fpi_len
        total_count, total_rec, total_fpi = totals
        total_len = total_rec + total_fpi
        out = []
        if self.major >= 15:
            out.append(
                f"WAL statistics between {lsn_text(self.start or 0)} "
                f"and {lsn_text(self.end or 0)}:\n"
            )
        out.append(
            "%-27s %20s %8s %20s %8s %20s %8s %20s %8s\n"
            % ("Type", "N", "(%)", "Record size", "(%)", "FPI size", "(%)", "Combined size", "(%)")
        )
        out.append(
            "%-27s %20s %8s %20s %8s %20s %8s %20s %8s\n"
            % ("----", "-", "---", "-----------", "---", "--------", "---", "-------------", "---")
        )
        for rmid in self._rmgr_ids():
            entry = table[rmid]
            name = entry.name if entry is not None else f"rmid{rmid}"
            cells = self._per_record.get(rmid, {})
            if not per_record:
                count = sum(c[0] for c in cells.values())
                rec_len = sum(c[1] for c in cells.values())
                fpi_len = sum(c[2] for c in cells.values())
                if rmid >= 128 and count == 0:
                    continue
                out.append(
                    _stats_row(
                        name, count, total_count, rec_len, total_rec, fpi_len, total_fpi, total_len
                    )
                )
                continue
            for recid in sorted(cells):
                count, rec_len, fpi_len = cells[recid]
                kind = entry.kinds[recid << 4] if entry is not None else None
                if kind is None:
                    kind = "UNKNOWN (%x)" % (recid << 4)
                out.append(
                    _stats_row(
                        f"{name}/{kind}",
                        count,
                        total_count,
                        rec_len,
                        total_rec,
                        fpi_len,
                        total_fpi,
                        total_len,
                    )
                )
        out.append(
            "%-27s %20s %8s %20s %8s %20s %8s %20s\n"
            % ("", "--------", "", "--------", "", "--------", "", "--------")
        )
        rec_pct = 100 * total_rec / total_len if total_len else 0.0
        fpi_pct = 100 * total_fpi / total_len if total_len else 0.0
        out.append(
            "%-27s %20u %-9s%20u %-9s%20u %-9s%20u %-6s\n"
            % (
                "Total",
                self.count,
                "",
                total_rec,
                "[%.02f%%]" % rec_pct,
                total_fpi,
                "[%.02f%%]" % fpi_pct,
                total_len,
                "[100%]",
            )
        )
        return "".join(out)


def _pct(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0


def _stats_row(
    name: str,
    n: int,
    total_n: int,
    rec_len: int,
    total_rec: int,
    fpi_len: int,
    total_fpi: int,
    total_len: int,
) -> str:
    tot = rec_len + fpi_len
    return "%-27s %20u (%6.02f) %20u (%6.02f) %20u (%6.02f) %20u (%6.02f)\n" % (
        name,
        n,
        _pct(n, total_n),
        rec_len,
        _pct(rec_len, total_rec),
        fpi_len,
        _pct(fpi_len, total_fpi),
        tot,
        _pct(tot, total_len),
    )
