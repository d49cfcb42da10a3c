"""Throw-away PostgreSQL 15 servers with 1 MiB segments: their fresh WAL, decoded by pgwal.

One test runs a workload and compares every record with pg_waldump; one
promotes a server out of standby mode, so that its WAL switches from timeline
1 to timeline 2 inside a segment, and compares ``pgwal dump`` across the switch
with pg_waldump's listing of the same files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pgwal.cli import main
from pgwal.errors import WalError
from pgwal.lsn import format_lsn_waldump
from pgwal.page import decode_page_header
from pgwal.segment import list_segments, read_records
from tests.pgwal.listing import compare_listing

BIN = Path("/usr/lib/postgresql/15/bin")
WORKLOAD = """
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT g, repeat('x', g % 300) FROM generate_series(1, 3000) g;
UPDATE t SET v = v || 'y' WHERE id % 7 = 0;
DELETE FROM t WHERE id % 11 = 0;
SELECT pg_logical_emit_message(false, 'pgwal', repeat('m', 200000));
BEGIN; INSERT INTO t VALUES (100000, 'rolled back'); ROLLBACK;
CHECKPOINT;
UPDATE t SET v = 'z' WHERE id < 50;
SELECT pg_switch_wal();
INSERT INTO t VALUES (100001, 'after switch');
"""


def _run(cmd: list[str], user: str | None, **kw) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True, **kw)


class Server:
    """initdb'd data directory of a throw-away PostgreSQL 15 (1 MiB segments, trust auth)."""

    def __init__(self, tmp: Path, user: str | None) -> None:
        self.tmp, self.user = tmp, user
        self.data, self.sock = tmp / "data", tmp / "sock"
        self.running = False
        self.opts = f"-k {self.sock} -c listen_addresses='' -c wal_level=logical -c fsync=off"
        self.opts += " -c wal_keep_size=256MB"  # keep every segment for the comparison

    def initdb(self) -> None:
        _run([str(BIN / "initdb"), "-D", str(self.data), "--wal-segsize=1", "-U", "postgres",
              "--no-locale", "-E", "UTF8", "-A", "trust"], self.user)  # fmt: skip

    def pg_ctl(self, *args: str) -> None:
        _run([str(BIN / "pg_ctl"), "-D", str(self.data), *args], self.user)

    def start(self) -> None:
        self.pg_ctl("-o", self.opts, "-w", "-l", str(self.tmp / "log"), "start")
        self.running = True

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")
        self.running = False

    def sql(self, text: str) -> None:
        script = self.tmp / "script.sql"
        script.write_text(text)
        _run([str(BIN / "psql"), "-h", str(self.sock), "-U", "postgres", "-v", "ON_ERROR_STOP=1",
              "-q", "-f", str(script)], self.user)  # fmt: skip

    @property
    def wal(self) -> Path:
        return self.data / "pg_wal"


@contextmanager
def server() -> Iterator[Server]:
    """A fresh ``Server`` (initdb done); stopped and deleted afterwards, whatever happens."""
    user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    tmp = Path(tempfile.mkdtemp(prefix="pgwal-live-"))
    srv = Server(tmp, user)
    srv.sock.mkdir()
    if user is not None:
        shutil.chown(tmp, user)
        shutil.chown(srv.sock, user)
    try:
        srv.initdb()
        yield srv
    finally:
        if srv.running:
            stop = [str(BIN / "pg_ctl"), "-D", str(srv.data), "-m", "immediate", "stop"]
            if user is not None:
                stop = ["runuser", "-u", user, "--", *stop]
            subprocess.run(stop, capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


needs_postgres = pytest.mark.skipif(
    not (BIN / "postgres").exists(), reason="postgresql-15 binaries not installed"
)


@pytest.mark.postgres
@needs_postgres
def test_live_server_wal_matches_pg_waldump() -> None:
    with server() as srv:
        srv.start()
        srv.sql(WORKLOAD)
        srv.stop()
        wal = srv.wal
        names = list_segments(str(wal))
        dump = subprocess.run(
            [str(BIN / "pg_waldump"), "-p", str(wal), names[0], names[-1]],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        ref = []
        for line in dump.stdout.splitlines():
            m = re.match(
                r"rmgr: (\S+)\s+len \(rec/tot\):\s*(\d+)/\s*(\d+), tx:\s*(\d+), "
                r"lsn: (\S+), prev (\S+),",
                line,
            )
            assert m, line
            ref.append(m.groups())
        reader = read_records(str(wal), names[0], names[-1])
        got = [
            (reader.version.rmgr_name(r.rmid), str(r.total_len - r.fpi_len), str(r.total_len),
             str(r.xid), format_lsn_waldump(r.lsn), format_lsn_waldump(r.prev))
            for r in reader
        ]  # fmt: skip
        assert len(ref) > 3000
        assert got == ref
        err = re.search(r"error in WAL record at (\S+): (.*)", dump.stderr)
        assert err and reader.end is not None
        assert (str(reader.end.last_lsn), reader.end.reason) == err.groups()


@pytest.fixture
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")  # pg_waldump (a child) and pgwal print the same zone
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _page_timelines(path: Path) -> list[int]:
    """``xlp_tli`` of the pages of a segment file written for it, in order.

    Stops at the first page whose address is not its own position: the rest
    of a recycled segment holds stale pages of an older segment.
    """
    raw = path.read_bytes()
    base = int(path.name[16:], 16) * len(raw)  # 1 MiB segments: one per low file-name word
    out = []
    for off in range(0, len(raw), 8192):
        try:
            header = decode_page_header(raw[off : off + 40])
        except WalError:  # a never-written (zeroed) page
            break
        if header.pageaddr != base + off:
            break
        out.append(header.tli)
    return out


@pytest.mark.postgres
@needs_postgres
@pytest.mark.usefixtures("_utc")
def test_timeline_switch_dumps_like_pg_waldump(capsys: pytest.CaptureFixture[str]) -> None:
    """Timeline 1 -> 2 by a promote, inside one segment: ``pgwal dump`` across it = pg_waldump."""
    with server() as srv:
        srv.start()
        srv.sql(
            "CREATE TABLE t (id int PRIMARY KEY, v text);\n"
            "INSERT INTO t SELECT g, repeat('a', g % 100) FROM generate_series(1, 2000) g;\n"
        )
        srv.stop()
        (srv.data / "standby.signal").touch()
        if srv.user is not None:
            shutil.chown(srv.data / "standby.signal", srv.user)
        srv.start()  # standby mode: replays its own WAL, then waits
        srv.pg_ctl("-w", "promote")  # END_OF_RECOVERY, new timeline 2 from here on
        srv.sql(
            "INSERT INTO t SELECT g, 'after promote' FROM generate_series(2001, 3000) g;\n"
            "UPDATE t SET v = 'z' WHERE id % 10 = 0;\n"
        )
        srv.stop()
        names = list_segments(str(srv.wal))
        assert (srv.wal / "00000002.history").exists()
        tl1 = [n for n in names if n.startswith("00000001")]
        tl2 = [n for n in names if n.startswith("00000002")]
        assert tl1 and tl2
        # the switch is inside the first timeline-2 segment: its pages say tli 1, then tli 2
        switch_seg = next(n for n in tl2 if n[8:] == tl1[-1][8:])
        tlis = _page_timelines(srv.wal / switch_seg)
        assert tlis[0] == 1 and tlis[-1] == 2 and sorted(tlis) == tlis
        cases = [
            (tl1[0], tl2[-1]),  # pg_waldump reads ENDSEG's timeline: across the switch
            (switch_seg, tl2[-1]),
            ("-t", "1", tl1[0]),  # the old timeline alone, to where it was abandoned
        ]
        eor = 0
        for args in cases:
            ref = subprocess.run(
                [str(BIN / "pg_waldump"), "-p", str(srv.wal), *args],
                capture_output=True, text=True, timeout=120, env={**os.environ, "TZ": "UTC"},
            )  # fmt: skip
            code = main(["dump", "-p", str(srv.wal), *args])
            out, err = capsys.readouterr()
            ref_lines = ref.stdout.splitlines()
            assert len(ref_lines) > 1000, args
            problems = compare_listing(ref_lines, out.splitlines())
            assert not problems, f"{args}:\n" + "\n".join(problems)
            assert code == ref.returncode == 1
            assert (
                err.split("error in WAL record", 1)[1]
                == ref.stderr.split("error in WAL record", 1)[1]
            )
            eor += sum("END_OF_RECOVERY tli 2; prev tli 1;" in line for line in out.splitlines())
        assert eor == 2  # in both listings that cross the switch, never in the timeline-1 one
