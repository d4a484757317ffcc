"""The overlay's JSON Schema, generated from the model: editors complete and check
overlays with the very rules the loader applies (yaml-language-server modeline)."""

from __future__ import annotations

from typing import Any

from renderer.overlay.convert import hints
from renderer.overlay.fields import shape, yaml_fields, yaml_key
from renderer.overlay.model import Overlay
from renderer.records import MISSING, Field, is_record
from renderer.sensitive import Sensitive

_SCALARS: dict[type, dict[str, Any]] = {str: {"type": "string"}, bool: {"type": "boolean"}, int: {"type": "integer"},
            Sensitive: {"type": ["string", "integer"]}, dict: {"type": "object"}}


def json_schema() -> dict:
    definitions: dict = {}
    root = _object(Overlay, definitions)
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": "cnpg-render overlay",
            **root, "definitions": definitions}


def _object(cls, definitions: dict) -> dict:
    properties, required = {}, []
    for field in yaml_fields(cls):
        properties[yaml_key(field)] = _field(field, hints(cls)[field.name], definitions)
        if field.default is MISSING and field.default_factory is MISSING:
            required.append(yaml_key(field))
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    doc = cls.__doc__ or ""
    if doc and not doc.startswith(cls.__name__ + "("):  # dataclass's generated signature is no doc
        schema["description"] = " ".join(doc.split())
    return {**schema, "required": required} if required else schema


def _field(field: Field, tp, definitions: dict) -> dict:
    custom = field.metadata.get("custom")
    schema = dict(custom.schema) if custom else _type(tp, definitions)
    if field.metadata.get("pattern"):
        schema["pattern"] = field.metadata["pattern"]
    if field.metadata.get("minimum") is not None:
        schema["minimum"] = field.metadata["minimum"]
    if field.metadata.get("doc"):
        schema["description"] = field.metadata["doc"]
    default = field.default
    if default is not MISSING and default is not None and not is_record(default):
        schema["default"] = default
    return schema


def _type(tp, definitions: dict) -> dict:
    form, inner = shape(tp)
    if form == "optional":
        return {"anyOf": [_type(inner, definitions), {"type": "null"}]}
    if form == "choices":
        return {"enum": list(inner)}
    if form == "list":
        return {"type": "array", "items": _type(inner, definitions)}
    if form == "dict":
        return {"type": "object", "additionalProperties": _type(inner, definitions)}
    if form == "record":
        if tp.__name__ not in definitions:
            definitions[tp.__name__] = {}
            definitions[tp.__name__] = _object(tp, definitions)
        return {"$ref": f"#/definitions/{tp.__name__}"}
    return dict(_SCALARS[tp])
