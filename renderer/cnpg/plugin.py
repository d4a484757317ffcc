"""The barman-cloud plugin engine: the in-tree store, spread over four objects
(cnpg-upstream.md §3.5):

- an `ObjectStore` per side, holding the store minus `serverName` (a CEL rule forbids
  it there) and, on the write side, the retention policy;
- `Cluster.spec.plugins[barman-cloud]`, the WAL archiver, naming the write-side store;
- `externalClusters[].plugin`, naming the read-side store;
- ScheduledBackups with `method: plugin`.

serverName is always written into the plugin parameters: on the read side the plugin
otherwise reads the folder of the *restoring* Cluster, not of the source (§3.1)."""

from __future__ import annotations

from renderer.cnpg import backup, migration, store
from renderer.cnpg.edit import ClusterEdit
from renderer.cnpg.engine import Engine
from renderer.cnpg.meta import PLUGIN_API_VERSION as API_VERSION
from renderer.cnpg.meta import PLUGIN_NAME, cluster_name, companion_metadata, set_annotations
from renderer.cnpg.rules import archivers
from renderer.errors import RenderError
from renderer.lineage import Plan

# What a ScheduledBackup needs to back up through the plugin (the Backup webhook
# rejects method: plugin without pluginConfiguration).
SCHEDULED = {"method": "plugin", "pluginConfiguration": {"name": PLUGIN_NAME}}


def object_store_name(cluster: str, side: str) -> str:
    """`<cluster>-<side>-objectstore`. No generated Secret ends so, and `object_store`
    refuses a store that references a Secret of its own name (plugin-barman-cloud#502)."""
    return f"{cluster}-{side}-objectstore"


def object_store(store: dict, cluster: dict, side: str, namespace: str | None, where: str,
                 retention: str | None = None) -> dict:
    """The ObjectStore for one side: a normal manifest (not a Helm hook, which Helm 3
    does not pass to post-renderers), emitted before its Cluster."""
    name = object_store_name(cluster_name(cluster), side)
    configuration = {k: v for k, v in store.items() if k != "serverName"}
    if name in _secret_names(configuration):
        raise RenderError(where, f"the {side} store references a Secret named '{name}', the name of its "
                                 "ObjectStore: the plugin confuses the two (plugin-barman-cloud#502); "
                                 "rename the Secret")
    spec: dict = {"configuration": configuration}
    if retention:
        spec["retentionPolicy"] = retention
    return {"apiVersion": API_VERSION, "kind": "ObjectStore",
            "metadata": companion_metadata(cluster, name, namespace), "spec": spec}


def _secret_names(value) -> set[str]:
    """Names of every SecretKeySelector ({name, key}) inside a store."""
    if isinstance(value, dict):
        own = {value["name"]} if set(value) == {"name", "key"} else set()
        return own.union(*(_secret_names(v) for v in value.values()))
    return set()


def _parameters(store_name: str, server_name: str) -> dict:
    return {"barmanObjectName": store_name, "serverName": server_name}


def with_archiver(plugins: list | None, store_name: str, server_name: str, where: str) -> list:
    """spec.plugins with our archiver in place of any barman-cloud entry; other plugins
    stay, but another enabled WAL archiver is refused (CNPG allows one)."""
    others = [name for name in archivers(plugins) if name != PLUGIN_NAME]
    if others:
        raise RenderError(where, f"spec.plugins already has the WAL archiver '{others[0]}'; CNPG allows one, "
                                 "so the barman-cloud plugin cannot archive")
    ours = {"name": PLUGIN_NAME, "isWALArchiver": True, "parameters": _parameters(store_name, server_name)}
    out, placed = [], False
    for item in plugins or []:
        if isinstance(item, dict) and item.get("name") == PLUGIN_NAME:
            out += [] if placed else [ours]
            placed = True
        else:
            out.append(item)
    return out if placed else [*out, ours]


def recovery_source(name: str, store_name: str, server_name: str) -> dict:
    """The externalClusters entry the recovery reads from."""
    return {"name": name, "plugin": {"name": PLUGIN_NAME, "parameters": _parameters(store_name, server_name)}}


def _archive(plan: Plan, edit: ClusterEdit) -> None:
    """The write side in one edit: the ObjectStore, the archiver entry, and spec.backup
    without the in-tree store (migrating it when the chart rendered one: the webhook
    refuses a store beside an archiver plugin)."""
    side, target, entry = store.backup_side(plan), plan.cluster, plan.entry
    archive = store.write_side(plan, edit)
    if migration.chart_store(target.obj):
        edit.notices.append(migration.notice(target.obj, entry.backups, side, target.where))
        set_annotations(edit.cluster, {migration.MIGRATED: migration.record(target.obj)})
    edit.before.append(object_store(archive, target.obj, "backup", target.namespace, target.where,
                                    migration.retention(plan)))
    store_name = object_store_name(cluster_name(target.obj), "backup")
    edit.spec["plugins"] = with_archiver(edit.spec.get("plugins"), store_name, side.server_name, target.where)
    for key in backup.IN_TREE:
        edit.backup_field(plan, key, None)
    edit.scheduled_method = SCHEDULED


def _restore(plan: Plan, edit: ClusterEdit) -> dict:
    """The read side: its ObjectStore and the externalClusters entry naming it."""
    side, target = store.recovery_side(plan), plan.cluster
    read = store.read_side(plan, edit)
    edit.before.append(object_store(read, target.obj, "recovery", target.namespace, target.where))
    store_name = object_store_name(cluster_name(target.obj), "recovery")
    return store.use_source(plan, edit, recovery_source(side.server_name, store_name, side.server_name))


ENGINE = Engine(
    name="plugin",
    writes=("spec.plugins[]", "spec.externalClusters[].plugin",  # its entry; other plugins stay
            "spec.bootstrap.recovery.source"),
    adds=("ObjectStore", "Secret"),
    method=SCHEDULED,
    archive=_archive,
    restore=_restore,
)
