"""Lineage truth (a): a chain of restores, with bump and with revision: auto, judged and replayed
with real PostgreSQL 15 and barman-cloud (tests/truth.py)."""

from __future__ import annotations

from truth import (
    CLUSTER,
    codes,
    install,
    lineages,
    new_app,
    refused,
    render,
    restored,
    verdict,
    write_rows,
)

from tests.helpers import run_cli

# --------------------------------------------------------------------------- (a) a chain of restores


def test_a_chain_of_restores_with_bump_then_auto_keeps_every_row(cnpg, moto_s3, tmp_path):
    """Install; restore #1 with `bump --check-store` (the overlay the lost Cluster ran
    with, edited in place); restores #2 and #3 with `revision: auto` under the store
    check. Every verdict is "safe" and every restore has every row ever archived, and
    archives into a lineage barman's own empty-archive check accepts. The refusals of
    a reused or empty lineage are shown to match barman's own answer."""
    app = new_app(tmp_path, moto_s3)
    fresh = app.fresh(check=True)
    first = install(cnpg, fresh)
    expected, system = first.rows(), str(first.system_identifier())
    cnpg.lose(first)
    assert codes(fresh) == ["fresh-install-beside-data"]  # re-deploying it unchanged would start empty

    bumped = run_cli("bump", "main", "-f", fresh.overlay, "--check-store", str(app.manifests))
    assert bumped.returncode == 0, bumped.stderr.decode()
    assert bumped.stdout.decode().endswith('reads revision "" and writes revision "1"\n')
    step = render(fresh.overlay, manifests=app.manifests, check=True)
    assert lineages(step) == (CLUSTER, f"{CLUSTER}-r1") and verdict(step)["verdict"] == "safe"
    instance = restored(cnpg, step)
    assert instance.rows() == expected
    expected += write_rows(instance, 3)
    cnpg.lose(instance)

    for n in (2, 3):
        step = app.recovery(read="auto", write="auto", check=True)
        assert lineages(step) == (f"{CLUSTER}-r{n - 1}", f"{CLUSTER}-r{n}")
        facts = verdict(step)
        assert (facts["verdict"], facts["systemID"]) == ("safe", system)  # a restore keeps the database's identity
        instance = restored(cnpg, step)
        assert instance.rows() == expected
        expected += write_rows(instance, 2 * n + 1)
        cnpg.lose(instance)
    assert expected == [1, 2, 3, 4, 5, 6, 7, 8]

    dest = f"s3://{app.bucket}/demo/cnpg"
    reuse = app.recovery(read="2", write="1")  # writing a lineage that holds WAL
    assert "'Expected empty archive'" in refused(reuse)
    rc, out = cnpg.parts.barman.check_wal_archive(dest, lineages(reuse)[1])
    assert rc != 0 and "Expected empty archive" in out
    empty = app.recovery(read="7", write="8")  # reading a lineage that was never written
    assert "does not exist: the new Cluster would wait" in refused(empty)
    assert cnpg.parts.barman.backup_list(dest, f"{CLUSTER}-r7") == []
