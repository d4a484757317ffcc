"""Moving a Cluster the chart rendered with the in-tree `barmanObjectStore` to the
barman-cloud plugin.

The webhook rejects a spec holding both a store and an archiver plugin, so the move is
one edit of the Cluster (see `cluster.py`). The archive continues where it was: unless
the overlay sets them, the chart's destinationPath and serverName (CNPG's default for
serverName: the Cluster name) become the plugin's. The chart's own ScheduledBackups
for the Cluster would still take in-tree backups, which fail once the store is gone;
they are switched to `method: plugin` (see `scheduled_backup`).

What was migrated is recorded on the Cluster (`MIGRATED`: the in-tree part of the
chart's spec.backup, Secret references only), so rendering the output again finds
the same store and gives the same bytes."""

from __future__ import annotations

from renderer.cnpg import backup
from renderer.cnpg.meta import LINEAGE_PREFIX, cluster_name
from renderer.errors import Notice, RenderError
from renderer.lineage import Inherited, Plan, Side, folder
from renderer.overlay.model import Backups
from renderer.yamlcodec import copy_value, mapping_at

MIGRATED = LINEAGE_PREFIX + "migrated-in-tree-backup"


def chart_backup(cluster: dict) -> dict | None:
    """The in-tree part of the chart's spec.backup ({barmanObjectStore, retentionPolicy}),
    from the Cluster or, on a second pass, from what the first one recorded."""
    spec_backup = mapping_at(cluster, "spec", "backup")
    if mapping_at(spec_backup, "barmanObjectStore").get("destinationPath"):
        return {k: spec_backup[k] for k in backup.IN_TREE if k in spec_backup}
    recorded = mapping_at(cluster, "metadata", "annotations").get(MIGRATED)
    if not recorded:
        return None
    import json  # only migrations get here; plain renders do not load it

    try:  # what we wrote on the first pass; anything else is hostile or hand-edited
        value = json.loads(str(recorded))
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise RenderError(f"Cluster/{cluster_name(cluster)}: metadata.annotations.{MIGRATED}",
                          "is not the JSON mapping cnpg-render records: remove the annotation and render again")
    return value


def record(cluster: dict) -> str:
    """The `MIGRATED` annotation value for `cluster` (as rendered by the chart)."""
    import json

    return json.dumps(chart_backup(cluster), separators=(",", ":"))  # key order kept: same bytes on re-render


def chart_store(cluster: dict) -> dict | None:
    """The in-tree store the chart rendered, if any."""
    return (chart_backup(cluster) or {}).get("barmanObjectStore")


def retention(plan: Plan) -> str | None:
    """What barman prunes to (None: keep every backup): the overlay's retentionPolicy,
    else the one the chart rendered (its own store's, or the one a migration moves),
    else the entry's default. Pruning is never added over a chart's choice."""
    if plan.entry.backups.retention_policy is None:
        chart = (chart_backup(plan.cluster.obj) or {}).get("retentionPolicy")
        if chart:
            return chart
    return plan.entry.retention


def inherited(cluster: dict) -> Inherited | None:
    store = chart_store(cluster)
    if store is None:
        return None
    return Inherited(str(store["destinationPath"]), str(store.get("serverName") or cluster_name(cluster)))


def adopted_store(cluster: dict, side: Side) -> dict:
    """The chart's store as the plugin's write side, when the overlay configures none:
    credentials, wal/data settings and all, with the lineage's serverName."""
    return {**copy_value(chart_store(cluster)), "serverName": side.server_name}


def notice(cluster: dict, backups: Backups, side: Side, where: str) -> Notice:
    """Say what the migration kept from the chart, and where the archive goes on."""
    store, before = chart_store(cluster), inherited(cluster)
    assert store is not None and before is not None  # asked only when the chart rendered a store (plugin)
    kept = []
    if side.credential is None:
        kept.append("the whole store (credentials, wal/data settings, retentionPolicy)")
    if not (backups.enabled and backups.destination_path):
        kept.append(f"destinationPath {before.destination_path}")
    if not (backups.enabled and backups.server_name):
        origin = "the chart's" if store.get("serverName") else "the in-tree default, the Cluster name"
        kept.append(f"serverName {before.server_name} ({origin})")
    old_folder = folder(before.destination_path, before.server_name)
    moved = ("; the archive continues in " + side.folder if side.folder == old_folder else
             f"; archiving moves from {old_folder} to {side.folder}, which must hold no WAL yet")
    return Notice(where, "migrated spec.backup.barmanObjectStore to the barman-cloud plugin, keeping "
                         + (", ".join(kept) or "nothing (the overlay sets both)") + moved)


def scheduled_backup(obj, clusters: dict, namespace: str | None) -> dict | None:
    """The chart's ScheduledBackup switched to the plugin, when it is for a Cluster in
    `clusters` ((namespace, name) -> method fields) and still uses the in-tree method
    (`method` unset or null means barmanObjectStore). None: not ours to change."""
    if not (isinstance(obj, dict) and obj.get("kind") == "ScheduledBackup" and isinstance(obj.get("spec"), dict)):
        return None
    spec = obj["spec"]
    name = mapping_at(spec, "cluster").get("name")
    method = clusters.get((namespace, name)) if isinstance(name, str) else None
    if method is None or spec.get("method") not in (None, "barmanObjectStore"):
        return None
    return {**obj, "spec": {**spec, **method}}
