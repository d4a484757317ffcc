"""Parity with TrueCharts, from real renders of its common library chart
(fixtures/truecharts/, made by scripts/render-truecharts.sh with the real helm): the
chart rendered without its backup values and piped through cnpg-render with those
values as the overlay gives TrueCharts' own objects. Each difference allowed here is
one the README's TrueCharts-differences table lists, with its reason."""

from __future__ import annotations

import pytest

from renderer import validate
from tests.helpers import CRDS, FIXTURES, by_kind, documents, run_cli

CASES = FIXTURES / "truecharts"
MAIN = "immich-common-test-cnpg-main"
# What our companions carry beyond TrueCharts' metadata: the Cluster's own labels (it
# has cnpg.io/reload) and the marker that makes a second render replace, not duplicate.
OURS_ONLY = {"labels": {"cnpg.io/reload"}, "annotations": {"cnpg-render.io/generated-for"}}


def render(case: str, release: str = "immich") -> tuple[list, str]:
    result = run_cli("render", "-f", str(CASES / "credentials.yaml"), "-f", str(CASES / case / "overlay.yaml"),
                     "--release", release, stdin=(CASES / case / "input.yaml").read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    return documents(result.stdout), result.stderr.decode()


def theirs(case: str) -> list:
    return documents((CASES / case / "truecharts.yaml").read_bytes())


def named(docs: list, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in by_kind(docs, kind)}


def cluster(docs: list, name: str = MAIN) -> dict:
    return named(docs, "Cluster")[name]


def assert_same_metadata(mine: dict, reference: dict) -> None:
    """Same name and namespace; TrueCharts' labels and annotations all there, and
    nothing else but what OURS_ONLY names."""
    assert (mine["metadata"]["name"], mine["metadata"]["namespace"]) == \
        (reference["metadata"]["name"], reference["metadata"]["namespace"])
    for key, extra in OURS_ONLY.items():
        ours, their = mine["metadata"].get(key) or {}, reference["metadata"].get(key) or {}
        assert their.items() <= ours.items(), key
        assert set(ours) - set(their) <= extra, key


def without_compression(backup: dict) -> dict:
    """spec.backup minus wal/data: TrueCharts 24.1.9 writes gzip + AES256, we gzip alone
    (README: AES256 breaks on stores without server-side encryption)."""
    store = {k: v for k, v in backup["barmanObjectStore"].items() if k not in ("wal", "data")}
    return {**{k: v for k, v in backup.items() if v is not None}, "barmanObjectStore": store}


def test_manual_backups_and_schedule_metadata_match_truecharts():
    mine, _ = render("backups-and-schedules")
    reference = theirs("backups-and-schedules")
    for kind in ("Backup", "ScheduledBackup"):
        ours, their = named(mine, kind), named(reference, kind)
        assert sorted(ours) == sorted(their) and their, kind
        for name, obj in their.items():
            assert_same_metadata(ours[name], obj)
            assert ours[name]["spec"] == obj["spec"], name
    assert without_compression(cluster(mine)["spec"]["backup"]) == \
        without_compression(cluster(reference)["spec"]["backup"])


def test_a_hibernated_cluster_gets_suspended_schedules_and_no_backup_yet():
    """Schedules as TrueCharts suspends them; the Backup TrueCharts renders would fail
    for good on a hibernated Cluster, so it is held back (README)."""
    mine, stderr = render("hibernated")
    reference = theirs("hibernated")
    assert cluster(mine)["metadata"]["annotations"]["cnpg.io/hibernation"] == "on"
    [ours], [their] = by_kind(mine, "ScheduledBackup"), by_kind(reference, "ScheduledBackup")
    assert ours["spec"] == their["spec"] and ours["spec"]["suspend"] is True
    assert [b["metadata"]["name"] for b in by_kind(reference, "Backup")] == [f"{MAIN}-backup-before-upgrade"]
    assert by_kind(mine, "Backup") == []
    assert "held back until it wakes" in stderr and "before-upgrade" in stderr


def test_a_second_entry_keeps_every_backup_as_truecharts_does():
    """TrueCharts gives defaults to cnpg.main only: its `ro` entry has no retention
    (retentionPolicy: null) — nothing is pruned here either. Its schedules differ on
    purpose: TrueCharts gives `ro` none (WAL without a base backup restores nothing),
    we give it the daily default (README)."""
    mine, _ = render("second-entry")
    reference = theirs("second-entry")
    ro = "immich-common-test-cnpg-ro"
    assert without_compression(cluster(mine, ro)["spec"]["backup"]) == \
        without_compression(cluster(reference, ro)["spec"]["backup"])
    assert "retentionPolicy" not in cluster(mine, ro)["spec"]["backup"]
    assert cluster(reference, ro)["spec"]["backup"]["retentionPolicy"] is None
    assert cluster(mine)["spec"]["backup"]["retentionPolicy"] == cluster(reference)["spec"]["backup"]["retentionPolicy"]
    assert sorted(named(reference, "ScheduledBackup")) == [f"{MAIN}-sched-backup-daily-backup"]
    assert sorted(named(mine, "ScheduledBackup")) == [f"{MAIN}-sched-backup-daily-backup",
                                                      f"{ro}-sched-backup-daily-backup"]
    assert "immich-common-test-cnpg-mon" not in {d["metadata"].get("annotations", {}).get(
        "cnpg-render.io/generated-for") for d in mine}


def test_a_restore_under_a_new_release_reads_what_the_old_release_wrote():
    """The guide's "the apps need to be called exactly the same", answered: release
    photos reads the lineage TrueCharts' release immich wrote, and writes its own."""
    mine, _ = render("new-release-name", release="photos")
    written = cluster(theirs("new-release-name"))["spec"]["backup"]["barmanObjectStore"]
    restored = cluster(mine, "photos-common-test-cnpg-main")["spec"]
    [source] = restored["externalClusters"]
    read = source["barmanObjectStore"]
    assert (read["destinationPath"], read["serverName"]) == (written["destinationPath"], written["serverName"])
    assert restored["bootstrap"]["recovery"]["source"] == source["name"]
    own = restored["backup"]["barmanObjectStore"]
    assert (own["destinationPath"], own["serverName"]) == \
        ("s3://my-bucket/truecharts/photos/cnpg", "photos-common-test-cnpg-main")


@pytest.mark.parametrize("case", ["backups-and-schedules", "hibernated", "second-entry", "new-release-name"])
def test_every_object_we_render_validates(case):
    schemas = validate.Schemas.from_dir(CRDS)
    mine, _ = render(case, release="photos" if case == "new-release-name" else "immich")
    for index, obj in enumerate(mine):
        if validate.is_cnpg_object(obj):
            assert validate.check(obj, schemas, index) == [], obj["metadata"]["name"]


def test_the_skip_wal_check_annotation_newer_truecharts_renders_is_removed(tmp_path):
    """TrueCharts 2025 annotates every Cluster so backup and recovery can share one
    lineage; the lineages differ here, so CNPG's empty-archive check is put back — and
    kept only when the overlay asks for it."""
    chart = (CASES / "backups-and-schedules" / "input.yaml").read_bytes()
    annotated = chart.replace(b'    cnpg.io/hibernation: "off"\n',
                              b'    cnpg.io/hibernation: "off"\n    cnpg.io/skipEmptyWalArchiveCheck: "enabled"\n', 1)
    assert annotated != chart
    base = (CASES / "credentials.yaml").read_text() + "cnpg:\n  main:\n    backups: {enabled: true, credentials: s3}\n"
    for keep in (False, True):
        overlay = tmp_path / f"keep-{keep}.yaml"
        overlay.write_text(base + ("    skipEmptyWalArchiveCheck: true\n" if keep else ""))
        result = run_cli("render", "-f", str(overlay), "--release", "immich", stdin=annotated)
        annotations = cluster(documents(result.stdout))["metadata"]["annotations"]
        assert ("cnpg.io/skipEmptyWalArchiveCheck" in annotations) is keep
        stderr = result.stderr.decode()
        assert ("removed cnpg.io/skipEmptyWalArchiveCheck rendered by the chart" in stderr) is not keep
        assert ("it can lead to data loss" in stderr) is keep
