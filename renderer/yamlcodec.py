"""The one YAML codec: every reader (render, diff, plan, validate, live, the kustomize
exec plugin and KRM function, bump's overlay reader) loads through here, and every
document we write is dumped from here.

One reading for everything, the one that decides what a manifest means: Kubernetes'
(Helm, kubectl and the API server read YAML with go-yaml v2). So `yes`/`no`/`on`/`off`/
`y`/`n` are booleans, `010` is octal and `08` the float 8, `1_000` is 1000 and `1e3` a
float — and, where go-yaml keeps text, so do we: `1:30` (no sexagesimal) and dates. A
bare `=` is the string "=" (kube-prometheus-stack's CRDs carry it).

What the reading refuses, each with its line (`YamlError`): duplicate keys (a merge key
`<<` is not one: explicit keys win over merged ones, as YAML defines), nesting deeper
than MAX_DEPTH, aliases used more than MAX_ALIASES times or adding more than
MAX_EXPANSION nodes (a few hundred bytes of nested aliases would otherwise expand to
gigabytes when written back or walked), numbers longer than MAX_NUMBER characters, and
values an explicit tag cannot hold (`!!int abc`). Aliases are expanded into fresh
values, so an edit of one place never shows up in another.

Writing quotes every string that any YAML reader (1.1, 1.2, go-yaml) could take for
something else, so what we write means the same to every reader — and to us again.

Speed: libyaml composes the nodes; one Python pass builds plain values and checks the
rules on the way, cheaper than PyYAML's own constructor. Documents that cannot be
targets are never built: `top_level_kinds` reads only the parser's events."""

from __future__ import annotations

import re

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

MAX_DEPTH = 100  # nesting levels; the deepest manifest we know (a CRD schema) has 28
MAX_ALIASES = 1_000  # alias uses in one document
MAX_EXPANSION = 100_000  # nodes that aliases and merge keys add to one document
MAX_NUMBER = 100  # characters of a number; an int64 has at most 20

_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL, _MERGE = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"
_SEQ, _MAP, _BINARY = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", "tag:yaml.org,2002:binary"

# Implicit types of plain scalars, as go-yaml v2 resolves them: words by name, numbers
# by pattern (an integer first).
_WORDS = {**dict.fromkeys(["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
                           "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"],
                          _BOOL),
          **dict.fromkeys(["~", "null", "Null", "NULL", ""], _NULL), "<<": _MERGE,
          **dict.fromkeys([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
                           ".nan", ".NaN", ".NAN"], _FLOAT)}
# The number patterns are text: `re` compiles one the first time a number is not a
# plain decimal integer, which most manifests never write.
_INTEGER = (r"[-+]?(?:0[bB]_*[01][01_]*|0[oO]_*[0-7][0-7_]*|0[xX]_*[0-9a-fA-F][0-9a-fA-F_]*|0[0-7_]*"
            r"|[1-9][0-9_]*)")
_DECIMAL = r"[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9][0-9_]*)?"
_NUMBER_START = frozenset("-+.0123456789")
# Plain text that a YAML reader takes for something other than a string, beyond what
# PyYAML's writer already quotes (YAML 1.1 as PyYAML reads it): go-yaml's y/n, 0o17,
# 0X1F, 08 and 1e3, and numbers as loosely as ruamel's YAML 1.2 spells them (`_` anywhere).
_AMBIGUOUS = re.compile(r"[yYnN]|[-+]?[0-9_.]+(?:[eE][-+]?[0-9_]*)?|[-+]?0[bBoOxX][0-9a-fA-F_]*|[-+]?\.(?:inf|Inf|INF)")
_AMBIGUOUS_START = frozenset("yYnN-+._0123456789")  # most strings start otherwise: no pattern to try


def _plain_tag(text: str) -> str:
    """The type of a plain scalar."""
    tag = _WORDS.get(text)
    if tag is not None:
        return tag
    if text[0] in _NUMBER_START:
        if text.isascii() and text.isdigit() and (text[0] != "0" or len(text) == 1):
            return _INT  # `3`, `5432`: what _INTEGER's last form matches, without the pattern
        if re.fullmatch(_INTEGER, text):
            return _INT
        if re.fullmatch(_DECIMAL, text):
            return _FLOAT
    return _STR


try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML without libyaml: the same reading, slower
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _PyParser(Reader, Scanner, Parser, Composer):
        def __init__(self, text):
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)

    # the pure-Python parser stands in for libyaml's: same interface, another class
    _CParser = _PyParser  # type: ignore[misc, assignment]


class _Parser(_CParser):
    """libyaml's parser and composer; the composer asks us the type of each node."""

    def resolve(self, kind, value, implicit) -> str:
        if kind is ScalarNode:
            return _plain_tag(value) if implicit[0] else _STR
        return _SEQ if kind is SequenceNode else _MAP

    def descend_resolver(self, current_node, current_index) -> None:
        """No path-dependent types: nothing to track."""

    def ascend_resolver(self) -> None:
        """No path-dependent types: nothing to track."""


class YamlError(ValueError):
    """Text the codec will not read: `problem` says why and how to fix it, `line`
    (1-based, within the text given; None when unknown) where, and `path` the key path
    it was met at (when reading with `load_located`)."""

    def __init__(self, problem: str, line: int | None = None, path: tuple = ()):
        super().__init__(f"line {line}: {problem}" if line else problem)
        self.problem, self.line, self.path = problem, line, path


class Located:
    """Values with, for each key path, the line it was written on and, where a plain
    scalar became a number, boolean or null, the text as written."""

    def __init__(self, value, lines: dict[tuple, int], texts: dict[tuple, str]):
        self.value, self.lines, self.texts = value, lines, texts


def load(text: str):
    """The one document of `text` (None when it holds none)."""
    parser = _Parser(text)
    try:
        node = _read(parser.get_single_node)
        return None if node is None else _Builder().build(node)
    finally:
        parser.dispose()


def load_all(text: str) -> list:
    """Every document of `text` that holds something, in order."""
    parser = _Parser(text)
    try:
        docs = []
        while _read(parser.check_node):
            doc = _Builder().build(_read(parser.get_node))
            if doc is not None:
                docs.append(doc)
        return docs
    finally:
        parser.dispose()


def load_located(text: str) -> Located | None:
    """The one document of `text`, with where each value was written (for overlays,
    whose errors point at a line and a key path)."""
    parser = _Parser(text)
    try:
        node = _read(parser.get_single_node)
        if node is None:
            return None
        builder = _Builder(located=True)
        return Located(builder.build(node), builder.lines, builder.texts)
    finally:
        parser.dispose()


def copy_value(value):
    """A fresh copy of a value as the codec builds them (dicts, lists, scalars):
    what an edit needs, without `copy.deepcopy`'s machinery on the render path."""
    if isinstance(value, dict):
        return {key: copy_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_value(item) for item in value]
    return value


def values_in(value: object, limit: int) -> int:
    """How many values `value` holds, itself included; counting stops past `limit`
    (what a copy of it would add to a document, for the MAX_EXPANSION rule)."""
    count, pending = 0, [value]
    while pending and count <= limit:
        item = pending.pop()
        count += 1
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def value_at(value: object, *keys: str) -> object:
    """The value at `keys` inside a parsed value; None where there is none, or where
    something on the way is no mapping (charts render any shape)."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def mapping_at(value: object, *keys: str) -> dict:
    """The mapping at `keys` (see `value_at`); {} where there is none."""
    found = value_at(value, *keys)
    return found if isinstance(found, dict) else {}


_SHAPE_NAMES: dict[type, str] = {dict: "mapping", list: "list", str: "string"}


def misshapen(obj: object, shapes: tuple[tuple[str, type], ...]) -> str | None:
    """What is wrong with the first field of `obj` that has another type than `shapes`
    demand ((dotted path, dict | list | str); `x[]` is each item of list x), or None.
    Null is absent, as the API server reads it."""
    for path, kind in shapes:
        for at, value in _values(obj, path.split(".")):
            if value is not None and not isinstance(value, kind):
                return f"{at} must be a {_SHAPE_NAMES[kind]}" + _as_read(value, kind)
    return None


def _as_read(value: object, kind: type) -> str:
    """Why a name that looks like text is not: YAML 1.1 (as Kubernetes reads it) took it
    for a boolean or a number (`namespace: n`, `name: 0700`)."""
    if kind is str and isinstance(value, (bool, int, float)):
        return f" (YAML reads it as {str(value).lower() if isinstance(value, bool) else value}: quote it)"
    return ""


def _values(node: object, keys: list[str], at: str = ""):
    """(path as written, value) of every value at `keys` that is there."""
    if not keys:
        yield at, node
        return
    key, rest = keys[0], keys[1:]
    if key.endswith("[]"):
        items = node.get(key[:-2]) if isinstance(node, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else []):
            yield from _values(item, rest, f"{at}{key[:-2]}[{i}]" + ("." if rest else ""))
    elif isinstance(node, dict) and key in node:
        yield from _values(node[key], rest, f"{at}{key}" + ("." if rest else ""))


def is_list(obj) -> bool:
    """A `v1/List` or any other object holding `items` (kubectl flattens every object
    whose `items` is a list, whatever its kind)."""
    return isinstance(obj, dict) and isinstance(obj.get("items"), list)


def iter_objects(docs):
    """Every object of `docs`, the items of Lists in their place."""
    for doc in docs:
        if is_list(doc):
            yield from iter_objects(doc["items"])
        else:
            yield doc


def top_level_kinds(text: str) -> set[str] | None:
    """What a document's top-level `kind` could be, read from the parser's events
    without building anything: the values of its top-level `kind` keys, plus "List"
    when it has a top-level `items` key. None when only a full read can tell (an alias
    or merge key at the top level). Raises YamlError for text the parser rejects."""
    parser = _Parser(text)
    try:
        return _top_level_kinds(parser)
    finally:
        parser.dispose()


def _top_level_kinds(parser) -> set[str] | None:
    kinds: set[str] = set()
    depth, key, is_key, in_mapping = 0, None, True, False
    while _read(parser.check_event):
        event = _read(parser.get_event)
        if isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            depth -= 1
            continue
        if depth == 1 and in_mapping and isinstance(event, _NODE_EVENTS):
            if is_key:
                if isinstance(event, AliasEvent) or (isinstance(event, ScalarEvent) and event.value == "<<"):
                    return None
                key = event.value if isinstance(event, ScalarEvent) else None
                kinds.update(("List",) if key == "items" else ())
            elif key == "kind":
                if isinstance(event, AliasEvent):
                    return None
                kinds.update((event.value,) if isinstance(event, ScalarEvent) else ())
            is_key = not is_key
        if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            in_mapping = in_mapping if depth else isinstance(event, MappingStartEvent)
            depth += 1
    return kinds


_NODE_EVENTS = (ScalarEvent, AliasEvent, MappingStartEvent, SequenceStartEvent)


def _read(step):
    """One parser step, its errors as a YamlError with the line."""
    try:
        return step()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        said = ": ".join(part for part in (exc.context, exc.problem) if part) or "cannot be parsed"
        raise YamlError(f"invalid YAML: {said}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else 'cannot be parsed'}") from None


class _Builder:
    """One pass from composed nodes to plain dicts, lists and scalars, refusing what
    the module docstring lists. `located`: also record each key path's line and the
    text of plain scalars that did not stay strings."""

    def __init__(self, located: bool = False):
        self.seen: set[int] = set()
        self.aliases = self.added = 0
        self.lines: dict[tuple, int] = {}
        self.texts: dict[tuple, str] = {}
        self.located = located

    def build(self, node, depth: int = 0, path: tuple = (), replay: bool = False):
        if depth > MAX_DEPTH:
            raise YamlError(f"nests deeper than {MAX_DEPTH} levels" +
                            (" (an alias used inside its own anchor?)" if replay else ""), _line(node))
        replay = self._count(node, replay)
        if self.located:
            self.lines[path] = _line(node)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, depth + 1, (*path, i) if self.located else path, replay)
                    for i, item in enumerate(node.value)]
        return self._mapping(node, depth, path, replay)

    def _count(self, node, replay: bool) -> bool:
        """Aliases and merges reach a node again: each such use, and each node it adds,
        is counted against the limits. Returns whether `node` is being replayed."""
        if not replay:
            if id(node) not in self.seen:
                self.seen.add(id(node))
                return False
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise YamlError(f"uses aliases more than {MAX_ALIASES} times: write the values out", _line(node))
        self.added += 1
        if self.added > MAX_EXPANSION:
            raise YamlError(f"aliases expand to more than {MAX_EXPANSION} added values: write the values out",
                            _line(node))
        return True

    def _mapping(self, node, depth: int, path: tuple, replay: bool) -> dict:
        """Explicit keys (each once) win over merged ones; of merged mappings, the
        first listed wins (YAML's merge key, https://yaml.org/type/merge.html)."""
        merges = [value for key, value in node.value if key.tag == _MERGE]
        merged = [source for value in merges for source in self._merged(value, depth, path, replay)]
        if merged and self.located:
            self.lines[path] = _line(node)  # the merged mappings recorded their own
        own: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self._key(key_node, path)
            if key in own:
                raise YamlError(f"duplicate key {_shown(key)}: write each key once", _line(key_node),
                                (*path, key) if self.located else ())
            own[key] = self.build(value_node, depth + 1, (*path, key) if self.located else path, replay)
        if not merged:
            return own
        out: dict = {}
        for source in reversed(merged):
            out.update(source)
        out.update(own)
        return out

    def _merged(self, node, depth: int, path: tuple, replay: bool) -> list[dict]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        if not all(isinstance(source, MappingNode) for source in sources):
            raise YamlError("a merge key (<<) takes a mapping or a list of mappings", _line(node), path)
        return [self.build(source, depth + 1, path, replay) for source in sources]

    def _key(self, node, path: tuple):
        if not isinstance(node, ScalarNode):
            raise YamlError("a mapping key must be a scalar, not a " +
                            ("list" if isinstance(node, SequenceNode) else "mapping"), _line(node), path)
        return self._scalar(node, path, key=True)

    def _scalar(self, node, path: tuple, key: bool = False):
        tag, text = node.tag, node.value
        if tag == _STR or tag not in _SCALARS:
            return text  # strings, and tags we do not know (`!foo`, the `=` value tag): their text
        if tag in (_INT, _FLOAT) and len(text) > MAX_NUMBER:
            raise YamlError(f"a number of {len(text)} characters is more than any Kubernetes field holds: "
                            "quote it if it is text", _line(node), path)
        try:
            value = _SCALARS[tag](text)
        except ValueError:
            raise YamlError(f"!!{tag.rsplit(':', 1)[-1]} does not fit this value: drop the tag or fix the value",
                            _line(node), path) from None
        if self.located and not key and not node.style:
            self.texts[path] = text
        return value


def _line(node) -> int:
    return node.start_mark.line + 1


def _shown(key) -> str:
    return repr(key) if len(repr(key)) <= 40 else type(key).__name__


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    prefix = digits[:2].lower()
    if prefix in ("0b", "0o", "0x"):
        return sign * int(digits[2:], {"0b": 2, "0o": 8, "0x": 16}[prefix])
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


def _float(text: str) -> float:
    lowered = text.replace("_", "").lower()
    if lowered.endswith((".inf", ".nan")):
        return float(lowered.replace(".", ""))
    return float(lowered)


def _bool(text: str) -> bool:
    value = text.lower()
    if value not in ("y", "yes", "true", "on", "n", "no", "false", "off"):
        raise ValueError(text)
    return value in ("y", "yes", "true", "on")


def _binary(text: str) -> str:
    """go-yaml decodes the base64 of `!!binary` (line breaks skipped) into a string of
    its bytes, and the JSON Kubernetes keeps holds them as text, bytes that are no UTF-8
    replaced: so do we. ValueError when it is no base64."""
    import base64

    return base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True).decode("utf-8", "replace")


_SCALARS = {_INT: _int, _FLOAT: _float, _BOOL: _bool, _NULL: lambda text: None,
            _MERGE: lambda text: text, _BINARY: _binary}


# --- writing ---------------------------------------------------------------------------

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # PyYAML without libyaml
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]


class Dumper(_Dumper):
    """Block style, insertion order, literal blocks for multi-line strings, no aliases,
    and quotes on every string a YAML reader could take for something else."""

    def ignore_aliases(self, data):
        return True


def _represent_str(dumper: Dumper, value: str) -> ScalarNode:
    style: str | None
    if "\n" in value and not value.endswith((" ", "\t")):
        style = "|"
    else:
        style = "'" if value[:1] in _AMBIGUOUS_START and _AMBIGUOUS.fullmatch(value) else None
    return dumper.represent_scalar(_STR, value, style=style)


Dumper.add_representer(str, _represent_str)


def dump(obj, *, as_json: bool = False, newline: str = "\n") -> str:
    """Serialize one document; JSON input stays JSON, CRLF input stays CRLF."""
    if as_json:
        import json

        text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.dump(obj, Dumper=Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=4096, indent=2)
    return text.replace("\n", newline) if newline != "\n" else text
