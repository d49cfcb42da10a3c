"""The speed-ups keep their promises: value-type semantics, fast decode paths, text caches."""

from __future__ import annotations

import time
from collections import namedtuple
from pathlib import Path

import pytest

import pgwal.decoder as decoder_module
from pgwal._record_decode import _decode_general
from pgwal._value import value_type
from pgwal.decoder import EndOfWal
from pgwal.lsn import Lsn
from pgwal.page import PageHeader
from pgwal.record import (
    XLOG_RECORD,
    BlockRef,
    Record,
    RelFileLocator,
    decode_body,
    decode_record,
)
from pgwal.rmgrdesc._common import timestamptz_text
from pgwal.segment import list_segments, read_records
from pgwal.versions import by_major

REL = RelFileLocator(1663, 5, 16384)


def _block(blkno: int = 7) -> BlockRef:
    return BlockRef(0, 0, 0x20, REL, blkno, False, False, b"", 0, 0, 0, None, b"\x01")


def _record(blocks: tuple[BlockRef, ...] = ()) -> Record:
    return Record(0x700028, 0x700060, 0x700000, 5, 50, 0, 10, 99, blocks, b"ab", None, None)


# --------------------------------------------------------------------------- value types


def test_value_types_compare_like_frozen_dataclasses() -> None:
    rec = _record((_block(),))
    assert rec == _record((_block(),)) and hash(rec) == hash(_record((_block(),)))
    assert rec != _record((_block(8),)) and not rec == _record((_block(8),))  # noqa: SIM201
    assert REL != (1663, 5, 16384) and not REL == (1663, 5, 16384)  # noqa: SIM201
    assert (1663, 5, 16384) != REL  # noqa: SIM300 - the reflected comparison too
    other = namedtuple("Other", "spc_oid db_oid rel_number")(1663, 5, 16384)
    assert REL != other  # noqa: SIM300 - (other != REL is tuple's comparison: pgwal._value)
    assert RelFileLocator(spc_oid=1663, db_oid=5, rel_number=16384) == REL
    assert repr(REL) == "RelFileLocator(spc_oid=1663, db_oid=5, rel_number=16384)"
    assert {REL: 1}[RelFileLocator(1663, 5, 16384)] == 1


def test_value_types_are_immutable_and_unordered() -> None:
    rec = _record()
    with pytest.raises(AttributeError):
        rec.lsn = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        REL.db_oid = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        _ = REL < RelFileLocator(1663, 5, 16385)  # noqa: SIM300
    with pytest.raises(TypeError):
        _ = by_major(14) <= by_major(15)


def test_defaults_and_properties_survive() -> None:
    short = PageHeader(0xD116, 5, 2, 0x702000, 17)
    assert short.sysid is None and short.size == 24 and short.is_contrecord
    end = EndOfWal(Lsn(0x10), None, "end_of_input")
    assert end.error is None and end.clean and end.reason.startswith("end of input")
    assert _block().has_data and not _block().will_init
    assert _record((_block(),)).fpi_len == 0


def test_value_type_refuses_fields_hidden_by_class_attributes() -> None:
    with pytest.raises(TypeError, match="hide the fields"):

        @value_type
        class Bad(namedtuple("Bad", "x y")):
            __slots__ = ()
            y = 0  # a dataclass-style default would shadow the field


# --------------------------------------------------------------------------- fast decode paths


@pytest.mark.parametrize("version", ["pg14", "pg15", "pg16", "pg17"])
def test_fast_paths_agree_with_the_general_decoder(
    corpus: Path, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every corpus record the fast paths decode equals what the general path makes of it."""
    seen: list[tuple[bytes, int, int, object, tuple[int, ...]]] = []
    fast_block0 = decoder_module._decode_block0
    fast_body = decoder_module.decode_body

    def spy_block0(payload, lsn, end_lsn, fields):  # type: ignore[no-untyped-def]
        seen.append((payload, lsn, end_lsn, None, fields))
        return fast_block0(payload, lsn, end_lsn, fields)

    def spy_body(payload, lsn, end_lsn, version, fields):  # type: ignore[no-untyped-def]
        seen.append((payload, lsn, end_lsn, version, fields))
        return fast_body(payload, lsn, end_lsn, version, fields)

    monkeypatch.setattr(decoder_module, "_decode_block0", spy_block0)
    monkeypatch.setattr(decoder_module, "decode_body", spy_body)
    folder = corpus / version
    names = list_segments(str(folder))
    reader = read_records(str(folder), names[0], names[-1])
    records = {rec.lsn: rec for rec in reader}
    ver = reader.version
    assert len(records) > 1000
    checked = 0
    for payload, lsn, end_lsn, _v, fields in seen:
        if lsn not in records:  # before the first record shown
            continue
        assert fields == XLOG_RECORD.unpack_from(payload, 0)
        general = _decode_general(payload, lsn, end_lsn, ver, *fields)
        assert records[lsn] == general, f"record at {lsn:X}"
        assert decode_body(payload, lsn, end_lsn, ver, fields) == general
        assert decode_record(payload, lsn, end_lsn, ver) == general
        checked += 1
    # all but the records that cross a page, which are assembled and decoded by decode_record
    assert checked > 0.95 * len(records)


# --------------------------------------------------------------------------- text caches


def test_timestamp_cache_follows_the_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    ts = 770_000_000_123_456  # 2024-05-26 00:53:20.123456 UTC, as TimestampTz
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        utc = timestamptz_text(ts)
        assert utc == "2024-05-26 00:53:20.123456 UTC"
        assert timestamptz_text(ts + 1) == "2024-05-26 00:53:20.123457 UTC"  # cached second
        monkeypatch.setenv("TZ", "Asia/Tokyo")
        time.tzset()
        assert timestamptz_text(ts) == "2024-05-26 09:53:20.123456 JST"
    finally:
        monkeypatch.undo()
        time.tzset()
