"""``pgwal dump`` on generated WAL: segment ranges, sizes, timelines, bad input.

WAL is written with ``pgwal.encoder``; when the Debian ``pg_waldump`` 15 is
installed, our listing must equal its output byte for byte (the records used
here, XLOG NEXTOID/NOOP, Heap INSERT and Transaction COMMIT, have full desc).
"""

from __future__ import annotations

import os
import struct
import subprocess
import time
from pathlib import Path

import pytest

from pgwal.cli import main
from pgwal.encoder import WalEncoder
from pgwal.record import RelFileLocator

PG_WALDUMP = "/usr/lib/postgresql/15/bin/pg_waldump"
HAVE_WALDUMP = os.access(PG_WALDUMP, os.X_OK)
MIB = 1 << 20
REL = RelFileLocator(1663, 5, 16384)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def write_wal(directory: Path, start: int, seg: int, *, tli: int = 1, rounds: int = 6,
              big: int = 0) -> list[int]:  # fmt: skip
    """Write WAL from segment start ``start``; return the record LSNs."""
    enc = WalEncoder(start, segment_size=seg, timeline=tli, version=15)
    lsns = []
    for i in range(rounds):
        lsns.append(enc.append(0, 0x30, struct.pack("<I", 24576 + i))[0])
        lsns.append(enc.heap_insert(700 + i, REL, i, 1 + i, b"tuple %d" % i)[0])
        lsns.append(enc.commit(700 + i, timestamp_us=(1795607360 - 946684800) * 10**6 + i)[0])
        if big:
            lsns.append(enc.append(0, 0x20, bytes(big))[0])  # XLOG NOOP spanning pages/segments
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in enc.segment_files():
        (directory / name).write_bytes(data)
    return lsns


def dump(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["dump", *args])
    out, err = capsys.readouterr()
    return code, out, err


def waldump(*args: str) -> tuple[int, str, str]:
    res = subprocess.run([PG_WALDUMP, *args], capture_output=True, text=True,
                         env=dict(os.environ, TZ="UTC"), timeout=60)  # fmt: skip
    return res.returncode, res.stdout, res.stderr


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def check_against_waldump(capsys, *args: str) -> str:
    code, out, err = dump(capsys, *args)
    if HAVE_WALDUMP:
        rcode, rout, rerr = waldump(*args)
        assert out == rout
        assert code == rcode
        if rerr:
            assert err.split(": ", 2)[2] == rerr.split(": ", 2)[2]
    return out


@pytest.mark.parametrize("seg_mib", [1, 2, 4, 8, 16])
def test_segment_sizes(tmp_path: Path, capsys, seg_mib: int) -> None:
    seg = seg_mib * MIB
    lsns = write_wal(tmp_path, 3 * seg, seg, big=seg // 3)
    files = names(tmp_path)
    assert len(files) >= 2
    out = check_against_waldump(capsys, "-p", str(tmp_path), files[0], files[-1])
    assert [line.split("lsn: ")[1].split(",")[0] for line in out.splitlines()] == [
        f"{x >> 32:X}/{x & 0xFFFFFFFF:08X}" for x in lsns
    ]


def test_range_crossing_4gib(tmp_path: Path, capsys) -> None:
    seg = MIB
    lsns = write_wal(tmp_path, (1 << 32) - 2 * seg, seg, rounds=8, big=400_000)
    assert lsns[-1] > 1 << 32
    files = names(tmp_path)
    assert files[0] == "000000010000000000000FFE" and files[-1].startswith("000000010000000100")
    out = check_against_waldump(capsys, "-p", str(tmp_path), files[0], files[-1])
    assert "lsn: 0/FFE00028" in out and f"lsn: 1/{lsns[-1] & 0xFFFFFFFF:08X}," in out
    assert len(out.splitlines()) == len(lsns)


def test_other_timeline_and_path_in_startseg(tmp_path: Path, capsys) -> None:
    lsns = write_wal(tmp_path, 5 * MIB, MIB, tli=3, big=500_000)
    files = names(tmp_path)
    assert all(f.startswith("00000003") for f in files)
    out = check_against_waldump(capsys, str(tmp_path / files[0]), files[-1])
    assert len(out.splitlines()) == len(lsns)


def test_first_segment_starts_inside_a_record(tmp_path: Path, capsys) -> None:
    write_wal(tmp_path, 5 * MIB, MIB, big=700_000)
    files = names(tmp_path)
    _c, full, _e = dump(capsys, "-p", str(tmp_path), files[0], files[-1])
    out = check_against_waldump(capsys, "-p", str(tmp_path), files[1], files[-1])
    assert out and full.endswith(out) and len(out) < len(full)


def test_start_lsn_inside_a_record_reports_the_skip(tmp_path: Path, capsys) -> None:
    lsns = write_wal(tmp_path, 5 * MIB, MIB)
    start = lsns[2] + 8
    text = f"{start >> 32:X}/{start & 0xFFFFFFFF:X}"
    out = check_against_waldump(capsys, "-p", str(tmp_path), "-s", text, names(tmp_path)[0])
    first = out.splitlines()[0]
    assert first == (
        f"first record is after {text}, at 0/{lsns[3]:X}, skipping over {lsns[3] - start} bytes"
    )


@pytest.mark.parametrize("end_at", ["record", "mid_record", "segment_end"])
def test_start_and_end_lsn_like_pg_waldump(tmp_path: Path, capsys, end_at: str) -> None:
    lsns = write_wal(tmp_path, 5 * MIB, MIB, rounds=12, big=300_000)
    files = names(tmp_path)
    last = int(files[-1][16:], 16) * MIB
    inside = [x for x in lsns if x >= last + 8192]
    end = {"record": inside[1], "mid_record": inside[1] + 9, "segment_end": last + MIB}[end_at]
    out = check_against_waldump(
        capsys, "-p", str(tmp_path), "-s", f"0/{lsns[3]:X}", "-e", f"0/{end:X}", files[0],
        files[-1],
    )  # fmt: skip
    listed = [int(line.split("lsn: ")[1].split(",")[0].split("/")[1], 16)
              for line in out.splitlines()]  # fmt: skip
    # a record is listed when it ends by -e (so one cut by -e is not listed), as pg_waldump does
    stop = end if end_at == "segment_end" else inside[1]
    assert listed == [x for x in lsns if lsns[3] <= x < stop]


def test_start_or_end_lsn_outside_the_named_segments(tmp_path: Path, capsys) -> None:
    """pg_waldump refuses these with one message each; so does pgwal (exit 2: usage)."""
    lsns = write_wal(tmp_path, 5 * MIB, MIB, rounds=12, big=300_000)
    files = names(tmp_path)
    cases = [
        ("-s", f"0/{6 * MIB + 40:X}", files[0], files[-1]),  # start not in STARTSEG
        ("-e", f"0/{lsns[4]:X}", files[0], files[-1]),  # end not in ENDSEG
        ("-e", f"0/{6 * MIB + 8:X}", files[0]),  # end not in the only segment
        (files[-1], files[0]),  # ENDSEG before STARTSEG
    ]
    for args in cases:
        code, out, err = dump(capsys, "-p", str(tmp_path), *args)
        assert code == 2 and out == "" and err.count("\n") == 1, (args, err)
        if HAVE_WALDUMP:
            rcode, rout, rerr = waldump("-p", str(tmp_path), *args)
            assert rcode == 1 and rout == ""
            ours, theirs = err.rstrip("\n"), rerr.splitlines()[0]
            assert ours.split(": ", 2)[2] == theirs.split(": ", 2)[2], args


def test_bad_input_gives_one_line_and_no_traceback(tmp_path: Path, capsys) -> None:
    code, out, err = dump(capsys, "-p", str(tmp_path / "missing"), "000000010000000000000001")
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("pgwal: error:")
    junk = tmp_path / "000000010000000000000001"
    junk.write_bytes(b"not WAL at all" * 100)
    code, out, err = dump(capsys, "-p", str(tmp_path), junk.name)
    assert code in (1, 2) and err.count("\n") == 1 and "Traceback" not in err
    code, _o, err = dump(capsys, "-p", str(tmp_path), "-s", "nonsense", junk.name)
    assert code == 2 and "invalid WAL location" in err
    code, _o, err = dump(capsys, "-p", str(tmp_path), "--stats=bogus", junk.name)
    assert code == 2 and "unrecognized value for option --stats" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _o, err = dump(capsys, "-p", str(empty), "-s", "0/1000000")
    assert code == 2 and err.count("\n") == 1 and err.startswith("pgwal: error:")


def test_endseg_that_is_not_a_segment_name(tmp_path: Path, capsys) -> None:
    """A file beside the segments given as ENDSEG: one usage line, not a ValueError."""
    write_wal(tmp_path, 5 * MIB, MIB)
    (tmp_path / "waldump_stats_record.txt").write_text("not WAL")  # 24 characters long
    first = names(tmp_path)[0]
    code, out, err = dump(capsys, "-p", str(tmp_path), first, "waldump_stats_record.txt")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "is not a WAL segment file name" in err and "Traceback" not in err


def test_endseg_before_startseg(tmp_path: Path, capsys) -> None:
    write_wal(tmp_path, 5 * MIB, MIB, big=600_000)
    files = names(tmp_path)
    code, out, err = dump(capsys, "-p", str(tmp_path), files[-1], files[0])
    assert code == 2 and out == "" and err.count("\n") == 1


def test_help_and_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("pgwal ")
    assert main(["dump", "--help"]) == 0
    assert "--bkp-details" in capsys.readouterr().out
