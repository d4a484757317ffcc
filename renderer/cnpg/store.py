"""`barmanObjectStore`: the same shape for the write side (spec.backup) and the read
side (externalClusters), and, minus serverName, for the plugin's ObjectStore; what
both object-store engines (`intree`, `plugin`) share. serverName is always written
out: its defaults differ between the two sides and between in-tree and plugin
(cnpg-upstream.md §3.1)."""

from __future__ import annotations

from renderer import providers
from renderer.cnpg import backup, meta, migration, recovery, secrets
from renderer.cnpg.edit import ClusterEdit
from renderer.errors import Notice
from renderer.lineage import Plan, Side


def backup_side(plan: Plan) -> Side:
    """The write side an object-store engine writes: it runs only for a plan that has
    one (`Plan.writers`)."""
    assert plan.backup is not None
    return plan.backup


def recovery_side(plan: Plan) -> Side:
    """The read side an object-store engine reads: it runs only for a plan that has one
    (`Plan.readers`)."""
    assert plan.recovery is not None
    return plan.recovery


def barman_object_store(side: Side, cluster: str, label: str) -> dict:
    """The store for one side (`label`: backup or recovery) of Cluster `cluster`."""
    cred = side.credential
    assert cred is not None  # a read side always has one; a write side without one is adopted (write_side)
    store: dict = {"destinationPath": side.destination_path}
    if cred.url:
        store["endpointURL"] = cred.url
    ca = secrets.endpoint_ca(cred, cluster, label)
    if ca:
        store["endpointCA"] = ca
    store["serverName"] = side.server_name
    store.update(providers.credentials(cred, secrets.secret_name(cluster, label, cred)))
    return store


def write_side(plan: Plan, edit: ClusterEdit) -> dict:
    """The write-side store with its wal/data settings, its Secrets added; or the
    chart's own, carried over by a migration when the overlay configures none."""
    side, obj = backup_side(plan), plan.cluster.obj
    if side.credential is None:
        return migration.adopted_store(obj, side)
    edit.add_secrets(plan, side, "backup")
    return backup.archive_store(plan.entry.backups, barman_object_store(side, meta.cluster_name(obj), "backup"))


def read_side(plan: Plan, edit: ClusterEdit) -> dict:
    """The read-side store, its Secrets added."""
    side = recovery_side(plan)
    edit.add_secrets(plan, side, "recovery")
    return barman_object_store(side, meta.cluster_name(plan.cluster.obj), "recovery")


def use_source(plan: Plan, edit: ClusterEdit, external: dict) -> dict:
    """Put the externalClusters entry the recovery reads in place of the chart's old
    source (and any entry of its name), and return the bootstrap keys naming it."""
    spec = edit.spec
    chart_recovery = (spec.get("bootstrap") or {}).get("recovery")  # any YAML value: only a mapping names one
    old_source = chart_recovery.get("source") if isinstance(chart_recovery, dict) else None
    replaced = {external["name"], old_source} if isinstance(old_source, str) else {external["name"]}
    clusters, dropped = recovery.external_clusters(spec.get("externalClusters"), replaced, external)
    for item in dropped:
        if item != external:
            edit.notices.append(Notice(plan.cluster.where, f"replaced spec.externalClusters entry "
                                                           f"'{item.get('name')}' rendered by the chart"))
    spec["externalClusters"] = clusters
    return {"source": external["name"]}
