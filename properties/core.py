"""Properties declared once and checked identically by every driver.

A property is a name, a kind and a predicate over a read-only *view* (plain
data describing the world, or the abstract model's state):

* ``always(name, pred)``: must hold after every step (safety);
* ``eventually(name, pred, within_ms=...)``: once the driver starts the
  liveness phase, must become true within that much virtual time (liveness);
* ``sometimes(name, pred)``: should become true at least once; never reaching
  it is reported as weak coverage, not as a failure.

A predicate returns ``True`` when the property holds, or ``False`` / a
:class:`Failure` (made with :func:`fail`) naming the facts that break it
(LSN, term, nodes). The :class:`Checker` runs them after every step and
returns :class:`Violation` records with the step, the virtual time and those
facts. Outcomes stay apart, each with its own exit code (:class:`Outcome`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class PropertyError(Exception):
    """Base class of the properties package's errors."""


class DuplicateProperty(PropertyError, ValueError):
    """Two properties were registered under the same name."""


class InvalidArgument(PropertyError, ValueError):
    """A bad argument to a property constructor (the message names it and its value)."""


class UnknownProperty(PropertyError, KeyError):
    """A property name that is not registered (the message lists the available ones)."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class Outcome(IntEnum):
    """How a run ended; the value is the process exit code used by the CLI."""

    OK = 0
    SAFETY = 1
    USAGE = 2
    LIVENESS = 3
    CRASH = 4


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a predicate does not hold: a sentence and the facts behind it."""

    message: str
    facts: tuple[tuple[str, Any], ...] = ()

    def __bool__(self) -> bool:
        return False

    def fact(self, key: str) -> Any:
        return dict(self.facts).get(key)


def fail(message: str, **facts: Any) -> Failure:
    """Build a :class:`Failure`; keyword facts are kept in the given order.

    >>> f = fail("two leaders", term=3, nodes=[3, 4]); bool(f), f.fact("term")
    (False, 3)
    """
    return Failure(message, tuple(facts.items()))


@dataclass(frozen=True, slots=True)
class Property(Generic[V]):
    """A named check over a view."""

    name: str
    kind: str  # "always" | "eventually" | "sometimes"
    predicate: Callable[[V], bool | Failure]
    doc: str = ""
    within_ms: int | None = None

    def evaluate(self, view: V) -> Failure | None:
        """None when the predicate holds, else a Failure explaining why not."""
        result = self.predicate(view)
        if result is True:
            return None
        if isinstance(result, Failure):
            return result
        if result:
            return None
        return Failure(f"{self.name} does not hold")

    def over(self, convert: Callable[[Any], V]) -> Property[Any]:
        """The same property (name, kind, doc, deadline) over another kind of state.

        ``convert`` turns that state into this property's view, e.g. a model
        checker's packed state into a :class:`properties.spec_view.SpecView`.

        >>> p = always("small", lambda v: v < 3).over(len)
        >>> p.name, p.evaluate("ab") is None, p.evaluate("abcd") is None
        ('small', True, False)
        """
        predicate = self.predicate

        def converted(state: Any) -> bool | Failure:
            return predicate(convert(state))

        return Property(self.name, self.kind, converted, self.doc, self.within_ms)


def always(name: str, predicate: Callable[[V], bool | Failure], doc: str = "") -> Property[V]:
    """A safety property: must hold after every step."""
    return Property(name, "always", predicate, doc or (predicate.__doc__ or "").strip())


def eventually(
    name: str, predicate: Callable[[V], bool | Failure], *, within_ms: int, doc: str = ""
) -> Property[V]:
    """A liveness property: true within ``within_ms`` of the start of the liveness phase."""
    if not isinstance(within_ms, int) or isinstance(within_ms, bool) or within_ms <= 0:
        raise InvalidArgument(f"eventually({name!r}): within_ms={within_ms!r} must be an int > 0")
    return Property(name, "eventually", predicate, doc or (predicate.__doc__ or "").strip(),
                    within_ms)


def sometimes(name: str, predicate: Callable[[V], bool | Failure], doc: str = "") -> Property[V]:
    """A reachability witness: should be true at least once (else: weak coverage)."""
    return Property(name, "sometimes", predicate, doc or (predicate.__doc__ or "").strip())


class Registry(Generic[V]):
    """Properties by name, in registration order.

    >>> r = Registry([always("x", lambda v: True)])
    >>> try:
    ...     r.get("y")
    ... except UnknownProperty as e:
    ...     print(e)
    unknown property 'y'; available: x
    """

    def __init__(self, properties: Iterable[Property[V]] = ()) -> None:
        self._by_name: dict[str, Property[V]] = {}
        for prop in properties:
            self.add(prop)

    def add(self, prop: Property[V]) -> Property[V]:
        if prop.name in self._by_name:
            raise DuplicateProperty(f"property {prop.name!r} is already registered")
        self._by_name[prop.name] = prop
        return prop

    def get(self, name: str) -> Property[V]:
        try:
            return self._by_name[name]
        except KeyError:
            available = ", ".join(self._by_name) or "(none)"
            raise UnknownProperty(f"unknown property {name!r}; available: {available}") from None

    def select(self, names: Iterable[str] | None) -> list[Property[V]]:
        """The named properties (all of them when ``names`` is None)."""
        if names is None:
            return list(self._by_name.values())
        return [self.get(n) for n in names]

    def names(self) -> list[str]:
        return list(self._by_name)

    def __iter__(self) -> Iterator[Property[V]]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


@dataclass(frozen=True, slots=True)
class Violation:
    """A property that failed, where and why."""

    property: str
    outcome: Outcome
    step: int
    time_ms: int
    message: str
    facts: tuple[tuple[str, Any], ...] = ()

    def describe(self) -> str:
        facts = " ".join(f"{k}={v}" for k, v in self.facts)
        return (f"{self.outcome.name.lower()} violation of {self.property} at step {self.step} "
                f"(t={self.time_ms} ms): {self.message}" + (f" [{facts}]" if facts else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"property": self.property, "outcome": self.outcome.name.lower(),
                "step": self.step, "time_ms": self.time_ms, "message": self.message,
                "facts": {k: _plain(v) for k, v in self.facts}}


def _plain(value: Any) -> Any:
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


@dataclass
class Checker(Generic[V]):
    """Checks properties after every step and remembers what it saw.

    ``always`` properties are checked at every :meth:`step`; ``sometimes`` ones
    until first reached; ``eventually`` ones only after :meth:`start_liveness`,
    and fail at :meth:`finish` (or at a step past their deadline) if still false.
    """

    properties: list[Property[V]]
    violations: list[Violation] = field(default_factory=list)
    reached: dict[str, int | None] = field(default_factory=dict)
    liveness_start_ms: int | None = None
    steps: int = 0

    def __post_init__(self) -> None:
        self._always = [p for p in self.properties if p.kind == "always"]
        self._sometimes = [p for p in self.properties if p.kind == "sometimes"]
        self._eventually = [p for p in self.properties if p.kind == "eventually"]
        self.reached = {p.name: None for p in self._sometimes + self._eventually}
        self._failed: set[str] = set()

    def step(self, view: V, time_ms: int) -> list[Violation]:
        """Check after one step; returns the new violations (each property fails once)."""
        self.steps += 1
        new: list[Violation] = []
        for prop in self._always:
            if prop.name in self._failed:
                continue
            failure = prop.evaluate(view)
            if failure is not None:
                new.append(self._violation(prop, Outcome.SAFETY, time_ms, failure))
        for prop in self._sometimes:
            if self.reached[prop.name] is None and prop.evaluate(view) is None:
                self.reached[prop.name] = self.steps
        if self.liveness_start_ms is not None:
            for prop in self._eventually:
                if self.reached[prop.name] is None and prop.name not in self._failed:
                    if prop.evaluate(view) is None:
                        self.reached[prop.name] = self.steps
                    elif time_ms > self.liveness_start_ms + (prop.within_ms or 0):
                        new.append(self._deadline_violation(prop, view, time_ms))
        self.violations.extend(new)
        return new

    def start_liveness(self, time_ms: int) -> None:
        """Faults are off from now: start every ``eventually`` deadline."""
        self.liveness_start_ms = time_ms
        for prop in self._eventually:
            self.reached[prop.name] = None

    def finish(self, view: V, time_ms: int) -> list[Violation]:
        """End of run: ``eventually`` properties still false are liveness failures."""
        new: list[Violation] = []
        if self.liveness_start_ms is not None:
            for prop in self._eventually:
                if self.reached[prop.name] is None and prop.name not in self._failed:
                    if prop.evaluate(view) is None:
                        self.reached[prop.name] = self.steps
                    else:
                        new.append(self._deadline_violation(prop, view, time_ms))
        self.violations.extend(new)
        return new

    def crash(self, where: str, error: BaseException, time_ms: int) -> Violation:
        """Record an exception escaping an actor as a crash outcome."""
        v = Violation("crash", Outcome.CRASH, self.steps, time_ms,
                      f"{where}: {type(error).__name__}: {error}")
        self.violations.append(v)
        return v

    def weak_coverage(self) -> list[str]:
        """``sometimes`` properties never reached (the search may have been too weak)."""
        return [p.name for p in self._sometimes if self.reached[p.name] is None]

    @property
    def outcome(self) -> Outcome:
        """The most severe outcome so far (crash > safety > liveness > ok)."""
        kinds = {v.outcome for v in self.violations}
        for o in (Outcome.CRASH, Outcome.SAFETY, Outcome.LIVENESS):
            if o in kinds:
                return o
        return Outcome.OK

    def _violation(self, prop: Property[V], outcome: Outcome, time_ms: int,
                   failure: Failure) -> Violation:
        self._failed.add(prop.name)
        return Violation(prop.name, outcome, self.steps, time_ms, failure.message, failure.facts)

    def _deadline_violation(self, prop: Property[V], view: V, time_ms: int) -> Violation:
        failure = prop.evaluate(view)
        if failure is None:  # (a Failure is falsy: ``or`` would drop its facts)
            failure = Failure("not reached")
        start = self.liveness_start_ms or 0
        return self._violation(
            prop, Outcome.LIVENESS, time_ms,
            Failure(f"not true within {prop.within_ms} ms of the liveness phase "
                    f"(started t={start}): {failure.message}", failure.facts))
