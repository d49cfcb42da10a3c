"""Two-phase commit (Gray and Lamport's ``TwoPhase`` spec) as a user writes a model.

The TLA+ spec: resource managers (RMs) each ``working``, ``prepared``,
``committed`` or ``aborted``; a transaction manager (TM) ``init``,
``committed`` or ``aborted`` that records which RMs said Prepared; and the
set of messages ever sent (messages are never lost or removed). Invariant
``TCConsistent``: no RM has committed while another has aborted.

This file is only a model: plain frozen data, a deterministic action list,
and the predicates; :func:`modelcheck.explore.explore` does the rest::

    python -m examples.two_phase_commit 5          # explore 5 RMs
    modelcheck explore --model two-phase --rms 5   # the same through the CLI

TLC's counts (no symmetry): 288 distinct states for 3 RMs, 296,448 for 7 and
1,745,408 for 8. The RMs are interchangeable, so ``canonical`` sorts them and
reduction by RM permutations is sound (``check_symmetry`` agrees).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from itertools import permutations
from typing import NamedTuple

from modelcheck.errors import InvalidArgument


class State(NamedTuple):
    """One state of the TwoPhase spec."""

    rm: tuple[str, ...]  # rmState[r]
    tm: str  # tmState
    tm_prepared: frozenset[int]  # tmPrepared
    msgs: frozenset[tuple]  # ("Prepared", r), ("Commit",), ("Abort",)


@dataclass(frozen=True)
class Invariant:
    """A named predicate over states (``kind`` is "always" or "sometimes")."""

    name: str
    kind: str
    check: object


COMMIT = ("Commit",)
ABORT = ("Abort",)


class TwoPhaseCommit:
    """The TwoPhase spec with ``n`` resource managers."""

    def __init__(self, n: int = 3) -> None:
        if not isinstance(n, int) or not 1 <= n <= 16:
            raise InvalidArgument(f"rms={n!r}: expected an integer in 1..16")
        self.n = n
        self.name = f"two-phase rms={n}"

    def init_states(self) -> list[State]:
        """``TPInit``: every RM working, the TM in init, no messages."""
        return [State(("working",) * self.n, "init", frozenset(), frozenset())]

    def actions(self, state: State) -> list[tuple]:
        """Next's disjuncts in order: TMCommit, TMAbort, then per RM its five actions."""
        out: list[tuple] = [("TMCommit",), ("TMAbort",)]
        for r in range(self.n):
            out += [
                ("TMRcvPrepared", r),
                ("RMPrepare", r),
                ("RMChooseToAbort", r),
                ("RMRcvCommitMsg", r),
                ("RMRcvAbortMsg", r),
            ]
        return out

    def next_state(self, s: State, action: tuple) -> State | None:  # noqa: C901 (one case per action)
        """The successor by ``action``, or None when it is not enabled."""
        kind = action[0]
        if kind == "TMCommit":
            if s.tm == "init" and len(s.tm_prepared) == self.n:
                return s._replace(tm="committed", msgs=s.msgs | {COMMIT})
            return None
        if kind == "TMAbort":
            return s._replace(tm="aborted", msgs=s.msgs | {ABORT}) if s.tm == "init" else None
        r = action[1]
        if kind == "TMRcvPrepared":
            if s.tm == "init" and ("Prepared", r) in s.msgs:
                return s._replace(tm_prepared=s.tm_prepared | {r})
            return None
        if kind == "RMPrepare":
            if s.rm[r] == "working":
                return s._replace(rm=_set(s.rm, r, "prepared"), msgs=s.msgs | {("Prepared", r)})
            return None
        if kind == "RMChooseToAbort":
            return s._replace(rm=_set(s.rm, r, "aborted")) if s.rm[r] == "working" else None
        if kind == "RMRcvCommitMsg":
            return s._replace(rm=_set(s.rm, r, "committed")) if COMMIT in s.msgs else None
        if kind == "RMRcvAbortMsg":
            return s._replace(rm=_set(s.rm, r, "aborted")) if ABORT in s.msgs else None
        raise InvalidArgument(f"action={action!r}: not a TwoPhase action")

    def within_boundary(self, state: State) -> bool:
        """The spec is finite: no constraint."""
        return True

    def properties(self) -> list[Invariant]:
        """``TCConsistent`` (always) and two reachability witnesses (sometimes)."""
        return [
            Invariant("TCConsistent", "always", consistent),
            Invariant("SomeCommit", "sometimes", lambda s: "committed" in s.rm),
            Invariant("SomeAbort", "sometimes", lambda s: "aborted" in s.rm),
        ]

    # Symmetry: RMs are interchangeable.
    def canonical(self, s: State) -> tuple:
        """Orbit key under RM permutations: the RMs' columns, sorted."""
        cols = sorted(
            (s.rm[r], r in s.tm_prepared, ("Prepared", r) in s.msgs) for r in range(self.n)
        )
        return (tuple(cols), s.tm, COMMIT in s.msgs, ABORT in s.msgs)

    def symmetries(self) -> list[tuple[int, ...]]:
        """Every permutation of the RMs."""
        return list(permutations(range(self.n)))

    def permute(self, s: State, perm: tuple[int, ...]) -> State:
        """RM ``r`` becomes RM ``perm[r]``."""
        rm = [""] * self.n
        for r, to in enumerate(perm):
            rm[to] = s.rm[r]
        msgs = frozenset(("Prepared", perm[m[1]]) if len(m) == 2 else m for m in s.msgs)
        return State(tuple(rm), s.tm, frozenset(perm[r] for r in s.tm_prepared), msgs)

    def value(self, s: State) -> tuple:
        """Plain data for fingerprints."""
        return (s.rm, s.tm, s.tm_prepared, s.msgs)

    def format_action(self, action: tuple) -> str:
        """``RMPrepare(rm2)``."""
        return action[0] if len(action) == 1 else f"{action[0]}(rm{action[1] + 1})"

    def format_state(self, s: State) -> str:
        """One line per component."""
        msgs = sorted(m[0] if len(m) == 1 else f"Prepared(rm{m[1] + 1})" for m in s.msgs)
        return (
            f"  rm={list(s.rm)} tm={s.tm} tmPrepared={sorted(r + 1 for r in s.tm_prepared)} "
            f"msgs={msgs}"
        )


def consistent(s: State) -> bool:
    """``TCConsistent``: no RM committed while another aborted."""
    return not ("committed" in s.rm and "aborted" in s.rm)


def _set(t: tuple, i: int, v: str) -> tuple:
    return t[:i] + (v,) + t[i + 1 :]


def from_cli(args: object) -> TwoPhaseCommit:
    """Build the model from ``modelcheck explore --model two-phase --rms N``."""
    mutant = getattr(args, "mutant", None)
    if mutant is not None:
        raise InvalidArgument(f"mutant={mutant!r}: the two-phase example has no mutants")
    return TwoPhaseCommit(getattr(args, "rms", 3))


def main(argv: list[str]) -> int:
    """Explore ``n`` RMs with and without symmetry and print the figures."""
    from modelcheck.explore import explore

    n = int(argv[0]) if argv else 3
    for symmetry in (False, True):
        result = explore(TwoPhaseCommit(n), symmetry=symmetry)
        print(f"rms={n} symmetry={symmetry}: {result.summary()}")
        if result.violations:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
