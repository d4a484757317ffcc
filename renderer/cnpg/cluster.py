"""The edit of one Cluster: its backup and recovery fields, the lineage it records,
and the objects that go with it. Pure: a Cluster dict in, a new one and companions out."""

from __future__ import annotations

import copy
from dataclasses import field

from renderer.cnpg import (
    backup,
    meta,
    migration,
    pitr,
    plugin,
    recovery,
    scheduled,
    secrets,
    store,
)
from renderer.errors import Notice, RenderError
from renderer.lineage import Lineage, Side, decide
from renderer.overlay.model import Entry, Overlay
from renderer.records import record


@record
class ClusterEdit:
    """One Cluster after the edit, with the objects that go before and after it."""

    cluster: dict
    before: list[dict] = field(default_factory=list)  # Secrets, ObjectStores: must exist before the Cluster
    after: list[dict] = field(default_factory=list)  # ScheduledBackups
    notices: list[Notice] = field(default_factory=list)
    lineage: Lineage | None = None
    # Plugin engine: what the chart's own ScheduledBackups for this Cluster need to
    # back up through the plugin (see migration.scheduled_backup).
    scheduled_method: dict | None = None


@record(frozen=True)
class Target:
    """A Cluster to edit, with what the stream tells about it."""

    cluster: dict
    where: str  # "document 3 (Cluster/pg)"
    namespace: str | None  # metadata.namespace, else --namespace
    release: str | None  # --release, else the app.kubernetes.io/instance label


# Fields we read or write, and the type the API server would demand of them.
_SHAPES = (("metadata", dict), ("metadata.labels", dict), ("metadata.annotations", dict), ("spec", dict),
           ("spec.bootstrap", dict), ("spec.externalClusters", list), ("spec.backup", dict),
           ("spec.plugins", list))


def check_shape(target: Target) -> None:
    """A Cluster whose fields have the wrong type is bad input, not a crash."""
    for path, kind in _SHAPES:
        value = target.cluster
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None and not isinstance(value, kind):
            raise RenderError(target.where, f"{path} must be a {'mapping' if kind is dict else 'list'}")


def edit(entry: Entry, overlay: Overlay, target: Target) -> ClusterEdit:
    check_shape(target)
    name = meta.cluster_name(target.cluster)
    inherited = migration.inherited(target.cluster) if entry.engine == "plugin" else None
    lineage, notices = decide(entry, overlay, name, target.release, target.where, inherited)
    result = ClusterEdit(copy.deepcopy(target.cluster), notices=notices, lineage=lineage)
    spec = result.cluster.setdefault("spec", {})
    if lineage.backup:
        _add_backup(entry, lineage.backup, target, spec, result)
    if entry.mode == "recovery":
        _add_recovery(entry, lineage.recovery, target, spec, result)
    _annotate(entry, lineage, target, result)
    if entry.patches:
        result.cluster = _patch(entry, result.cluster)
    return result


def _add_backup(entry: Entry, side: Side, target: Target, spec: dict, result: ClusterEdit) -> None:
    archive = _write_store(entry, side, target, result)
    if entry.engine == "plugin":
        _add_archiver(entry, side, archive, target, spec, result)
    else:
        if archiving := plugin.archivers(spec.get("plugins")):
            raise RenderError(target.where, f"the chart archives WAL with plugin '{archiving[0]}', which CNPG "
                                            "refuses beside an in-tree barmanObjectStore: set engine: plugin")
        _replace(spec, "backup", backup.spec_backup(entry.backups, archive), target, result)
    if entry.backups.enabled:
        method = plugin.SCHEDULED if entry.engine == "plugin" else {}
        result.after.extend(scheduled.scheduled_backups(entry.backups, target.cluster, target.namespace, method))


def _write_store(entry: Entry, side: Side, target: Target, result: ClusterEdit) -> dict:
    """The write-side store: the overlay's, or the chart's carried over by a migration."""
    if side.credential is None:
        return migration.adopted_store(target.cluster, side)
    _add_secrets(side, "backup", target, result)
    write = store.barman_object_store(side, meta.cluster_name(target.cluster), "backup")
    return backup.archive_store(entry.backups, write)


def _add_archiver(entry: Entry, side: Side, archive: dict, target: Target, spec: dict, result: ClusterEdit) -> None:
    """Plugin engine, write side, in one edit: the ObjectStore, the archiver entry, and
    spec.backup without the in-tree store (migrating it when the chart rendered one)."""
    if migration.chart_store(target.cluster):
        result.notices.append(migration.notice(target.cluster, entry.backups, side, target.where))
        meta.set_annotations(result.cluster, {migration.MIGRATED: migration.record(target.cluster)})
    retention = entry.backups.retention_policy if side.credential else migration.chart_retention(target.cluster)
    result.before.append(plugin.object_store(archive, target.cluster, "backup", target.namespace, target.where,
                                             retention))
    store_name = plugin.object_store_name(meta.cluster_name(target.cluster), "backup")
    spec["plugins"] = plugin.with_archiver(spec.get("plugins"), store_name, side.server_name, target.where)
    rest = backup.without_in_tree(spec.get("backup"), entry.backups.target)
    if rest is None:
        spec.pop("backup", None)
    else:
        spec["backup"] = rest
    result.scheduled_method = plugin.SCHEDULED


def _add_recovery(entry: Entry, side: Side | None, target: Target, spec: dict, result: ClusterEdit) -> None:
    source = None
    if side is not None:
        _add_secrets(side, "recovery", target, result)
        source = side.server_name
        external = _read_source(entry, side, target, result)
        old_source = ((spec.get("bootstrap") or {}).get("recovery") or {}).get("source")
        clusters, dropped = recovery.external_clusters(spec.get("externalClusters"), {source, old_source}, external)
        for item in dropped:
            if item != external:
                result.notices.append(Notice(target.where, f"replaced spec.externalClusters entry "
                                                           f"'{item.get('name')}' rendered by the chart"))
        spec["externalClusters"] = clusters
    _replace(spec, "bootstrap", recovery.bootstrap(spec.get("bootstrap"), entry.recovery, source), target, result)
    result.notices.extend(pitr.notices(entry.recovery.pitr_target, target.where))


def _read_source(entry: Entry, side: Side, target: Target, result: ClusterEdit) -> dict:
    """The externalClusters entry, named after the serverName it reads (as TrueCharts does)."""
    name = meta.cluster_name(target.cluster)
    read = store.barman_object_store(side, name, "recovery")
    if entry.engine != "plugin":
        return {"name": side.server_name, "barmanObjectStore": read}
    result.before.append(plugin.object_store(read, target.cluster, "recovery", target.namespace, target.where))
    return plugin.recovery_source(side.server_name, plugin.object_store_name(name, "recovery"), side.server_name)


def _add_secrets(side: Side, label: str, target: Target, result: ClusterEdit) -> None:
    names = {s["metadata"]["name"] for s in result.before}
    for secret in secrets.side_secrets(side.credential, target.cluster, label, target.namespace):
        if secret["metadata"]["name"] not in names:
            result.before.append(secret)


def _replace(spec: dict, key: str, value: dict, target: Target, result: ClusterEdit) -> None:
    """Write spec[key]; say so when the chart had rendered something else there."""
    old = spec.get(key)
    if old not in (None, {}, value):
        result.notices.append(Notice(target.where, f"replaced spec.{key} rendered by the chart"))
    spec[key] = value


def _annotate(entry: Entry, lineage: Lineage, target: Target, result: ClusterEdit) -> None:
    """Record the lineage on the Cluster, so tools reading the live object know it."""
    b, r = lineage.backup, lineage.recovery
    values = {
        meta.LINEAGE_PREFIX + "backup-destination-path": b.destination_path if b else None,
        meta.LINEAGE_PREFIX + "backup-server-name": b.server_name if b else None,
        meta.LINEAGE_PREFIX + "recovery-destination-path": r.destination_path if r else None,
        meta.LINEAGE_PREFIX + "recovery-server-name": r.server_name if r else None,
    }
    if entry.skip_empty_wal_archive_check:
        values[meta.SKIP_WAL_CHECK] = "enabled"
        if not lineage.shared_folder:
            result.notices.append(Notice(target.where, "skipEmptyWalArchiveCheck disables CNPG's check that "
                                                       "the backup lineage is empty; it can lead to data loss"))
    meta.set_annotations(result.cluster, values)


def _patch(entry: Entry, cluster: dict) -> dict:
    """Apply the entry's RFC 6902 operations one by one, to name the one that fails."""
    import jsonpatch

    for i, operation in enumerate(entry.patches):
        try:
            cluster = jsonpatch.JsonPatch([operation]).apply(cluster)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError) as exc:
            origin = entry.where("patches")
            raise RenderError(f"{origin}[{i}]", f"patch cannot be applied: {exc}") from None
    return cluster
