"""The abstract protocol model: Neon's TLA+ ``ProposerAcceptorStatic`` spec, explorable.

The semantics (exactly the TLA+ spec's, see :mod:`actors._spec_rules`) are
pure functions over plain tuples; :class:`SpecModel` makes them fast to
explore (:mod:`actors._spec_fast`: a packed columnar state, interned
components, memoised transitions).

A state is one ``int``: the interned ids of each proposer, each acceptor, the
committed set and the elected history, packed ``_W`` bits apart. A successor
is the parent plus a precomputed delta, so building one costs an addition.
Everything a proposer can do depends only on that proposer and the acceptors
(plus ``committed`` for CommitEntries and ``elected_history`` for
BecomeLeader), so the successors of proposer ``i`` are memoised by
``(proposer id, acceptor ids)``. The semantics are the pure functions of
:mod:`actors.spec`; this module only caches them.

Interned ids depend on the order states are discovered, so a state ``int`` is
only meaningful with the model instance that made it; :meth:`SpecModel.value`
gives the plain nested tuples (stable across processes) for fingerprints.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import permutations

from actors import _spec_rules as S
from actors._spec_codegen import make_canonical2, make_expand, make_violations
from actors._spec_fast import _M, _W, FastSpec
from actors._spec_rules import (
    ACTION_NAMES,
    INVARIANT_NAMES,
    MUTANTS,
    Invariant,
    SpecConfig,
)
from modelcheck.errors import InvalidArgument

Action = tuple

__all__ = [
    "ACTION_NAMES",
    "INVARIANT_NAMES",
    "MUTANTS",
    "Invariant",
    "SpecConfig",
    "SpecModel",
    "from_cli",
]


class SpecModel(FastSpec):
    """``ProposerAcceptorStatic`` under ``StateConstraint``, for :func:`modelcheck.explore`.

    Offers the generic model interface (``init_states``, ``actions``,
    ``next_state``, ``within_boundary``, ``properties``) plus the fast paths
    the explorer uses when present (``expand``, ``canonical``, ``violations``).
    The symmetry group is ``Permutations(proposers) x Permutations(acceptors)``.
    States are ints meaningful only with the instance that made them;
    :meth:`value` gives plain data.
    """

    def __init__(
        self,
        proposers: int = 2,
        acceptors: int = 3,
        max_term: int = 2,
        max_entries: int = 2,
        mutant: str | None = None,
    ) -> None:
        self.config = cfg = SpecConfig(proposers, acceptors, max_term, max_entries, mutant)
        self.name = f"spec p{proposers} a{acceptors} t{max_term} l{max_entries}" + (
            f" mutant={mutant}" if mutant else ""
        )
        self.P, self.A = cfg.proposers, cfg.acceptors
        self._quorums = cfg.quorums()
        self._min_quorums = cfg.min_quorums()
        self._perms_p = tuple(permutations(range(self.P)))
        self._init_fast()
        self.expand_reference = self.expand
        self.expand = make_expand(self)  # type: ignore[method-assign]
        self.violations_reference = self.violations
        self.violations = make_violations(self)  # type: ignore[method-assign]
        if self.P == 2:
            self.canonical = make_canonical2(self)  # type: ignore[method-assign]

    # ------------------------------------------------------------------ encoding
    def encode(self, props: tuple, accs: tuple, committed: tuple, elected: tuple) -> int:
        """Pack components into a state int (interning new ones)."""
        s = 0
        for i, p in enumerate(props):
            s |= self._core_id((p[0], p[1], p[3], p[4])) << self._core_sh[i]
            for a in range(self.A):
                s |= self._col_id((p[2][a], p[5][a])) << self._col_sh[i][a]
        for a, acc in enumerate(accs):
            s |= self._acc_id(acc) << self._acc_sh[a]
        s |= self._commits(committed) << self._csh
        s |= self._elected(elected) << self._esh
        return s

    def decode(self, s: int) -> tuple[tuple, tuple, tuple, tuple]:
        """``(proposers, acceptors, committed, elected_history)`` as plain tuples."""
        props = tuple(
            self._prop_of((s >> self._core_sh[i]) & _M, [(s >> sh) & _M for sh in self._col_sh[i]])
            for i in range(self.P)
        )
        accs = tuple(self._accs.values[(s >> sh) & _M] for sh in self._acc_sh)
        committed = self._commits.values[(s >> self._csh) & _M]
        return props, accs, committed, self._elected.values[(s >> self._esh) & _M]

    def value(self, s: int) -> tuple:
        """The state as plain nested tuples: stable across processes, for fingerprints."""
        return self.decode(s)

    # ----------------------------------------------------------- generic interface
    def init_states(self) -> list[int]:
        """``Init``: proposers campaign in term 1, acceptors at term 0, nothing committed."""
        props = (S.init_proposer(1, self.A),) * self.P
        return [self.encode(props, (S.INIT_ACCEPTOR,) * self.A, (), ())]

    def actions(self, s: int) -> list[Action]:
        """Every binding of Next's disjuncts, in TLC's order (enabled or not)."""
        P, A = range(self.P), range(self.A)
        out: list[Action] = [("RestartProposer", p, q) for p in P for q in self._quorums]
        out += [("Vote", p, a) for p in P for a in A]
        out += [("BecomeLeader", p) for p in P]
        out += [("UpdateTerm", p, a) for p in P for a in A]
        out += [("TruncateWal", p, a) for p in P for a in A]
        out += [("NewEntry", p) for p in P]
        out += [("AppendEntry", p, a) for p in P for a in A]
        out += [("CommitEntries", p, q) for p in P for q in self._min_quorums]
        return out

    def next_state(self, s: int, action: Action) -> int | None:
        """The successor by ``action``, or None when it is not enabled (boundary ignored)."""
        props, accs, committed, elected = self.decode(s)
        kind, p = action[0], action[1]
        prop = props[p]
        new_props, new_accs = list(props), list(accs)
        if kind == "RestartProposer":
            new_term = max((accs[a][0] for a in action[2]), default=-1) + 1
            new_props[p] = S.init_proposer(new_term, self.A)
        elif kind == "BecomeLeader":
            r = S.become_leader(prop, accs, self.config.quorum_size)
            if r is None:
                return None
            new_props[p] = r
            elected = S.add_elected(elected, prop[1])
        elif kind == "NewEntry":
            r = S.new_entry(prop)
            if r is None:
                return None
            new_props[p] = r
        elif kind == "CommitEntries":
            lsn = S.quorum_commit_lsn(prop, accs, action[2], self.config.mutant)
            if lsn is None:
                return None
            committed = S.add_committed(committed, S.commit_records(prop, lsn))
        else:
            a = action[2]
            if kind == "UpdateTerm":
                r = S.update_term(prop, accs[a])
                if r is None:
                    return None
                new_accs[a] = r
            else:
                fn = {"Vote": S.vote, "TruncateWal": S.truncate_wal, "AppendEntry": S.append_entry}
                if kind not in fn:
                    raise InvalidArgument(f"action={action!r}: unknown action kind")
                r = fn[kind](prop, accs[a], a)
                if r is None:
                    return None
                new_props[p], new_accs[a] = r
        return self.encode(tuple(new_props), tuple(new_accs), committed, elected)

    def within_boundary(self, s: int) -> bool:
        """``StateConstraint``: every proposer's term and WAL length within the bounds."""
        return all(self._core_facts[(s >> sh) & _M][0] for sh in self._core_sh)

    def _prop_within(self, prop: tuple) -> bool:
        return prop[1] <= self.config.max_term and len(prop[4]) <= self.config.max_entries

    def expand_labeled(self, s: int) -> list[tuple[Action, int]]:
        """The successors of :meth:`expand` with their actions, in the same order.

        Built from the generic :meth:`actions` and :meth:`next_state` (slow,
        used for traces); interning makes the states identical to :meth:`expand`'s.
        """
        out: list[tuple[Action, int]] = []
        for action in self.actions(s):
            t = self.next_state(s, action)
            if t is not None and t != s and self.within_boundary(t):
                out.append((action, t))
        return out

    def properties(self) -> list:
        """The spec's invariants (``properties.core.always``), each over a state of this model."""
        from properties.core import always

        def make(name: str) -> object:
            return always(name, lambda s: name not in self.violations(s), f"TLA+ {name}")

        return [make(name) for name in INVARIANT_NAMES]

    def format_action(self, action: Action) -> str:
        """``Vote(p1, a2)``-style label, with 1-based names as in the TLC config."""
        args = [f"p{action[1] + 1}"]
        if len(action) > 2:
            x = action[2]
            if isinstance(x, tuple):
                args.append("{" + ", ".join(f"a{a + 1}" for a in x) + "}")
            else:
                args.append(f"a{x + 1}")
        return f"{action[0]}({', '.join(args)})"

    def format_state(self, s: int) -> str:
        """Multi-line human-readable state."""
        props, accs, committed, elected = self.decode(s)
        lines = []
        for i, p in enumerate(props):
            votes = {f"a{a + 1}": v for a, v in enumerate(p[2]) if v is not None}
            nsl = {f"a{a + 1}": x for a, x in enumerate(p[5]) if x is not None}
            lines.append(
                f"  p{i + 1}: {'leader' if p[0] else 'campaign'} term={p[1]} th={list(p[3])} "
                f"wal={list(p[4])} votes={votes} nextSendLsn={nsl}"
            )
        for a, acc in enumerate(accs):
            lines.append(f"  a{a + 1}: term={acc[0]} th={list(acc[1])} wal={list(acc[2])}")
        lines.append(f"  committed={list(committed)} elected_history={dict(elected)}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ symmetry
    def canonical(self, s: int) -> int:
        """An orbit key under proposer x acceptor permutations (see :meth:`_canonical_any`)."""
        return self._canonical_any(s)

    def _canonical_any(self, s: int) -> int:
        """An orbit key under proposer x acceptor permutations (equal iff same orbit).

        For each proposer order, sorting the per-acceptor columns (the
        acceptor, then its column at each proposer) gives the least acceptor
        order; the least over proposer orders is the key. No need to try all
        acceptor permutations.
        """
        P, A, W = self.P, self.A, _W
        cores = [(s >> sh) & _M for sh in self._core_sh]
        cols = [[(s >> sh) & _M for sh in row] for row in self._col_sh]
        aids = [(s >> sh) & _M for sh in self._acc_sh]
        best = None
        for perm in self._perms_p:
            k = 0
            for i in perm:
                k = (k << W) | cores[i]
            keyed = []
            for a in range(A):
                col = aids[a]
                for i in perm:
                    col = (col << W) | cols[i][a]
                keyed.append(col)
            keyed.sort()
            for col in keyed:
                k = (k << (W * (P + 1))) | col
            if best is None or k < best:
                best = k
        assert best is not None
        return (best << (2 * W)) | (s >> self._csh)

    def symmetries(self) -> Iterator[tuple[tuple[int, ...], tuple[int, ...]]]:
        """Every group element ``(proposer permutation, acceptor permutation)``."""
        for pp in self._perms_p:
            for ap in permutations(range(self.A)):
                yield pp, ap

    def permute(self, s: int, perm: tuple[tuple[int, ...], tuple[int, ...]]) -> int:
        """Apply ``perm``: proposer ``i`` becomes ``pp[i]``, acceptor ``a`` becomes ``ap[a]``."""
        pp, ap = perm
        props, accs, committed, elected = self.decode(s)
        inv = [0] * self.A
        for a, b in enumerate(ap):
            inv[b] = a
        new_props = [None] * self.P
        for i, p in enumerate(props):
            votes = tuple(p[2][inv[b]] for b in range(self.A))
            nsl = tuple(p[5][inv[b]] for b in range(self.A))
            new_props[pp[i]] = (p[0], p[1], votes, p[3], p[4], nsl)
        new_accs = [None] * self.A
        for a, acc in enumerate(accs):
            new_accs[ap[a]] = acc
        return self.encode(tuple(new_props), tuple(new_accs), committed, elected)

    def permute_action(self, action: Action, perm: tuple) -> Action:
        """The action that corresponds to ``action`` in the permuted state."""
        pp, ap = perm
        rest: tuple = ()
        if len(action) > 2:
            x = action[2]
            rest = (tuple(sorted(ap[a] for a in x)),) if isinstance(x, tuple) else (ap[x],)
        return (action[0], pp[action[1]], *rest)


def from_cli(args: object) -> SpecModel:
    """Build the model from ``modelcheck explore`` options (entry point ``modelcheck.models``)."""
    return SpecModel(
        proposers=getattr(args, "proposers", 2),
        acceptors=getattr(args, "acceptors", 3),
        max_term=getattr(args, "max_term", 2),
        max_entries=getattr(args, "max_entries", 2),
        mutant=getattr(args, "mutant", None),
    )
