"""How an overlay field is declared: its YAML key, its documentation and constraints.

The model's dataclasses carry this metadata once; the converter (validation, defaults)
and the JSON Schema generator both read it, so the two can never disagree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from renderer.errors import Origin
from renderer.records import MISSING, Field, field, fields, record


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
