"""renderer.validate: CRD schemas (the real v1.30.0 / plugin v0.14.0 CRDs) and admission rules.

Each admission test starts from a fixture the API server accepts and breaks one rule, so
a test fails both when a rule is missing and when a rule fires on good input.
"""

import copy
import json
import re
import subprocess
import sys

import pytest
import yaml

from renderer import validate
from renderer.validate import Problem, Schemas, check, check_admission, check_documents, check_schema
from tests.helpers import CNPG_CRDS, CRDS, REAL, REPO

FIXTURES = REPO / "fixtures" / "validate"
CHART_RENDERS = sorted(REAL.glob("cnpg-cluster-chart-*.yaml"))


@pytest.fixture(scope="session")
def schemas():
    return Schemas.from_dir(CRDS)


def load(name):
    return [doc for doc in yaml.safe_load_all((FIXTURES / name).read_text()) if doc]


@pytest.fixture
def cluster():
    """The accepted in-tree backup Cluster; a fresh copy per test, to mutate."""
    return load("intree-cluster.yaml")[0]


@pytest.fixture
def trio():
    return {doc["kind"]: doc for doc in load("plugin-trio.yaml")}


def fields(problems):
    return {problem.field for problem in problems}


def messages(problems):
    return " | ".join(str(problem) for problem in problems)


def recovery_cluster(cluster, **target):
    """The fixture turned into an in-tree recovery Cluster, with `target` as recoveryTarget."""
    spec = cluster["spec"]
    store = copy.deepcopy(spec["backup"]["barmanObjectStore"])
    store["serverName"] = "pg"
    spec["externalClusters"] = [{"name": "origin", "barmanObjectStore": store}]
    spec["bootstrap"] = {"recovery": {"source": "origin"}}
    if target:
        spec["bootstrap"]["recovery"]["recoveryTarget"] = target
    return cluster


def chart_documents(path, kind):
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict) and d.get("kind") == kind]


# --- accepted objects ------------------------------------------------------------------


def test_intree_backup_cluster_is_clean(schemas, cluster):
    assert check(cluster, schemas) == []


def test_plugin_mode_trio_is_clean(schemas, trio):
    assert set(trio) == {"Cluster", "ObjectStore", "ScheduledBackup"}
    assert check_documents(trio.values(), schemas) == []


def test_recovery_cluster_with_each_target_form_is_clean(schemas, cluster):
    for target in ({"targetTime": "2026-05-01 12:00:00.123456+02"},
                   {"targetTime": "2026-05-01T12:00:00"},
                   {"targetLSN": "0/3000060", "exclusive": True},
                   {"targetXID": "4294967295", "backupID": "20260501T120000"},
                   {"targetName": "before-migration", "backupID": "20260501T120000"},
                   {"targetImmediate": True, "backupID": "20260501T120000", "targetTLI": "latest"},
                   {"targetTime": "2026-05-01T12:00:00+02:00", "targetTLI": "3"}):
        assert check(recovery_cluster(copy.deepcopy(cluster), **target), schemas) == [], target


@pytest.mark.parametrize("path", CHART_RENDERS, ids=lambda p: p.stem)
def test_real_chart_render_clusters_and_scheduled_backups_are_clean(schemas, path):
    """The cloudnative-pg/charts cluster 0.8.1 renders are accepted by a real operator."""
    clusters = chart_documents(path, "Cluster")
    assert len(clusters) == 1
    docs = clusters + chart_documents(path, "ScheduledBackup")
    assert check_documents(docs, schemas) == []


# --- null handling ---------------------------------------------------------------------


def test_chart_nulls_are_pruned_like_the_api_server_does(schemas):
    """`postgresql: null` / `initdb: null` in a chart render mean "absent", not a type error."""
    cluster = chart_documents(REAL / "cnpg-cluster-chart-default.yaml", "Cluster")[0]
    assert cluster["spec"]["postgresql"] is None and cluster["spec"]["bootstrap"] == {"initdb": None}
    assert check_schema(cluster, schemas) == []


def test_null_for_a_required_field_is_reported_as_missing(schemas, trio):
    scheduled = trio["ScheduledBackup"]
    scheduled["spec"]["schedule"] = None
    assert [(p.field, p.message) for p in check_schema(scheduled, schemas)] == [
        ("spec.schedule", "required field is missing")]


def test_null_scheduled_backup_method_takes_the_barman_object_store_default(trio):
    """Chart renders carry `method: null`: online then counts against barmanObjectStore."""
    scheduled = trio["ScheduledBackup"]
    scheduled["spec"].update(method=None, online=True)
    del scheduled["spec"]["pluginConfiguration"]
    assert fields(check_admission(scheduled)) == {"spec.online"}


def test_null_inside_a_list_is_kept_and_reported(schemas, trio):
    trio["Cluster"]["spec"]["externalClusters"].append(None)
    assert "expected object, got null" in messages(check_schema(trio["Cluster"], schemas))


# --- schema messages -------------------------------------------------------------------


def test_empty_compression_is_refused_with_a_clear_message(schemas, cluster):
    cluster["spec"]["backup"]["barmanObjectStore"]["wal"]["compression"] = ""
    [problem] = check(cluster, schemas, index=3)
    assert problem.field == "spec.backup.barmanObjectStore.wal.compression"
    assert str(problem).startswith(
        "document 4 (Cluster/pg): spec.backup.barmanObjectStore.wal.compression: '' is not one of ['bzip2',")
    assert "leave the key out" in problem.message


def test_empty_encryption_is_refused_in_an_object_store(schemas, trio):
    trio["ObjectStore"]["spec"]["configuration"]["wal"]["encryption"] = ""
    assert fields(check(trio["ObjectStore"], schemas)) == {"spec.configuration.wal.encryption"}


def test_unknown_field_is_reported_at_its_path(schemas, cluster):
    """There is no wal.additionalCommandArgs (an upstream doc example has it); the server would drop it."""
    cluster["spec"]["backup"]["barmanObjectStore"]["wal"]["additionalCommandArgs"] = ["--x"]
    [problem] = check_schema(cluster, schemas)
    assert problem.field == "spec.backup.barmanObjectStore.wal.additionalCommandArgs"
    assert problem.message.startswith("unknown field")


def test_list_items_are_named_by_index_in_the_field_path(schemas, trio):
    trio["Cluster"]["spec"]["externalClusters"].append({"plugin": {"name": "x"}})
    assert fields(check_schema(trio["Cluster"], schemas)) == {"spec.externalClusters[1].name"}


def test_keys_that_are_not_words_are_quoted_in_the_field_path(schemas, trio):
    trio["ObjectStore"]["spec"]["configuration"]["tags"] = {"cnpg.io/team": 7}
    assert fields(check_schema(trio["ObjectStore"], schemas)) == {'spec.configuration.tags["cnpg.io/team"]'}


def test_wrong_type_message_names_types_not_values(schemas, cluster):
    cluster["spec"]["instances"] = {"password": "hunter2"}
    [problem] = check_schema(cluster, schemas)
    assert (problem.field, problem.message) == ("spec.instances", "expected integer, got object")


def test_empty_destination_path_is_refused_with_its_bound(schemas, cluster):
    cluster["spec"]["backup"]["barmanObjectStore"]["destinationPath"] = ""
    assert [(p.field, p.message) for p in check_schema(cluster, schemas)] == [
        ("spec.backup.barmanObjectStore.destinationPath", "'' is shorter than the minimum length 1")]


def test_quantity_strings_must_match_the_kubernetes_pattern(schemas, cluster):
    cluster["spec"]["resources"] = {"requests": {"memory": "lots"}}
    [problem] = check_schema(cluster, schemas)
    assert problem.field == "spec.resources.requests.memory"
    assert problem.message.startswith("'lots' does not match ^(\\+|-)?")


def test_int32_fields_are_range_checked(schemas, cluster):
    cluster["spec"]["backup"]["barmanObjectStore"]["data"]["jobs"] = 2 ** 31
    [problem] = check_schema(cluster, schemas)
    assert problem.field == "spec.backup.barmanObjectStore.data.jobs"
    assert "out of range for int32" in problem.message


def test_retention_policy_pattern_is_reported_once(schemas, cluster):
    """The CRD pattern and the webhook both refuse it; check() keeps the clearer admission line."""
    cluster["spec"]["backup"]["retentionPolicy"] = "30 days"
    [problem] = check(cluster, schemas)
    assert problem.field == "spec.backup.retentionPolicy"
    assert "write 30d" in problem.message


def test_uncovered_kind_is_reported_by_check_schema_and_skipped_by_check(cluster):
    only_backups = Schemas.from_documents(yaml.load_all((CRDS / "postgresql.cnpg.io_backups.yaml").read_text(),
                                                        Loader=yaml.CSafeLoader))
    assert not only_backups.covers(cluster)
    assert [p.message for p in check_schema(cluster, only_backups)] == [
        "no CRD schema loaded for postgresql.cnpg.io/v1 Cluster"]
    assert check(cluster, only_backups) == []


# --- OpenAPI conversion on a small CRD of our own ---------------------------------------


@pytest.fixture(scope="module")
def widget_schemas():
    return Schemas.from_dir(FIXTURES)


def widget(**spec):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def test_int_or_string_accepts_both_and_nothing_else(widget_schemas):
    assert check_schema(widget(size=3), widget_schemas) == []
    assert check_schema(widget(size="3Gi"), widget_schemas) == []
    assert [p.message for p in check_schema(widget(size=[3]), widget_schemas)] == [
        "expected integer or string, got array"]


def test_nullable_field_keeps_its_null_and_passes(widget_schemas):
    assert check_schema(widget(size=1, note=None), widget_schemas) == []


def test_null_enum_field_is_pruned_not_refused(widget_schemas):
    assert check_schema(widget(size=1, mode=None), widget_schemas) == []


def test_preserve_unknown_fields_keeps_extra_keys_allowed(widget_schemas):
    assert check_schema(widget(size=1, extra={"known": "a", "anything": 1}), widget_schemas) == []
    assert fields(check_schema(widget(size=1, surprise=True), widget_schemas)) == {"spec.surprise"}


def test_other_schema_keywords_get_a_generic_one_line_message(widget_schemas):
    [problem] = check_schema(widget(size=1, labels={"a": "1", "b": "2"}), widget_schemas)
    assert (problem.field, problem.message) == ("spec.labels", "an object fails maxProperties 1")


def test_patterns_are_read_as_the_api_server_reads_them(widget_schemas):
    """RE2, as Go's regexp: an inline flag after `^` (kube-prometheus-stack writes
    `^(?i)(abort|warn)?$`) applies from there on; Python's `re` refuses the pattern."""
    assert check_schema(widget(size=1, action="WARN"), widget_schemas) == []
    [problem] = check_schema(widget(size=1, action="stop"), widget_schemas)
    assert (problem.field, problem.message) == ("spec.action", "'stop' does not match ^(?i)(abort|warn)?$")


def test_a_pattern_that_backtracks_is_checked_in_linear_time():
    """`^(a+)+$` against 40 a's and a b: Python's backtracking `re` takes 2^40 steps;
    RE2, which the API server uses, answers at once."""
    code = ("from renderer.validate import Schemas, check_schema\n"
            f"schemas = Schemas.from_dir({str(FIXTURES)!r})\n"
            "widget = {'apiVersion': 'example.com/v1', 'kind': 'Widget', 'metadata': {'name': 'w'},\n"
            "          'spec': {'size': 1, 'tag': 'a' * 40 + 'b'}}\n"
            "print([p.field for p in check_schema(widget, schemas)])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=REPO)
    assert result.stdout == "['spec.tag']\n", result.stderr


def test_int32_format_bounds(widget_schemas):
    assert check_schema(widget(size=1, port=2 ** 31 - 1), widget_schemas) == []
    assert fields(check_schema(widget(size=1, port=-(2 ** 31) - 1), widget_schemas)) == {"spec.port"}


# --- loading CRDs ----------------------------------------------------------------------


def test_from_dir_reads_a_kubectl_list_of_crds(tmp_path, cluster, trio):
    crds = [yaml.load(p.read_text(), Loader=yaml.CSafeLoader) for p in CNPG_CRDS]
    (tmp_path / "crds.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": crds}))
    listed = Schemas.from_dir(tmp_path)
    assert all(listed.covers(obj) for obj in [cluster, *trio.values()])
    assert len(listed.kinds()) == 4


def test_from_dir_skips_non_crd_documents_and_loads_a_bare_equals_enum(tmp_path):
    """A `kubectl get crd -o yaml` dump holds other operators' CRDs; Prometheus' use `- =`."""
    (tmp_path / "notes.yml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    (tmp_path / "README.txt").write_text("not yaml: [")
    crd = (FIXTURES / "openapi-quirks-crd.yaml").read_text().replace(
        "enum: [fast, safe]", "enum:\n                    - fast\n                    - =")
    (tmp_path / "widgets.yaml").write_text(crd)
    loaded = Schemas.from_dir(tmp_path)
    assert loaded.kinds() == ["example.com/v1 Widget"]
    assert check_schema(widget(size=1, mode="="), loaded) == []


def test_from_dir_without_any_crd_is_an_error(tmp_path):
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(ValueError, match="no CustomResourceDefinition"):
        Schemas.from_dir(tmp_path)


def test_from_dir_names_the_file_that_does_not_parse(tmp_path):
    (tmp_path / "broken.yaml").write_text("a: [\n")
    with pytest.raises(ValueError, match=re.escape("broken.yaml: cannot read")):
        Schemas.from_dir(tmp_path)


def test_static_cel_rules_are_exactly_the_crds_rules_without_old_self():
    """A CEL rule added by a new CRD version must be implemented or consciously left out."""
    def rules(node):
        if isinstance(node, dict):
            yield from (v["rule"] for v in node.get("x-kubernetes-validations", []))
            for child in node.values():
                yield from rules(child)
        elif isinstance(node, list):
            for child in node:
                yield from rules(child)

    found = {rule for path in CNPG_CRDS
             for rule in rules(yaml.load(path.read_text(), Loader=yaml.CSafeLoader))}
    assert {rule for rule in found if "oldSelf" not in rule} == validate.STATIC_CEL_RULES


# --- module contract -------------------------------------------------------------------


def test_importing_validate_does_not_import_jsonschema():
    code = "import sys, renderer.validate; print('jsonschema' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "False"


def test_problem_str_without_index_or_field():
    assert str(Problem(None, "Cluster", "pg", "", "no schema")) == "Cluster/pg: no schema"
    assert str(Problem(0, "Cluster", "", "metadata.name", "bad")) == "document 1 (Cluster/?): metadata.name: bad"


def test_check_documents_indexes_by_stream_position_and_skips_other_objects(trio):
    trio["ScheduledBackup"]["spec"]["schedule"] = "0 0 * * *"
    docs = [{"apiVersion": "v1", "kind": "Secret", "stringData": {"x": "0 0 * * *"}}, None,
            trio["Cluster"], trio["ScheduledBackup"]]
    [problem] = check_documents(docs)
    assert (problem.index, problem.kind, problem.name) == (3, "ScheduledBackup", "pg-daily")


def test_is_cnpg_object_is_true_for_both_cnpg_groups_only(trio):
    assert all(validate.is_cnpg_object(obj) for obj in trio.values())
    assert not validate.is_cnpg_object({"apiVersion": "v1", "kind": "Secret"})
    assert not validate.is_cnpg_object(["Cluster"])


def test_admission_survives_schema_invalid_shapes(cluster):
    cluster["spec"]["externalClusters"] = "origin"
    cluster["spec"]["bootstrap"] = {"recovery": {"source": "origin", "recoveryTarget": ["x"]}}
    assert fields(check_admission(cluster)) == {"spec.bootstrap.recovery.source"}


def test_admission_skips_a_kind_that_is_not_a_string(cluster):
    """`kind: [Cluster]` is no kind the webhooks know (and a list does not hash): no
    admission rules run, where the lookup once raised TypeError (an internal error)."""
    cluster["kind"] = ["Cluster"]
    assert check_admission(cluster) == []
    cluster["kind"] = {"Cluster": 1}
    assert check_admission(cluster) == []


# --- admission: Cluster name, bootstrap ------------------------------------------------


def test_cluster_name_must_be_a_dns_1035_label(cluster):
    cluster["metadata"]["name"] = "1pg"
    assert fields(check_admission(cluster)) == {"metadata.name"}


def test_cluster_name_over_50_characters_is_refused(cluster):
    cluster["metadata"]["name"] = "p" * 51
    assert "at most 50" in messages(check_admission(cluster))


def test_only_one_bootstrap_method(cluster):
    cluster["spec"]["bootstrap"]["pg_basebackup"] = {"source": "x"}
    cluster["spec"]["externalClusters"] = [{"name": "x", "connectionParameters": {"host": "x"}}]
    assert fields(check_admission(cluster)) == {"spec.bootstrap"}


def test_recovery_database_without_owner_is_accepted(cluster):
    """The mutating webhook sets owner := database before validation, so the chart's
    `recovery: {database: app}` is accepted; the validating rule never sees it."""
    recovery_cluster(cluster)["spec"]["bootstrap"]["recovery"]["database"] = "app"
    assert check_admission(cluster) == []


# --- admission: recovery ---------------------------------------------------------------


def test_recovery_source_must_name_an_external_cluster(cluster):
    recovery_cluster(cluster)["spec"]["bootstrap"]["recovery"]["source"] = "elsewhere"
    assert fields(check_admission(cluster)) == {"spec.bootstrap.recovery.source"}


def test_recovery_source_needs_an_object_store_or_plugin_not_only_a_connection(cluster):
    recovery_cluster(cluster)["spec"]["externalClusters"][0] = {"name": "origin", "connectionParameters": {"host": "x"}}
    assert "nothing to recover from" in messages(check_admission(cluster))


def test_recovery_source_and_backup_are_exclusive(cluster):
    recovery_cluster(cluster)["spec"]["bootstrap"]["recovery"]["backup"] = {"name": "b"}
    assert fields(check_admission(cluster)) == {"spec.bootstrap.recovery"}


def test_recovery_backup_and_volume_snapshots_are_exclusive(cluster):
    cluster["spec"]["bootstrap"] = {"recovery": {"backup": {"name": "b"}, "volumeSnapshots": {
        "storage": {"name": "snap", "kind": "VolumeSnapshot", "apiGroup": "snapshot.storage.k8s.io"}}}}
    assert fields(check_admission(cluster)) == {"spec.bootstrap.recovery.backup"}


def test_pg_basebackup_source_must_name_an_external_cluster(cluster):
    cluster["spec"]["bootstrap"] = {"pg_basebackup": {"source": "origin"}}
    assert fields(check_admission(cluster)) == {"spec.bootstrap.pg_basebackup.source"}


def test_recovery_targets_are_mutually_exclusive(cluster):
    recovery_cluster(cluster, targetTime="2026-05-01T12:00:00Z", targetLSN="0/3000060")
    assert fields(check_admission(cluster)) == {"spec.bootstrap.recovery.recoveryTarget"}


def test_empty_string_targets_do_not_count(cluster):
    """Templates render unset targets as ""; the webhook counts only non-empty strings."""
    recovery_cluster(cluster, targetTime="", targetLSN="0/3000060")
    assert check_admission(cluster) == []


def test_target_immediate_false_still_counts_as_a_target(cluster):
    recovery_cluster(cluster, targetTime="2026-05-01T12:00:00Z", targetImmediate=False)
    assert "counts even when false" in messages(check_admission(cluster))


@pytest.mark.parametrize("key, value", [
    ("targetTime", "yesterday"), ("targetTime", "2026-13-01 00:00:00"), ("targetTime", "2026-05-01T25:00:00Z"),
    ("targetLSN", "3000060"), ("targetLSN", "0/1FFFFFFFF"),
    ("targetTLI", "0"), ("targetTLI", "current"),
])
def test_unparseable_recovery_target_values_are_refused(cluster, key, value):
    recovery_cluster(cluster, **{key: value})
    assert fields(check_admission(cluster)) == {f"spec.bootstrap.recovery.recoveryTarget.{key}"}


@pytest.mark.parametrize("key, value", [
    ("targetXID", "4294967296"), ("targetXID", "-1"), ("targetName", "x" * 64), ("targetName", "a\nb"),
])
def test_unparseable_label_targets_are_refused(cluster, key, value):
    recovery_cluster(cluster, backupID="20260501T120000", **{key: value})
    assert fields(check_admission(cluster)) == {f"spec.bootstrap.recovery.recoveryTarget.{key}"}


@pytest.mark.parametrize("target", [
    {"targetName": "before-migration"}, {"targetXID": "42"}, {"targetImmediate": True}])
def test_backup_id_is_required_for_name_xid_and_immediate_targets(cluster, target):
    recovery_cluster(cluster, **target)
    assert fields(check_admission(cluster)) == {"spec.bootstrap.recovery.recoveryTarget.backupID"}


def test_backup_id_is_not_needed_but_forbidden_with_volume_snapshots(cluster):
    snapshots = {"storage": {"name": "snap", "kind": "VolumeSnapshot", "apiGroup": "snapshot.storage.k8s.io"}}
    cluster["spec"]["bootstrap"] = {"recovery": {"volumeSnapshots": snapshots, "recoveryTarget": {"targetName": "x"}}}
    assert check_admission(cluster) == []
    cluster["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["backupID"] = "b"
    assert fields(check_admission(cluster)) == {"spec.bootstrap.recovery.recoveryTarget.backupID"}


# --- admission: externalClusters -------------------------------------------------------


def test_external_cluster_names_are_unique(trio):
    clusters = trio["Cluster"]["spec"]["externalClusters"]
    clusters.append(copy.deepcopy(clusters[0]))
    assert fields(check_admission(trio["Cluster"])) == {"spec.externalClusters[1].name"}


def test_external_cluster_needs_a_source_kind(trio):
    trio["Cluster"]["spec"]["externalClusters"].append({"name": "empty"})
    assert fields(check_admission(trio["Cluster"])) == {"spec.externalClusters[1]"}


def test_external_cluster_may_combine_connection_and_archive(trio):
    """Replica clusters stream and fall back to the archive from one entry: not an error."""
    trio["Cluster"]["spec"]["externalClusters"][0]["connectionParameters"] = {"host": "origin-rw"}
    assert check_admission(trio["Cluster"]) == []


@pytest.mark.parametrize("name", ["a/b", "a\\b", ".", ".."])
def test_external_cluster_name_cannot_be_a_path(trio, name):
    trio["Cluster"]["spec"]["externalClusters"][0]["name"] = name
    trio["Cluster"]["spec"]["bootstrap"]["recovery"]["source"] = name
    assert fields(check_admission(trio["Cluster"])) == {"spec.externalClusters[0].name"}


# --- admission: credentials ------------------------------------------------------------


def store_of(cluster):
    return cluster["spec"]["backup"]["barmanObjectStore"]


def secret(key):
    return {"name": "creds", "key": key}


def test_backup_store_without_credentials_is_refused(cluster):
    del store_of(cluster)["s3Credentials"]
    assert "missing credentials" in messages(check_admission(cluster))


def test_backup_store_with_two_providers_is_refused(cluster):
    store_of(cluster)["googleCredentials"] = {"gkeEnvironment": True}
    assert "too many credentials" in messages(check_admission(cluster))


def test_external_cluster_store_credentials_are_not_admission_checked(cluster):
    recovery_cluster(cluster)["spec"]["externalClusters"][0]["barmanObjectStore"].pop("s3Credentials")
    assert check_admission(cluster) == []


def test_s3_access_key_without_secret_key_is_refused(cluster):
    del store_of(cluster)["s3Credentials"]["secretAccessKey"]
    assert "accessKeyId and secretAccessKey go together" in messages(check_admission(cluster))


def test_s3_iam_role_and_keys_are_alternatives(cluster):
    store_of(cluster)["s3Credentials"]["inheritFromIAMRole"] = True
    assert ("needs exactly one of accessKeyId+secretAccessKey or inheritFromIAMRole (got"
            in messages(check_admission(cluster)))


def test_s3_iam_role_alone_is_accepted(cluster):
    store_of(cluster)["s3Credentials"] = {"inheritFromIAMRole": True}
    assert check_admission(cluster) == []


def test_s3_credentials_with_no_method_are_refused(cluster):
    store_of(cluster)["s3Credentials"] = {"region": secret("REGION")}
    assert ("needs exactly one of accessKeyId+secretAccessKey or inheritFromIAMRole"
            in messages(check_admission(cluster)))


@pytest.mark.parametrize("azure", [
    {"storageAccount": secret("A"), "storageKey": secret("K")},
    {"storageAccount": secret("A"), "storageSasToken": secret("T")},
    {"connectionString": secret("C")},
    {"inheritFromAzureAD": True},
    {"useDefaultAzureCredentials": True},
])
def test_azure_credentials_with_one_method_are_accepted(cluster, azure):
    store_of(cluster).pop("s3Credentials")
    store_of(cluster)["azureCredentials"] = azure
    assert check_admission(cluster) == []


@pytest.mark.parametrize("azure, text", [
    ({"storageAccount": secret("A")}, "needs exactly one of connectionString, storageKey"),
    ({"storageAccount": secret("A"), "storageKey": secret("K"), "inheritFromAzureAD": True}, "exactly one"),
    ({"connectionString": secret("C"), "storageAccount": secret("A")}, "every other field"),
    ({"storageKey": secret("K")}, "is required with storageKey"),
])
def test_azure_credential_rules(cluster, azure, text):
    store_of(cluster).pop("s3Credentials")
    store_of(cluster)["azureCredentials"] = azure
    assert text in messages(check_admission(cluster))


@pytest.mark.parametrize("google, field", [
    ({}, "spec.backup.barmanObjectStore.googleCredentials"),
    ({"gkeEnvironment": True, "applicationCredentials": secret("J")},
     "spec.backup.barmanObjectStore.googleCredentials.gkeEnvironment"),  # at the second way given
])
def test_google_needs_exactly_one_of_gke_and_application_credentials(cluster, google, field):
    store_of(cluster).pop("s3Credentials")
    store_of(cluster)["googleCredentials"] = google
    assert fields(check_admission(cluster)) == {field}


# --- admission: plugins, CEL -----------------------------------------------------------


def test_wal_archiver_plugin_and_in_tree_store_are_exclusive(cluster, trio):
    cluster["spec"]["plugins"] = trio["Cluster"]["spec"]["plugins"]
    assert fields(check_admission(cluster)) == {"spec.plugins"}


def test_disabled_archiver_plugin_may_sit_beside_the_in_tree_store(cluster, trio):
    cluster["spec"]["plugins"] = trio["Cluster"]["spec"]["plugins"]
    cluster["spec"]["plugins"][0]["enabled"] = False
    assert check_admission(cluster) == []


def test_at_most_one_enabled_wal_archiver_plugin(trio):
    plugins = trio["Cluster"]["spec"]["plugins"]
    plugins.append({"name": "other.example.com", "isWALArchiver": True})
    assert "at most one enabled plugin" in messages(check_admission(trio["Cluster"]))


def test_image_name_and_image_catalog_ref_are_exclusive(cluster):
    cluster["spec"]["imageCatalogRef"] = {"apiGroup": "postgresql.cnpg.io", "kind": "ImageCatalog",
                                          "name": "pg", "major": 16}
    assert fields(check_admission(cluster)) == {"spec"}


def test_image_catalog_ref_must_point_at_an_image_catalog(cluster):
    del cluster["spec"]["imageName"]
    cluster["spec"]["imageCatalogRef"] = {"apiGroup": "v1", "kind": "ConfigMap", "name": "pg", "major": 16}
    assert fields(check_admission(cluster)) == {"spec.imageCatalogRef.kind", "spec.imageCatalogRef.apiGroup"}


def test_icu_locale_needs_the_icu_locale_provider(cluster):
    cluster["spec"]["bootstrap"]["initdb"]["icuLocale"] = "en-US"
    assert fields(check_admission(cluster)) == {"spec.bootstrap.initdb.icuLocale"}


def test_preferred_data_durability_refuses_standby_names(cluster):
    cluster["spec"]["postgresql"] = {"synchronous": {
        "method": "any", "number": 1, "dataDurability": "preferred", "standbyNamesPre": ["x"]}}
    assert fields(check_admission(cluster)) == {"spec.postgresql.synchronous"}


def test_synchronous_number_must_be_positive(cluster):
    cluster["spec"]["postgresql"] = {"synchronous": {"method": "any", "number": 0}}
    assert fields(check_admission(cluster)) == {"spec.postgresql.synchronous.number"}


# --- admission: ObjectStore ------------------------------------------------------------


def test_object_store_refuses_server_name(trio):
    trio["ObjectStore"]["spec"]["configuration"]["serverName"] = "pg-r2"
    [problem] = check_admission(trio["ObjectStore"])
    assert problem.field == "spec.configuration.serverName"
    assert "plugin parameter" in problem.message


def test_object_store_refuses_log_level_in_sidecar_args(trio):
    trio["ObjectStore"]["spec"]["instanceSidecarConfiguration"] = {"additionalContainerArgs": ["--log-level=debug"]}
    assert fields(check_admission(trio["ObjectStore"])) == {"spec.instanceSidecarConfiguration.additionalContainerArgs"}


def test_object_store_retention_policy_pattern(trio):
    trio["ObjectStore"]["spec"]["retentionPolicy"] = "0d"
    assert fields(check_admission(trio["ObjectStore"])) == {"spec.retentionPolicy"}


# --- admission: ScheduledBackup and Backup ---------------------------------------------


def test_five_field_schedule_is_a_problem_that_shows_the_six_field_form(trio):
    trio["ScheduledBackup"]["spec"]["schedule"] = "0 0 * * *"
    [problem] = check_admission(trio["ScheduledBackup"])
    assert problem.field == "spec.schedule"
    assert "(every hour)" in problem.message and "'0 0 0 * * *'" in problem.message


def test_five_field_schedule_that_does_not_parse_shifted_still_shows_the_fix(trio):
    trio["ScheduledBackup"]["spec"]["schedule"] = "0 1 * * 0"
    [problem] = check_admission(trio["ScheduledBackup"])
    assert "is not a CNPG cron schedule" in problem.message and "as Unix cron write '0 0 1 * * 0'" in problem.message


@pytest.mark.parametrize("schedule", ["@daily", "@every 12h", "0 30 1 * * sun"])
def test_descriptor_and_six_field_schedules_are_accepted(trio, schedule):
    trio["ScheduledBackup"]["spec"]["schedule"] = schedule
    assert check_admission(trio["ScheduledBackup"]) == []


def test_unparseable_schedule_is_refused(trio):
    trio["ScheduledBackup"]["spec"]["schedule"] = "0 0 25 * * *"
    assert "above maximum (23)" in messages(check_admission(trio["ScheduledBackup"]))


@pytest.mark.parametrize("key, value", [("online", False), ("onlineConfiguration", {"immediateCheckpoint": True})])
def test_online_settings_are_refused_with_the_barman_object_store_method(trio, key, value):
    spec = trio["ScheduledBackup"]["spec"]
    spec.update({"method": "barmanObjectStore", key: value})
    assert fields(check_admission(trio["ScheduledBackup"])) == {f"spec.{key}"}


def test_online_settings_are_accepted_with_volume_snapshot(trio):
    spec = trio["ScheduledBackup"]["spec"]
    spec.update(method="volumeSnapshot", online=False)
    assert check_admission(trio["ScheduledBackup"]) == []


def test_plugin_method_needs_plugin_configuration_in_a_scheduled_backup(trio):
    del trio["ScheduledBackup"]["spec"]["pluginConfiguration"]
    assert fields(check_admission(trio["ScheduledBackup"])) == {"spec.pluginConfiguration.name"}


def test_plugin_method_needs_plugin_configuration_in_a_backup(schemas):
    backup = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup", "metadata": {"name": "b"},
              "spec": {"cluster": {"name": "pg"}, "method": "plugin"}}
    assert fields(check(backup, schemas)) == {"spec.pluginConfiguration.name"}
    backup["spec"]["pluginConfiguration"] = {"name": "barman-cloud.cloudnative-pg.io"}
    assert check(backup, schemas) == []
