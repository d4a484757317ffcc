"""The edit of one Cluster while it is written: the Cluster copy, the objects that go
before and after it, the notices; and the few ways an engine may change it, so every
change to a field the chart had rendered is said the same way."""

from __future__ import annotations

from renderer.cnpg import secrets
from renderer.errors import Notice
from renderer.lineage import Plan, Side
from renderer.records import field, record
from renderer.yamlcodec import mapping_at

# The containers an edit writes into. A chart may render one null (`annotations:` with
# nothing under it, an empty `with` block): the API server reads null as absent, and so
# does the edit.
_CONTAINERS = ("metadata.annotations", "metadata.labels", "metadata", "spec.backup", "spec.bootstrap",
               "spec.externalClusters", "spec.plugins", "spec")


@record
class ClusterEdit:
    """One Cluster after the edit, with the objects that go before and after it."""

    cluster: dict
    before: list[dict] = field(default_factory=list)  # Secrets, ObjectStores: must exist before the Cluster
    after: list[dict] = field(default_factory=list)  # ScheduledBackups, Backups
    notices: list[Notice] = field(default_factory=list)
    # Plugin engine: what the chart's own ScheduledBackups for this Cluster need to
    # back up through the plugin (see migration.scheduled_backup).
    scheduled_method: dict | None = None

    def __post_init__(self) -> None:
        for path in _CONTAINERS:  # innermost first, so a parent left empty is still a mapping
            *parents, key = path.split(".")
            parent = mapping_at(self.cluster, *parents)
            if key in parent and parent[key] is None:
                del parent[key]

    @property
    def spec(self) -> dict:
        return self.cluster.setdefault("spec", {})

    def replace(self, where: str, path: str, container: dict, key: str, value) -> None:
        """Write `container[key]` (None removes it); say so when the chart had rendered
        something else there."""
        old = container.get(key)
        if old not in (None, {}, value) and value is not None:
            self.notices.append(Notice(where, f"replaced {path} rendered by the chart"))
        if value is None:
            container.pop(key, None)
        else:
            container[key] = value

    def backup_field(self, plan: Plan, key: str, value) -> None:
        """One key of spec.backup; each engine owns its keys and leaves the others, and
        a spec.backup left empty goes."""
        backup = self.spec.get("backup") or {}
        self.replace(plan.cluster.where, f"spec.backup.{key}", backup, key, value)
        if backup:
            self.spec["backup"] = backup
        else:
            self.spec.pop("backup", None)

    def add_secrets(self, plan: Plan, side: Side, label: str) -> None:
        """The Secrets a store side needs, each once (both sides may name one credential)."""
        target, cred = plan.cluster, side.credential
        assert cred is not None  # the chart's own store (no credential) needs none of ours: never asked
        names = {s["metadata"]["name"] for s in self.before}
        for secret in secrets.side_secrets(cred, target.obj, label, target.namespace):
            if secret["metadata"]["name"] not in names:
                self.before.append(secret)
