from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgwal import errors
from pgwal.encoder import WalEncoder
from pgwal.segment import (
    find_end_of_wal_in_directory,
    list_segments,
    parse_segment_name,
    read_records,
    read_segment_header,
    segment_name,
    segment_name_for_lsn,
)


@given(
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 1 << 40),
    st.sampled_from([1 << k for k in range(20, 31)]),
)
def test_names_round_trip(tli: int, segno: int, seg: int) -> None:
    segno %= (1 << 64) // seg
    name = segment_name(tli, segno, seg)
    assert len(name) == 24
    assert parse_segment_name(name, seg) == (tli, segno)


def test_names_cross_4gib() -> None:
    assert segment_name(1, 0xFFF, 1 << 20) == "000000010000000000000FFF"
    assert segment_name(1, 0x1000, 1 << 20) == "000000010000000100000000"
    assert segment_name_for_lsn(2, 0x1_0000_0028, 16 << 20) == "000000020000000100000000"
    with pytest.raises(errors.WalArgumentError, match="below"):
        parse_segment_name("000000010000000000001000", 1 << 20)
    with pytest.raises(errors.WalArgumentError, match="not a WAL segment"):
        parse_segment_name("00000001000000000000001g", 1 << 20)


def write(enc: WalEncoder, d: Path) -> list[str]:
    names = []
    for name, data in enc.segment_files():
        (d / name).write_bytes(data)
        names.append(name)
    return names


def test_read_across_4gib_boundary_and_first_mid_record(tmp_path: Path) -> None:
    seg = 1 << 20
    enc = WalEncoder(0xFFE00000, segment_size=seg, version=16, timeline=3)
    spans = [enc.logical_message("m", bytes([i % 251]) * (300_000 + i)) for i in range(12)]
    names = write(enc, tmp_path)
    assert names[-1].startswith("000000030000000100000")
    everything = list(read_records(str(tmp_path), names[0], names[-1]))
    assert [r.lsn for r in everything] == [s for s, _e in spans]
    # start in the second segment, which begins inside a record: it is skipped
    later = read_records(str(tmp_path), names[1], names[-1])
    recs = list(later)
    assert recs[0].lsn > 0xFFF00000 and recs[0].lsn in {s for s, _ in spans}
    assert [r.lsn for r in recs] == [s for s, _ in spans if s >= recs[0].lsn]
    assert later.end is not None and later.end.zeroed
    # start_lsn in the middle of the range, end_lsn before the last record ends
    rd = read_records(str(tmp_path), start_lsn=spans[3][0], end_lsn=spans[6][1])
    assert [r.lsn for r in rd] == [s for s, _ in spans[3:7]]
    assert rd.end is not None and rd.end.kind == "end_lsn" and rd.end.clean


def test_bad_directories(tmp_path: Path) -> None:
    with pytest.raises(errors.WalNotFound):
        read_records(str(tmp_path / "missing"), "000000010000000000000001")
    with pytest.raises(errors.WalNotFound, match="no WAL segment"):
        read_records(str(tmp_path), "000000010000000000000001")
    (tmp_path / "000000010000000000000001").write_bytes(b"not wal at all, just text" * 100)
    (tmp_path / "README").write_text("x")
    assert list_segments(str(tmp_path)) == ["000000010000000000000001"]
    with pytest.raises(errors.WalBadMagic, match="offset 0"):
        read_records(str(tmp_path), "000000010000000000000001")
    (tmp_path / "000000010000000000000001").write_bytes(b"\x10\xd1")
    with pytest.raises(errors.WalTruncated, match="000000010000000000000001"):
        read_segment_header(str(tmp_path / "000000010000000000000001"))


def test_wrong_segment_size_and_missing_next(tmp_path: Path) -> None:
    enc = WalEncoder(0x100000, segment_size=1 << 20)
    for i in range(40):
        enc.logical_message("x", bytes(50_000 + i))
    names = write(enc, tmp_path)
    with pytest.raises(errors.WalBadPageHeader, match="segment size"):
        read_records(str(tmp_path), names[0], segment_size=16 << 20)
    os.remove(tmp_path / names[1])
    rd = read_records(str(tmp_path), start_lsn=0x100000)
    recs = list(rd)
    assert rd.end is not None and rd.end.kind == "missing"
    assert isinstance(rd.end.error, errors.WalNotFound) and names[1] in str(rd.end.error)
    assert recs and rd.end.lsn == recs[-1].end_lsn


def test_find_end_of_wal_in_directory(corpus: Path, tmp_path: Path) -> None:
    for name in ("00000001000000000000000F", "000000010000000000000010"):
        shutil.copy(corpus / "pg15" / name, tmp_path / name)
    end = find_end_of_wal_in_directory(str(tmp_path), "00000001000000000000000F")
    assert str(end.lsn) == "0/10000F0" and str(end.last_lsn) == "0/1000078"
