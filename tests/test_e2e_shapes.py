"""The shape refusals of tests/test_cluster_shapes.py, beside what the real parts say.

Metadata: the real kubectl (1.30 and 1.35) decodes every object into ObjectMeta before it
talks to a server, and refuses there exactly the values we refuse (`namespace: n` is false
to it too); the quoted spelling gets past decoding, only to find no server here. Spec: the
real Cluster CRD's schema (what the API server checks) refuses each spec shape we refuse."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from renderer.find import _SHAPES
from renderer.validate import Schemas, check_schema
from tests.e2e_helpers import TOOLS
from tests.helpers import CRDS
from tests.test_cluster_shapes import WRONG, cluster, written

pytestmark = pytest.mark.e2e

NOT_DECODED = "unable to decode"  # kubectl's words for an object its types refuse
NO_SERVER = "unable to recognize"  # decoded; then the kind must be looked up on a server


def kubectl_create(major: int, doc: bytes, tmp_path) -> str:
    manifest = tmp_path / "cluster.yaml"
    manifest.write_bytes(doc)
    proc = subprocess.run([str(TOOLS / f"helm{major}" / "kubectl"), "create", "--dry-run=client",
                           "--validate=false", "-o", "json", "-f", str(manifest)],
                          capture_output=True, text=True, env={"KUBECONFIG": "/dev/null", "HOME": str(tmp_path)},
                          timeout=60)
    assert proc.returncode != 0  # never succeeds here: no API server
    return proc.stderr


@pytest.mark.parametrize("major", [3, 4])
@pytest.mark.parametrize(("written_as", "quoted"), [("n", '"n"'), ("on", '"on"'), ("0700", '"0700"')])
def test_kubectl_refuses_the_namespace_we_refuse_and_decodes_the_quoted_one(major, written_as, quoted, tmp_path):
    doc = cluster("spec.instances", 1)
    assert NOT_DECODED in kubectl_create(major, doc.replace(b"namespace: demo", f"namespace: {written_as}".encode()),
                                         tmp_path)
    assert NO_SERVER in kubectl_create(major, doc.replace(b"namespace: demo", f"namespace: {quoted}".encode()),
                                       tmp_path)


METADATA = [(path, kind) for path, kind in _SHAPES if path.startswith("metadata")]
SPEC = [(path, kind) for path, kind in _SHAPES if path.startswith("spec")]


@pytest.mark.parametrize("major", [3, 4])
@pytest.mark.parametrize(("path", "kind"), METADATA, ids=[path for path, _ in METADATA])
def test_kubectl_refuses_every_metadata_shape_we_refuse(major, path, kind, tmp_path):
    assert NOT_DECODED in kubectl_create(major, cluster(path, WRONG[kind]), tmp_path)


@pytest.mark.parametrize(("path", "kind"), SPEC, ids=[path for path, _ in SPEC])
def test_the_cluster_crd_refuses_every_spec_shape_we_refuse(path, kind):
    problems = check_schema(yaml.safe_load(cluster(path, WRONG[kind])), Schemas.from_dir(CRDS))
    assert [p.field for p in problems] == [written(path)], problems
