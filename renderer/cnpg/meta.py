"""The names CNPG and we use on objects, defined once, and the metadata of the
objects we add and the annotations we leave on Clusters.

Added objects wear their Cluster's labels (so selectors and `helm.sh/chart` filters
find them), its namespace, and Helm 4's filename annotation (so Helm files them with
their Cluster instead of under generated-by-postrender-N.yaml)."""

from __future__ import annotations

from renderer.yamlcodec import mapping_at

API_GROUP = "postgresql.cnpg.io"  # Cluster, ScheduledBackup, Backup
API_VERSION = f"{API_GROUP}/v1"
PLUGIN_API_GROUP = "barmancloud.cnpg.io"  # the barman-cloud plugin's ObjectStore
PLUGIN_API_VERSION = f"{PLUGIN_API_GROUP}/v1"
PLUGIN_NAME = "barman-cloud.cloudnative-pg.io"  # spec.plugins[].name of the barman-cloud plugin
LINEAGE_PREFIX = "cnpg-render.io/"  # our annotations
GENERATED_FOR = f"{LINEAGE_PREFIX}generated-for"
HELM4_FILENAME = "postrenderer.helm.sh/postrender-filename"
CLUSTER_LABEL = "cnpg.io/cluster"
SKIP_WAL_CHECK = "cnpg.io/skipEmptyWalArchiveCheck"


def cluster_name(cluster: dict) -> str:
    return str(mapping_at(cluster, "metadata").get("name") or "")


def companion_metadata(cluster: dict, name: str, namespace: str | None,
                       labels: dict | None = None, annotations: dict | None = None) -> dict:
    """metadata for an object generated for `cluster`."""
    meta = cluster.get("metadata") or {}
    cluster_annotations = meta.get("annotations") or {}
    out: dict = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out["labels"] = {**(meta.get("labels") or {}), CLUSTER_LABEL: cluster_name(cluster), **(labels or {})}
    out["annotations"] = {GENERATED_FOR: cluster_name(cluster), **(annotations or {})}
    if HELM4_FILENAME in cluster_annotations:
        out["annotations"][HELM4_FILENAME] = cluster_annotations[HELM4_FILENAME]
    return out


def generated_for(obj) -> str | None:
    """The Cluster an object was generated for on an earlier pass, if any."""
    if not isinstance(obj, dict):
        return None
    value = mapping_at(obj, "metadata", "annotations").get(GENERATED_FOR)
    return str(value) if value is not None else None


def set_annotations(cluster: dict, values: dict[str, str | None]) -> None:
    """Set (or, for None, remove) annotations on a Cluster we own a copy of."""
    meta = cluster.setdefault("metadata", {})
    annotations = meta.get("annotations") or {}
    for key, value in values.items():
        if value is None:
            annotations.pop(key, None)
        else:
            annotations[key] = value
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
