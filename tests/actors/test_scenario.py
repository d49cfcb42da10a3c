"""End-to-end runs in the spirit of the original's simple, misc and random tests."""

from __future__ import annotations

import time

import pytest

from actors.compute import INITDB_LSN
from actors.mutants import UnknownMutant, parse_mutants
from actors.scenario import (
    WalproposerRun,
    WalproposerScenario,
    generate_network_opts,
    generate_schedule,
)
from actors.walstore import WalFiles
from modelcheck.network import Delay, NetworkOptions
from pgwal.decoder import decode_buffer
from properties.core import Outcome

CALM = NetworkOptions(2000, Delay(1, 5), Delay(1, 5))  # the original's TestConfig defaults


def _run(acceptors: int = 3, seed: int = 1337) -> WalproposerRun:
    return WalproposerRun(seed, acceptors=acceptors, network=CALM, schedule=[])


def _ok(run: WalproposerRun) -> None:
    assert not run.observer.violations, run.observer.violations[0].describe()


def _max_commit(run: WalproposerRun) -> int:
    return run.observer.max_commit_lsn


def test_sync_empty_safekeepers_twice():
    run = _run()
    assert run.sync_safekeepers() == 0
    assert run.sync_safekeepers() == 0
    _ok(run)


def test_walproposer_streams_100_transactions():
    run = _run()
    run.launch_walproposer(run.sync_safekeepers())
    run.poll(30)
    for _ in range(100):
        run.write_tx(1)
        run.poll(5)
    run.poll(1000)
    _ok(run)
    assert run.skipped_writes == 0
    assert _max_commit(run) == run.observer.last_written_lsn > INITDB_LSN
    assert run.validate() is None


@pytest.mark.parametrize("who", ["sk0", "sk1", "sk2", "wp"])
def test_crash_and_restart_mid_stream(who):
    run = _run()
    run.launch_walproposer(run.sync_safekeepers())
    run.poll(30)
    for i in range(40):
        run.write_tx(3)
        run.poll(3)
        if i == 20:
            if who == "wp":
                lsn = run.sync_safekeepers()
                assert lsn is not None
                run.launch_walproposer(lsn)
            else:
                run.world.restart(run.sks[int(who[2:])])
    run.poll(3000)
    _ok(run)
    assert _max_commit(run) == run.observer.last_written_lsn
    assert run.validate() is None


def test_safekeeper_that_was_down_catches_up():
    run = _run()
    run.launch_walproposer(run.sync_safekeepers())
    run.poll(30)
    sk2 = run.sks[2]
    run.world.crash(sk2)
    run.observer.node_down(sk2)
    for _ in range(30):
        run.write_tx(2)
        run.poll(5)
    run.poll(500)
    assert _max_commit(run) == run.observer.last_written_lsn  # 2 of 3 commit
    behind = run.observer.acceptor_raw(sk2.nid).flush_lsn
    assert behind < run.observer.last_written_lsn
    run.world.restart(sk2)
    run.poll(3000)  # the proposer reconnects within a reconnect round
    assert sk2.actor.view().flush_lsn == run.observer.last_written_lsn
    _ok(run)
    assert run.validate() is None


def test_sync_after_writes_returns_the_committed_lsn():
    run = _run()
    run.launch_walproposer(run.sync_safekeepers())
    run.poll(30)
    for _ in range(10):
        run.write_tx(3)
        run.poll(10)
    run.poll(500)
    committed = _max_commit(run)
    assert committed == run.observer.last_written_lsn
    assert run.sync_safekeepers() == committed
    _ok(run)


def test_five_safekeepers_with_restarts():
    run = _run(acceptors=5)
    run.launch_walproposer(run.sync_safekeepers())
    run.poll(30)
    for i in range(30):
        run.write_tx(2)
        run.poll(7)
        if i % 6 == 0:
            run.world.restart(run.sks[i % 5])
    run.poll(3000)
    assert run.sync_safekeepers() == run.observer.last_written_lsn
    _ok(run)
    assert run.validate() is None


def test_wal_held_by_safekeepers_decodes_with_pgwal():
    run = _run()
    run.launch_walproposer(run.sync_safekeepers())
    run.poll(30)
    for _ in range(20):
        run.write_tx(4)
        run.poll(4)
    run.poll(500)
    end = run.observer.last_written_lsn
    images = []
    for sk in run.sks:
        data = WalFiles(sk.disk, run.segment_size).read(INITDB_LSN, end)
        records, stop = decode_buffer(data, INITDB_LSN, version=15,
                                      segment_size=run.segment_size)
        assert stop.lsn == end and stop.error is None
        assert sum(1 for r in records if r.rmid == 10) == 80  # heap inserts
        assert sum(1 for r in records if r.rmid == 1) == 80  # commits
        images.append(data)
    assert images[0] == images[1] == images[2]


def test_generators_are_stable_and_shaped_like_the_original():
    assert generate_schedule(7) == generate_schedule(7)
    assert generate_network_opts(7) == generate_network_opts(7)
    for seed in range(200):
        opts = generate_network_opts(seed)
        assert 100 <= opts.keepalive_timeout < 2000
        assert 1 <= opts.send_delay.min <= opts.send_delay.max < 2 * opts.keepalive_timeout
        assert opts.send_delay.fail_prob <= opts.connect_delay.fail_prob < 0.9
        sched = generate_schedule(seed)
        assert 1 <= len(sched) < 100
        times = [t for t, _ in sched]
        assert times == sorted(times)
        assert all(b - a < 500 for a, b in zip([0, *times], times, strict=False))


def test_same_seed_same_log_digest_and_wire_gives_same_outcome():
    sc = WalproposerScenario()
    for seed in (3, 11):
        a, b = sc.run_seed(seed), sc.run_seed(seed)
        assert a.log_digest == b.log_digest and a.events == b.events
        w = sc.run_seed(seed, wire=True)
        assert (w.outcome, w.property, w.steps, w.virtual_ms) == (a.outcome, a.property,
                                                                  a.steps, a.virtual_ms)


def test_unknown_mutant_lists_known_ones():
    with pytest.raises(UnknownMutant, match="known: accept-stale-append"):
        WalproposerScenario().run_seed(1, mutant="nope")
    assert parse_mutants("bad-quorum") == frozenset({"bad-quorum"})


def test_bad_quorum_mutant_is_caught():
    sc = WalproposerScenario()
    found = [r for r in (sc.run_seed(s, mutant="bad-quorum") for s in range(60)) if r.outcome]
    assert found, "bad-quorum survived 60 seeds"
    assert found[0].outcome in (Outcome.SAFETY, Outcome.CRASH, Outcome.LIVENESS)


@pytest.mark.slow
def test_random_seeds_1000():
    sc = WalproposerScenario()
    t0 = time.perf_counter()
    failures = []
    for seed in range(1000):
        r = sc.run_seed(seed)
        if r.outcome:
            failures.append((seed, r.property, r.message))
    assert not failures, failures[:3]
    assert time.perf_counter() - t0 < 150
