"""Immutable value classes built on ``collections.namedtuple``, with dataclass semantics.

pgwal's value types (``Record``, ``BlockRef``, ``EndOfWal``, ...) are
namedtuple subclasses rather than frozen dataclasses: constructing a frozen
dataclass costs one ``object.__setattr__`` per field (about four times the
cost of building a tuple; the decoder builds one ``Record`` per WAL record),
and importing ``dataclasses`` (with ``inspect``) is a noticeable part of the
start-up of every ``pgwal dump``. ``value_type`` gives such a class the
semantics of a frozen dataclass that the rest of the code relies on:

- attribute access by field name, construction positionally or by keyword,
  defaults, immutability (assigning a field raises ``AttributeError``);
- equality and hash by field values, and only between instances of the same
  class (a ``Record`` never equals a plain tuple or a ``BlockRef``);
- no ordering (``<`` raises ``TypeError``), and a ``Name(field=value, ...)`` repr.

One difference remains: an unrelated tuple subclass on the *left* of ``==``
(``some_namedtuple == record``) uses its own tuple comparison, so it can
compare equal by values; plain tuples and pgwal's own types never do.

>>> from collections import namedtuple
>>> @value_type
... class Point(namedtuple("Point", "x y")):
...     __slots__ = ()
>>> Point(1, 2) == Point(x=1, y=2), Point(1, 2) == (1, 2)
(True, False)
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (start-up cost of every dump)
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T", bound=type)

__all__ = ["value_type"]

_tuple_eq = tuple.__eq__
_tuple_ne = tuple.__ne__


def _eq(self: tuple, other: object) -> bool:
    if other.__class__ is self.__class__:
        return _tuple_eq(self, other)  # type: ignore[arg-type]
    return False if isinstance(other, tuple) else NotImplemented


def _ne(self: tuple, other: object) -> bool:
    if other.__class__ is self.__class__:
        return _tuple_ne(self, other)  # type: ignore[arg-type]
    return True if isinstance(other, tuple) else NotImplemented


def _unordered(self: tuple, other: object) -> bool:
    return NotImplemented


def value_type(cls: T) -> T:
    """Give a namedtuple subclass the equality, hash and ordering of a frozen dataclass."""
    shadowed = [f for f in cls._fields if f in cls.__dict__]  # type: ignore[attr-defined]
    if shadowed:  # e.g. a dataclass-style default `x: int = 0` in the class body
        raise TypeError(f"{cls.__name__}: class attributes hide the fields {shadowed}")
    cls.__eq__ = _eq  # type: ignore[assignment,method-assign]
    cls.__ne__ = _ne  # type: ignore[assignment,method-assign]
    cls.__hash__ = tuple.__hash__  # type: ignore[assignment,method-assign]
    cls.__lt__ = cls.__le__ = cls.__gt__ = cls.__ge__ = _unordered  # type: ignore[method-assign]
    return cls
