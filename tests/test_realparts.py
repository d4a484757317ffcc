"""Self-test of the real-parts harness's restore path, which the restore-lifecycle
test builds on: restore a base backup plus archived WAL into a new instance, then
archive from it into a new lineage."""

from __future__ import annotations

from realparts import restore_instance


def test_restore_replays_wal_and_archives_to_new_lineage(realparts, seeded_lineage):
    pg, barman = realparts.pg, realparts.barman
    src = seeded_lineage
    pg.psql("INSERT INTO t VALUES (2)")  # after the base backup: only in archived WAL
    pg.switch_wal()

    restored = restore_instance(barman, src.destination, src.server_name)
    try:
        restored.wait_promoted()
        assert restored.psql("SELECT string_agg(x::text, ',' ORDER BY x) FROM t") == "1,2"
        # Own destination, so the object-store tests' view of s3://lineages/pg/ is untouched.
        new_dest = "s3://lineages/restored/"
        assert barman.check_wal_archive(new_dest, "app-r1")[0] == 0
        restored.set_archive(new_dest, "app-r1")
        wal = restored.switch_wal()
        assert wal.startswith("00000002")  # promotion opened timeline 2
        rc, out = barman.check_wal_archive(new_dest, "app-r1")
        assert rc != 0 and "Expected empty archive" in out
    finally:
        restored.destroy()
