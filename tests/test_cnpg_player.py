"""The CNPG player's command building, against the project's own rendered outputs
(fixtures/golden/*/expected.yaml): each expectation is what upstream's builders produce
for that render (tests/cnpg_player.py names the functions). No PostgreSQL, no S3."""

from __future__ import annotations

import pytest
from cnpg_player import (
    BACKUP_CA,
    GOOGLE_CREDENTIALS,
    RESTORE_CA,
    ClusterPlan,
    OperatorError,
    Side,
    choose_backup,
    plan_cluster,
    recovery_target_settings,
)

from tests.helpers import FIXTURES

ROOT = "/pod"
PG = "immich-common-test-cnpg-main"


def plan(case: str, name: str = PG, **kwargs):
    return plan_cluster((FIXTURES / "golden" / case / "expected.yaml").read_bytes(), name, root=ROOT, **kwargs)


def backup(ident: str, begin: str, end: str | None, *, end_xlog: str = "0/3000100", timeline: int = 1) -> dict:
    """One entry of barman-cloud-backup-list's JSON (the fields CNPG's catalog reads)."""
    return {"backup_id": ident, "begin_time_iso": begin, "end_time_iso": end, "begin_wal": "000000010000000000000003",
            "end_xlog": end_xlog, "timeline": timeline}


def test_in_tree_s3_archive_backup_and_check_carry_every_rendered_setting():
    """bzip2 + AES256 on both WAL and data, jobs, endpoint, region: all reach barman."""
    cluster = plan("truecharts-standalone-derived")
    dest = "s3://backups/team-a/immich/cnpg"
    target = ["--endpoint-url", "https://minio.example.com", "--cloud-provider", "aws-s3", dest, PG]
    assert cluster.wal_archive().args == ("--bzip2", "-e", "AES256", *target)
    assert cluster.check_wal_archive().args == tuple(target)
    assert cluster.backup("backup-20260101000000").args == (
        "--user", "postgres", "--name", "backup-20260101000000", "--bzip2", "--encryption", "AES256", "--jobs", "2",
        *target)
    assert cluster.wal_archive().env == {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secretEXAMPLE",
                                         "AWS_DEFAULT_REGION": "eu-west-1"}
    assert (cluster.engine, cluster.read, cluster.check_empty_wal_archive) == ("in-tree", None, True)


def test_in_tree_recovery_reads_the_source_entry_and_orders_restore_options_as_cnpg():
    cluster = plan("truecharts-recovery")
    assert (cluster.read.server_name, cluster.write.server_name) == (PG, f"{PG}-r1")
    chosen = cluster.choose_backup(
        {"backups_list": [backup("B1", "2026-01-01T00:00:00+00:00", "2026-01-01T00:01:00+00:00")]})
    assert cluster.restore(chosen, "/pgdata").args == (
        "--endpoint-url", "https://s3.example.com", "s3://my-bucket/truecharts/immich/cnpg", PG, "B1",
        "--cloud-provider", "aws-s3", "/pgdata")
    assert cluster.first_wal_check(chosen).args[-1] == "000000010000000000000003"
    assert cluster.wal_restore().args == ("--endpoint-url", "https://s3.example.com", "--cloud-provider", "aws-s3",
                                          "s3://my-bucket/truecharts/immich/cnpg", PG)
    assert cluster.backup_list().env["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLE"
    assert cluster.restore_check_wal_archive().args[-1] == f"{PG}-r1"  # the write side, before anything else


def test_plugin_sides_come_from_the_object_stores_and_the_plugin_parameters():
    cluster = plan("plugin-s3-recovery")
    assert cluster.engine == "plugin"
    assert (cluster.write.object_store, cluster.write.server_name) == (f"{PG}-backup-objectstore", f"{PG}-r1")
    assert (cluster.read.object_store, cluster.read.server_name) == (f"{PG}-recovery-objectstore", PG)
    chosen = {"backup_id": "B1", "begin_wal": "000000010000000000000003"}
    assert cluster.restore(chosen, "/pgdata").args == (  # plugin restore.go restoreDataDir's order
        "--cloud-provider", "aws-s3", "--endpoint-url", "https://s3.example.com",
        "s3://my-bucket/truecharts/immich/cnpg", PG, "B1", "/pgdata")
    assert cluster.wal_archive().args[-1] == f"{PG}-r1"
    assert cluster.wal_restore().env["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_plugin_recovery_without_server_name_reads_the_restoring_clusters_folder():
    """plugin config.go: recoveryServerName = cluster.Name, not the source entry's name."""
    stream = (FIXTURES / "golden" / "plugin-s3-recovery" / "expected.yaml").read_text()
    stream = stream.replace(f"        serverName: {PG}\n", "", 1)
    assert stream.count(f"serverName: {PG}\n") == 0
    cluster = plan_cluster(stream.encode(), PG)
    assert cluster.read.server_name == PG and cluster.read.config.get("serverName") is None


def test_in_tree_ca_and_azure_sas_token():
    """endpointCA with Azure: REQUESTS_CA_BUNDLE at the backup CA location; the CA's
    Secret (corporate-ca) is not in the stream, so the player needs it given."""
    with pytest.raises(OperatorError, match='while getting secret corporate-ca: secrets "corporate-ca" not found'):
        plan("intree-azure-standalone").wal_archive()
    ca = "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n"
    call = plan("intree-azure-standalone", secrets={"corporate-ca": {"bundle.pem": ca}}).wal_archive()
    assert call.env == {"REQUESTS_CA_BUNDLE": ROOT + BACKUP_CA, "AZURE_STORAGE_ACCOUNT": "mystorage",
                        "AZURE_STORAGE_SAS_TOKEN": "sv=2024-example&sig=EXAMPLE"}
    assert call.files == {ROOT + BACKUP_CA: ca.encode()}
    assert call.args[-4:-2] == ("--cloud-provider", "azure-blob-storage")


def test_plugin_ca_lives_under_the_object_store_name():
    call = plan("plugin-azure-standalone").check_wal_archive()
    path = f"{ROOT}/barman-certificates/{PG}-backup-objectstore/barman-ca.crt"
    assert call.env["REQUESTS_CA_BUNDLE"] == path and call.files[path].startswith(b"-----BEGIN CERTIFICATE-----")
    assert call.env["AZURE_STORAGE_KEY"] == "azureKEYexample"


def test_in_tree_recovery_job_mounts_the_sources_ca_for_every_call():
    """jobs.go: the recovery Job holds only the source's CA, at the restore location,
    and its environment points there; the write-side check uses that file too."""
    stream = (FIXTURES / "golden" / "truecharts-recovery" / "expected.yaml").read_text()
    source = f"  - name: {PG}\n    barmanObjectStore:\n      destinationPath: s3://my-bucket/truecharts/immich/cnpg\n"
    assert stream.count(source) == 1
    stream = stream.replace(source, source + "      endpointCA: {name: ca, key: ca.crt}\n")
    cluster = plan_cluster(stream.encode(), PG, secrets={"ca": {"ca.crt": "PEM"}}, root=ROOT)
    assert cluster.backup_list().files == {ROOT + RESTORE_CA: b"PEM"}
    assert cluster.restore_check_wal_archive().env["AWS_CA_BUNDLE"] == ROOT + RESTORE_CA
    assert "AWS_CA_BUNDLE" not in cluster.wal_archive().env  # the running instance: the write store has none


def test_google_credentials_file_and_gke():
    call = plan("intree-google-standalone", name="pg-cluster").wal_archive()
    assert call.env == {"GOOGLE_APPLICATION_CREDENTIALS": ROOT + GOOGLE_CREDENTIALS}
    assert call.files == {ROOT + GOOGLE_CREDENTIALS: b'{"type": "service_account", "private_key": "EXAMPLEonly"}'}
    gke = plan("intree-google-recovery").backup_list()
    assert (gke.env, gke.files) == ({}, {})
    assert gke.args[2:4] == ("--cloud-provider", "google-cloud-storage")


def test_azure_default_credentials_flag_and_target_name_settings():
    cluster = plan("intree-azure-recovery")
    assert cluster.backup_list().args[2:6] == ("--cloud-provider", "azure-blob-storage", "--credential", "default")
    assert cluster.backup_list().env == {}
    assert cluster.restore_settings("/restore.sh %f %p") == {
        "archive_command": "false", "recovery_target_action": "promote", "restore_command": "/restore.sh %f %p",
        "recovery_target_name": "before-upgrade", "recovery_target_inclusive": "true"}


def test_existing_secret_is_given_to_the_player():
    with pytest.raises(OperatorError, match="while getting secret pg-s3"):
        plan("cnpg-chart-restore-derived-revision", name="pg-cluster").backup_list()
    cluster = plan("cnpg-chart-restore-derived-revision", name="pg-cluster",
                   secrets={"pg-s3": {"id": "K", "key": "S", "region": "R"}})
    assert cluster.backup_list().env == {"AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S",
                                         "AWS_DEFAULT_REGION": "R"}
    with pytest.raises(OperatorError, match="missing key region, inside secret pg-s3"):
        plan("cnpg-chart-restore-derived-revision", name="pg-cluster",
             secrets={"pg-s3": {"id": "K", "key": "S"}}).backup_list()


def test_skip_annotation_turns_both_checks_off():
    cluster = plan("skip-wal-check-shares-lineage", name="app-cnpg-main")
    assert cluster.check_empty_wal_archive is False
    assert cluster.restore_check_wal_archive() is None


def test_what_the_player_does_not_play_is_said():
    with pytest.raises(OperatorError, match=r"Backup object .* is not played"):
        plan("recovery-from-backup-object", name="app-cnpg-main")


def test_additional_command_args_follow_cnpg_and_never_repeat_an_option():
    """``--read-timeout`` reaches barman through the ``*AdditionalCommandArgs`` fields; an
    argument naming an option already built (``--jobs=4`` beside ``--jobs 2``) is dropped
    (barman-cloud api/config.go appendAdditionalCommandArgs); IAM role: no key variables."""
    config = {"destinationPath": "s3://b/p", "s3Credentials": {"inheritFromIAMRole": True},
              "wal": {"compression": "gzip", "archiveAdditionalCommandArgs": ["--read-timeout=60", "--gzip"],
                      "restoreAdditionalCommandArgs": ["--read-timeout=90"]},
              "data": {"jobs": 2, "additionalCommandArgs": ["--jobs=4", "--read-timeout=900"]},
              "tags": {"team": "db"}}
    side = Side(config, "pg")
    cluster = ClusterPlan("pg", "in-tree", side, side, None, True, {})
    assert cluster.wal_archive().args == ("--gzip", "--read-timeout=60", "--tags", "team,db",
                                          "--cloud-provider", "aws-s3", "s3://b/p", "pg")
    assert cluster.backup("b").args[4:] == ("--jobs", "2", "--read-timeout=900", "--tags", "team,db",
                                            "--cloud-provider", "aws-s3", "s3://b/p", "pg")
    assert cluster.wal_restore().args == ("--cloud-provider", "aws-s3", "s3://b/p", "pg", "--read-timeout=90")
    assert cluster.wal_archive().env == {}


# --------------------------------------------------------------------------- the backup CNPG picks

CATALOG = [
    backup("B2", "2026-01-02T00:00:00+00:00", "2026-01-02T00:10:00+00:00", end_xlog="0/5000100"),
    backup("B1", "2026-01-01T00:00:00+00:00", "2026-01-01T00:10:00+00:00", end_xlog="0/3000100"),
    backup("B3", "2026-01-03T00:00:00+00:00", None),  # unfinished
]


@pytest.mark.parametrize("target, expected", [
    (None, "B2"),
    ({"targetTime": "2026-01-01T00:10:00Z"}, "B1"),  # ends at the target: still closest
    ({"targetTime": "2026-01-02 12:00:00"}, "B2"),  # no zone: UTC
    ({"targetTime": "2026-01-02T01:00:00+02:00"}, "B1"),  # 23:00 UTC the day before
    ({"targetLSN": "0/5000101"}, "B2"),
    ({"targetLSN": "0/5000100"}, "B1"),  # strictly before
    ({"backupID": "B1", "targetName": "x"}, "B1"),
    ({"targetTLI": "2"}, None),
])
def test_choose_backup_as_the_catalog_does(target, expected):
    if expected is None:
        with pytest.raises(OperatorError, match=r"^no target backup found$"):
            choose_backup(CATALOG, target)
    else:
        assert choose_backup(CATALOG, target)["backup_id"] == expected


def test_choose_backup_failures_carry_cnpgs_messages():
    with pytest.raises(OperatorError, match=r"^no target backup found$"):
        choose_backup(CATALOG, {"targetTime": "2026-01-01T00:09:59Z"})
    with pytest.raises(OperatorError, match=r"^no target backup found$"):
        choose_backup([], None)
    with pytest.raises(OperatorError, match=r"^no backup found with ID B3$"):
        choose_backup(CATALOG, {"backupID": "B3"})


@pytest.mark.parametrize("target, settings", [
    ({"targetTime": "2024-05-01T10:00:00+02:00"},
     {"recovery_target_time": "2024-05-01 10:00:00.000000+02:00", "recovery_target_inclusive": "true"}),
    ({"targetTime": "2024-05-01T10:00:00.5Z", "exclusive": True},
     {"recovery_target_time": "2024-05-01 10:00:00.500000+00:00", "recovery_target_inclusive": "false"}),
    ({"targetTime": "2024-05-01T10:00:00"},
     {"recovery_target_time": "2024-05-01 10:00:00.000000+00:00", "recovery_target_inclusive": "true"}),
    ({"targetTime": "2024-05-01 10:00:00"},
     {"recovery_target_time": "2024-05-01 10:00:00", "recovery_target_inclusive": "true"}),
    ({"targetImmediate": True, "backupID": "B", "targetTLI": "latest"},
     {"recovery_target": "immediate", "recovery_target_timeline": "latest", "recovery_target_inclusive": "true"}),
    ({"targetXID": "4242", "backupID": "B"}, {"recovery_target_xid": "4242", "recovery_target_inclusive": "true"}),
    (None, {}),
])
def test_recovery_target_settings(target, settings):
    assert recovery_target_settings(target) == settings
