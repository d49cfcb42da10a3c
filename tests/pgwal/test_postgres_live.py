"""A throw-away PostgreSQL 15 server with 1 MiB segments: its fresh WAL, decoded by pgwal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pgwal.lsn import format_lsn_waldump
from pgwal.segment import list_segments, read_records

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


@pytest.mark.postgres
@pytest.mark.skipif(not (BIN / "postgres").exists(), reason="postgresql-15 binaries not installed")
def test_live_server_wal_matches_pg_waldump() -> None:
    user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    tmp = Path(tempfile.mkdtemp(prefix="pgwal-live-"))
    data, sock = tmp / "data", tmp / "sock"
    sock.mkdir()
    if user is not None:
        shutil.chown(tmp, user)
        shutil.chown(sock, user)
    started = False
    try:
        _run([str(BIN / "initdb"), "-D", str(data), "--wal-segsize=1", "-U", "postgres",
              "--no-locale", "-E", "UTF8", "-A", "trust"], user)  # fmt: skip
        opts = f"-k {sock} -c listen_addresses='' -c wal_level=logical -c fsync=off"
        opts += " -c wal_keep_size=256MB"  # keep every segment for the comparison
        _run(
            [
                str(BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                opts,
                "-w",
                "-l",
                str(tmp / "log"),
                "start",
            ],
            user,
        )
        started = True
        script = tmp / "workload.sql"
        script.write_text(WORKLOAD)
        _run([str(BIN / "psql"), "-h", str(sock), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q",
              "-f", str(script)], user)  # fmt: skip
        _run([str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user)
        started = False
        wal = data / "pg_wal"
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
    finally:
        if started:
            stop = [str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            if user is not None:
                stop = ["runuser", "-u", user, "--", *stop]
            subprocess.run(stop, capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)
