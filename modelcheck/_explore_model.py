"""What the explorer needs from a model, and stable fingerprints.

The model interface is Stateright's, in Python (duck-typed, nothing to subclass):

* ``init_states() -> list[State]``;
* ``actions(state) -> list[Action]`` in a deterministic order;
* ``next_state(state, action) -> State | None`` (None: not enabled);
* ``within_boundary(state) -> bool``: the TLA+ CONSTRAINT; a successor outside
  it counts as generated but is neither stored nor expanded;
* ``properties() -> list``: objects with ``.name``, ``.kind`` ("always",
  "sometimes"; "eventually" ones are reported as not checked) and a predicate
  ``.check(state)`` or ``.predicate(state)`` whose falsy result means "does not
  hold" (a :class:`properties.core.Property` fits);
* optional ``canonical(state) -> Hashable``: equal for states of one orbit of
  the declared symmetry group (and, for ``check_symmetry``, ``symmetries()``
  and ``permute(state, g)``);
* optional ``format_action(action)`` / ``format_state(state)`` for traces;
* optional ``value(state)``: the state as plain data, for fingerprints.

Fast paths a model may add (the spec model does): ``expand(state) -> (generated,
successors)`` (successors in ``actions`` order, outside-boundary ones and
self-loops left out) with ``expand_labeled(state)`` for traces, and
``violations(state) -> list[str]`` naming the violated ``always`` properties.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from modelcheck.errors import InvalidArgument

KINDS = ("always", "sometimes", "eventually")


def stable_encode(value: Any) -> bytes:
    """A canonical byte encoding of plain data (stable across processes and hash seeds).

    Handles None, bool, int, str, bytes, tuple/list, set/frozenset (sorted by
    encoding), dict (sorted by key encoding), enums and dataclasses.
    """
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: Any, out: list[bytes]) -> None:
    if value is None:
        out.append(b"N")
    elif value is True or value is False:
        out.append(b"T" if value else b"F")
    elif isinstance(value, int):
        out.append(b"i%d;" % value)
    elif isinstance(value, str):
        data = value.encode()
        out.append(b"s%d:" % len(data) + data)
    elif isinstance(value, bytes):
        out.append(b"b%d:" % len(value) + value)
    elif isinstance(value, tuple | list):
        out.append(b"(")
        for item in value:
            _encode(item, out)
        out.append(b")")
    elif isinstance(value, set | frozenset):
        out.append(b"{" + b"".join(sorted(stable_encode(v) for v in value)) + b"}")
    elif isinstance(value, dict):
        items = sorted((stable_encode(k), stable_encode(v)) for k, v in value.items())
        out.append(b"<" + b"".join(k + v for k, v in items) + b">")
    elif isinstance(value, enum.Enum):
        out.append(b"e" + stable_encode((type(value).__name__, value.name)))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = tuple((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
        out.append(b"d" + stable_encode((type(value).__name__, fields)))
    else:
        raise InvalidArgument(
            f"cannot fingerprint a value of type {type(value).__name__}: expected plain data "
            "(None, bool, int, str, bytes, tuple, list, set, dict, enum, dataclass)"
        )


def fingerprint(value: Any) -> int:
    """64-bit BLAKE2b of :func:`stable_encode`: identical in every process."""
    return int.from_bytes(hashlib.blake2b(stable_encode(value), digest_size=8).digest(), "big")


def state_fingerprint(model: Any, state: Any) -> int:
    """Fingerprint of ``state`` through the model's ``value`` (its plain-data form) if any."""
    value = getattr(model, "value", None)
    return fingerprint(value(state) if value is not None else state)


class Adapter:
    """Resolves a model's optional fast paths once, so the search loop stays simple."""

    def __init__(self, model: Any, symmetry: bool, fingerprints: bool = False) -> None:
        for name in ("init_states", "properties"):
            if not callable(getattr(model, name, None)):
                raise InvalidArgument(f"model {model!r} has no {name}(): see modelcheck.explore")
        self.model = model
        self.expand: Callable[[Any], tuple[int, list]] = getattr(model, "expand", None) or (
            self._generic_expand
        )
        if getattr(model, "expand", None) is None:
            for name in ("actions", "next_state"):
                if not callable(getattr(model, name, None)):
                    raise InvalidArgument(f"model {model!r} has neither expand() nor {name}()")
        canonical = getattr(model, "canonical", None) if symmetry else None
        if symmetry and canonical is None:
            raise InvalidArgument(f"symmetry=True but model {model!r} declares no canonical()")
        self.symmetry = symmetry
        # A model whose states are live objects (not plain, comparable data) sets
        # ``fingerprints = True``: its states are keyed by ``fingerprint(value(s))``.
        self.fingerprints = fingerprints or bool(getattr(model, "fingerprints", False))
        self.int_states = all(isinstance(s, int) for s in model.init_states())
        self.key: Callable[[Any], Hashable] = self._make_key(canonical)
        props = list(model.properties())
        names = [p.name for p in props]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"duplicate property names: {names}")
        for p in props:
            if getattr(p, "kind", None) not in KINDS:
                raise InvalidArgument(
                    f"property {p.name!r}: kind={p.kind!r}, expected one of {KINDS}"
                )
        self.always = [(p.name, _predicate(p)) for p in props if p.kind == "always"]
        # Liveness needs fair cycles; the explorer checks safety and reachability only.
        self.unchecked = [p.name for p in props if p.kind == "eventually"]
        self.sometimes = [(p.name, _predicate(p)) for p in props if p.kind == "sometimes"]
        self.violations: Callable[[Any], list[str]] = (
            getattr(model, "violations", None) or self._generic_violations
        )

    def _make_key(self, canonical: Callable | None) -> Callable[[Any], Hashable]:
        """The seen-set key: exact (the state or its canonical form) unless fingerprinting.

        Exact keys cannot collide; with ``fingerprints`` the explorer keeps
        64-bit stable fingerprints instead (TLC's trade: far less memory per
        state for large state sets, a negligible collision probability).
        """
        if self.int_states or not self.fingerprints:
            return canonical if canonical is not None else _identity
        value = getattr(self.model, "value", None)
        if canonical is not None:
            return lambda s: fingerprint(canonical(s))
        if value is not None:
            return lambda s: fingerprint(value(s))
        return fingerprint

    def _generic_expand(self, state: Any) -> tuple[int, list]:
        model = self.model
        gen, out = 0, []
        within = getattr(model, "within_boundary", None)
        for action in model.actions(state):
            nxt = model.next_state(state, action)
            if nxt is None:
                continue
            gen += 1
            if nxt != state and (within is None or within(nxt)):
                out.append(nxt)
        return gen, out

    def labeled(self, state: Any) -> list[tuple[Any, Any]]:
        """Successors with their actions, in :attr:`expand` order."""
        fast = getattr(self.model, "expand_labeled", None)
        if fast is not None:
            return fast(state)
        model, out = self.model, []
        within = getattr(model, "within_boundary", None)
        for action in model.actions(state):
            nxt = model.next_state(state, action)
            if nxt is not None and nxt != state and (within is None or within(nxt)):
                out.append((action, nxt))
        return out

    def _generic_violations(self, state: Any) -> list[str]:
        return [name for name, check in self.always if not check(state)]

    def format_state(self, state: Any) -> str:
        fmt = getattr(self.model, "format_state", None)
        return fmt(state) if fmt is not None else f"  {state!r}"

    def format_action(self, action: Any) -> str:
        fmt = getattr(self.model, "format_action", None)
        return fmt(action) if fmt is not None else repr(action)


def _identity(x: Any) -> Any:
    return x


def _predicate(prop: Any) -> Callable[[Any], bool]:
    for attr in ("check", "predicate"):
        fn = getattr(prop, attr, None)
        if callable(fn):
            return fn
    raise InvalidArgument(f"property {prop!r} has neither .check nor .predicate")


def names_of(props: Iterable[Any]) -> list[str]:
    """The names of some properties, for messages."""
    return [p.name for p in props]
