"""S3 (AWS, MinIO, Ceph, …) for `renderer.objectstore`, with boto3 as barman-cloud's
``aws-s3`` provider uses it: the endpoint, region and CA bundle the rendered store names,
keys inline or the default AWS chain of whoever runs the render."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

from renderer.objectstore import Location, Refusal, ca_problem, prefix_of, safe_endpoint
from renderer.records import record
from renderer.sensitive import Sensitive
from renderer.stores import ca_description, masked


@record(frozen=True)
class S3Access:
    """How to reach S3. Keys left None use boto3's default chain (env, profile, IRSA...).

    Plain strings given for the keys are wrapped in :class:`Sensitive`, so the repr of
    this object never shows them. ``ca_bundle`` is the path of a PEM file whose CAs are
    the only ones trusted for the endpoint, as CNPG's ``endpointCA`` makes them for
    barman-cloud (AWS_CA_BUNDLE); ``ca_source`` says where it came from, for messages
    ("endpointCA Secret minio-ca/ca.crt"). Without it, boto3's default trust store.
    """

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: Sensitive | None = None
    secret_access_key: Sensitive | None = None
    ca_bundle: str | None = None
    ca_source: str | None = None

    def __post_init__(self) -> None:
        masked(self, "access_key_id", "secret_access_key")

    def locate(self, destination_path: str) -> Location:
        """``s3://bucket/a/b/`` -> bucket ``bucket``, prefix ``a/b/``."""
        parts = urlsplit(destination_path)
        if parts.scheme != "s3" or not parts.netloc:
            raise Refusal("not an s3://bucket/prefix path")
        return Location(parts.netloc, prefix_of(parts.path.split("/")))

    def open(self, location: Location) -> S3Reader:
        problem = ca_problem(self.ca_bundle, self.ca_source)
        if problem:
            raise Refusal(problem)
        return S3Reader(self, location.bucket, _client(self))


def access(credential, ca: tuple[str, str] | None = None) -> S3Access:
    """The overlay's s3 credential: inline keys as they are; existingSecret and
    inheritFromIAMRole through the standard AWS chain (environment, profile, instance
    role) of whoever runs the render. ``ca`` is (PEM file, where it came from)."""
    keys = {}
    if credential.access_key is not None and credential.secret_key is not None:
        keys = {"access_key_id": credential.access_key.reveal(), "secret_access_key": credential.secret_key.reveal()}
    bundle, source = ca if ca else (None, None)
    return S3Access(endpoint_url=credential.url, region=credential.region, ca_bundle=bundle, ca_source=source, **keys)


def _client(access: S3Access):
    """A boto3 S3 client with short timeouts, so an unreachable endpoint fails fast;
    TLS is verified against ``access.ca_bundle`` alone when one is given."""
    import boto3
    from botocore.config import Config

    kwargs = {}
    if access.access_key_id is not None and access.secret_access_key is not None:
        kwargs["aws_access_key_id"] = access.access_key_id.reveal()
        kwargs["aws_secret_access_key"] = access.secret_access_key.reveal()
    config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.session.Session().client(
        "s3", endpoint_url=access.endpoint_url, region_name=access.region, config=config,
        verify=access.ca_bundle, **kwargs
    )


class S3Reader:
    """One bucket through one boto3 client."""

    def __init__(self, access: S3Access, bucket: str, client):
        self.access, self.bucket, self.client = access, bucket, client

    def _pages(self, prefix: str, **delimiter: str):
        return self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix, **delimiter)

    def prefixes(self, prefix: str) -> Iterator[str]:
        for page in self._pages(prefix, Delimiter="/"):
            yield from (p["Prefix"] for p in page.get("CommonPrefixes", []))

    def objects(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        for page in self._pages(prefix):
            yield from ((o["Key"], o["LastModified"].astimezone(UTC)) for o in page.get("Contents", []))

    def read(self, key: str, length: int | None = None) -> bytes | None:
        from botocore.exceptions import ClientError

        ranged = {"Range": f"bytes=0-{length - 1}"} if length is not None else {}
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **ranged)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        except ClientError as exc:  # S3 answers a range on an empty object with InvalidRange
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""
            raise

    def reason(self, exc: Exception) -> str:
        """From error codes and classes only: server messages and exception text are
        not echoed, so nothing a client was given can leak."""
        from botocore import exceptions as bx

        endpoint = safe_endpoint(self.access.endpoint_url, "default AWS endpoint")
        if isinstance(exc, bx.ClientError):
            code = str(exc.response.get("Error", {}).get("Code", "unknown"))
            if code in ("NoSuchBucket", "404"):
                return f"bucket {self.bucket!r} does not exist"
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return f"access denied ({code})"
            return f"S3 error {code}"
        if isinstance(exc, bx.NoCredentialsError):
            return "no S3 credentials (give keys or configure the default AWS chain)"
        if isinstance(exc, bx.SSLError):
            return f"TLS verification failed for {endpoint} (CA from {ca_description(self.access)})"
        if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError)):
            return f"endpoint unreachable ({endpoint})"
        if isinstance(exc, bx.BotoCoreError):
            return f"S3 client error ({type(exc).__name__})"
        raise exc
