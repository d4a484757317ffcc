"""`bootstrap.recovery.recoveryTarget`: how far a recovery replays (PITR).

The overlay's `pitrTarget` was checked against CNPG's rules when it was read
(`overlay.checks.check_pitr`); this maps it, field by field."""

from __future__ import annotations

from renderer.errors import Notice
from renderer.overlay.model import PitrTarget


def recovery_target(pitr: PitrTarget | None) -> dict | None:
    if pitr is None:
        return None
    target = {"targetTime": pitr.time, "targetLSN": pitr.lsn, "targetName": pitr.name, "targetXID": pitr.xid,
              "targetImmediate": True if pitr.immediate else None, "backupID": pitr.backup_id,
              "exclusive": pitr.exclusive, "targetTLI": pitr.tli}
    return {k: v for k, v in target.items() if v is not None} or None


def notices(pitr: PitrTarget | None, where: str) -> list[Notice]:
    """A time without a zone is UTC to CNPG, whatever the user's clock says."""
    if pitr is None or pitr.time is None:
        return []
    from renderer.cnpg.rules import has_zone

    if has_zone(pitr.time):
        return []
    return [Notice(where, f"recovery target time '{pitr.time}' has no zone: CNPG reads it as UTC "
                          f"(write e.g. '{pitr.time}+00' to say so, and silence this)")]
