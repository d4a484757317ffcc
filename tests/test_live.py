"""Live Cluster reading: pure parsing of kubectl YAML, and the kubectl call's errors."""

from __future__ import annotations

import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from renderer.live import (
    ClusterStatus,
    Condition,
    LiveCluster,
    LiveReadError,
    Scheduled,
    parse_live,
    parse_scheduled,
    read_kubectl,
    read_kubectl_scheduled,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "live"
CLUSTERS = (FIXTURES / "clusters-list.yaml").read_text()
STORES = (FIXTURES / "objectstores-list.yaml").read_text()
VERIFY = (FIXTURES / "verify-clusters.yaml").read_text()  # a failing archiver and its ScheduledBackup


def _by_name(clusters: list[LiveCluster]) -> dict[str, LiveCluster]:
    return {f"{c.namespace}/{c.name}": c for c in clusters}


def test_in_tree_lineages():
    got = _by_name(parse_live(CLUSTERS))
    orders = got["shop/orders"]
    assert (orders.backup_destination_path, orders.backup_server_name) == ("s3://backups-prod/shop", "orders-r2")
    assert orders.archiver == "barmanObjectStore"
    assert orders.annotations["cnpg-render.io/revision"] == "2"
    billing = got["shop/billing"]  # no serverName: the operator uses the Cluster name
    assert (billing.backup_destination_path, billing.backup_server_name) == ("s3://backups-prod/billing/", "billing")


def test_the_running_database_is_read_from_status_system_id():
    got = _by_name(parse_live(CLUSTERS))
    assert (got["shop/orders"].system_id, got["shop/billing"].system_id) == ("7312000000000000001", None)


def test_plugin_lineage_without_object_stores_has_no_path():
    catalog = _by_name(parse_live(CLUSTERS))["web/catalog"]
    assert catalog.archiver == "plugin" and catalog.barman_object_name == "catalog-store"
    assert catalog.backup_server_name == "catalog-r1"
    assert catalog.backup_destination_path is None
    assert catalog.annotations == {"cnpg.io/skipEmptyWalArchiveCheck": "enabled"}


def test_plugin_lineage_resolved_from_same_namespace_object_store():
    got = _by_name(parse_live(CLUSTERS + "\n---\n" + STORES))
    assert got["web/catalog"].backup_destination_path == "s3://backups-web/catalog"
    search = got["web/search"]  # plugin without serverName: the Cluster name; its store is absent
    assert (search.backup_server_name, search.backup_destination_path) == ("search", None)


def test_disabled_plugin_means_no_lineage():
    scratch = _by_name(parse_live(CLUSTERS))["dev/scratch"]
    assert scratch == LiveCluster("dev", "scratch", None, None, {})


def test_single_cluster_and_multi_doc_stream_and_other_kinds():
    text = """
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: a}
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: one, namespace: a}
spec:
  backup: {barmanObjectStore: {destinationPath: "s3://x/y", serverName: one-r3}}
---
---
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: two}
spec: {instances: 1}
"""
    got = parse_live(text)
    assert [(c.namespace, c.name, c.backup_server_name) for c in got] == [("a", "one", "one-r3"),
                                                                          ("default", "two", None)]
    assert parse_live(text.split("---")[1])[0].backup_destination_path == "s3://x/y"


def test_empty_list():
    assert parse_live("apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: \"\"\n") == []


@pytest.mark.parametrize("text,match", [
    ("a: [unclosed", r"at line \d+: invalid YAML"),
    ("- just\n- a list\n", "holds a list"),
])
def test_bad_input(text, match):
    with pytest.raises(LiveReadError, match=match):
        parse_live(text)


# --------------------------------------------------------------------------- kubectl


def _fake_kubectl(tmp_path: Path, body: str) -> str:
    path = tmp_path / "kubectl"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_read_kubectl_passes_context_and_fetches_object_stores(tmp_path):
    (tmp_path / "clusters.yaml").write_text(CLUSTERS)
    (tmp_path / "stores.yaml").write_text(STORES)
    kubectl = _fake_kubectl(tmp_path, f"""echo "$@" >> {tmp_path}/calls
case "$2" in
  clusters.postgresql.cnpg.io) cat {tmp_path}/clusters.yaml ;;
  objectstores.barmancloud.cnpg.io) cat {tmp_path}/stores.yaml ;;
  *) exit 3 ;;
esac
""")
    got = _by_name(read_kubectl("prod", kubectl=kubectl))
    assert got["web/catalog"].backup_destination_path == "s3://backups-web/catalog"
    assert (tmp_path / "calls").read_text().splitlines() == [
        "get clusters.postgresql.cnpg.io -A -o yaml --context prod",
        "get objectstores.barmancloud.cnpg.io -A -o yaml --context prod",
    ]


def test_read_kubectl_failure_is_one_line(tmp_path):
    kubectl = _fake_kubectl(tmp_path, 'echo "E1125 noise" >&2; '
                                      'echo "error: context \\"x\\" does not exist" >&2; exit 1\n')
    with pytest.raises(LiveReadError) as exc:
        read_kubectl("x", kubectl=kubectl)
    assert str(exc.value) == 'kubectl get clusters.postgresql.cnpg.io failed (rc=1): error: context "x" does not exist'


def test_read_kubectl_missing_binary(tmp_path):
    with pytest.raises(LiveReadError, match="kubectl not found"):
        read_kubectl(kubectl=str(tmp_path / "no-kubectl"))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_real_kubectl_unknown_context(tmp_path, monkeypatch):
    """The real binary, with an empty kubeconfig: fails fast with its own message."""
    (tmp_path / "config").write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "config"))
    with pytest.raises(LiveReadError, match=r"failed \(rc=1\): .*context.*nope"):
        read_kubectl("nope")


# --------------------------------------------------------------------------- what verify reads


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_archiving_condition_and_backup_times_are_read_from_status():
    (cluster,) = parse_live(VERIFY)
    assert cluster.status == ClusterStatus(
        archiving=Condition("ContinuousArchiving", "False", "ContinuousArchivingFailing",
                            "unexpected failure invoking barman-cloud-wal-archive: exit status 4",
                            _utc("2026-11-01T00:30:00")),
        last_successful_backup=_utc("2026-11-01T00:05:00"), first_recoverability_point=_utc("2026-11-01T00:05:00"),
        phase="Cluster in healthy state")
    assert cluster.system_id == "7312000000000000001"


def test_a_cluster_without_status_has_an_empty_one():
    assert _by_name(parse_live(CLUSTERS))["dev/scratch"].status == ClusterStatus()
    # healthy, but the instance has not reported on archiving yet: no condition
    assert _by_name(parse_live(CLUSTERS))["shop/orders"].status == ClusterStatus(phase="Cluster in healthy state")


def test_unreadable_status_times_are_unknown_not_an_error():
    text = VERIFY.replace('lastSuccessfulBackup: "2026-11-01T00:05:00Z"', "lastSuccessfulBackup: yesterday")
    assert parse_live(text)[0].status.last_successful_backup is None


def test_scheduled_backups_are_read_with_their_status():
    daily, weekly = parse_scheduled(VERIFY)
    assert daily == Scheduled("demo", "demo-cnpg-main-sched-backup-daily-backup", "demo-cnpg-main", "0 0 0 * * *",
                              immediate=True, suspend=False, last_check=_utc("2026-11-01T00:00:30"),
                              last_schedule=_utc("2026-11-01T00:00:30"), next_schedule=_utc("2026-11-02T00:00:00"))
    assert weekly == Scheduled("default", "weekly", "other", "@weekly", suspend=True)  # kubectl's default namespace
    assert parse_scheduled(CLUSTERS) == []


def test_read_kubectl_scheduled_asks_for_scheduled_backups(tmp_path):
    (tmp_path / "list.yaml").write_text(VERIFY)
    kubectl = _fake_kubectl(tmp_path, f'echo "$@" >> {tmp_path}/calls; cat {tmp_path}/list.yaml\n')
    assert [s.name for s in read_kubectl_scheduled("prod", kubectl=kubectl)] == [
        "demo-cnpg-main-sched-backup-daily-backup", "weekly"]
    assert (tmp_path / "calls").read_text() == "get scheduledbackups.postgresql.cnpg.io -A -o yaml --context prod\n"
