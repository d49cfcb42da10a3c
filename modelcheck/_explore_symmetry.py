"""Is a model's declared symmetry sound? A check TLC leaves to its users.

A symmetry group G is sound for a model when permuting a state permutes its
successors: for every reachable ``s`` and ``g`` in G, the successors of
``g(s)`` are exactly ``g`` applied to the successors of ``s``. Reduction by an
unsound group may then miss states (TLC's counts depend on search order).

:func:`check_symmetry` walks the reachable states (breadth-first, no
reduction) and reports the first state where this fails, with the offending
permutation and a successor that exists on one side only.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from modelcheck._explore_model import Adapter
from modelcheck.errors import InvalidArgument


@dataclass(frozen=True)
class SymmetryCounterexample:
    """``permutation`` maps ``state`` to ``image``, but their successors do not correspond."""

    state: Any
    permutation: Any
    image: Any
    action: Any  # the action of the unmatched successor
    successor: Any
    side: str  # "image": a successor of the image has no counterpart; "state": the reverse
    depth: int

    def format(self, adapter: Adapter) -> str:
        """Explain the counterexample in words, with both states."""
        where = (
            "the permuted state has a successor that no successor of the state maps to"
            if self.side == "image"
            else "a successor of the state maps to no successor of the permuted state"
        )
        return "\n".join(
            [
                f"symmetry unsound at depth {self.depth}: {where}",
                f"permutation: {self.permutation!r}",
                "state:",
                adapter.format_state(self.state),
                "permuted state:",
                adapter.format_state(self.image),
                f"unmatched successor by {adapter.format_action(self.action)}:",
                adapter.format_state(self.successor),
            ]
        )


@dataclass
class SymmetryReport:
    """Outcome of :func:`check_symmetry`."""

    states_checked: int
    group_size: int
    counterexample: SymmetryCounterexample | None

    @property
    def sound(self) -> bool:
        """True when no counterexample was found among the states checked."""
        return self.counterexample is None


def check_symmetry(model: Any, max_states: int | None = None) -> SymmetryReport:
    """Check ``permute(s, g)``'s successors against ``s``'s, for reachable ``s`` and every ``g``.

    Needs ``model.symmetries()`` (the group's elements) and ``model.permute(state, g)``.
    States are compared through ``model.value`` when present (plain data).
    """
    for name in ("symmetries", "permute"):
        if not callable(getattr(model, name, None)):
            raise InvalidArgument(f"model {model!r} has no {name}(): cannot check its symmetry")
    if max_states is not None and (not isinstance(max_states, int) or max_states < 1):
        raise InvalidArgument(f"max_states={max_states!r}: expected a positive integer or None")
    adapter = Adapter(model, symmetry=False)
    group = list(model.symmetries())
    value = getattr(model, "value", None) or (lambda s: s)
    seen = set()
    queue: deque = deque()
    for s in model.init_states():
        if adapter.key(s) not in seen:
            seen.add(adapter.key(s))
            queue.append((s, 1))
    checked = 0
    while queue:
        s, depth = queue.popleft()
        checked += 1
        _, succs = adapter.expand(s)
        for g in group:
            image = model.permute(s, g)
            mapped = {value(model.permute(t, g)) for t in succs}
            _, theirs = adapter.expand(image)
            if {value(t) for t in theirs} != mapped:
                found = _explain(adapter, model, s, g, image, depth)
                return SymmetryReport(checked, len(group), found)
        if max_states is not None and checked >= max_states:
            break
        for t in succs:
            k = adapter.key(t)
            if k not in seen:
                seen.add(k)
                queue.append((t, depth + 1))
    return SymmetryReport(checked, len(group), None)


def _explain(
    adapter: Adapter, model: Any, s: Any, g: Any, image: Any, depth: int
) -> SymmetryCounterexample:
    value = getattr(model, "value", None) or (lambda x: x)
    mapped = {value(model.permute(t, g)): (a, t) for a, t in adapter.labeled(s)}
    theirs = {value(t): (a, t) for a, t in adapter.labeled(image)}
    for v, (a, t) in theirs.items():
        if v not in mapped:
            return SymmetryCounterexample(s, g, image, a, t, "image", depth)
    for v, (a, t) in mapped.items():
        if v not in theirs:
            return SymmetryCounterexample(s, g, image, a, t, "state", depth)
    raise AssertionError("successor sets differ but no unmatched successor was found")
