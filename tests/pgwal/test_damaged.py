"""The damaged copies of the corpus: same records and same error text as pg_waldump."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from pgwal import errors
from pgwal.decoder import decode_buffer
from pgwal.lsn import format_lsn_waldump
from pgwal.segment import read_records

CASES = {
    "crc_flip": (errors.WalBadCrc, "invalid"),
    "truncated": (errors.WalTruncated, "truncated"),
    "bad_magic": (errors.WalBadMagic, "invalid"),
    "zeroed_tail": (errors.WalBadLength, "invalid"),
    "wrong_name": (errors.WalBadPageAddress, "no_valid_record"),
}


def expected(corpus: Path, case: str) -> tuple[list[str], str]:
    readme = (corpus / "pg15" / "damaged" / "README.md").read_text()
    section = readme.split(f"## {case}\n", 1)[1].split("\n## ", 1)[0]
    stderr = re.search(r"- stderr: `pg_waldump: error: (.*)`", section)
    assert stderr
    with gzip.open(corpus / "pg15" / "damaged" / case / "waldump.txt.gz", "rt") as f:
        lsns = [re.search(r"lsn: (\S+),", ln).group(1) for ln in f.read().splitlines()]  # type: ignore[union-attr]
    return lsns, stderr.group(1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_case(corpus: Path, case: str) -> None:
    d = corpus / "pg15" / "damaged" / case
    (name,) = [p.name for p in d.iterdir() if p.name != "waldump.txt.gz"]
    lsns, stderr = expected(corpus, case)
    reader = read_records(str(d), name, name)
    got = [format_lsn_waldump(r.lsn) for r in reader]
    assert got == lsns
    cls, kind = CASES[case]
    end = reader.end
    assert end is not None and end.kind == kind
    assert isinstance(end.error, cls)
    if kind == "no_valid_record":
        assert stderr == reader.no_valid_record_message()
    else:
        m = re.match(r"error in WAL record at (\S+): (.*)", stderr)
        if m:  # records were printed before the error
            assert str(end.last_lsn) == m.group(1)
            assert end.reason == m.group(2)
        else:
            assert end.reason == stderr
    text = str(end.error)
    assert name in text  # the file
    assert "offset" in text and "LSN" in text
    with pytest.raises(cls):
        for _ in read_records(str(d), name, name, strict=True):
            pass


def test_truncated_buffer_decodes_complete_records(corpus: Path) -> None:
    """A streaming decoder accepts the short final page: it stops at the cut record."""
    data = (corpus / "pg15" / "damaged" / "truncated" / "000000010000000000000007").read_bytes()
    records, end = decode_buffer(data, 0x700000, find_first=True)
    assert format_lsn_waldump(records[-1].lsn) == "0/00780160"
    assert end.kind == "truncated" and isinstance(end.error, errors.WalTruncated)
    assert end.error.lsn == 0x7801A0
    assert end.lsn == records[-1].end_lsn == 0x7801A0


def test_zeroed_tail_is_end_of_wal(corpus: Path) -> None:
    data = (corpus / "pg15" / "damaged" / "zeroed_tail" / "000000010000000000000007").read_bytes()
    records, end = decode_buffer(data, 0x700000)
    assert end.zeroed and end.lsn == 0x7806E8
    assert records[-1].lsn == 0x780698
