"""`defaults:`: values every `cnpg.<name>` entry starts from.

The merge happens on the plain values, before the typed conversion, with Helm's rule:
mappings merge key by key and the entry's own value wins; lists and scalars are
replaced whole (a `scheduledBackups` list in an entry replaces the default list).
A value taken from `defaults` keeps the line it was written on, so an error in it
points there (under the entry's key path, where it took effect)."""

from __future__ import annotations

from renderer.errors import Origin, RenderError
from renderer.overlay.source import Source, format_path

_PER_ENTRY = ("match",)  # a default for these would make every entry select the same Clusters


def apply(source: Source) -> Source:
    defaults, entries = source.values.get("defaults"), source.values.get("cnpg")
    if not isinstance(defaults, dict):
        return source  # absent, or not a mapping: the converter reports it
    for key in _PER_ENTRY:
        if key in defaults:
            file, line = source.locate(("defaults", key))
            raise RenderError(Origin(file, line, format_path(("defaults", key))),
                              f"{key} is per entry: write it under cnpg.<name>")
    if not isinstance(entries, dict):
        return source
    lines, texts = dict(source.lines), dict(source.texts)
    merged = {name: _merge(defaults, entry, ("defaults",), ("cnpg", name), source, (lines, texts))
              for name, entry in entries.items()}
    return Source({**source.values, "cnpg": merged}, lines, texts)


def _merge(default, value, from_path: tuple, to_path: tuple, known: Source, out_maps: tuple[dict, dict]):
    if not (isinstance(default, dict) and isinstance(value, dict)):
        return value
    out = dict(value)
    for key, item in default.items():
        if key in value:
            out[key] = _merge(item, value[key], (*from_path, key), (*to_path, key), known, out_maps)
        else:
            out[key] = item
            _copy((*from_path, key), (*to_path, key), known.lines, out_maps[0])
            _copy((*from_path, key), (*to_path, key), known.texts, out_maps[1])
    return out


def _copy(from_path: tuple, to_path: tuple, known: dict, out: dict) -> None:
    """What is recorded under `from_path` (lines, written texts), again under `to_path`."""
    size = len(from_path)
    for path, value in known.items():
        if path[:size] == from_path:
            out[to_path + path[size:]] = value
