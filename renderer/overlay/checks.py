"""Rules that tie fields together (a reference must exist, a credential's provider
rules, one recovery target, a schedule must be CNPG's 6-field cron); checked once, at load time, so
the rest of the code can trust the model."""

from __future__ import annotations

from renderer import providers
from renderer.errors import RenderError
from renderer.overlay.model import Entry, Overlay, PitrTarget, ScheduledBackup


def check(overlay: Overlay) -> None:
    for credential in overlay.credentials.values():
        providers.check(credential)
    for entry in overlay.cnpg.values():
        _check_entry(entry, overlay)


def _check_entry(entry: Entry, overlay: Overlay) -> None:
    if entry.backups.enabled:
        _check_reference(entry.backups.credentials, entry.backups.where("credentials"), overlay,
                         "backups.enabled needs backups.credentials")
        for schedule in entry.backups.scheduled_backups:
            check_schedule(schedule)
        _check_unique_schedules(entry)
    if entry.mode == "recovery":
        recovery = entry.recovery
        if recovery.method == "object_store":
            _check_reference(recovery.credentials, recovery.where("credentials"), overlay,
                             "recovery from object_store needs recovery.credentials")
        elif not recovery.backup_name:
            raise RenderError(recovery.where("backup_name"), "is required with method: backup")
        if recovery.pitr_target is not None:
            check_pitr(recovery.pitr_target)


def _check_reference(name: str | None, where, overlay: Overlay, missing: str) -> None:
    if not name:
        raise RenderError(where, missing)
    if name not in overlay.credentials:
        known = ", ".join(sorted(overlay.credentials)) or "none"
        raise RenderError(where, f"credentials '{name}' is not defined under 'credentials' (known: {known})")


def _check_unique_schedules(entry: Entry) -> None:
    seen: set[str] = set()
    for schedule in entry.backups.scheduled_backups:
        if schedule.name in seen:
            raise RenderError(schedule.where("name"), f"duplicate scheduled backup name '{schedule.name}'")
        seen.add(schedule.name)


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
