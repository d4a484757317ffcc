"""Rules that tie fields together (a reference must exist, a credential's provider
rules, one recovery target, a schedule must be CNPG's 6-field cron); checked once, at load time, so
the rest of the code can trust the model."""

from __future__ import annotations

from renderer import providers
from renderer.errors import RenderError
from renderer.overlay.model import (
    SNAPSHOT_METHOD,
    Entry,
    Overlay,
    PitrTarget,
    Recovery,
    ScheduledBackup,
)


def check(overlay: Overlay) -> None:
    for credential in overlay.credentials.values():
        providers.check(credential)
    for entry in overlay.cnpg.values():
        _check_entry(entry, overlay)


def _check_entry(entry: Entry, overlay: Overlay) -> None:
    if entry.backups.alerts.enabled and not entry.backups.enabled:
        raise RenderError(entry.backups.alerts.where("enabled"), "alerts watch the archive backups.enabled writes: "
                                                                "enable backups too, or leave alerts out")
    if entry.backups.enabled:
        if entry.backups.credentials or entry.backups.volume_snapshot is None:
            _check_reference(entry.backups.credentials, entry.backups.where("credentials"), overlay,
                             "backups.enabled needs backups.credentials (or backups.volumeSnapshot)")
        elif entry.backups.retention_policy:
            raise RenderError(entry.backups.where("retention_policy"), "prunes an object store, and these backups "
                                                                      "are VolumeSnapshots alone (CNPG prunes no "
                                                                      "snapshot): leave it out")
        for schedule in entry.backups.scheduled_backups:
            check_schedule(schedule)
        _check_unique_schedules(entry)
        _check_backup_requests(entry)
    if entry.mode == "recovery":
        recovery = entry.recovery
        if recovery.method == "object_store" or recovery.credentials:
            _check_reference(recovery.credentials, recovery.where("credentials"), overlay,
                             "recovery from object_store needs recovery.credentials")
        if recovery.method == "backup" and not recovery.backup_name:
            raise RenderError(recovery.where("backup_name"), "is required with method: backup")
        _check_snapshot_recovery(recovery)
        if recovery.pitr_target is not None:
            check_pitr(recovery.pitr_target)


def _check_reference(name: str | None, where, overlay: Overlay, missing: str) -> None:
    if not name:
        raise RenderError(where, missing)
    if name not in overlay.credentials:
        known = ", ".join(sorted(overlay.credentials)) or "none"
        raise RenderError(where, f"credentials '{name}' is not defined under 'credentials' (known: {known})")


def _check_unique_schedules(entry: Entry) -> None:
    for kind, requests in (("scheduled", entry.backups.scheduled_backups), ("manual", entry.backups.manual_backups)):
        seen: set[str] = set()
        for request in requests:
            if request.name in seen:
                raise RenderError(request.where("name"), f"duplicate {kind} backup name '{request.name}'")
            seen.add(request.name)


def _check_backup_requests(entry: Entry) -> None:
    """Each Backup and ScheduledBackup can be taken by the engine it names: snapshots
    need backups.volumeSnapshot, an object-store method the entry's engine and store;
    `online*` means nothing but to snapshots (CNPG's webhooks refuse it elsewhere)."""
    for request in [*entry.backups.manual_backups, *entry.backups.scheduled_backups]:
        method = entry.method(request)
        if method == SNAPSHOT_METHOD and entry.backups.volume_snapshot is None:
            raise RenderError(request.where("method"), "volumeSnapshot backups need backups.volumeSnapshot "
                                                       "(at least {} for CNPG's defaults)")
        if method != SNAPSHOT_METHOD and method != entry.engine:
            raise RenderError(request.where("method"), f"is {method}, but the entry's engine is {entry.engine}: "
                                                       f"write method: {entry.engine}, volumeSnapshot, or leave it out")
        if method != SNAPSHOT_METHOD and not entry.backups.credentials:
            raise RenderError(request.where("method"), f"{method} backups need backups.credentials (an object store)")
        for key in ("online", "online_configuration"):
            if getattr(request, key) is not None and method != SNAPSHOT_METHOD:
                raise RenderError(request.where(key), f"applies to volumeSnapshot backups only (this one is {method})")


def _check_snapshot_recovery(recovery: Recovery) -> None:
    """recovery.volumeSnapshots goes with method: volumeSnapshot; CNPG picks no backup
    for a snapshot restore (no backupID) and replays no WAL it was not given."""
    snapshots = recovery.method == SNAPSHOT_METHOD
    if snapshots and recovery.volume_snapshots is None:
        raise RenderError(recovery.where("volume_snapshots"), "is required with method: volumeSnapshot "
                                                              "(storage: <VolumeSnapshot of PGDATA>)")
    if not snapshots and recovery.volume_snapshots is not None:
        raise RenderError(recovery.where("volume_snapshots"), "applies to method: volumeSnapshot only")
    pitr = recovery.pitr_target
    if not snapshots or pitr is None:
        return
    if pitr.backup_id:
        raise RenderError(pitr.where("backup_id"), "cannot be set when recovering from VolumeSnapshots "
                                                   "(CNPG refuses it: the snapshots are the base backup)")
    if not recovery.credentials:
        raise RenderError(pitr.where(), "a recovery target needs WAL to replay past the snapshots: set "
                                        "recovery.credentials to the WAL archive")


def check_pitr(pitr: PitrTarget) -> None:
    """CNPG's webhook rules: one target at most; name, xid and immediate say nothing
    about which base backup to start from, so they need backupID."""
    targets = [key for key, on in (("time", pitr.time is not None), ("lsn", pitr.lsn is not None),
                                   ("name", pitr.name is not None), ("xid", pitr.xid is not None),
                                   ("immediate", pitr.immediate)) if on]
    if len(targets) > 1:
        raise RenderError(pitr.where(targets[1]), f"recovery targets are mutually exclusive "
                                                  f"(got {' and '.join(targets)})")
    if targets and targets[0] in ("name", "xid", "immediate") and not pitr.backup_id:
        raise RenderError(pitr.where("backup_id"), f"is required with {targets[0]} (CNPG cannot pick the "
                                                   "base backup for it); find it with barman-cloud-backup-list")


def check_schedule(schedule: ScheduledBackup) -> None:
    """CNPG parses schedules with robfig/cron *with seconds first*: a Unix 5-field
    schedule is silently shifted (`0 0 * * *` runs every hour), so it is refused with
    its 6-field form; anything else must parse as the operator parses it."""
    from renderer.cnpg import rules

    problem = rules.schedule(schedule.schedule.strip())
    if problem:
        raise RenderError(schedule.where("schedule"), problem)
