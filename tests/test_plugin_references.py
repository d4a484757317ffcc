"""What a per-object validator cannot see in a golden output (renderer.validate checks
each object, in test_golden.py): that the objects of one stream fit together. Every
barman-cloud plugin reference names an ObjectStore of the output, in the Cluster's
namespace, with serverName written out; every Secret a generated store references is
in the output (or is a Secret the case says exists already); no ObjectStore shares a
Secret's name (plugin-barman-cloud#502)."""

from __future__ import annotations

import pytest

from renderer.cnpg.plugin import PLUGIN_NAME
from tests.helpers import FIXTURES, by_kind, documents

CASES = sorted(p for p in (FIXTURES / "golden").iterdir() if (p / "expected.yaml").exists())
EXTERNAL_SECRETS = {"corporate-ca"}  # intree-azure-standalone's existing CA Secret


def secret_names(value) -> set[str]:
    """Names of every SecretKeySelector ({name, key}) inside `value`."""
    if isinstance(value, dict):
        own = {value["name"]} if set(value) == {"name", "key"} else set()
        return own.union(*(secret_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(secret_names(v) for v in value))
    return set()


def plugin_references(cluster: dict) -> list[tuple[str, dict]]:
    spec = cluster.get("spec") or {}
    refs = [("spec.plugins", p.get("parameters") or {}) for p in spec.get("plugins") or [] if p["name"] == PLUGIN_NAME]
    return refs + [(f"externalClusters.{e['name']}", e["plugin"].get("parameters") or {})
                   for e in spec.get("externalClusters") or [] if (e.get("plugin") or {}).get("name") == PLUGIN_NAME]


def problems(case) -> list[str]:
    docs = documents((case / "expected.yaml").read_bytes())
    stores = {(s["metadata"].get("namespace"), s["metadata"]["name"]): s for s in by_kind(docs, "ObjectStore")}
    secrets = {s["metadata"]["name"] for s in by_kind(docs, "Secret")} | EXTERNAL_SECRETS
    out = []
    for cluster in by_kind(docs, "Cluster"):
        namespace = cluster["metadata"].get("namespace")
        for where, params in plugin_references(cluster):
            if not params.get("serverName"):
                out.append(f"{cluster['metadata']['name']} {where}: serverName not written out")
            if (namespace, params.get("barmanObjectName")) not in stores:
                out.append(f"{cluster['metadata']['name']} {where}: no ObjectStore {params.get('barmanObjectName')}")
    for (_, name), store in stores.items():
        referenced = secret_names(store["spec"]["configuration"])
        out += [f"ObjectStore {name}: Secret {s} is not in the output" for s in referenced - secrets]
        out += [f"ObjectStore {name}: named like a Secret it uses"] if name in referenced else []
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_output_objects_fit_together(case):
    assert problems(case) == []


def test_the_reference_checks_catch_a_dangling_store(tmp_path):
    case = tmp_path / "bad"
    case.mkdir()
    (case / "expected.yaml").write_text(
        "kind: Cluster\nmetadata: {name: c}\nspec:\n  plugins:\n"
        f"  - name: {PLUGIN_NAME}\n    parameters: {{barmanObjectName: missing}}\n"
        "---\nkind: ObjectStore\nmetadata: {name: s}\nspec:\n  configuration:\n"
        "    s3Credentials: {accessKeyId: {name: s, key: k}}\n")
    assert len(problems(case)) == 4
