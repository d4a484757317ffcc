"""Azure Blob Storage for `renderer.objectstore`, with azure-storage-blob as barman-cloud's
``azure-blob-storage`` provider uses it (barman ``cloud_providers/azure_blob_storage.py``,
``_get_azure_credential``):

- ``https://<account>.blob.core.windows.net/<container>/<path>``: the account URL is the
  path's host; any other URL (Azurite's ``http://127.0.0.1:10000/<account>/<container>/<path>``,
  ``azure://…``) is "emulated storage": the container is the second path segment and the
  endpoint comes from the connection string, which barman then requires;
- credentials: a connection string (``AZURE_STORAGE_CONNECTION_STRING``), else the SAS
  token or the storage key for the account in the URL, else ``inheritFromAzureAD``
  (``--credential managed-identity``) or ``useDefaultAzureCredentials`` (``--credential
  default``) from the environment of whoever runs the render;
- CNPG's ``endpointCA`` is handed to the SDK as barman gets it (``REQUESTS_CA_BUNDLE``).
The overlay's ``url`` (endpointURL) plays no part: barman-cloud ignores it for Azure.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

from renderer.objectstore import Location, Refusal, ca_problem, prefix_of, safe_endpoint
from renderer.records import record
from renderer.sensitive import Sensitive
from renderer.stores import ca_description, masked

BLOB_DOMAIN = "blob.core.windows.net"  # barman's AZURE_BLOB_STORAGE_DOMAIN
# barman-cloud's --credential values, as CNPG passes them (inheritFromAzureAD, useDefaultAzureCredentials)
IDENTITIES = {"managed-identity": "ManagedIdentityCredential", "default": "DefaultAzureCredential"}


@record(frozen=True)
class AzureAccess:
    """How to reach Azure Blob Storage: exactly one of a connection string, a storage
    key, a SAS token or an ``identity`` (a key of IDENTITIES). Plain strings given for
    the secrets are wrapped in Sensitive. ``ca_bundle``/``ca_source`` as for S3."""

    connection_string: Sensitive | None = None
    storage_key: Sensitive | None = None
    sas_token: Sensitive | None = None
    identity: str | None = None
    ca_bundle: str | None = None
    ca_source: str | None = None

    def __post_init__(self) -> None:
        masked(self, "connection_string", "storage_key", "sas_token")

    def locate(self, destination_path: str) -> Location:
        """The container and prefix barman-cloud reads, and the account URL it reaches
        (None: the connection string's endpoint)."""
        parts = urlsplit(destination_path)
        segments = parts.path.split("/")
        if parts.netloc.endswith(BLOB_DOMAIN):
            container, rest = segments[1] if len(segments) > 1 else "", segments[2:]
            account_url = None if self.connection_string else f"https://{parts.netloc}"
        elif self.connection_string is None:
            raise Refusal(f"outside *.{BLOB_DOMAIN} barman-cloud reads a destinationPath (emulated storage, "
                          "http://<host>:<port>/<account>/<container>/…) only with a connectionString")
        else:
            container, rest, account_url = segments[2] if len(segments) > 2 else "", segments[3:], None
        if not container:
            raise Refusal("names no container")
        return Location(container, prefix_of(rest), account_url)

    def open(self, location: Location) -> AzureReader:
        problem = ca_problem(self.ca_bundle, self.ca_source)
        if problem:
            raise Refusal(problem)
        return AzureReader(self, location.bucket, _client(self, location))


def access(credential, ca: tuple[str, str] | None = None) -> AzureAccess:
    """The overlay's azure credential as barman gets it from CNPG's environment;
    ``ca`` is (PEM file, where it came from)."""
    identity = ("managed-identity" if credential.inherit_from_azure_ad else
                "default" if credential.use_default_azure_credentials else None)
    bundle, source = ca if ca else (None, None)
    return AzureAccess(credential.connection_string, credential.storage_key, credential.storage_sas_token, identity,
                       bundle, source)


def _client(access: AzureAccess, location: Location):
    """A ContainerClient with short timeouts and one retry after half a second, so an
    unreachable endpoint fails fast; TLS verified against ``access.ca_bundle`` alone
    when one is given."""
    from azure.storage.blob import ContainerClient, LinearRetry

    # backoff: the SDK annotates int, but waits random.uniform(backoff ± jitter): half a second works
    retry = LinearRetry(backoff=0.5, random_jitter_range=0, retry_total=1)  # type: ignore[arg-type]
    options: dict = {"connection_timeout": 5, "read_timeout": 20,  # the SDK's own retry waits 15 s first
                     "retry_policy": retry, **({"connection_verify": access.ca_bundle} if access.ca_bundle else {})}
    if access.connection_string is not None:
        try:
            return ContainerClient.from_connection_string(access.connection_string.reveal(), location.bucket, **options)
        except ValueError:  # its message may quote the string
            raise Refusal("the connectionString is malformed") from None
    assert location.account_url is not None  # locate() gives one whenever there is no connection string
    return ContainerClient(location.account_url, location.bucket, credential=_credential(access), **options)


def _credential(access: AzureAccess):
    """What barman hands ContainerClient: the SAS token or key as a string (the SDK
    tells them apart, the account name comes from the URL), or an azure-identity
    credential."""
    if access.identity is not None:
        import azure.identity

        return getattr(azure.identity, IDENTITIES[access.identity])()
    secret = access.sas_token or access.storage_key
    return secret.reveal() if secret is not None else None


class AzureReader:
    """One container through one ContainerClient."""

    def __init__(self, access: AzureAccess, container: str, client):
        self.access, self.container, self.client = access, container, client

    def prefixes(self, prefix: str) -> Iterator[str]:
        from azure.storage.blob import BlobPrefix

        yield from (item.name for item in self.client.walk_blobs(name_starts_with=prefix, delimiter="/")
                    if isinstance(item, BlobPrefix))

    def objects(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        yield from ((blob.name, blob.last_modified) for blob in self.client.list_blobs(name_starts_with=prefix))

    def read(self, key: str, length: int | None = None) -> bytes | None:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        ranged = {"offset": 0, "length": length} if length is not None else {}
        try:
            return self.client.download_blob(key, **ranged).readall()
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:  # a range on an empty blob: 416
            if exc.status_code == 416:
                return b""
            raise

    def reason(self, exc: Exception) -> str:
        """From status and error codes only: server messages are not echoed, and the
        endpoint is shown without its path or query (a SAS token lives there)."""
        from azure.core import exceptions as ax

        endpoint = safe_endpoint(self.client.url, "")
        code = getattr(exc, "error_code", None)
        code = getattr(code, "value", code) or getattr(exc, "status_code", None)  # StorageErrorCode is an enum
        if isinstance(exc, ax.ClientAuthenticationError) and exc.response is None:  # failed before any request
            if self.access.identity is None:
                return "the account key cannot sign requests (it is not base64)"
            return f"no Azure credentials: {IDENTITIES[self.access.identity]} found none in this environment"
        if isinstance(exc, ax.ResourceNotFoundError) and code == "ContainerNotFound":
            return f"container {self.container!r} does not exist"
        if isinstance(exc, ax.HttpResponseError) and exc.status_code in (401, 403):
            return f"access denied ({code})"
        if isinstance(exc, ax.HttpResponseError):
            return f"Azure error {code}"
        if isinstance(exc, ax.ServiceRequestError) and _is_tls(exc):
            return f"TLS verification failed for {endpoint} (CA from {ca_description(self.access)})"
        if isinstance(exc, (ax.ServiceRequestError, ax.ServiceResponseError)):
            return f"endpoint unreachable ({endpoint})"
        raise exc


def _is_tls(exc: BaseException) -> bool:
    """Whether a connection failed on certificate verification (requests' SSLError
    somewhere in the chain azure-core wraps)."""
    import ssl

    from requests.exceptions import SSLError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (SSLError, ssl.SSLError)) or isinstance(getattr(seen, "inner_exception", None), SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
