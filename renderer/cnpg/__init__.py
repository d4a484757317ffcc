"""Building CNPG objects and fields. Each CNPG field we write is written in one module:
`store` (barmanObjectStore and credential references), `backup` (spec.backup),
`recovery` (bootstrap.recovery, externalClusters), `scheduled` (ScheduledBackup),
`secrets` (credentials Secret), `cluster` (the edit of one Cluster)."""

API_GROUP = "postgresql.cnpg.io"
API_VERSION = "postgresql.cnpg.io/v1"


def is_cluster(obj) -> bool:
    return (isinstance(obj, dict) and obj.get("kind") == "Cluster"
            and str(obj.get("apiVersion", "")).startswith(API_GROUP + "/"))
