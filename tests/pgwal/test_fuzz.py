"""Mutated corpus segments: only valid records or pgwal's own errors come out, never a hang."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgwal.errors import WalError
from pgwal.segment import read_records
from tests.pgwal.conftest import SKIP_REASON, find_corpus

WINDOW = 96 * 1024  # the first 12 pages of segment 0/700000 (records of every shape)


def _segment() -> bytes:
    corpus = find_corpus()
    if corpus is None:
        return b""
    return (corpus / "pg15" / "000000010000000000000007").read_bytes()


SEGMENT = _segment()

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, WINDOW - 1), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, WINDOW), st.just(0)),
    st.tuples(st.just("splice"), st.integers(0, WINDOW - 64), st.integers(0, len(SEGMENT) - 64)),
    st.tuples(st.just("zero"), st.integers(0, WINDOW - 8), st.integers(1, 4096)),
)


def mutate(data: bytearray, muts: list[tuple[str, int, int]]) -> bytearray:
    for kind, a, b in muts:
        if kind == "flip":
            if a < len(data):
                data[a] ^= b
        elif kind == "truncate":
            del data[a:]
        elif kind == "splice":
            data[a : a + 64] = SEGMENT[b : b + 64]
        else:
            data[a : a + b] = bytes(len(data[a : a + b]))
    return data


@pytest.mark.skipif(not SEGMENT, reason=SKIP_REASON)
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_segment(tmp_path: Path, muts: list[tuple[str, int, int]]) -> None:
    data = mutate(bytearray(SEGMENT[:WINDOW]), muts)
    name = "000000010000000000000007"
    (tmp_path / name).write_bytes(bytes(data))
    try:
        reader = read_records(str(tmp_path), name, name)
    except WalError as exc:  # unreadable first header: one clear error
        assert str(exc)
        return
    prev_end = None
    for rec in reader:  # each record passed CRC and header checks
        assert rec.total_len >= 24 and rec.end_lsn > rec.lsn
        assert prev_end is None or rec.lsn >= prev_end
        prev_end = rec.end_lsn
    end = reader.end
    assert end is not None
    assert end.error is None or isinstance(end.error, WalError)
    if end.error is not None:
        assert end.error.lsn is not None or end.error.offset is not None
