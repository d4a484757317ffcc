"""Each CNPG value rule lives in one place (renderer/cnpg/rules.py) and the overlay and
`validate` agree on every value: generated values are written into an overlay and into
a rendered object, and both must accept or both refuse. Also: names are defined once,
and refusals say what to write instead."""

from __future__ import annotations

import ast
import json
import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from renderer import overlay as overlay_model
from renderer.cnpg import rules
from renderer.errors import RenderError
from renderer.validate import check_admission
from tests.helpers import REPO, documents

CREDENTIALS = "credentials:\n  s3: {type: s3, bucket: b, inheritFromIAMRole: true}\n"


def overlay_accepts(text: str, credentials: str = CREDENTIALS) -> bool:
    try:
        overlay_model.parse([("o.yaml", credentials + text)])
    except RenderError:
        return False
    return True


def cluster(spec: dict) -> dict:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg"}, "spec": spec}


def validate_accepts(obj: dict, field: str) -> bool:
    return not [p for p in check_admission(obj) if p.field == field]


def recovery_overlay(target: str) -> str:
    return ("cnpg:\n  main:\n    mode: recovery\n    recovery:\n      credentials: s3\n      pitrTarget:\n"
            + textwrap.indent(target, "        "))


def recovery_cluster(target: dict) -> dict:
    recovery = {"source": "origin", "recoveryTarget": target}
    return cluster({"instances": 1, "bootstrap": {"recovery": recovery},
                    "externalClusters": [{"name": "origin", "barmanObjectStore": {"destinationPath": "s3://b"}}]})


DIGITS = st.text("0123456789", min_size=1, max_size=4)
TIMES = st.builds(
    lambda date, sep, time, frac, zone, bc: date + sep + time + frac + zone + bc,
    st.sampled_from(["2026-05-01", "2026-13-01", "2026-02-30", "1999-12-31", "26-05-01", "2026-5-1"]),
    st.sampled_from(["T", "t", " ", "", "  "]),
    st.sampled_from(["10:00:00", "24:00:00", "10:61:00", "10:00", "", "1:00:00"]),
    st.sampled_from(["", ".5", ".123456", ".", ".1234567890"]),
    st.sampled_from(["", "Z", "z", "+02", "+02:00", "-05:30", "+0200", "+02:00:00", " UTC", "+2"]),
    st.sampled_from(["", " BC", "BC"]),
)


@settings(max_examples=400, deadline=None)
@given(TIMES)
def test_overlay_and_validate_agree_on_pitr_times(value):
    """They once disagreed on a time without a zone (CNPG reads it as UTC)."""
    overlay = overlay_accepts(recovery_overlay(f"time: {json.dumps(value)}\n"))
    assert overlay == validate_accepts(recovery_cluster({"targetTime": value}),
                                       "spec.bootstrap.recovery.recoveryTarget.targetTime"), value


@pytest.mark.parametrize("value, zone", [("2026-05-01T10:00:00", False), ("2026-05-01 10:00:00", False),
                                         ("2026-05-01", False), ("2026-05-01T10:00:00Z", True),
                                         ("2026-05-01 10:00:00.5+02", True), ("2026-05-01 10:00:00+02:00:00", True)])
def test_zone_less_times_are_accepted_and_warned_about(value, zone):
    assert rules.target_time(value) is None and rules.has_zone(value) is zone


PITR_VALUES = {
    "lsn": (st.builds(lambda a, b: f"{a}/{b}", st.text("0123456789ABCDEFabcdefg", max_size=10),
                      st.text("0123456789abcdef", max_size=10)), "targetLSN"),
    "xid": (st.one_of(DIGITS, st.text("0123456789-+ x", max_size=12), st.just("4294967296"), st.just("4294967295")),
            "targetXID"),
    "tli": (st.one_of(DIGITS, st.sampled_from(["latest", "Latest", "+2", "-1", "0", "00", "+01", " 1"])), "targetTLI"),
    "name": (st.text(max_size=70), "targetName"),  # lone surrogates too: YAML can write them as escapes
}


@settings(max_examples=150, deadline=None)
@given(st.data())
@pytest.mark.parametrize("key", sorted(PITR_VALUES))
def test_overlay_and_validate_agree_on_pitr_targets(key, data):
    strategy, field = PITR_VALUES[key]
    # '' means "not set" to CNPG; the overlay refuses it: an empty target is a templating
    # slip that would silently recover to the end of WAL.
    value = data.draw(strategy.filter(lambda v: v != ""))
    scalar = yaml.dump(value, default_style='"', width=1000).rstrip("\n").removesuffix("\n...")  # escapes, any text
    overlay = overlay_accepts(recovery_overlay(f"{key}: {scalar}\nbackupID: b1\n"))
    target = {field: value, **({"backupID": "b1"} if key in ("xid", "name") else {})}
    assert overlay == validate_accepts(recovery_cluster(target),
                                       f"spec.bootstrap.recovery.recoveryTarget.{field}"), value


RETENTIONS = st.one_of(
    st.builds(lambda n, u: n + u, DIGITS, st.sampled_from(["d", "w", "m", "y", "D", "days", " d", "h", ""])),
    st.text("0123456789dwm -", max_size=6))


@settings(max_examples=300, deadline=None)
@given(RETENTIONS)
def test_overlay_and_validate_agree_on_retention(value):
    overlay = overlay_accepts(f"cnpg:\n  main:\n    backups: {{enabled: true, credentials: s3, "
                              f"retentionPolicy: {json.dumps(value)}}}\n")
    obj = cluster({"instances": 1, "backup": {"retentionPolicy": value}})
    # "" is TrueCharts' "keep every backup": the overlay takes it and writes no retentionPolicy,
    # which validate passes as the webhook does.
    assert overlay == validate_accepts(obj, "spec.backup.retentionPolicy"), value


SCHEDULES = st.lists(st.sampled_from(["0", "*", "*/5", "1-5", "60", "mon", "jan", "?", "1,2", "5/0", "@daily",
                                      "@every", "1h", "L"]), min_size=1, max_size=7).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(SCHEDULES)
def test_overlay_and_validate_agree_on_schedules(value):
    overlay = overlay_accepts(f"cnpg:\n  main:\n    backups:\n      enabled: true\n      credentials: s3\n"
                              f"      scheduledBackups: [{{name: d, schedule: {json.dumps(value)}}}]\n")
    scheduled = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup", "metadata": {"name": "s"},
                 "spec": {"schedule": value, "cluster": {"name": "pg"}}}
    assert overlay == validate_accepts(scheduled, "spec.schedule"), value


AZURE_WAYS = ["connectionString", "storageKey", "storageSasToken", "inheritFromAzureAD", "useDefaultAzureCredentials"]
FLAGS = {"inheritFromAzureAD", "useDefaultAzureCredentials", "inheritFromIAMRole", "gkeEnvironment"}
PROVIDER_KEYS = {
    "s3": (["accessKey", "secretKey", "inheritFromIAMRole"], "bucket: b", "s3Credentials",
           {"accessKey": "accessKeyId", "secretKey": "secretAccessKey"}),
    "azure": (AZURE_WAYS, "storageAccount: acct, container: c", "azureCredentials", {}),
    "google": (["applicationCredentials", "gkeEnvironment"], "bucket: b", "googleCredentials", {}),
}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(PROVIDER_KEYS)), st.data())
def test_overlay_and_validate_agree_on_credentials(provider, data):
    """Any combination of authentication fields: the overlay refuses exactly what the
    webhook would refuse in the credentials block we render from it."""
    keys, location, block, cnpg_names = PROVIDER_KEYS[provider]
    chosen = data.draw(st.lists(st.sampled_from(keys), unique=True, max_size=3))
    fields = ", ".join(f"{k}: {'true' if k in FLAGS else 'V'}" for k in chosen)
    overlay = overlay_accepts(
        f"credentials:\n  c: {{type: {provider}, {location}{', ' if fields else ''}{fields}}}\n", "")
    creds = {cnpg_names.get(k, k): True if k in FLAGS else {"name": "s", "key": k} for k in chosen}
    if provider == "azure" and {"storageKey", "storageSasToken"} & set(chosen) and "connectionString" not in chosen:
        creds["storageAccount"] = {"name": "s", "key": "AZURE_STORAGE_ACCOUNT"}  # as _azure_values renders it
    obj = cluster({"instances": 1, "backup": {"barmanObjectStore": {"destinationPath": "s3://b", block: creds}}})
    problems = [p for p in check_admission(obj) if p.field.startswith(f"spec.backup.barmanObjectStore.{block}")]
    assert overlay == (not problems), (chosen, problems)


def test_archivers_are_read_alike_by_render_and_validate():
    plugins = [{"name": "a", "isWALArchiver": True}, {"name": "b", "isWALArchiver": "true"},
               {"name": "c", "isWALArchiver": True, "enabled": False}, "junk", {"name": "d"}]
    assert rules.archivers(plugins) == ["a"]
    from renderer.cnpg import plugin

    assert plugin.archivers is rules.archivers


def test_every_name_and_constant_is_defined_once():
    """No two module-level constants in renderer/ hold the same string (once PLUGIN_NAME
    lived in live.py and cnpg/plugin.py, and could drift apart)."""
    defined: dict[str, list[str]] = {}
    for path in sorted((REPO / "renderer").rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            value = getattr(node, "value", None)
            if isinstance(value, ast.Constant) and isinstance(value.value, (str, bytes)) and len(value.value) > 1:
                text = value.value.decode("utf-8") if isinstance(value.value, bytes) else value.value
                defined.setdefault(text, []).extend(f"{path.relative_to(REPO)}:{t.id}" for t in targets
                                                    if isinstance(t, ast.Name))
    assert {text: where for text, where in defined.items() if len(where) > 1} == {}


@pytest.mark.parametrize("patch, says", [
    ({"op": "replace", "path": "/spec/nothere/deeper", "value": 1},
     "replace /spec/nothere/deeper: the path does not exist"),
    ({"op": "remove", "path": "/spec/nothere"}, "remove /spec/nothere: the path does not exist"),
    ({"op": "test", "path": "/spec/instances", "value": 7}, "the Cluster holds another value there"),
    ({"op": "add", "path": "spec/x", "value": 1}, "a path starts with '/'"),
    ({"op": "frobnicate", "path": "/spec"}, "is not an RFC 6902 operation: write {op: add|"),
    ({"op": "move", "from": "/spec/missing", "path": "/spec/y"}, "the path (or from) does not exist"),
])
def test_a_failing_patch_names_its_operation_not_the_cluster(tmp_path, patch, says):
    """jsonpatch's own text prints the whole Cluster spec as a Python dict."""
    from renderer.render import render
    from renderer.transform import Context

    cluster_yaml = (REPO / "fixtures" / "inputs" / "cluster-main.yaml").read_bytes()
    text = (CREDENTIALS + "cnpg:\n  main:\n    backups: {enabled: true, credentials: s3}\n"
            f"    patches: [{json.dumps(patch)}]\n")
    with pytest.raises(RenderError) as caught:
        render(cluster_yaml, overlay_model.parse([("o.yaml", text)]), Context())
    message = str(caught.value)
    assert says in message and "{'" not in message and "instances" not in message.replace("/spec/instances", "")


def test_patches_apply_in_order_and_a_copy_is_its_own_value():
    from renderer.render import render
    from renderer.transform import Context

    cluster_yaml = (REPO / "fixtures" / "inputs" / "cluster-main.yaml").read_bytes()
    patches = [{"op": "add", "path": "/spec/a", "value": {"k": [1]}},
               {"op": "copy", "from": "/spec/a", "path": "/spec/b"}, {"op": "add", "path": "/spec/b/k/-", "value": 2}]
    text = (CREDENTIALS + "cnpg:\n  main:\n    backups: {enabled: true, credentials: s3}\n"
            f"    patches: {json.dumps(patches)}\n")
    out = render(cluster_yaml, overlay_model.parse([("o.yaml", text)]), Context()).output.getvalue()
    spec = next(d for d in documents(out) if d["kind"] == "Cluster")["spec"]
    assert (spec["a"], spec["b"]) == ({"k": [1]}, {"k": [1, 2]})


def test_pgtime_is_gone_and_rules_is_light():
    assert not (REPO / "renderer" / "pgtime.py").exists()
    tree = ast.parse((REPO / "renderer" / "cnpg" / "rules.py").read_text())
    top_imports = {alias.name for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                   for alias in node.names} | {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert "datetime" not in top_imports and "renderer.cron" not in top_imports



@pytest.mark.parametrize("value, iso", [
    ("2026-05-01T10:00:00Z", "2026-05-01T10:00:00+00:00"),
    ("2026-05-01T10:00:00", "2026-05-01T10:00:00+00:00"),  # no zone: UTC, as CNPG reads it
    ("2026-05-01 10:00:00+02", "2026-05-01T10:00:00+02:00"),
    ("2026-05-01 10:00:00.25-05:30", "2026-05-01T10:00:00.250000-05:30"),
    ("2026-05-01 10:00:00+02:00:30", "2026-05-01T10:00:00+02:00:30"),
    ("2026-05-01", "2026-05-01T00:00:00+00:00"),
    ("2026-05-01 10:00:00 BC", "0001-01-01T00:00:00+00:00"),  # before every backup
])
def test_instant_is_the_time_cnpg_hands_postgresql(value, iso):
    assert rules.instant(value).isoformat() == iso


@settings(max_examples=200, deadline=None)
@given(TIMES)
def test_every_accepted_time_has_an_instant_and_no_other_does(value):
    if rules.target_time(value) is None:
        assert rules.instant(value).tzinfo is not None
    else:
        with pytest.raises(ValueError):
            rules.instant(value)
