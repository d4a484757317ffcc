"""The lineage-truth rules (renderer.judge, renderer.resolve, renderer.history) against
store facts laid out as barman-cloud writes them: identity, completeness, newest history,
point-in-time targets, fresh installs. Each real-tool counterpart is in
tests/test_truth_*.py (real PostgreSQL 15 + barman-cloud)."""

from __future__ import annotations

import pytest

from renderer import overlay
from renderer.errors import RenderError
from renderer.facts import Facts
from renderer.live import LiveCluster
from renderer.render import finish, prepare
from renderer.transform import Context
from tests.helpers import FIXTURES
from tests.storefacts import SYSTEM_A, SYSTEM_B, at, backup, lineage, promoted, store, wal

DEST = "s3://bkt/demo/cnpg"
BASE = "demo-cnpg-main"
INPUT = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
CRED = "credentials:\n  s3: {type: s3, bucket: bkt, accessKey: A, secretKey: S}\n"


def overlay_of(recovery: str = "revision: auto", backups: str = "revision: auto", mode: str = "recovery") -> str:
    return (CRED + f"cnpg:\n  main:\n    mode: {mode}\n    backups: {{enabled: true, credentials: s3, {backups}}}\n"
            f"    recovery: {{credentials: s3, {recovery}}}\n")


def run(body: str, *lineages, collect: bool = False, live=None):
    loaded = overlay.parse([("o.yaml", body)])
    facts = Facts(stores=store(DEST, *lineages), live=live)
    return finish(prepare(INPUT, loaded, Context()), facts, collect)


def verdict(body: str, *lineages, live=None):
    (v,) = run(body, *lineages, collect=True, live=live).result.verdicts
    return v


def read_and_written(rendered) -> tuple[str | None, str | None]:
    ((plan, _),) = rendered.result.clusters
    return (plan.recovery.server_name if plan.recovery else None,
            plan.backup.server_name if plan.backup else None)


# The first life of the database: fresh install into BASE, one backup, WAL to minute 30.
FIRST = lineage(BASE, [backup("20261101T000500", 2, 3, ended=5)], wal(1, 1, 30, minute=0))
# Restore #1 read FIRST and promoted onto timeline 2 at segment 30; its first backup
# completed at minute 45, WAL continued to minute 60.
SECOND = lineage(f"{BASE}-r1", [backup("20261101T004500", 35, 36, ended=45, tli=2)], wal(2, 30, 55, minute=35),
                 histories={2: promoted(1, 30)})
# Restore #2 read SECOND; WAL arrives from minute 70, no base backup yet.
THIRD_WAL_ONLY = lineage(f"{BASE}-r2", [], wal(3, 55, 60, minute=70), histories={3: promoted(2, 55)})


# --------------------------------------------------------------------------- identity


def test_auto_follows_the_chain_of_one_database():
    rendered = run(overlay_of(), FIRST, SECOND)
    assert read_and_written(rendered) == (f"{BASE}-r1", f"{BASE}-r2")
    (v,) = rendered.result.verdicts
    assert (v.code, v.system_id) == ("safe", str(SYSTEM_A))
    assert v.point["serverName"] == f"{BASE}-r1" and v.point["time"] == at(35 + 25).isoformat()


def test_auto_never_reads_another_database_and_says_so_when_the_series_mixes_two():
    other = lineage(f"{BASE}-r1", [backup("20261101T010000", 2, 3, ended=60, system=SYSTEM_B)],
                    wal(1, 1, 10, minute=55), system=SYSTEM_B)
    v = verdict(overlay_of(), FIRST, other)
    assert v.code == "systems-mixed"
    assert str(SYSTEM_A) in v.problems[0].what and str(SYSTEM_B) in v.problems[0].what
    assert "recovery.systemID" in v.problems[0].fix


@pytest.mark.parametrize("system,expected", [(SYSTEM_A, BASE), (SYSTEM_B, f"{BASE}-r1")])
def test_a_pinned_system_chooses_its_own_lineage(system, expected):
    other = lineage(f"{BASE}-r1", [backup("20261101T010000", 2, 3, ended=60, system=SYSTEM_B)],
                    wal(1, 1, 10, minute=55), system=SYSTEM_B)
    rendered = run(overlay_of(f"revision: auto, systemID: '{system}'"), FIRST, other)
    assert read_and_written(rendered) == (expected, f"{BASE}-r2")


def test_an_explicit_pick_of_another_database_is_refused_naming_both():
    other = lineage(f"{BASE}-r1", [backup("20261101T010000", 2, 3, ended=60, system=SYSTEM_B)],
                    wal(1, 1, 10, minute=55), system=SYSTEM_B)
    with pytest.raises(RenderError) as exc:
        run(overlay_of(f"revision: '1', systemID: {SYSTEM_A}", "revision: '2'"), FIRST, other)
    assert f"holds PostgreSQL system {SYSTEM_B}, not system {SYSTEM_A}" in str(exc.value)
    assert 'recovery.revision ""' in str(exc.value)


def test_a_fresh_install_beside_existing_backups_is_refused_with_the_restore_hint():
    with pytest.raises(RenderError) as exc:
        run(overlay_of(backups="revision: auto", mode="standalone"), FIRST)
    message = str(exc.value)
    assert "cnpg.main.mode" in message and "mode: recovery" in message and "bump main" in message
    assert f"{BASE} (system {SYSTEM_A}, 1 completed backup" in message


def test_a_fresh_install_into_an_empty_store_is_safe():
    assert verdict(overlay_of(backups="revision: auto", mode="standalone")).code == "safe"


def test_a_running_cluster_writing_into_another_databases_lineage_is_refused():
    live = (LiveCluster("demo", "demo-cnpg-main", DEST, BASE, archiver="barmanObjectStore",
                        system_id=str(SYSTEM_B)),)
    v = verdict(overlay_of(backups="revision: ''", mode="standalone"), FIRST, live=live)
    assert v.code == "other-system" and f"is PostgreSQL system {SYSTEM_B}" in v.problems[0].what


# --------------------------------------------------------------------------- completeness


def test_a_backup_without_its_wal_is_not_restorable():
    gap = lineage(BASE, [backup("20261101T000500", 2, 4, ended=5)], wal(1, 1, 2) + wal(1, 4, 9, minute=4))
    v = verdict(overlay_of("revision: ''", "revision: '1'"), gap)
    assert v.code == "recovery-source-incomplete"
    assert "000000010000000000000003 is missing" in v.problems[0].what


def test_auto_skips_a_lineage_whose_newest_backup_lacks_its_wal():
    broken = lineage(f"{BASE}-r1", [backup("20261101T004500", 35, 37, ended=45, tli=2)],
                     wal(2, 30, 35, minute=35) + wal(2, 37, 40, minute=41), histories={2: promoted(1, 30)})
    v = verdict(overlay_of(), FIRST, broken)
    assert v.code == "newer-history" and v.point["serverName"] == BASE


# --------------------------------------------------------------------------- newest history


def test_a_newer_lineage_without_a_base_backup_is_a_refused_loss():
    with pytest.raises(RenderError) as exc:
        run(overlay_of(), FIRST, SECOND, THIRD_WAL_ONLY)
    message = str(exc.value)
    assert f"{BASE}-r2 (no base backup yet) holds WAL archived from {at(70).isoformat()}" in message
    assert "Wait for the first base backup in demo-cnpg-main-r2" in message and "acceptDataLoss" in message


def test_accepting_the_loss_renders_with_a_warning():
    rendered = run(overlay_of("revision: auto, acceptDataLoss: true"), FIRST, SECOND, THIRD_WAL_ONLY)
    assert read_and_written(rendered) == (f"{BASE}-r1", f"{BASE}-r3")
    assert any("these writes are lost" in n.what for n in rendered.notices)


def test_an_explicit_revision_older_than_the_newest_restorable_one_is_refused():
    with pytest.raises(RenderError, match=r'Read the newest restorable lineage: recovery.revision "1"'):
        run(overlay_of("revision: ''", "revision: '2'"), FIRST, SECOND)


def test_a_point_in_time_target_says_which_history_to_end_on():
    body = overlay_of(f"revision: '', pitrTarget: {{time: '{at(20).isoformat()}'}}", "revision: '2'")
    assert verdict(body, FIRST, SECOND).code == "safe"


def test_wal_of_an_unknown_database_counts_as_possibly_ours():
    unknown = lineage(f"{BASE}-r2", [], wal(3, 55, 60, minute=70), system=None)
    assert verdict(overlay_of(), FIRST, SECOND, unknown).code == "newer-history"


# --------------------------------------------------------------------------- PITR


@pytest.mark.parametrize("target,code", [
    ({"time": at(2).isoformat()}, "pitr-before-first-backup"),
    ({"time": at(31).isoformat()}, "pitr-after-last-wal"),
    ({"time": at(20).isoformat()}, "safe"),
    ({"lsn": "0/1000000"}, "pitr-before-first-backup"),
    ({"lsn": "0/FFFFFFFF"}, "pitr-after-last-wal"),
    ({"lsn": "0/10000000"}, "safe"),
    ({"backupID": "20990101T000000"}, "pitr-backup-missing"),
    ({"backupID": "20261101T000500"}, "safe"),
])
def test_pitr_targets_are_judged_against_the_chosen_lineage(target, code):
    pitr = ", ".join(f"{k}: '{v}'" for k, v in target.items())
    v = verdict(overlay_of(f"revision: '', pitrTarget: {{{pitr}}}", "revision: '1'"), FIRST)
    assert v.code == code, v.problems


def test_a_target_before_the_first_backup_names_its_end():
    v = verdict(overlay_of(f"revision: '', pitrTarget: {{time: '{at(2).isoformat()}'}}", "revision: '1'"), FIRST)
    assert "no target backup found" in v.problems[0].what and at(5).isoformat() in v.problems[0].what


def test_auto_with_a_target_reads_the_newest_lineage_that_reaches_it():
    body = overlay_of(f"revision: auto, pitrTarget: {{time: '{at(20).isoformat()}'}}")
    assert read_and_written(run(body, FIRST, SECOND))[0] == BASE


# --------------------------------------------------------------------------- fixes


def test_an_empty_recovery_source_suggests_the_recovery_side_not_the_backup_side():
    with pytest.raises(RenderError) as exc:
        run(overlay_of("revision: '7'", "revision: '8'"), FIRST)
    assert 'recovery.revision ""' in str(exc.value) and "backups.revision" not in str(exc.value)


def test_a_taken_write_lineage_suggests_the_backup_side():
    with pytest.raises(RenderError) as exc:
        run(overlay_of("revision: ''", "revision: '1'"), FIRST, SECOND)
    message = str(exc.value)
    assert 'backups.revision "2"' in message and "--live" in message


def test_a_lineage_holding_two_databases_is_never_read():
    interleaved = lineage(f"{BASE}-r1", [backup("20261101T004500", 35, 36, ended=45, tli=2, system=SYSTEM_B)],
                          wal(2, 30, 55, minute=35), histories={2: promoted(1, 30)}, system=SYSTEM_A)
    rendered = run(overlay_of(f"revision: auto, systemID: '{SYSTEM_A}', acceptDataLoss: true"), FIRST, interleaved)
    assert read_and_written(rendered)[0] == BASE
    assert any(f"{BASE}-r1 (after its restorable point) holds WAL" in n.what for n in rendered.notices)
