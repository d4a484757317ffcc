"""`barmanObjectStore`: the same shape for the write side (spec.backup) and the read
side (externalClusters), and, minus serverName, for the plugin's ObjectStore.
serverName is always written out: its defaults differ between the two sides and
between in-tree and plugin (cnpg-upstream.md §3.1)."""

from __future__ import annotations

from renderer import providers
from renderer.cnpg import secrets
from renderer.lineage import Side


def barman_object_store(side: Side, cluster: str, label: str) -> dict:
    """The store for one side (`label`: backup or recovery) of Cluster `cluster`."""
    cred = side.credential
    store = {"destinationPath": side.destination_path}
    if cred.url:
        store["endpointURL"] = cred.url
    ca = secrets.endpoint_ca(cred, cluster, label)
    if ca:
        store["endpointCA"] = ca
    store["serverName"] = side.server_name
    store.update(providers.credentials(cred, secrets.secret_name(cluster, label, cred)))
    return store
