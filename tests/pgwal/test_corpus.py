"""Every record of the real-PostgreSQL corpus, versions 14-17, against pg_waldump's listing."""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import pytest

from pgwal.lsn import Lsn, format_lsn_waldump
from pgwal.record import Record
from pgwal.segment import list_segments, read_records, read_segment_header

VERSIONS = ["pg14", "pg15", "pg16", "pg17"]
LINE = re.compile(
    r"^rmgr: (\S+)\s+len \(rec/tot\):\s*(\d+)/\s*(\d+), tx:\s*(\d+), "
    r"lsn: (\S+), prev (\S+), desc: (\S+)"
)


def read_gz(path: Path) -> str:
    with gzip.open(path, "rt") as f:
        return f.read()


_cache: dict[str, tuple[list[Record], object]] = {}


def decode_all(corpus: Path, version: str) -> tuple[list[Record], object]:
    if version not in _cache:
        d = corpus / version
        names = list_segments(str(d))
        reader = read_records(str(d), names[0], names[-1])
        _cache[version] = (list(reader), reader)
    return _cache[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_record_matches_waldump(corpus: Path, version: str) -> None:
    records, reader = decode_all(corpus, version)
    lines = read_gz(corpus / version / "waldump.txt.gz").splitlines()
    assert len(records) == len(lines)
    for rec, line in zip(records, lines, strict=True):
        m = LINE.match(line)
        assert m, line
        rmgr, rec_len, tot_len, tx, lsn, prev, _kind = m.groups()
        assert reader.version.rmgr_name(rec.rmid) == rmgr, line
        assert (rec.total_len - rec.fpi_len, rec.total_len) == (int(rec_len), int(tot_len)), line
        assert rec.xid == int(tx), line
        assert format_lsn_waldump(rec.lsn) == lsn, line
        assert format_lsn_waldump(rec.prev) == prev, line


@pytest.mark.parametrize("version", VERSIONS)
def test_end_of_wal_matches_waldump(corpus: Path, version: str) -> None:
    records, reader = decode_all(corpus, version)
    commands = (corpus / version / "COMMANDS.txt").read_text()
    m = re.search(r"error in WAL record at (\S+): (invalid record length at \S+: .+)", commands)
    assert m, "COMMANDS.txt names the end of WAL"
    end = reader.end
    assert end.kind == "invalid" and end.zeroed
    assert str(end.last_lsn) == m.group(1) == str(Lsn(records[-1].lsn))
    assert end.reason == m.group(2)
    assert end.lsn == records[-1].end_lsn


@pytest.mark.parametrize("version", VERSIONS)
def test_segment_headers_match_tsv(corpus: Path, version: str) -> None:
    d = corpus / version
    rows = [r for r in (d / "segments.tsv").read_text().splitlines() if not r.startswith("#")]
    header = rows[0].split("\t")
    for row in rows[1:]:
        f = dict(zip(header, row.split("\t"), strict=True))
        info = read_segment_header(str(d / f["file"]))
        assert info.version.page_magic == int(f["xlp_magic"], 16)
        assert info.timeline == int(f["xlp_tli"])
        assert str(Lsn(info.pageaddr)) == f["xlp_pageaddr"]
        assert info.rem_len == int(f["xlp_rem_len"])
        assert info.system_id == int(f["xlp_sysid"])
        assert info.segment_size == int(f["xlp_seg_size"]) == info.file_size


@pytest.mark.parametrize("version", ["pg15", "pg17"])
def test_end_lsns_match_walinspect(corpus: Path, version: str) -> None:
    records, _ = decode_all(corpus, version)
    text = read_gz(corpus / version / "records_walinspect.csv.gz")
    csv.field_size_limit(1 << 28)  # the 3 MiB logical message's description
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(records)
    for rec, row in zip(records, rows, strict=True):
        assert str(Lsn(rec.lsn)) == row["start_lsn"]
        assert str(Lsn(rec.end_lsn)) == row["end_lsn"], row
        assert rec.fpi_len == int(row["fpi_length"])
        assert len(rec.main_data) == int(row["main_data_length"])


@pytest.mark.parametrize("version", VERSIONS)
def test_block_refs_match_bkp_listing(corpus: Path, version: str) -> None:
    """Block count, relation, fork, block number and FPI flag of every block reference."""
    records, _ = decode_all(corpus, version)
    forks = {0: "main", 1: "fsm", 2: "vm", 3: "init"}
    blk = re.compile(r"^\tblkref #(\d+): rel (\d+)/(\d+)/(\d+) fork (\S+) blk (\d+)( \(FPW\))?")
    it = iter(records)
    rec = None
    got: list[str] = []
    lines = read_gz(corpus / version / "waldump_bkp.txt.gz").splitlines()
    for line in lines:
        if line.startswith("rmgr:"):
            rec = next(it)
            got = [
                f"{b.block_id} {b.rlocator.spc_oid}/{b.rlocator.db_oid}/{b.rlocator.rel_number} "
                f"{forks[b.fork]} {b.blkno} {b.has_image}"
                for b in rec.blocks
            ]
            got.reverse()
            continue
        m = blk.match(line)
        if m:
            i, spc, db, rel, fork, blkno, fpw = m.groups()
            assert got, line
            assert got.pop() == f"{i} {spc}/{db}/{rel} {fork} {blkno} {bool(fpw)}", line
    assert next(it, None) is None


def test_corpus_location_env_var_then_beside_the_repo(tmp_path: Path, monkeypatch) -> None:
    """``$PGWAL_CORPUS`` wins when it exists; else ``../shared/pgwal-corpus``; else a skip."""
    from tests.pgwal import conftest

    monkeypatch.setenv("PGWAL_CORPUS", str(tmp_path))
    assert conftest.find_corpus() == tmp_path
    fake_repo = tmp_path / "clone" / "repo"
    fake_repo.mkdir(parents=True)
    monkeypatch.setattr(conftest, "REPO_ROOT", fake_repo)
    monkeypatch.setenv("PGWAL_CORPUS", str(tmp_path / "absent"))
    assert conftest.find_corpus() is None  # neither exists: the tests skip with SKIP_REASON
    beside = tmp_path / "clone" / "shared" / "pgwal-corpus"
    beside.mkdir(parents=True)
    assert conftest.find_corpus() == beside
    monkeypatch.delenv("PGWAL_CORPUS")
    assert conftest.find_corpus() == beside
    reason = conftest.SKIP_REASON
    assert "PGWAL_CORPUS" in reason and "../shared/pgwal-corpus" in reason
