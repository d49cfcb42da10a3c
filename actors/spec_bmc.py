"""Bounded model checking of the abstract spec in z3: the shortest counterexample, and a proof.

The explorer finds the shortest violating trace by breadth-first search over
every reachable state; this module finds it symbolically. The state of
:mod:`actors._spec_rules` (proposers, acceptors, committed set, elected
history) becomes a vector of z3 integers and booleans per step, the
transition relation is the disjunction of every binding of ``Next`` (the
same bindings, guards and updates as :meth:`actors.spec.SpecModel.next_state`,
with the successor inside ``StateConstraint``), and the negated property is
"some invariant fails" (ElectionSafety, ElectionSafetyFull, LogIsMonotonic,
LogSafety, CommittedNotTruncated; TypeOk holds by construction). For k = 0,
1, 2, ... z3 is asked for a path of k transitions from ``Init`` ending in a
violating state; the first *sat* k is the shortest counterexample and every
*unsat* below it is the proof that none is shorter.

Sequences (WALs, term histories, votes' histories) are fixed-capacity arrays
with a length: a WAL holds at most ``max_entries`` entries (more is outside
the constraint; an acceptor's WAL gets two spare slots, guarded), a term
history at most ``max_term + 1`` entries (``<<0, 1>>`` and one per term, each
term at most once). The counterexample z3 returns is decoded and replayed
through :class:`~actors.spec.SpecModel` (each step must be a real transition,
the last state must violate), so an encoding slip cannot pass unnoticed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import z3

from actors._spec_rules import SpecConfig
from actors.spec import SpecModel

__all__ = ["BmcResult", "bmc", "decode", "encode_path", "from_cli", "main"]


@dataclass
class BmcResult:
    """The shortest counterexample found (or none up to ``max_depth``) and the per-depth work."""

    config: SpecConfig
    depth: int | None  # transitions of the shortest counterexample; None: none up to max_depth
    actions: list[tuple] = field(default_factory=list)
    states: list[Any] = field(default_factory=list)
    violated: list[str] = field(default_factory=list)
    checked: list[tuple[int, str, float]] = field(default_factory=list)  # (k, verdict, seconds)
    elapsed_s: float = 0.0

    @property
    def states_in_trace(self) -> int | None:
        """States of the counterexample (initial included), as the explorer counts them."""
        return None if self.depth is None else self.depth + 1

    def to_json(self) -> dict[str, Any]:
        c = self.config
        return {"proposers": c.proposers, "acceptors": c.acceptors, "max_term": c.max_term,
                "max_entries": c.max_entries, "mutant": c.mutant, "depth": self.depth,
                "trace_states": self.states_in_trace, "violated": self.violated,
                "actions": [list(a) for a in self.actions],
                "checked": [{"k": k, "verdict": v, "s": round(s, 3)} for k, v, s in self.checked],
                "elapsed_s": round(self.elapsed_s, 3)}


class _Seq:
    """A fixed-capacity array of ints with a length."""

    def __init__(self, name: str, cap: int, width: int = 1) -> None:
        self.cap, self.width = cap, width
        self.n = z3.Int(f"{name}.n")
        self.v = [[z3.Int(f"{name}[{i}].{w}") for w in range(width)] for i in range(cap)]

    def eq(self, other: _Seq) -> z3.BoolRef:
        parts = [self.n == other.n]
        for i in range(min(self.cap, other.cap)):
            for w in range(self.width):
                parts.append(z3.Implies(i < self.n, self.v[i][w] == other.v[i][w]))
        return z3.And(parts)

    def last(self, w: int) -> z3.ArithRef:
        out: z3.ArithRef = z3.IntVal(0)
        for i in range(self.cap):
            out = z3.If(self.n == i + 1, self.v[i][w], out)
        return out

    def at(self, index: z3.ArithRef, w: int = 0) -> z3.ArithRef:
        out: z3.ArithRef = z3.IntVal(-1)
        for i in range(self.cap):
            out = z3.If(index == i, self.v[i][w], out)
        return out


class _State:
    """One step's variables."""

    def __init__(self, k: int, c: SpecConfig) -> None:
        P, A, H, L = c.proposers, c.acceptors, c.max_term + 1, c.max_entries
        self.lead = [z3.Bool(f"s{k}.p{p}.lead") for p in range(P)]
        self.term = [z3.Int(f"s{k}.p{p}.term") for p in range(P)]
        self.th = [_Seq(f"s{k}.p{p}.th", H, 2) for p in range(P)]
        self.wal = [_Seq(f"s{k}.p{p}.wal", L) for p in range(P)]
        self.vhas = [[z3.Bool(f"s{k}.p{p}.v{a}") for a in range(A)] for p in range(P)]
        self.vth = [[_Seq(f"s{k}.p{p}.v{a}.th", H, 2) for a in range(A)] for p in range(P)]
        self.vflush = [[z3.Int(f"s{k}.p{p}.v{a}.flush") for a in range(A)] for p in range(P)]
        self.nhas = [[z3.Bool(f"s{k}.p{p}.n{a}") for a in range(A)] for p in range(P)]
        self.nsl = [[z3.Int(f"s{k}.p{p}.nsl{a}") for a in range(A)] for p in range(P)]
        self.aterm = [z3.Int(f"s{k}.a{a}.term") for a in range(A)]
        self.ath = [_Seq(f"s{k}.a{a}.th", H, 2) for a in range(A)]
        self.awal = [_Seq(f"s{k}.a{a}.wal", L + 2) for a in range(A)]
        self.com = [[z3.Bool(f"s{k}.c{lsn}.{t}") for t in range(c.max_term + 1)]
                    for lsn in range(L + 1)]  # com[lsn][term], lsn 1..L used
        self.elected = [z3.Int(f"s{k}.e{t}") for t in range(c.max_term + 1)]


class _Encoder:
    def __init__(self, c: SpecConfig) -> None:
        self.c = c
        self.P, self.A, self.T, self.L = c.proposers, c.acceptors, c.max_term, c.max_entries
        self.q = c.quorum_size

    # -- frames -------------------------------------------------------------------
    def same_prop(self, s: _State, t: _State, p: int) -> z3.BoolRef:
        parts = [s.lead[p] == t.lead[p], s.term[p] == t.term[p], s.th[p].eq(t.th[p]),
                 s.wal[p].eq(t.wal[p])]
        for a in range(self.A):
            parts += [self.same_vote(s, t, p, a), self.same_nsl(s, t, p, a)]
        return z3.And(parts)

    @staticmethod
    def pushed(old: Any, new: Any, value: Any) -> list:
        """``new`` is the log ``old`` with ``value`` (an entry's term) appended, within capacity."""
        parts = [old.n < new.cap, new.n == old.n + 1]
        for i in range(new.cap):
            parts.append(z3.Implies(i < old.n, new.v[i][0] == old.v[i][0]))
            parts.append(z3.Implies(old.n == i, new.v[i][0] == value))
        return parts

    @staticmethod
    def same_vote(s: _State, t: _State, p: int, a: int) -> z3.BoolRef:
        return z3.And(s.vhas[p][a] == t.vhas[p][a],
                      z3.Implies(s.vhas[p][a], z3.And(s.vth[p][a].eq(t.vth[p][a]),
                                                      s.vflush[p][a] == t.vflush[p][a])))

    @staticmethod
    def same_nsl(s: _State, t: _State, p: int, a: int) -> z3.BoolRef:
        return z3.And(s.nhas[p][a] == t.nhas[p][a],
                      z3.Implies(s.nhas[p][a], s.nsl[p][a] == t.nsl[p][a]))

    @staticmethod
    def same_acc(s: _State, t: _State, a: int) -> z3.BoolRef:
        return z3.And(s.aterm[a] == t.aterm[a], s.ath[a].eq(t.ath[a]), s.awal[a].eq(t.awal[a]))

    def same_com(self, s: _State, t: _State) -> z3.BoolRef:
        return z3.And([s.com[i][j] == t.com[i][j] for i in range(self.L + 1)
                       for j in range(self.T + 1)])

    def same_elected(self, s: _State, t: _State) -> z3.BoolRef:
        return z3.And([a == b for a, b in zip(s.elected, t.elected, strict=True)])

    def frame(self, s: _State, t: _State, props: set[int], accs: set[int], com: bool = False,
              elected: bool = False) -> list[z3.BoolRef]:
        """Everything not named stays the same."""
        out = [self.same_prop(s, t, p) for p in range(self.P) if p not in props]
        out += [self.same_acc(s, t, a) for a in range(self.A) if a not in accs]
        if not com:
            out.append(self.same_com(s, t))
        if not elected:
            out.append(self.same_elected(s, t))
        return out

    # -- helpers of the spec ------------------------------------------------------------
    def eff_len(self, s: _State, a: int) -> z3.ArithRef:
        """Length of ``AcceptorTermHistory(a)``: entries at or below FlushLsn (a prefix)."""
        flush = s.awal[a].n + 1
        th = s.ath[a]
        return z3.Sum([z3.If(z3.And(i < th.n, th.v[i][1] <= flush), 1, 0)
                       for i in range(th.cap)])

    def hcp_lsn(self, s: _State, p: int, a: int) -> z3.ArithRef:
        """``FindHighestCommonPoint(prop th, AcceptorTermHistory(a), FlushLsn(a))``'s LSN."""
        pth, ath = s.th[p], s.ath[a]
        alen = self.eff_len(s, a)
        flush = s.awal[a].n + 1
        cap = min(pth.cap, ath.cap)
        cond = [z3.And(i < pth.n, i < alen, pth.v[i][0] == ath.v[i][0]) for i in range(cap)]
        out: z3.ArithRef = z3.IntVal(0)
        for i in range(cap):  # the last common index wins
            acc_end = z3.If(alen == i + 1, flush, ath.v[i + 1][1] if i + 1 < ath.cap else flush)
            prop_end = z3.If(pth.n == i + 1, flush,
                             pth.v[i + 1][1] if i + 1 < pth.cap else flush)
            out = z3.If(cond[i], z3.If(acc_end < prop_end, acc_end, prop_end), out)
        return out

    def within(self, t: _State) -> list[z3.BoolRef]:
        return [z3.And(t.term[p] <= self.T, t.wal[p].n <= self.L) for p in range(self.P)]

    # -- actions --------------------------------------------------------------------
    def actions(self, s: _State, t: _State) -> list[tuple[tuple, z3.BoolRef]]:
        P, A = range(self.P), range(self.A)
        out: list[tuple[tuple, z3.BoolRef]] = []
        for p in P:
            for q in self.c.quorums():
                out.append((("RestartProposer", p, q), self.restart(s, t, p, q)))
        out += [(("Vote", p, a), self.vote(s, t, p, a)) for p in P for a in A]
        out += [(("BecomeLeader", p), self.become_leader(s, t, p)) for p in P]
        out += [(("UpdateTerm", p, a), self.update_term(s, t, p, a)) for p in P for a in A]
        out += [(("TruncateWal", p, a), self.truncate(s, t, p, a)) for p in P for a in A]
        out += [(("NewEntry", p), self.new_entry(s, t, p)) for p in P]
        out += [(("AppendEntry", p, a), self.append(s, t, p, a)) for p in P for a in A]
        for p in P:
            for q in self.c.min_quorums():
                out.append((("CommitEntries", p, q), self.commit(s, t, p, q)))
        return out

    def one(self, s: _State, t: _State, action: tuple) -> z3.BoolRef:
        """The formula of one binding, e.g. ``("Vote", 0, 2)``."""
        kind, p = action[0], action[1]
        fn = {"RestartProposer": self.restart, "Vote": self.vote, "UpdateTerm": self.update_term,
              "TruncateWal": self.truncate, "AppendEntry": self.append,
              "CommitEntries": self.commit}
        if kind in fn:
            return fn[kind](s, t, p, action[2])
        return self.become_leader(s, t, p) if kind == "BecomeLeader" else self.new_entry(s, t, p)

    def init_prop(self, t: _State, p: int, term: z3.ArithRef) -> list[z3.BoolRef]:
        out = [z3.Not(t.lead[p]), t.term[p] == term, t.th[p].n == 0, t.wal[p].n == 0]
        for a in range(self.A):
            out += [z3.Not(t.vhas[p][a]), z3.Not(t.nhas[p][a])]
        return out

    def restart(self, s: _State, t: _State, p: int, q: tuple[int, ...]) -> z3.BoolRef:
        top: z3.ArithRef = s.aterm[q[0]]
        for a in q[1:]:
            top = z3.If(s.aterm[a] > top, s.aterm[a], top)
        return z3.And(self.init_prop(t, p, top + 1) + self.frame(s, t, {p}, set()))

    def vote(self, s: _State, t: _State, p: int, a: int) -> z3.BoolRef:
        alen = self.eff_len(s, a)
        vth = t.vth[p][a]
        parts = [z3.Not(s.lead[p]), s.aterm[a] < s.term[p],
                 t.vhas[p][a], vth.n == alen, t.vflush[p][a] == s.awal[a].n + 1]
        for i in range(vth.cap):
            parts.append(z3.Implies(i < alen, z3.And(vth.v[i][0] == s.ath[a].v[i][0],
                                                     vth.v[i][1] == s.ath[a].v[i][1])))
        parts += [t.lead[p] == s.lead[p], t.term[p] == s.term[p], t.th[p].eq(s.th[p]),
                  t.wal[p].eq(s.wal[p])]
        for b in range(self.A):
            parts.append(self.same_nsl(s, t, p, b))
            if b != a:
                parts.append(self.same_vote(s, t, p, b))
        parts += [t.aterm[a] == s.term[p], t.ath[a].eq(s.ath[a]), t.awal[a].eq(s.awal[a])]
        return z3.And(parts + self.frame(s, t, {p}, {a}))

    def become_leader(self, s: _State, t: _State, p: int) -> z3.BoolRef:
        A = self.A
        has = s.vhas[p]
        count = z3.Sum([z3.If(h, 1, 0) for h in has])
        key = [(s.vth[p][a].last(0), s.vflush[p][a]) for a in range(A)]

        def better(a: int, d: int) -> z3.BoolRef:  # a's key beats d's (first wins ties)
            gt = z3.Or(key[a][0] > key[d][0], z3.And(key[a][0] == key[d][0],
                                                     key[a][1] > key[d][1]))
            eq = z3.And(key[a][0] == key[d][0], key[a][1] == key[d][1])
            return z3.And(has[a], z3.Or(gt, eq) if a < d else gt)

        options = []
        for d in range(A):
            is_donor = z3.And(has[d], *[z3.Not(better(a, d)) for a in range(A) if a != d])
            vth = s.vth[p][d]
            th = t.th[p]
            parts = [is_donor, s.aterm[d] == s.term[p], th.n == vth.n + 1, th.n <= th.cap]
            for i in range(th.cap):
                prev = (z3.And(th.v[i][0] == vth.v[i][0], th.v[i][1] == vth.v[i][1])
                        if i < vth.cap else z3.BoolVal(False))
                parts.append(z3.Implies(i < vth.n, prev))
                parts.append(z3.Implies(vth.n == i, z3.And(th.v[i][0] == s.term[p],
                                                            th.v[i][1] == s.vflush[p][d])))
            wal = t.wal[p]
            parts.append(wal.n == s.awal[d].n)
            parts += [z3.Implies(i < wal.n, wal.v[i][0] == s.awal[d].v[i][0])
                      for i in range(wal.cap)]
            options.append(z3.And(parts))
        parts = [z3.Not(s.lead[p]), count >= self.q, z3.Or(options), t.lead[p],
                 t.term[p] == s.term[p]]
        for a in range(A):
            parts += [self.same_vote(s, t, p, a), self.same_nsl(s, t, p, a)]
        for term in range(self.T + 1):
            parts.append(t.elected[term] == s.elected[term] + z3.If(s.term[p] == term, 1, 0))
        return z3.And(parts + self.frame(s, t, {p}, set(), elected=True))

    def update_term(self, s: _State, t: _State, p: int, a: int) -> z3.BoolRef:
        parts = [s.lead[p], s.aterm[a] < s.term[p], t.aterm[a] == s.term[p],
                 t.ath[a].eq(s.ath[a]), t.awal[a].eq(s.awal[a])]
        return z3.And(parts + self.frame(s, t, set(), {a}))

    def truncate(self, s: _State, t: _State, p: int, a: int) -> z3.BoolRef:
        hcp = self.hcp_lsn(s, p, a)
        parts = [s.lead[p], s.aterm[a] == s.term[p], t.nhas[p][a], t.nsl[p][a] == hcp,
                 t.aterm[a] == s.aterm[a], t.ath[a].n == s.th[p].n]
        for i in range(t.ath[a].cap):
            parts.append(z3.Implies(i < s.th[p].n, z3.And(t.ath[a].v[i][0] == s.th[p].v[i][0],
                                                          t.ath[a].v[i][1] == s.th[p].v[i][1])))
        wal = t.awal[a]
        parts.append(wal.n == z3.If(hcp - 1 < s.awal[a].n, hcp - 1, s.awal[a].n))
        parts += [z3.Implies(i < wal.n, wal.v[i][0] == s.awal[a].v[i][0]) for i in range(wal.cap)]
        parts += [t.lead[p] == s.lead[p], t.term[p] == s.term[p], t.th[p].eq(s.th[p]),
                  t.wal[p].eq(s.wal[p])]
        for b in range(self.A):
            parts.append(self.same_vote(s, t, p, b))
            if b != a:
                parts.append(self.same_nsl(s, t, p, b))
        return z3.And(parts + self.frame(s, t, {p}, {a}))

    def new_entry(self, s: _State, t: _State, p: int) -> z3.BoolRef:
        wal, old = t.wal[p], s.wal[p]
        parts = [s.lead[p], *self.pushed(old, wal, s.term[p])]
        parts += [t.lead[p] == s.lead[p], t.term[p] == s.term[p], t.th[p].eq(s.th[p])]
        for a in range(self.A):
            parts += [self.same_vote(s, t, p, a), self.same_nsl(s, t, p, a)]
        return z3.And(parts + self.frame(s, t, {p}, set()))

    def append(self, s: _State, t: _State, p: int, a: int) -> z3.BoolRef:
        send = s.nsl[p][a]
        wal, old = t.awal[a], s.awal[a]
        entry = s.wal[p].at(send - 1)
        parts = [s.lead[p], s.aterm[a] == s.term[p], s.nhas[p][a], send <= s.wal[p].n,
                 *self.pushed(old, wal, entry), t.nhas[p][a], t.nsl[p][a] == send + 1]
        parts += [t.aterm[a] == s.aterm[a], t.ath[a].eq(s.ath[a])]
        parts += [t.lead[p] == s.lead[p], t.term[p] == s.term[p], t.th[p].eq(s.th[p]),
                  t.wal[p].eq(s.wal[p])]
        for b in range(self.A):
            parts.append(self.same_vote(s, t, p, b))
            if b != a:
                parts.append(self.same_nsl(s, t, p, b))
        return z3.And(parts + self.frame(s, t, {p}, {a}))

    def commit(self, s: _State, t: _State, p: int, q: tuple[int, ...]) -> z3.BoolRef:
        parts = [s.lead[p]]
        for a in q:
            parts += [s.aterm[a] == s.term[p], s.nhas[p][a]]
        qlsn: z3.ArithRef = s.awal[q[0]].n + 1
        for a in q[1:]:
            qlsn = z3.If(s.awal[a].n + 1 < qlsn, s.awal[a].n + 1, qlsn)
        if self.c.mutant != "commit-previous-term":
            parts.append(qlsn >= s.th[p].last(1))
        for lsn in range(1, self.L + 1):
            for term in range(self.T + 1):
                new = z3.And(lsn < qlsn, lsn <= s.wal[p].n,
                             s.wal[p].at(z3.IntVal(lsn - 1)) == term)
                parts.append(t.com[lsn][term] == z3.Or(s.com[lsn][term], new))
        parts.append(z3.And([t.com[0][j] == s.com[0][j] for j in range(self.T + 1)]))
        return z3.And(parts + self.frame(s, t, set(), set(), com=True))

    # -- initial state and the negated property ------------------------------------------
    def init(self, s: _State) -> z3.BoolRef:
        parts: list[z3.BoolRef] = []
        for p in range(self.P):
            parts += self.init_prop(s, p, z3.IntVal(1))
        for a in range(self.A):
            th = s.ath[a]
            parts += [s.aterm[a] == 0, th.n == 1, th.v[0][0] == 0, th.v[0][1] == 1,
                      s.awal[a].n == 0]
        parts += [z3.Not(x) for row in s.com for x in row]
        parts += [e == 0 for e in s.elected]
        return z3.And(parts)

    def bad(self, s: _State) -> dict[str, z3.BoolRef]:
        P, A, T, L = self.P, self.A, self.T, self.L
        out: dict[str, z3.BoolRef] = {}
        out["ElectionSafety"] = z3.Or([z3.And(s.lead[p], s.lead[r], s.term[p] == s.term[r])
                                       for p in range(P) for r in range(p + 1, P)] or
                                      [z3.BoolVal(False)])
        out["ElectionSafetyFull"] = z3.Or([e >= 2 for e in s.elected])
        out["LogIsMonotonic"] = z3.Or([z3.And(i + 1 < s.awal[a].n,
                                              s.awal[a].v[i][0] > s.awal[a].v[i + 1][0])
                                       for a in range(A) for i in range(s.awal[a].cap - 1)])
        out["LogSafety"] = z3.Or([z3.And(s.com[lsn][x], s.com[lsn][y])
                                  for lsn in range(1, L + 1) for x in range(T + 1)
                                  for y in range(x + 1, T + 1)])
        cnt = []
        for p in range(P):
            for a in range(A):
                hcp = self.hcp_lsn(s, p, a)
                wal = s.awal[a]
                for lsn in range(1, wal.cap + 1):
                    for term in range(T + 1):
                        if lsn <= L:
                            cnt.append(z3.And(s.lead[p], s.aterm[a] == s.term[p], hcp <= lsn,
                                              lsn <= wal.n, wal.v[lsn - 1][0] == term,
                                              s.com[lsn][term]))
        out["CommittedNotTruncated"] = z3.Or(cnt) if cnt else z3.BoolVal(False)
        return out


def bmc(config: SpecConfig, *, max_depth: int = 12, timeout_s: float = 600.0,
        verify: bool = True) -> BmcResult:
    """The shortest violating path of ``config``'s spec, by increasing depth (see module doc)."""
    start = time.monotonic()
    enc = _Encoder(config)
    states = [_State(0, config)]
    solver = z3.Solver()
    solver.add(enc.init(states[0]))
    result = BmcResult(config, None)
    choices: list[list[tuple[tuple, z3.BoolRef]]] = []
    for k in range(max_depth + 1):
        if k > 0:
            s, t = states[-1], _State(k, config)
            states.append(t)
            acts = enc.actions(s, t)
            choices.append(acts)
            solver.add(z3.Or([f for _, f in acts]))
            solver.add(enc.within(t))
        bad = enc.bad(states[-1])
        remaining = timeout_s - (time.monotonic() - start)
        if remaining <= 0:
            break
        solver.set("timeout", max(1, int(remaining * 1000)))
        t0 = time.monotonic()
        verdict = solver.check(z3.Or(list(bad.values())))
        result.checked.append((k, str(verdict), time.monotonic() - t0))
        if verdict == z3.sat:
            model = solver.model()
            result.depth = k
            result.violated = [n for n, f in bad.items() if z3.is_true(model.eval(f))]
            for acts in choices:
                chosen = [a for a, f in acts if z3.is_true(model.eval(f, model_completion=True))]
                result.actions.append(chosen[0])
            if verify:
                result.states = _replay(config, result.actions, result.violated)
            break
        if verdict != z3.unsat:
            break
    result.elapsed_s = time.monotonic() - start
    return result


def _val(model: z3.ModelRef, x: Any) -> int:
    return model.eval(x, model_completion=True).as_long()


def _seq(model: z3.ModelRef, seq: _Seq) -> tuple:
    n = _val(model, seq.n)
    if seq.width == 1:
        return tuple(_val(model, seq.v[i][0]) for i in range(n))
    return tuple(tuple(_val(model, w) for w in seq.v[i]) for i in range(n))


def decode(model: z3.ModelRef, s: _State, config: SpecConfig) -> tuple:
    """One step of a z3 model as :meth:`SpecModel.value`'s plain tuples."""
    P, A = config.proposers, config.acceptors
    props = []
    for p in range(P):
        votes = tuple((_seq(model, s.vth[p][a]), _val(model, s.vflush[p][a]))
                      if z3.is_true(model.eval(s.vhas[p][a], model_completion=True)) else None
                      for a in range(A))
        nsl = tuple(_val(model, s.nsl[p][a])
                    if z3.is_true(model.eval(s.nhas[p][a], model_completion=True)) else None
                    for a in range(A))
        lead = 1 if z3.is_true(model.eval(s.lead[p], model_completion=True)) else 0
        props.append((lead, _val(model, s.term[p]), votes, _seq(model, s.th[p]),
                      _seq(model, s.wal[p]), nsl))
    accs = tuple((_val(model, s.aterm[a]), _seq(model, s.ath[a]), _seq(model, s.awal[a]))
                 for a in range(A))
    committed = tuple(sorted((term, lsn) for lsn in range(1, config.max_entries + 1)
                             for term in range(config.max_term + 1)
                             if z3.is_true(model.eval(s.com[lsn][term], model_completion=True))))
    elected = tuple((t, _val(model, e)) for t, e in enumerate(s.elected) if _val(model, e))
    return tuple(props), accs, committed, elected


def encode_path(config: SpecConfig, actions: list[tuple]) -> list[tuple] | None:
    """The states z3's encoding gives for exactly ``actions`` from Init (None: not allowed).

    A test of the encoding against :class:`SpecModel`: every real transition
    must be allowed, and lead to the same state.
    """
    enc = _Encoder(config)
    states = [_State(0, config)]
    solver = z3.Solver()
    solver.add(enc.init(states[0]))
    for k, action in enumerate(actions, 1):
        s, t = states[-1], _State(k, config)
        states.append(t)
        solver.add(enc.one(s, t, action))
        solver.add(enc.within(t))
    if solver.check() != z3.sat:
        return None
    model = solver.model()
    return [decode(model, st, config) for st in states]


def _replay(config: SpecConfig, actions: list[tuple], violated: list[str]) -> list[Any]:
    """Run ``actions`` through :class:`SpecModel`; every step must be a real, bounded transition."""
    model = SpecModel(config.proposers, config.acceptors, config.max_term, config.max_entries,
                      config.mutant)
    s = model.init_states()[0]
    out = [model.value(s)]
    for i, action in enumerate(actions):
        t = model.next_state(s, action)
        if t is None or not model.within_boundary(t):
            raise AssertionError(f"BMC step {i + 1} {action} is not a transition of the spec")
        s = t
        out.append(model.value(s))
    found = set(model.violations(s))
    if not found or not set(violated) <= found:
        raise AssertionError(f"BMC's last state violates {sorted(found)}, z3 said {violated}")
    return out


def from_cli(args: Any) -> SpecConfig:
    return SpecConfig(getattr(args, "proposers", 2), getattr(args, "acceptors", 3),
                      getattr(args, "max_term", 2), getattr(args, "max_entries", 2),
                      getattr(args, "mutant", None))


def main(args: Any) -> tuple[int, dict[str, Any]]:
    """``modelcheck bmc``: run, print, and return (exit code, JSON)."""
    config = from_cli(args)
    res = bmc(config, max_depth=args.max_depth, timeout_s=args.timeout_s)
    model = SpecModel(config.proposers, config.acceptors, config.max_term, config.max_entries,
                      config.mutant)
    for k, verdict, secs in res.checked:
        print(f"bmc: depth {k}: {verdict} ({secs:.2f} s)")
    if res.depth is None:
        print(f"bmc: no violation up to depth {res.checked[-1][0] if res.checked else 0} "
              f"({res.elapsed_s:.1f} s)")
        return 0, res.to_json()
    print(f"bmc: shortest counterexample: {res.depth} transitions ({res.depth + 1} states), "
          f"violates {', '.join(res.violated)}; proven: no path of fewer transitions does")
    for i, action in enumerate(res.actions, 1):
        print(f"  {i}: {model.format_action(action)}")
    return 1, res.to_json()
