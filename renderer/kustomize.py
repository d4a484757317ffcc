"""kustomize edges: the legacy exec plugin and the KRM function (ResourceList) mode.

Both are configured by one KRM object,

    apiVersion: cnpg-render.io/v1
    kind: CnpgBackup
    metadata: {name: backups}
    release: shop          # optional: --release
    namespace: shop-prod   # optional: --namespace
    credentials: {...}     # everything else is the overlay
    cnpg: {...}

so the same file works as a kustomize transformer and as a kpt/kustomize function
config. This module only converts formats; `render.render` does the work.

- `kustomize-plugin CONFIG`: what `kubectl kustomize --enable-alpha-plugins` runs
  (found at $KUSTOMIZE_PLUGIN_HOME/cnpg-render.io/v1/cnpgbackup/CnpgBackup): plain
  multi-document stream on stdin and stdout, argv[1] = the config file.
- `krm`: a ResourceList on stdin and stdout (kustomize --enable-exec, kpt fn eval
  --exec). Untouched items are written back from their round-trip nodes, so their
  comments survive; notices and errors become `results`.
"""

from __future__ import annotations

import io
import re
import sys

import click

from renderer.errors import Notice, RenderError
from renderer.overlay import source as overlay_source
from renderer.overlay.source import Source

API_VERSION = "cnpg-render.io/v1"
KIND = "CnpgBackup"
OPTIONS = ("release", "namespace")
CONFIG_KEYS = ("apiVersion", "kind", "metadata", *OPTIONS)
GENERATED_FOR = "cnpg-render.io/generated-for"
# kpt/kustomize write an item back to the file named here; items we add go with their Cluster.
PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")


def config_from(config: Source, source: str):
    """(Overlay, Context) from a CnpgBackup object, as read by `overlay.source.read`
    (so its values are read as every overlay is, and errors point at its lines)."""
    from renderer import overlay as overlay_model
    from renderer.transform import Context

    obj = config.values
    if not isinstance(obj, dict) or obj.get("apiVersion") != API_VERSION or obj.get("kind") != KIND:
        raise RenderError(source, f"expected a {API_VERSION} {KIND} object as the function config")
    name = str((obj.get("metadata") or {}).get("name") or "")
    where = f"{KIND}/{name}" if name else source
    options = {key: obj.get(key) for key in OPTIONS}
    for key, value in options.items():
        if value is not None and not isinstance(value, str):
            raise RenderError(f"{where}: {key}", "must be a string")
    rest = config.without(CONFIG_KEYS)
    rest.lines = {path: (where, line) for path, (_, line) in rest.lines.items()}
    overlay = overlay_model.convert([rest], (where,))
    return overlay, Context(release=options["release"], namespace=options["namespace"])


def load_config_file(path: str):
    """The legacy plugin's argv[1]: a file kustomize wrote holding the config object."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(path, f"cannot read plugin config: {getattr(exc, 'strerror', None) or exc}") from None
    return config_from(overlay_source.read(path, text, what="the plugin config"), path)


# --- KRM ResourceList ---------------------------------------------------------------


def _yaml():
    """ruamel round-trip: keeps comments, key order and quotes of the items we do not change."""
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _dump(rt, node) -> str:
    buf = io.StringIO()
    rt.dump(node, buf)
    return buf.getvalue()


def process_resource_list(text: str) -> tuple[str, list[Notice], RenderError | None]:
    """(output ResourceList text, notices, error). An error is also a result, as the
    KRM spec asks, and the items then go back unchanged."""
    from renderer.render import render

    try:  # the one codec reads it first: bounded, and the config read as every overlay is
        read = overlay_source.read("stdin", text, what="a ResourceList")
    except RenderError as error:
        raise RenderError(error.where, f"not a ResourceList: {error.what}") from None
    rt = _yaml()
    rlist = _read_resource_list(rt, text)
    items = list(rlist.get("items") or [])
    try:
        overlay, context = config_from(read.child("functionConfig"), "functionConfig")
        texts = [_dump(rt, item) for item in items]
        rendered = render("---\n".join(texts).encode("utf-8"), overlay, context)
    except RenderError as error:
        rlist["results"] = [_result("error", str(error), _ref_for(error.where, items))]
        return _dump(rt, rlist), [], error
    rlist["items"] = _items_from(rt, rendered.output.getvalue().decode("utf-8"), items, texts)
    if rendered.notices:
        rlist["results"] = [_result("warning", str(n), _ref_for(n.where, items)) for n in rendered.notices]
    return _dump(rt, rlist), rendered.notices, None


def _read_resource_list(rt, text: str):
    from ruamel.yaml.error import YAMLError

    try:
        rlist = rt.load(text)
    except YAMLError as exc:
        raise RenderError("stdin", f"invalid ResourceList YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(rlist, dict) or rlist.get("kind") != "ResourceList":
        raise RenderError("stdin", "expected a config.kubernetes.io/v1 ResourceList")
    if not isinstance(rlist.get("items") or [], list):
        raise RenderError("stdin", "ResourceList items must be a list")
    return rlist


def _items_from(rt, output: str, items: list, texts: list[str]) -> list:
    """Output documents as items: an unchanged one is its original node (comments
    kept), a changed or added one is parsed from the core's text."""
    from renderer import stream

    unchanged: dict[str, list] = {}
    for item, text in zip(items, texts):
        unchanged.setdefault(text, []).append(item)
    out = []
    for chunk in stream.split(output.encode("utf-8")):
        body = re.sub(r"\A---[ \t]*\n", "", chunk.data.decode("utf-8"))
        if not body.strip():
            continue
        same = unchanged.get(body)
        out.append(same.pop(0) if same else rt.load(body))
    _place_added(out)
    return out


def _place_added(items: list) -> None:
    """Give objects we generated their Cluster's file path, so kpt writes them beside it."""
    paths = {}
    for item in items:
        if item.get("kind") == "Cluster":
            annotations = (item.get("metadata") or {}).get("annotations") or {}
            paths[(item["metadata"].get("name"))] = {k: annotations[k] for k in PATH_ANNOTATIONS if k in annotations}
    for item in items:
        annotations = (item.get("metadata") or {}).get("annotations")
        if annotations is None or GENERATED_FOR not in annotations:
            continue
        for key, value in paths.get(annotations[GENERATED_FOR], {}).items():
            annotations.setdefault(key, value)


def _ref_for(where: str, items: list) -> dict | None:
    """resourceRef of the item a message is about (`document N …` names its index)."""
    m = re.match(r"document (\d+)", where)
    if not m or int(m.group(1)) >= len(items):
        return None
    item = items[int(m.group(1))]
    meta = item.get("metadata") or {}
    ref = {"apiVersion": item.get("apiVersion"), "kind": item.get("kind"), "name": meta.get("name")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


def _result(severity: str, message: str, ref: dict | None) -> dict:
    result = {"message": message, "severity": severity}
    if ref:
        result["resourceRef"] = ref
    return result


# --- commands -------------------------------------------------------------------------


@click.command("kustomize-plugin")
@click.argument("config", metavar="CONFIG")
def plugin_command(config: str) -> None:
    """kustomize legacy exec plugin: CONFIG is the CnpgBackup object; stream in/out."""
    from renderer.render import render
    from renderer.shell import fail, warn

    try:
        overlay, context = load_config_file(config)
        rendered = render(sys.stdin.buffer.read(), overlay, context)
    except RenderError as error:
        fail(error)
    warn(rendered.notices)
    rendered.output.write(sys.stdout.buffer)
    sys.stdout.buffer.flush()


@click.command("krm")
def krm_command() -> None:
    """KRM function: ResourceList in, ResourceList out (kpt, kustomize --enable-exec)."""
    from renderer.shell import fail, warn

    try:
        out, notices, error = process_resource_list(sys.stdin.read())
    except RenderError as unreadable:
        fail(unreadable)
    sys.stdout.write(out)
    sys.stdout.flush()
    if error is not None:
        fail(error)
    warn(notices)
