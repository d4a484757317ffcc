"""`cnpg-render verify` against what real barman-cloud writes: on S3 (moto), Azure Blob
Storage (Azurite) and Google Cloud Storage (gcp-storage-emulator), a freshly deployed
Cluster, played by real PostgreSQL 15 with the barman-cloud calls CNPG builds from the
rendered manifests (tests/cnpg_cluster.py), is walked through the states a user meets
after deploying, with `verify` (the CLI) beside each:

- before any WAL: not confirmed, "no WAL archived";
- WAL only: not confirmed, but `--first-hours` waits, the first base backup due when the
  ScheduledBackup came (`immediate: true`);
- `verify --wait` started then returns confirmed once barman-cloud-backup completes the
  first base backup during the wait (the backup and system id barman recorded);
- archiving stopped (archive_command failing, as CNPG's does when the store refuses: the
  newest WAL in the store stays the last one archived) for longer than `--max-wal-age`
  allows: not confirmed.
One scenario per provider, on the session's emulators and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

from cnpg_cluster import Cnpg
from emulators import Azurite, GcsEmulator
from realparts import MotoS3
from truth import CLUSTER, App, AzureApp, GoogleApp, Render, emulated_manifests, new_app

from tests.helpers import CLI, REPO, run_cli


def verify(step: Render, *flags: str) -> tuple[int, dict]:
    """(exit code, the Cluster's row) of `verify -o json` on the inputs of `step`."""
    result = run_cli("verify", "-o", "json", *flags, *step.args)
    assert result.returncode in (0, 2), result.stderr.decode()
    (row,) = json.loads(result.stdout)
    return result.returncode, row


def whats(row: dict) -> list[str]:
    return [m["what"] for m in row["missing"]]


def walk(cnpg: Cnpg, app: App) -> None:
    """Deploy the rendered Cluster and verify it through every state (module docstring)."""
    step = app.fresh()
    code, row = verify(step)
    folder = row["writeLineage"]["folder"]
    assert (code, row["state"], whats(row)[0]) == (2, "not-confirmed", f"no WAL archived in {folder}/wals/")

    instance = cnpg.install(step.stream, CLUSTER)
    instance.sql("CREATE TABLE t(x int)")
    instance.insert(1)
    instance.archive()
    code, row = verify(step)
    assert code == 2 and len(whats(row)) == 1
    assert whats(row)[0].startswith(f"no completed base backup in {folder}/base/")
    code, waiting = verify(step, "--first-hours")
    due = waiting["nextBaseBackupDue"]
    assert (code, waiting["state"], due["first"]) == (0, "waiting", True)
    assert due["by"] == f"ScheduledBackup {CLUSTER}-sched-backup-daily-backup (0 0 0 * * *, immediate)"
    assert datetime.now(UTC) - timedelta(minutes=2) < datetime.fromisoformat(due["at"]) <= \
        datetime.fromisoformat(waiting["newestWal"]["archivedAt"])  # the lineage's first WAL: the deployment

    env = {k: v for k, v in os.environ.items() if k != "CNPG_RENDER_OVERLAY"}
    waiter = subprocess.Popen([*CLI, "verify", "-o", "json", "--wait", "90s", "--interval", "1s", *step.args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env)
    first = waiter.stderr.readline().decode()
    assert first.startswith(f"cnpg-render: waiting: 1 of 1 Clusters not confirmed yet (demo/{CLUSTER}: no completed "
                            "base backup"), first
    backup = instance.back_up()  # the ScheduledBackup's immediate Backup, by barman-cloud-backup
    out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err.decode()
    (row,) = json.loads(out)
    assert (row["state"], row["missing"]) == ("confirmed", [])
    assert row["newestBaseBackup"]["backupID"] == backup["backup_id"]
    assert row["systemIDs"] == [str(backup["systemid"])] == [instance.system_identifier()]

    last = instance.archive()
    instance.pg.set_archive_calls(None)  # archive_command fails from now on, as with a store that refuses
    instance.insert(2)
    refused = instance.sql("SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + 30
    while instance.sql("SELECT failed_count FROM pg_stat_archiver") == "0" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.sql("SELECT last_failed_wal FROM pg_stat_archiver") == refused
    time.sleep(1.1)
    code, row = verify(step, "--max-wal-age", "1s")
    (stopped,) = whats(row)
    assert code == 2 and row["newestWal"]["name"] == last != refused
    assert stopped.startswith(f"the newest WAL, {last}, was archived ") and stopped.endswith("--max-wal-age 1s")


def test_verify_on_s3(cnpg: Cnpg, moto_s3: MotoS3, tmp_path):
    walk(cnpg, new_app(tmp_path, moto_s3))


def test_verify_on_azure(cnpg: Cnpg, azurite: Azurite, tmp_path):
    container = "verify-" + uuid.uuid4().hex[:12]
    azurite.container(container)
    walk(cnpg, AzureApp(tmp_path, None, container, azurite=azurite,
                        common={"destinationPath": azurite.destination(container, "demo/cnpg")}))


def test_verify_on_google(cnpg: Cnpg, gcs: GcsEmulator, tmp_path, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.endpoint)  # verify reads where barman's pods write
    bucket = "verify-" + uuid.uuid4().hex[:12]
    gcs.bucket(bucket)
    walk(cnpg, GoogleApp(tmp_path, None, bucket, manifests=emulated_manifests(tmp_path, gcs)))
