"""ScheduledBackup objects, `<cluster>-sched-backup-<name>` as TrueCharts names them."""

from __future__ import annotations

from renderer.cnpg import API_VERSION
from renderer.cnpg.meta import cluster_name, companion_metadata
from renderer.overlay.model import Backups


def scheduled_backups(backups: Backups, cluster: dict, namespace: str | None, method: dict) -> list[dict]:
    """One per overlay entry; `method` holds the engine's method fields ({} for in-tree,
    CNPG's default)."""
    name = cluster_name(cluster)
    out = []
    for entry in backups.scheduled_backups:
        spec = {"schedule": entry.schedule, "backupOwnerReference": entry.backup_owner_reference,
                "suspend": entry.suspend, "immediate": entry.immediate, "cluster": {"name": name}}
        if entry.target:
            spec["target"] = entry.target
        spec.update(method)
        metadata = companion_metadata(cluster, f"{name}-sched-backup-{entry.name}", namespace,
                                      labels=backups.labels, annotations=backups.annotations)
        out.append({"apiVersion": API_VERSION, "kind": "ScheduledBackup", "metadata": metadata, "spec": spec})
    return out
