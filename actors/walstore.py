"""WAL kept as PostgreSQL segment files on a node's simulated disk.

A WAL byte at LSN ``l`` lives in the segment file named by
``pgwal.segment.segment_name(timeline, l // segment_size, segment_size)``
at offset ``l % segment_size``. Files are sparse: bytes never written read
as zeros. Nothing here is durable until :meth:`WalFiles.fsync` (the disk's
rule). Used by the safekeeper (its WAL) and the walproposer (the compute's
WAL plus what it downloaded from the donor).
"""

from __future__ import annotations

from modelcheck.disk import Disk
from pgwal.segment import segment_name


class WalFiles:
    """Reads and writes the WAL of one timeline on ``disk``."""

    __slots__ = ("disk", "segment_size", "timeline", "_names", "dirty")

    def __init__(self, disk: Disk, segment_size: int, timeline: int = 1) -> None:
        assert segment_size & (segment_size - 1) == 0, segment_size
        self.disk = disk
        self.segment_size = segment_size
        self.timeline = timeline
        self._names: dict[int, str] = {}
        self.dirty: set[int] = set()  # segment numbers written since the last fsync

    def name(self, segno: int) -> str:
        name = self._names.get(segno)
        if name is None:
            name = self._names[segno] = segment_name(self.timeline, segno, self.segment_size)
        return name

    def _pieces(self, start: int, end: int):
        seg = self.segment_size
        pos = start
        while pos < end:
            segno, off = divmod(pos, seg)
            n = min(end - pos, seg - off)
            yield segno, off, pos - start, n
            pos += n

    def write(self, lsn: int, data: bytes) -> None:
        """Write ``data`` at ``lsn`` (visible at once, durable after :meth:`fsync`)."""
        for segno, off, at, n in self._pieces(lsn, lsn + len(data)):
            self.disk.write(self.name(segno), off, data[at:at + n])
            self.dirty.add(segno)

    def zero(self, start: int, end: int) -> None:
        """Overwrite ``[start, end)`` with zeros (only the part that exists on disk)."""
        for segno, off, _, n in self._pieces(start, end):
            name = self.name(segno)
            size = self.disk.size(name)
            if off < size:
                self.disk.write(name, off, bytes(min(n, size - off)))
                self.dirty.add(segno)

    def read(self, start: int, end: int) -> bytes:
        """The bytes of ``[start, end)``."""
        if start >= end:
            return b""
        parts = [self.disk.read(self.name(segno), off, n)
                 for segno, off, _, n in self._pieces(start, end)]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read_to_end(self, start: int) -> bytes:
        """The bytes from ``start`` to the end of the last existing segment file in a row."""
        seg = self.segment_size
        out = []
        segno, off = divmod(start, seg)
        while self.disk.exists(self.name(segno)):
            name = self.name(segno)
            size = self.disk.size(name)
            out.append(self.disk.read(name, off, max(0, size - off)))
            if size < seg:
                break
            segno, off = segno + 1, 0
        return b"".join(out)

    def fsync(self) -> None:
        """Make every write so far durable (one fsync per dirty segment, in order)."""
        for segno in sorted(self.dirty):
            self.disk.fsync(self.name(segno))
        self.dirty.clear()


class FlatWal:
    """WAL from ``base_lsn`` on in one file (the compute's pg_wal as the walproposer reads it).

    Same interface as :class:`WalFiles`; a walproposer's WAL is transient (each
    launch starts empty), so it need not be cut into segment files, and a flat
    file avoids allocating the sparse head of a 16 MiB segment on every launch.
    """

    __slots__ = ("disk", "base_lsn", "name")

    def __init__(self, disk: Disk, base_lsn: int, name: str = "pg_wal") -> None:
        self.disk = disk
        self.base_lsn = base_lsn
        self.name = name

    def write(self, lsn: int, data: bytes) -> None:
        assert lsn >= self.base_lsn, (lsn, self.base_lsn)
        self.disk.write(self.name, lsn - self.base_lsn, data)

    def read(self, start: int, end: int) -> bytes:
        assert start >= self.base_lsn, (start, self.base_lsn)
        return self.disk.read(self.name, start - self.base_lsn, end - start) if end > start else b""

    def fsync(self) -> None:
        self.disk.fsync(self.name)
