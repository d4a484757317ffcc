"""`verify`'s rules (renderer.verify) on store facts laid out as barman-cloud writes them,
with the clock passed in: WAL arriving, a base backup when the schedule promises one,
one database, the live Cluster's own word. The real tools' counterpart is
tests/test_verify_truth.py; the CLI's is tests/test_verify_cli.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from renderer import overlay, verify
from renderer.facts import Facts
from renderer.live import ClusterStatus, Condition, LiveCluster, Scheduled, parse_live, parse_scheduled
from renderer.objectstore import StoreState
from renderer.records import replace
from renderer.render import cnpg_documents, finish, prepare
from renderer.transform import Context
from tests.helpers import FIXTURES, REAL
from tests.storefacts import SYSTEM_A, SYSTEM_B, at, backup, lineage, store, wal

DEST = "s3://bkt/demo/cnpg"
BASE = "demo-cnpg-main"
INPUT = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
CRED = "credentials:\n  s3: {type: s3, bucket: bkt, accessKey: A, secretKey: S}\n"
DEFAULT = CRED + "cnpg:\n  main:\n    backups: {enabled: true, credentials: s3}\n"  # daily at 00:00, immediate
NIGHTLY = CRED + ("cnpg:\n  main:\n    backups: {enabled: true, credentials: s3, scheduledBackups: "
                  "[{name: nightly, schedule: '0 0 3 * * *'}]}\n")
AUTO = CRED + ("cnpg:\n  main:\n    mode: recovery\n    backups: {enabled: true, credentials: s3, revision: auto}\n"
               "    recovery: {credentials: s3, revision: auto}\n")
LIVE = (FIXTURES / "live" / "verify-clusters.yaml").read_text()
WAL_ONLY = lineage(BASE, [], wal(1, 1, 5))  # WAL archived at minutes 0..4, no base backup
BACKED_UP = lineage(BASE, [backup("20261101T000400", 2, 3, ended=5)], wal(1, 1, 8))  # WAL to minute 7


def confirm(body: str, *lineages, now, policy=None, live=None, scheduled=None, stores=None, stream=INPUT):
    """The Confirmation of the one Cluster of `stream` (cluster-main.yaml) under overlay `body`."""
    facts = Facts(stores=stores or store(DEST, *lineages), live=live, scheduled=scheduled)
    rendered = finish(prepare(stream, overlay.parse([("o.yaml", body)]), Context()), facts, collect=True)
    ((plan, _),) = rendered.result.clusters
    ours = verify.scheduled_in((o for _, o in cnpg_documents(rendered.output.getvalue())), None)
    return verify.confirm(plan, facts, ours, policy or verify.Policy(), now)


def whats(c: verify.Confirmation) -> list[str]:
    return [m.what for m in c.missing]


# --------------------------------------------------------------------------- without live state


def test_wal_arriving_and_a_base_backup_confirm():
    c = confirm(DEFAULT, BACKED_UP, now=at(10))
    assert (c.state, c.missing, c.folder) == (verify.CONFIRMED, (), f"{DEST}/{BASE}")
    assert (c.newest_wal.name, c.newest_backup.backup_id, c.systems) == ("000000010000000000000008",
                                                                         "20261101T000400", (SYSTEM_A,))
    assert c.due == verify.Due(at(24 * 60), "ScheduledBackup demo-cnpg-main-sched-backup-daily-backup (0 0 0 * * *)",
                               first=False)  # the next activation after the backup began


def test_nothing_archived_yet_is_not_confirmed_and_says_where_to_look():
    c = confirm(DEFAULT, now=at(10))
    assert c.state == verify.NOT_CONFIRMED
    no_wal, no_backup = c.missing
    assert no_wal.what == f"no WAL archived in {DEST}/{BASE}/wals/"
    assert "`kubectl cnpg status demo-cnpg-main -n demo`" in no_wal.look
    assert "Secret demo-cnpg-main-provider-backup-s3-creds in namespace demo" in no_wal.look
    assert no_backup.what.startswith(f"no completed base backup in {DEST}/{BASE}/base/ (the first is due at")


def test_wal_without_a_base_backup_waits_in_the_first_hours_only():
    strict = confirm(DEFAULT, WAL_ONLY, now=at(10))
    assert strict.state == verify.NOT_CONFIRMED
    assert whats(strict) == [(f"no completed base backup in {DEST}/{BASE}/base/ (the first is due at 2026-11-01 "
                              "00:00:00 UTC, ScheduledBackup demo-cnpg-main-sched-backup-daily-backup (0 0 0 * * *, "
                              "immediate); --first-hours accepts that)")]
    waiting = confirm(DEFAULT, WAL_ONLY, now=at(10), policy=verify.Policy(first_hours=True))
    # immediate: true: due when the ScheduledBackup came, which the lineage's first WAL stands for
    assert (waiting.state, waiting.missing, waiting.due.at, waiting.due.first) == (verify.WAITING, (), at(0), True)


def test_the_first_backup_of_a_schedule_without_immediate_is_due_at_its_first_activation():
    c = confirm(NIGHTLY, WAL_ONLY, now=at(10), policy=verify.Policy(first_hours=True))
    assert (c.state, c.due.at) == (verify.WAITING, at(180))
    assert c.due.by == "ScheduledBackup demo-cnpg-main-sched-backup-nightly (0 0 3 * * *)"


def test_a_first_backup_overdue_beyond_the_grace_is_not_confirmed_even_in_the_first_hours():
    policy = verify.Policy(first_hours=True, max_wal_age=timedelta(days=1))
    assert confirm(NIGHTLY, WAL_ONLY, now=at(180 + 59), policy=policy).state == verify.WAITING
    late = confirm(NIGHTLY, WAL_ONLY, now=at(180 + 61), policy=policy)
    assert whats(late) == [(f"no completed base backup in {DEST}/{BASE}/base/ yet: ScheduledBackup demo-cnpg-main-"
                            "sched-backup-nightly (0 0 3 * * *) was due at 2026-11-01 03:00:00 UTC, more than "
                            "--backup-grace 1h ago")]


def test_unfinished_backups_are_named():
    failed = lineage(BASE, [backup("20261101T000400", 2, 3, ended=5, status="FAILED")], wal(1, 1, 5))
    (what,) = whats(confirm(DEFAULT, failed, now=at(10)))
    assert f"{BASE}/base/ (1 found: FAILED) (the first is due" in what


def test_wal_older_than_allowed_is_not_confirmed_and_names_the_idle_database():
    assert confirm(DEFAULT, BACKED_UP, now=at(7 + 10)).state == verify.CONFIRMED  # exactly --max-wal-age
    old = confirm(DEFAULT, BACKED_UP, now=at(7 + 11))
    (missing,) = old.missing
    assert missing.what == ("the newest WAL, 000000010000000000000008, was archived 11m ago (2026-11-01 00:07:00 UTC), "
                            "longer than --max-wal-age 10m")
    assert verify.IDLE in missing.look
    tiny = confirm(DEFAULT, BACKED_UP, now=at(7) + timedelta(seconds=2), policy=verify.Policy(timedelta(seconds=1)))
    assert tiny.state == verify.NOT_CONFIRMED


def test_a_later_backup_overdue_is_not_confirmed():
    policy = verify.Policy(max_wal_age=timedelta(days=9))
    assert confirm(DEFAULT, BACKED_UP, now=at(24 * 60 + 59), policy=policy).state == verify.CONFIRMED
    (what,) = whats(confirm(DEFAULT, BACKED_UP, now=at(2 * 24 * 60), policy=policy))
    assert what.startswith(f"no completed base backup in {DEST}/{BASE}/base/ since the one that ended 2026-11-01 "
                           "00:05:00 UTC: ScheduledBackup demo-cnpg-main-sched-backup-daily-backup (0 0 0 * * *) was "
                           "due at 2026-11-02 00:00:00 UTC")


@pytest.mark.parametrize("schedules", ["[]", "[{name: paused, schedule: '@daily', suspend: true}]"])
def test_without_a_schedule_no_base_backup_will_come(schedules):
    body = CRED + f"cnpg:\n  main:\n    backups: {{enabled: true, credentials: s3, scheduledBackups: {schedules}}}\n"
    c = confirm(body, WAL_ONLY, now=at(10), policy=verify.Policy(first_hours=True))
    assert (c.state, c.due) == (verify.NOT_CONFIRMED, None)
    assert whats(c) == [f"no completed base backup in {DEST}/{BASE}/base/, and no ScheduledBackup will take one"]
    assert confirm(body, BACKED_UP, now=at(10)).state == verify.CONFIRMED  # no promise to break


def test_two_databases_in_one_lineage_are_not_confirmed():
    mixed = lineage(BASE, [backup("20261101T000400", 2, 3, ended=5, system=SYSTEM_B)], wal(1, 1, 8))
    (what,) = whats(confirm(DEFAULT, mixed, now=at(10)))
    assert what == f"{DEST}/{BASE} holds 2 databases (systems {SYSTEM_A} and {SYSTEM_B}): two histories interleave " \
                   "in one archive"


def test_a_store_that_was_not_checked_is_said():
    stores = {DEST: StoreState(DEST, {}, checked=False, reason="the chart's own store")}
    c = confirm(DEFAULT, now=at(10), stores=stores)
    assert (c.state, whats(c)) == (verify.NOT_CHECKED, [f"{DEST} was not checked: the chart's own store"])


def test_the_plugin_engine_is_verified_alike_and_its_log_is_the_sidecars():
    body = CRED + "cnpg:\n  main:\n    engine: plugin\n    backups: {enabled: true, credentials: s3}\n"
    assert confirm(body, BACKED_UP, now=at(10)).state == verify.CONFIRMED
    (no_wal, _) = confirm(body, now=at(10)).missing
    assert "cnpg.io/instanceRole=primary -c plugin-barman-cloud`" in no_wal.look


def test_credentials_without_a_secret_point_at_the_pods_identity():
    body = ("credentials:\n  s3: {type: s3, bucket: bkt, inheritFromIAMRole: true}\n"
            "cnpg:\n  main:\n    backups: {enabled: true, credentials: s3}\n")
    (no_wal, _) = confirm(body, now=at(10)).missing
    assert no_wal.look.endswith("the credentials in the pod's identity (inheritFromIAMRole)")


def test_a_migrated_store_names_the_credentials_the_chart_gave_it():
    """A migration to the plugin carries the chart's in-tree store over with no overlay
    credential. Its destinationPath is read when a side with credentials shares it (another
    Cluster of the release); verify then names the chart's Secret instead of failing."""
    chart = (REAL / "cnpg-cluster-chart-standalone-s3.yaml").read_bytes()
    c = confirm("cnpg:\n  pg-cluster:\n    engine: plugin\n", now=at(10), stores=store("s3://db-backups/v1"),
                stream=chart)
    assert c.state == verify.NOT_CONFIRMED
    assert c.missing[0].look.endswith("the credentials in Secret pg-cluster-backup-s3-creds in namespace db")


# --------------------------------------------------------------------------- revision: auto


# The lost Cluster's lineage, restore #1's (where the Cluster runs) and a later one's.
SERIES = (BACKED_UP, replace(BACKED_UP, server_name=f"{BASE}-r1"), replace(BACKED_UP, server_name=f"{BASE}-r2"))


def test_auto_without_live_state_reads_the_newest_written_lineage():
    c = confirm(AUTO, *SERIES, now=at(10))
    assert (c.server_name, c.state) == (f"{BASE}-r2", verify.CONFIRMED)  # a render would write -r3
    assert c.chosen.startswith("revision auto without live state: the newest written lineage")


def test_auto_with_live_state_reads_what_the_running_cluster_writes():
    running = running_cluster(backup_server_name=f"{BASE}-r1", recovery_destination_path=DEST,
                              recovery_server_name=BASE)
    c = confirm(AUTO, *SERIES, now=at(10), live=(running,))
    assert (c.server_name, c.chosen, c.state) == (f"{BASE}-r1", "revision auto: kept from the running Cluster",
                                                  verify.CONFIRMED)
    gone = confirm(AUTO, *SERIES, now=at(10), live=())
    assert (gone.server_name, gone.state) == (f"{BASE}-r3", verify.NOT_CONFIRMED)
    assert whats(gone)[0] == "Cluster demo/demo-cnpg-main is not running (not among the live Clusters)"


# --------------------------------------------------------------------------- the live Cluster's word


def test_a_failing_archiver_is_not_confirmed_whatever_the_store_holds():
    """The silent failure: Ready, WAL still fresh in the store, but the last archive failed."""
    c = confirm(DEFAULT, BACKED_UP, now=at(10), live=tuple(parse_live(LIVE)), scheduled=tuple(parse_scheduled(LIVE)))
    (missing,) = c.missing
    assert missing.what == ("ContinuousArchiving is False since 2026-11-01 00:30:00 UTC: ContinuousArchivingFailing: "
                            "unexpected failure invoking barman-cloud-wal-archive: exit status 4")
    assert "`kubectl cnpg status demo-cnpg-main -n demo`" in missing.look
    assert "Secret demo-cnpg-main-provider-backup-s3-creds" in missing.look
    row = verify.row(c, at(10))
    assert row["live"]["continuousArchiving"]["reason"] == "ContinuousArchivingFailing"
    assert (row["live"]["lastSuccessfulBackup"], row["live"]["firstRecoverabilityPoint"]) == (
        "2026-11-01T00:05:00+00:00", "2026-11-01T00:05:00+00:00")
    assert [s["lastScheduleTime"] for s in row["scheduledBackups"]] == ["2026-11-01T00:00:30+00:00"]
    assert verify.table([row]).splitlines()[-2:] == [
        (f"demo/{BASE}: the operator reports lastSuccessfulBackup 2026-11-01T00:05:00+00:00, firstRecoverabilityPoint "
         f"2026-11-01T00:05:00+00:00, systemID {SYSTEM_A}"),
        (f"demo/{BASE}: ScheduledBackup {BASE}-sched-backup-daily-backup (0 0 0 * * *): last scheduled "
         "2026-11-01T00:00:30+00:00, next 2026-11-02T00:00:00+00:00")]


def running_cluster(archiving: str = "True", **fields) -> LiveCluster:
    """A live Cluster writing to the bare lineage, archiving as `archiving` says."""
    condition = Condition("ContinuousArchiving", archiving, "ContinuousArchivingSuccess",
                          "Continuous archiving is working")
    return LiveCluster(**{"namespace": "demo", "name": BASE, "backup_destination_path": DEST,
                          "backup_server_name": BASE, "system_id": str(SYSTEM_A),
                          "status": ClusterStatus(archiving=condition), **fields})


def test_a_running_cluster_that_archives_confirms():
    c = confirm(DEFAULT, BACKED_UP, now=at(10), live=(running_cluster(),))
    assert (c.state, verify.row(c, at(10))["live"]["continuousArchiving"]["status"]) == (verify.CONFIRMED, "True")


def test_the_running_database_must_be_the_lineages():
    other = running_cluster(system_id=str(SYSTEM_B))
    assert whats(confirm(DEFAULT, BACKED_UP, now=at(10), live=(other,))) == [
        (f"the running Cluster is system {SYSTEM_B}, but {DEST}/{BASE} holds system {SYSTEM_A}: another database "
         "writes there")]


def test_a_running_cluster_writing_elsewhere_is_not_confirmed():
    elsewhere = running_cluster(backup_server_name=f"{BASE}-r7")
    assert whats(confirm(DEFAULT, BACKED_UP, now=at(10), live=(elsewhere,))) == [
        f"the running Cluster writes to {DEST}/{BASE}-r7, not to {DEST}/{BASE}"]


def test_live_scheduled_backups_decide_when_the_first_backup_is_due():
    nightly = Scheduled("demo", "demo-cnpg-main-sched-backup-nightly", BASE, "0 0 3 * * *", last_check=at(30))
    c = confirm(NIGHTLY, WAL_ONLY, now=at(40), live=(running_cluster(),), scheduled=(nightly,),
                policy=verify.Policy(first_hours=True, max_wal_age=timedelta(days=1)))
    assert (c.state, c.due.at) == (verify.WAITING, at(180))  # its first check, not the first WAL
    started = Scheduled("demo", nightly.name, BASE, nightly.schedule, last_check=at(30), last_schedule=at(180))
    assert confirm(NIGHTLY, WAL_ONLY, now=at(200), live=(running_cluster(),), scheduled=(started,),
                   policy=verify.Policy(first_hours=True, max_wal_age=timedelta(days=1))).due.at == at(180)


def test_a_rendered_scheduled_backup_missing_from_the_cluster_takes_no_backup():
    c = confirm(DEFAULT, WAL_ONLY, now=at(10), live=(running_cluster(),), scheduled=(),
                policy=verify.Policy(first_hours=True))
    assert c.notes == ("ScheduledBackup demo-cnpg-main-sched-backup-daily-backup is rendered but not in the cluster",)
    assert whats(c) == [f"no completed base backup in {DEST}/{BASE}/base/, and no ScheduledBackup will take one"]


# --------------------------------------------------------------------------- what it shows


@pytest.mark.parametrize("states, code", [
    ([verify.CONFIRMED, verify.WAITING], 0), ([verify.CONFIRMED, verify.NOT_CONFIRMED, verify.NOT_CHECKED], 2),
    ([verify.CONFIRMED, verify.NOT_CHECKED], 3), ([], 3),
])
def test_exit_codes_are_plans(states, code):
    base = confirm(DEFAULT, BACKED_UP, now=at(10))
    assert verify.exit_code([replace(base, state=s) for s in states]) == code


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (45, "45s"), (192, "3m12s"), (3600, "1h"), (7500, "2h5m"),
                                           (3 * 86400 + 4 * 3600 + 59, "3d4h")])
def test_durations_read_as_ages(seconds, text):
    assert verify.duration(timedelta(seconds=seconds)) == text


def test_the_table_says_what_is_missing_and_where_to_look():
    rows = [verify.row(confirm(DEFAULT, WAL_ONLY, now=at(10)), at(10)),
            verify.row(confirm(DEFAULT, BACKED_UP, now=at(10)), at(10))]
    lines = verify.table(rows).splitlines()
    assert lines[0].split()[:3] == ["CLUSTER", "STATE", "WRITES"]
    assert "NOT CONFIRMED" in lines[1] and "000000010000000000000005 (6m)" in lines[1]
    assert "confirmed" in lines[2] and "2026-11-01T00:05:00+00:00" in lines[2]
    assert lines[3].startswith(f"demo/{BASE}: no completed base backup in ") and ". Look at: `kubectl get backups." \
        in lines[3]
    assert len(lines) == 4
