"""A chart's Cluster whose fields we read or replace has the shape the CRD gives them;
anything else is one located line, never an internal error (the edit reads the
chart's bootstrap method to carry its database and owner over)."""

import pytest
import yaml

from renderer.find import _SHAPES
from tests.helpers import FIXTURES, run_cli

OVERLAYS = ("--overlay", str(FIXTURES / "overlays" / "backups.yaml"),
            "--overlay", str(FIXTURES / "overlays" / "recovery.yaml"))
WRONG = {dict: "owner", list: {"name": "x"}}


def cluster(path: str, value: object) -> bytes:
    """The demo Cluster with `path` (dotted) set to `value`."""
    obj: dict = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                 "metadata": {"name": "demo-cnpg-main", "namespace": "demo"}, "spec": {"instances": 1}}
    *parents, last = path.split(".")
    node = obj
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return yaml.safe_dump(obj).encode()


# `metadata` itself is left out: a Cluster without one has no name to match by.
NAMED = [(path, kind) for path, kind in _SHAPES if path != "metadata"]


@pytest.mark.parametrize(("path", "kind"), NAMED, ids=[path for path, _ in NAMED])
def test_a_field_of_the_wrong_shape_is_one_line_naming_it(path, kind):
    proc = run_cli("render", *OVERLAYS, stdin=cluster(path, WRONG[kind]))
    expected = "mapping" if kind is dict else "list"
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode() == (f"cnpg-render: error: document 1 (Cluster/demo-cnpg-main): "
                                    f"{path} must be a {expected}\n")


def test_the_shapes_cover_every_bootstrap_method_the_edit_reads():
    assert {"spec.bootstrap.initdb", "spec.bootstrap.recovery", "spec.bootstrap.pg_basebackup"} <= {
        path for path, _ in _SHAPES}
