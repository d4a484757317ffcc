"""How an overlay field is declared: its YAML key, its documentation and constraints.

The model's dataclasses carry this metadata once; the converter (validation, defaults)
and the JSON Schema generator both read it, so the two can never disagree."""

from __future__ import annotations

from types import UnionType

from renderer.errors import Origin
from renderer.records import MISSING, Field, field, fields, is_record, record

TYPE_CHECKING = False  # see renderer.records
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Literal
else:

    class Literal:
        """`Literal["a", "b"]` in the model: a field that takes one of these values. Type
        checkers (and ruff: `typing-modules`) read `typing.Literal`; at run time it is a
        `Choices`, so the model is declared without importing `typing`."""

        def __class_getitem__(cls, values):
            return Choices(values if isinstance(values, tuple) else (values,))


class Choices:
    """The values a `Literal` field takes; `| None` makes it optional, as with a type."""

    __slots__ = ("optional", "values")

    def __init__(self, values: tuple, optional: bool = False):
        self.values, self.optional = values, optional

    def __or__(self, other: None) -> Choices:
        if other is not None:
            raise TypeError("a Literal field can only be made optional (| None)")
        return Choices(self.values, optional=True)


def shape(tp) -> tuple[str, Any]:
    """What a model annotation declares, for the converter and the schema alike:
    ("optional", inner), ("choices", values), ("list", item), ("dict", value),
    ("record", class) or ("scalar", type)."""
    if isinstance(tp, Choices):
        return ("optional", Choices(tp.values)) if tp.optional else ("choices", tp.values)
    if isinstance(tp, UnionType):  # X | None
        return "optional", next(a for a in tp.__args__ if a is not type(None))
    origin = getattr(tp, "__origin__", None)
    if origin is list:
        return "list", tp.__args__[0]
    if origin is dict:
        return "dict", tp.__args__[1]
    return ("record" if is_record(tp) else "scalar"), tp


@record(frozen=True)
class Custom:
    """A value whose shape no plain type describes (e.g. `compression: gzip` or
    TrueCharts' `compression: {enabled: false}`): its converter and its JSON Schema."""

    convert: Callable[[Any], Any]  # raw -> value; raises ValueError with a message
    schema: dict


def option(default: Any = MISSING, *, key: str | None = None, doc: str = "",
           pattern: str | None = None, advice: str = "", minimum: int | None = None, custom: Custom | None = None,
           default_factory: Any = MISSING, internal: bool = False):
    """Declare an overlay field. `key` overrides the camelCase name derived from the
    Python name; `internal` fields are filled by the loader, never read from YAML. A
    `pattern` comes with `advice`, the refusal a user reads (what to write instead): a
    raw regex says nothing to most people."""
    if pattern and not advice:
        raise ValueError("a pattern needs its advice")
    meta = {"key": key, "doc": doc, "pattern": pattern, "advice": advice, "minimum": minimum, "custom": custom,
            "internal": internal}
    return field(default=default, default_factory=default_factory, metadata=meta)


def yaml_key(declared: Field) -> str:
    if declared.metadata.get("key"):
        return declared.metadata["key"]
    head, *rest = declared.name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def yaml_fields(cls) -> list[Field]:
    return [f for f in fields(cls) if not f.metadata.get("internal") and f.name != "origins"]


class Located:
    """Mixin: remembers where each field was written, so later stages (lineage
    collisions, patch failures) can point at the overlay line."""

    origins: dict[str, Origin]

    def where(self, field_name: str = "") -> Origin:
        return self.origins.get(field_name) or self.origins[""]


def origins_field():
    return field(default_factory=dict, repr=False, compare=False, metadata={"internal": True})
