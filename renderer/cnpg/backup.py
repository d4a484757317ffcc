"""`spec.backup`: where and how the Cluster archives WAL and base backups."""

from __future__ import annotations

from renderer.overlay.model import Backups


def _compression(backups: Backups, jobs: int | None = None) -> dict:
    """wal/data settings; compression and encryption are left out rather than written
    as "" (the CRD enums reject the empty string)."""
    out: dict = {}
    if backups.compression:
        out["compression"] = backups.compression
    if backups.encryption:
        out["encryption"] = backups.encryption
    if jobs is not None:
        out["jobs"] = jobs
    return out


def spec_backup(backups: Backups, store: dict) -> dict:
    store = dict(store)
    wal = _compression(backups)
    if wal:
        store["wal"] = wal
    store["data"] = _compression(backups, backups.jobs)
    spec: dict = {"barmanObjectStore": store, "retentionPolicy": backups.retention_policy}
    if backups.target:
        spec["target"] = backups.target
    return spec
