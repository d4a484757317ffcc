"""Engines as a strategy (renderer.cnpg.engine): each engine's declaration is checked
against what it really writes, and volume snapshots — the engine with no object-store
lineage — through the real CLI: overlay rules, the Cluster they meet, CNPG's admission
rules for the fields, and the CRDs."""

from __future__ import annotations

import pytest

from renderer import overlay, validate
from renderer.cnpg.engine import engine, names
from renderer.errors import RenderError
from renderer.overlay.convert import hints
from renderer.overlay.fields import shape
from renderer.overlay.model import Entry, ManualBackup
from tests.helpers import CRDS, FIXTURES, by_kind, documents, run_cli

INPUT = (FIXTURES / "truecharts" / "backups-and-schedules" / "input.yaml").read_bytes()  # has spec.walStorage
CLUSTER = "immich-common-test-cnpg-main"
CRED = "credentials:\n  s3: {type: s3, bucket: b, accessKey: AKIAEXAMPLE, secretKey: topsecret}\n"
SNAPSHOTS = "{storage: data-snap, walStorage: wal-snap}"
# What every engine's side shares, written by cluster.py and recovery.py: the database
# carried into bootstrap.recovery (the chart's initdb goes), the entry naming a source.
COMMON = ("spec.bootstrap.initdb", "spec.bootstrap.recovery.database", "spec.bootstrap.recovery.owner",
          "spec.bootstrap.recovery.secret", "spec.externalClusters[].name", "metadata.annotations")
OVERLAYS = {
    "barmanObjectStore": "    mode: recovery\n    backups: {enabled: true, credentials: s3}\n"
                         "    recovery: {credentials: s3}\n",
    "plugin": "    engine: plugin\n    mode: recovery\n    backups: {enabled: true, credentials: s3}\n"
              "    recovery: {credentials: s3}\n",
    "volumeSnapshot": "    mode: recovery\n    backups: {enabled: true, volumeSnapshot: {className: csi}}\n"
                      f"    recovery: {{method: volumeSnapshot, volumeSnapshots: {SNAPSHOTS}}}\n",
}


def render(tmp_path, entry: str, *args: str, stdin: bytes = INPUT):
    path = tmp_path / "overlay.yaml"
    path.write_text(CRED + "cnpg:\n  main:\n" + entry)
    return run_cli("render", "-f", str(path), "--release", "immich", *args, stdin=stdin)


def rendered(tmp_path, entry: str) -> list:
    result = render(tmp_path, entry)
    assert result.returncode == 0, result.stderr.decode()
    return documents(result.stdout)


def error_of(tmp_path, entry: str) -> str:
    """The one-line error of a failing render; nothing on stdout, no secret anywhere."""
    result = render(tmp_path, entry)
    assert result.returncode == 1 and result.stdout == b""
    message = result.stderr.decode()
    assert message.count("\n") == 1 and message.startswith("cnpg-render: error: ") and "topsecret" not in message
    return message


def leaves(value, path: str = "") -> dict[str, object]:
    """Every scalar of an object by its path, list positions written `[]`."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in leaves(item, f"{path}.{key}" if path else key).items()}
    if isinstance(value, list):
        return {k: v for item in value for k, v in leaves(item, f"{path}[]").items()}
    return {path: value}


def changed(before: dict, after: dict) -> set[str]:
    old, new = leaves(before), leaves(after)
    return {p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}


def covered(path: str, prefixes) -> bool:
    return any(path == p or path.startswith((p + ".", p + "[")) for p in prefixes)


@pytest.mark.parametrize("name", names())
def test_an_engine_writes_exactly_the_fields_and_objects_it_declares(tmp_path, name):
    declared = engine(name)
    source = by_kind(documents(INPUT), "Cluster")[0]
    docs = rendered(tmp_path, OVERLAYS[name])
    cluster = by_kind(docs, "Cluster")[0]
    fields = changed(source, cluster)
    assert {f for f in fields if not covered(f, declared.writes + COMMON)} == set()
    for field in declared.writes:  # and each declared field is written
        assert any(covered(f, (field,)) for f in fields), field
    generated = {d["kind"] for d in docs if "cnpg-render.io/generated-for" in (d["metadata"].get("annotations") or {})}
    assert generated - {"ScheduledBackup", "Backup"} == set(declared.adds)
    [scheduled] = by_kind(docs, "ScheduledBackup")
    assert declared.method.items() <= scheduled["spec"].items()


def test_every_method_the_overlay_names_is_an_engine():
    form, choices = shape(hints(ManualBackup)["method"])  # an optional Literal
    assert form == "optional" and set(choices.values) == set(names())
    form, choices = shape(hints(Entry)["engine"])
    assert form == "choices" and set(choices) < set(names())


@pytest.mark.parametrize("entry,method", [
    ("    backups: {enabled: true, credentials: s3}\n", "barmanObjectStore"),
    ("    engine: plugin\n    backups: {enabled: true, credentials: s3}\n", "plugin"),
    ("    backups: {enabled: true, volumeSnapshot: {}}\n", "volumeSnapshot"),
    ("    backups: {enabled: true, credentials: s3, volumeSnapshot: {}}\n", "barmanObjectStore"),
])
def test_a_backup_without_a_method_uses_the_entry_store_else_snapshots(entry, method):
    loaded = overlay.parse([("o.yaml", CRED + "cnpg:\n  main:\n" + entry)]).cnpg["main"]
    assert loaded.method(loaded.backups.scheduled_backups[0]) == method


# --------------------------------------------------------------------------- what is written


def test_snapshots_beside_the_archive_share_spec_backup(tmp_path):
    docs = rendered(tmp_path, "    backups:\n      enabled: true\n      credentials: s3\n      target: primary\n"
                              "      volumeSnapshot: {className: csi, online: false, tablespaceClassName: {}}\n")
    backup = by_kind(docs, "Cluster")[0]["spec"]["backup"]
    assert list(backup) == ["barmanObjectStore", "retentionPolicy", "volumeSnapshot", "target"]
    assert backup["volumeSnapshot"] == {"className": "csi", "online": False}


def test_the_chart_volume_snapshot_settings_stay_when_the_overlay_has_none(tmp_path):
    """An engine owns its keys of spec.backup; the others are the chart's."""
    chart = INPUT.replace(b"  bootstrap:\n    initdb:", b"  backup:\n    volumeSnapshot:\n      className: chart-csi\n"
                                                         b"  bootstrap:\n    initdb:", 1)
    assert chart != INPUT
    result = render(tmp_path, "    backups: {enabled: true, credentials: s3}\n", stdin=chart)
    backup = by_kind(documents(result.stdout), "Cluster")[0]["spec"]["backup"]
    assert backup["volumeSnapshot"] == {"className": "chart-csi"} and "barmanObjectStore" in backup


def test_a_snapshot_recovery_without_a_wal_archive_reads_no_store(tmp_path):
    docs = rendered(tmp_path, OVERLAYS["volumeSnapshot"])
    spec = by_kind(docs, "Cluster")[0]["spec"]
    assert spec["bootstrap"]["recovery"]["volumeSnapshots"]["walStorage"] == \
        {"name": "wal-snap", "kind": "VolumeSnapshot", "apiGroup": "snapshot.storage.k8s.io"}
    assert "source" not in spec["bootstrap"]["recovery"] and "externalClusters" not in spec
    assert by_kind(docs, "Secret") == [d for d in by_kind(docs, "Secret") if "provider" not in d["metadata"]["name"]]


def test_rendering_twice_gives_the_same_bytes(tmp_path):
    first = render(tmp_path, OVERLAYS["volumeSnapshot"])
    second = render(tmp_path, OVERLAYS["volumeSnapshot"], stdin=first.stdout)
    assert second.returncode == 0 and second.stdout == first.stdout


def test_everything_rendered_validates(tmp_path):
    schemas = validate.Schemas.from_dir(CRDS)
    for entry in OVERLAYS.values():
        for index, obj in enumerate(rendered(tmp_path, entry)):
            if validate.is_cnpg_object(obj):
                assert validate.check(obj, schemas, index) == [], obj["metadata"]["name"]


# --------------------------------------------------------------------------- refused, with the key to change


@pytest.mark.parametrize("entry,where,what", [
    (("    backups:\n      enabled: true\n      credentials: s3\n      scheduledBackups:\n"
     "        - {name: s, schedule: '@daily', method: volumeSnapshot}\n"),
     "cnpg.main.backups.scheduledBackups[0].method", "need backups.volumeSnapshot"),
    ("    backups:\n      enabled: true\n      credentials: s3\n      manualBackups: [{name: m, method: plugin}]\n",
     "cnpg.main.backups.manualBackups[0].method", "the entry's engine is barmanObjectStore"),
    ("    backups:\n      enabled: true\n      volumeSnapshot: {}\n"
     "      manualBackups: [{name: m, method: barmanObjectStore}]\n",
     "cnpg.main.backups.manualBackups[0].method", "need backups.credentials"),
    ("    backups:\n      enabled: true\n      credentials: s3\n"
     "      scheduledBackups: [{name: s, schedule: '@daily', online: false}]\n",
     "cnpg.main.backups.scheduledBackups[0].online", "volumeSnapshot backups only"),
    ("    mode: recovery\n    recovery: {method: volumeSnapshot}\n",
     "cnpg.main.recovery.volumeSnapshots", "is required"),
    ("    mode: recovery\n    recovery: {credentials: s3, volumeSnapshots: {storage: x}}\n",
     "cnpg.main.recovery.volumeSnapshots", "method: volumeSnapshot only"),
    ((f"    mode: recovery\n    recovery: {{method: volumeSnapshot, volumeSnapshots: {SNAPSHOTS}, credentials: s3,"
     " pitrTarget: {time: '2026-11-01T10:00:00Z', backupID: 20261101T000000}}\n"),
     "cnpg.main.recovery.pitrTarget.backupID", "cannot be set when recovering from VolumeSnapshots"),
    ((f"    mode: recovery\n    recovery: {{method: volumeSnapshot, volumeSnapshots: {SNAPSHOTS},"
     " pitrTarget: {time: '2026-11-01T10:00:00Z'}}\n"), "cnpg.main.recovery.pitrTarget", "set recovery.credentials"),
    ("    mode: recovery\n    recovery: {method: volumeSnapshot, volumeSnapshots: {storage: data-snap}}\n",
     "cnpg.main.recovery.volumeSnapshots.walStorage", "has spec.walStorage"),
    (("    mode: recovery\n    recovery: {method: volumeSnapshot, volumeSnapshots: {storage: d, walStorage: w,"
     " tablespaces: {idx: t}}}\n"), "cnpg.main.recovery.volumeSnapshots.tablespaces", "'idx' is not a tablespace"),
    ("    backups: {enabled: true, retentionPolicy: 30days, volumeSnapshot: {}}\n",
     "cnpg.main.backups.retentionPolicy", "is not a retention policy: write 30d"),
    ("    backups: {enabled: true, retentionPolicy: 30d, volumeSnapshot: {}}\n",
     "cnpg.main.backups.retentionPolicy", "CNPG prunes no snapshot"),
])
def test_snapshot_mistakes_are_refused_at_their_key(tmp_path, entry, where, what):
    message = error_of(tmp_path, entry)
    assert "overlay.yaml:" in message and f": {where}: " in message and what in message, message


def test_backups_need_a_store_or_snapshots():
    with pytest.raises(RenderError, match=r"needs backups.credentials \(or backups.volumeSnapshot\)"):
        overlay.parse([("o.yaml", "cnpg:\n  main:\n    backups: {enabled: true}\n")])


# --------------------------------------------------------------------------- CNPG's admission rules


def cluster(**spec) -> dict:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg", "annotations": {}},
            "spec": {"instances": 1, **spec}}


def snapshot(name: str = "s", kind: str = "VolumeSnapshot", group: str | None = "snapshot.storage.k8s.io") -> dict:
    return {"name": name, "kind": kind, **({"apiGroup": group} if group is not None else {})}


@pytest.mark.parametrize("obj,field,what", [
    (cluster(bootstrap={"recovery": {"volumeSnapshots": {"storage": snapshot(kind="Snapshot")}}}),
     "spec.bootstrap.recovery.volumeSnapshots.storage", "Only VolumeSnapshots and PersistentVolumeClaims"),
    (cluster(bootstrap={"recovery": {"volumeSnapshots": {"storage": snapshot(), "walStorage": snapshot("w")}}}),
     "spec.bootstrap.recovery.volumeSnapshots.walStorage", "A WAL storage configuration is required"),
    (cluster(backup={"volumeSnapshot": {"tablespaceClassName": {"idx": "csi"}}}, tablespaces=[{"name": "other"}]),
     "spec.backup.volumeSnapshot.tablespaceClassName", "can't be found in the '.spec.tablespaces' stanza"),
    ({**cluster(), "metadata": {"name": "pg", "annotations": {"cnpg.io/hibernation": "true"}}},
     'metadata.annotations["cnpg.io/hibernation"]', 'should be "on" or "off"'),
    ({"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup",
      "metadata": {"name": "s", "annotations": {"backup.cnpg.io/volumeSnapshotDeadline": "20m"}},
      "spec": {"schedule": "@daily", "cluster": {"name": "pg"}, "method": "volumeSnapshot"}},
     'metadata.annotations["backup.cnpg.io/volumeSnapshotDeadline"]', "must be an integer"),
])
def test_cnpg_admission_rules_for_snapshots_and_hibernation(obj, field, what):
    problems = validate.check_admission(obj)
    assert [(p.field, what in p.message) for p in problems] == [(field, True)], problems


@pytest.mark.parametrize("obj", [
    cluster(walStorage={"size": "1Gi"}, bootstrap={"recovery": {"volumeSnapshots": {
        "storage": snapshot(), "walStorage": snapshot("pvc", "PersistentVolumeClaim", None)}}}),
    cluster(backup={"volumeSnapshot": {"tablespaceClassName": {"idx": "csi"}}}, tablespaces=[{"name": "idx"}]),
    {**cluster(), "metadata": {"name": "pg", "annotations": {"cnpg.io/hibernation": "on"}}},
])
def test_what_cnpg_admits_passes(obj):
    assert validate.check_admission(obj) == []
