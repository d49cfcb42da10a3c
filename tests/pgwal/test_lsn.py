from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgwal.errors import WalArgumentError
from pgwal.lsn import (
    Lsn,
    check_segment_size,
    format_lsn_waldump,
    maxalign,
    next_page_boundary,
    page_offset,
    segment_number,
    segment_offset,
    segment_start,
    segments_per_xlogid,
)

SEG_SIZES = [1 << k for k in range(20, 31)]


def test_parse_and_print() -> None:
    lsn = Lsn.parse("0/16B3748")
    assert int(lsn) == 0x16B3748
    assert str(lsn) == "0/16B3748"
    assert lsn.waldump() == "0/016B3748"
    assert repr(lsn) == "Lsn('0/16B3748')"
    assert str(Lsn.parse("1A/0")) == "1A/0"
    assert Lsn.parse("1/00000010").hi == 1 and Lsn.parse("1/10").lo == 0x10
    assert format_lsn_waldump(0x1_0000_0028) == "1/00000028"


@given(st.integers(0, (1 << 64) - 1))
def test_round_trip_and_order(value: int) -> None:
    lsn = Lsn(value)
    assert Lsn.parse(str(lsn)) == value
    assert Lsn.parse(lsn.waldump()) == value
    assert hash(lsn) == hash(value)
    assert (Lsn(value) < Lsn(value + 1)) if value < (1 << 64) - 1 else True


@pytest.mark.parametrize("bad", ["", "0", "0/", "/1", "g/1", "0/123456789", "1/2/3", " x/1"])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(WalArgumentError, match="invalid LSN"):
        Lsn.parse(bad)


def test_value_range() -> None:
    with pytest.raises(WalArgumentError):
        Lsn(-1)
    with pytest.raises(WalArgumentError):
        Lsn(1 << 64)
    with pytest.raises(ValueError):  # WalArgumentError is a ValueError
        Lsn.parse("zz")


@given(st.integers(0, (1 << 64) - 1), st.sampled_from(SEG_SIZES))
def test_segment_arithmetic(value: int, seg: int) -> None:
    segno = segment_number(value, seg)
    off = segment_offset(value, seg)
    assert segment_start(segno, seg) + off == value
    assert 0 <= off < seg
    assert segments_per_xlogid(seg) * seg == 1 << 32
    nxt = next_page_boundary(value)
    assert nxt > value and nxt % 8192 == 0 and nxt - value <= 8192
    assert page_offset(value) == value % 8192
    assert maxalign(value) % 8 == 0 and 0 <= maxalign(value) - value < 8


@pytest.mark.parametrize("bad", [0, 1 << 19, (1 << 20) + 1, 3 << 20, 1 << 31, "16"])
def test_segment_size_checked(bad: object) -> None:
    with pytest.raises(WalArgumentError, match="segment_size"):
        check_segment_size(bad)  # type: ignore[arg-type]
