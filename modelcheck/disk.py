"""Simulated per-node storage: writes become durable only on fsync.

A node sees its own writes at once; a crash rolls every file back to what
was last fsynced. With ``torn_writes`` on, a crash instead keeps a (chosen)
prefix of the last unsynced write of each file, as a disk that lost power in
the middle of it would. Files are byte arrays addressed by name; reading past
the end gives zeros, like a sparse file.

Unsynced changes are kept as an undo log rather than a copy of the file, so
fsync is O(1) in the file size even for 16 MiB WAL segments.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelcheck.choice import Chooser
from modelcheck.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class DiskOptions:
    """Disk faults: ``torn_writes`` keeps a prefix of an unsynced write on crash."""

    torn_writes: bool = False


class _File:
    __slots__ = ("data", "undo", "durable_size")

    def __init__(self) -> None:
        self.data = bytearray()
        # (offset, previous bytes, size before the change, new length written)
        self.undo: list[tuple[int, bytes, int, int]] = []
        self.durable_size = 0


class Disk:
    """One node's files.

    >>> d = Disk(); d.write("f", 0, b"abc"); d.fsync("f"); d.write("f", 3, b"def")
    >>> d.crash(); d.read("f", 0, 6)
    b'abc\\x00\\x00\\x00'
    """

    def __init__(self, options: DiskOptions | None = None) -> None:
        self.options = options or DiskOptions()
        self._files: dict[str, _File] = {}
        self.writes = 0
        self.fsyncs = 0

    def names(self) -> list[str]:
        """File names in sorted order."""
        return sorted(self._files)

    def exists(self, name: str) -> bool:
        return name in self._files

    def size(self, name: str) -> int:
        f = self._files.get(name)
        return len(f.data) if f else 0

    def read(self, name: str, offset: int, length: int) -> bytes:
        """Read ``length`` bytes at ``offset``; missing bytes read as zeros."""
        if offset < 0 or length < 0:
            raise InvalidArgument(f"read: offset={offset} and length={length} must be >= 0")
        f = self._files.get(name)
        chunk = bytes(f.data[offset : offset + length]) if f else b""
        return chunk + bytes(length - len(chunk))

    def read_durable(self, name: str, offset: int, length: int) -> bytes:
        """What :meth:`read` would give after a crash now (without torn writes): the bytes
        as of each change's last fsync. For checkers asking "is this durably held?"."""
        f = self._files.get(name)
        if f is None or not f.undo:
            return self.read(name, offset, length)
        if offset < 0 or length < 0:
            raise InvalidArgument(f"read_durable: offset={offset} and length={length} must "
                                  "be >= 0")
        data = bytearray(f.data)
        for off, old, old_size, _ in reversed(f.undo):
            del data[old_size:]
            if len(data) < old_size:
                data.extend(bytes(old_size - len(data)))
            data[off : off + len(old)] = old
        chunk = bytes(data[offset : offset + length])
        return chunk + bytes(length - len(chunk))

    def read_all(self, name: str) -> bytes:
        f = self._files.get(name)
        return bytes(f.data) if f else b""

    def write(self, name: str, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` (visible now, durable after fsync)."""
        if offset < 0:
            raise InvalidArgument(f"write: offset={offset} must be >= 0")
        f = self._files.get(name)
        if f is None:
            f = self._files[name] = _File()
        old_size = len(f.data)
        end = offset + len(data)
        f.undo.append((offset, bytes(f.data[offset:end]), old_size, len(data)))
        if end > old_size:
            f.data.extend(bytes(end - old_size))
        f.data[offset:end] = data
        self.writes += 1

    def truncate(self, name: str, size: int) -> None:
        """Cut (or zero-extend) a file to ``size`` bytes (durable after fsync)."""
        f = self._files.get(name)
        if f is None:
            f = self._files[name] = _File()
        old_size = len(f.data)
        f.undo.append((size, bytes(f.data[size:]), old_size, 0))
        if size < old_size:
            del f.data[size:]
        else:
            f.data.extend(bytes(size - old_size))

    def fsync(self, name: str) -> None:
        """Make everything written to ``name`` so far durable."""
        f = self._files.get(name)
        if f is not None:
            f.undo.clear()
            f.durable_size = len(f.data)
        self.fsyncs += 1

    def fsync_all(self) -> None:
        for name in self.names():
            self.fsync(name)

    def unsynced(self) -> list[str]:
        """Names of files with changes a crash would lose."""
        return [n for n in self.names() if self._files[n].undo]

    def crash(self, chooser: Chooser | None = None) -> None:
        """Lose every unsynced change (keeping a torn prefix if so configured)."""
        torn = self.options.torn_writes and chooser is not None
        for name in self.names():
            f = self._files[name]
            if not f.undo:
                continue
            keep = None
            if torn:
                offset, _, _, length = f.undo[-1]
                if length:
                    cut = chooser.below(length + 1)  # type: ignore[union-attr]
                    keep = (offset, bytes(f.data[offset : offset + cut]))
            for offset, old, old_size, _ in reversed(f.undo):
                del f.data[old_size:]
                if len(f.data) < old_size:
                    f.data.extend(bytes(old_size - len(f.data)))
                f.data[offset : offset + len(old)] = old
            f.undo.clear()
            if keep is not None and keep[1]:
                offset, data = keep
                end = offset + len(data)
                if end > len(f.data):
                    f.data.extend(bytes(end - len(f.data)))
                f.data[offset:end] = data
            assert len(f.data) >= 0
            f.durable_size = len(f.data)

    def snapshot(self) -> tuple[tuple[str, bytes], ...]:
        """The visible content of every file, as plain hashable data."""
        return tuple((n, bytes(self._files[n].data)) for n in self.names())
