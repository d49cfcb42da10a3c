"""The abstract protocol model: Neon's TLA+ ``ProposerAcceptorStatic`` spec, explorable.

The semantics (exactly the TLA+ spec's, see :mod:`actors._spec_rules`) are
pure functions over plain tuples; :class:`SpecModel` makes them fast to
explore: interned components, memoised transitions.

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
from actors._spec_rules import (
    ACTION_NAMES,
    INVARIANT_NAMES,
    MUTANTS,
    Invariant,
    SpecConfig,
)
from modelcheck.errors import InvalidArgument, ModelcheckError

_W = 20
_M = (1 << _W) - 1

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


class _Interner:
    """Component <-> small int id, in order of first appearance (deterministic)."""

    __slots__ = ("ids", "values", "kind")

    def __init__(self, kind: str) -> None:
        self.ids: dict = {}
        self.values: list = []
        self.kind = kind

    def __call__(self, value: object) -> int:
        i = self.ids.get(value)
        if i is None:
            i = len(self.values)
            if i > _M:
                raise ModelcheckError(f"more than {_M} distinct {self.kind} components")
            self.ids[value] = i
            self.values.append(value)
        return i


class SpecModel:
    """``ProposerAcceptorStatic`` under ``StateConstraint``, for :func:`modelcheck.explore`.

    Offers the generic model interface (``init_states``, ``actions``,
    ``next_state``, ``within_boundary``, ``properties``) plus the fast paths
    the explorer uses when present (``expand``, ``canonical``, ``violations``).
    The symmetry group is ``Permutations(proposers) x Permutations(acceptors)``.
    """

    def __init__(
        self,
        proposers: int = 2,
        acceptors: int = 3,
        max_term: int = 2,
        max_entries: int = 2,
        mutant: str | None = None,
    ) -> None:
        self.config = cfg = S.SpecConfig(proposers, acceptors, max_term, max_entries, mutant)
        self.name = f"spec p{proposers} a{acceptors} t{max_term} l{max_entries}" + (
            f" mutant={mutant}" if mutant else ""
        )
        self.P, self.A = cfg.proposers, cfg.acceptors
        self._quorums = cfg.quorums()
        self._min_quorums = cfg.min_quorums()
        self._props = _Interner("proposer")
        self._accs = _Interner("acceptor")
        self._commits = _Interner("committed")
        self._elected = _Interner("elected_history")
        self._records = _Interner("records")
        self._cores = _Interner("proposer core")
        self._cols = _Interner("proposer column")
        self._ash = self.P * _W
        self._abits = self.A * _W
        self._amask = (1 << self._abits) - 1
        self._csh = (self.P + self.A) * _W
        self._esh = self._csh + _W
        self._pmemo: list[dict[int, tuple]] = [{} for _ in range(self.P)]
        self._cmemo: dict[int, int] = {}
        self._ememo: dict[int, int] = {}
        self._pdec: list[tuple] = []
        self._acc_flags: list[tuple[bool, bool]] = []
        self._cnt_memo: dict[int, bool] = {}
        self._pair_memo: dict[int, tuple] = {}
        self._pfacts: list[tuple[bool, bool]] = []
        self._eflags: list[bool] = []
        self._cflags: list[bool] = []
        self._no_records = self._records(())
        self._restart_memo: dict[tuple, tuple] = {}
        self._donor_memo: dict[int, int] = {}
        self._bl_memo: dict[int, int] = {}
        self._perms_p = tuple(permutations(range(self.P)))
        self._pdec2: list[tuple] = []
        self._ashifts = tuple(self._ash + a * _W for a in range(self.A))
        if self.P == 2:
            self.canonical = self._canonical2  # type: ignore[method-assign]

    # ------------------------------------------------------------------ encoding
    def encode(self, props: tuple, accs: tuple, committed: tuple, elected: tuple) -> int:
        """Pack components into a state int (interning new ones)."""
        s = 0
        for i, p in enumerate(props):
            s |= self._props(p) << (i * _W)
        for a, acc in enumerate(accs):
            aid = self._accs(acc)
            self._ensure_acc(aid)
            s |= aid << (self._ash + a * _W)
        s |= self._commits(committed) << self._csh
        s |= self._elected(elected) << self._esh
        return s

    def decode(self, s: int) -> tuple[tuple, tuple, tuple, tuple]:
        """``(proposers, acceptors, committed, elected_history)`` as plain tuples."""
        props = tuple(self._props.values[(s >> (i * _W)) & _M] for i in range(self.P))
        accs = tuple(self._accs.values[(s >> (self._ash + a * _W)) & _M] for a in range(self.A))
        return props, accs, self._commits.values[(s >> self._csh) & _M], self._elected.values[
            (s >> self._esh) & _M
        ]

    def value(self, s: int) -> tuple:
        """The state as plain nested tuples: stable across processes, for fingerprints."""
        return self.decode(s)

    def _ensure_acc(self, aid: int) -> None:
        while len(self._acc_flags) <= aid:
            acc = self._accs.values[len(self._acc_flags)]
            self._acc_flags.append((S.acceptor_type_ok(acc), S.log_is_monotonic(acc)))

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
        props = self._props.values
        return all(self._prop_within(props[(s >> (i * _W)) & _M]) for i in range(self.P))

    def _prop_within(self, prop: tuple) -> bool:
        return prop[1] <= self.config.max_term and len(prop[4]) <= self.config.max_entries

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

    # ------------------------------------------------------------------ fast paths
    def _info(self, i: int, pid: int, accs_packed: int) -> tuple:
        key = (pid << self._abits) | accs_packed
        info = self._pmemo[i].get(key)
        if info is None:
            info = self._pmemo[i][key] = self._compute_info(i, pid, accs_packed)
        return info

    def _pair(self, i: int, pid: int, aid: int, a: int) -> tuple:
        """The (p, a) actions of proposer slot ``i`` next to acceptor ``a``, memoised.

        For Vote, UpdateTerm, TruncateWal and AppendEntry: None when not
        enabled, 0 when enabled but a self-loop or outside the constraint,
        else the delta to add to the state. Last: the records TruncateWal
        would remove (for CommittedNotTruncated).
        """
        key = (((pid << _W) | aid) << 8) | (a << 4) | i
        r = self._pair_memo.get(key)
        if r is not None:
            return r
        prop, acc = self._props.values[pid], self._accs.values[aid]
        psh, ash = i * _W, self._ash + a * _W
        out: list = []
        for fn in (S.vote, None, S.truncate_wal, S.append_entry):
            if fn is None:
                new_acc = S.update_term(prop, acc)
                res = None if new_acc is None else (prop, new_acc)
            else:
                res = fn(prop, acc, a)
            if res is None:
                out.append(None)
                continue
            npid, naid = self._props(res[0]), self._acc_id(res[1])
            within = self._prop_facts(npid)[0]
            out.append(((npid - pid) << psh) + ((naid - aid) << ash) if within else 0)
        trunc = S.truncated_records(prop, acc) if prop[0] == 1 and acc[0] == prop[1] else ()
        out.append(trunc)
        r = self._pair_memo[key] = tuple(out)
        return r

    def _acc_id(self, acc: tuple) -> int:
        aid = self._accs(acc)
        self._ensure_acc(aid)
        return aid

    def _prop_facts(self, pid: int) -> tuple:
        """``(within boundary, TypeOk)`` of a proposer, memoised."""
        while len(self._pfacts) <= pid:
            p = self._props.values[len(self._pfacts)]
            self._pfacts.append((self._prop_within(p), S.proposer_type_ok(p, self.A)))
        return self._pfacts[pid]

    def _compute_info(self, i: int, pid: int, accs_packed: int) -> tuple:
        """Everything proposer slot ``i`` can do next to these acceptors, as deltas.

        Layout: groups 0..7 in Next's order (deltas; BecomeLeader and
        CommitEntries kept symbolic because they touch elected_history and
        committed), then states generated, leader term, truncatable records,
        TypeOk, (unused), and whether every per-component invariant holds.
        Self-loops and successors outside the constraint are counted but left out.
        """
        A, W = self.A, _W
        aids = [(accs_packed >> (a * W)) & _M for a in range(A)]
        prop = self._props.values[pid]
        psh = i * W
        facts = self._prop_facts
        groups: list = [()] * 8
        gen = 0
        # RestartProposer: one successor per quorum.
        terms = tuple(self._accs.values[x][0] for x in aids)
        restarts = self._restart_memo.get(terms)
        if restarts is None:
            restarts = self._restart_memo[terms] = tuple(
                self._props(S.init_proposer(max((terms[a] for a in q), default=-1) + 1, A))
                for q in self._quorums
            )
        gen += len(restarts)
        groups[0] = tuple((n - pid) << psh for n in restarts if n != pid and facts(n)[0])
        pairs = [self._pair(i, pid, aids[a], a) for a in range(A)]
        for d, k in ((1, 0), (3, 1), (4, 2), (6, 3)):
            deltas = [pr[k] for pr in pairs if pr[k] is not None]
            gen += len(deltas)
            groups[d] = tuple(x for x in deltas if x)
        # BecomeLeader(p): elected_history changes, so never a self-loop.
        groups[2] = None
        if prop[0] == 0:
            accs = tuple(self._accs.values[x] for x in aids)
            npid = self._become_leader(pid, prop, accs, aids)
            if npid is not None:
                gen += 1
                if facts(npid)[0]:
                    groups[2] = ((npid - pid) << psh, prop[1])
        else:
            accs = tuple(self._accs.values[x] for x in aids)
            npid = self._props(S.new_entry(prop))
            gen += 1
            if facts(npid)[0]:
                groups[5] = ((npid - pid) << psh,)
            # CommitEntries(p): one successor per minimal quorum; records kept symbolic.
            g = []
            for q in self._min_quorums:
                lsn = S.quorum_commit_lsn(prop, accs, q, self.config.mutant)
                if lsn is not None:
                    gen += 1
                    g.append(self._records(S.commit_records(prop, lsn)))
            groups[7] = tuple(g)
        trunc = sorted({rec for pair in pairs for rec in pair[4]})
        leader_term = prop[1] if prop[0] == 1 else -1
        flags = [self._acc_flags[x] for x in aids]
        ok = facts(pid)[1] and all(f[0] and f[1] for f in flags)
        trunc_id = self._records(tuple(trunc))
        return (*groups, gen, leader_term, trunc_id, facts(pid)[1], None, ok)

    def _become_leader(self, pid: int, prop: tuple, accs: tuple, aids: list) -> int | None:
        """Proposer id after BecomeLeader, or None; memoised by (proposer, donor)."""
        donor = self._donor_memo.get(pid)
        if donor is None:
            enough = sum(v is not None for v in prop[2]) >= self.config.quorum_size
            donor = S.max_vote_acceptor(prop[2]) if prop[0] == 0 and enough else -1
            self._donor_memo[pid] = donor
        if donor < 0:
            return None
        key = (pid << _W) | aids[donor]
        npid = self._bl_memo.get(key)
        if npid is None:
            r = S.become_leader(prop, accs, self.config.quorum_size)
            npid = self._bl_memo[key] = -1 if r is None else self._props(r)
        return None if npid < 0 else npid

    def _commit(self, c: int, rec: int) -> int:
        key = (c << _W) | rec
        n = self._cmemo.get(key)
        if n is None:
            n = self._cmemo[key] = self._commits(
                S.add_committed(self._commits.values[c], self._records.values[rec])
            )
        return n

    def _elect(self, e: int, term: int) -> int:
        key = (e << _W) | term
        n = self._ememo.get(key)
        if n is None:
            n = self._ememo[key] = self._elected(S.add_elected(self._elected.values[e], term))
        return n

    def expand(self, s: int) -> tuple[int, list[int]]:
        """``(states generated, successors)`` in Next's order.

        Successors outside the constraint and self-loops are counted in the
        first figure but left out of the list: neither can be a new state.
        """
        accs = (s >> self._ash) & self._amask
        infos = [self._info(i, (s >> (i * _W)) & _M, accs) for i in range(self.P)]
        add = s.__add__
        out: list[int] = []
        ext = out.extend
        gen = 0
        for info in infos:
            gen += info[8]
            ext(map(add, info[0]))
        for info in infos:
            ext(map(add, info[1]))
        for info in infos:
            bl = info[2]
            if bl is not None:
                e = (s >> self._esh) & _M
                out.append(s + bl[0] + ((self._elect(e, bl[1]) - e) << self._esh))
        for d in (3, 4, 5, 6):
            for info in infos:
                ext(map(add, info[d]))
        for info in infos:
            if info[7]:
                csh = self._csh
                c = (s >> csh) & _M
                for rec in info[7]:
                    nc = self._commit(c, rec)
                    if nc != c:
                        out.append(s + ((nc - c) << csh))
        return gen, out

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

    # ------------------------------------------------------------------ invariants
    def violations(self, s: int) -> list[str]:
        """Names of the invariants ``s`` violates (memoised per component); [] if none."""
        accs = (s >> self._ash) & self._amask
        c = (s >> self._csh) & _M
        e = (s >> self._esh) & _M
        infos = [self._info(i, (s >> (i * _W)) & _M, accs) for i in range(self.P)]
        # Fast path: every per-component flag and memo says "fine".
        eflags, cflags = self._eflags, self._cflags
        if e < len(eflags) and c < len(cflags) and eflags[e] and cflags[c]:
            no_rec = self._no_records
            cnt = self._cnt_memo
            terms = []
            for info in infos:
                if not info[13] or (info[10] != no_rec and not cnt.get((c << _W) | info[10])):
                    return self._violations_slow(accs, c, e, infos)
                if info[9] >= 0:
                    terms.append(info[9])
            if len(terms) < 2 or len(terms) == len(set(terms)):
                return []
        return self._violations_slow(accs, c, e, infos)

    def _violations_slow(self, accs: int, c: int, e: int, infos: list) -> list[str]:
        acc_flags = self._acc_flags
        flags = [acc_flags[(accs >> (a * _W)) & _M] for a in range(self.A)]
        bad: list[str] = []
        if not all(f[0] for f in flags) or not all(info[11] for info in infos):
            bad.append("TypeOk")
        terms = [info[9] for info in infos if info[9] >= 0]
        if len(terms) > 1 and len(terms) != len(set(terms)):
            bad.append("ElectionSafety")
        while len(self._eflags) <= e:
            self._eflags.append(S.election_safety_full(self._elected.values[len(self._eflags)]))
        if not self._eflags[e]:
            bad.append("ElectionSafetyFull")
        if not all(f[1] for f in flags):
            bad.append("LogIsMonotonic")
        while len(self._cflags) <= c:
            self._cflags.append(S.log_safety(self._commits.values[len(self._cflags)]))
        if not self._cflags[c]:
            bad.append("LogSafety")
        for info in infos:
            if info[10] == self._no_records:
                continue
            key = (c << _W) | info[10]
            ok = self._cnt_memo.get(key)
            if ok is None:
                done = set(self._commits.values[c])
                records = self._records.values[info[10]]
                ok = self._cnt_memo[key] = not any(r in done for r in records)
            if not ok:
                bad.append("CommittedNotTruncated")
                break
        return bad


    # ------------------------------------------------------------------ symmetry
    def _decompose(self, pid: int) -> tuple:
        while len(self._pdec) <= pid:
            p = self._props.values[len(self._pdec)]
            core = self._cores((p[0], p[1], p[3], p[4]))
            cols = tuple(self._cols((p[2][a], p[5][a])) for a in range(self.A))
            self._pdec.append((core, cols))
        return self._pdec[pid]

    def _canonical2(self, s: int) -> int:
        """:meth:`canonical` unrolled for two proposers (same key)."""
        W = _W
        pdec = self._pdec2
        p0 = s & _M
        p1 = (s >> W) & _M
        if p0 >= len(pdec) or p1 >= len(pdec):
            self._extend_pdec2(max(p0, p1))
        c0, h0, l0 = pdec[p0]
        c1, h1, l1 = pdec[p1]
        w2 = 2 * W
        aids = [((s >> sh) & _M) << w2 for sh in self._ashifts]
        ca = sorted([x | y | z for x, y, z in zip(aids, h0, l1, strict=True)])
        cb = sorted([x | y | z for x, y, z in zip(aids, h1, l0, strict=True)])
        ka = (c0 << W) | c1
        kb = (c1 << W) | c0
        w3 = 3 * W
        for x in ca:
            ka = (ka << w3) | x
        for x in cb:
            kb = (kb << w3) | x
        return ((ka if ka < kb else kb) << w2) | (s >> self._csh)

    def _extend_pdec2(self, pid: int) -> None:
        while len(self._pdec2) <= pid:
            core, cols = self._decompose(len(self._pdec2))
            self._pdec2.append((core, tuple(c << _W for c in cols), cols))

    def canonical(self, s: int) -> int:
        """An orbit key under proposer x acceptor permutations (see :meth:`_canonical_any`)."""
        return self._canonical_any(s)

    def _canonical_any(self, s: int) -> int:
        """An orbit key under proposer x acceptor permutations (equal iff same orbit).

        For each proposer order, sorting the per-acceptor columns (acceptor,
        and that acceptor's vote and nextSendLsn at each proposer) gives the
        least acceptor order; the least over proposer orders is the key.
        """
        P, A, W = self.P, self.A, _W
        decs = [self._decompose((s >> (i * W)) & _M) for i in range(P)]
        aids = [(s >> (self._ash + a * W)) & _M for a in range(A)]
        best = None
        for perm in self._perms_p:
            k = 0
            for i in perm:
                k = (k << W) | decs[i][0]
            cols = []
            for a in range(A):
                col = aids[a]
                for i in perm:
                    col = (col << W) | decs[i][1][a]
                cols.append(col)
            cols.sort()
            for col in cols:
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
