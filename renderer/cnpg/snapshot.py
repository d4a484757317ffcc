"""The volume-snapshot engine: base backups as CSI VolumeSnapshots of the Cluster's
volumes (cnpg-upstream.md §2.1; CNPG's "Backup on volume snapshots" appendix). It
writes `spec.backup.volumeSnapshot` on the write side and
`spec.bootstrap.recovery.volumeSnapshots` on the read side, and adds no object: the
VolumeSnapshotClass is the cluster's, and CNPG takes the snapshots. It has no
object-store lineage; WAL, when archived, goes through the object-store engine beside it
(the Plan names both), and a snapshot recovery replays it from there when
`recovery.credentials` names the archive."""

from __future__ import annotations

from renderer.cnpg.edit import ClusterEdit
from renderer.cnpg.engine import Engine
from renderer.errors import RenderError
from renderer.lineage import Plan
from renderer.overlay.model import SNAPSHOT_METHOD, OnlineConfiguration, VolumeSnapshot, VolumeSnapshots

SNAPSHOT_GROUP = "snapshot.storage.k8s.io"


def online_configuration(config: OnlineConfiguration | None) -> dict | None:
    if config is None:
        return None
    out = {"immediateCheckpoint": config.immediate_checkpoint, "waitForArchive": config.wait_for_archive}
    return {k: v for k, v in out.items() if v is not None}


def _configuration(config: VolumeSnapshot) -> dict:
    """spec.backup.volumeSnapshot: what the overlay sets, CNPG's defaults for the rest."""
    out = {"className": config.class_name, "walClassName": config.wal_class_name,
           "tablespaceClassName": config.tablespace_class_name or None, "online": config.online,
           "onlineConfiguration": online_configuration(config.online_configuration),
           "snapshotOwnerReference": config.snapshot_owner_reference,
           "labels": config.labels or None, "annotations": config.annotations or None}
    return {k: v for k, v in out.items() if v is not None}


def _archive(plan: Plan, edit: ClusterEdit) -> None:
    config = plan.entry.backups.volume_snapshot
    assert config is not None  # this engine writes only when backups.volumeSnapshot is set (Plan.writers)
    edit.backup_field(plan, "volumeSnapshot", _configuration(config))


def _snapshots(plan: Plan) -> VolumeSnapshots:
    snapshots = plan.entry.recovery.volume_snapshots
    assert snapshots is not None  # checked at load: method volumeSnapshot requires them (overlay.checks)
    return snapshots


def _reference(name: str) -> dict:
    return {"name": name, "kind": "VolumeSnapshot", "apiGroup": SNAPSHOT_GROUP}


def _check_volumes(plan: Plan, edit: ClusterEdit) -> None:
    """Each volume the Cluster has is restored from its own snapshot: a Cluster with a
    WAL volume needs the WAL snapshot beside PGDATA's (CNPG's recovery docs; the webhook
    refuses a WAL snapshot without one), and a tablespace snapshot needs its tablespace."""
    snapshots, spec = _snapshots(plan), edit.spec
    if bool(snapshots.wal_storage) != ("walStorage" in spec):
        has = "has" if "walStorage" in spec else "has no"
        raise RenderError(snapshots.where("wal_storage"), f"Cluster {plan.cluster.id} {has} spec.walStorage: "
                                                          "give walStorage exactly when it has a WAL volume")
    tablespaces = {t.get("name") for t in spec.get("tablespaces") or [] if isinstance(t, dict)}
    for name in snapshots.tablespaces:
        if name not in tablespaces:
            raise RenderError(snapshots.where("tablespaces"), f"'{name}' is not a tablespace of Cluster "
                                                              f"{plan.cluster.id} (spec.tablespaces)")


def _restore(plan: Plan, edit: ClusterEdit) -> dict:
    _check_volumes(plan, edit)
    snapshots = _snapshots(plan)
    out: dict = {"storage": _reference(snapshots.storage)}
    if snapshots.wal_storage:
        out["walStorage"] = _reference(snapshots.wal_storage)
    if snapshots.tablespaces:
        out["tablespaceStorage"] = {name: _reference(snap) for name, snap in snapshots.tablespaces.items()}
    return {"volumeSnapshots": out}


ENGINE = Engine(
    name=SNAPSHOT_METHOD,
    writes=("spec.backup.volumeSnapshot", "spec.bootstrap.recovery.volumeSnapshots"),
    adds=(),
    method={"method": SNAPSHOT_METHOD},
    archive=_archive,
    restore=_restore,
)
