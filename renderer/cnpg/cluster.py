"""Write: the edit of one Cluster from its settled Plan — its backup and recovery
fields, the lineage it records, and the objects that go with it. Write-only: every
decision (serverNames, paths, revisions, verdicts) was made before; this turns the
Plan into fields. Pure: the Cluster dict in, a new one and companions out."""

from __future__ import annotations

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
from renderer.find import Found
from renderer.lineage import Plan, Side
from renderer.overlay.model import Entry
from renderer.records import field, record
from renderer.yamlcodec import copy_value


@record
class ClusterEdit:
    """One Cluster after the edit, with the objects that go before and after it."""

    cluster: dict
    before: list[dict] = field(default_factory=list)  # Secrets, ObjectStores: must exist before the Cluster
    after: list[dict] = field(default_factory=list)  # ScheduledBackups
    notices: list[Notice] = field(default_factory=list)
    # Plugin engine: what the chart's own ScheduledBackups for this Cluster need to
    # back up through the plugin (see migration.scheduled_backup).
    scheduled_method: dict | None = None


def write(plan: Plan) -> ClusterEdit:
    """The Cluster of `plan` with its lineage written in, and its companions."""
    entry, target = plan.entry, plan.cluster
    result = ClusterEdit(copy_value(target.obj))
    spec = result.cluster.setdefault("spec", {})
    if plan.backup:
        _add_backup(entry, plan.backup, target, spec, result)
    if entry.mode == "recovery":
        _add_recovery(entry, plan.recovery, target, spec, result)
    _annotate(plan, result)
    if entry.patches:
        result.cluster = _patch(entry, result.cluster)
    return result


def _add_backup(entry: Entry, side: Side, target: Found, spec: dict, result: ClusterEdit) -> None:
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
        result.after.extend(scheduled.scheduled_backups(entry.backups, target.obj, target.namespace, method))


def _write_store(entry: Entry, side: Side, target: Found, result: ClusterEdit) -> dict:
    """The write-side store: the overlay's, or the chart's carried over by a migration."""
    if side.credential is None:
        return migration.adopted_store(target.obj, side)
    _add_secrets(side, "backup", target, result)
    write = store.barman_object_store(side, meta.cluster_name(target.obj), "backup")
    return backup.archive_store(entry.backups, write)


def _add_archiver(entry: Entry, side: Side, archive: dict, target: Found, spec: dict, result: ClusterEdit) -> None:
    """Plugin engine, write side, in one edit: the ObjectStore, the archiver entry, and
    spec.backup without the in-tree store (migrating it when the chart rendered one)."""
    if migration.chart_store(target.obj):
        result.notices.append(migration.notice(target.obj, entry.backups, side, target.where))
        meta.set_annotations(result.cluster, {migration.MIGRATED: migration.record(target.obj)})
    retention = entry.backups.retention_policy if side.credential else migration.chart_retention(target.obj)
    result.before.append(plugin.object_store(archive, target.obj, "backup", target.namespace, target.where,
                                             retention))
    store_name = plugin.object_store_name(meta.cluster_name(target.obj), "backup")
    spec["plugins"] = plugin.with_archiver(spec.get("plugins"), store_name, side.server_name, target.where)
    rest = backup.without_in_tree(spec.get("backup"), entry.backups.target)
    if rest is None:
        spec.pop("backup", None)
    else:
        spec["backup"] = rest
    result.scheduled_method = plugin.SCHEDULED


def _add_recovery(entry: Entry, side: Side | None, target: Found, spec: dict, result: ClusterEdit) -> None:
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


def _read_source(entry: Entry, side: Side, target: Found, result: ClusterEdit) -> dict:
    """The externalClusters entry, named after the serverName it reads (as TrueCharts does)."""
    name = meta.cluster_name(target.obj)
    read = store.barman_object_store(side, name, "recovery")
    if entry.engine != "plugin":
        return {"name": side.server_name, "barmanObjectStore": read}
    result.before.append(plugin.object_store(read, target.obj, "recovery", target.namespace, target.where))
    return plugin.recovery_source(side.server_name, plugin.object_store_name(name, "recovery"), side.server_name)


def _add_secrets(side: Side, label: str, target: Found, result: ClusterEdit) -> None:
    names = {s["metadata"]["name"] for s in result.before}
    for secret in secrets.side_secrets(side.credential, target.obj, label, target.namespace):
        if secret["metadata"]["name"] not in names:
            result.before.append(secret)


def _replace(spec: dict, key: str, value: dict, target: Found, result: ClusterEdit) -> None:
    """Write spec[key]; say so when the chart had rendered something else there."""
    old = spec.get(key)
    if old not in (None, {}, value):
        result.notices.append(Notice(target.where, f"replaced spec.{key} rendered by the chart"))
    spec[key] = value


def _annotate(plan: Plan, result: ClusterEdit) -> None:
    """Record the lineage on the Cluster, so tools reading the live object know it."""
    entry, b, r = plan.entry, plan.backup, plan.recovery
    values = {
        meta.LINEAGE_PREFIX + "backup-destination-path": b.destination_path if b else None,
        meta.LINEAGE_PREFIX + "backup-server-name": b.server_name if b else None,
        meta.LINEAGE_PREFIX + "recovery-destination-path": r.destination_path if r else None,
        meta.LINEAGE_PREFIX + "recovery-server-name": r.server_name if r else None,
    }
    if entry.skip_empty_wal_archive_check:
        values[meta.SKIP_WAL_CHECK] = "enabled"
        if not plan.shared_folder:
            result.notices.append(Notice(plan.cluster.where, "skipEmptyWalArchiveCheck disables CNPG's check that "
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
            raise RenderError(f"{origin}[{i}]", _patch_problem(operation, exc)) from None
    return cluster


def _patch_problem(operation, exc: Exception) -> str:
    """Why an operation failed, in its own terms (op and path) and with what to write
    instead: jsonpatch's own text prints whole documents (the Cluster spec as a dict)."""
    import jsonpatch

    if not isinstance(operation, dict) or isinstance(exc, jsonpatch.InvalidJsonPatch):
        return ("is not an RFC 6902 operation: write {op: add|remove|replace|move|copy|test, path: /spec/..., "
                "value: ...}")
    op, path = operation.get("op"), operation.get("path")
    shown = f"{op} {path}"
    if isinstance(exc, jsonpatch.JsonPatchTestFailed):
        return f"{shown}: the Cluster holds another value there, so the test fails and the patch stops"
    if isinstance(path, str) and not path.startswith("/"):
        return f"{shown}: a path starts with '/', e.g. /spec/instances"
    return (f"{shown}: the path{' (or from)' if 'from' in operation else ''} does not exist in the Cluster as "
            "rendered: 'add' needs the parent to exist, 'remove' and 'replace' the member itself "
            "(see the Cluster with `cnpg-render diff`)")
