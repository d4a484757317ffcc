"""Read-only inspection of a barman-cloud object store.

Why: after a restore, a Cluster must write to a lineage (``<destinationPath>/<serverName>/``)
that holds no WAL, or barman-cloud-check-wal-archive refuses with "Expected empty
archive". Knowing which lineages exist, whether they hold WAL and which base backups
completed lets the renderer pick (or verify) the next revision instead of guessing.

Layout (barman ``CloudBackupCatalog``)::

    <destinationPath>/<serverName>/base/<backupID>/backup.info
    <destinationPath>/<serverName>/wals/<TLI+log>/<segment>[.gz|...]

This module never writes to the store. boto3 is imported lazily so the renderer
works without it for the common, offline path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Mapping
from urllib.parse import urlsplit

from renderer.sensitive import Sensitive

DONE = "DONE"
NO_INFO = "NO_INFO"  # a base/<id>/ folder without a readable backup.info

# Same names barman's ``xlog.is_any_xlog_file`` accepts: segment, .partial,
# .backup label, .history; plus one compression suffix (``cloud.ALLOWED_COMPRESSIONS``).
_XLOG_RE = re.compile(
    r"^[0-9A-Fa-f]{8}(?:[0-9A-Fa-f]{16}(?:\.[0-9A-Fa-f]{8}\.backup|\.partial)?|\.history)"
    r"(?:\.gz|\.bz2|\.xz|\.snappy|\.zst|\.lz4)?$"
)


class ObjectStoreError(Exception):
    """The store could not be inspected; the message is one line naming the destinationPath
    and never contains credential values."""


@dataclass(frozen=True)
class BaseBackup:
    """One ``base/<backupID>/`` entry as barman-cloud recorded it."""

    backup_id: str
    status: str
    end_time: datetime | None
    begin_time: datetime | None


@dataclass(frozen=True)
class LineageState:
    """One ``<serverName>/`` folder: its base backups and whether it holds WAL."""

    server_name: str
    backups: tuple[BaseBackup, ...]
    has_wal: bool

    @property
    def completed(self) -> tuple[BaseBackup, ...]:
        """Backups a restore can use (barman marks finished ones ``DONE``)."""
        return tuple(b for b in self.backups if b.status == DONE)

    @property
    def newest_end_time(self) -> datetime | None:
        """End time of the newest completed backup, or None when there is none."""
        ends = [b.end_time for b in self.completed if b.end_time is not None]
        return max(ends) if ends else None


@dataclass(frozen=True)
class StoreState:
    """One destinationPath. ``checked=False`` means the store was not looked at (see ``reason``)."""

    destination_path: str
    lineages: dict[str, LineageState] = field(default_factory=dict)
    checked: bool = True
    reason: str = ""

    def describe(self) -> str:
        """A one-line summary for CLI output."""
        if not self.checked:
            return f"{self.destination_path}: not checked: {self.reason}"
        if not self.lineages:
            return f"{self.destination_path}: no lineages"
        parts = [
            f"{name} ({len(lin.completed)} completed backup(s), {'WAL' if lin.has_wal else 'no WAL'})"
            for name, lin in sorted(self.lineages.items())
        ]
        return f"{self.destination_path}: " + ", ".join(parts)


@dataclass(frozen=True)
class S3Access:
    """How to reach S3. Keys left None use boto3's default chain (env, profile, IRSA...).

    Plain strings given for the keys are wrapped in :class:`Sensitive`, so the repr of
    this object never shows them.
    """

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: Sensitive | None = None
    secret_access_key: Sensitive | None = None

    def __post_init__(self) -> None:
        for name in ("access_key_id", "secret_access_key"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Sensitive(value))


# --------------------------------------------------------------------------- pure parts


def split_s3_path(destination_path: str) -> tuple[str, str]:
    """``s3://bucket/a/b/`` -> ``("bucket", "a/b/")``: a prefix that is empty or ends in
    exactly one slash, so keys built from it never contain ``//``."""
    parts = urlsplit(destination_path)
    if parts.scheme != "s3" or not parts.netloc:
        raise ObjectStoreError(f"cannot inspect {destination_path}: not an s3://bucket/prefix path")
    segments = [s for s in parts.path.split("/") if s]
    prefix = "/".join(segments) + "/" if segments else ""
    return parts.netloc, prefix


def unsupported_reason(destination_path: str) -> str | None:
    """Why a destinationPath is not inspected (non-S3 providers), or None for S3."""
    parts = urlsplit(destination_path)
    host = parts.hostname or ""
    if parts.scheme == "s3":
        return None
    if parts.scheme == "azure" or host.endswith(".blob.core.windows.net"):
        return "Azure Blob Storage inspection is not supported yet"
    if parts.scheme == "gs":
        return "Google Cloud Storage inspection is not supported yet"
    return f"unsupported destinationPath scheme {parts.scheme or '(none)'!r}"


def is_wal_name(key: str) -> bool:
    """True for object names barman's empty-archive check counts as WAL."""
    return bool(_XLOG_RE.match(key.rsplit("/", 1)[-1]))


def _parse_time(value: str | None) -> datetime | None:
    """barman writes ``str(datetime)`` (``2024-05-01 10:00:00.123+00:00``); old
    releases wrote ctime-like text. Naive values are taken as UTC."""
    if not value or value == "None":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.strptime(value, "%a %b %d %H:%M:%S %Y")
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_backup_info(text: str) -> dict[str, str]:
    """Parse barman's ``key=value`` backup.info (one pair per line, value is raw text)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            fields[key.strip()] = value.strip()
    return fields


def backup_from_info(backup_id: str, text: str | None) -> BaseBackup:
    """A BaseBackup from backup.info text. The ID is the folder name: barman does not
    write ``backup_id`` into the file (it is accepted when present)."""
    if text is None:
        return BaseBackup(backup_id, NO_INFO, None, None)
    info = parse_backup_info(text)
    return BaseBackup(
        backup_id=info.get("backup_id", backup_id),
        status=info.get("status", NO_INFO),
        end_time=_parse_time(info.get("end_time")),
        begin_time=_parse_time(info.get("begin_time")),
    )


def state_from_listing(destination_path: str, keys: Iterable[str],
                       infos: Mapping[str, str]) -> StoreState:
    """Build a StoreState from keys relative to the destination prefix.

    ``keys`` may be object keys or folder prefixes (``srv/``, ``srv/base/<id>/``);
    ``infos`` maps ``<srv>/base/<id>`` to that backup's backup.info text. Any key under
    ``<srv>/`` makes the lineage exist; a WAL-named object under ``<srv>/wals/`` sets has_wal.
    """
    servers: dict[str, dict] = {}
    for key in keys:
        parts = key.split("/")
        if not parts[0]:
            continue
        entry = servers.setdefault(parts[0], {"ids": set(), "wal": False})
        if len(parts) >= 3 and parts[1] == "base" and parts[2]:
            entry["ids"].add(parts[2])
        elif len(parts) >= 3 and parts[1] == "wals" and is_wal_name(key):
            entry["wal"] = True
    lineages = {
        name: LineageState(
            server_name=name,
            backups=tuple(backup_from_info(i, infos.get(f"{name}/base/{i}")) for i in sorted(e["ids"])),
            has_wal=e["wal"],
        )
        for name, e in servers.items()
    }
    return StoreState(destination_path=destination_path, lineages=lineages)


# --------------------------------------------------------------------------- S3 I/O


def _client(access: S3Access):
    """A boto3 S3 client with short timeouts, so an unreachable endpoint fails fast."""
    import boto3
    from botocore.config import Config

    kwargs = {}
    if access.access_key_id is not None and access.secret_access_key is not None:
        kwargs["aws_access_key_id"] = access.access_key_id.reveal()
        kwargs["aws_secret_access_key"] = access.secret_access_key.reveal()
    config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.session.Session().client(
        "s3", endpoint_url=access.endpoint_url, region_name=access.region, config=config, **kwargs
    )


def _prefixes(client, bucket: str, prefix: str) -> list[str]:
    """Immediate sub-folders of ``prefix`` (paginated, delimiter ``/``)."""
    out: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        out.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
    return out


def _first_wal(client, bucket: str, wal_prefix: str) -> str | None:
    """The first WAL-named key under ``wals/``. Usually the first object is one, so this
    reads one page; non-WAL objects are skipped exactly as barman's check skips them."""
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=wal_prefix, PaginationConfig={"PageSize": 100}
    ):
        for obj in page.get("Contents", []):
            if is_wal_name(obj["Key"]):
                return obj["Key"]
    return None


def _read_info(client, bucket: str, key: str) -> str | None:
    """backup.info text, or None when that backup folder has none."""
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", "replace")
    except client.exceptions.NoSuchKey:
        return None


def _list_store(client, bucket: str, prefix: str) -> tuple[list[str], dict[str, str]]:
    """Keys (relative to ``prefix``) and backup.info texts that describe the store."""
    keys: list[str] = []
    infos: dict[str, str] = {}
    for server_prefix in _prefixes(client, bucket, prefix):
        server = server_prefix[len(prefix):]
        keys.append(server)
        for backup_prefix in _prefixes(client, bucket, server_prefix + "base/"):
            rel = backup_prefix[len(prefix):].rstrip("/")
            keys.append(rel + "/")
            text = _read_info(client, bucket, backup_prefix + "backup.info")
            if text is not None:
                infos[rel] = text
        wal = _first_wal(client, bucket, server_prefix + "wals/")
        if wal:
            keys.append(wal[len(prefix):])
    return keys, infos


def _error_reason(exc: Exception, bucket: str, access: S3Access) -> str:
    """A short reason built from error codes/classes only: server messages and
    exception text are not echoed, so nothing a client was given can leak."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "unknown"))
        if code in ("NoSuchBucket", "404"):
            return f"bucket {bucket!r} does not exist"
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return f"access denied ({code})"
        return f"S3 error {code}"
    if isinstance(exc, bx.NoCredentialsError):
        return "no S3 credentials (give keys or configure the default AWS chain)"
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return f"endpoint unreachable ({_safe_endpoint(access.endpoint_url)})"
    if isinstance(exc, bx.BotoCoreError):
        return f"S3 client error ({type(exc).__name__})"
    raise exc


def _safe_endpoint(url: str | None) -> str:
    """The endpoint without any user:password@ part."""
    if not url:
        return "default AWS endpoint"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


def inspect(destination_path: str, access: S3Access) -> StoreState:
    """List the lineages under ``destination_path`` (read-only).

    Non-S3 stores come back ``checked=False`` with a reason. Any S3 failure raises
    :class:`ObjectStoreError` with a one-line message naming the destinationPath.
    """
    reason = unsupported_reason(destination_path)
    if reason:
        return StoreState(destination_path, {}, checked=False, reason=reason)
    bucket, prefix = split_s3_path(destination_path)
    try:
        import boto3  # noqa: F401  (fail clearly before any S3 call)
    except ImportError:
        from renderer.extras import how_to_get

        raise ObjectStoreError(f"cannot inspect {destination_path}: {how_to_get('boto3')}") from None
    try:
        keys, infos = _list_store(_client(access), bucket, prefix)
    except Exception as exc:  # narrowed in _error_reason, which re-raises the unknown
        raise ObjectStoreError(
            f"cannot inspect {destination_path}: {_error_reason(exc, bucket, access)}"
        ) from None
    return state_from_listing(destination_path, keys, infos)
