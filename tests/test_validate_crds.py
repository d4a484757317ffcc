"""`validate --crds` on odd CRDs: whatever a CRD directory holds, the answer is problems
or one line naming the file and field of the CRD we cannot use, never a traceback or an
"internal error". The odd CRDs are made in the test, by breaking the real ones at
generated places."""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renderer.validate import CrdError, Schemas, check
from tests.helpers import CRDS, REPO, run_cli

REAL_CRDS = {path.name: [d for d in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if d]
             for path in sorted(CRDS.glob("postgresql.cnpg.io_*.yaml"))}
OBJECTS = [doc for name in ("intree-cluster.yaml", "plugin-trio.yaml")
           for doc in yaml.safe_load_all((REPO / "fixtures" / "validate" / name).read_text()) if doc]
ODD = st.sampled_from([None, 3, "x", [], {}, [1], {"type": 5}, {"type": "strin"}, True, {"properties": []},
                       {"items": [{}]}, {"anyOf": {}}, {"required": "spec"}, {"enum": "a"}, {"pattern": "("},
                       {"$ref": "#/definitions/x"}])


def break_at(doc, steps: list[int], odd):
    """`doc` with the node reached by `steps` (each picks a child by index) replaced by `odd`."""
    broken = copy.deepcopy(doc)
    parent, key, node = None, None, broken
    for step in steps:
        children = (list(node.items()) if isinstance(node, dict)
                    else list(enumerate(node)) if isinstance(node, list) else [])
        if not children:
            break
        key, _ = children[step % len(children)]
        parent, node = node, node[key]
    if parent is None:
        return odd
    parent[key] = odd
    return broken


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(REAL_CRDS)), st.lists(st.integers(0, 60), max_size=14), ODD)
def test_an_odd_crd_is_a_crd_error_or_problems_never_a_crash(name, steps, odd):
    docs = [break_at(REAL_CRDS[name][0], steps, odd)]
    try:
        schemas = Schemas.from_documents(docs)
        for obj in OBJECTS:
            for problem in check(copy.deepcopy(obj), schemas):
                assert str(problem).count("\n") == 0
    except CrdError as err:
        assert str(err) and "\n" not in str(err)


@pytest.mark.parametrize("text, says", [
    ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nspec: []\n",
     "CustomResourceDefinition x: spec, spec.names and spec.versions must be"),
    ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
     "metadata: {name: clusters.postgresql.cnpg.io}\n"
     "spec:\n  group: postgresql.cnpg.io\n  names: {kind: Cluster}\n  versions:\n  - name: v1\n"
     "    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: objekt}}}}\n",
     "the CRD schema of postgresql.cnpg.io/v1 Cluster is not usable: properties.spec.type"),
    ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\n"
     "spec:\n  group: g\n  names: {kind: K}\n  versions: [{name: v1, schema: {openAPIV3Schema: {properties: 3}}}]\n",
     "spec.versions[0].schema.openAPIV3Schema.properties: must be a mapping of schemas"),
    ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
     "metadata: {name: clusters.postgresql.cnpg.io}\n"
     "spec:\n  group: postgresql.cnpg.io\n  names: {kind: Cluster}\n  versions:\n  - name: v1\n"
     "    schema: {openAPIV3Schema: {type: object, properties: {spec: {$ref: '#/x'}}}}\n",
     "is not usable: properties.spec: $ref is not allowed in a CRD schema"),
    ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
     "metadata: {name: clusters.postgresql.cnpg.io}\n"
     "spec:\n  group: postgresql.cnpg.io\n  names: {kind: Cluster}\n  versions:\n  - name: v1\n"
     "    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: string, pattern: '(?<=a)b'}}}}\n",
     "is not usable: properties.spec.pattern: '(?<=a)b' is not a Go (RE2) regular expression: invalid perl "
     "operator: (?<="),
    ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
     "metadata: {name: clusters.postgresql.cnpg.io}\n"
     "spec:\n  group: postgresql.cnpg.io\n  names: {kind: Cluster}\n  versions:\n  - name: v1\n"
     "    schema: {openAPIV3Schema: {type: object, patternProperties: {'^x': {type: string}}}}\n",
     "is not usable: openAPIV3Schema: patternProperties is not allowed in a CRD schema"),
    ("key: [unclosed\n", "cannot read"),
    ("\xff\xfe", "cannot read"),
    ("a: 1\n", "no CustomResourceDefinition found"),
])
def test_odd_crd_directories_fail_in_one_line_through_the_cli(tmp_path, text, says):
    crds = tmp_path / "crds"
    crds.mkdir()
    (crds / "odd.yaml").write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    cluster = (REPO / "fixtures" / "validate" / "intree-cluster.yaml").read_bytes()
    result = run_cli("validate", "--crds", str(crds), stdin=cluster)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and result.stdout == b""
    assert stderr.startswith("cnpg-render: error: --crds ") and stderr.count("\n") == 1, stderr
    assert says in stderr and "internal error" not in stderr


def test_a_deeply_nested_schema_is_refused_by_depth(tmp_path):
    schema: dict = {"type": "object"}
    for _ in range(200):
        schema = {"type": "object", "properties": {"x": schema}}
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "deep"},
           "spec": {"group": "g", "names": {"kind": "K"},
                    "versions": [{"name": "v1", "schema": {"openAPIV3Schema": schema}}]}}
    with pytest.raises(CrdError, match="nested more than 64 deep"):
        Schemas.from_documents([crd])
