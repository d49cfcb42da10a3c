from modelcheck.choice import SeededChooser
from modelcheck.disk import Disk, DiskOptions


def test_crash_keeps_synced_and_loses_unsynced():
    d = Disk()
    d.write("wal", 0, b"A" * 10)
    d.fsync("wal")
    d.write("wal", 10, b"B" * 10)
    d.write("ctl", 0, b"term=5")
    assert d.read("wal", 0, 20) == b"A" * 10 + b"B" * 10
    d.crash()
    assert d.read_all("wal") == b"A" * 10
    assert d.read_all("ctl") == b""


def test_overwrite_then_crash_restores_old_bytes():
    d = Disk()
    d.write("f", 0, b"0123456789")
    d.fsync("f")
    d.write("f", 2, b"xx")
    d.truncate("f", 4)
    d.write("f", 8, b"zz")
    d.crash()
    assert d.read_all("f") == b"0123456789"


def test_torn_write_keeps_a_prefix_of_the_last_unsynced_write():
    prefixes = set()
    for seed in range(30):
        d = Disk(DiskOptions(torn_writes=True))
        d.write("f", 0, b"old")
        d.fsync("f")
        d.write("f", 3, b"NEWDATA")
        d.crash(SeededChooser(seed))
        data = d.read_all("f")
        assert data.startswith(b"old") and b"NEWDATA".startswith(data[3:])
        prefixes.add(len(data) - 3)
    assert len(prefixes) > 3  # different seeds tear at different points


def test_reads_past_the_end_are_zeros():
    d = Disk()
    d.write("f", 4, b"x")
    assert d.read("f", 0, 8) == b"\0\0\0\0x\0\0\0"
