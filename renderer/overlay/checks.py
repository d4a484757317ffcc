"""Rules that tie fields together (a reference must exist, one kind of key per
credential, a schedule must be CNPG's 6-field cron); checked once, at load time, so
the rest of the code can trust the model."""

from __future__ import annotations

import re

from renderer.errors import RenderError
from renderer.overlay.model import Credential, Entry, Overlay, ScheduledBackup

_DESCRIPTORS = re.compile(r"^@(yearly|annually|monthly|weekly|daily|midnight|hourly|every\s+\S+)$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-]+$")


def check(overlay: Overlay) -> None:
    for credential in overlay.credentials.values():
        _check_credential(credential)
    for entry in overlay.cnpg.values():
        _check_entry(entry, overlay)


def _check_credential(cred: Credential) -> None:
    inline = cred.access_key is not None or cred.secret_key is not None
    ways = [name for name, used in (("accessKey/secretKey", inline),
                                     ("existingSecret", cred.existing_secret is not None),
                                     ("inheritFromIAMRole", cred.inherit_from_iam_role)) if used]
    if len(ways) != 1:
        what = "needs one of accessKey+secretKey, existingSecret or inheritFromIAMRole"
        raise RenderError(cred.where(), what + (f" (got {' and '.join(ways)})" if ways else ""))
    if inline and (cred.access_key is None or cred.secret_key is None):
        missing = "secretKey" if cred.secret_key is None else "accessKey"
        raise RenderError(cred.where(), f"{missing} is required with inline keys")


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


def check_schedule(schedule: ScheduledBackup) -> None:
    """CNPG parses schedules with robfig/cron *with seconds first*: a Unix 5-field
    schedule is silently shifted (`0 0 * * *` runs every hour), so refuse it."""
    text = schedule.schedule.strip()
    if _DESCRIPTORS.match(text):
        return
    fields = text.split()
    where = schedule.where("schedule")
    if len(fields) == 5:
        raise RenderError(where, f"'{text}' has 5 fields, but CNPG's cron has seconds first "
                                 f"(CNPG would run it every hour); write '0 {text}'")
    if len(fields) != 6 or not all(_CRON_FIELD.match(f) for f in fields):
        raise RenderError(where, f"'{text}' is not a 6-field CNPG cron (sec min hour dom month dow) "
                                 "or a descriptor such as @daily")
