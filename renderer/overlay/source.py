"""Reading overlay files into plain values while remembering the line of every key.

Several files merge key by key, later ones winning, as `helm -f a -f b` does; every
value keeps the file and line it came from so an error can point at it, and a plain
scalar that YAML read as a number or boolean keeps the text it was written as, so
the converter can take text fields as written (see `convert.Converter.text`)."""

from __future__ import annotations

from renderer import yamlcodec
from renderer.errors import RenderError
from renderer.records import field, record

Path_ = tuple  # a key path: ("cnpg", "main", "backups", "revision") or with list indices


@record
class Source:
    """Merged overlay values plus, for each key path, where it was written and, for
    plain scalars YAML did not keep as strings, the text as written (an entry for a
    path a later file overrode may linger: it is read only beside a number)."""

    values: dict = field(default_factory=dict)
    lines: dict[Path_, tuple[str, int]] = field(default_factory=dict)
    texts: dict[Path_, str] = field(default_factory=dict)

    def locate(self, path: Path_) -> tuple[str, int]:
        """The nearest recorded position for `path` (a missing key points at its parent)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), ("<overlay>", 0))

    def child(self, key) -> Source:
        """The values under `key` (a config object inside a larger document), with
        their positions."""
        value = self.values.get(key) if isinstance(self.values, dict) else None
        return Source(value if isinstance(value, dict) else {},
                      {path[1:]: at for path, at in self.lines.items() if path[:1] == (key,)} or
                      {(): self.locate((key,))},
                      {path[1:]: text for path, text in self.texts.items() if path[:1] == (key,)})

    def without(self, keys) -> Source:
        """These values without the top-level `keys`."""
        return Source({k: v for k, v in self.values.items() if k not in keys},
                      {p: at for p, at in self.lines.items() if p[:1] == () or p[0] not in keys},
                      {p: text for p, text in self.texts.items() if p[0] not in keys})


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def read(name: str, text: str, what: str = "the overlay") -> Source:
    """Parse one overlay file (through the one codec: duplicate keys refused, merge
    keys merged, aliases bounded). It must hold a mapping, or nothing."""
    try:
        located = yamlcodec.load_located(text)
    except yamlcodec.YamlError as exc:
        where = f"{name}:{exc.line}" if exc.line else name
        raise RenderError(where + (f": {format_path(exc.path)}" if exc.path else ""), exc.problem) from None
    if located is None:
        return Source({}, {(): (name, 1)})
    if not isinstance(located.value, dict):
        raise RenderError(f"{name}:{located.lines[()]}", f"{what} must be a mapping")
    return Source(located.value, {path: (name, line) for path, line in located.lines.items()}, located.texts)


def merge(sources: list[Source]) -> Source:
    """Later sources override earlier ones key by key; lists and scalars are replaced."""
    merged = Source()
    for source in sources:
        merged.values = _merge_values(merged.values, source.values)
        merged.lines.update(source.lines)
        merged.texts.update(source.texts)
    return merged


def _merge_values(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge_values(base.get(key), value) if key in base else value
        return out
    return override
