"""Lineage truth (d): a base backup without its WAL is judged incomplete, and the real restore
fails (tests/truth.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from cnpg_cluster import Instance
from realparts import MotoS3
from truth import CLUSTER, codes, new_app, verdict

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
