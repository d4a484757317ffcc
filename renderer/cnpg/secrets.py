"""The credentials Secret and the references to it.

TrueCharts' names and keys are kept (`<cluster>-provider-<side>-s3-creds`,
`ACCESS_KEY_ID` / `ACCESS_SECRET_KEY` / `REGION`) so an existing release adopts the
same Secret. The Secret goes right before its Cluster: CNPG does not reload a Secret
created after the Cluster (cloudnative-pg#4914)."""

from __future__ import annotations

from renderer.cnpg.meta import companion_metadata
from renderer.overlay.model import Credential

ACCESS_KEY_ID = "ACCESS_KEY_ID"
ACCESS_SECRET_KEY = "ACCESS_SECRET_KEY"
REGION = "REGION"


def secret_name(cluster_name: str, side: str) -> str:
    return f"{cluster_name}-provider-{side}-s3-creds"


def s3_credentials(cred: Credential, generated_secret: str) -> dict:
    """`s3Credentials` for a store: IAM role, an existing Secret, or the generated one."""
    if cred.inherit_from_iam_role:
        return {"inheritFromIAMRole": True}
    existing = cred.existing_secret
    if existing is not None:
        out = {"accessKeyId": {"name": existing.name, "key": existing.access_key_id_key},
               "secretAccessKey": {"name": existing.name, "key": existing.secret_access_key_key}}
        if existing.region_key:
            out["region"] = {"name": existing.name, "key": existing.region_key}
        return out
    out = {"accessKeyId": {"name": generated_secret, "key": ACCESS_KEY_ID},
           "secretAccessKey": {"name": generated_secret, "key": ACCESS_SECRET_KEY}}
    if cred.region:
        out["region"] = {"name": generated_secret, "key": REGION}
    return out


def credentials_secret(cred: Credential, cluster: dict, name: str, namespace: str | None) -> dict | None:
    """The Secret holding inline keys; None when the credential needs none."""
    if cred.access_key is None:
        return None
    data = {ACCESS_KEY_ID: cred.access_key.reveal(), ACCESS_SECRET_KEY: cred.secret_key.reveal()}
    if cred.region:
        data[REGION] = cred.region
    metadata = companion_metadata(cluster, name, namespace, labels={"cnpg.io/reload": "true"})
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque", "stringData": data}
