"""Value classes of the rules evaluator, without dataclasses.

`match` must start fast, and the dataclasses module loads inspect (and with it ast, dis,
tokenize, ...), which cost it more time than reading a 100,000-rule file. These classes
keep their fields in __slots__ and compare, hash and print by them, as the dataclasses
they replace did; they are not modified once made (the frozen ones).
"""

from __future__ import annotations


class Value:
    """Equality and repr by the fields in __slots__ (all but those in _uncompared)."""

    __slots__ = ()
    _uncompared: tuple[str, ...] = ()

    def _names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = self.__slots__
        return tuple(f for f in names if f not in self._uncompared)

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, f) for f in self._names())

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._names())
        return f"{type(self).__name__}({shown})"

    # (defining __eq__ leaves __hash__ None: unhashable, as a mutable dataclass)


class Frozen(Value):
    """A Value that is not changed once made: hashable by its fields."""

    __slots__ = ()

    def __hash__(self) -> int:
        return hash(self._fields())
