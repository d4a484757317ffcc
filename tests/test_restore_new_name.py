"""Restore under a new name (`recovery.from`): the recovery side is derived from where the
old data lives by the write side's rules, backups start the new name's own series, plan
shows it, and the judge's identity rules apply to it — with the old Cluster's
status.systemID when it still runs. Also the judge on sides with no object-store base
(a snapshot restore replaying archived WAL, a Backup object)."""

from __future__ import annotations

import json

import pytest

from renderer import overlay, truecharts
from renderer.errors import RenderError
from renderer.facts import Facts
from renderer.live import LiveCluster
from renderer.render import finish, prepare
from renderer.transform import Context
from tests.helpers import FIXTURES, run_cli
from tests.storefacts import SYSTEM_A, SYSTEM_B, backup, lineage, store, wal

INPUT = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()  # demo/demo-cnpg-main, release label demo
TRUECHARTS = (FIXTURES / "truecharts" / "new-release-name" / "input.yaml").read_bytes()  # release photos
CRED = "credentials:\n  s3: {type: s3, bucket: bkt, accessKey: A, secretKey: S}\n"
OLD = "s3://bkt/old/cnpg"


def entry(recovery: str, backups: str = "{enabled: true, credentials: s3}") -> str:
    return CRED + f"cnpg:\n  main:\n    mode: recovery\n    backups: {backups}\n    recovery: {recovery}\n"


def planned(body: str, stdin: bytes = INPUT, release: str | None = None, facts: Facts | None = None):
    rendered = finish(prepare(stdin, overlay.parse([("o.yaml", body)]), Context(release=release)), facts, True)
    ((plan, _),) = rendered.result.clusters
    return plan, rendered.result.verdicts


def sides(plan) -> tuple[str | None, str | None]:
    return (plan.recovery.folder if plan.recovery else None, plan.backup.folder if plan.backup else None)


# --------------------------------------------------------------------------- the plan


def test_the_old_release_and_cluster_name_the_read_side_and_backups_start_their_own():
    plan, _ = planned(entry("{credentials: s3, from: {release: old, cluster: old-db}}"))
    assert sides(plan) == ("s3://bkt/old/cnpg/old-db", "s3://bkt/demo/cnpg/demo-cnpg-main")
    assert (plan.previous.cluster, plan.previous.release.name, plan.previous.how) == ("old-db", "old", "recovery.from")


def test_a_truecharts_cluster_gets_the_name_the_old_release_gave_it():
    plan, _ = planned(entry("{credentials: s3, from: {release: immich}}"), TRUECHARTS, release="photos")
    assert plan.previous.cluster == "immich-common-test-cnpg-main"
    assert plan.previous.how == "TrueCharts name in release immich"


def test_a_revision_of_the_old_series_is_read_and_an_explicit_backup_revision_wins():
    plan, _ = planned(entry("{credentials: s3, revision: '2', from: {release: old, cluster: old-db}}",
                            "{enabled: true, credentials: s3, revision: '5'}"))
    assert sides(plan) == ("s3://bkt/old/cnpg/old-db-r2", "s3://bkt/demo/cnpg/demo-cnpg-main-r5")


def test_without_from_a_restore_still_writes_the_next_revision_of_its_series():
    plan, _ = planned(entry("{credentials: s3, revision: '2'}"))
    assert sides(plan) == ("s3://bkt/demo/cnpg/demo-cnpg-main-r2", "s3://bkt/demo/cnpg/demo-cnpg-main-r3")


def test_a_from_that_names_this_cluster_again_is_refused_not_written_into():
    with pytest.raises(RenderError, match="backups would write into the lineage being recovered"):
        planned(entry("{credentials: s3, from: {release: demo, cluster: demo-cnpg-main}}"))


@pytest.mark.parametrize("release,chart,name", [
    ("immich", "common-test", "immich-common-test"), ("immich-prod", "immich", "immich-prod"),
    ("Shop", "shop-app", "shop-shop-app"), ("a" * 70, "x", "a" * 63),
])
def test_truecharts_fullname(release, chart, name):
    assert truecharts.fullname(release, chart) == name


@pytest.mark.parametrize("recovery,stdin,where,what", [
    ("{credentials: s3, from: {release: old}}", INPUT, "cnpg.main.recovery.from.release",
     "not named as TrueCharts names it"),
    ("{method: backup, backupName: b1, from: {namespace: prod}}", INPUT, "cnpg.main.recovery.from.namespace",
     "reads the Backup object from the restored Cluster's namespace (demo)"),
    ("{credentials: s3, from: {release: Old_Release}}", INPUT, "cnpg.main.recovery.from.release",
     "must be a Helm release name"),
])
def test_what_cannot_be_derived_is_refused_at_its_key(tmp_path, recovery, stdin, where, what):
    path = tmp_path / "o.yaml"
    path.write_text(entry(recovery))
    result = run_cli("render", "-f", str(path), stdin=stdin)
    assert result.returncode == 1 and result.stdout == b""
    message = result.stderr.decode()
    assert message.count("\n") == 1 and f": {where}: " in message and what in message, message


def test_plan_shows_where_the_old_data_lives(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(entry("{credentials: s3, from: {release: old, namespace: prod, cluster: old-db}}"))
    [row] = json.loads(run_cli("plan", "-o", "json", "-f", str(path), stdin=INPUT).stdout)
    assert row["recoveryFrom"] == {"release": "old", "namespace": "prod", "cluster": "old-db", "how": "recovery.from"}
    assert row["recoverySource"] == {"destinationPath": OLD, "serverName": "old-db"}
    table = run_cli("plan", "-f", str(path), stdin=INPUT).stdout.decode()
    assert "s3://bkt/old/cnpg/old-db (written by prod/old-db)" in table


# --------------------------------------------------------------------------- the judge


OLD_LINEAGE = lineage("old-db", [backup("20261101T000500", 2, 3, ended=5)], wal(1, 1, 30))
FROM_OLD = entry("{credentials: s3, from: {release: old, cluster: old-db}}")


def live_old(system: int) -> tuple[LiveCluster, ...]:
    return (LiveCluster("demo", "old-db", OLD, "old-db", system_id=str(system)),)


def test_the_old_cluster_still_running_says_which_database_is_restored():
    stores = {**store(OLD, OLD_LINEAGE), **store("s3://bkt/demo/cnpg")}  # the new name's series is empty
    _, [verdict] = planned(FROM_OLD, facts=Facts(stores=stores, live=live_old(SYSTEM_B)))
    assert verdict.code == "other-system"
    assert f"not system {SYSTEM_B} (the status.systemID of demo/old-db)" in verdict.problems[0].what
    _, [verdict] = planned(FROM_OLD, facts=Facts(stores=stores, live=live_old(SYSTEM_A)))
    assert (verdict.code, verdict.system_id) == ("safe", str(SYSTEM_A))


def test_a_system_id_the_old_cluster_contradicts_is_refused():
    body = entry(f"{{credentials: s3, systemID: '{SYSTEM_A}', from: {{release: old, cluster: old-db}}}}")
    _, [verdict] = planned(body, facts=Facts(stores=store(OLD, OLD_LINEAGE), live=live_old(SYSTEM_B)))
    assert verdict.code == "other-system"
    assert f"recovery.systemID is {SYSTEM_A}, but demo/old-db (recovery.from) runs" in verdict.problems[0].what


def test_a_snapshot_restore_is_judged_for_the_wal_it_replays_and_names_what_no_store_shows():
    body = entry("{method: volumeSnapshot, volumeSnapshots: {storage: snap-1}, credentials: s3,"
                 " from: {release: old, cluster: old-db}}")
    _, [verdict] = planned(body, facts=Facts(stores=store(OLD, OLD_LINEAGE)))
    assert verdict.code == "not-checked" and verdict.system_id == str(SYSTEM_A)
    assert "the base backup is VolumeSnapshot snap-1, in the Kubernetes cluster" in verdict.detail
    _, [verdict] = planned(body,
                           facts=Facts(stores=store(OLD, lineage("old-db", [backup("20261101T000500", 2, 3, 5)]))))
    assert verdict.code == "recovery-source-empty"
    assert "holds no WAL to replay after VolumeSnapshot snap-1" in verdict.problems[0].what


def test_a_restore_from_a_backup_object_is_not_called_safe():
    body = entry("{method: backup, backupName: before-upgrade}")
    _, [verdict] = planned(body, facts=Facts(stores=store("s3://bkt/demo/cnpg")))
    assert verdict.code == "not-checked" and "Backup before-upgrade" in verdict.detail


def test_an_auto_revision_reads_the_old_series_of_the_pinned_database():
    newer_b = lineage("old-db-r1", [backup("20261101T004500", 35, 36, ended=45)], wal(1, 35, 40, minute=35),
                      system=SYSTEM_B)
    body = entry("{credentials: s3, revision: auto, from: {release: old, cluster: old-db}}")
    plan, _ = planned(body, facts=Facts(stores=store(OLD, OLD_LINEAGE, newer_b), live=live_old(SYSTEM_A)))
    assert plan.recovery.revision == "" and plan.backup.folder == "s3://bkt/demo/cnpg/demo-cnpg-main"


def test_auto_without_facts_names_the_flag():
    with pytest.raises(RenderError, match="--check-store"):
        planned(entry("{credentials: s3, revision: auto, from: {release: old, cluster: old-db}}"))


# --------------------------------------------------------------------------- through the real CLI, against a store


def live_yaml(system: int) -> str:
    """What `kubectl get clusters -A -o yaml` prints for the old Cluster, still running."""
    return ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: postgresql.cnpg.io/v1\n  kind: Cluster\n"
            "  metadata: {name: old-db, namespace: prod}\n  spec:\n    instances: 1\n    backup:\n"
            "      barmanObjectStore: {destinationPath: 's3://%s/old/cnpg', serverName: old-db}\n"
            f"  status: {{systemID: '{system}'}}\n")


@pytest.mark.parametrize("system,code,verdict", [(SYSTEM_A, 0, "safe"), (SYSTEM_B, 2, "other-system")])
def test_check_store_judges_the_old_lineage_by_the_old_cluster_identity(tmp_path, moto_s3, system, code, verdict):
    """`plan --check-store --live` on a restore under a new name: the lineage the old
    release wrote is read from the store, and the old Cluster's status.systemID says
    which database it must hold."""
    from tests.storefacts import put_lineage

    bucket = "from-" + str(system)[-6:]
    moto_s3.make_bucket(bucket)
    put_lineage(moto_s3.client(), bucket, "old/cnpg", OLD_LINEAGE)
    body = (f"credentials:\n  s3: {{type: s3, url: '{moto_s3.endpoint_url}', bucket: {bucket}, accessKey: AKIAEXAMPLE,"
            " secretKey: topsecret}\ncnpg:\n  main:\n    mode: recovery\n"
            "    backups: {enabled: true, credentials: s3}\n"
            "    recovery: {credentials: s3, from: {release: old, namespace: prod, cluster: old-db}}\n")
    overlay_path, live_path = tmp_path / "o.yaml", tmp_path / "live.yaml"
    overlay_path.write_text(body)
    live_path.write_text(live_yaml(system) % bucket)
    manifests = INPUT.replace(b"namespace: demo", b"namespace: prod")  # the live state is matched by namespace
    result = run_cli("plan", "--check-store", "--live", str(live_path), "--exit-code", "-o", "json",
                     "-f", str(overlay_path), stdin=manifests)
    assert result.returncode == code, result.stderr.decode()
    [row] = json.loads(result.stdout)
    assert row["facts"]["verdict"] == verdict and "topsecret" not in result.stdout.decode()
    assert row["recoverySource"] == {"destinationPath": f"s3://{bucket}/old/cnpg", "serverName": "old-db"}
    if verdict == "other-system":
        assert "(the status.systemID of prod/old-db)" in row["facts"]["problems"][0]["what"]
        refused = run_cli("render", "--check-store", "--live", str(live_path), "-f", str(overlay_path), stdin=manifests)
        assert refused.returncode == 1 and refused.stdout == b""
        assert "cnpg.main.recovery.revision" in refused.stderr.decode()
