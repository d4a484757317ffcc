"""Coverage (renderer.walchain) against what real restores do.

Lineages are written by PostgreSQL 15 and barman-cloud (tests/realparts.py), copied
within the store and cut where a test needs a gap, read by our inspection, judged by
`coverage`, and then restored by the real tools: a restore our arithmetic calls
incomplete must fail, and one it calls complete must end (promote) inside the segment
it names as the last one reached, on the timeline it names."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from realparts import PgInstance, restore_instance

from renderer.objectstore import LineageState, inspect
from renderer.stores.s3 import S3Access
from renderer.walchain import coverage, parse_history, parse_segment_name, segment_name, segment_of, wal_span
from tests.helpers import s3_access

CHAIN = "s3://lineages/chain/"


@pytest.fixture(scope="module")
def grown(realparts, seeded_lineage) -> dict[int, str]:
    """The seeded lineage after its base backup: a table created in one segment, then
    rows 10 and 11 each in a segment of its own. Returns {row: segment}. Own table, so
    the rows other tests count in ``t`` stay theirs."""
    pg = realparts.pg
    pg.psql("CREATE TABLE IF NOT EXISTS walchain_rows(x int)")
    pg.switch_wal()
    segments = {}
    for row in (10, 11):
        pg.psql(f"INSERT INTO walchain_rows VALUES ({row})")
        segments[row] = pg.switch_wal()
    return segments


def copy_lineage(realparts, source, server: str, drop: tuple[str, ...] = ()) -> None:
    """Copy every object of ``source`` to ``CHAIN<server>/`` inside the store, leaving
    out the segments named in ``drop`` (however they are stored)."""
    client = realparts.s3.client()
    location = S3Access().locate(source.destination)
    bucket, prefix = location.bucket, location.prefix
    src = f"{prefix}{source.server_name}/"
    chain_prefix = S3Access().locate(CHAIN).prefix
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=src):
        for obj in page.get("Contents", []):
            if obj["Key"].rsplit("/", 1)[-1][:24] not in drop:
                client.copy_object(Bucket=bucket, Key=f"{chain_prefix}{server}/{obj['Key'][len(src):]}",
                                   CopySource={"Bucket": bucket, "Key": obj["Key"]})


def inspected(realparts, server: str) -> LineageState:
    return inspect(CHAIN, s3_access(realparts.s3), wanted=lambda name: name == server).lineages[server]


@contextmanager
def restored(realparts, server: str):
    """A real restore of ``CHAIN<server>`` (recovery_target_timeline 'latest'), promoted."""
    instance = restore_instance(realparts.barman, CHAIN, server)
    try:
        instance.wait_promoted()
        yield instance
    finally:
        instance.destroy()


def rows(instance: PgInstance) -> str:
    return instance.psql("SELECT coalesce(string_agg(x::text, ',' ORDER BY x), '') FROM walchain_rows")


def promotion_point(instance: PgInstance) -> tuple[int, int]:
    """(parent timeline, switch point) of the timeline a restore promoted onto."""
    tli = int(instance.psql("SELECT timeline_id FROM pg_control_checkpoint()"))
    entries = parse_history((instance.pgdata / "pg_wal" / f"{tli:08X}.history").read_text(), tli)
    return entries[-1].parent_tli, entries[-1].switchpoint


def assert_ends_in_last_segment(cov, switchpoint: int, size: int) -> None:
    """Replay ended inside the segment coverage names as the last one reached."""
    assert segment_of(switchpoint - 1, size) == parse_segment_name(cov.last_segment.name, size)[1]
    assert switchpoint <= cov.end_lsn


@pytest.fixture(scope="module")
def full(realparts, seeded_lineage, grown) -> str:
    """A copy of the whole lineage; returns the newest segment archived before the copy."""
    newest = realparts.pg.psql("SELECT last_archived_wal FROM pg_stat_archiver")
    copy_lineage(realparts, seeded_lineage, "full")
    return newest


def test_real_lineage_is_complete_and_reaches_the_newest_segment(realparts, seeded_lineage, full):
    lineage = inspected(realparts, "full")
    (backup,) = lineage.completed
    (listed,) = realparts.barman.backup_list(CHAIN, "full")
    assert (backup.begin_wal, backup.end_wal, backup.timeline, backup.segment_size, str(backup.system_id)) == \
        (listed["begin_wal"], listed["end_wal"], listed["timeline"], listed["xlog_segment_size"], listed["systemid"])
    assert segment_name(backup.timeline, segment_of(backup.begin_lsn, backup.segment_size),
                        backup.segment_size) == backup.begin_wal
    system_id = int(realparts.pg.psql("SELECT system_identifier FROM pg_control_system()"))
    segment_size = int(realparts.pg.psql("SELECT pg_size_bytes(current_setting('wal_segment_size'))"))
    assert lineage.wal_system_id == backup.system_id == system_id
    assert lineage.wal_segment_size == backup.segment_size == segment_size
    assert lineage.wal_header_issue is None and lineage.histories == {} and lineage.history_issues == {}

    cov = coverage(lineage, backup)
    assert (cov.problem, cov.complete, cov.target_timeline, cov.timeline) == (None, True, 1, 1)
    assert cov.last_segment.name == full == lineage.wal[-1].name
    objects = realparts.s3.client().list_objects_v2(Bucket="lineages", Prefix="chain/full/wals/")["Contents"]
    modified = {o["Key"].rsplit("/", 1)[-1]: o["LastModified"] for o in objects}
    assert cov.archived_at == modified[full]
    assert wal_span(lineage).first.name == min(name[:24] for name in modified if not name.endswith(".history"))


def test_missing_begin_wal_is_incomplete_and_the_real_restore_fails(realparts, seeded_lineage, full, monkeypatch):
    backup_wal = inspected(realparts, "full").completed[0].begin_wal
    copy_lineage(realparts, seeded_lineage, "nobegin", drop=(backup_wal,))
    lineage = inspected(realparts, "nobegin")
    cov = coverage(lineage, lineage.completed[0])
    assert (cov.problem, cov.complete, cov.first_missing, cov.last_segment) == (None, False, backup_wal, None)

    created = []
    new_dir = PgInstance.new_dir.__func__
    monkeypatch.setattr(PgInstance, "new_dir",
                        classmethod(lambda cls, *a, **k: created.append(new_dir(cls, *a, **k)) or created[-1]))
    try:
        failure = restore_instance(realparts.barman, CHAIN, "nobegin").wait_recovery()
        assert failure is not None and "could not locate required checkpoint record" in created[0].log_tail()
    finally:
        for instance in created:
            instance.destroy()


def test_a_hole_after_the_backup_ends_the_real_restore_where_coverage_says(realparts, seeded_lineage, grown):
    copy_lineage(realparts, seeded_lineage, "hole", drop=(grown[10],))
    lineage = inspected(realparts, "hole")
    cov = coverage(lineage, lineage.completed[0])
    size = lineage.wal_segment_size
    hole = parse_segment_name(grown[10], size)[1]
    assert (cov.problem, cov.complete, cov.timeline) == (None, True, 1)
    assert cov.last_segment.name == segment_name(1, hole - 1, size) and cov.end_lsn == hole * size
    assert grown[11] in {s.name for s in lineage.wal}  # present, but past the hole

    with restored(realparts, "hole") as instance:
        assert rows(instance) == ""  # rows 10 and 11 are lost
        parent, switchpoint = promotion_point(instance)
        assert parent == 1
        assert_ends_in_last_segment(cov, switchpoint, size)


@pytest.fixture(scope="module")
def promoted(realparts, seeded_lineage, grown) -> tuple[str, str]:
    """A copy of the lineage, restored and promoted onto timeline 2 archiving into the
    same lineage (what skipEmptyWalArchiveCheck allows), with row 20 written there.
    Returns (the newest timeline-2 segment, the history file PostgreSQL wrote)."""
    copy_lineage(realparts, seeded_lineage, "promoted")
    with restored(realparts, "promoted") as instance:
        instance.set_archive(CHAIN, "promoted")
        instance.psql("INSERT INTO walchain_rows VALUES (20)")
        newest = instance.switch_wal()
        return newest, (instance.pgdata / "pg_wal" / "00000002.history").read_text()


def test_promoted_lineage_is_followed_onto_the_new_timeline(realparts, promoted):
    newest, history = promoted
    lineage = inspected(realparts, "promoted")
    assert lineage.histories == {2: parse_history(history, 2)}
    cov = coverage(lineage, lineage.completed[0])
    assert (cov.problem, cov.complete, cov.target_timeline, cov.timeline) == (None, True, 2, 2)
    assert cov.last_segment.name == newest == lineage.wal[-1].name

    with restored(realparts, "promoted") as instance:  # promotes onto timeline 3, after all of timeline 2
        assert "20" in rows(instance).split(",")
        parent, switchpoint = promotion_point(instance)
        assert parent == 2
        assert_ends_in_last_segment(cov, switchpoint, lineage.wal_segment_size)
