"""The check/auto/guard rules of renderer.facts, against StoreState and LiveCluster values
(no network, no cluster): the pure core given facts."""

from __future__ import annotations

import pytest

from renderer import history, overlay
from renderer.errors import RenderError
from renderer.facts import Facts
from renderer.lineage import revision_of
from renderer.live import LiveCluster, parse_live
from renderer.objectstore import StoreState
from renderer.render import finish, prepare
from renderer.transform import Context
from tests.helpers import FIXTURES, by_kind, documents
from tests.storefacts import SYSTEM_A, backup, lineage, wal

DEST = "s3://bkt/demo/cnpg"
BASE = "demo-cnpg-main"
INPUT = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
CRED = "credentials:\n  s3: {type: s3, bucket: bkt, accessKey: A, secretKey: S}\n"


def lin(name: str, backups: int = 0, wal_: bool = False, failed: int = 0, minute: int = 0):
    """A lineage of one database: `backups` completed ones (each with its WAL), `failed`
    ones, and WAL archived from `minute` (when `wal_`)."""
    done = [backup(f"2026110{i}T000000", 2 + 2 * i, 3 + 2 * i, ended=minute + 2 * i + 5) for i in range(backups)]
    bad = [backup(f"2026100{i}T000000", 2, 3, ended=minute, status="FAILED") for i in range(failed)]
    return lineage(name, done + bad, wal(1, 1, 2 * backups + 4, minute) if wal_ or backups else ())


def store(*lineages, dest: str = DEST) -> dict[str, StoreState]:
    return {dest: StoreState(dest, {x.server_name: x for x in lineages})}


def entry(body: str) -> str:
    return CRED + "cnpg:\n  main:\n" + body


RESTORE_AUTO = entry("    mode: recovery\n    backups: {enabled: true, credentials: s3, revision: auto}\n"
                     "    recovery: {credentials: s3, revision: auto}\n")


def run(body: str, facts: Facts | None, data: bytes = INPUT, collect: bool = False):
    loaded = overlay.parse([("o.yaml", body)])
    return finish(prepare(data, loaded, Context()), facts, collect)


def lineage_of(rendered) -> tuple[str | None, str | None]:
    cluster = by_kind(documents(b"".join(bytes(p) for p in rendered.output.pieces)), "Cluster")[0]
    backup = ((cluster["spec"].get("backup") or {}).get("barmanObjectStore") or {}).get("serverName")
    ext = cluster["spec"].get("externalClusters") or [{}]
    return ext[0].get("barmanObjectStore", {}).get("serverName"), backup


# --------------------------------------------------------------------------- naming


@pytest.mark.parametrize("name,expected", [(BASE, ""), (f"{BASE}-r1", "1"), (f"{BASE}-r12", "12"),
                                           (f"{BASE}-rx", "x"), (f"{BASE}-r", None), ("other", None),
                                           (f"{BASE}x-r1", None)])
def test_revision_of(name, expected):
    assert revision_of(name, BASE) == expected


def test_series_numbers_only_the_derivation_rules_names_and_newest_skips_unrestorable_lineages():
    state = store(lin(BASE, 1, True), lin(f"{BASE}-r1", 2, True, minute=100),
                  lin(f"{BASE}-r2", 0, True, failed=1, minute=200),
                  lin(f"{BASE}-rfoo", 5, True, minute=300), lin(f"{BASE}-r01", 5, True, minute=300),
                  lin("other-r9", 1, minute=300))[DEST]
    series = history.series(state, BASE)
    assert [m.revision for m in series.members] == ["", "1", "2"]
    assert history.newest(series, SYSTEM_A, None).member.revision == "1"
    assert series.next_unused() == "3" and series.next_unused(also=("7",)) == "8"


def test_empty_store_next_unused_is_the_bare_name_and_nothing_is_restorable():
    series = history.series(StoreState(DEST, {}), BASE)
    assert (history.newest(series, None, None), series.next_unused()) == (None, "")


# --------------------------------------------------------------------------- auto


def test_auto_without_facts_names_the_missing_flags():
    with pytest.raises(RenderError, match=r"o.yaml:7: cnpg.main.recovery.revision: is auto, but no store or live "
                                          r"state was read: pass --check-store .* --live FILE or --live-kubectl"):
        run(RESTORE_AUTO, None)


def test_auto_with_live_only_for_a_cluster_that_does_not_run_needs_check_store():
    with pytest.raises(RenderError, match="is not running and the store was not read: pass --check-store"):
        run(RESTORE_AUTO, Facts(live=()))


def test_auto_reads_newest_restorable_and_writes_next_unused():
    facts = Facts(stores=store(lin(BASE, 1, True), lin(f"{BASE}-r1", 1, True), lin(f"{BASE}-r2", 0, True)))
    rendered = run(RESTORE_AUTO, facts)
    assert lineage_of(rendered) == (f"{BASE}-r1", f"{BASE}-r3")
    (a,) = rendered.result.verdicts
    assert (a.code, a.suggested) == ("safe", {"recovery": "1", "backups": "3"})
    ((plan, _),) = rendered.result.clusters
    assert [(r.side, r.revision) for r in plan.resolutions] == [("recovery", "1"), ("backups", "3")]


def test_auto_is_deterministic():
    facts = Facts(stores=store(lin(f"{BASE}-r2", 1, True), lin(BASE, 3, True), lin(f"{BASE}-r1", 1, True)))
    outputs = {b"".join(bytes(p) for p in run(RESTORE_AUTO, facts).output.pieces) for _ in range(3)}
    assert len(outputs) == 1


def test_auto_recovery_with_derived_backup_revision():
    body = entry("    mode: recovery\n    backups: {enabled: true, credentials: s3}\n"
                 "    recovery: {credentials: s3, revision: auto}\n")
    assert lineage_of(run(body, Facts(stores=store(lin(BASE, 1, True))))) == (BASE, f"{BASE}-r1")


def test_auto_standalone_fresh_install_writes_the_bare_name():
    body = entry("    backups: {enabled: true, credentials: s3, revision: auto}\n")
    assert lineage_of(run(body, Facts(stores=store())))[1] == BASE


def test_auto_recovery_from_an_empty_store_is_refused():
    with pytest.raises(RenderError, match=r"cnpg.main.recovery.revision: Cluster demo/demo-cnpg-main: recovery "
                                          r"source s3://bkt/demo/cnpg/demo-cnpg-main does not exist: "
                                          r"the new Cluster would wait"):
        run(RESTORE_AUTO, Facts(stores=store()))


def test_auto_on_an_unchecked_store_says_why():
    facts = Facts(stores={DEST: StoreState(DEST, {}, checked=False,
                                           reason="the chart's own store, whose credentials are not in the overlay")})
    with pytest.raises(RenderError, match="was not checked: the chart's own store"):
        run(RESTORE_AUTO, facts)


def test_auto_keeps_the_lineages_of_a_running_cluster():
    live = LiveCluster("demo", "demo-cnpg-main", DEST + "/", f"{BASE}-r4", archiver="barmanObjectStore",
                       recovery_destination_path=DEST, recovery_server_name=f"{BASE}-r3")
    rendered = run(RESTORE_AUTO, Facts(live=(live,)))
    assert lineage_of(rendered) == (f"{BASE}-r3", f"{BASE}-r4")
    assert rendered.result.verdicts[0].code == "running"


def test_auto_recovery_of_a_running_cluster_not_bootstrapped_from_a_store_is_refused():
    live = LiveCluster("demo", "demo-cnpg-main", DEST, BASE, archiver="barmanObjectStore")
    with pytest.raises(RenderError, match="was not bootstrapped from an object store"):
        run(RESTORE_AUTO, Facts(live=(live,)))


def test_auto_backup_of_a_running_cluster_with_a_foreign_server_name_is_refused():
    body = entry("    backups: {enabled: true, credentials: s3, revision: auto}\n")
    live = LiveCluster("demo", "demo-cnpg-main", DEST, "legacy-name", archiver="barmanObjectStore")
    with pytest.raises(RenderError, match="writes to serverName 'legacy-name', which is not demo-cnpg-main or"):
        run(body, Facts(live=(live,)))


# --------------------------------------------------------------------------- store check


RESTORE_1 = entry("    mode: recovery\n    backups: {enabled: true, credentials: s3}\n"
                  "    recovery: {credentials: s3, revision: '1'}\n")


def test_check_passes_a_safe_restore():
    rendered = run(RESTORE_1, Facts(stores=store(lin(BASE, 1, True), lin(f"{BASE}-r1", 2, True))))
    assert rendered.result.verdicts[0].code == "safe"


def test_check_refuses_a_write_lineage_holding_wal_and_names_the_safe_revision():
    facts = Facts(stores=store(lin(BASE, 1, True), lin(f"{BASE}-r1", 1, True), lin(f"{BASE}-r2", 0, True)))
    with pytest.raises(RenderError) as exc:
        run(RESTORE_1, facts)
    assert str(exc.value) == (
        "o.yaml:6: cnpg.main.backups.revision: Cluster demo/demo-cnpg-main: backups would write into "
        "s3://bkt/demo/cnpg/demo-cnpg-main-r2, which already holds WAL: CNPG fails the first archive with "
        "'Expected empty archive'. Write to a new lineage: backups.revision \"3\" (or auto); if this Cluster is "
        "already running, pass --live FILE or --live-kubectl so it keeps its lineage")


def test_check_refuses_a_recovery_source_with_only_failed_backups():
    facts = Facts(stores=store(lin(BASE, 1, True), lin(f"{BASE}-r1", 0, True, failed=2)))
    with pytest.raises(RenderError, match=r"demo-cnpg-main-r1 holds no completed base backup \(found 2 base "
                                          r"backup\(s\), 0 completed, with WAL\). Read the newest restorable "
                                          r"lineage: recovery.revision \"\" \(or auto\)"):
        run(RESTORE_1, facts)


def test_check_with_skip_flag_still_refuses_interleaving():
    body = entry("    mode: recovery\n    skipEmptyWalArchiveCheck: true\n"
                 "    backups: {enabled: true, credentials: s3, revision: '1'}\n"
                 "    recovery: {credentials: s3, revision: '1'}\n")
    with pytest.raises(RenderError, match="interleave two histories"):
        run(body, Facts(stores=store(lin(f"{BASE}-r1", 1, True))))


def test_plan_collects_instead_of_refusing():
    facts = Facts(stores=store(lin(BASE, 1, True), lin(f"{BASE}-r1", 0, False)))
    (a,) = run(RESTORE_1, facts, collect=True).result.verdicts
    assert a.code == "recovery-source-empty"
    assert a.suggested == {"recovery": "", "backups": "2"}
    assert [x["serverName"] for x in a.lineages] == [BASE, f"{BASE}-r1"]


def test_unchecked_store_is_reported_not_refused():
    facts = Facts(stores={DEST: StoreState(DEST, {}, checked=False,
                                           reason="the chart's own store, whose credentials are not in the overlay")})
    rendered = run(RESTORE_1, facts)
    (a,) = rendered.result.verdicts
    assert a.text == "not checked: s3://bkt/demo/cnpg: the chart's own store, whose credentials are not in the overlay"
    assert any("not checked" in n.what for n in rendered.notices)


# --------------------------------------------------------------------------- live guard

LIVE = (FIXTURES / "live" / "clusters-list.yaml").read_text()
ORDERS = b"""apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: orders, namespace: shop}
spec: {instances: 1}
"""
ORDERS_OVERLAY = ("credentials:\n  s3: {type: s3, bucket: backups-prod, accessKey: A, secretKey: S}\n"
                  "cnpg:\n  orders:\n    backups: {enabled: true, credentials: s3, "
                  "destinationPath: 's3://backups-prod/shop', revision: '%s'}\n")


def test_live_guard_against_kubectl_output_keeps_a_running_lineage():
    rendered = run(ORDERS_OVERLAY % "2", Facts(live=tuple(parse_live(LIVE))), ORDERS)
    assert rendered.result.verdicts[0].code == "running"


def test_live_guard_refuses_a_lineage_change_and_names_both():
    with pytest.raises(RenderError) as exc:
        run(ORDERS_OVERLAY % "3", Facts(live=tuple(parse_live(LIVE))), ORDERS)
    assert "cnpg.orders.backups.revision: Cluster shop/orders: the running Cluster writes to " \
           "s3://backups-prod/shop/orders-r2; this render would move its archive to s3://backups-prod/shop/orders-r3" \
           in str(exc.value)
    assert "--allow-lineage-change" in str(exc.value)


def test_live_guard_override_warns_about_the_pitr_gap():
    rendered = run(ORDERS_OVERLAY % "3", Facts(live=tuple(parse_live(LIVE)), allow_lineage_change=True), ORDERS)
    (notice,) = [n for n in rendered.notices if "lineage" in n.what]
    assert "Point-in-time recovery has a gap" in notice.what and "orders-r2" in notice.what


def test_live_guard_auto_keeps_running_lineage_from_kubectl_output():
    rendered = run(ORDERS_OVERLAY % "auto", Facts(live=tuple(parse_live(LIVE))), ORDERS)
    assert lineage_of(rendered)[1] == "orders-r2"


def test_live_guard_needs_a_namespace():
    with pytest.raises(RenderError, match=r"has no namespace.*pass --namespace"):
        run(ORDERS_OVERLAY % "2", Facts(live=()), ORDERS.replace(b", namespace: shop", b""))


def test_archiver_added_to_a_running_cluster_is_checked_because_cnpg_skips_it():
    """cloudnative-pg#11126: no check when an archiver is added later; we check."""
    live = LiveCluster("demo", "demo-cnpg-main", None, None)
    body = entry("    backups: {enabled: true, credentials: s3}\n")
    with pytest.raises(RenderError, match="cloudnative-pg#11126"):
        run(body, Facts(live=(live,), stores=store(lin(BASE, 0, True))))
    assert run(body, Facts(live=(live,), stores=store())).result.verdicts[0].code == "running"


def test_live_cluster_recovery_source_is_read_from_kubectl_output():
    orders = {c.name: c for c in parse_live(LIVE)}["orders"]
    assert (orders.recovery_destination_path, orders.recovery_server_name) == ("s3://backups-prod/shop", "orders-r1")
