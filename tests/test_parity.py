"""Parity with TrueCharts: the guide's values as an overlay, applied to the chart's
render without backup values, give what TrueCharts itself renders with them
(compression/encryption aside: we default to gzip and no server-side encryption)."""

from __future__ import annotations

import pytest

from tests.helpers import FIXTURES, REAL, by_kind, documents, run_cli

CLUSTER = "immich-common-test-cnpg-main"


@pytest.fixture(scope="module")
def ours():
    overlay = FIXTURES / "golden" / "truecharts-recovery" / "overlay.yaml"
    result = run_cli("render", "--overlay", str(overlay), "--release", "immich",
                     stdin=(REAL / "truecharts-common-test-cnpg.yaml").read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    return documents(result.stdout)


@pytest.fixture(scope="module")
def theirs():
    return documents((REAL / "truecharts-seed-rendered.yaml").read_bytes())


def cluster_spec(docs):
    [cluster] = by_kind(docs, "Cluster")
    return cluster["spec"]


def without_compression(backup: dict) -> dict:
    store = {k: v for k, v in backup["barmanObjectStore"].items() if k not in ("wal", "data")}
    return {**backup, "barmanObjectStore": store}


def test_spec_backup_matches_truecharts(ours, theirs):
    assert without_compression(cluster_spec(ours)["backup"]) == without_compression(cluster_spec(theirs)["backup"])
    assert cluster_spec(ours)["backup"]["barmanObjectStore"]["data"]["jobs"] == 2


def test_bootstrap_matches_truecharts(ours, theirs):
    assert cluster_spec(ours)["bootstrap"] == cluster_spec(theirs)["bootstrap"]


def test_external_clusters_match_truecharts(ours, theirs):
    assert cluster_spec(ours)["externalClusters"] == cluster_spec(theirs)["externalClusters"]


def test_scheduled_backup_matches_truecharts_but_keeps_its_backups(ours, theirs):
    """One documented difference: Backups owned by no object outlive the schedule (README)."""
    [mine], [reference] = by_kind(ours, "ScheduledBackup"), by_kind(theirs, "ScheduledBackup")
    assert (mine["spec"]["backupOwnerReference"], reference["spec"]["backupOwnerReference"]) == ("none", "self")
    assert {**mine["spec"], "backupOwnerReference": "self"} == reference["spec"]
    assert mine["metadata"]["name"] == reference["metadata"]["name"]
    assert mine["metadata"]["namespace"] == reference["metadata"]["namespace"]
    assert reference["metadata"]["labels"].items() <= mine["metadata"]["labels"].items()


def test_provider_secrets_match_truecharts(ours, theirs):
    def provider_secrets(docs):
        return {s["metadata"]["name"]: (s["type"], s["stringData"], s["metadata"]["namespace"])
                for s in by_kind(docs, "Secret") if "-provider-" in s["metadata"]["name"]}

    assert provider_secrets(ours) == provider_secrets(theirs)
    assert len(provider_secrets(ours)) == 2
