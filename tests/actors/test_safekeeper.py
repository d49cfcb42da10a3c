"""The safekeeper alone: persistence, voting, truncation, appends, restart recovery."""

from __future__ import annotations

import pytest

from actors.compute import INITDB_LSN, Compute, RecordIndex
from actors.messages import (
    AcceptorGreeting,
    AppendRequest,
    AppendResponse,
    MembershipConfiguration,
    ProposerElected,
    ProposerGreeting,
    VoteRequest,
    VoteResponse,
)
from actors.safekeeper import (
    CONTROL_FILE,
    ControlFile,
    Safekeeper,
    SafekeeperConfig,
    SafekeeperError,
)
from actors.termhistory import TermHistoryError, find_highest_common_point
from modelcheck.actor import Context
from modelcheck.disk import Disk
from modelcheck.network import Endpoint

SEG = 1 << 20
EP = Endpoint(7, 0, 9, 1)


class _Host:
    def open_connection(self, node, dst):  # pragma: no cover - a safekeeper never connects
        raise AssertionError

    def choose(self, n):
        return 0


def _ctx(disk: Disk) -> Context:
    return Context(0, 0, disk, _Host())


def _sent(ctx: Context) -> list:
    return [e[2] for e in ctx.effects if e[0] == "send"]


def _start(disk: Disk) -> Safekeeper:
    sk = Safekeeper(SafekeeperConfig(node_id=0, segment_size=SEG))
    sk.on_start(_ctx(disk))
    ctx = _ctx(disk)
    sk.on_accept(ctx, EP)
    sk.on_message(ctx, EP, ProposerGreeting("t", "l", MembershipConfiguration(0), 150000, 1, SEG))
    assert isinstance(_sent(ctx)[0], AcceptorGreeting)
    return sk


def _wal(n: int) -> tuple[int, bytes]:
    c = Compute(INITDB_LSN, 0, RecordIndex(), segment_size=SEG, system_id=1)
    _, end, data = c.write_tx(n)
    return end, data


def test_vote_is_persisted_before_the_reply_and_survives_a_crash():
    disk = Disk()
    sk = _start(disk)
    ctx = _ctx(disk)
    sk.on_message(ctx, EP, VoteRequest(0, 5))
    (resp,) = _sent(ctx)
    assert isinstance(resp, VoteResponse) and resp.vote_given and resp.term == 5
    disk.crash()
    assert ControlFile.from_bytes(disk.read_all(CONTROL_FILE)).term == 5
    sk2 = _start(disk)
    ctx = _ctx(disk)
    sk2.on_message(ctx, EP, VoteRequest(0, 5))
    assert not _sent(ctx)[0].vote_given  # no second vote in the same term


def test_append_flush_commit_and_restart_recovery():
    disk = Disk()
    sk = _start(disk)
    sk.on_message(_ctx(disk), EP, VoteRequest(0, 1))
    sk.on_message(_ctx(disk), EP, ProposerElected(0, 1, INITDB_LSN, ((1, INITDB_LSN),)))
    end, data = _wal(5)
    ctx = _ctx(disk)
    sk.on_message(ctx, EP, AppendRequest(0, 1, INITDB_LSN, end, 0, 0, data))
    assert _sent(ctx) == [] and ("set_timer", "flush", 0) in ctx.effects
    ctx = _ctx(disk)
    sk.on_timer(ctx, "flush")
    (resp,) = _sent(ctx)
    assert isinstance(resp, AppendResponse) and resp.flush_lsn == end
    ctx = _ctx(disk)
    sk.on_message(ctx, EP, AppendRequest(0, 1, end, end, end, 0, b""))  # heartbeat with commit
    # Not crossing term_start_lsn (== the persisted commit): kept in memory only ...
    assert sk.view().inmem_commit_lsn == end and sk.view().control.commit_lsn == INITDB_LSN
    sk.on_message(_ctx(disk), EP, VoteRequest(0, 2))  # ... until the next persist.
    assert sk.view().control.commit_lsn == end
    disk.crash()
    again = Safekeeper(SafekeeperConfig(node_id=0, segment_size=SEG))
    again.on_start(_ctx(disk))
    assert again.view().flush_lsn == end and again.view().control.term_history == (
        (1, INITDB_LSN),)
    assert again.view().control.term == 2


def test_unflushed_wal_is_lost_and_partial_record_not_written():
    disk = Disk()
    sk = _start(disk)
    sk.on_message(_ctx(disk), EP, VoteRequest(0, 1))
    sk.on_message(_ctx(disk), EP, ProposerElected(0, 1, INITDB_LSN, ((1, INITDB_LSN),)))
    end, data = _wal(3)
    cut = len(data) - 5
    sk.on_message(_ctx(disk), EP, AppendRequest(0, 1, INITDB_LSN, INITDB_LSN + cut, 0, 0,
                                                data[:cut]))
    assert sk.write_lsn == INITDB_LSN + cut and sk.write_record_lsn < INITDB_LSN + cut
    sk.on_timer(_ctx(disk), "flush")
    assert sk.flush_lsn() == sk.write_record_lsn < end


def test_stale_term_append_gets_term_only_reply_and_early_append_is_an_error():
    disk = Disk()
    sk = _start(disk)
    sk.on_message(_ctx(disk), EP, VoteRequest(0, 3))
    ctx = _ctx(disk)
    sk.on_message(ctx, EP, AppendRequest(0, 2, INITDB_LSN, INITDB_LSN, 0, 0, b""))
    assert _sent(ctx) == [AppendResponse(0, 3, 0, 0)]
    with pytest.raises(SafekeeperError, match="before ProposerElected"):
        sk.on_message(_ctx(disk), EP, AppendRequest(0, 4, INITDB_LSN, INITDB_LSN, 0, 0, b""))


def test_elected_truncates_divergent_tail_but_never_committed_data():
    disk = Disk()
    sk = _start(disk)
    sk.on_message(_ctx(disk), EP, VoteRequest(0, 1))
    sk.on_message(_ctx(disk), EP, ProposerElected(0, 1, INITDB_LSN, ((1, INITDB_LSN),)))
    end, data = _wal(4)
    sk.on_message(_ctx(disk), EP, AppendRequest(0, 1, INITDB_LSN, end, 0, 0, data))
    sk.on_timer(_ctx(disk), "flush")
    mid = sk.write_record_lsn
    sk.on_message(_ctx(disk), EP, VoteRequest(0, 2))
    # The common point of these histories is INITDB_LSN, not mid.
    ctx = _ctx(disk)
    with pytest.raises(SafekeeperError, match="unexpected truncation point"):
        sk.on_message(ctx, EP, ProposerElected(0, 2, mid, ((1, INITDB_LSN),
                                                            (2, INITDB_LSN))))
    ctx = _ctx(disk)
    sk.on_message(ctx, EP, ProposerElected(0, 2, mid, ((1, INITDB_LSN), (2, mid))))
    assert sk.write_lsn == mid
    # An append that would rewrite WAL fails its connection (a stale connection of the same
    # proposer can deliver late), not the node: closed, logged, nothing written.
    ctx = _ctx(disk)
    sk.on_message(ctx, EP, AppendRequest(0, 2, INITDB_LSN, INITDB_LSN + 8, 0, 0, data[:8]))
    assert ("close", EP) in ctx.effects and not _sent(ctx)
    assert any(e[0] == "log" and e[1] == "conn_error" and "rewrites WAL" in dict(e[2])["error"]
               for e in ctx.effects)
    assert sk.write_lsn == mid and EP.conn not in sk.conns
    with pytest.raises(SafekeeperError, match="never accepted"):
        sk.on_message(_ctx(disk), EP, AppendRequest(0, 2, mid, mid, 0, 0, b""))


def test_find_highest_common_point_vectors_from_the_original():
    p = ((1, 10), (2, 20), (4, 40))
    assert find_highest_common_point(p, ((1, 10), (2, 20), (3, 30)), 40) == (2, 30)
    assert find_highest_common_point(p, ((1, 10), (2, 20)), 32) == (2, 32)
    assert find_highest_common_point(((1, 10), (2, 20)), ((1, 10), (2, 20)), 32) == (2, 32)
    assert find_highest_common_point(((0, 1),), ((1, 1), (2, 2)), 2) is None
    with pytest.raises(TermHistoryError):
        find_highest_common_point(((1, 10),), ((1, 11),), 20)


def test_corrupt_control_file_is_a_clear_error():
    disk = Disk()
    disk.write(CONTROL_FILE, 0, b"{not json")
    with pytest.raises(SafekeeperError, match="control file"):
        Safekeeper(SafekeeperConfig(node_id=0, segment_size=SEG)).on_start(_ctx(disk))
