"""The Secrets a store needs, and their names: the credentials Secret and, for an
inline `endpointCA`, the CA bundle.

Names keep TrueCharts' pattern, with the provider in it (`<cluster>-provider-<side>-
<type>-creds`, `…-ca`), so an existing TrueCharts release adopts the same S3 Secret.
Key names are the CNPG cluster chart's (see `renderer.providers`). The Secrets go
right before their Cluster: CNPG does not reload a Secret created after the Cluster
(cloudnative-pg#4914)."""

from __future__ import annotations

from renderer import providers
from renderer.cnpg.meta import cluster_name, companion_metadata
from renderer.overlay.model import Credential

CA_KEY = "ca.crt"


def secret_name(cluster: str, side: str, cred: Credential) -> str:
    return f"{cluster}-provider-{side}-{cred.type}-creds"


def ca_secret_name(cluster: str, side: str, cred: Credential) -> str:
    return f"{cluster}-provider-{side}-{cred.type}-ca"


def endpoint_ca(cred: Credential, cluster: str, side: str) -> dict | None:
    """The `endpointCA` selector: the generated CA Secret, or the one the user named."""
    ca = cred.endpoint_ca
    if ca is None:
        return None
    if ca.pem is not None:
        return {"name": ca_secret_name(cluster, side, cred), "key": CA_KEY}
    return {"name": ca.name, "key": ca.key}


def side_secrets(cred: Credential, cluster: dict, side: str, namespace: str | None) -> list[dict]:
    """The Secrets generated for one side; none when the credential needs none."""
    name, out = cluster_name(cluster), []
    data = providers.secret_data(cred)
    if data:
        out.append(_secret(cluster, secret_name(name, side, cred), namespace, data))
    if cred.endpoint_ca is not None and cred.endpoint_ca.pem is not None:
        out.append(_secret(cluster, ca_secret_name(name, side, cred), namespace, {CA_KEY: cred.endpoint_ca.pem}))
    return out


def _secret(cluster: dict, name: str, namespace: str | None, data: dict[str, str]) -> dict:
    metadata = companion_metadata(cluster, name, namespace, labels={"cnpg.io/reload": "true"})
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque", "stringData": data}
