"""ScheduledBackup and Backup objects, named as TrueCharts names them:
`<cluster>-sched-backup-<name>` and `<cluster>-backup-<name>`.

Each says the engine it backs up with (that engine's method fields). Metadata merges
as TrueCharts merges it: the object's own labels and annotations over
`backups.labels`/`annotations`, over the Cluster's labels. A hibernated Cluster
(`cnpg.io/hibernation: "on"`) gets its ScheduledBackups suspended, as TrueCharts does,
and its Backups held back: CNPG fails a Backup of a hibernated Cluster for good
("cannot backup a hibernated cluster"), and a Backup, once applied, is never taken
again — held back, it is taken when the Cluster wakes."""

from __future__ import annotations

from renderer.cnpg import API_VERSION
from renderer.cnpg.engine import engine
from renderer.cnpg.meta import cluster_name, companion_metadata
from renderer.cnpg.snapshot import online_configuration
from renderer.errors import Notice
from renderer.lineage import Plan
from renderer.overlay.model import ManualBackup


def _object(plan: Plan, kind: str, name: str, request: ManualBackup, spec: dict) -> dict:
    backups, target = plan.entry.backups, plan.cluster
    spec.update(engine(plan.entry.method(request)).method)
    extra = {"online": request.online, "onlineConfiguration": online_configuration(request.online_configuration)}
    spec.update({k: v for k, v in extra.items() if v is not None})
    metadata = companion_metadata(target.obj, name, target.namespace, labels={**backups.labels, **request.labels},
                                  annotations={**backups.annotations, **request.annotations})
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def scheduled_backups(plan: Plan) -> list[dict]:
    """One per `scheduledBackups` entry, suspended while the Cluster is hibernated."""
    name, out = cluster_name(plan.cluster.obj), []
    for entry in plan.entry.backups.scheduled_backups:
        spec = {"schedule": entry.schedule, "backupOwnerReference": entry.backup_owner_reference,
                "suspend": entry.suspend or plan.cluster.hibernated, "immediate": entry.immediate,
                "cluster": {"name": name}}
        if entry.target:
            spec["target"] = entry.target
        out.append(_object(plan, "ScheduledBackup", f"{name}-sched-backup-{entry.name}", entry, spec))
    return out


def manual_backups(plan: Plan) -> list[dict]:
    """One per `manualBackups` entry; none while the Cluster is hibernated."""
    name = cluster_name(plan.cluster.obj)
    if plan.cluster.hibernated:
        return []
    return [_object(plan, "Backup", f"{name}-backup-{entry.name}", entry, {"cluster": {"name": name}})
            for entry in plan.entry.backups.manual_backups]


def hibernation_notice(plan: Plan) -> Notice | None:
    """What hibernation did to the objects above, when it did anything."""
    backups = plan.entry.backups
    if not (plan.cluster.hibernated and backups.enabled and (backups.scheduled_backups or backups.manual_backups)):
        return None
    held = [e.name for e in backups.manual_backups]
    return Notice(plan.cluster.where, "the Cluster is hibernated (cnpg.io/hibernation: on), and CNPG backs up no "
                                      "hibernated Cluster: its ScheduledBackups are suspended"
                  + (f", its Backups ({', '.join(held)}) held back until it wakes" if held else ""))
