"""Loading and dumping the few documents we touch.

Kubernetes reads manifests as YAML 1.1 through go-yaml, so we load with libyaml (fast)
but keep timestamps as strings (the API server sees strings), and we accept tags
PyYAML does not know, such as the bare `=` that real CRDs carry. Dumping is block
style in the order the mapping was built, never with aliases."""

from __future__ import annotations

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class Loader(_Loader):
    """Safe loader that keeps `2024-01-01` a string and tolerates unknown tags."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}


def _construct_plain(loader: yaml.Loader, suffix: str, node: yaml.Node):
    """Build an untagged value for a tag we do not know (e.g. `tag:yaml.org,2002:value`)."""
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


Loader.add_multi_constructor("", _construct_plain)
Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


class Dumper(_Dumper):
    """Block style, insertion order, literal blocks for multi-line strings, no aliases."""

    def ignore_aliases(self, data):
        return True


def _represent_str(dumper: yaml.Dumper, value: str):
    style = "|" if "\n" in value and not value.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _represent_str)


def load(text: str | bytes):
    """Parse one YAML document (raises yaml.YAMLError on bad input)."""
    return yaml.load(text, Loader=Loader)


def dump(obj, *, as_json: bool = False, newline: str = "\n") -> str:
    """Serialize one document; JSON input stays JSON, CRLF input stays CRLF."""
    if as_json:
        import json

        text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.dump(obj, Dumper=Dumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=4096, indent=2)
    return text.replace("\n", newline) if newline != "\n" else text
