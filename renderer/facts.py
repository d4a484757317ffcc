"""Facts: what the object stores and the live Clusters said, gathered once by the edge
(`renderer.gather`) for exactly the sides the plans name, and read by the pure stages
(`renderer.resolve`, `renderer.judge`). None means "not given", never "empty".

The store is read as revision series: the lineages of one serverName base under one
destinationPath, numbered as `renderer.lineage` names them (`<base>` is revision "",
`<base>-r<N>` is N). Other names in the store are listed but never chosen."""

from __future__ import annotations

from collections.abc import Mapping

from renderer.errors import RenderError
from renderer.find import Found
from renderer.lineage import Plan, norm
from renderer.live import LiveCluster, Scheduled
from renderer.objectstore import StoreState
from renderer.records import record

NO_FACTS = ("pass --check-store (reads the object store) and, if the Cluster is running, "
            "--live FILE or --live-kubectl (keeps its lineage)")


@record(frozen=True)
class Facts:
    """Store and live state for one render."""

    live: tuple[LiveCluster, ...] | None = None
    stores: Mapping[str, StoreState] | None = None  # by destinationPath without a trailing '/'
    allow_lineage_change: bool = False
    scheduled: tuple[Scheduled, ...] | None = None  # live ScheduledBackups (verify only)

    def live_cluster(self, cluster: Found) -> LiveCluster | None:
        if self.live is None:
            return None
        if cluster.namespace is None:
            raise RenderError(cluster.where, "has no namespace, so it cannot be matched with the live Clusters: "
                                             "pass --namespace")
        return next((c for c in self.live if (c.namespace, c.name) == (cluster.namespace, cluster.name)), None)

    def live_named(self, namespace: str | None, name: str) -> LiveCluster | None:
        """A running Cluster by namespace and name (another than the one rendered)."""
        return next((c for c in self.live or () if (c.namespace, c.name) == (namespace, name)), None)

    def restored_system(self, plan: Plan) -> tuple[int | None, str]:
        """The PostgreSQL system a recovery restores, and what says so:
        `recovery.systemID`, else the `status.systemID` of the Cluster the data was
        written by (`recovery.from`), when the live state shows it still running."""
        pinned = plan.entry.recovery.system_id
        if pinned is not None:
            return int(pinned), "recovery.systemID"
        old = plan.previous
        if old is None or plan.entry.recovery.from_ is None:
            return None, ""
        live = self.live_named(old.namespace, old.cluster)
        return (int(live.system_id), f"the status.systemID of {old.id}") if live and live.system_id else (None, "")

    def live_scheduled(self, cluster: Found) -> tuple[Scheduled, ...] | None:
        """The live ScheduledBackups of `cluster`; None when they were not read."""
        if self.scheduled is None:
            return None
        return tuple(s for s in self.scheduled if (s.namespace, s.cluster) == (cluster.namespace, cluster.name))

    def store(self, destination_path: str) -> StoreState | None:
        return None if self.stores is None else self.stores.get(norm(destination_path))
