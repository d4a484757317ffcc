"""CNPG's in-tree Barman Cloud engine (`engine: barmanObjectStore`; deprecated since
CNPG 1.26, removed in 1.31): the store in `spec.backup.barmanObjectStore` with
`retentionPolicy` beside it, the recovery source in `externalClusters[].barmanObjectStore`,
Backups with CNPG's default method. It adds only the credentials Secrets."""

from __future__ import annotations

from renderer.cnpg import migration, store
from renderer.cnpg.edit import ClusterEdit
from renderer.cnpg.engine import Engine
from renderer.cnpg.rules import archivers
from renderer.errors import RenderError
from renderer.lineage import Plan


def _archive(plan: Plan, edit: ClusterEdit) -> None:
    if archiving := archivers(edit.spec.get("plugins")):
        raise RenderError(plan.cluster.where, f"the chart archives WAL with plugin '{archiving[0]}', which CNPG "
                                              "refuses beside an in-tree barmanObjectStore: set engine: plugin")
    edit.backup_field(plan, "barmanObjectStore", store.write_side(plan, edit))
    edit.backup_field(plan, "retentionPolicy", migration.retention(plan))


def _restore(plan: Plan, edit: ClusterEdit) -> dict:
    """The externalClusters entry, named after the serverName it reads (as TrueCharts does)."""
    side = store.recovery_side(plan)
    return store.use_source(plan, edit, {"name": side.server_name, "barmanObjectStore": store.read_side(plan, edit)})


ENGINE = Engine(
    name="barmanObjectStore",
    writes=("spec.backup.barmanObjectStore", "spec.backup.retentionPolicy", "spec.externalClusters[].barmanObjectStore",
            "spec.bootstrap.recovery.source"),
    adds=("Secret",),
    method={},  # CNPG's default method, left out as TrueCharts leaves it out
    archive=_archive,
    restore=_restore,
)
