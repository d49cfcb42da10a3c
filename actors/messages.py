"""Every message between the walproposer and its safekeepers, and their wire form.

Frozen dataclasses with the field names of Neon's protocol v3
(``safekeeper/src/safekeeper.rs``, ``walproposer.h``), plus the two messages
of the recovery download (``START_REPLICATION`` and the WAL it returns).

The wire form is v3's: one tag byte, then big-endian fields; strings are
NUL-terminated; lists are a ``u32`` count followed by the items. The tag
alone does not identify a message (``'g'``, ``'v'``, ``'a'`` are used in
both directions), so decoding needs the direction: :func:`decode_proposer_message`
for what a safekeeper receives, :func:`decode_acceptor_message` for what a
walproposer receives. A malformed message raises :class:`ProtocolError`
naming the message, the field and the byte offset; nothing else escapes.

>>> m = VoteRequest(generation=0, term=7)
>>> decode_proposer_message(encode(m)) == m
True
>>> decode_proposer_message(b"v\\x00")
Traceback (most recent call last):
...
actors.messages.ProtocolError: VoteRequest.generation at offset 1: expected 4 bytes, found 1
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from pgwal.lsn import format_lsn

__all__ = [
    "AcceptorGreeting",
    "AppendRequest",
    "AppendResponse",
    "HotStandbyFeedback",
    "Member",
    "MembershipConfiguration",
    "ProposerElected",
    "ProposerGreeting",
    "ProtocolError",
    "ReplicationData",
    "StartReplication",
    "TermHistory",
    "VoteRequest",
    "VoteResponse",
    "decode_acceptor_message",
    "decode_proposer_message",
    "encode",
]

MAX_SEND_SIZE = 16 * 8192
"""Largest WAL payload of one AppendRequest (walproposer.h: 16 x XLOG_BLCKSZ)."""

TermHistory = tuple[tuple[int, int], ...]  # ((term, lsn), ...)

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")
_MAX_U32 = (1 << 32) - 1
_MAX_U64 = (1 << 64) - 1


class ProtocolError(ValueError):
    """A message that breaks the protocol: malformed bytes, or a rule a peer violated."""


# -- message types ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    """One safekeeper of a membership configuration."""

    node_id: int
    host: str
    pg_port: int


@dataclass(frozen=True, slots=True)
class MembershipConfiguration:
    """``mconf``: generation 0 is the legacy, generation-less configuration."""

    generation: int = 0
    members: tuple[Member, ...] = ()
    new_members: tuple[Member, ...] | None = None


@dataclass(frozen=True, slots=True)
class HotStandbyFeedback:
    ts: int = 0
    xmin: int = 0
    catalog_xmin: int = 0


@dataclass(frozen=True, slots=True)
class ProposerGreeting:
    tenant_id: str
    timeline_id: str
    mconf: MembershipConfiguration
    pg_version: int
    system_id: int
    wal_seg_size: int

    def log_repr(self) -> str:
        return f"ProposerGreeting(gen={self.mconf.generation} sys={self.system_id})"


@dataclass(frozen=True, slots=True)
class AcceptorGreeting:
    node_id: int
    mconf: MembershipConfiguration
    term: int

    def log_repr(self) -> str:
        return f"AcceptorGreeting(node={self.node_id} term={self.term})"


@dataclass(frozen=True, slots=True)
class VoteRequest:
    generation: int
    term: int

    def log_repr(self) -> str:
        return f"VoteRequest(term={self.term})"


@dataclass(frozen=True, slots=True)
class VoteResponse:
    generation: int
    term: int
    vote_given: bool
    flush_lsn: int
    truncate_lsn: int
    term_history: TermHistory

    def log_repr(self) -> str:
        return (f"VoteResponse(term={self.term} given={int(self.vote_given)} "
                f"flush={format_lsn(self.flush_lsn)} th={_th(self.term_history)})")


@dataclass(frozen=True, slots=True)
class ProposerElected:
    generation: int
    term: int
    start_streaming_at: int
    term_history: TermHistory

    def log_repr(self) -> str:
        return (f"ProposerElected(term={self.term} start={format_lsn(self.start_streaming_at)} "
                f"th={_th(self.term_history)})")


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """WAL ``[begin_lsn, end_lsn)`` (``wal_data``); empty is a heartbeat."""

    generation: int
    term: int
    begin_lsn: int
    end_lsn: int
    commit_lsn: int
    truncate_lsn: int
    wal_data: bytes = b""

    def log_repr(self) -> str:
        return (f"AppendRequest(term={self.term} {format_lsn(self.begin_lsn)}.."
                f"{format_lsn(self.end_lsn)} commit={format_lsn(self.commit_lsn)} "
                f"{len(self.wal_data)}B)")


@dataclass(frozen=True, slots=True)
class AppendResponse:
    generation: int
    term: int
    flush_lsn: int
    commit_lsn: int
    hs_feedback: HotStandbyFeedback = HotStandbyFeedback()

    def log_repr(self) -> str:
        return (f"AppendResponse(term={self.term} flush={format_lsn(self.flush_lsn)} "
                f"commit={format_lsn(self.commit_lsn)})")


@dataclass(frozen=True, slots=True)
class StartReplication:
    """``START_REPLICATION <tenant> <timeline> <start> <end>``: the recovery download."""

    tenant_id: str
    timeline_id: str
    start_lsn: int
    end_lsn: int

    def log_repr(self) -> str:
        return f"StartReplication({format_lsn(self.start_lsn)}..{format_lsn(self.end_lsn)})"


@dataclass(frozen=True, slots=True)
class ReplicationData:
    """The donor's WAL from ``start_lsn`` (one message, then the donor closes)."""

    start_lsn: int
    wal_data: bytes

    def log_repr(self) -> str:
        return f"ReplicationData({format_lsn(self.start_lsn)} {len(self.wal_data)}B)"


def _th(th: TermHistory) -> str:
    return "[" + ",".join(f"{t}@{format_lsn(lsn)}" for t, lsn in th) + "]"


# -- encoding --------------------------------------------------------------------------------


class _Writer:
    __slots__ = ("out", "where")

    def __init__(self, tag: bytes, where: str) -> None:
        self.out = bytearray(tag)
        self.where = where

    def _check(self, name: str, value: Any, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= hi:
            raise ProtocolError(f"{self.where}.{name}={value!r} does not fit the wire field "
                                f"(expected an int in [0, {hi}])")
        return value

    def u8(self, name: str, v: int) -> None:
        self.out += _U8.pack(self._check(name, int(v) if isinstance(v, bool) else v, 255))

    def u16(self, name: str, v: int) -> None:
        self.out += _U16.pack(self._check(name, v, 0xFFFF))

    def u32(self, name: str, v: int) -> None:
        self.out += _U32.pack(self._check(name, v, _MAX_U32))

    def u64(self, name: str, v: int) -> None:
        self.out += _U64.pack(self._check(name, v, _MAX_U64))

    def i64(self, name: str, v: int) -> None:
        if not isinstance(v, int) or not -(1 << 63) <= v < (1 << 63):
            raise ProtocolError(f"{self.where}.{name}={v!r} does not fit an i64")
        self.out += _I64.pack(v)

    def cstr(self, name: str, v: str) -> None:
        data = v.encode()
        if b"\0" in data:
            raise ProtocolError(f"{self.where}.{name}={v!r} contains a NUL byte")
        self.out += data + b"\0"

    def members(self, name: str, ms: tuple[Member, ...]) -> None:
        self.u32(name, len(ms))
        for m in ms:
            self.u64(f"{name}.node_id", m.node_id)
            self.cstr(f"{name}.host", m.host)
            self.u16(f"{name}.pg_port", m.pg_port)

    def mconf(self, c: MembershipConfiguration) -> None:
        self.u32("mconf.generation", c.generation)
        self.members("mconf.members", c.members)
        self.members("mconf.new_members", c.new_members or ())

    def th(self, th: TermHistory) -> None:
        self.u32("term_history", len(th))
        for term, lsn in th:
            self.u64("term_history.term", term)
            self.u64("term_history.lsn", lsn)


def encode(msg: Any) -> bytes:
    """The wire bytes of ``msg`` (raises :class:`ProtocolError` for a field out of range)."""
    kind = type(msg).__name__
    enc = _ENCODERS.get(type(msg))
    if enc is None:
        raise ProtocolError(f"cannot encode {kind}: not a protocol message")
    w = _Writer(_TAGS[type(msg)], kind)
    enc(w, msg)
    return bytes(w.out)


def _enc_pg(w: _Writer, m: ProposerGreeting) -> None:
    w.cstr("tenant_id", m.tenant_id)
    w.cstr("timeline_id", m.timeline_id)
    w.mconf(m.mconf)
    w.u32("pg_version", m.pg_version)
    w.u64("system_id", m.system_id)
    w.u32("wal_seg_size", m.wal_seg_size)


def _enc_ag(w: _Writer, m: AcceptorGreeting) -> None:
    w.u64("node_id", m.node_id)
    w.mconf(m.mconf)
    w.u64("term", m.term)


def _enc_vreq(w: _Writer, m: VoteRequest) -> None:
    w.u32("generation", m.generation)
    w.u64("term", m.term)


def _enc_vresp(w: _Writer, m: VoteResponse) -> None:
    w.u32("generation", m.generation)
    w.u64("term", m.term)
    w.u8("vote_given", m.vote_given)
    w.u64("flush_lsn", m.flush_lsn)
    w.u64("truncate_lsn", m.truncate_lsn)
    w.th(m.term_history)


def _enc_elected(w: _Writer, m: ProposerElected) -> None:
    w.u32("generation", m.generation)
    w.u64("term", m.term)
    w.u64("start_streaming_at", m.start_streaming_at)
    w.th(m.term_history)


def _enc_areq(w: _Writer, m: AppendRequest) -> None:
    if m.end_lsn - m.begin_lsn != len(m.wal_data):
        raise ProtocolError(f"AppendRequest: end_lsn - begin_lsn = {m.end_lsn - m.begin_lsn} "
                            f"but wal_data has {len(m.wal_data)} bytes")
    w.u32("generation", m.generation)
    w.u64("term", m.term)
    w.u64("begin_lsn", m.begin_lsn)
    w.u64("end_lsn", m.end_lsn)
    w.u64("commit_lsn", m.commit_lsn)
    w.u64("truncate_lsn", m.truncate_lsn)
    w.out += m.wal_data


def _enc_aresp(w: _Writer, m: AppendResponse) -> None:
    w.u32("generation", m.generation)
    w.u64("term", m.term)
    w.u64("flush_lsn", m.flush_lsn)
    w.u64("commit_lsn", m.commit_lsn)
    w.i64("hs_feedback.ts", m.hs_feedback.ts)
    w.u64("hs_feedback.xmin", m.hs_feedback.xmin)
    w.u64("hs_feedback.catalog_xmin", m.hs_feedback.catalog_xmin)


def _enc_repl(w: _Writer, m: StartReplication) -> None:
    w.cstr("tenant_id", m.tenant_id)
    w.cstr("timeline_id", m.timeline_id)
    w.u64("start_lsn", m.start_lsn)
    w.u64("end_lsn", m.end_lsn)


def _enc_data(w: _Writer, m: ReplicationData) -> None:
    w.u64("start_lsn", m.start_lsn)
    w.u32("length", len(m.wal_data))
    w.out += m.wal_data


_ENCODERS: dict[type, Any] = {
    ProposerGreeting: _enc_pg, AcceptorGreeting: _enc_ag, VoteRequest: _enc_vreq,
    VoteResponse: _enc_vresp, ProposerElected: _enc_elected, AppendRequest: _enc_areq,
    AppendResponse: _enc_aresp, StartReplication: _enc_repl, ReplicationData: _enc_data,
}
_TAGS: dict[type, bytes] = {
    ProposerGreeting: b"g", AcceptorGreeting: b"g", VoteRequest: b"v", VoteResponse: b"v",
    ProposerElected: b"e", AppendRequest: b"a", AppendResponse: b"a", StartReplication: b"r",
    ReplicationData: b"d",
}


# -- decoding --------------------------------------------------------------------------------


class _Reader:
    __slots__ = ("data", "pos", "where")

    def __init__(self, data: bytes, where: str) -> None:
        self.data = data
        self.pos = 1
        self.where = where

    def _take(self, name: str, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise ProtocolError(f"{self.where}.{name} at offset {self.pos}: expected {n} bytes, "
                                f"found {len(self.data) - self.pos}")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def u8(self, name: str) -> int:
        return self._take(name, 1)[0]

    def u16(self, name: str) -> int:
        return _U16.unpack(self._take(name, 2))[0]

    def u32(self, name: str) -> int:
        return _U32.unpack(self._take(name, 4))[0]

    def u64(self, name: str) -> int:
        return _U64.unpack(self._take(name, 8))[0]

    def i64(self, name: str) -> int:
        return _I64.unpack(self._take(name, 8))[0]

    def cstr(self, name: str) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolError(f"{self.where}.{name} at offset {self.pos}: "
                                "expected a NUL-terminated string, found no NUL")
        raw = self.data[self.pos:end]
        try:
            text = raw.decode()
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"{self.where}.{name} at offset {self.pos}: "
                                f"not valid UTF-8 ({exc.reason})") from None
        self.pos = end + 1
        return text

    def count(self, name: str, item_size: int) -> int:
        n = self.u32(name)
        left = len(self.data) - self.pos
        if n * item_size > left:
            raise ProtocolError(f"{self.where}.{name} at offset {self.pos - 4}: count {n} needs "
                                f"at least {n * item_size} bytes, found {left}")
        return n

    def members(self, name: str) -> tuple[Member, ...]:
        n = self.count(name, 11)
        return tuple(Member(self.u64(f"{name}.node_id"), self.cstr(f"{name}.host"),
                            self.u16(f"{name}.pg_port")) for _ in range(n))

    def mconf(self) -> MembershipConfiguration:
        gen = self.u32("mconf.generation")
        members = self.members("mconf.members")
        new = self.members("mconf.new_members")
        return MembershipConfiguration(gen, members, new or None)

    def th(self) -> TermHistory:
        n = self.count("term_history", 16)
        return tuple((self.u64("term_history.term"), self.u64("term_history.lsn"))
                     for _ in range(n))

    def rest(self) -> bytes:
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk

    def done(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError(f"{self.where}: {len(self.data) - self.pos} trailing bytes at "
                                f"offset {self.pos}")


def _dec_pg(r: _Reader) -> ProposerGreeting:
    return ProposerGreeting(r.cstr("tenant_id"), r.cstr("timeline_id"), r.mconf(),
                            r.u32("pg_version"), r.u64("system_id"), r.u32("wal_seg_size"))


def _dec_ag(r: _Reader) -> AcceptorGreeting:
    return AcceptorGreeting(r.u64("node_id"), r.mconf(), r.u64("term"))


def _dec_vreq(r: _Reader) -> VoteRequest:
    return VoteRequest(r.u32("generation"), r.u64("term"))


def _dec_vresp(r: _Reader) -> VoteResponse:
    gen, term = r.u32("generation"), r.u64("term")
    given = r.u8("vote_given")
    if given > 1:
        raise ProtocolError(f"VoteResponse.vote_given at offset {r.pos - 1}: expected 0 or 1, "
                            f"found {given}")
    return VoteResponse(gen, term, bool(given), r.u64("flush_lsn"), r.u64("truncate_lsn"), r.th())


def _dec_elected(r: _Reader) -> ProposerElected:
    return ProposerElected(r.u32("generation"), r.u64("term"), r.u64("start_streaming_at"),
                           r.th())


def _dec_areq(r: _Reader) -> AppendRequest:
    gen, term = r.u32("generation"), r.u64("term")
    begin, end = r.u64("begin_lsn"), r.u64("end_lsn")
    commit, trunc = r.u64("commit_lsn"), r.u64("truncate_lsn")
    data = r.rest()
    if end < begin or end - begin != len(data):
        raise ProtocolError(f"AppendRequest: begin_lsn={format_lsn(begin)} end_lsn="
                            f"{format_lsn(end)} but {len(data)} bytes of WAL follow")
    return AppendRequest(gen, term, begin, end, commit, trunc, data)


def _dec_aresp(r: _Reader) -> AppendResponse:
    gen, term = r.u32("generation"), r.u64("term")
    flush, commit = r.u64("flush_lsn"), r.u64("commit_lsn")
    hs = HotStandbyFeedback(r.i64("hs_feedback.ts"), r.u64("hs_feedback.xmin"),
                            r.u64("hs_feedback.catalog_xmin"))
    return AppendResponse(gen, term, flush, commit, hs)


def _dec_repl(r: _Reader) -> StartReplication:
    return StartReplication(r.cstr("tenant_id"), r.cstr("timeline_id"), r.u64("start_lsn"),
                            r.u64("end_lsn"))


def _dec_data(r: _Reader) -> ReplicationData:
    start = r.u64("start_lsn")
    n = r.u32("length")
    return ReplicationData(start, r._take("wal_data", n))


_FROM_PROPOSER = {b"g"[0]: ("ProposerGreeting", _dec_pg), b"v"[0]: ("VoteRequest", _dec_vreq),
                  b"e"[0]: ("ProposerElected", _dec_elected),
                  b"a"[0]: ("AppendRequest", _dec_areq),
                  b"r"[0]: ("StartReplication", _dec_repl)}
_FROM_ACCEPTOR = {b"g"[0]: ("AcceptorGreeting", _dec_ag), b"v"[0]: ("VoteResponse", _dec_vresp),
                  b"a"[0]: ("AppendResponse", _dec_aresp),
                  b"d"[0]: ("ReplicationData", _dec_data)}


def _decode(data: bytes, table: dict, direction: str) -> Any:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError(f"{direction} message: expected bytes, found {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ProtocolError(f"{direction} message at offset 0: expected a tag byte, found nothing")
    entry = table.get(data[0])
    if entry is None:
        known = ", ".join(repr(chr(t)) for t in sorted(table))
        raise ProtocolError(f"{direction} message at offset 0: unknown tag {data[0]:#04x} "
                            f"(expected one of {known})")
    name, dec = entry
    r = _Reader(data, name)
    msg = dec(r)
    r.done()
    return msg


def decode_proposer_message(data: bytes) -> Any:
    """Decode what a walproposer sends (what a safekeeper receives)."""
    return _decode(data, _FROM_PROPOSER, "proposer")


def decode_acceptor_message(data: bytes) -> Any:
    """Decode what a safekeeper sends (what a walproposer receives)."""
    return _decode(data, _FROM_ACCEPTOR, "acceptor")
