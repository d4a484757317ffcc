"""A chart's Cluster whose fields we read or replace has the shape the CRD gives them;
anything else is one located line, never an internal error (the edit reads the
chart's bootstrap method, its externalClusters and plugins by name). A null field is
an absent one, as the API server reads it."""

import contextlib
import copy

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from renderer import overlay
from renderer.errors import RenderError
from renderer.find import _SHAPES
from renderer.render import render
from renderer.transform import Context
from tests.helpers import FIXTURES, by_kind, documents, run_cli

OVERLAYS = ("--overlay", str(FIXTURES / "overlays" / "backups.yaml"),
            "--overlay", str(FIXTURES / "overlays" / "recovery.yaml"))
WRONG = {dict: "owner", list: {"name": "x"}, str: ["x"]}
SHAPE = {dict: "mapping", list: "list", str: "string"}


def cluster(path: str, value: object, **metadata) -> bytes:
    """The demo Cluster with `path` (dotted; `x[]` is one item of list x) set to `value`."""
    obj: dict = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                 "metadata": {"name": "demo-cnpg-main", "namespace": "demo", **metadata}, "spec": {"instances": 1}}
    *parents, last = path.split(".")
    node = obj
    for key in parents:
        if key.endswith("[]"):
            node[key[:-2]] = [{}]
            node = node[key[:-2]][0]
        else:
            node = node.setdefault(key, {})
    if last.endswith("[]"):
        node[last[:-2]] = [value]
    else:
        node[last] = value
    return yaml.safe_dump(obj).encode()


def written(path: str) -> str:
    return path.replace("[]", "[0]")


# `metadata` and its name are left out here: a Cluster without them has no name to match by.
NAMED = [(path, kind) for path, kind in _SHAPES if path not in ("metadata", "metadata.name")]


@pytest.mark.parametrize(("path", "kind"), NAMED, ids=[path for path, _ in NAMED])
def test_a_field_of_the_wrong_shape_is_one_line_naming_it(path, kind):
    proc = run_cli("render", *OVERLAYS, stdin=cluster(path, WRONG[kind]))
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode() == (f"cnpg-render: error: document 1 (Cluster/demo-cnpg-main): "
                                    f"{written(path)} must be a {SHAPE[kind]}\n")


def test_a_name_that_is_no_string_is_refused_when_an_entry_selects_the_cluster(tmp_path):
    overlay = tmp_path / "by-label.yaml"
    overlay.write_text("cnpg:\n  main:\n    match: {labels: {app: demo}}\n")
    doc = cluster("metadata.name", ["demo"], labels={"app": "demo"})
    proc = run_cli("render", "--release", "demo", *OVERLAYS, "--overlay", str(overlay), stdin=doc)
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode().endswith(": metadata.name must be a string\n")


@pytest.mark.parametrize(("written_as", "read_as"), [("n", "false"), ("on", "true"), ("0700", "448")])
def test_a_namespace_yaml_reads_as_no_string_says_to_quote_it(written_as, read_as):
    """Kubernetes reads YAML 1.1, as we do: `namespace: n` is false, which the API
    server refuses too."""
    doc = cluster("spec.instances", 1).replace(b"namespace: demo", f"namespace: {written_as}".encode())
    proc = run_cli("render", *OVERLAYS, stdin=doc)
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode().endswith(f": metadata.namespace must be a string (YAML reads it as {read_as}: "
                                         "quote it)\n")


@pytest.mark.parametrize("path", ["spec", "spec.backup", "spec.bootstrap", "spec.externalClusters", "spec.plugins",
                                  "metadata.annotations", "metadata.labels"])
def test_a_null_container_is_an_absent_one(path):
    proc = run_cli("render", *OVERLAYS, "--release", "demo", stdin=cluster(path, None))
    assert proc.returncode == 0, proc.stderr.decode()
    [out] = by_kind(documents(proc.stdout), "Cluster")
    assert out["spec"]["bootstrap"]["recovery"] and out["spec"]["backup"]["barmanObjectStore"]


def test_the_shapes_cover_every_bootstrap_method_the_edit_reads():
    assert {"spec.bootstrap.initdb", "spec.bootstrap.recovery", "spec.bootstrap.pg_basebackup"} <= {
        path for path, _ in _SHAPES}


# --------------------------------------------------------------------------- any shape

ENTRIES = {
    "standalone": "main: {backups: {enabled: true, credentials: s3, manualBackups: [{name: before}]}}",
    "recovery": "main: {mode: recovery, backups: {enabled: true, credentials: s3}, "
                "recovery: {credentials: s3, pitrTarget: {time: '2026-01-01T00:00:00Z'}}}",
    "plugin": "main: {engine: plugin, mode: recovery, backups: {enabled: true, credentials: s3}, "
              "recovery: {credentials: s3}}",
    "snapshot": "main: {mode: recovery, backups: {enabled: true, volumeSnapshot: {className: c}}, "
                "recovery: {method: volumeSnapshot, volumeSnapshots: {storage: s}}}",
}
CHART = {"metadata": {"name": "r-cnpg-main", "namespace": "shop", "labels": {"a": "b"}, "annotations": {"x": "y"}},
         "spec": {"instances": 1, "bootstrap": {"initdb": {"database": "app", "owner": "app"}},
                  "backup": {"barmanObjectStore": {"destinationPath": "s3://x"}, "volumeSnapshot": {"className": "c"}},
                  "externalClusters": [{"name": "old", "barmanObjectStore": {"destinationPath": "s3://y"}}],
                  "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "parameters": {"barmanObjectName": "o"}}]}}
# Where a chart may put something odd: every field above, and those we read that it lacks
# (a key path; "[]" is the first item of a list).
PLACES = [("metadata",), ("metadata", "name"), ("metadata", "namespace"), ("metadata", "labels"),
          ("metadata", "labels", "app.kubernetes.io/instance"), ("metadata", "annotations"),
          ("metadata", "annotations", "cnpg.io/hibernation"), ("spec",), ("spec", "bootstrap"),
          ("spec", "bootstrap", "initdb"), ("spec", "bootstrap", "initdb", "database"),
          ("spec", "bootstrap", "recovery"),
          ("spec", "bootstrap", "recovery", "source"), ("spec", "bootstrap", "pg_basebackup"), ("spec", "backup"),
          ("spec", "backup", "barmanObjectStore"), ("spec", "backup", "volumeSnapshot"),
          ("spec", "backup", "retentionPolicy"), ("spec", "externalClusters"), ("spec", "externalClusters", "[]"),
          ("spec", "externalClusters", "[]", "name"), ("spec", "plugins"), ("spec", "plugins", "[]"),
          ("spec", "plugins", "[]", "name"), ("spec", "plugins", "[]", "parameters")]
ODD = st.recursive(st.none() | st.booleans() | st.integers() | st.sampled_from(["", "x", "on", "owner", "r-cnpg-main"]),
                   lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["name", "a"]), inner,
                                                                                 max_size=2), max_leaves=4)


def put(node: object, path: tuple, value: object) -> None:
    """`value` at `path`, where what is on the way lets it go."""
    *parents, last = path
    for key in parents:
        if key == "[]":
            node = node[0] if isinstance(node, list) and node else None
        else:
            node = node.get(key) if isinstance(node, dict) else None
    if last == "[]" and isinstance(node, list) and node:
        node[0] = value
    elif isinstance(node, dict):
        node[last] = value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PLACES), ODD), min_size=1, max_size=3),
       st.sampled_from(sorted(ENTRIES)), st.booleans())
def test_a_cluster_of_any_shape_renders_or_is_refused_in_one_line(changes, entry, in_a_list):
    obj = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", **copy.deepcopy(CHART)}
    for path, value in changes:
        put(obj, path, value)
    docs = [{"apiVersion": "v1", "kind": "List", "items": [obj]}] if in_a_list else [obj]
    source = "credentials:\n  s3: {type: s3, bucket: b, accessKey: a, secretKey: s}\ncnpg:\n  " + ENTRIES[entry] + "\n"
    with contextlib.suppress(RenderError):  # one located line (the guard prints it); anything else is a crash
        render(yaml.safe_dump_all(docs).encode(), overlay.parse([("o.yaml", source)]), Context(release="r"))
