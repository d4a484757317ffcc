"""Lineage truth (c): newer WAL without a base backup — every pick refused, the real restore
shows the loss, acceptDataLoss renders it (tests/truth.py)."""

from __future__ import annotations

from truth import CLUSTER, codes, install, lineages, new_app, refused, restored

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
