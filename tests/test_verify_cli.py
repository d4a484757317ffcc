"""`cnpg-render verify` as users run it: a subprocess against the session's moto S3
(lineages laid out as barman-cloud lays them, archived now) and kubectl-shaped YAML, its
exit codes, its JSON, `--wait`, and its one-line failures."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from renderer.records import replace
from tests import storefacts
from tests.helpers import CLI, FIXTURES, REPO, run_cli
from tests.test_cli import INPUT, SECRET, assert_failed_cleanly, write
from tests.test_restore_cli import fake_kubectl

BASE = "demo-cnpg-main"
LIVE = (FIXTURES / "live" / "verify-clusters.yaml").read_text()


@pytest.fixture
def bucket(moto_s3):
    name = "verify-" + uuid.uuid4().hex[:10]
    moto_s3.make_bucket(name)
    return name


def overlay(tmp_path, moto_s3, bucket: str, backups: str = "") -> str:
    return write(tmp_path, f"credentials:\n  s3: {{type: s3, url: '{moto_s3.endpoint_url}', bucket: {bucket}, "
                           f"accessKey: AKIAEXAMPLE, secretKey: {SECRET}}}\n"
                           f"cnpg:\n  main:\n    backups: {{enabled: true, credentials: s3{backups}}}\n")


def put(moto_s3, bucket: str, backed_up: bool, server: str = BASE) -> None:
    """A lineage with WAL archived now and, when `backed_up`, a base backup that ended a minute ago."""
    done = []
    if backed_up:
        ended = datetime.now(UTC) - timedelta(minutes=1)
        done = [replace(storefacts.backup("20261101T000000", 2, 2, ended=0), end_time=ended,
                        begin_time=ended - timedelta(seconds=30))]
    storefacts.put_lineage(moto_s3.client(), bucket, "demo/cnpg",
                           storefacts.lineage(server, done, storefacts.wal(1, 1, 3)))


def verify(*args: str, env: dict | None = None):
    result = run_cli("verify", *args, stdin=INPUT, env=env)
    assert SECRET not in (result.stdout + result.stderr).decode() and "AKIAEXAMPLE" not in result.stdout.decode()
    return result


def rows(result) -> list[dict]:
    return json.loads(result.stdout)


def test_wal_and_a_base_backup_confirm(tmp_path, moto_s3, bucket):
    put(moto_s3, bucket, backed_up=True)
    result = verify("-o", "json", "-f", overlay(tmp_path, moto_s3, bucket))
    assert result.returncode == 0, result.stderr.decode()
    (row,) = rows(result)
    assert (row["cluster"], row["state"], row["writeLineage"]["folder"]) == (
        f"demo/{BASE}", "confirmed", f"s3://{bucket}/demo/cnpg/{BASE}")
    assert row["newestWal"]["name"] == storefacts.name(1, 3) and 0 <= row["newestWal"]["ageSeconds"] < 60
    assert (row["newestBaseBackup"]["backupID"], row["systemIDs"]) == ("20261101T000000", [str(storefacts.SYSTEM_A)])
    assert row["nextBaseBackupDue"]["by"] == f"ScheduledBackup {BASE}-sched-backup-daily-backup (0 0 0 * * *)"
    table = verify("-f", overlay(tmp_path, moto_s3, bucket))
    assert table.returncode == 0 and table.stdout.decode().splitlines()[1].split()[:2] == [f"demo/{BASE}", "confirmed"]


def test_nothing_archived_is_not_confirmed_and_says_where_to_look(tmp_path, moto_s3, bucket):
    result = verify("-f", overlay(tmp_path, moto_s3, bucket))
    assert result.returncode == 2, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert "NOT CONFIRMED" in lines[1]
    assert lines[2] == (f"demo/{BASE}: no WAL archived in s3://{bucket}/demo/cnpg/{BASE}/wals/. Look at: "
                        f"ContinuousArchiving in `kubectl cnpg status {BASE} -n demo`; barman-cloud-wal-archive in the "
                        "primary's log "
                        f"(`kubectl logs -n demo -l cnpg.io/cluster={BASE},cnpg.io/instanceRole=primary`);"
                        f" the credentials in Secret {BASE}-provider-backup-s3-creds in namespace demo")


def test_wal_only_is_confirmed_in_the_first_hours_with_the_time_the_first_backup_is_due(tmp_path, moto_s3, bucket):
    put(moto_s3, bucket, backed_up=False)
    path = overlay(tmp_path, moto_s3, bucket)
    assert verify("-f", path).returncode == 2
    result = verify("--first-hours", "-o", "json", "-f", path)
    assert result.returncode == 0, result.stderr.decode()
    (row,) = rows(result)
    first_wal = storefacts.name(1, 1)
    archived = {o["Key"].rsplit("/", 1)[1]: o["LastModified"] for o in
                moto_s3.client().list_objects_v2(Bucket=bucket)["Contents"]}[first_wal]
    assert (row["state"], row["stateText"]) == ("waiting", "confirmed, first base backup not due yet")
    assert row["nextBaseBackupDue"] == {"at": archived.isoformat(), "first": True,
                                        "by": f"ScheduledBackup {BASE}-sched-backup-daily-backup (0 0 0 * * *, "
                                              "immediate)"}


def test_live_kubectl_reads_the_archiving_condition_and_the_scheduled_backups(tmp_path, moto_s3, bucket):
    put(moto_s3, bucket, backed_up=True)
    (tmp_path / "live.yaml").write_text(LIVE.replace("s3://bkt/", f"s3://{bucket}/"))
    env = fake_kubectl(tmp_path, f'echo "$@" >> {tmp_path}/calls; cat {tmp_path}/live.yaml\n')
    result = verify("--live-kubectl", "-o", "json", "-f", overlay(tmp_path, moto_s3, bucket), env=env)
    assert result.returncode == 2, result.stderr.decode()
    (row,) = rows(result)
    assert [m["what"] for m in row["missing"]] == [
        ("ContinuousArchiving is False since 2026-11-01 00:30:00 UTC: ContinuousArchivingFailing: unexpected failure "
         "invoking barman-cloud-wal-archive: exit status 4")]
    assert row["live"]["running"] and row["scheduledBackups"][0]["nextScheduleTime"] == "2026-11-02T00:00:00+00:00"
    assert (tmp_path / "calls").read_text().splitlines() == [
        "get clusters.postgresql.cnpg.io -A -o yaml", "get scheduledbackups.postgresql.cnpg.io -A -o yaml"]


def test_a_render_never_reads_scheduled_backups(tmp_path, moto_s3, bucket):
    env = fake_kubectl(tmp_path, f'echo "$@" >> {tmp_path}/calls; cat {FIXTURES / "live" / "clusters-list.yaml"}\n')
    result = run_cli("render", "--live-kubectl", "-f", overlay(tmp_path, moto_s3, bucket), stdin=INPUT, env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert "scheduledbackups" not in (tmp_path / "calls").read_text()


def test_nothing_to_verify_is_not_checked(tmp_path, moto_s3, bucket):
    path = write(tmp_path, "credentials:\n  s3: {type: s3, bucket: b, accessKey: A, secretKey: S}\n"
                           "cnpg:\n  main:\n    backups: {enabled: false}\n")
    result = verify("-o", "json", "-f", path)
    assert (result.returncode, rows(result)) == (3, [])
    assert result.stderr.decode() == "cnpg-render: warning: no Cluster with backups in the input: nothing to verify\n"


def test_wait_returns_once_the_base_backup_arrives(tmp_path, moto_s3, bucket):
    put(moto_s3, bucket, backed_up=False)
    (tmp_path / "manifests.yaml").write_bytes(INPUT)
    args = ["verify", "--wait", "60s", "--interval", "1s", "-f", overlay(tmp_path, moto_s3, bucket),
            str(tmp_path / "manifests.yaml")]
    started = time.monotonic()
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    first = proc.stderr.readline().decode()  # the first check found no base backup
    assert first.startswith(f"cnpg-render: waiting: 1 of 1 Clusters not confirmed yet (demo/{BASE}: no completed "
                            "base backup in "), first
    put(moto_s3, bucket, backed_up=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert "confirmed" in out.decode().splitlines()[1] and time.monotonic() - started < 30


def test_wait_gives_up_when_the_time_is_up(tmp_path, moto_s3, bucket):
    put(moto_s3, bucket, backed_up=False)
    started = time.monotonic()
    result = verify("--wait", "2s", "--interval", "1s", "-f", overlay(tmp_path, moto_s3, bucket))
    assert result.returncode == 2 and 2 <= time.monotonic() - started < 30
    lines = result.stderr.decode().splitlines()  # one per check but the last, which came at the deadline
    assert lines and all(line.startswith("cnpg-render: waiting: 1 of 1 Clusters not confirmed yet") for line in lines)


def test_a_live_file_on_stdin_is_read_once_and_kept_for_every_check(tmp_path, moto_s3, bucket):
    put(moto_s3, bucket, backed_up=False)
    (tmp_path / "manifests.yaml").write_bytes(INPUT)
    live = LIVE.replace("s3://bkt/", f"s3://{bucket}/").encode()
    result = run_cli("verify", "--live", "-", "--wait", "2s", "--interval", "1s", "-o", "json", "-f",
                     overlay(tmp_path, moto_s3, bucket), str(tmp_path / "manifests.yaml"), stdin=live)
    assert result.returncode == 2 and result.stderr.decode().count("cnpg-render: waiting:") >= 1  # two checks or more
    (row,) = rows(result)  # the last check still knows the Cluster runs, and its archiver fails
    assert row["live"]["running"] and row["live"]["continuousArchiving"]["status"] == "False"
    assert row["scheduledBackups"][0]["lastScheduleTime"] == "2026-11-01T00:00:30+00:00"


@pytest.mark.parametrize("args, where", [
    (["--wait", "10"], "'10' is not a duration: write it as 90s, 10m or 1h30m"),
    (["--max-wal-age", "-1m"], "'-1m' is negative"),
])
def test_bad_durations_are_usage_errors(tmp_path, args, where):
    result = run_cli("verify", *args, "-f", str(FIXTURES / "overlays" / "backups.yaml"), stdin=INPUT)
    stderr = result.stderr.decode()
    assert (result.returncode, result.stdout, stderr.count("\n")) == (2, b"", 1), stderr
    assert stderr.startswith("cnpg-render: error: verify: ") and where in stderr


def test_an_interval_out_of_range_is_refused(tmp_path):
    assert_failed_cleanly(run_cli("verify", "--interval", "10m", "-f", str(FIXTURES / "overlays" / "backups.yaml"),
                                  stdin=INPUT), "--interval: must be between 1s and 5m")


def test_an_unreachable_store_is_one_line_without_secrets(tmp_path):
    path = write(tmp_path, "credentials:\n"
                           "  s3: {type: s3, url: 'http://127.0.0.1:9', bucket: b, accessKey: AKIAEXAMPLE, "
                           f"secretKey: {SECRET}}}\ncnpg:\n  main:\n    backups: {{enabled: true, credentials: s3}}\n")
    assert_failed_cleanly(run_cli("verify", "-f", path, stdin=INPUT), "--check-store: cannot inspect s3://b/demo/cnpg")
