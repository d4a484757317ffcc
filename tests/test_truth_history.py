"""Lineage truth (c) and (d): newer WAL without a base backup, and a base backup without its
WAL, judged and replayed for real (tests/truth.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from cnpg_cluster import Instance
from realparts import MotoS3
from truth import CLUSTER, codes, install, lineages, new_app, refused, restored, verdict

from tests.helpers import run_cli

# --------------------------------------------------------------------------- (c) WAL without a base backup


def test_a_newer_lineage_without_a_base_backup_loses_its_rows(cnpg, moto_s3, tmp_path):
    """Restore #1 writes ``-r1`` and archives rows 3 and 4, but is lost before its first
    base backup. Restore #2 cannot read ``-r1`` (CNPG: "no target backup found"), and
    from the lineage before it comes up without rows 3 and 4. The render refuses both
    (and `auto`), naming ``-r1`` and since when; accepting the loss renders, and the real
    restore shows exactly that loss."""
    app = new_app(tmp_path, moto_s3)
    first = install(cnpg, app.fresh())
    cnpg.lose(first)
    second = restored(cnpg, app.recovery(read="", write="1", check=True))
    second.insert(3, 4)
    second.archive()
    cnpg.lose(second)

    message = refused(app.recovery(read="auto", write="auto", check=None))
    assert f"{CLUSTER}-r1 (no base backup yet) holds WAL archived from" in message
    assert f"Wait for the first base backup in {CLUSTER}-r1" in message
    newest_step = app.recovery(read="1", write="2")
    assert codes(newest_step) == ["recovery-source-empty"]
    newest = cnpg.restore(newest_step.stream, CLUSTER)
    assert (newest.step, newest.error) == ("choose-backup", "no target backup found")
    reused_step = app.recovery(read="", write="1")  # write where WAL is
    assert codes(reused_step) == ["newer-history", "expected-empty-archive"]
    reused = cnpg.restore(reused_step.stream, CLUSTER)
    assert reused.step == "check-wal-archive" and "Expected empty archive" in reused.error, reused
    older_step = app.recovery(read="", write="2")
    assert codes(older_step) == ["newer-history"]
    older = restored(cnpg, older_step)
    assert older.rows() == [1, 2]  # rows 3 and 4 are lost: what the refusal prevents
    older.archive()
    cnpg.lose(older)

    accepted = app.recovery(read="auto", write="auto", recovery={"acceptDataLoss": True}, check=True)
    assert lineages(accepted) == (CLUSTER, f"{CLUSTER}-r3")
    assert "these writes are lost" in run_cli("render", "--check-store", *accepted.args).stderr.decode()
    assert restored(cnpg, accepted).rows() == [1, 2]


# --------------------------------------------------------------------------- (d) a base backup without its WAL


def back_up_across_segments(app: Instance, s3: MotoS3, bucket: str, lineage: str) -> dict:
    """A base backup during which 2 MB of WAL are written, so it begins and ends in
    different 1 MB segments: barman uploads backup.info (status STARTED) right after
    pg_backup_start; from then the store is frozen (barman cannot finish first) while
    the rows are inserted."""
    app.sql("CREATE TABLE filler(x int, pad text)")
    client = s3.client()

    def started() -> bool:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{lineage}/base/").get("Contents", [])
        return any(o["Key"].endswith("/backup.info") for o in listed)

    with ThreadPoolExecutor(1) as pool:
        backup = pool.submit(app.back_up)
        deadline = datetime.now() + timedelta(seconds=60)
        while not started() and not backup.done() and datetime.now() < deadline:
            pass
        with s3.paused():
            app.sql("INSERT INTO filler SELECT g, repeat('x', 400) FROM generate_series(1, 5000) g")
        return backup.result()


def wal_keys(s3: MotoS3, bucket: str, prefix: str) -> dict[str, str]:
    """Segment name -> object key of every WAL a lineage holds."""
    listed = s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix + "/wals/").get("Contents", [])
    return {Path(o["Key"]).name[:24]: o["Key"] for o in listed}


def test_a_base_backup_without_its_wal_cannot_be_restored(cnpg, moto_s3, tmp_path):
    """Delete the WAL a base backup spans (after its first segment, up to its last):
    PostgreSQL stops the restore ("WAL ends before end of online backup"). Delete its
    first segment too: CNPG stops before restoring anything."""
    app = new_app(tmp_path, moto_s3)
    first = cnpg.install(app.fresh().stream, CLUSTER)
    first.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1)")
    first.archive()
    lineage = f"demo/cnpg/{CLUSTER}"
    backup = back_up_across_segments(first, moto_s3, app.bucket, lineage)
    assert backup["begin_wal"] < backup["end_wal"], backup
    first.archive()
    cnpg.lose(first)

    segments = wal_keys(moto_s3, app.bucket, lineage)
    spanned = [k for s, k in segments.items() if backup["begin_wal"] < s <= backup["end_wal"]]
    assert spanned
    moto_s3.client().delete_objects(Bucket=app.bucket, Delete={"Objects": [{"Key": k} for k in spanned]})
    step = app.recovery(read="", write="1")
    facts = verdict(step)
    assert [p["code"] for p in facts["problems"]] == ["recovery-source-incomplete"]
    assert f"{Path(spanned[0]).name[:24]} is missing" in facts["problems"][0]["what"]
    outcome = cnpg.restore(step.stream, CLUSTER)
    assert outcome.step == "postgres" and "WAL ends before end of online backup" in outcome.error, outcome

    moto_s3.client().delete_object(Bucket=app.bucket, Key=segments[backup["begin_wal"]])
    assert codes(step) == ["recovery-source-incomplete"]
    outcome = cnpg.restore(step.stream, CLUSTER)
    assert outcome.step == "first-wal", outcome
    assert outcome.error.startswith("encountered an error while checking the presence of first needed WAL")
