"""Write: the edit of one Cluster from its settled Plan — its backup and recovery
fields, the lineage it records, and the objects that go with it. Write-only: every
decision (serverNames, paths, revisions, verdicts, which engines write each side) was
made before; this runs the Plan's engines (`renderer.cnpg.engine`) and writes what is
common to all of them. Pure: the Cluster dict in, a new one and companions out."""

from __future__ import annotations

from renderer.cnpg import meta, pitr, recovery, scheduled
from renderer.cnpg.edit import ClusterEdit
from renderer.cnpg.engine import engine
from renderer.errors import Notice, RenderError
from renderer.lineage import Plan
from renderer.overlay.model import Entry
from renderer.yamlcodec import MAX_EXPANSION, copy_value, mapping_at, values_in

__all__ = ["ClusterEdit", "write"]


def write(plan: Plan) -> ClusterEdit:
    """The Cluster of `plan` with its lineage written in, and its companions."""
    entry = plan.entry
    edit = ClusterEdit(copy_value(plan.cluster.obj))
    for name in plan.writers:
        engine(name).archive(plan, edit)
    if entry.backups.enabled:
        _add_requests(plan, edit)
    if entry.mode == "recovery":
        _add_recovery(plan, edit)
    _annotate(plan, edit)
    if entry.patches:
        edit.cluster = _patch(entry, edit.cluster)
    return edit


def _add_requests(plan: Plan, edit: ClusterEdit) -> None:
    """What every engine's write side shares: the instance that backs up, the schedules,
    the one-off Backups."""
    if plan.entry.backups.target:
        edit.backup_field(plan, "target", plan.entry.backups.target)
    edit.after.extend(scheduled.scheduled_backups(plan))
    edit.after.extend(scheduled.manual_backups(plan))
    notice = scheduled.hibernation_notice(plan)
    if notice is not None:
        edit.notices.append(notice)
    if plan.entry.backups.alerts.enabled:
        from renderer.cnpg import alerts  # opt-in: the schedule arithmetic stays off the plain render

        rule, notices = alerts.prometheus_rule(plan)
        edit.after.extend([rule] if rule else [])
        edit.notices.extend(notices)


def _add_recovery(plan: Plan, edit: ClusterEdit) -> None:
    reads: dict = {}
    for name in plan.readers:
        reads.update(engine(name).restore(plan, edit))
    spec, r = edit.spec, plan.entry.recovery
    edit.replace(plan.cluster.where, "spec.bootstrap", spec, "bootstrap",
                 recovery.bootstrap(spec.get("bootstrap"), r, reads))
    edit.notices.extend(pitr.notices(r.pitr_target, plan.cluster.where))


def _annotate(plan: Plan, edit: ClusterEdit) -> None:
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
            edit.notices.append(Notice(plan.cluster.where, "skipEmptyWalArchiveCheck disables CNPG's check that "
                                                           "the backup lineage is empty; it can lead to data loss"))
    elif meta.SKIP_WAL_CHECK in mapping_at(edit.cluster, "metadata", "annotations"):
        values[meta.SKIP_WAL_CHECK] = None
        edit.notices.append(Notice(plan.cluster.where, f"removed {meta.SKIP_WAL_CHECK} rendered by the chart "
                                   "(TrueCharts sets it so backup and recovery can share one lineage): the backup "
                                   "and recovery lineages differ here, so CNPG's empty-archive check stays on; "
                                   f"cnpg.{entry.name}.skipEmptyWalArchiveCheck: true keeps it (dangerous)"))
    meta.set_annotations(edit.cluster, values)


def _patch(entry: Entry, cluster: dict) -> dict:
    """Apply the entry's RFC 6902 operations one by one, to name the one that fails.
    In place: `cluster` is the edit's own copy, and a copy per operation would cost the
    Cluster's size times the operations. `copy` is the one operation that can grow the
    Cluster beyond the overlay's text (copies of copies double it each time), so what
    copies add is held to the codec's alias limit."""
    import jsonpatch

    added = 0
    for i, operation in enumerate(entry.patches):
        added += _copied(cluster, operation)
        if added > MAX_EXPANSION:
            raise RenderError(f"{entry.where('patches')}[{i}]", f"copy operations add more than {MAX_EXPANSION:,} "
                                                                "values to the Cluster: write the values out")
        try:
            cluster = jsonpatch.JsonPatch([operation]).apply(cluster, in_place=True)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError) as exc:
            origin = entry.where("patches")
            raise RenderError(f"{origin}[{i}]", _patch_problem(operation, exc)) from None
    return cluster


def _copied(cluster: dict, operation: object) -> int:
    """The values a `copy` operation would add (0 for any other, or one that fails)."""
    import jsonpatch

    if not isinstance(operation, dict) or operation.get("op") != "copy" or not isinstance(operation.get("from"), str):
        return 0
    try:
        source = jsonpatch.JsonPointer(operation["from"]).resolve(cluster)
    except (jsonpatch.JsonPointerException, KeyError, TypeError):
        return 0  # the operation fails, and says so
    return values_in(source, MAX_EXPANSION)


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
