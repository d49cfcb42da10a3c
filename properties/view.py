"""The observable view of a WAL-consensus world that properties read.

Plain data, built by the driver after each step (``actors`` builds it from
the world; the spec model builds :class:`SpecView`-like data from its state).
Properties never see live objects; the only indirection is
:attr:`AcceptorView.wal`, a function reading the acceptor's WAL bytes, so a
view does not copy megabytes of WAL on every step.

LSNs are plain ints; terms are ints; ``node`` is the world's node id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

TermHistory = tuple[tuple[int, int], ...]  # ((term, start_lsn), ...)


def _no_wal(start: int, end: int) -> bytes:
    return bytes(end - start)


@dataclass(frozen=True, slots=True)
class AcceptorView:
    """A safekeeper as an observer sees it (persisted state unless said otherwise)."""

    node: int
    up: bool
    term: int  # persisted acceptor term
    term_history: TermHistory  # persisted term history (may run past flush_lsn)
    flush_lsn: int  # end of the acceptor's durable WAL
    commit_lsn: int  # persisted commit_lsn (control file)
    truncate_lsn: int  # persisted peer horizon (the proposer's truncate_lsn)
    timeline_start_lsn: int = 0
    # First LSN the acceptor holds (``local_start_lsn``); :attr:`wal` cannot read below it.
    local_start_lsn: int = 0
    wal: Callable[[int, int], bytes] = field(default=_no_wal, compare=False, repr=False)
    # The acceptor's log along its term history: ((term, start_lsn, end_lsn), ...) for the
    # part of the term history up to flush_lsn, computed by the driver.
    log_terms: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ProposerView:
    """A walproposer incarnation."""

    node: int
    up: bool
    sync: bool  # sync-safekeepers mode
    state: str  # "collecting" | "campaign" | "elected" | "exited"
    term: int
    term_start_lsn: int
    commit_lsn: int
    truncate_lsn: int
    flush_lsn: int  # end of the WAL the proposer holds
    term_history: TermHistory = ()


@dataclass(frozen=True, slots=True)
class Election:
    """A proposer became leader of ``term`` (recorded by the observer)."""

    step: int
    time_ms: int
    term: int
    proposer: int
    start_lsn: int


@dataclass(frozen=True, slots=True)
class Vote:
    """An acceptor granted its vote for ``term``."""

    step: int
    time_ms: int
    term: int
    acceptor: int
    proposer: int


@dataclass(frozen=True, slots=True)
class Commit:
    """A proposer's commit LSN advanced to ``lsn`` (``digest`` of the WAL from
    ``base_lsn`` to ``lsn`` as the proposer holds it).

    ``digest`` must be :func:`properties.consensus.wal_digest` of those bytes.
    ``data``, when recorded, is the bytes themselves: with it, commits over
    different but overlapping ranges can be compared byte for byte (the
    committed prefix never changes); without it only commits over the same
    ``(base_lsn, lsn)`` range can be compared. Records are appended in step
    order. See ``docs/properties.md`` for how an observer should pick
    ``base_lsn``.
    """

    step: int
    time_ms: int
    term: int
    proposer: int
    lsn: int
    base_lsn: int
    digest: str
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Truncation:
    """An acceptor cut its WAL at ``lsn`` (dropping ``dropped`` bytes)."""

    step: int
    time_ms: int
    acceptor: int
    term: int
    lsn: int
    dropped: int


@dataclass(frozen=True, slots=True)
class History:
    """What an observer recorded since the start of the run."""

    elections: tuple[Election, ...] = ()
    votes: tuple[Vote, ...] = ()
    commits: tuple[Commit, ...] = ()
    truncations: tuple[Truncation, ...] = ()
    proposer_restarts: tuple[int, ...] = ()  # steps at which a proposer (re)started
    last_written_lsn: int = 0  # end of the WAL written by the compute so far
    # Per acceptor, the highest persisted commit_lsn / term ever observed (across crashes).
    max_acceptor_commit: tuple[tuple[int, int], ...] = ()
    max_acceptor_term: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ConsensusView:
    """Everything properties may look at after one step."""

    step: int
    time_ms: int
    quorum: int
    acceptors: tuple[AcceptorView, ...]
    proposers: tuple[ProposerView, ...]
    history: History
    faults_on: bool = True  # False during the liveness phase
