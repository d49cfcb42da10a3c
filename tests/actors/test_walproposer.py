"""The walproposer: its decisions alone (fake host), then whole runs of the roles crashing.

The first group drives :class:`actors.walproposer.WalProposer` directly with
hand-made safekeeper replies and checks the rules of PROTOCOL.md 3.6-3.9: a
quorum of greetings before campaigning with the highest term + 1, the donor
chosen by (last log term, flush LSN), the Raft commit rule (nothing counts
below the term start LSN), the higher-term exit and sync-safekeepers on empty
safekeepers. The second group complements ``test_scenario.py`` (which restarts
a role in place) with crashes that last: the node stays down while the
compute keeps writing, then comes back, for every role and with 5 safekeepers;
partitions and heals; 16 MiB segments; and the liveness phase failing a run
whose commit misses its bound.
"""

from __future__ import annotations

import pytest

from actors.compute import INITDB_LSN
from actors.messages import (
    AcceptorGreeting,
    AppendRequest,
    AppendResponse,
    MembershipConfiguration,
    ProposerElected,
    ProposerGreeting,
    StartReplication,
    VoteRequest,
    VoteResponse,
)
from actors.scenario import Heal, Partition, WalproposerRun
from actors.walproposer import FATAL_HIGHER_TERM, WalProposer, WalProposerConfig
from modelcheck.actor import Context
from modelcheck.disk import Disk
from modelcheck.network import Delay, Endpoint, NetworkOptions

SEG = 1 << 20
SKS = (1, 2, 3)
CALM = NetworkOptions(2000, Delay(1, 5), Delay(1, 5))
MCONF = MembershipConfiguration(0)


class _Host:
    """Connections get ids 100, 101, ...; ``ctx.random`` draws 99 (no failed connect)."""

    def __init__(self) -> None:
        self.next_conn = 100

    def open_connection(self, node: int, dst: int) -> Endpoint:
        self.next_conn += 1
        return Endpoint(self.next_conn, node, dst, 0)

    def choose(self, n: int) -> int:
        return n - 1


class _Proposer:
    """A WalProposer on node 9 with a fake host; ``deliver`` returns what it sent."""

    def __init__(self, sync: bool = False, redo: int = INITDB_LSN, sks: tuple = SKS) -> None:
        self.host, self.disk = _Host(), Disk()
        self.now = 0
        self.wp = WalProposer(WalProposerConfig(sks, sync, redo, 0, SEG, 7))
        ctx = self._ctx()
        self.wp.on_start(ctx)
        self.eps = {e[1].peer: e[1] for e in ctx.effects if e[0] == "connect"}
        self.exit: tuple | None = None

    def _ctx(self) -> Context:
        return Context(9, self.now, self.disk, self.host)

    def deliver(self, sk: int, msg: object) -> list[tuple]:
        ctx = self._ctx()
        self.wp.on_message(ctx, self.eps[sk], msg)  # replies arrive on the proposer's own end
        for e in ctx.effects:
            if e[0] == "exit":
                self.exit = e[1:]
        return ctx.effects

    @staticmethod
    def sent(effects: list[tuple], kind: type) -> list:
        return [e[2] for e in effects if e[0] == "send" and isinstance(e[2], kind)]


def _vote(term: int, flush: int, history: tuple, truncate: int = 0) -> VoteResponse:
    return VoteResponse(0, term, True, flush, truncate, history)


def test_greeted_by_all_safekeepers_at_start():
    p = _Proposer()
    assert sorted(p.eps) == list(SKS)
    assert p.wp.view().state == "collecting"


def test_campaign_needs_a_quorum_of_greetings_and_uses_the_highest_term_plus_one():
    p = _Proposer()
    assert not p.sent(p.deliver(1, AcceptorGreeting(1, MCONF, 4)), VoteRequest)
    assert p.wp.view().state == "collecting"  # one of three is not a quorum
    effects = p.deliver(2, AcceptorGreeting(2, MCONF, 2))
    assert p.wp.view().state == "campaign" and p.wp.view().term == 5
    assert [v.term for v in p.sent(effects, VoteRequest)] == [5, 5]  # both greeted ones
    # a late greeting with a lower term is asked for its vote as well
    assert [v.term for v in p.sent(p.deliver(3, AcceptorGreeting(3, MCONF, 0)), VoteRequest)] \
        == [5]


def _elect(p: _Proposer, votes: dict[int, VoteResponse]) -> list[tuple]:
    """Greet from every safekeeper in ``votes`` (with its vote's term), then deliver the votes."""
    for sk, vote in votes.items():
        p.deliver(sk, AcceptorGreeting(sk, MCONF, vote.term))
    effects: list[tuple] = []
    for sk, vote in votes.items():
        effects += p.deliver(sk, vote)
    return effects


def test_donor_is_the_highest_last_log_term_not_the_longest_log():
    lo, hi = INITDB_LSN + 0x1000, INITDB_LSN + 0x9000
    old_long = _vote(2, hi, ((1, INITDB_LSN),))  # longer WAL, but all of term 1
    new_short = _vote(2, lo, ((1, INITDB_LSN), (2, lo - 0x100)))  # ends in term 2
    p = _Proposer(redo=lo)
    effects = _elect(p, {1: old_long, 2: new_short})
    view = p.wp.view()
    assert view.state == "elected" and view.term == 3
    assert view.term_start_lsn == lo  # the donor's flush LSN: safekeeper 2's
    assert view.term_history == ((1, INITDB_LSN), (2, lo - 0x100), (3, lo))
    # the voters' truncate LSN (0) is below the term start: the donor (safekeeper 2) is asked
    # for [truncate, start) on a new connection before anything is streamed
    (req,) = p.sent(effects, StartReplication)
    (conn,) = [e[1] for e in effects if e[0] == "connect"]
    assert (req.start_lsn, req.end_lsn, conn.peer) == (0, lo, 2)
    assert not p.sent(effects, ProposerElected) and not p.sent(effects, AppendRequest)


def test_donor_ties_on_last_log_term_go_to_the_longer_log():
    a, b = INITDB_LSN + 0x2000, INITDB_LSN + 0x3000
    p = _Proposer(redo=b)
    _elect(p, {1: _vote(1, a, ((1, INITDB_LSN),), truncate=a),
               2: _vote(1, b, ((1, INITDB_LSN),), truncate=a)})
    assert p.wp.view().term_start_lsn == b


def _elected_without_download(p: _Proposer, start: int) -> list[tuple]:
    """Elect with every voter at ``start`` (truncate = start: nothing to download)."""
    th = ((1, INITDB_LSN),)
    return _elect(p, {sk: _vote(1, start, th, truncate=start) for sk in SKS})


def test_elected_message_and_appends_follow_the_election():
    start = INITDB_LSN
    p = _Proposer(redo=start)
    effects = _elected_without_download(p, start)
    elected = p.sent(effects, ProposerElected)
    assert len(elected) == 3  # the quorum that elected it, then the late voter
    assert {(m.term, m.start_streaming_at) for m in elected} == {(2, start)}
    assert elected[0].term_history == ((1, INITDB_LSN), (2, start))
    appends = p.sent(effects, AppendRequest)
    assert len(appends) == 3 and {(a.term, a.begin_lsn) for a in appends} == {(2, start)}


def test_commit_lsn_counts_only_flushes_at_or_above_the_term_start():
    start = INITDB_LSN + 0x4000
    p = _Proposer(redo=start)
    _elected_without_download(p, start)
    term = p.wp.view().term
    # two safekeepers acknowledge WAL below the term start: not a commit (Raft figure 8)
    p.deliver(1, AppendResponse(0, term, start - 8, 0))
    p.deliver(2, AppendResponse(0, term, start - 8, 0))
    assert p.wp.view().commit_lsn == 0
    p.deliver(1, AppendResponse(0, term, start + 0x100, 0))
    assert p.wp.view().commit_lsn == 0  # one of three is not a quorum
    p.deliver(2, AppendResponse(0, term, start + 0x80, 0))
    assert p.wp.view().commit_lsn == start + 0x80  # the 2nd highest of the quorum
    p.deliver(3, AppendResponse(0, term, start + 0x200, 0))
    assert p.wp.view().commit_lsn == start + 0x100


def test_a_higher_term_in_an_append_response_ends_the_proposer():
    start = INITDB_LSN
    p = _Proposer(redo=start)
    _elected_without_download(p, start)
    term = p.wp.view().term
    p.deliver(2, AppendResponse(0, term + 3, start, 0))
    assert p.exit is not None and p.exit[0] == 1 and FATAL_HIGHER_TERM in p.exit[1]
    assert p.wp.view().state == "exited"


def test_sync_mode_on_empty_safekeepers_returns_0_0():
    p = _Proposer(sync=True, redo=0)
    _elect(p, {sk: _vote(0, 0, ()) for sk in (1, 2)})
    assert p.exit == (0, "0/0")


def test_greeting_is_the_first_message_on_every_connection():
    host, ctx = _Host(), None
    wp = WalProposer(WalProposerConfig(SKS, False, INITDB_LSN, 0, SEG, 7))
    ctx = Context(9, 0, Disk(), host)
    wp.on_start(ctx)
    order = [e[0] for e in ctx.effects if e[0] in ("connect", "send")]
    assert order == ["connect", "send"] * 3
    assert all(isinstance(e[2], ProposerGreeting) and e[2].wal_seg_size == SEG
               for e in ctx.effects if e[0] == "send")


# --------------------------------------------------------------------------- whole runs


def _streaming(acceptors: int = 3) -> WalproposerRun:
    run = WalproposerRun(4242, acceptors=acceptors, network=CALM, schedule=[])
    run.launch_walproposer(run.sync_safekeepers())
    run.poll(30)
    return run


def _settled(run: WalproposerRun) -> None:
    assert not run.observer.violations, run.observer.violations[0].describe()
    assert run.observer.max_commit_lsn == run.observer.last_written_lsn > INITDB_LSN
    assert run.validate() is None


@pytest.mark.parametrize("who", ["sk0", "sk1", "sk2", "wp"])
def test_crash_stay_down_while_writing_then_restart(who: str) -> None:
    run = _streaming()
    for _ in range(10):
        run.write_tx(2)
        run.poll(5)
    if who == "wp":
        assert run.wp is not None
        run.world.crash(run.wp)
        run.observer.node_down(run.wp)
        for _ in range(5):
            run.write_tx(2)  # no compute: nothing is written
        assert run.skipped_writes == 5
        run.poll(2000)
        run.launch_walproposer(run.sync_safekeepers())
    else:
        node = run.sks[int(who[2:])]
        run.world.crash(node)
        run.observer.node_down(node)
        for _ in range(15):
            run.write_tx(2)
            run.poll(20)  # a quorum of two still commits
        assert run.observer.max_commit_lsn == run.observer.last_written_lsn
        run.poll(1500)
        run.world.restart(node)
    for _ in range(10):
        run.write_tx(2)
        run.poll(5)
    run.poll(3000)
    _settled(run)
    flushes = {sk.actor.view().flush_lsn for sk in run.sks}
    assert flushes == {run.observer.last_written_lsn}  # the crashed one caught up too


def test_five_safekeepers_two_down_commit_then_catch_up() -> None:
    run = _streaming(acceptors=5)
    down = [run.sks[1], run.sks[3]]
    for node in down:
        run.world.crash(node)
        run.observer.node_down(node)
    for _ in range(20):
        run.write_tx(3)
        run.poll(10)
    run.poll(500)
    assert run.observer.max_commit_lsn == run.observer.last_written_lsn  # 3 of 5 commit
    for node in down:
        run.world.restart(node)
    run.poll(3000)
    _settled(run)
    assert {sk.actor.view().flush_lsn for sk in run.sks} == {run.observer.last_written_lsn}
    assert run.sync_safekeepers() == run.observer.last_written_lsn


def test_three_of_five_down_stops_commits_until_one_returns() -> None:
    run = _streaming(acceptors=5)
    for _ in range(5):
        run.write_tx(1)
        run.poll(10)
    run.poll(300)
    before = run.observer.max_commit_lsn
    assert before == run.observer.last_written_lsn
    down = run.sks[:3]
    for node in down:
        run.world.crash(node)
        run.observer.node_down(node)
    for _ in range(5):
        run.write_tx(1)
        run.poll(10)
    run.poll(500)
    assert run.observer.max_commit_lsn == before  # 2 of 5 is no quorum
    run.world.restart(down[0])
    run.poll(3000)
    assert run.observer.max_commit_lsn == run.observer.last_written_lsn > before
    assert not run.observer.violations


def test_postgres_default_16_mib_segments_work_too() -> None:
    """Campaigns use 1 MiB segments for speed; PostgreSQL's default 16 MiB runs the same way."""
    run = WalproposerRun(4242, network=CALM, schedule=[], segment_size=16 << 20)
    run.launch_walproposer(run.sync_safekeepers())
    run.poll(30)
    for i in range(20):
        run.write_tx(3)
        run.poll(5)
        if i == 10:
            run.world.restart(run.sks[0])
    run.poll(3000)
    _settled(run)
    assert {sk.actor.view().flush_lsn for sk in run.sks} == {run.observer.last_written_lsn}
    # the initdb LSN 0/149F0F0 lies in segment 1 of 16 MiB (it would be segment 0x14 of 1 MiB)
    for sk in run.sks:
        assert [n for n in sk.disk.names() if len(n) == 24] == ["000000010000000000000001"]


def test_partition_from_the_quorum_stalls_commits_and_heal_restores_them() -> None:
    run = _streaming()
    for _ in range(5):
        run.write_tx(1)
        run.poll(10)
    run.poll(300)
    before = run.observer.max_commit_lsn
    assert before == run.observer.last_written_lsn
    run.execute(Partition(("wp", "sk0"), ("sk1", "sk2")))  # the proposer keeps one of three
    for _ in range(5):
        run.write_tx(1)
        run.poll(10)
    run.poll(3000)
    assert run.observer.max_commit_lsn == before
    run.execute(Heal())
    run.poll(5000)
    assert run.wp is not None and run.wp.exit is None  # the same proposer reconnected
    _settled(run)


def test_liveness_phase_reports_a_commit_that_misses_its_bound(monkeypatch) -> None:
    """With a bound no run can meet (2 ms), the liveness phase fails the seed as LIVENESS."""
    import actors.scenario as scenario_module
    from properties.core import Outcome

    ok = scenario_module.WalproposerRun(3).run()
    assert ok.outcome == Outcome.OK and ok.facts["liveness_ms"] is not None
    assert 2 < ok.facts["liveness_ms"] <= scenario_module.LIVENESS_WITHIN_MS
    monkeypatch.setattr(scenario_module, "LIVENESS_WITHIN_MS", 2)
    late = scenario_module.WalproposerRun(3).run()
    assert late.outcome == Outcome.LIVENESS and late.property == "commit_progress", late.message
