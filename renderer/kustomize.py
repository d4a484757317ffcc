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
import os
import re
from pathlib import Path

import click

from renderer import guard, yamlcodec
from renderer.cnpg.meta import GENERATED_FOR
from renderer.errors import Document, Notice, RenderError, yaml_problem
from renderer.yamlcodec import mapping_at, value_at

API_VERSION = "cnpg-render.io/v1"
KIND = "CnpgBackup"
OPTIONS = ("release", "namespace")
CONFIG_KEYS = ("apiVersion", "kind", "metadata", *OPTIONS)
# kpt/kustomize write an item back to the file named here; items we add go with their Cluster.
PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")
# Annotations kustomize and kpt add to a config object on its way to us.
_ORCHESTRATOR_PREFIXES = ("config.kubernetes.io/", "internal.config.kubernetes.io/", "kustomize.config.k8s.io/",
                          "config.k8s.io/")


def config_from(text: str, source: str):
    """(Overlay, Context) from the text of a CnpgBackup object. The overlay is read
    from the whole text (the wrapper keys set aside), so an error names the line the
    user wrote, in `source`."""
    from renderer import overlay as overlay_model
    from renderer.transform import Context

    obj = _load_plain(text, source)
    if not isinstance(obj, dict) or obj.get("apiVersion") != API_VERSION or obj.get("kind") != KIND:
        raise RenderError(source, f"expected a {API_VERSION} {KIND} object as the function config")
    options = {key: obj.get(key) for key in OPTIONS}
    for key, value in options.items():
        if value is not None and not isinstance(value, str):
            raise RenderError(f"{source}: {key}", f"must be a string, e.g. {key}: shop")
    overlay = overlay_model.parse([(source, text)], wrapper=CONFIG_KEYS)
    return overlay, Context(release=options["release"], namespace=options["namespace"])


def load_config_file(path: str):
    """The legacy plugin's argv[1]: kustomize's copy of the config object, keys sorted
    and comments gone. When the user's own file can be found (beside the
    kustomization), it is read instead, so errors give its lines."""
    copy = _read_text(path, "cannot read plugin config")
    obj = _load_plain(copy, path)
    found = user_config(obj, os.environ.get("KUSTOMIZE_PLUGIN_CONFIG_ROOT"))
    if found is not None:
        return config_from(*reversed(found))
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return config_from(copy, f"{KIND}/{name} (kustomize's copy; line numbers are of that copy)" if name else path)


def user_config(obj, root: str | None) -> tuple[str, str] | None:
    """(file, text) of the document among the kustomization's transformer files that
    holds `obj`, the text padded with blank lines so that its line numbers are the
    file's; None when it cannot be found (inline config, remote file, no root)."""
    if not root:
        return None
    kustomization = next((Path(root, n) for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
                          if Path(root, n).is_file()), None)
    if kustomization is None:
        return None
    try:
        listed = yamlcodec.load(kustomization.read_text(encoding="utf-8")) or {}
    except Exception:  # a kustomization we cannot read: fall back to kustomize's copy
        return None
    entries = [e for key in ("transformers", "generators", "validators") for e in (listed.get(key) or [])
               if isinstance(e, str) and "\n" not in e and "://" not in e] if isinstance(listed, dict) else []
    for entry in entries:
        found = _document_holding(Path(root, entry), _comparable(obj))
        if found is not None:
            return str(Path(root, entry)), found
    return None


def _document_holding(path: Path, wanted) -> str | None:
    from renderer import stream

    try:
        data = path.read_bytes()
    except OSError:
        return None
    for chunk in stream.split(data):
        try:
            if _comparable(_load_plain(chunk.body, str(path))) == wanted:
                return "\n" * data.count(b"\n", 0, chunk.start) + chunk.body
        except (RenderError, UnicodeDecodeError):
            continue
    return None


def _comparable(obj):
    """`obj` without the annotations kustomize adds on its way to us."""
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return obj
    metadata = dict(obj["metadata"])
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items()
                   if not str(k).startswith(_ORCHESTRATOR_PREFIXES)}
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    return {**obj, "metadata": metadata}


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(path, f"{what}: {getattr(exc, 'strerror', None) or exc}") from None


def _load_plain(text: str, where: str):
    try:
        return yamlcodec.load(text)
    except yamlcodec.YamlError as exc:
        raise RenderError(where, str(exc)) from None


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
    from renderer.extras import require
    from renderer.render import render

    require("ruamel.yaml", "krm")
    try:  # the one codec reads it first: bounded before ruamel builds anything
        plain = yamlcodec.load_all(text)
    except yamlcodec.YamlError as exc:
        raise RenderError("stdin", f"not a ResourceList: {exc}") from None
    rt = _yaml()
    rlist = _read_resource_list(rt, text)
    items = list(rlist.get("items") or [])
    try:
        function_config = rlist.get("functionConfig")
        overlay, context = config_from(_dump(rt, function_config) if function_config is not None else "",
                                       _config_name(function_config))
        guard.note(release=context.release)
        texts = _render_texts(plain)
        rendered = render("---\n".join(texts).encode("utf-8"), overlay, context)
    except RenderError as error:
        rlist["results"] = [_result("error", str(error), _ref(error.document, items))]
        return _dump(rt, rlist), [], error
    rlist["items"] = _items_from(rt, rendered.output.getvalue().decode("utf-8"), items, texts)
    if rendered.notices:
        rlist["results"] = [_result("warning", str(n), _ref(n.document, items)) for n in rendered.notices]
    return _dump(rt, rlist), rendered.notices, None


def _render_texts(plain: list) -> list[str]:
    """Each item as the text the render reads, written by the codec from its own reading
    of the ResourceList (the same items, in order): ruamel's writer, pure Python, took
    most of the time of a large list. Only the items the render changes are read back
    with ruamel; the others keep their original nodes (see `_items_from`)."""
    items = value_at(plain[0], "items") if plain else None
    return [yamlcodec.dump(item) for item in items] if isinstance(items, list) else []


def _config_name(function_config) -> str:
    """The file kpt/kustomize read the function config from, when it says; else `functionConfig`."""
    annotations = mapping_at(function_config, "metadata", "annotations")
    return next((str(annotations[k]) for k in PATH_ANNOTATIONS if k in annotations), "functionConfig")


def _read_resource_list(rt, text: str):
    from ruamel.yaml.error import YAMLError

    try:
        rlist = rt.load(text)
    except YAMLError as exc:
        raise RenderError("stdin", f"invalid ResourceList YAML{yaml_problem(exc)}") from None
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
        if mapping_at(item).get("kind") == "Cluster":
            annotations = mapping_at(item, "metadata", "annotations")
            paths[str(mapping_at(item, "metadata").get("name"))] = {
                k: annotations[k] for k in PATH_ANNOTATIONS if k in annotations}
    for item in items:
        annotations = mapping_at(item, "metadata", "annotations")
        if GENERATED_FOR not in annotations:
            continue
        for key, value in paths.get(str(annotations[GENERATED_FOR]), {}).items():
            annotations.setdefault(key, value)


def _ref(document: Document | None, items: list) -> dict | None:
    """resourceRef of the item a finding is about: the document index it carries as data."""
    if document is None or not 0 <= document.index < len(items) or not isinstance(items[document.index], dict):
        return None
    item = items[document.index]
    meta = item.get("metadata")
    meta = meta if isinstance(meta, dict) else {}  # "metadata must be a mapping" is about this item too
    ref = {"apiVersion": item.get("apiVersion"), "kind": item.get("kind"), "name": meta.get("name")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


def _result(severity: str, message: str, ref: dict | None) -> dict:
    result: dict = {"message": guard.clean(message), "severity": severity}
    if ref:
        result["resourceRef"] = ref
    return result


# --- commands -------------------------------------------------------------------------


def for_exec_plugin(where: str, document: Document | None) -> str:
    """A location naming a document by kind and name: kustomize hands us its own
    re-sorted copy of the stream, so "document 4" would point at nothing the user sees."""
    return document.resource() if document is not None and where == document else where


@click.command("kustomize-plugin")
@click.argument("config", metavar="CONFIG")
def plugin_command(config: str) -> None:
    """kustomize legacy exec plugin: CONFIG is the CnpgBackup object; stream in/out."""
    from renderer.render import render
    from renderer.shell import stdin

    overlay, context = load_config_file(config)
    guard.note(release=context.release)
    try:
        rendered = render(stdin().read(), overlay, context)
    except RenderError as error:
        raise RenderError(for_exec_plugin(error.where, error.document), error.what, error.document) from None
    guard.warn(Notice(for_exec_plugin(n.where, n.document), n.what) for n in rendered.notices)
    guard.emit(rendered.output)


@click.command("krm")
def krm_command() -> None:
    """KRM function: ResourceList in, ResourceList out (kpt, kustomize --enable-exec).
    An error is a result in the ResourceList written out, and exit 1."""
    from renderer.shell import stdin

    try:
        text = stdin().read().decode("utf-8")
    except UnicodeDecodeError:
        raise RenderError("stdin", "the ResourceList is not UTF-8 text") from None
    out, notices, error = process_resource_list(text)
    guard.emit([out])
    if error is not None:
        raise error
    guard.warn(notices)
