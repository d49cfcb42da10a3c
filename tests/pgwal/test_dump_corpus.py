"""``pgwal dump`` against the real pg_waldump listings of the corpus (PostgreSQL 14-17).

Every line of ``waldump.txt.gz`` and ``waldump_bkp.txt.gz`` is compared: all
fields and the record kind for every record, the whole desc text for the
XLOG, Transaction, Standby, Heap, Heap2 and Btree records, the inline block
references and every ``blkref`` detail line. The ``--stats`` and
``--stats=record`` tables must equal pg_waldump's, and the end-of-WAL report
on stderr must say what pg_waldump says (COMMANDS.txt).
"""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

import pytest

from pgwal.cli import main
from pgwal.rmgrdesc import FULL_DESC_RMGRS
from tests.pgwal.conftest import SKIP_REASON, find_corpus
from tests.pgwal.listing import compare_listing

CORPUS = find_corpus()
pytestmark = pytest.mark.skipif(CORPUS is None, reason=SKIP_REASON)

VERSIONS = ["pg14", "pg15", "pg16", "pg17"]


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")  # the corpus listings were made in UTC
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def read_gz(path: Path) -> list[str]:
    with gzip.open(path, "rt") as f:
        return f.read().splitlines()


def segment_range(version: str) -> tuple[str, str]:
    names = sorted(
        p.name for p in (CORPUS / version).iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name)
    )
    return names[0], names[-1]


def waldump_stderr(version: str) -> str:
    """The end-of-WAL message from COMMANDS.txt without the ``pg_waldump: <level>:`` prefix."""
    text = (CORPUS / version / "COMMANDS.txt").read_text()
    line = next(x for x in text.splitlines() if "stderr" in x and "error in WAL record" in x)
    return line.split("error in WAL record", 1)[1]


def run_dump(capsys: pytest.CaptureFixture[str], version: str, *extra: str) -> tuple[int, str, str]:
    first, last = segment_range(version)
    code = main(["dump", "-p", str(CORPUS / version), *extra, first, last])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("bkp", [False, True], ids=["plain", "bkp-details"])
@pytest.mark.parametrize("version", VERSIONS)
def test_listing_matches_pg_waldump(capsys, version: str, bkp: bool) -> None:
    name = "waldump_bkp.txt.gz" if bkp else "waldump.txt.gz"
    ref = read_gz(CORPUS / version / name)
    code, out, err = run_dump(capsys, version, *(["--bkp-details"] if bkp else []))
    problems = compare_listing(ref, out.splitlines())
    assert not problems, "\n".join(problems)
    # the end of WAL is reported like pg_waldump: one line on stderr, exit status 1
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("pgwal: ")
    assert err.rstrip("\n").split("error in WAL record", 1)[1] == waldump_stderr(version)
    full = sum(
        1 for line in ref if not line.startswith("\t") and line.split()[1] in FULL_DESC_RMGRS
    )
    assert full > len([x for x in ref if not x.startswith("\t")]) // 2  # most records: full text


@pytest.mark.parametrize("per_record", [True, False], ids=["record", "rmgr"])
@pytest.mark.parametrize("version", VERSIONS)
def test_stats_match_pg_waldump(capsys, version: str, per_record: bool) -> None:
    option = "--stats=record" if per_record else "--stats"
    name = "waldump_stats_record.txt" if per_record else "waldump_stats.txt"
    code, out, _err = run_dump(capsys, version, option)
    ref = (CORPUS / version / name).read_text()
    assert out.splitlines() == ref.splitlines()
    assert code == 1


def test_limit_stops_early_without_error(capsys) -> None:
    code, out, err = run_dump(capsys, "pg15", "-n", "5")
    ref = read_gz(CORPUS / "pg15" / "waldump.txt.gz")[:5]
    assert not compare_listing(ref, out.splitlines()) and code == 0 and err == ""
