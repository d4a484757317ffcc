"""A Cluster's life, on the lineages our render decides, with real parts: moto S3, a
real PostgreSQL 15 and the real barman-cloud tools (tests/realparts.py).

Every destinationPath/serverName the barman tools use here is read from the Cluster
our CLI rendered (never recomputed), and every render runs with --check-store against
the store those tools filled:
1. fresh install: archive and back up into the rendered write lineage; write rows;
2. disaster; `bump --check-store`; render; restore from the rendered recovery lineage;
   the rows are there; barman-cloud-check-wal-archive passes on the rendered write
   lineage (CNPG runs it before the first archive); archive and back up there;
3. restore #2 the same way, this time with `revision: auto`;
4. negative: a reused write lineage is refused by our render, and the same overlay
   forced through (no --check-store) fails barman's own check with "Expected empty
   archive"; a recovery from an empty lineage is refused before any restore."""

from __future__ import annotations

import uuid

from realparts import DUMMY_KEY_ID, DUMMY_SECRET, PgInstance, restore_instance
from tests.helpers import FIXTURES, by_kind, documents, run_cli

MANIFESTS = str(FIXTURES / "inputs" / "cluster-main.yaml")


def rendered_lineages(*overlays: str, check_store: bool = True) -> dict:
    """Render with our CLI; return {"backup": (dest, server), "recovery": (dest, server) | None}."""
    args = ["render", *(["--check-store"] if check_store else []), *[a for o in overlays for a in ("-f", o)], MANIFESTS]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr.decode()
    cluster = by_kind(documents(result.stdout), "Cluster")[0]
    store = cluster["spec"]["backup"]["barmanObjectStore"]
    out = {"backup": (store["destinationPath"], store["serverName"]), "recovery": None}
    source = ((cluster["spec"].get("bootstrap") or {}).get("recovery") or {}).get("source")
    if source:
        (ext,) = [e for e in cluster["spec"]["externalClusters"] if e["name"] == source]
        out["recovery"] = (ext["barmanObjectStore"]["destinationPath"], ext["barmanObjectStore"]["serverName"])
    return out


def refused(*overlays: str) -> str:
    result = run_cli("render", "--check-store", *[a for o in overlays for a in ("-f", o)], MANIFESTS)
    stderr = result.stderr.decode()
    assert (result.returncode, result.stdout, stderr.count("\n")) == (1, b"", 1), stderr
    return stderr


def rows(pg: PgInstance) -> str:
    return pg.psql("SELECT string_agg(x::text, ',' ORDER BY x) FROM t")


def archive_and_back_up(barman, pg: PgInstance, lineage: tuple[str, str], row: int) -> None:
    """As CNPG does on a new Cluster: check the write lineage is empty, archive into it,
    take a base backup; then one more row that only the archived WAL holds."""
    rc, out = barman.check_wal_archive(*lineage)
    assert rc == 0, out
    pg.set_archive(*lineage)
    pg.psql(f"INSERT INTO t VALUES ({row})")
    pg.switch_wal()
    barman.backup(pg, *lineage)
    pg.psql(f"INSERT INTO t VALUES ({row + 1})")
    pg.switch_wal()


def restore_and_continue(barman, lineages: dict, expected_rows: str, next_row: int) -> None:
    """Restore from the rendered read lineage, check the rows survived, then archive and
    back up into the rendered write lineage (which CNPG's empty-archive check accepts)."""
    restored = restore_instance(barman, *lineages["recovery"])
    try:
        restored.wait_promoted()
        assert rows(restored) == expected_rows
        archive_and_back_up(barman, restored, lineages["backup"], next_row)
    finally:
        restored.destroy()


def test_cluster_life_on_rendered_lineages(realparts, tmp_path):
    barman = realparts.barman
    bucket = "life-" + uuid.uuid4().hex[:10]
    realparts.s3.make_bucket(bucket)
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(
        "# the cluster's overlay; bump edits it in place\n"
        f"credentials:\n  s3:\n    type: s3\n    url: {realparts.endpoint_url}\n    bucket: {bucket}\n"
        f"    accessKey: {DUMMY_KEY_ID}\n    secretKey: {DUMMY_SECRET}\n"
        "cnpg:\n  main:\n    backups:\n      enabled: true\n      credentials: s3\n")

    # 1. fresh install: rows 1 (in the base backup) and 2 (only in WAL).
    fresh = rendered_lineages(str(overlay))
    assert fresh["recovery"] is None
    pg = PgInstance.new_dir(barman).initdb().start()
    try:
        pg.psql("CREATE TABLE t(x int)")
        archive_and_back_up(barman, pg, fresh["backup"], 1)
        assert rows(pg) == "1,2"
    finally:
        pg.destroy()  # the disaster

    # 2. restore #1 with bump: it reads what was written, and writes a new lineage.
    bumped = run_cli("bump", "main", "-f", str(overlay), "--check-store", MANIFESTS)
    assert bumped.returncode == 0, bumped.stderr.decode()
    assert bumped.stdout.decode().endswith('reads revision "" and writes revision "1"\n')
    first = rendered_lineages(str(overlay))
    assert first["recovery"] == fresh["backup"] and first["backup"] != fresh["backup"]
    restore_and_continue(barman, first, expected_rows="1,2", next_row=3)

    # 3. restore #2 with revision: auto (layered on the bumped overlay): the store decides.
    auto = tmp_path / "auto.yaml"
    auto.write_text("cnpg:\n  main:\n    recovery: {revision: auto}\n    backups: {revision: auto}\n")
    second = rendered_lineages(str(overlay), str(auto))
    assert second["recovery"] == first["backup"]
    assert second["backup"] not in (fresh["backup"], first["backup"])
    restore_and_continue(barman, second, expected_rows="1,2,3,4", next_row=5)
    assert rendered_lineages(str(overlay), str(auto))["recovery"] == second["backup"]  # the next one moves on

    # 4a. reusing a written lineage: refused by us, and barman's check agrees.
    reuse = tmp_path / "reuse.yaml"
    reuse.write_text("cnpg:\n  main:\n    recovery: {revision: '1'}\n    backups: {revision: ''}\n")
    assert "'Expected empty archive'" in refused(str(overlay), str(reuse))
    forced = rendered_lineages(str(overlay), str(reuse), check_store=False)
    assert forced["backup"] == fresh["backup"]
    rc, out = barman.check_wal_archive(*forced["backup"])
    assert rc != 0 and "Expected empty archive" in out

    # 4b. recovering from a lineage that holds no base backup: refused before any restore.
    empty = tmp_path / "empty.yaml"
    empty.write_text("cnpg:\n  main:\n    recovery: {revision: '7'}\n    backups: {revision: '8'}\n")
    assert "does not exist: the new Cluster would wait" in refused(str(overlay), str(empty))
    never = rendered_lineages(str(overlay), str(empty), check_store=False)["recovery"]
    assert barman.backup_list(*never) == []
