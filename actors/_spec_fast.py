"""The spec's hot paths: a packed columnar state and memoised per-component transitions.

A state is one ``int`` holding interned ids, ``_W`` bits apart, in slots:
each proposer's *core* ``(leader, term, term_history, wal)``; each
(proposer, acceptor) *column* ``(vote, next_send_lsn)``; each acceptor; the
committed set; the elected history. Every (p, a) action (Vote, UpdateTerm,
TruncateWal, AppendEntry) reads and writes only ``core[p]``, ``col[p][a]`` and
``acc[a]``, so its result is memoised by those three ids as a *delta* to add
to the state: a successor costs an addition. Tiny domains (tens of cores,
columns and acceptors for the TLC models) keep these memos hot.

Semantics live in :mod:`actors._spec_rules`; this module only caches them
(the tests compare it with the generic ``actions``/``next_state`` path).
"""

from __future__ import annotations

from actors import _spec_rules as S
from modelcheck.errors import ModelcheckError

_W = 20
_M = (1 << _W) - 1


class Interner:
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


class FastSpec:
    """Layout, memo tables and the fast ``expand``/``violations``/``canonical``."""

    config: S.SpecConfig
    P: int
    A: int

    def _init_fast(self) -> None:
        P, A, W = self.P, self.A, _W
        self._cores = Interner("proposer core")
        self._cols = Interner("proposer column")
        self._accs = Interner("acceptor")
        self._commits = Interner("committed")
        self._elected = Interner("elected_history")
        self._records = Interner("records")
        assert self._cols((None, None)) == 0  # restarts clear a proposer's columns to id 0
        self._no_records = self._records(())
        self._core_sh = [i * W for i in range(P)]
        self._col_sh = [[(P + i * A + a) * W for a in range(A)] for i in range(P)]
        self._ash = (P + P * A) * W
        self._acc_sh = [self._ash + a * W for a in range(A)]
        self._amask = (1 << (A * W)) - 1
        self._csh = self._ash + A * W
        self._esh = self._csh + W
        full = (1 << (self._esh + W)) - 1
        self._clear = [
            full & ~((_M << self._core_sh[i]) | (((1 << (A * W)) - 1) << self._col_sh[i][0]))
            for i in range(P)
        ]
        self._pair_memo = [[{} for _ in range(A)] for _ in range(P)]
        self._restart_memo: dict[int, tuple] = {}
        self._restart_unique: dict[int, tuple] = {}
        self._donor_memo: dict[int, int] = {}
        self._bl_memo: dict[int, int] = {}
        self._ne_memo: dict[int, int] = {}
        self._commit_rec: dict[int, int] = {}
        self._cmemo: dict[int, int] = {}
        self._ememo: dict[int, int] = {}
        self._cnt_memo: dict[int, bool] = {}
        self._trunc_memo: dict[int, int] = {}
        self._no_commit = self._commits(())
        self._core_facts: list[tuple] = []  # (within, type_ok, leader_term, start_lsn)
        self._col_ok: list[bool] = []
        self._acc_flags: list[tuple[bool, bool]] = []
        self._acc_ok: list[bool] = []
        self._col_sh_flat = [sh for row in self._col_sh for sh in row]
        self._eflags: list[bool] = []
        self._cflags: list[bool] = []

    # ------------------------------------------------------------ component facts
    def _core_id(self, core: tuple) -> int:
        cid = self._cores(core)
        facts = self._core_facts
        while len(facts) <= cid:
            leader, term, th, wal = self._cores.values[len(facts)]
            within = term <= self.config.max_term and len(wal) <= self.config.max_entries
            ok = leader in (0, 1) and S._is_nat(term) and S.is_term_history(th) and S._is_wal(wal)
            facts.append((within, ok, term if leader == 1 else -1, th[-1][1] if leader else 0))
        return cid

    def _col_id(self, col: tuple) -> int:
        cid = self._cols(col)
        while len(self._col_ok) <= cid:
            vote, nsl = self._cols.values[len(self._col_ok)]
            vote_ok = vote is None or (S.is_term_history(vote[0]) and S._is_nat(vote[1]))
            self._col_ok.append(vote_ok and (nsl is None or S._is_nat(nsl)))
        return cid

    def _acc_id(self, acc: tuple) -> int:
        aid = self._accs(acc)
        while len(self._acc_flags) <= aid:
            a = self._accs.values[len(self._acc_flags)]
            flags = (S.acceptor_type_ok(a), S.log_is_monotonic(a))
            self._acc_flags.append(flags)
            self._acc_ok.append(flags[0] and flags[1])
        return aid

    def _prop_of(self, core: int, cols: list[int]) -> tuple:
        leader, term, th, wal = self._cores.values[core]
        cv = [self._cols.values[c] for c in cols]
        return (leader, term, tuple(c[0] for c in cv), th, wal, tuple(c[1] for c in cv))

    # ------------------------------------------------------------ (p, a) actions
    def _pair(self, i: int, a: int, core: int, col: int, aid: int) -> tuple:
        """(Vote, UpdateTerm, TruncateWal, AppendEntry) deltas, commit flush, truncatable records.

        A delta is None when the action is not enabled, 0 when it is a
        self-loop, else the int to add to the state (the core never changes,
        so the constraint always holds).
        """
        cols = [0] * self.A
        cols[a] = col
        prop = self._prop_of(core, cols)
        acc = self._accs.values[aid]
        col_sh, acc_sh = self._col_sh[i][a], self._acc_sh[a]
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
            new_prop, new_acc = res
            assert new_prop[0] == prop[0] and new_prop[1] == prop[1] and new_prop[4] == prop[4]
            ncol = self._col_id((new_prop[2][a], new_prop[5][a]))
            out.append(((ncol - col) << col_sh) + ((self._acc_id(new_acc) - aid) << acc_sh))
        leader_same_term = prop[0] == 1 and acc[0] == prop[1]
        out.append(len(acc[2]) + 1 if leader_same_term and prop[5][a] is not None else 0)
        trunc = S.truncated_records(prop, acc) if leader_same_term else ()
        out.append(self._records(trunc))
        r = tuple(out)
        self._pair_memo[i][a][(((core << _W) | col) << _W) | aid] = r
        return r

    def _pairs(self, s: int) -> list[tuple]:
        """The pair entries of every (p, a), p-major."""
        out = []
        memo = self._pair_memo
        for i in range(self.P):
            core = (s >> self._core_sh[i]) & _M
            for a in range(self.A):
                col = (s >> self._col_sh[i][a]) & _M
                aid = (s >> self._acc_sh[a]) & _M
                r = memo[i][a].get((((core << _W) | col) << _W) | aid)
                out.append(r if r is not None else self._pair(i, a, core, col, aid))
        return out

    # ------------------------------------------------------------ proposer actions
    def _restarts(self, accs_packed: int) -> tuple:
        """Core id after RestartProposer for each quorum, -1 when outside the constraint."""
        terms = [self._accs.values[(accs_packed >> (a * _W)) & _M][0] for a in range(self.A)]
        out = []
        for q in self._quorums:
            cid = self._core_id((0, max((terms[a] for a in q), default=-1) + 1, (), ()))
            out.append(cid if self._core_facts[cid][0] else -1)
        r = self._restart_memo[accs_packed] = tuple(out)
        self._restart_unique[accs_packed] = tuple(dict.fromkeys(c for c in out if c >= 0))
        return r

    def _restarts_unique(self, accs_packed: int) -> tuple:
        """The distinct in-constraint core ids of :meth:`_restarts`, first occurrence first."""
        self._restarts(accs_packed)
        return self._restart_unique[accs_packed]

    def _become_leader(self, s: int, i: int, core: int) -> int:
        """Core id after BecomeLeader(p): -1 disabled, -2 outside the constraint."""
        cols_packed = (s >> self._col_sh[i][0]) & self._amask
        key = (core << (self.A * _W)) | cols_packed
        donor = self._donor_memo.get(key)
        if donor is None:
            cols = [(cols_packed >> (a * _W)) & _M for a in range(self.A)]
            prop = self._prop_of(core, cols)
            enough = sum(v is not None for v in prop[2]) >= self.config.quorum_size
            donor = S.max_vote_acceptor(prop[2]) if prop[0] == 0 and enough else -1
            self._donor_memo[key] = donor
        if donor < 0:
            return -1
        aid = (s >> self._acc_sh[donor]) & _M
        key2 = (key << _W) | aid
        r = self._bl_memo.get(key2)
        if r is None:
            cols = [(cols_packed >> (a * _W)) & _M for a in range(self.A)]
            accs = [self._accs.values[0]] * self.A
            accs[donor] = self._accs.values[aid]
            new = S.become_leader(self._prop_of(core, cols), tuple(accs), self.config.quorum_size)
            if new is None:
                r = -1
            else:
                r = self._core_id((new[0], new[1], new[3], new[4]))
                r = r if self._core_facts[r][0] else -2
            self._bl_memo[key2] = r
        return r

    def _new_entry(self, core: int) -> int:
        r = self._ne_memo.get(core)
        if r is None:
            leader, term, th, wal = self._cores.values[core]
            r = self._core_id((leader, term, th, wal + (term,)))
            r = self._ne_memo[core] = r if self._core_facts[r][0] else -1
        return r

    def _records_for(self, core: int, lsn: int) -> int:
        """Record set committed by a quorum flushed to ``lsn``, -1 if QuorumCommitLsn is NULL."""
        key = (core << _W) | lsn
        r = self._commit_rec.get(key)
        if r is None:
            leader, term, th, wal = self._cores.values[core]
            prop = (leader, term, (), th, wal, ())
            if self.config.mutant != "commit-previous-term" and lsn < th[-1][1]:
                r = -1
            else:
                r = self._records(S.commit_records(prop, lsn))
            self._commit_rec[key] = r
        return r

    def _commit(self, c: int, rec: int) -> int:
        key = (c << _W) | rec
        n = self._cmemo.get(key)
        if n is None:
            committed = S.add_committed(self._commits.values[c], self._records.values[rec])
            n = self._cmemo[key] = self._commits(committed)
        return n

    def _elect(self, e: int, term: int) -> int:
        key = (e << _W) | term
        n = self._ememo.get(key)
        if n is None:
            n = self._ememo[key] = self._elected(S.add_elected(self._elected.values[e], term))
        return n

    # ------------------------------------------------------------ expand
    def expand(self, s: int) -> tuple[int, list[int]]:  # noqa: C901 (one loop per disjunct)
        """``(states generated, successors)`` in Next's order (TLC's).

        Successors outside the constraint and self-loops are counted in the
        first figure but left out of the list: neither can be a new state.
        """
        P, A = self.P, self.A
        facts = self._core_facts
        cores = [(s >> sh) & _M for sh in self._core_sh]
        pairs = self._pairs(s)
        accs_packed = (s >> self._ash) & self._amask
        restarts = self._restart_memo.get(accs_packed) or self._restarts(accs_packed)
        out: list[int] = []
        append = out.append
        gen = 0
        for i in range(P):  # RestartProposer(p), one successor per quorum
            gen += len(restarts)
            clear, sh = self._clear[i], self._core_sh[i]
            base = s & clear
            for nc in restarts:
                if nc >= 0:
                    t = base | (nc << sh)
                    if t != s:
                        append(t)
        for k in (0, 1, 2, 3):
            if k == 1:  # BecomeLeader(p) comes after Vote
                for i in range(P):
                    if facts[cores[i]][2] < 0:
                        nc = self._become_leader(s, i, cores[i])
                        if nc != -1:
                            gen += 1
                            if nc >= 0:
                                e = (s >> self._esh) & _M
                                term = self._cores.values[nc][1]
                                ne = self._elect(e, term)
                                t = s + ((nc - cores[i]) << self._core_sh[i])
                                append(t + ((ne - e) << self._esh))
            if k == 3:  # NewEntry(p) comes before AppendEntry
                for i in range(P):
                    if facts[cores[i]][2] >= 0:
                        gen += 1
                        nc = self._new_entry(cores[i])
                        if nc >= 0:
                            append(s + ((nc - cores[i]) << self._core_sh[i]))
            for pr in pairs:
                x = pr[k]
                if x is not None:
                    gen += 1
                    if x:
                        append(s + x)
        for i in range(P):  # CommitEntries(p), one successor per minimal quorum
            if facts[cores[i]][2] < 0:
                continue
            row = pairs[i * A : (i + 1) * A]
            c = (s >> self._csh) & _M
            for q in self._min_quorums:
                flushes = [row[a][4] for a in q]
                if 0 in flushes:
                    continue
                rec = self._records_for(cores[i], min(flushes))
                if rec < 0:
                    continue
                gen += 1
                nc = self._commit(c, rec)
                if nc != c:
                    append(s + ((nc - c) << self._csh))
        return gen, out

    # ------------------------------------------------------------ invariants
    def violations(self, s: int) -> list[str]:
        """Names of the invariants ``s`` violates (memoised per component); [] if none."""
        facts = self._core_facts
        cores = [facts[(s >> sh) & _M] for sh in self._core_sh]
        c = (s >> self._csh) & _M
        e = (s >> self._esh) & _M
        eflags, cflags, acc_ok, col_ok = self._eflags, self._cflags, self._acc_ok, self._col_ok
        if (
            e < len(eflags)
            and c < len(cflags)
            and eflags[e]
            and cflags[c]
            and all(f[1] for f in cores)
            and all(acc_ok[(s >> sh) & _M] for sh in self._acc_sh)
            and all(col_ok[(s >> sh) & _M] for sh in self._col_sh_flat)
        ):
            terms = [f[2] for f in cores if f[2] >= 0]
            if not terms or (
                len(terms) == len(set(terms)) and self._committed_not_truncated(s, c)
            ):
                return []
        return self._violations_slow(s)

    def _violations_slow(self, s: int) -> list[str]:
        facts = self._core_facts
        cores = [facts[(s >> sh) & _M] for sh in self._core_sh]
        cols = [(s >> sh) & _M for sh in self._col_sh_flat]
        flags = [self._acc_flags[(s >> sh) & _M] for sh in self._acc_sh]
        c = (s >> self._csh) & _M
        e = (s >> self._esh) & _M
        while len(self._eflags) <= e:
            self._eflags.append(S.election_safety_full(self._elected.values[len(self._eflags)]))
        while len(self._cflags) <= c:
            self._cflags.append(S.log_safety(self._commits.values[len(self._cflags)]))
        bad: list[str] = []
        col_ok = self._col_ok
        components_ok = all(f[1] for f in cores) and all(f[0] for f in flags)
        if not (components_ok and all(col_ok[x] for x in cols)):
            bad.append("TypeOk")
        terms = [f[2] for f in cores if f[2] >= 0]
        if len(terms) > 1 and len(terms) != len(set(terms)):
            bad.append("ElectionSafety")
        if not self._eflags[e]:
            bad.append("ElectionSafetyFull")
        if not all(f[1] for f in flags):
            bad.append("LogIsMonotonic")
        if not self._cflags[c]:
            bad.append("LogSafety")
        if terms and not self._committed_not_truncated(s, c):
            bad.append("CommittedNotTruncated")
        return bad

    def _committed_not_truncated(self, s: int, c: int) -> bool:
        if c == self._no_commit:
            return True
        no_rec = self._no_records
        facts = self._core_facts
        trunc = self._trunc_memo
        for sh in self._core_sh:
            core = (s >> sh) & _M
            if facts[core][2] < 0:
                continue
            for ash in self._acc_sh:
                aid = (s >> ash) & _M
                key = (core << _W) | aid
                rec = trunc.get(key)
                if rec is None:
                    prop = self._prop_of(core, [0] * self.A)
                    acc = self._accs.values[aid]
                    same = acc[0] == prop[1]
                    rec = self._records(S.truncated_records(prop, acc) if same else ())
                    trunc[key] = rec
                if rec == no_rec:
                    continue
                key = (c << _W) | rec
                ok = self._cnt_memo.get(key)
                if ok is None:
                    done = set(self._commits.values[c])
                    ok = not any(r in done for r in self._records.values[rec])
                    self._cnt_memo[key] = ok
                if not ok:
                    return False
        return True

    # ------------------------------------------------------------ symmetry
