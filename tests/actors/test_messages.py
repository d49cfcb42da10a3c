"""Wire round trips of every protocol message, and clear errors on malformed bytes."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors import messages as m

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
text = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
               max_size=12)
th = st.lists(st.tuples(u64, u64), max_size=5).map(tuple)
members = st.lists(st.builds(m.Member, u64, text, st.integers(0, 65535)), max_size=3).map(tuple)
mconf = st.builds(m.MembershipConfiguration, u32, members,
                  st.one_of(st.none(), members.filter(bool)))
wal = st.binary(max_size=300)


@st.composite
def append_requests(draw):
    data = draw(wal)
    begin = draw(st.integers(0, 2**64 - 1 - len(data)))
    return m.AppendRequest(draw(u32), draw(u64), begin, begin + len(data), draw(u64),
                           draw(u64), data)


proposer_msgs = st.one_of(
    st.builds(m.ProposerGreeting, text, text, mconf, u32, u64, u32),
    st.builds(m.VoteRequest, u32, u64),
    st.builds(m.ProposerElected, u32, u64, u64, th),
    append_requests(),
    st.builds(m.StartReplication, text, text, u64, u64),
)
acceptor_msgs = st.one_of(
    st.builds(m.AcceptorGreeting, u64, mconf, u64),
    st.builds(m.VoteResponse, u32, u64, st.booleans(), u64, u64, th),
    st.builds(m.AppendResponse, u32, u64, u64, u64,
              st.builds(m.HotStandbyFeedback, st.integers(-(2**63), 2**63 - 1), u64, u64)),
    st.builds(m.ReplicationData, u64, wal),
)


@given(proposer_msgs)
def test_proposer_messages_round_trip(msg):
    data = m.encode(msg)
    assert data[:1] == m._TAGS[type(msg)]
    assert m.decode_proposer_message(data) == msg


@given(acceptor_msgs)
def test_acceptor_messages_round_trip(msg):
    assert m.decode_acceptor_message(m.encode(msg)) == msg


@given(st.one_of(proposer_msgs, acceptor_msgs), st.data())
def test_truncated_messages_raise_protocol_error(msg, data):
    raw = m.encode(msg)
    decode = (m.decode_proposer_message if type(msg) in
              (m.ProposerGreeting, m.VoteRequest, m.ProposerElected, m.AppendRequest,
               m.StartReplication) else m.decode_acceptor_message)
    cut = data.draw(st.integers(0, len(raw) - 1))
    try:
        got = decode(raw[:cut])
    except m.ProtocolError as exc:
        assert "offset" in str(exc) or "AppendRequest" in str(exc)
    else:  # only an AppendRequest/ReplicationData whose cut still parses could decode
        pytest.fail(f"decoded a truncated message: {got!r}")


@given(st.binary(max_size=64))
def test_random_bytes_never_raise_anything_but_protocol_error(raw):
    for decode in (m.decode_proposer_message, m.decode_acceptor_message):
        with contextlib.suppress(m.ProtocolError):
            decode(raw)


def test_error_messages_say_what_and_where():
    with pytest.raises(m.ProtocolError, match="unknown tag 0x7a"):
        m.decode_proposer_message(b"z")
    with pytest.raises(m.ProtocolError, match="expected a tag byte"):
        m.decode_acceptor_message(b"")
    expected = r"VoteResponse.vote_given at offset 13: expected 0 or 1, found 7"
    with pytest.raises(m.ProtocolError, match=expected):
        m.decode_acceptor_message(b"v" + struct.pack(">IQB", 0, 1, 7) + bytes(20))
    bad = m.encode(m.AppendRequest(0, 1, 100, 104, 0, 0, b"abcd"))[:-1]
    with pytest.raises(m.ProtocolError, match="but 3 bytes of WAL follow"):
        m.decode_proposer_message(bad)
    with pytest.raises(m.ProtocolError, match="trailing bytes"):
        m.decode_proposer_message(m.encode(m.VoteRequest(0, 1)) + b"x")
    with pytest.raises(m.ProtocolError, match=r"VoteRequest.term=-1"):
        m.encode(m.VoteRequest(0, -1))
    with pytest.raises(m.ProtocolError, match="not a protocol message"):
        m.encode("hello")
    with pytest.raises(m.ProtocolError, match="count 1000 needs"):
        m.decode_proposer_message(b"e" + struct.pack(">IQQI", 0, 1, 2, 1000))


def test_log_repr_is_short_and_hides_wal_payload():
    req = m.AppendRequest(0, 3, 0x149F0F0, 0x149F0F0 + 5000, 0x149F0F0, 0, b"x" * 5000)
    text = req.log_repr()
    assert "5000B" in text and "xxxx" not in text and "0/149F0F0" in text
    assert len(text) < 100
