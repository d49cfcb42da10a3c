"""The single source of nondeterminism.

Every decision a run makes (which task runs next, a network delay, whether a
packet is lost, the shape of a schedule) is one call on a :class:`Chooser`.
Three implementations exist:

* :class:`SeededChooser` draws from SplitMix64, a tiny generator written here
  so that the stream depends on the seed alone: not on the Python version, not
  on ``PYTHONHASHSEED``, not on the ``random`` module's internals.
* :class:`ReplayChooser` hands back a recorded list of choices, so a run can be
  repeated exactly without its seed, or with a list a minimiser edited.
* a Hypothesis implementation (``modelcheck.stateful``) draws each choice from
  Hypothesis' data, so Hypothesis can shrink a whole run.

:class:`RecordingChooser` wraps any chooser and remembers what it answered.
All choices reduce to two primitives, :meth:`Chooser.below` and
:meth:`Chooser.chance`, so a recording is a plain list of small integers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TypeVar

from modelcheck.errors import InvalidArgument, ReplayDiverged

T = TypeVar("T")

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TWO_POW_53 = float(1 << 53)


class Chooser(ABC):
    """Answers the questions a run asks; subclasses decide how."""

    @abstractmethod
    def below(self, n: int) -> int:
        """Return an integer in ``[0, n)``; ``n`` must be at least 1."""

    @abstractmethod
    def chance(self, p: float) -> bool:
        """Return True with probability ``p`` (0 never, 1 always)."""

    def uniform(self, lo: int, hi: int) -> int:
        """Return an integer in ``[lo, hi]``, both ends included.

        >>> SeededChooser(7).uniform(3, 3)
        3
        """
        if hi < lo:
            raise InvalidArgument(f"uniform: hi={hi} must be >= lo={lo}")
        if hi == lo:
            return lo
        return lo + self.below(hi - lo + 1)

    def unit_float(self) -> float:
        """Return a float in ``[0, 1)`` with 53 random bits."""
        return self.below(1 << 53) / _TWO_POW_53

    def pick(self, items: Sequence[T]) -> T:
        """Return one element of a non-empty sequence."""
        if not items:
            raise InvalidArgument("pick: cannot choose from an empty sequence")
        return items[self.below(len(items))] if len(items) > 1 else items[0]


class SeededChooser(Chooser):
    """Deterministic choices from a 64-bit seed (SplitMix64).

    The same seed gives the same answers on every Python and platform.

    >>> a, b = SeededChooser(42), SeededChooser(42)
    >>> [a.below(100) for _ in range(5)] == [b.below(100) for _ in range(5)]
    True
    """

    __slots__ = ("seed", "_state")

    def __init__(self, seed: int) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise InvalidArgument(f"seed={seed!r} must be an int")
        self.seed = seed
        self._state = seed & _MASK64

    def next_u64(self) -> int:
        """Return the next raw 64-bit output."""
        self._state = z = (self._state + _GOLDEN) & _MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        if n <= 1:
            if n == 1:
                return 0
            raise InvalidArgument(f"below: n={n} must be >= 1")
        # Multiply-shift (Lemire) without the rejection step: the bias is at
        # most n / 2**64, far below anything a test could observe.
        self._state = z = (self._state + _GOLDEN) & _MASK64
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return ((z ^ (z >> 31)) * n) >> 64

    def chance(self, p: float) -> bool:
        if p <= 0.0:
            return False
        if p >= 1.0:
            return True
        return (self.next_u64() >> 11) / _TWO_POW_53 < p

    def derive(self, label: str) -> SeededChooser:
        """Return an independent chooser for a named sub-stream of this seed."""
        return SeededChooser(derive_seed(self.seed, label))


def derive_seed(seed: int, label: str) -> int:
    """Mix a label into a seed, stably (no use of ``hash()``).

    >>> derive_seed(1, "net") == derive_seed(1, "net") != derive_seed(1, "schedule")
    True
    """
    x = seed & _MASK64
    for byte in label.encode():
        x = ((x ^ byte) * 0x100000001B3) & _MASK64  # FNV-1a step
    c = SeededChooser(x)
    return c.next_u64()


class RecordingChooser(Chooser):
    """Wraps another chooser and records every answer, for replay and traces."""

    __slots__ = ("inner", "record")

    def __init__(self, inner: Chooser) -> None:
        self.inner = inner
        self.record: list[int] = []

    def below(self, n: int) -> int:
        value = self.inner.below(n)
        self.record.append(value)
        return value

    def chance(self, p: float) -> bool:
        value = self.inner.chance(p)
        self.record.append(int(value))
        return value


class ReplayChooser(Chooser):
    """Answers from a recorded list of choices, in order.

    A recorded value that does not fit the question (out of range), or an
    exhausted list, raises :class:`ReplayDiverged` naming the position; with
    ``lenient=True`` an exhausted list answers 0 / False instead, which is what a
    minimiser wants when it replays a shortened run.

    >>> r = ReplayChooser([2, 1])
    >>> r.below(5), r.chance(0.5)
    (2, True)
    """

    __slots__ = ("choices", "position", "lenient")

    def __init__(self, choices: Sequence[int], *, lenient: bool = False) -> None:
        self.choices = list(choices)
        self.position = 0
        self.lenient = lenient

    def _next(self, what: str, n: int) -> int:
        i = self.position
        if i >= len(self.choices):
            if self.lenient:
                return 0
            raise ReplayDiverged(
                f"replay asked for choice #{i} ({what}) but the recording has only "
                f"{len(self.choices)} choices"
            )
        value = self.choices[i]
        if not 0 <= value < n:
            raise ReplayDiverged(
                f"recorded choice #{i} is {value}, but the run asked for {what} "
                f"(expected a value in [0, {n}))"
            )
        self.position = i + 1
        return value

    def below(self, n: int) -> int:
        if n <= 0:
            raise InvalidArgument(f"below: n={n} must be >= 1")
        return self._next(f"below({n})", n)

    def chance(self, p: float) -> bool:
        if p <= 0.0:
            return False
        if p >= 1.0:
            return True
        return bool(self._next(f"chance({p})", 2))

    @property
    def exhausted(self) -> bool:
        """True when every recorded choice has been used."""
        return self.position >= len(self.choices)
