"""Building CNPG objects and fields. Each CNPG field we write is written in one module:
`store` (barmanObjectStore and credential references), `backup` (spec.backup),
`recovery` (bootstrap.recovery, externalClusters), `scheduled` (ScheduledBackup),
`secrets` (credentials Secret), `cluster` (the edit of one Cluster)."""

from renderer.cnpg.meta import API_GROUP, API_VERSION

__all__ = ["API_GROUP", "API_VERSION", "is_cluster"]


def is_cluster(obj) -> bool:
    return (isinstance(obj, dict) and obj.get("kind") == "Cluster"
            and str(obj.get("apiVersion", "")).startswith(API_GROUP + "/"))
