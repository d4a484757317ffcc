"""`barmanObjectStore`: the same shape for the write side (spec.backup) and the read
side (externalClusters). serverName is always written out: its defaults differ between
the two sides and between in-tree and plugin (cnpg-upstream.md §3.1)."""

from __future__ import annotations

from renderer.cnpg.secrets import s3_credentials
from renderer.lineage import Side


def barman_object_store(side: Side, secret: str) -> dict:
    store = {"destinationPath": side.destination_path}
    if side.credential.url:
        store["endpointURL"] = side.credential.url
    store["serverName"] = side.server_name
    store["s3Credentials"] = s3_credentials(side.credential, secret)
    return store
