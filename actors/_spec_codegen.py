"""Straight-line code for the spec model's hot paths, generated for its sizes.

Each function here builds, once per :class:`actors.spec.SpecModel`, a Python
function with every loop over proposers, acceptors and quorums unrolled and
every shift a literal constant: the same answers as the loop versions in
:mod:`actors._spec_fast` (tests compare them), about twice as fast. The code
is built only from integers and fixed text, never from input.
"""

from __future__ import annotations

from collections.abc import Callable

from actors._spec_fast import _M, _W, FastSpec


def make_expand(model: FastSpec) -> Callable:
    """Build ``expand`` unrolled for this many proposers and acceptors.

    The same successors in the same order, with every loop over proposers,
    acceptors and quorums unrolled and every shift a constant (about 2x
    faster than the loops), except that restarts by several quorums to the
    same term appear once (the repeats could never be new states; they are
    still counted as generated). The loop version stays the reference.
    """
    P, A, W = model.P, model.A, _W
    ns = {
        "M": _M,
        "pair": model._pair,
        "rmemo": model._restart_unique,
        "restarts": model._restarts_unique,
        "facts": model._core_facts,
        "bl": model._become_leader,
        "elect": model._elect,
        "core_values": model._cores.values,
        "ne_memo": model._ne_memo,
        "new_entry": model._new_entry,
        "records_for": model._records_for,
        "commit": model._commit,
    }
    L = ["def expand(s):"]
    for i in range(P):
        L.append(f"    c{i} = (s >> {model._core_sh[i]}) & M")
    for a in range(A):
        L.append(f"    a{a} = (s >> {model._acc_sh[a]}) & M")
    for i in range(P):
        for a in range(A):
            ns[f"pm{i}_{a}"] = model._pair_memo[i][a]
            L.append(f"    x = (s >> {model._col_sh[i][a]}) & M")
            L.append(f"    p{i}_{a} = pm{i}_{a}.get((((c{i} << {W}) | x) << {W}) | a{a})")
            L.append(f"    if p{i}_{a} is None: p{i}_{a} = pair({i}, {a}, c{i}, x, a{a})")
    L.append(f"    accs = (s >> {model._ash}) & {model._amask}")
    L.append("    rs = rmemo.get(accs)")
    L.append("    if rs is None: rs = restarts(accs)")
    L.append("    out = []; ap = out.append")
    L.append(f"    gen = {P * len(model._quorums)}")
    for i in range(P):
        L.append(f"    base = s & {model._clear[i]}")
        L.append("    for nc in rs:")
        L.append("        if nc >= 0:")
        L.append(f"            t = base | (nc << {model._core_sh[i]})")
        L.append("            if t != s: ap(t)")
    for i in range(P):
        L.append(f"    f{i} = facts[c{i}][2]")

    def pairs_of(k: int) -> None:
        for i in range(P):
            for a in range(A):
                L.append(f"    x = p{i}_{a}[{k}]")
                L.append("    if x is not None:")
                L.append("        gen += 1")
                L.append("        if x: ap(s + x)")

    pairs_of(0)
    for i in range(P):
        L.append(f"    if f{i} < 0:")
        L.append(f"        nc = bl(s, {i}, c{i})")
        L.append("        if nc != -1:")
        L.append("            gen += 1")
        L.append("            if nc >= 0:")
        L.append(f"                e = (s >> {model._esh}) & M")
        L.append("                ne = elect(e, core_values[nc][1])")
        L.append(
            f"                ap(s + ((nc - c{i}) << {model._core_sh[i]}) "
            f"+ ((ne - e) << {model._esh}))"
        )
    pairs_of(1)
    pairs_of(2)
    for i in range(P):
        L.append(f"    if f{i} >= 0:")
        L.append("        gen += 1")
        L.append(f"        nc = ne_memo.get(c{i})")
        L.append(f"        if nc is None: nc = new_entry(c{i})")
        L.append(f"        if nc >= 0: ap(s + ((nc - c{i}) << {model._core_sh[i]}))")
    pairs_of(3)
    for i in range(P):
        L.append(f"    if f{i} >= 0:")
        L.append(f"        c = (s >> {model._csh}) & M")
        for q in model._min_quorums:
            L.append(f"        ql = p{i}_{q[0]}[4]")
            for a in q[1:]:
                L.append(f"        x = p{i}_{a}[4]")
                L.append("        if x < ql: ql = x")
            L.append("        if ql:")
            L.append(f"            rec = records_for(c{i}, ql)")
            L.append("            if rec >= 0:")
            L.append("                gen += 1")
            L.append("                nc = commit(c, rec)")
            L.append(f"                if nc != c: ap(s + ((nc - c) << {model._csh}))")
    L.append("    return gen, out")
    exec("\n".join(L), ns)  # noqa: S102 (code built from ints above)
    return ns["expand"]


def make_violations(model: FastSpec) -> Callable:
    """Build ``violations`` with its fast path unrolled (same answers).

    When every flag says "fine" it returns [] after a few lookups; anything
    else goes to the general code, which names the violated invariants.
    """
    ns = {
        "M": _M,
        "facts": model._core_facts,
        "eflags": model._eflags,
        "cflags": model._cflags,
        "acc_ok": model._acc_ok,
        "col_ok": model._col_ok,
        "cnt": model._committed_not_truncated,
        "slow": model._violations_slow,
    }
    conds = ["e < len(eflags)", "c < len(cflags)", "eflags[e]", "cflags[c]"]
    conds += [f"f{i}[1]" for i in range(model.P)]
    conds += [f"acc_ok[(s >> {sh}) & M]" for sh in model._acc_sh]
    conds += [f"col_ok[(s >> {sh}) & M]" for sh in model._col_sh_flat]
    L = ["def violations(s):"]
    for i, sh in enumerate(model._core_sh):
        L.append(f"    f{i} = facts[(s >> {sh}) & M]")
    L.append(f"    c = (s >> {model._csh}) & M")
    L.append(f"    e = (s >> {model._esh}) & M")
    L.append("    if " + " and ".join(conds) + ":")
    terms = ", ".join(f"f{i}[2]" for i in range(model.P))
    L.append(f"        terms = [x for x in ({terms},) if x >= 0]")
    L.append("        if not terms: return []")
    L.append("        if len(terms) == len(set(terms)) and cnt(s, c): return []")
    L.append("    return slow(s)")
    exec("\n".join(L), ns)  # noqa: S102 (code built from ints above)
    return ns["violations"]


def make_canonical2(model: FastSpec) -> Callable:
    """Build the symmetry key (``SpecModel._canonical_any``) unrolled for two proposers.

    The same key, without loops: every shift is a constant of the
    generated function, which makes symmetry reduction about 3x cheaper.
    """
    W, A = _W, model.A
    row0, row1 = model._col_sh
    lines = ["def canonical2(s):"]
    lines.append(f"    c0 = s & {_M}; c1 = (s >> {W}) & {_M}")
    for a in range(A):
        lines.append(
            f"    a{a} = ((s >> {model._acc_sh[a]}) & {_M}) << {2 * W}; "
            f"x{a} = (s >> {row0[a]}) & {_M}; y{a} = (s >> {row1[a]}) & {_M}"
        )
    ca = ", ".join(f"a{a} | (x{a} << {W}) | y{a}" for a in range(A))
    cb = ", ".join(f"a{a} | (y{a} << {W}) | x{a}" for a in range(A))
    ka, kb = f"((c0 << {W}) | c1)", f"((c1 << {W}) | c0)"
    for a in range(A):
        ka = f"(({ka} << {3 * W}) | ca[{a}])"
        kb = f"(({kb} << {3 * W}) | cb[{a}])"
    # The cores are the key's most significant part: when they differ, the
    # proposer order putting the smaller core first wins, whatever the columns.
    lines.append("    if c0 < c1:")
    lines.append(f"        ca = sorted(({ca},)); k = {ka}")
    lines.append("    elif c1 < c0:")
    lines.append(f"        cb = sorted(({cb},)); k = {kb}")
    lines.append("    else:")
    lines.append(f"        ca = sorted(({ca},)); cb = sorted(({cb},))")
    lines.append(f"        k = {ka}; kb = {kb}")
    lines.append("        if kb < k: k = kb")
    lines.append(f"    return (k << {2 * W}) | (s >> {model._csh})")
    namespace: dict = {}
    exec("\n".join(lines), namespace)  # noqa: S102 (code built from ints above)
    return namespace["canonical2"]
