"""Lineage truth (e): point-in-time targets before, after and inside what the store holds,
judged and replayed for real (tests/truth.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from cnpg_cluster import Outcome
from truth import CLUSTER, new_app, verdict

# --------------------------------------------------------------------------- (e) point in time


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_point_in_time_targets(cnpg, moto_s3, tmp_path):
    """One base backup, then row 2 committed before a target time and row 3 after it.
    Before the backup ended: CNPG finds no backup to start from. After the last archived
    WAL: PostgreSQL stops ("recovery ended before configured recovery target was
    reached"). In between: row 2 is there, row 3 is not. With the barman-cloud plugin
    (ObjectStores, plugin parameters), so the plugin's calls meet the real tools too."""
    app = new_app(tmp_path, moto_s3, engine="plugin")
    first = cnpg.install(app.fresh().stream, CLUSTER)
    first.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1)")
    first.archive()
    backup = first.back_up()
    first.insert(2)
    inside = first.sql("SELECT clock_timestamp()")  # after row 2's commit, before row 3's
    first.insert(3)
    first.archive()
    time.sleep(1.1)  # the store's clock has whole seconds: "after" is after the last WAL by one
    after = first.sql("SELECT clock_timestamp()")
    cnpg.lose(first)

    def pitr(when: datetime, code: str) -> Outcome:
        step = app.recovery(read="", write="1", time=when.isoformat())
        assert verdict(step)["verdict"] == code
        return cnpg.restore(step.stream, CLUSTER)

    before = pitr(utc(backup["end_time_iso"]) - timedelta(milliseconds=1), "pitr-before-first-backup")
    assert (before.step, before.error) == ("choose-backup", "no target backup found")
    late = pitr(utc(after), "pitr-after-last-wal")
    assert late.step == "postgres", late
    assert "recovery ended before configured recovery target was reached" in late.error
    between = pitr(utc(inside), "safe")
    assert between.promoted, between
    assert between.instance.rows() == [1, 2]
    assert between.instance.plan.engine == "plugin"
    between.instance.archive()
