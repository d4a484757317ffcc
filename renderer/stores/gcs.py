"""Google Cloud Storage for `renderer.objectstore`, with google-cloud-storage as
barman-cloud's ``google-cloud-storage`` provider uses it (barman
``cloud_providers/google_cloud_storage.py``):

- ``gs://<bucket>/<path>`` or ``https://console.cloud.google.com/storage/browser/<bucket>/<path>``;
- credentials: ``applicationCredentials`` (the JSON CNPG writes to a file named by
  ``GOOGLE_APPLICATION_CREDENTIALS``), or with ``gkeEnvironment`` the default credentials
  of whoever runs the render (Application Default Credentials, the GKE metadata server);
- the endpoint: the overlay's ``url`` when given, else the SDK's own rule, which is
  barman's: ``STORAGE_EMULATOR_HOST`` from the environment (an emulator, read without
  credentials), else Google's. barman-cloud ignores endpointURL for Google and reaches
  an emulator only through that variable in the pod's environment.
CNPG hands barman no CA for Google (endpointCA is for S3 and Azure), and neither does
the check: the SDK's default trust store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

from renderer.objectstore import Location, Refusal, prefix_of, safe_endpoint
from renderer.records import record
from renderer.sensitive import Sensitive
from renderer.stores import masked

CONSOLE_URL = "https://console.cloud.google.com/storage/browser/"  # barman's BASE_URL
READ_ONLY = ("https://www.googleapis.com/auth/devstorage.read_only",)
TIMEOUT = (5, 20)  # connect, read (seconds)


@record(frozen=True)
class GcsAccess:
    """How to reach Google Cloud Storage: the service-account JSON of
    ``applicationCredentials`` (wrapped in Sensitive), or None for the default
    credentials; ``endpoint_url`` the overlay's ``url``."""

    credentials_json: Sensitive | None = None
    endpoint_url: str | None = None

    def __post_init__(self) -> None:
        masked(self, "credentials_json")

    def locate(self, destination_path: str) -> Location:
        parts = urlsplit(destination_path.replace(CONSOLE_URL, "gs://", 1))
        if parts.scheme != "gs" or not parts.netloc:
            raise Refusal(f"not a gs://bucket/prefix path (nor {CONSOLE_URL}bucket/prefix)")
        return Location(parts.netloc, prefix_of(parts.path.split("/")))

    def open(self, location: Location) -> GcsReader:
        from google.auth.exceptions import DefaultCredentialsError
        from google.cloud import storage

        options = {"api_endpoint": self.endpoint_url} if self.endpoint_url else None
        try:
            client = storage.Client(project=None, credentials=_credentials(self), client_options=options)
        except DefaultCredentialsError:
            raise Refusal("no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or run where "
                          "Application Default Credentials are (gkeEnvironment)") from None
        return GcsReader(location.bucket, client)


def access(credential, ca: tuple[str, str] | None = None) -> GcsAccess:
    """The overlay's google credential: applicationCredentials, or gkeEnvironment (the
    default chain). ``ca`` is not used: CNPG gives barman none for Google."""
    return GcsAccess(credential.application_credentials, credential.url)


def _credentials(access: GcsAccess):
    """The credentials of the JSON (a service-account key, or an authorized user's as
    gcloud writes them), or None: the SDK's default chain, anonymous against an
    emulator. Nothing of the JSON reaches a message."""
    if access.credentials_json is None:
        return None
    from google.oauth2 import credentials, service_account

    try:
        info = json.loads(access.credentials_json.reveal())
        if info.get("type") == "authorized_user":
            return credentials.Credentials.from_authorized_user_info(info, scopes=READ_ONLY)
        return service_account.Credentials.from_service_account_info(info, scopes=READ_ONLY)
    except (ValueError, AttributeError):
        raise Refusal("applicationCredentials is not a Google credentials JSON (a service account key)") from None


def _retry():
    """The SDK's retry rule within 3 s, where its default keeps retrying for 120 s: an
    unreachable endpoint fails fast, as with the other providers."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_delay(initial=0.2, maximum=1.0).with_timeout(3)


class GcsReader:
    """One bucket through one storage.Client."""

    def __init__(self, bucket: str, client):
        self.bucket, self.client = bucket, client

    def prefixes(self, prefix: str) -> Iterator[str]:
        listing = self.client.list_blobs(self.bucket, prefix=prefix, delimiter="/", timeout=TIMEOUT, retry=_retry())
        for _ in listing.pages:  # the prefixes are known once every page is read
            pass
        yield from sorted(listing.prefixes)

    def objects(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        for blob in self.client.list_blobs(self.bucket, prefix=prefix, timeout=TIMEOUT, retry=_retry()):
            yield blob.name, blob.updated

    def read(self, key: str, length: int | None = None) -> bytes | None:
        from google.api_core.exceptions import NotFound, RequestRangeNotSatisfiable

        ranged = {"start": 0, "end": length - 1} if length is not None else {}
        try:
            return self.client.bucket(self.bucket).blob(key).download_as_bytes(
                timeout=TIMEOUT, retry=_retry(), checksum=None, **ranged)
        except NotFound:
            return None
        except RequestRangeNotSatisfiable:  # a range of an empty object
            return b""

    def reason(self, exc: Exception) -> str:
        """From status codes and classes only: server messages are not echoed."""
        from google.api_core import exceptions as gx
        from google.auth import exceptions as ax
        from requests import exceptions as rx

        endpoint = safe_endpoint(self.client.api_endpoint, "")
        if isinstance(exc, gx.NotFound):
            return f"bucket {self.bucket!r} does not exist"
        if isinstance(exc, (gx.Forbidden, gx.Unauthorized)):
            return f"access denied ({exc.code})"
        if isinstance(exc, gx.GoogleAPICallError):
            return f"Google Cloud Storage error {exc.code}"
        if isinstance(exc, ax.GoogleAuthError):
            return f"no access token for the Google credentials ({type(exc).__name__})"
        if isinstance(exc, rx.SSLError):
            return f"TLS verification failed for {endpoint} (CA from the default trust store)"
        if isinstance(exc, (rx.ConnectionError, rx.Timeout, gx.RetryError)):
            return f"endpoint unreachable ({endpoint})"
        raise exc
