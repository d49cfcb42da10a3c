"""The walproposer scenario: safekeepers, a walproposer and its compute under a seeded schedule.

A seed draws the network options (as the original's ``generate_network_opts``)
and a schedule (as ``generate_schedule``, plus partitions and heals), each
from its own sub-stream of the seed. A run then has three parts:

1. **safety phase** (PROTOCOL.md 2.5): a sync-safekeepers walproposer starts at
   t=0; when it finishes with an LSN a normal walproposer starts there (0/0 is
   the initdb LSN 0/149F0F0). Each launch is a fresh node, as in the original:
   a proposer incarnation is then one node id in the history, and nothing of a
   dead incarnation (its inbox, its half-open connections) can reach the next.
   A normal walproposer that exits stays dead until the next
   ``RestartWalProposer``; a failed sync run is relaunched. ``WriteTx`` runs only
   while a normal walproposer is up.
2. **liveness phase**: faults off (no connect/send failures, delays capped at a
   quarter of the keepalive, partitions healed, every node up); one more
   transaction is written; the commit LSN must reach the last written LSN
   within :data:`LIVENESS_WITHIN_MS` (the ``commit_progress`` property). A
   normal walproposer that dies here is replaced (an operator restarting
   the compute).
3. **final checks**: a sync-safekeepers run must return an LSN at least the
   highest commit LSN ever reported; every safekeeper's WAL must decode with
   pgwal to its flush LSN; the committed WAL must be byte-identical on a quorum
   and equal to what each proposer committed.

Every property of :func:`properties.consensus.consensus_properties` is checked
after every actor step, in every part (see :mod:`actors.observer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.compute import INITDB_LSN, Compute, Latch, RecordIndex
from actors.mutants import NONE, Mutants, parse_mutants, quorum
from actors.observer import Observer
from actors.safekeeper import Safekeeper, SafekeeperConfig
from actors.walproposer import WalProposer, WalProposerConfig
from actors.walstore import WalFiles
from modelcheck.choice import SeededChooser
from modelcheck.errors import TaskFailed
from modelcheck.network import Delay, Endpoint, NetworkOptions
from modelcheck.sim import SeedResult
from modelcheck.world import Node, World
from pgwal.decoder import decode_buffer
from pgwal.lsn import format_lsn
from properties.consensus import commit_progress, consensus_properties
from properties.core import Checker, Outcome

__all__ = [
    "Heal", "Partition", "RestartSafekeeper", "RestartWalProposer", "WalproposerRun",
    "WalproposerScenario", "WriteTx", "generate_network_opts", "generate_schedule",
]

LIVENESS_WITHIN_MS = 30_000
"""Virtual time the liveness phase allows. Worst case with faults off: a broken
connection is noticed after the 5 s connection timeout and redialled within 1 s;
then two elections (sync-safekeepers, then the normal walproposer), each about
8 one-way messages of at most keepalive/4 <= 500 ms, plus a possible restart
after an expected FATAL: about 20 s. 30 s leaves margin; measured figures are in
the report."""
FINAL_SYNC_WITHIN_MS = 30_000
SYSTEM_ID = 7_000_000_000_000_000_001
SCENARIO_SEGMENT_SIZE = 1024 * 1024
"""WAL segment size of campaign runs (``initdb --wal-segsize=1``). The safekeeper's own
default is PostgreSQL's 16 MiB; the simulated disk stores a sparse file densely, so the
first write at 0/149F0F0 would allocate the 4.6 MiB head of a 16 MiB segment on every
safekeeper of every seed (a third of a seed's time, measured with cProfile)."""
WAL_BASE_LSN = INITDB_LSN & ~8191  # every proposer's WAL file starts at the initdb page


@dataclass(frozen=True, slots=True)
class WriteTx:
    n: int


@dataclass(frozen=True, slots=True)
class RestartSafekeeper:
    i: int


@dataclass(frozen=True, slots=True)
class RestartWalProposer:
    pass


@dataclass(frozen=True, slots=True)
class Partition:
    """Cut ``a`` from ``b``; members are ``"sk<i>"`` or ``"wp"`` (whichever proposer is up)."""

    a: tuple[str, ...]
    b: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Heal:
    pass


Action = WriteTx | RestartSafekeeper | RestartWalProposer | Partition | Heal
Schedule = list[tuple[int, Action]]


def generate_network_opts(seed: int) -> NetworkOptions:
    """Network options drawn as the original's ``generate_network_opts`` (PROTOCOL.md 1.4)."""
    c = SeededChooser(seed).derive("network")
    keepalive = 100 + c.below(1900)  # U[100, 2000)
    max_d = 1 + c.below(2 * keepalive - 1)  # U[1, 2T)
    min_d = c.uniform(1, max_d)  # U[1, max_d]
    maxfp = c.unit_float() * 0.9
    cfp = c.unit_float() * maxfp
    sfp = c.unit_float() * cfp
    return NetworkOptions(keepalive, Delay(min_d, max_d, cfp), Delay(min_d, max_d, sfp))


def calm_network(opts: NetworkOptions) -> NetworkOptions:
    """The liveness phase's network: no failures, delays capped at keepalive/4."""
    cap = max(1, (opts.keepalive_timeout or 2000) // 4)
    d = Delay(min(opts.send_delay.min, cap), min(opts.send_delay.max, cap), 0.0)
    return NetworkOptions(opts.keepalive_timeout, d, d)


def generate_schedule(seed: int, acceptors: int = 3) -> Schedule:
    """The original's ``generate_schedule`` shape plus partitions and heals (10 %)."""
    c = SeededChooser(seed).derive("schedule")
    members = [f"sk{i}" for i in range(acceptors)] + ["wp"]
    out: Schedule = []
    t = 0
    for _ in range(1 + c.below(99)):  # U[1, 100)
        t += c.below(500)
        k = c.below(20)
        action: Action
        if k == 0:
            mask = 1 + c.below((1 << len(members)) - 2)
            a = tuple(m for j, m in enumerate(members) if mask >> j & 1)
            action = Partition(a, tuple(m for m in members if m not in a))
        elif k == 1:
            action = Heal()
        else:
            kind = (k - 2) % 3
            if kind == 0:
                action = WriteTx(1 + c.below(9))
            elif kind == 1:
                action = RestartSafekeeper(c.below(acceptors))
            else:
                action = RestartWalProposer()
        out.append((t, action))
    return out


class WalproposerRun:
    """One seeded run; :meth:`run` plays it and returns a :class:`SeedResult`."""

    def __init__(self, seed: int, *, acceptors: int = 3, mutants: Mutants = NONE,
                 wire: bool = False, keep_log: bool = False,
                 network: NetworkOptions | None = None, schedule: Schedule | None = None,
                 segment_size: int = SCENARIO_SEGMENT_SIZE, check: bool = True,
                 recorder: Any = None) -> None:
        self.seed = seed
        self.mutants = mutants
        self.wire = wire
        self.keep_log = keep_log
        self.segment_size = segment_size
        self.network = network if network is not None else generate_network_opts(seed)
        self.schedule = schedule if schedule is not None else generate_schedule(seed, acceptors)
        chooser = recorder.chooser(seed) if recorder is not None else None
        self.world = World(seed, network=self.network, chooser=chooser)
        self.sks: list[Node] = [
            self.world.add_actor(self._sk_factory(i), f"sk{i}") for i in range(acceptors)]
        self.quorum = quorum(acceptors, mutants)
        props = consensus_properties(liveness_within_ms=LIVENESS_WITHIN_MS)
        self.checker = Checker(props) if check else None
        self.observer = Observer(self.world, [n.nid for n in self.sks], acceptors // 2 + 1,
                                 segment_size, self.checker)
        if recorder is not None:
            recorder.attach(self.world)
        self.index = RecordIndex()
        self.wp: Node | None = None
        self.wp_sync = True
        self.compute: Compute | None = None
        self.partitions: list[Partition] = []
        self.liveness = False
        self.auto_launch = True  # as run_schedule: a finished sync launches a normal proposer
        self.liveness_written = False
        self.liveness_start = 0
        self.sync_results: list[str] = []
        self.skipped_writes = 0
        self.failure: tuple[int, str, str] | None = None  # outcome, property, message
        self.facts: dict[str, Any] = {}

    # -- nodes ------------------------------------------------------------------------------

    def _sk_factory(self, i: int):
        cfg = SafekeeperConfig(node_id=i, segment_size=self.segment_size, wire=self.wire,
                               mutants=self.mutants)
        return lambda nid: Safekeeper(cfg)

    def _launch(self, sync: bool, lsn: int = 0) -> None:
        if self.wp is not None and self.wp.alive:
            self.world.crash(self.wp)
            self.observer.node_down(self.wp)
        cfg = WalProposerConfig(tuple(n.nid for n in self.sks), sync, lsn, WAL_BASE_LSN,
                                self.segment_size, SYSTEM_ID, wire=self.wire,
                                mutants=self.mutants)
        self.wp_sync = sync
        self.compute = None
        if not sync:
            self.compute = Compute(lsn, self._prev_record(lsn), self.index,
                                   segment_size=self.segment_size, system_id=SYSTEM_ID)
            self.observer.written(lsn)
        self.wp = self.world.add_actor(lambda nid: WalProposer(cfg), f"wp{len(self.world.nodes)}")
        self.observer.proposer_launched(self.wp)
        if not self.wp_sync and self.liveness and not self.liveness_written:
            self._liveness_write()
        self._apply_partitions()

    def _prev_record(self, lsn: int) -> int:
        """Start of the record ending at ``lsn``, checked against a safekeeper's WAL."""
        if lsn == INITDB_LSN:
            return 0
        candidates = self.index.candidates(lsn)
        for start in candidates:
            for sk in self.sks:
                raw = self.observer.acceptor_raw(sk.nid)
                if raw is None or raw.flush_lsn < lsn or raw.control.local_start_lsn > start:
                    continue
                data = WalFiles(sk.disk, self.segment_size).read(start, lsn)
                recs, _ = decode_buffer(data, start, version=15, segment_size=self.segment_size)
                if len(recs) == 1 and recs[0].end_lsn == lsn:
                    return start
        return candidates[0] if candidates else 0

    def _wp_exited(self) -> bool:
        return self.wp is not None and self.wp.exit is not None

    def _apply_partitions(self) -> None:
        for p in self.partitions:
            self.world.partition(self._nodes(p.a), self._nodes(p.b))

    def _nodes(self, names: tuple[str, ...]) -> list[int]:
        out = []
        for name in names:
            if name == "wp":
                if self.wp is not None:
                    out.append(self.wp.nid)
            else:
                out.append(self.sks[int(name[2:])].nid)
        return out

    # -- actions ----------------------------------------------------------------------------

    def write_tx(self, n: int) -> None:
        wp = self.wp
        if wp is None or self.wp_sync or not wp.alive or wp.exit is not None:
            self.skipped_writes += 1
            return
        assert self.compute is not None
        start, end = self.compute.write_durably(wp.disk, n, WAL_BASE_LSN)
        self.world.log(wp, "write_wal", start=format_lsn(start), end=format_lsn(end), cnt=n)
        self.observer.written(end)
        wp.inbox.send(("msg", Endpoint(-1, wp.nid, wp.nid, 0), Latch(end), 0))

    def execute(self, action: Action) -> None:
        if isinstance(action, WriteTx):
            self.write_tx(action.n)
        elif isinstance(action, RestartSafekeeper):
            node = self.sks[action.i]
            self.observer.node_down(node)
            self.world.restart(node)
        elif isinstance(action, RestartWalProposer):
            self._launch(sync=True)
        elif isinstance(action, Partition):
            self.partitions.append(action)
            self.world.partition(self._nodes(action.a), self._nodes(action.b))
        else:
            self.partitions.clear()
            self.world.heal()

    # -- running ----------------------------------------------------------------------------

    def _stop(self) -> bool:
        return bool(self.observer.violations) or (self.wp_sync and self._wp_exited())

    def run_until(self, t: int) -> None:
        """Step until virtual time ``t``, relaunching as the original's run_schedule does."""
        world = self.world
        while not self.observer.violations:
            world.run(until_ms=t, stop=self._stop)
            if self.observer.violations:
                return
            if self.wp_sync and self._wp_exited():
                assert self.wp is not None and self.wp.exit is not None
                code, msg = self.wp.exit
                if code != 0:
                    self._launch(sync=True)
                    continue
                self.sync_results.append(msg)
                if not self.auto_launch:
                    self.wp_sync = False  # finished; a test launches what comes next
                    return
                hi, lo = msg.split("/")
                lsn = int(hi, 16) << 32 | int(lo, 16)
                self._launch(sync=False, lsn=lsn or INITDB_LSN)
                continue
            if world.now >= t or world.executor.idle:
                return

    def _liveness_phase(self) -> None:
        self.liveness = True
        self.observer.faults_on = False
        self.world.network.options = calm_network(self.network)
        self.partitions.clear()
        self.world.heal()
        for sk in self.sks:
            if not sk.alive:
                self.world.restart(sk)
        start = self.world.now
        if self.checker is not None:
            self.checker.start_liveness(start)
        self.liveness_start = start
        if self.wp is None or self._wp_exited():
            self._launch(sync=True)
        elif not self.wp_sync:
            self._liveness_write()
        deadline = start + LIVENESS_WITHIN_MS
        reached = None
        while self.world.now < deadline and not self.observer.violations:
            self.run_until(min(deadline, self.world.now + 200))
            if not self.wp_sync and self._wp_exited():
                self._launch(sync=True)
            if self.liveness_written and commit_progress(self.observer.view()) is True:
                reached = self.world.now - start
                break
        self.facts["liveness_ms"] = reached
        if self.checker is not None and not self.observer.violations:
            new = self.checker.finish(self.observer.view(), self.world.now)
            self.observer.violations.extend(new)

    def sync_safekeepers(self, within_ms: int = 10_000) -> int | None:
        """Launch sync-safekeepers and run until it returns; its LSN (None on timeout).

        Unlike a schedule run, nothing is launched after it (see :meth:`launch_walproposer`).
        """
        self.auto_launch = False
        self._launch(sync=True)
        results = len(self.sync_results)
        deadline = self.world.now + within_ms
        while self.world.now < deadline and not self.observer.violations:
            self.run_until(min(deadline, self.world.now + 50))
            if len(self.sync_results) > results:
                hi, lo = self.sync_results[-1].split("/")
                return int(hi, 16) << 32 | int(lo, 16)
        return None

    def launch_walproposer(self, lsn: int) -> None:
        """Start a normal walproposer and its compute at ``lsn`` (0: the initdb LSN)."""
        self._launch(sync=False, lsn=lsn or INITDB_LSN)

    def poll(self, ms: int) -> None:
        """Run for ``ms`` more virtual milliseconds."""
        self.run_until(self.world.now + ms)

    def _liveness_write(self) -> None:
        """The liveness phase's transaction; the commit LSN must reach its end.

        The ``eventually`` deadline keeps counting from the start of the phase, but
        what was reached before this write no longer counts.
        """
        self.write_tx(1)
        self.liveness_written = True
        if self.checker is not None:
            self.checker.start_liveness(self.liveness_start)

    def _final_sync(self) -> None:
        self._launch(sync=True)
        deadline = self.world.now + FINAL_SYNC_WITHIN_MS
        results = len(self.sync_results)
        while self.world.now < deadline and not self.observer.violations:
            self.run_until(min(deadline, self.world.now + 200))
            if len(self.sync_results) > results:
                break
        if self.observer.violations:
            return
        if len(self.sync_results) == results:
            self.failure = (Outcome.LIVENESS, "final_sync",
                            f"sync-safekeepers did not finish within {FINAL_SYNC_WITHIN_MS} ms")
            return
        hi, lo = self.sync_results[-1].split("/")
        lsn = int(hi, 16) << 32 | int(lo, 16)
        self.facts["final_sync_lsn"] = self.sync_results[-1]
        best = self.observer.max_commit_lsn
        if lsn < best:
            self.failure = (Outcome.SAFETY, "final_sync",
                            f"sync-safekeepers returned {format_lsn(lsn)}, below the highest "
                            f"commit LSN ever reported {format_lsn(best)}")

    def validate(self) -> str | None:
        """The final-state checks; a message for the first that fails, else None."""
        seg = self.segment_size
        held: list[tuple[int, bytes]] = []
        best = self.observer.max_commit_lsn
        for sk in self.sks:
            raw = sk.actor.view() if sk.actor is not None else self.observer.acceptor_raw(sk.nid)
            if raw is None or not raw.control.local_start_lsn:
                continue
            start, flush = raw.control.local_start_lsn, raw.flush_lsn
            wal = WalFiles(sk.disk, seg)
            data = wal.read(start, flush)
            _, end = decode_buffer(data, start, version=15, segment_size=seg)
            if end.lsn != flush or end.error is not None:
                return (f"safekeeper {sk.nid}: WAL from {format_lsn(start)} decodes only to "
                        f"{format_lsn(end.lsn)}, flush_lsn is {format_lsn(flush)}: {end.reason}")
            if best and flush >= best and start <= INITDB_LSN:
                held.append((sk.nid, data[: best - start]))
        if not best:
            return None
        groups: dict[bytes, list[int]] = {}
        for nid, data in held:
            groups.setdefault(data, []).append(nid)
        agreed, holders = max(groups.items(), key=lambda kv: len(kv[1]), default=(b"", []))
        if len(holders) < self.quorum:
            return (f"committed WAL up to {format_lsn(best)} is identical on safekeepers "
                    f"{holders} only; quorum is {self.quorum}")
        for c in self.observer.commits:
            if c.data and agreed[c.base_lsn - INITDB_LSN:c.lsn - INITDB_LSN] != c.data:
                return (f"commit of proposer {c.proposer} (term {c.term}) at {format_lsn(c.lsn)} "
                        f"differs from the WAL a quorum holds")
        return None

    def run(self) -> SeedResult:
        try:
            self._launch(sync=True)
            for t, action in self.schedule:
                self.run_until(t)
                if self.observer.violations:
                    break
                self.execute(action)
            if not self.observer.violations:
                self._liveness_phase()
            if not self.observer.violations:
                self._final_sync()
            if not self.observer.violations and self.failure is None:
                msg = self.validate()
                if msg:
                    self.failure = (Outcome.SAFETY, "final_state", msg)
        except TaskFailed as exc:
            self.failure = (Outcome.CRASH, "crash", str(exc))
        return self._result()

    def _result(self) -> SeedResult:
        outcome, prop, message = int(Outcome.OK), None, ""
        if self.observer.violations:
            v = self.observer.violations[0]
            outcome, prop, message = int(v.outcome), v.property, v.describe()
            self.facts["violation"] = v.to_dict()
        elif self.failure is not None:
            outcome, prop, message = int(self.failure[0]), self.failure[1], self.failure[2]
        w = self.world
        self.facts.update(
            network=self.network.to_dict(), schedule_actions=len(self.schedule),
            elections=len(self.observer.elections), commits=len(self.observer.commits),
            max_commit_lsn=format_lsn(self.observer.max_commit_lsn),
            last_written_lsn=format_lsn(self.observer.last_written_lsn),
            skipped_writes=self.skipped_writes, proposers=len(self.observer.proposer_restarts),
            truncations=len(self.observer.truncations))
        return SeedResult(self.seed, outcome, prop, message, len(w.events or ()),
                          self.observer.steps, w.now, w.log_digest(),
                          w.log_lines() if self.keep_log else None, self.facts)


class WalproposerScenario:
    """The campaign entry point (``modelcheck.scenarios``: ``walproposer``)."""

    name = "walproposer"
    hunt_target = "actors.mutants:HUNT_TARGET"  # mutants, machine, models (modelcheck.hunt)

    def run_seed(self, seed: int, *, mutant: str | None = None, acceptors: int = 3,
                 keep_log: bool = False, wire: bool = False,
                 recorder: Any = None) -> SeedResult:
        return WalproposerRun(seed, acceptors=acceptors, mutants=parse_mutants(mutant),
                              wire=wire, keep_log=keep_log, recorder=recorder).run()

    def minimize_adapter(self, trace: Any) -> Any:
        """The action-level replay ``modelcheck minimize`` uses (:mod:`actors.minimize_wal`)."""
        from actors.minimize_wal import WalAdapter

        return WalAdapter(trace)
