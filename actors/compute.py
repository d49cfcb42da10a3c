"""The simulated compute: a PostgreSQL that writes real WAL for its walproposer.

Each transaction is a heap insert into one table and a commit record, built
with :class:`pgwal.encoder.WalEncoder`, so what the safekeepers end up holding
decodes with pgwal. The compute writes its WAL into the walproposer node's
segment files (PostgreSQL's pg_wal, which the walproposer reads), makes it
durable, and wakes the walproposer with a :class:`Latch` message.

A compute starts at the LSN its basebackup was taken at: 0/149F0F0 (the
original simulator's initdb LSN) on an empty cluster, else the LSN that
sync-safekeepers returned. Its first record's ``xl_prev`` must point at the
record that ends there; :class:`RecordIndex` remembers where every record ever
written starts and ends, so the next compute can find it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.walstore import FlatWal
from modelcheck.disk import Disk
from pgwal.encoder import WalEncoder
from pgwal.lsn import format_lsn
from pgwal.record import RelFileLocator

__all__ = ["INITDB_LSN", "Compute", "Latch", "RecordIndex"]

INITDB_LSN = 0x149F0F0  # 21623024, where the original simulator's computes start
TABLE = RelFileLocator(1663, 5, 16384)
TUPLES_PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class Latch:
    """New WAL is flushed up to ``flush_lsn`` (the walproposer's latch)."""

    flush_lsn: int

    def log_repr(self) -> str:
        return f"Latch({format_lsn(self.flush_lsn)})"


@dataclass
class RecordIndex:
    """Every record written by any compute: end LSN -> start LSNs (latest last)."""

    starts_by_end: dict[int, list[int]] = field(default_factory=dict)
    next_xid: int = 1000

    def add(self, start: int, end: int) -> None:
        self.starts_by_end.setdefault(end, []).append(start)

    def candidates(self, end: int) -> list[int]:
        """Start LSNs of records that ended at ``end``, most recent first."""
        return list(reversed(self.starts_by_end.get(end, [])))


class Compute:
    """Writes transactions from ``start_lsn`` (``prev_lsn``: the record before it)."""

    def __init__(self, start_lsn: int, prev_lsn: int, index: RecordIndex, *,
                 segment_size: int, system_id: int, wal_version: int = 15) -> None:
        self.encoder = WalEncoder(start_lsn, version=wal_version, segment_size=segment_size,
                                  system_id=system_id, prev_lsn=prev_lsn)
        self.index = index
        self.start_lsn = start_lsn
        self.transactions = 0

    @property
    def end_lsn(self) -> int:
        return int(self.encoder.end_lsn)

    def write_tx(self, count: int) -> tuple[int, int, bytes]:
        """Append ``count`` transactions; return ``(start, end, wal_bytes)``."""
        enc = self.encoder
        start = self.end_lsn
        for _ in range(count):
            xid = self.index.next_xid
            self.index.next_xid += 1
            n = xid - 1000
            payload = b"tx%08d" % xid + bytes([n & 0xFF]) * (n % 17)
            rs, re = enc.heap_insert(xid, TABLE, n // TUPLES_PER_PAGE, n % TUPLES_PER_PAGE + 1,
                                     payload, init_page=n % TUPLES_PER_PAGE == 0)
            self.index.add(int(rs), int(re))
            cs, ce = enc.commit(xid)
            self.index.add(int(cs), int(ce))
            self.transactions += 1
        end = self.end_lsn
        data = enc.bytes_between(start, end)
        enc.discard_before(end)
        return start, end, data

    def write_durably(self, disk: Disk, count: int, wal_base_lsn: int) -> tuple[int, int]:
        """Append ``count`` transactions to the node's WAL file (base ``wal_base_lsn``) on
        ``disk`` and fsync them, as PostgreSQL does before a commit returns; ``(start, end)``."""
        start, end, data = self.write_tx(count)
        wal = FlatWal(disk, wal_base_lsn)
        wal.write(start, data)
        wal.fsync()
        return start, end
