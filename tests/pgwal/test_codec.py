"""Encoder and decoder together: round trips, any chunking, restarts, bad headers."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgwal import errors
from pgwal.decoder import WalDecoder, decode_buffer, find_end_of_wal
from pgwal.encoder import WalEncoder
from pgwal.page import PageHeader, decode_page_header, encode_page_header
from pgwal.record import (
    RelFileLocator,
    canonical_blocks,
    decode_record,
    encode_record,
    make_block_ref,
)
from pgwal.versions import by_major

PG_WALDUMP = "/usr/lib/postgresql/15/bin/pg_waldump"
RELS = [
    RelFileLocator(1663, 5, 16384),
    RelFileLocator(1663, 5, 16390),
    RelFileLocator(1664, 0, 1262),
]


@st.composite
def blocks(draw, version):  # type: ignore[no-untyped-def]
    n = draw(st.integers(0, 4))
    ids = sorted(draw(st.sets(st.integers(0, 32), min_size=n, max_size=n)))
    out = []
    for bid in ids:
        kind = draw(st.sampled_from(["none", "full", "hole", "compressed"]))
        kw: dict = {}
        if kind == "full":
            kw = {"image": draw(st.binary(min_size=8192, max_size=8192))}
        elif kind == "hole":
            hole = draw(st.integers(1, 8000))
            kw = {
                "image": bytes(8192 - hole),
                "hole_offset": draw(st.integers(1, 8192 - hole)),
                "hole_length": hole,
            }
        elif kind == "compressed":
            methods = ["pglz"] if version.major == 14 else ["pglz", "lz4", "zstd"]
            kw = {
                "image": draw(st.binary(min_size=1, max_size=300)),
                "compression": draw(st.sampled_from(methods)),
            }
            if draw(st.booleans()):
                kw.update(
                    hole_offset=draw(st.integers(1, 100)), hole_length=draw(st.integers(1, 4000))
                )
        out.append(
            make_block_ref(
                bid,
                draw(st.sampled_from(RELS)),
                draw(st.integers(0, 2**32 - 1)),
                version=version,
                fork=draw(st.integers(0, 3)),
                data=draw(st.binary(max_size=70)),
                will_init=draw(st.booleans()),
                apply_image=draw(st.booleans()),
                **kw,
            )  # fmt: skip
        )
    return canonical_blocks(out)


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from([14, 15, 16, 17]))
def test_record_round_trip(data, major: int) -> None:  # type: ignore[no-untyped-def]
    v = by_major(major)
    blks = data.draw(blocks(v))
    main = data.draw(st.binary(max_size=600))
    origin = data.draw(st.none() | st.integers(0, 65535))
    top = data.draw(st.none() | st.integers(1, 2**32 - 1))
    raw = encode_record(
        xid=7, info=0x10, rmid=10, prev=0x1000, main_data=main, blocks=blks, origin=origin,
        toplevel_xid=top, version=v,
    )  # fmt: skip
    rec = decode_record(raw, 0x2000, 0x2000 + len(raw), v)
    assert rec.blocks == blks and rec.main_data == main
    assert (rec.origin, rec.toplevel_xid, rec.total_len) == (origin, top, len(raw))


def test_page_header_round_trip() -> None:
    for h in (
        PageHeader(0xD110, 6, 1, 0x700000, 0, 99, 1 << 20, 8192),
        PageHeader(0xD116, 5, 2, 0x702000, 17),
    ):
        raw = encode_page_header(h)
        assert len(raw) == h.size and decode_page_header(raw) == h
    with pytest.raises(errors.WalTruncated):
        decode_page_header(b"\x10\xd1\x02\x00" + bytes(20))


def build(version: int = 15, seg: int = 1 << 20, start: int = 0x300000) -> tuple[WalEncoder, list]:
    enc = WalEncoder(start, version=version, segment_size=seg)
    spans = []
    for i in range(400):
        spans.append(
            enc.heap_insert(
                800 + i,
                RELS[i % 3],
                i // 40,
                i % 40 + 1,
                bytes(range(i % 200)),
                init_page=i % 40 == 0,
            )
        )
        spans.append(enc.commit(800 + i, timestamp_us=1_700_000_000_000_000 + i))
        if i % 97 == 0:
            spans.append(enc.logical_message("big", bytes([i % 256]) * (9000 + 300 * i)))
        if i == 250:
            spans.append(enc.switch())
    return enc, spans


@pytest.mark.parametrize("major", [14, 15, 16, 17])
def test_encoded_stream_decodes(major: int) -> None:
    enc, spans = build(major)
    recs, end = decode_buffer(enc.bytes_between(enc.start_lsn, enc.end_lsn), enc.start_lsn)
    assert [(r.lsn, r.end_lsn) for r in recs] == spans
    assert end.kind == "end_of_input" and end.clean and end.lsn == spans[-1][1]
    assert all(r.prev == p.lsn for p, r in zip(recs, recs[1:], strict=False))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 30000), min_size=1, max_size=60))
def test_any_chunking(cuts: list[int]) -> None:
    enc, spans = build(seg=1 << 20)
    data = enc.bytes_between(enc.start_lsn, enc.end_lsn)
    dec = WalDecoder(enc.start_lsn)
    got = []
    pos = 0
    i = 0
    while pos < len(data):
        n = cuts[i % len(cuts)]
        got += dec.feed(data[pos : pos + n])
        pos += n
        i += 1
    assert [(r.lsn, r.end_lsn) for r in got] == spans
    assert dec.finish().clean
    assert dec.buffered == 0


def test_one_byte_feeds_decode_in_linear_time() -> None:
    """Feeding byte by byte runs the decoding loop per record and page, not per byte.

    The decoder remembers how much input its next step needs, so a feed that
    cannot complete anything returns at once (this kept the chunking test from
    taking over a minute when Hypothesis drew chunks of a few bytes).
    """
    enc, spans = build(seg=1 << 20)
    data = enc.bytes_between(enc.start_lsn, enc.end_lsn)
    dec = WalDecoder(enc.start_lsn)
    runs = 0
    run = dec._run

    def counting_run():  # type: ignore[no-untyped-def]
        nonlocal runs
        runs += 1
        return run()

    dec._run = counting_run  # type: ignore[method-assign]
    got = []
    for i in range(len(data)):
        got += dec.feed(data[i : i + 1])
    assert [(r.lsn, r.end_lsn) for r in got] == spans
    assert dec.finish().clean
    pages = len(data) // 8192
    assert runs <= 3 * (len(spans) + pages), (runs, len(spans), pages)


def test_restart_mid_stream_and_find_end() -> None:
    enc, spans = build()
    data = enc.bytes_between(enc.start_lsn, enc.end_lsn)
    start, _ = spans[123]
    tail = enc.bytes_between(start, enc.end_lsn)
    recs, end = decode_buffer(tail, start, version=15, segment_size=1 << 20, prev_lsn=spans[122][0])
    assert [r.lsn for r in recs] == [s for s, _ in spans[123:]]
    # cut inside a record: the end of WAL is the end of the last complete one
    for k in (5, 77, 300, 700):
        s, e = spans[k]
        cut = s + (e - s) // 2
        assert (
            find_end_of_wal(data[: cut - enc.start_lsn], enc.start_lsn, 1 << 20) == spans[k - 1][1]
        )
        zeroed = data[: cut - enc.start_lsn] + bytes(30000)
        assert find_end_of_wal(zeroed, enc.start_lsn, 1 << 20) == spans[k - 1][1]
    assert end.clean


def test_prev_link_and_crc_checked() -> None:
    enc, spans = build()
    data = bytearray(enc.bytes_between(enc.start_lsn, enc.end_lsn))
    recs, _ = decode_buffer(bytes(data), enc.start_lsn)
    victim = recs[10]
    with pytest.raises(errors.WalBadPrevLink):
        decode_buffer(bytes(data), victim.lsn, version=15, prev_lsn=victim.prev + 8)[
            1
        ].raise_error()
    off = victim.lsn - enc.start_lsn + victim.total_len - 1
    data[off] ^= 0x40
    recs2, end = decode_buffer(bytes(data), enc.start_lsn)
    assert isinstance(end.error, errors.WalBadCrc) and end.error.lsn == victim.lsn
    assert recs2 == recs[:10] and end.last_lsn == recs[9].lsn


def test_bad_arguments() -> None:
    with pytest.raises(errors.WalArgumentError):
        WalDecoder(0x1003)
    with pytest.raises(errors.WalArgumentError):
        WalEncoder(0x1000, segment_size=3 << 20)
    with pytest.raises(errors.WalArgumentError):
        WalEncoder(0x2008)  # inside a page header
    enc = WalEncoder(0x2028)
    enc.commit(5)
    dec = WalDecoder(0x2028)  # mid-page without a version: no page magic to learn it from
    dec.feed(enc.bytes_between(0x2028, enc.end_lsn))
    assert isinstance(dec.finish().error, errors.WalArgumentError)


@pytest.mark.skipif(not os.path.exists(PG_WALDUMP), reason="postgresql-15 pg_waldump not installed")
@pytest.mark.parametrize("seg", [1 << 20, 16 << 20])
def test_pg_waldump_reads_encoder_output(tmp_path: Path, seg: int) -> None:
    enc, spans = build(15, seg=seg, start=seg * 3)
    names = []
    for name, data in enc.segment_files():
        (tmp_path / name).write_bytes(data)
        names.append(name)
    out = subprocess.run(
        [PG_WALDUMP, "-p", str(tmp_path), names[0], names[-1]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = out.stdout.splitlines()
    assert len(lines) == len(spans), out.stderr
    for (start, _end), line in zip(spans, lines, strict=True):
        assert f"lsn: {start >> 32:X}/{start & 0xFFFFFFFF:08X}," in line
    assert "invalid record length" in out.stderr and "got 0" in out.stderr
    assert "Heap        len" in lines[0] and "INSERT+INIT off 1" in lines[0]
    assert "COMMIT 2023-11-14" in lines[1]
    assert 'MESSAGE non-transactional, prefix "big"' in lines[2]
    assert any("rmgr: XLOG" in ln and "SWITCH" in ln for ln in lines)
    shutil.rmtree(tmp_path)
