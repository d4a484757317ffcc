"""Reading overlay files into plain values while remembering the line of every key.

Several files merge key by key, later ones winning, as `helm -f a -f b` does; every
value keeps the file and line it came from so an error can point at it."""

from __future__ import annotations

from dataclasses import field

import yaml

from renderer import yamlcodec
from renderer.errors import RenderError
from renderer.records import record

Path_ = tuple  # a key path: ("cnpg", "main", "backups", "revision") or with list indices


@record
class Source:
    """Merged overlay values plus, for each key path, where it was written."""

    values: dict = field(default_factory=dict)
    lines: dict[Path_, tuple[str, int]] = field(default_factory=dict)

    def locate(self, path: Path_) -> tuple[str, int]:
        """The nearest recorded position for `path` (a missing key points at its parent)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), ("<overlay>", 0))


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def read(name: str, text: str) -> Source:
    """Parse one overlay file. Anchors/aliases are allowed; duplicate keys are errors.
    Dates stay strings (a PITR time is text for CNPG, not a datetime)."""
    loader = yamlcodec.Loader(text)
    try:
        node = loader.get_single_node()
        source = Source()
        source.lines[()] = (name, 1)
        if node is None:
            return source
        if not isinstance(node, yaml.MappingNode):
            raise RenderError(f"{name}:{node.start_mark.line + 1}", "the overlay must be a mapping")
        source.values = _plain(node, (), name, source.lines, loader)
        return source
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RenderError(f"{name}:{line}", f"invalid YAML: {problem}") from None
    finally:
        loader.dispose()


def _plain(node: yaml.Node, path: Path_, name: str, lines: dict, loader):
    lines[path] = (name, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise RenderError(f"{name}:{key_node.start_mark.line + 1}: {format_path(path + (key,))}",
                                  "duplicate key")
            out[key] = _plain(value_node, path + (key,), name, lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, path + (i,), name, lines, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def merge(sources: list[Source]) -> Source:
    """Later sources override earlier ones key by key; lists and scalars are replaced."""
    merged = Source()
    for source in sources:
        merged.values = _merge_values(merged.values, source.values)
        merged.lines.update(source.lines)
    return merged


def _merge_values(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge_values(base.get(key), value) if key in base else value
        return out
    return override
