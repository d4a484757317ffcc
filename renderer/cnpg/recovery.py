"""`spec.bootstrap.recovery` and the `externalClusters` entry it reads from."""

from __future__ import annotations

from renderer.cnpg import pitr
from renderer.overlay.model import Recovery

# Fields of the chart's bootstrap that describe the application database, not how it
# is created: they carry over from initdb (or an earlier recovery) to our recovery.
_CARRIED = ("database", "owner", "secret")


def bootstrap(existing: dict | None, recovery: Recovery, reads: dict) -> dict:
    """The whole `spec.bootstrap`: exactly one method, the chart's initdb gone. `reads`
    are the read-side engines' keys (`source`, `volumeSnapshots`)."""
    carried: dict = {}
    for method in ("initdb", "recovery", "pg_basebackup"):
        block = (existing or {}).get(method) or {}
        for key in _CARRIED:
            if key in block and key not in carried:
                carried[key] = block[key]
    # The webhook wants database and owner together; CNPG's default owner is the database.
    if "database" in carried and "owner" not in carried:
        carried["owner"] = carried["database"]
    if "owner" in carried and "database" not in carried:
        carried["database"] = carried["owner"]
    spec = {**carried, **reads}
    if recovery.method == "backup":
        spec["backup"] = {"name": recovery.backup_name}
    target = pitr.recovery_target(recovery.pitr_target)
    if target:
        spec["recoveryTarget"] = target
    return {"recovery": spec}


def external_clusters(existing: list | None, replaced: set[str], entry: dict) -> tuple[list, list[dict]]:
    """The list with our entry in place of any entry named in `replaced` (the old
    source and our own name); other entries stay. Returns the list and what was dropped."""
    kept, dropped, placed = [], [], False
    for item in existing or []:
        if isinstance(item, dict) and item.get("name") in replaced:
            dropped.append(item)
            if not placed:
                kept.append(entry)
                placed = True
        else:
            kept.append(item)
    if not placed:
        kept.append(entry)
    return kept, dropped
