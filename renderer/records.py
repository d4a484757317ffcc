"""Value classes for the render path, without the `dataclasses` module.

Helm and ArgoCD start us on every render. Importing `dataclasses` imports `inspect`
(and with it `ast`, `dis`, `tokenize`), and `@dataclass` compiles each class's methods
with `exec`: for the classes the render path loads, that was a quarter of our start-up.
`record` keeps what we use of dataclasses — declared fields with defaults and
factories, keyword or positional construction, `__post_init__`, `fields()`,
`replace()`, frozen instances — with one shared `__init__`, `__repr__`, `__eq__` and `__hash__` that read
the class's field table when they run."""

from __future__ import annotations

# The render path never imports `typing` (3 ms of every Helm render): type checkers read
# TYPE_CHECKING as True and see the real annotations, the interpreter skips them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, dataclass_transform
else:

    def dataclass_transform(**_):
        """Only type checkers read `typing.dataclass_transform`; at run time it is a no-op."""
        return lambda decorator: decorator


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # no default given


class FrozenInstanceError(AttributeError):
    """A field of a frozen record was assigned again, or deleted."""


class Field:
    """One declared field: its name, default or default factory, and what `repr` and
    `==` look at. `metadata` is for the declaring code (the overlay keeps its YAML key,
    documentation and constraints there)."""

    __slots__ = ("compare", "default", "default_factory", "metadata", "name", "repr")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING, metadata: dict | None = None,
                 repr: bool = True, compare: bool = True):
        self.name = ""
        self.default, self.default_factory = default, default_factory
        self.metadata = metadata or {}
        self.repr, self.compare = repr, compare

    def value(self) -> Any:
        """The value of an argument not given, or MISSING when one is required."""
        return self.default if self.default_factory is MISSING else self.default_factory()


def field(*, default: Any = MISSING, default_factory: Any = MISSING, metadata: dict | None = None,
          repr: bool = True, compare: bool = True) -> Any:
    """Declare a field with a default, a factory or metadata (as `dataclasses.field`)."""
    return Field(default, default_factory, metadata, repr, compare)


@dataclass_transform(field_specifiers=(field, Field))
def record(cls=None, /, *, frozen: bool = False, eq: bool = True):
    """Make `cls` a record: its annotated attributes become fields, in order (a base
    record's first). `eq=False` keeps identity equality; `frozen` fields are written
    once, by `__init__`, and never again (FrozenInstanceError); frozen records hash."""

    def wrap(cls):
        table: dict[str, Field] = {f.name: f for base in reversed(cls.__mro__[1:])
                                   for f in getattr(base, "__record_fields__", ())}
        for name in cls.__annotations__:  # the class's own (3.10+), also when deferred (3.14)
            table[name] = _declared(cls, name)
        cls.__record_fields__ = tuple(table.values())
        cls.__init__, cls.__repr__ = _init, _repr
        if frozen:
            cls.__setattr__, cls.__delattr__ = _write_once, _no_delete
        if eq:
            cls.__eq__ = _eq
            cls.__hash__ = _hash if frozen else None
        return cls

    return wrap if cls is None else wrap(cls)


def _declared(cls, name: str) -> Field:
    """The Field of annotation `name`, its default taken off the class."""
    value = cls.__dict__.get(name, MISSING)
    if type(value).__module__ == "dataclasses":  # its Field would become the default value itself
        raise TypeError(f"{cls.__qualname__}.{name}: declare record fields with renderer.records.field, "
                        "not dataclasses.field")
    declared = value if isinstance(value, Field) else Field(default=value)
    if isinstance(value, Field):
        if value.default is MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, value.default)
    declared.name = name
    return declared


def fields(obj) -> tuple[Field, ...]:
    """The fields of a record class or instance, in declaration order."""
    return obj.__record_fields__


def is_record(obj) -> bool:
    return hasattr(obj, "__record_fields__")


def replace(obj, **changes):
    """A new record like `obj`, with `changes`."""
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    values.update(changes)
    return type(obj)(**values)


def _init(self, *args, **kwargs) -> None:
    table = type(self).__record_fields__
    if len(args) > len(table):
        raise TypeError(f"{type(self).__name__}() takes {len(table)} arguments, {len(args)} given")
    for f, value in zip(table, args):
        if f.name in kwargs:
            raise TypeError(f"{type(self).__name__}() got {f.name!r} twice")
        kwargs[f.name] = value
    for f in table:
        value = kwargs.pop(f.name) if f.name in kwargs else f.value()
        if value is MISSING:
            raise TypeError(f"{type(self).__name__}() needs {f.name!r}")
        object.__setattr__(self, f.name, value)
    if kwargs:
        raise TypeError(f"{type(self).__name__}() got unknown {', '.join(map(repr, kwargs))}")
    post_init = getattr(self, "__post_init__", None)
    if post_init is not None:  # as dataclasses do: a record may normalise what it was given
        post_init()


def _write_once(self, name: str, value) -> None:
    if name in self.__dict__:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _no_delete(self, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _compared(obj) -> tuple:
    return tuple(getattr(obj, f.name) for f in obj.__record_fields__ if f.compare)


def _repr(self) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__ if f.repr)
    return f"{type(self).__qualname__}({shown})"


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self) -> int:
    return hash(_compared(self))
