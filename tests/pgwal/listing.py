"""Comparing a ``pgwal dump`` listing with pg_waldump's, as issue 3 asks (shared by tests)."""

from __future__ import annotations

import re

from pgwal.rmgrdesc import FULL_DESC_RMGRS

_BLKREF = re.compile(r", blkref #\d+: rel ")


def compare_listing(ref_lines: list[str], our_lines: list[str]) -> list[str]:
    """Differences that matter, as readable strings (empty when the listings agree)."""
    problems = []
    if len(ref_lines) != len(our_lines):
        problems.append(f"line count {len(our_lines)} != pg_waldump's {len(ref_lines)}")
    for no, (ref, ours) in enumerate(zip(ref_lines, our_lines, strict=False), 1):
        if ref == ours:
            continue
        if ref.startswith("\t") or "desc: " not in ref or "desc: " not in ours:
            problems.append(f"line {no}:\n  want {ref}\n  got  {ours}")
        else:
            rmgr = ref.split()[1]
            ref_head, ref_desc = ref.split("desc: ", 1)
            our_head, our_desc = ours.split("desc: ", 1)
            if rmgr in FULL_DESC_RMGRS or ref_head != our_head:
                problems.append(f"line {no}:\n  want {ref}\n  got  {ours}")
                continue
            # other rmgrs: the kind, then the same inline block references
            ref_kind, our_kind = ref_desc.split(" ", 1)[0], our_desc.split(" ", 1)[0]
            ref_blk = _BLKREF.search(ref_desc)
            our_blk = _BLKREF.search(our_desc)
            ref_tail = ref_desc[ref_blk.start() :] if ref_blk else ""
            our_tail = our_desc[our_blk.start() :] if our_blk else ""
            if ref_kind != our_kind or ref_tail != our_tail:
                problems.append(f"line {no} (kind/blkrefs):\n  want {ref}\n  got  {ours}")
        if len(problems) > 10:
            break
    return problems
