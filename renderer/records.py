"""Value classes for the render path, without dataclass's per-class generated methods.

`dataclass` compiles every generated method with `exec`; across the classes that Helm
loads on every render, the generated `__repr__`, `__eq__` and `__hash__` alone cost
about as much as the rest of our start-up work. `record` keeps `dataclass` for what it
is for (fields, defaults, `__init__`, `dataclasses.replace`) and gives every class the
same three methods, which read `dataclasses.fields()` only when they are called."""

from __future__ import annotations

import dataclasses


def record(cls=None, /, *, frozen: bool = False, eq: bool = True):
    """`@dataclass` with shared `__repr__`/`__eq__` (and `__hash__` when frozen).
    `eq=False` keeps identity equality, as for dataclass. `frozen` fields are written
    once, by `__init__`, and never again (`dataclasses.FrozenInstanceError`)."""

    def wrap(cls):
        cls = dataclasses.dataclass(cls, repr=False, eq=False)
        cls.__repr__ = _repr
        if frozen:
            cls.__setattr__, cls.__delattr__ = _write_once, _no_delete
        if eq:
            cls.__eq__ = _eq
            cls.__hash__ = _hash if frozen else None
        return cls

    return wrap if cls is None else wrap(cls)


def _write_once(self, name: str, value) -> None:
    if name in self.__dict__:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _no_delete(self, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _compared(obj) -> tuple:
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj) if f.compare)


def _repr(self) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr)
    return f"{type(self).__qualname__}({shown})"


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self) -> int:
    return hash(_compared(self))
