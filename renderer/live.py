"""Read the live write lineage of CNPG Clusters from `kubectl get -o yaml` output.

Why: the renderer decides a Cluster's next lineage (``serverName = base-r<revision>``).
Comparing that with what the running Cluster writes to today tells whether a render
would move the archive (expected after a restore) or silently point a running
Cluster at another folder (a mistake worth flagging). `verify` also reads what the
operator reports: the Cluster's ``ContinuousArchiving`` condition and backup times,
and each ScheduledBackup's schedule and status.

The parse is pure (text in, LiveCluster / Scheduled out); :func:`read_kubectl` and
:func:`read_kubectl_scheduled` only add the subprocess call.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import overload

from renderer.cnpg.meta import API_GROUP, PLUGIN_API_GROUP, PLUGIN_NAME
from renderer.yamlcodec import mapping_at

CLUSTER_KIND = (API_GROUP, "Cluster")
SCHEDULED_KIND = (API_GROUP, "ScheduledBackup")
ARCHIVING = "ContinuousArchiving"  # the condition the instance sets after each archive attempt
OBJECTSTORE_KIND = (PLUGIN_API_GROUP, "ObjectStore")
KUBECTL_TIMEOUT = 60


class LiveReadError(Exception):
    """kubectl is missing or failed, or its output is not Kubernetes YAML (one line)."""


@dataclass(frozen=True)
class Condition:
    """One entry of a status' ``conditions`` (a metav1.Condition)."""

    type: str
    status: str  # "True", "False" or "Unknown"
    reason: str = ""
    message: str = ""
    since: datetime | None = None  # lastTransitionTime


@dataclass(frozen=True)
class ClusterStatus:
    """What the operator reports about a Cluster's archive. The backup times are
    in-tree only: CNPG deprecated them and the barman-cloud plugin does not set them."""

    archiving: Condition | None = None  # ContinuousArchiving
    last_successful_backup: datetime | None = None
    last_failed_backup: datetime | None = None
    first_recoverability_point: datetime | None = None
    phase: str | None = None


@dataclass(frozen=True)
class Scheduled:
    """A ScheduledBackup, rendered or live: its schedule, and (live only) when the
    operator last checked it, last created a Backup from it and will next."""

    namespace: str | None
    name: str
    cluster: str
    schedule: str
    immediate: bool = False
    suspend: bool = False
    last_check: datetime | None = None
    last_schedule: datetime | None = None
    next_schedule: datetime | None = None


@dataclass(frozen=True)
class LiveCluster:
    """Where a running Cluster writes backups and WAL.

    ``archiver`` is ``"barmanObjectStore"`` (in-tree), ``"plugin"`` (barman-cloud
    plugin) or None (no object-store backups). For the plugin the destinationPath
    lives in the ObjectStore named ``barman_object_name``; it is None when that
    ObjectStore was not part of the input.
    """

    namespace: str
    name: str
    backup_destination_path: str | None
    backup_server_name: str | None
    annotations: dict[str, str] = field(default_factory=dict)
    archiver: str | None = None
    barman_object_name: str | None = None
    # The lineage it was bootstrapped from (spec.bootstrap.recovery.source), if any.
    recovery_destination_path: str | None = None
    recovery_server_name: str | None = None
    system_id: str | None = None  # status.systemID: the PostgreSQL system it runs
    status: ClusterStatus = ClusterStatus()


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def _kind_of(obj: dict) -> tuple[str, str]:
    return _group(str(obj.get("apiVersion", ""))), str(obj.get("kind", ""))


def iter_objects(text: str) -> Iterable[dict]:
    """Every object in a YAML stream, with ``kind: List`` documents flattened.

    Accepts what ``kubectl get … -o yaml`` prints (a v1 List), a single object, or a
    multi-document stream of either.
    """
    from renderer import yamlcodec

    try:
        docs = yamlcodec.load_all(text)
    except yamlcodec.YamlError as exc:
        where = f" at line {exc.line}" if exc.line else ""
        raise LiveReadError(f"live input{where}: {exc.problem}") from None
    for doc in yamlcodec.iter_objects(docs):
        if not isinstance(doc, dict):
            raise LiveReadError(f"live input holds a {type(doc).__name__}, expected Kubernetes objects")
        yield doc


@overload
def _meta(obj: dict, namespace: str = "default") -> tuple[str, str]: ...
@overload
def _meta(obj: dict, namespace: str | None) -> tuple[str | None, str]: ...
def _meta(obj: dict, namespace: str | None = "default") -> tuple[str | None, str]:
    """(namespace, name); a live object without a namespace is in ``default``."""
    meta = obj.get("metadata") or {}
    return (str(meta["namespace"]) if meta.get("namespace") else namespace), str(meta.get("name") or "")


def _time(value: object) -> datetime | None:
    """An RFC 3339 time as the API server writes it; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _condition(status: dict, kind: str) -> Condition | None:
    for item in status.get("conditions") or []:
        if isinstance(item, dict) and item.get("type") == kind:
            return Condition(kind, str(item.get("status") or "Unknown"), str(item.get("reason") or ""),
                             str(item.get("message") or ""), _time(item.get("lastTransitionTime")))
    return None


def cluster_status(status: dict) -> ClusterStatus:
    """The archive-related part of a Cluster's ``status``."""
    return ClusterStatus(_condition(status, ARCHIVING), _time(status.get("lastSuccessfulBackup")),
                         _time(status.get("lastFailedBackup")), _time(status.get("firstRecoverabilityPoint")),
                         str(status["phase"]) if status.get("phase") else None)


def scheduled_from_object(obj: dict, namespace: str | None = "default") -> Scheduled:
    """A ScheduledBackup object as `verify` reads it (``namespace``: where one without
    a namespace lives)."""
    spec = mapping_at(obj.get("spec"))
    status = mapping_at(obj.get("status"))
    cluster = mapping_at(spec.get("cluster"))
    return Scheduled(*_meta(obj, namespace), str(cluster.get("name") or ""), str(spec.get("schedule") or ""),
                     spec.get("immediate") is True, spec.get("suspend") is True, _time(status.get("lastCheckTime")),
                     _time(status.get("lastScheduleTime")), _time(status.get("nextScheduleTime")))


def object_store_paths(objects: Iterable[dict]) -> dict[tuple[str, str], str]:
    """(namespace, name) -> spec.configuration.destinationPath of each ObjectStore."""
    paths: dict[tuple[str, str], str] = {}
    for obj in objects:
        if _kind_of(obj) == OBJECTSTORE_KIND:
            dest = mapping_at(obj, "spec", "configuration").get("destinationPath")
            if dest:
                paths[_meta(obj)] = str(dest)
    return paths


def _plugin_entry(spec: dict) -> dict | None:
    """The enabled barman-cloud plugin entry (``enabled`` defaults to true), if any."""
    for entry in spec.get("plugins") or []:
        if isinstance(entry, dict) and entry.get("name") == PLUGIN_NAME and entry.get("enabled", True) is not False:
            return entry
    return None


def recovery_source(obj: dict, stores: dict[tuple[str, str], str]) -> tuple[str | None, str | None]:
    """(destinationPath, serverName) of the externalCluster a Cluster was bootstrapped
    from, or (None, None). serverName defaults as the operator's do (§3.1): the
    externalCluster's name in-tree, the restoring Cluster's own name with the plugin."""
    namespace, name = _meta(obj)
    spec = obj.get("spec") or {}
    source = ((spec.get("bootstrap") or {}).get("recovery") or {}).get("source")
    if not source:
        return None, None
    for ext in spec.get("externalClusters") or []:
        if not isinstance(ext, dict) or ext.get("name") != source:
            continue
        if isinstance(ext.get("barmanObjectStore"), dict):
            store = ext["barmanObjectStore"]
            return store.get("destinationPath"), store.get("serverName") or source
        if isinstance(ext.get("plugin"), dict):
            params = ext["plugin"].get("parameters") or {}
            store_name = params.get("barmanObjectName")
            return (stores.get((namespace, store_name)) if store_name else None), params.get("serverName") or name
    return None, None


def cluster_from_object(obj: dict, stores: dict[tuple[str, str], str]) -> LiveCluster:
    """The write lineage of one Cluster.

    In-tree ``spec.backup.barmanObjectStore`` wins when present: it is the WAL archiver
    (the webhook rejects it next to an archiver plugin). serverName defaults to the
    Cluster name on both paths, as the operator and the plugin do.
    """
    namespace, name = _meta(obj)
    spec = obj.get("spec") or {}
    annotations = {str(k): str(v) for k, v in mapping_at(obj, "metadata", "annotations").items()}
    recovery_path, recovery_server = recovery_source(obj, stores)
    status = mapping_at(obj.get("status"))
    system_id = str(status["systemID"]) if status.get("systemID") else None
    operator_status = cluster_status(status)
    archiver = dest = server = store_name = None
    store = (spec.get("backup") or {}).get("barmanObjectStore")
    if isinstance(store, dict):
        archiver, dest, server = "barmanObjectStore", store.get("destinationPath"), store.get("serverName") or name
    elif (plugin := _plugin_entry(spec)) is not None:
        params = plugin.get("parameters") or {}
        store_name = params.get("barmanObjectName")
        archiver, server = "plugin", params.get("serverName") or name
        dest = stores.get((namespace, store_name)) if store_name else None
    return LiveCluster(namespace, name, dest, server, annotations, archiver=archiver, barman_object_name=store_name,
                       recovery_destination_path=recovery_path, recovery_server_name=recovery_server,
                       system_id=system_id, status=operator_status)


def parse_live(text: str) -> list[LiveCluster]:
    """All Clusters in ``text`` (kubectl YAML), plugin lineages resolved against any
    ObjectStores in the same input. Other kinds are ignored."""
    objects = list(iter_objects(text))
    stores = object_store_paths(objects)
    return [cluster_from_object(o, stores) for o in objects if _kind_of(o) == CLUSTER_KIND]


def parse_scheduled(text: str) -> list[Scheduled]:
    """All ScheduledBackups in ``text`` (kubectl YAML). Other kinds are ignored."""
    return [scheduled_from_object(o) for o in iter_objects(text) if _kind_of(o) == SCHEDULED_KIND]


def _kubectl_get(resource: str, context: str | None, kubectl: str) -> str:
    """``kubectl get <resource> -A -o yaml``; raises LiveReadError with one line."""
    cmd = [kubectl, "get", resource, "-A", "-o", "yaml"]
    if context:
        cmd += ["--context", context]
    return _run_kubectl(cmd, resource)


def _run_kubectl(cmd: list[str], resource: str) -> str:
    kubectl = cmd[0]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT, check=False)
    except FileNotFoundError:
        raise LiveReadError(f"kubectl not found ({kubectl!r}): install it or put it on PATH") from None
    except subprocess.TimeoutExpired:
        raise LiveReadError(f"kubectl get {resource} timed out after {KUBECTL_TIMEOUT}s") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        detail = lines[-1] if lines else "no error output"
        raise LiveReadError(f"kubectl get {resource} failed (rc={proc.returncode}): {detail}")
    return proc.stdout


def read_kubectl(context: str | None = None, kubectl: str = "kubectl") -> list[LiveCluster]:
    """Read every Cluster from the current (or given) kube context.

    ObjectStores are fetched only when some Cluster uses the plugin, so clusters
    without the plugin CRD installed need just the one call.
    """
    text = _kubectl_get("clusters.postgresql.cnpg.io", context, kubectl)
    clusters = parse_live(text)
    if any(c.archiver == "plugin" and c.barman_object_name for c in clusters):
        stores_text = _kubectl_get("objectstores.barmancloud.cnpg.io", context, kubectl)
        clusters = parse_live(text + "\n---\n" + stores_text)
    return clusters


def read_kubectl_scheduled(context: str | None = None, kubectl: str = "kubectl") -> list[Scheduled]:
    """Every ScheduledBackup of the current (or given) kube context (`verify` only)."""
    return parse_scheduled(_kubectl_get("scheduledbackups.postgresql.cnpg.io", context, kubectl))


def read_secret_key(namespace: str | None, name: str, key: str, context: str | None = None,
                    kubectl: str = "kubectl") -> str:
    """One key of a Secret, read with kubectl (the store check's endpointCA); the value
    is a CA certificate, never a credential."""
    import base64

    resource = f"secret {namespace}/{name}" if namespace else f"secret {name}"
    escaped = key.replace(".", "\\.")  # jsonpath: a dot inside a key name is escaped
    cmd = [kubectl, "get", "secret", name, "-o", f"jsonpath={{.data.{escaped}}}"]
    cmd += ["-n", namespace] if namespace else []
    cmd += ["--context", context] if context else []
    text = _run_kubectl(cmd, resource)
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise LiveReadError(f"kubectl get {resource}: key {key} is missing or not a PEM text") from None
