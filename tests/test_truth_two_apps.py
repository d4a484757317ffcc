"""Lineage truth (b): two databases on one serverName — whose lineage it is, judged and replayed
for real (tests/truth.py)."""

from __future__ import annotations

from truth import (
    codes,
    install,
    lineages,
    new_app,
    new_bucket,
    other_release,
    refused,
    restored,
    verdict,
    write_rows,
)

# --------------------------------------------------------------------------- (b) two apps, one lineage base


def test_two_apps_sharing_path_and_server_name_restore_each_others_data(cnpg, moto_s3, tmp_path):
    """App A and app B both set ``serverName: main`` on one destinationPath. A writes
    ``main``. B's fresh install is refused by the store check (it would start beside A's
    backups); forced through, B writes ``main-r1``. A is lost; restoring it from
    ``main-r1`` comes up with B's rows and B's system identifier — the render refuses
    that pick (two databases in the series; with A's systemID pinned, another database's
    lineage) and `auto` with the pin reads A's own lineage, which restores A's rows."""
    bucket = new_bucket(moto_s3)
    common = {"serverName": "main", "destinationPath": f"s3://{bucket}/shared"}
    app_a = new_app(tmp_path, moto_s3, "a", bucket, common=common)
    app_b = new_app(tmp_path, moto_s3, "b", bucket, common=common, manifests=other_release(tmp_path, "shop"))

    a = install(cnpg, app_a.fresh(check=True))
    a_system = a.system_identifier()
    b_fresh = app_b.fresh(revision="1")
    assert codes(b_fresh) == ["fresh-install-beside-data"]
    b = cnpg.install(b_fresh.stream, "shop-cnpg-main")
    b.sql("CREATE TABLE t(x int)")
    write_rows(b, 101)
    b_system = b.system_identifier()
    cnpg.lose(a)

    wrong = app_a.recovery(read="1", write="2")
    assert codes(wrong) == ["systems-mixed"]
    assert "recovery.systemID" in refused(wrong)
    pinned_wrong = app_a.recovery(read="1", write="2", recovery={"systemID": a_system})
    assert f"holds PostgreSQL system {b_system}, not system {a_system}" in refused(pinned_wrong)
    instance = restored(cnpg, wrong)
    assert instance.rows() == [101, 102]  # what the refusal prevents
    assert instance.system_identifier() == b_system != a_system
    barman = cnpg.parts.barman
    listed = {s: barman.backup_list(common["destinationPath"], s)[0]["systemid"] for s in ("main", "main-r1")}
    assert listed == {"main": a_system, "main-r1": b_system}
    instance.archive()  # the wrong restore went on archiving B's history into main-r2
    cnpg.lose(instance)

    right = app_a.recovery(read="auto", write="auto", recovery={"systemID": a_system}, check=True)
    assert lineages(right) == ("main", "main-r3") and verdict(right)["verdict"] == "safe"
    assert restored(cnpg, right).rows() == [1, 2]
