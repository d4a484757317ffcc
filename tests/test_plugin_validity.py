"""Every golden output is something CNPG and the barman-cloud plugin accept: the CRD
schemas (../shared/crds, with jsonschema) plus the admission rules the schemas cannot
express (webhook and CEL, cnpg-upstream.md §2.9), as far as the renderer writes the
fields they govern. Stands in for renderer/validate.py until that lands on main."""

from __future__ import annotations

from functools import cache

import jsonschema
import pytest
import yaml

from tests.helpers import CRDS, FIXTURES, documents

PLUGIN = "barman-cloud.cloudnative-pg.io"
CASES = sorted(p for p in (FIXTURES / "golden").iterdir() if (p / "expected.yaml").exists())
KINDS = {("postgresql.cnpg.io/v1", "Cluster"), ("postgresql.cnpg.io/v1", "ScheduledBackup"),
         ("barmancloud.cnpg.io/v1", "ObjectStore")}
# Secrets the cases reference but expect to exist already (an existing CA Secret).
EXTERNAL_SECRETS = {"corporate-ca"}


@cache
def schemas() -> dict:
    out = {}
    for path in CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        version = crd["spec"]["versions"][0]
        out[(f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])] = \
            version["schema"]["openAPIV3Schema"]
    return out


def pruned(value):
    """What the API server stores: nulls of non-nullable fields are dropped (charts
    render `initdb:` with nothing under it)."""
    if isinstance(value, dict):
        return {k: pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def cnpg_objects(case) -> list[dict]:
    docs = documents((case / "expected.yaml").read_bytes())
    return [pruned(d) for d in docs if isinstance(d, dict) and (d.get("apiVersion"), d.get("kind")) in KINDS]


def store_problems(store: dict, where: str) -> list[str]:
    """barman-cloud's credential rules (pkg/api/config.go), applied to every store."""
    blocks = [k for k in ("s3Credentials", "azureCredentials", "googleCredentials") if k in store]
    if len(blocks) != 1:
        return [f"{where}: needs exactly one provider, got {blocks}"]
    creds, problems = store[blocks[0]], []
    if blocks[0] == "s3Credentials":
        keys = ("accessKeyId" in creds) + ("secretAccessKey" in creds)
        if keys == 1 or (keys == 2) == bool(creds.get("inheritFromIAMRole")):
            problems.append(f"{where}: s3 needs keys XOR inheritFromIAMRole")
    if blocks[0] == "azureCredentials":
        ways = sum(1 for k in ("storageKey", "storageSasToken") if k in creds) + \
            sum(1 for k in ("inheritFromAzureAD", "useDefaultAzureCredentials") if creds.get(k))
        if "connectionString" in creds and (ways or "storageAccount" in creds):
            problems.append(f"{where}: azure connectionString with other fields")
        if "connectionString" not in creds and ways != 1:
            problems.append(f"{where}: azure needs exactly one way")
        if ("storageKey" in creds or "storageSasToken" in creds) and "storageAccount" not in creds:
            problems.append(f"{where}: azure key/SAS without storageAccount")
    if blocks[0] == "googleCredentials" and bool(creds.get("gkeEnvironment")) == ("applicationCredentials" in creds):
        problems.append(f"{where}: google needs gkeEnvironment XOR applicationCredentials")
    for side in ("wal", "data"):
        for key in ("compression", "encryption"):
            if (store.get(side) or {}).get(key) == "":
                problems.append(f"{where}: {side}.{key} is empty")
    return problems


def recovery_target_problems(target: dict, where: str) -> list[str]:
    chosen = [k for k in ("targetTime", "targetLSN", "targetName", "targetXID", "targetImmediate") if target.get(k)]
    problems = [f"{where}: several recovery targets {chosen}"] if len(chosen) > 1 else []
    if set(chosen) & {"targetName", "targetXID", "targetImmediate"} and not target.get("backupID"):
        problems.append(f"{where}: backupID is missing")
    return problems


def plugin_reference_problems(params: dict, stores: set, where: str) -> list[str]:
    problems = [] if params.get("serverName") else [f"{where}: serverName not written out"]
    if params.get("barmanObjectName") not in stores:
        problems.append(f"{where}: ObjectStore {params.get('barmanObjectName')!r} is not in the output")
    return problems


def cluster_problems(cluster: dict, stores: set) -> list[str]:
    spec, name = cluster["spec"], cluster["metadata"]["name"]
    store = (spec.get("backup") or {}).get("barmanObjectStore")
    problems = store_problems(store, f"{name} spec.backup") if store else []
    archivers = [p for p in spec.get("plugins", []) if p.get("isWALArchiver") and p.get("enabled", True)]
    if store and archivers:
        problems.append(f"{name}: barmanObjectStore beside an archiver plugin")
    if len(archivers) > 1:
        problems.append(f"{name}: more than one WAL archiver")
    for p in spec.get("plugins", []):
        if p["name"] == PLUGIN:
            problems += plugin_reference_problems(p.get("parameters", {}), stores, f"{name} spec.plugins")
    for ext in spec.get("externalClusters", []):
        if "plugin" in ext:
            problems += plugin_reference_problems(ext["plugin"].get("parameters", {}), stores, f"{name} {ext['name']}")
    recovery = (spec.get("bootstrap") or {}).get("recovery") or {}
    if len(spec.get("bootstrap") or {}) > 1:
        problems.append(f"{name}: more than one bootstrap method")
    return problems + recovery_target_problems(recovery.get("recoveryTarget") or {}, name)


def secret_names(value) -> set[str]:
    if isinstance(value, dict):
        own = {value["name"]} if set(value) == {"name", "key"} else set()
        return own.union(*(secret_names(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(secret_names(v) for v in value))
    return set()


def admission_problems(case) -> list[str]:
    objects = cnpg_objects(case)
    stores = {o["metadata"]["name"] for o in objects if o["kind"] == "ObjectStore"}
    docs = documents((case / "expected.yaml").read_bytes())
    secrets = {d["metadata"]["name"] for d in docs if isinstance(d, dict) and d.get("kind") == "Secret"}
    problems = []
    for obj in objects:
        name = obj["metadata"]["name"]
        if obj["kind"] == "Cluster":
            problems += cluster_problems(obj, stores)
        if obj["kind"] == "ObjectStore":
            configuration = obj["spec"]["configuration"]
            problems += store_problems(configuration, name)
            if "serverName" in configuration:
                problems.append(f"{name}: serverName is forbidden in an ObjectStore (CEL)")
            if name in secret_names(configuration):
                problems.append(f"{name}: ObjectStore named like a Secret it uses (plugin-barman-cloud#502)")
            problems += [f"{name}: Secret {s} missing" for s in secret_names(configuration) - secrets - EXTERNAL_SECRETS]
        if obj["kind"] == "ScheduledBackup" and obj["spec"].get("method") == "plugin" \
                and not obj["spec"].get("pluginConfiguration"):
            problems.append(f"{name}: method plugin without pluginConfiguration")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_output_validates_against_the_crds(case):
    errors = []
    for obj in cnpg_objects(case):
        validator = jsonschema.Draft7Validator(schemas()[(obj["apiVersion"], obj["kind"])])
        errors += [f"{obj['kind']}/{obj['metadata']['name']}: {e.json_path}: {e.message}"
                   for e in validator.iter_errors(obj)]
    assert errors == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_output_passes_the_admission_rules(case):
    assert admission_problems(case) == []


def test_the_admission_checks_catch_what_they_claim_to():
    """The checks above are worth something only if they fail on bad objects."""
    assert store_problems({"s3Credentials": {}, "azureCredentials": {}}, "x")
    assert store_problems({"azureCredentials": {"connectionString": {}, "storageKey": {}}}, "x")
    assert store_problems({"googleCredentials": {"gkeEnvironment": True, "applicationCredentials": {}}}, "x")
    assert recovery_target_problems({"targetXID": "1"}, "x")
    assert cluster_problems({"metadata": {"name": "c"}, "spec": {
        "backup": {"barmanObjectStore": {"s3Credentials": {"inheritFromIAMRole": True}}},
        "plugins": [{"name": PLUGIN, "isWALArchiver": True, "parameters": {"barmanObjectName": "s"}}]}}, {"s"})
