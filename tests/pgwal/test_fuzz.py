"""Mutated corpus segments: only valid records or pgwal's own errors come out, never a hang."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgwal.decoder import WalDecoder, decode_buffer
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


@pytest.mark.skipif(not SEGMENT, reason=SKIP_REASON)
@settings(max_examples=150, deadline=None)
@given(
    st.lists(mutation, min_size=0, max_size=3),
    st.lists(st.integers(1, 3000), min_size=1, max_size=20),
    st.none() | st.integers(0, 10_000),
)
def test_any_chunking_of_mutated_wal_equals_one_buffer(
    muts: list[tuple[str, int, int]], cuts: list[int], stop_after: int | None
) -> None:
    """Fed in any chunks, the streaming decoder finds the same records and the same end.

    The decoder skips work until the input its next step needs has arrived; this checks
    that no chunking changes what it reports, on damaged input as well as on good.
    """
    data = bytes(mutate(bytearray(SEGMENT[:WINDOW]), muts))
    whole, whole_end = decode_buffer(data, 0x700000, find_first=True)
    if stop_after is not None and whole:  # input that ends exactly where a record ends
        data = data[: whole[stop_after % len(whole)].end_lsn - 0x700000]
        whole, whole_end = decode_buffer(data, 0x700000, find_first=True)
    dec = WalDecoder(0x700000, find_first=True)
    got = []
    pos = i = 0
    while pos < len(data):
        n = cuts[i % len(cuts)]
        got += dec.feed(data[pos : pos + n])
        pos += n
        i += 1
    end = dec.finish()
    assert got == whole
    assert (end.lsn, end.last_lsn, end.kind) == (whole_end.lsn, whole_end.last_lsn, whole_end.kind)
    assert type(end.error) is type(whole_end.error)
    if end.error is not None:
        assert end.error.detail == whole_end.error.detail
