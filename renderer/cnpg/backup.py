"""The archive settings (wal/data) of the write-side store, and which spec.backup keys
belong to the in-tree store."""

from __future__ import annotations

from renderer.overlay.model import Backups

# What spec.backup holds for the in-tree engine only; the plugin keeps these elsewhere.
IN_TREE = ("barmanObjectStore", "retentionPolicy")


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


def archive_store(backups: Backups, store: dict) -> dict:
    """The write-side store with its wal and data settings."""
    store = dict(store)
    wal = _compression(backups)
    if wal:
        store["wal"] = wal
    store["data"] = _compression(backups, backups.jobs)
    return store
