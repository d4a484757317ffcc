"""Read-only inspection of a barman-cloud object store.

Why: after a restore, a Cluster must write to a lineage (``<destinationPath>/<serverName>/``)
that holds no WAL, or barman-cloud-check-wal-archive refuses with "Expected empty
archive". Knowing which lineages exist, whether they hold WAL and which base backups
completed lets the renderer pick (or verify) the next revision instead of guessing.

Beyond existence, a restore rule needs each lineage's WAL chain: the base backups'
begin/end WAL, the segments present with the time each was archived, the timeline
history files, and whose WAL it is (`renderer.walchain` does the arithmetic).

Layout (barman ``CloudBackupCatalog``; ``xlog.hash_dir``)::

    <destinationPath>/<serverName>/base/<backupID>/backup.info
    <destinationPath>/<serverName>/wals/<TLI+log>/<segment>[.gz|.bz2|.xz|.snappy|.zst|.lz4]
    <destinationPath>/<serverName>/wals/<TLI>.history[.gz|...]

Reads per inspection: one delimiter listing of the destinationPath, then per lineage
asked for: a delimiter listing of ``base/``, each ``backup.info``, the whole ``wals/``
listing (at most ``WAL_LISTING_CAP`` objects, else a one-line error: a larger archive
wants retention, not a render-time scan), each history file, and one ranged GET of
the oldest segment's first bytes (`renderer.walfile`). This module never writes to
the store. boto3 and the decompressors are imported lazily, only when a store is read.
"""

from __future__ import annotations

import re
from renderer.records import field
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from renderer import walchain, walfile
from renderer.records import record
from renderer.sensitive import Sensitive
from renderer.walchain import HistoryEntry

DONE = "DONE"
NO_INFO = "NO_INFO"  # a base/<id>/ folder without a readable backup.info
WAL_LISTING_CAP = 100_000  # objects under one lineage's wals/ (6 TB of 64 MB segments, 1.6 TB of 16 MB)
HISTORY_MAX_BYTES = 1 << 20  # a history file gains one short line per timeline

# Same names barman's ``xlog.is_any_xlog_file`` accepts: segment, .partial,
# .backup label, .history; plus one compression suffix (``cloud.ALLOWED_COMPRESSIONS``).
_XLOG_RE = re.compile(
    r"^[0-9A-Fa-f]{8}(?:[0-9A-Fa-f]{16}(?:\.[0-9A-Fa-f]{8}\.backup|\.partial)?|\.history)"
    r"(?:\.gz|\.bz2|\.xz|\.snappy|\.zst|\.lz4)?$"
)
# Where barman-cloud-wal-restore looks for what PostgreSQL asks (keys relative to wals/):
# a segment (or, unless --no-partial, which CNPG does not pass, its .partial) in its
# <TLI+log>/ folder, a history file at the top. Names are compared with PostgreSQL's
# request as they are (upper-case hex), after one compression suffix is split off.
_SEGMENT_KEY_RE = re.compile(r"^([0-9A-F]{16})/(\1[0-9A-F]{8})(\.partial)?$")
_HISTORY_KEY_RE = re.compile(r"^([0-9A-F]{8})\.history$")


class ObjectStoreError(Exception):
    """The store could not be inspected; the message is one line naming the destinationPath
    and never contains credential values."""


@record(frozen=True)
class BaseBackup:
    """One ``base/<backupID>/`` entry as barman-cloud recorded it in backup.info.
    Fields backup.info lacks (or holds as ``None``) are None; LSNs are integers."""

    backup_id: str
    status: str
    end_time: datetime | None
    begin_time: datetime | None
    begin_wal: str | None = None
    end_wal: str | None = None
    begin_lsn: int | None = None
    end_lsn: int | None = None
    timeline: int | None = None
    system_id: int | None = None
    segment_size: int | None = None


@record(frozen=True)
class WalSegment:
    """A segment a restore can fetch, named as PostgreSQL asks for it (no suffix);
    ``archived_at`` is the object's LastModified. ``partial``: the object barman hands
    over for that name is a ``.partial`` file (archived at a promotion: its WAL ends
    inside it)."""

    name: str
    archived_at: datetime
    partial: bool = False


@record(frozen=True)
class LineageState:
    """One ``<serverName>/`` folder.

    ``has_wal`` is barman-cloud-check-wal-archive's verdict: any WAL-named object under
    ``wals/`` (segments, .partial, .backup, .history, compressed or not). ``wal`` holds
    what barman-cloud-wal-restore would hand PostgreSQL for each segment name, sorted
    by name. ``histories`` maps a timeline to its parsed history file;
    ``history_issues`` a timeline whose history file is present but unreadable to why.
    ``wal_system_id``/``wal_segment_size`` come from the oldest segment's page header;
    when it could not be read they are None and ``wal_header_issue`` says why."""

    server_name: str
    backups: tuple[BaseBackup, ...]
    has_wal: bool
    wal: tuple[WalSegment, ...] = ()
    histories: Mapping[int, tuple[HistoryEntry, ...]] = field(default_factory=dict)
    history_issues: Mapping[int, str] = field(default_factory=dict)
    wal_system_id: int | None = None
    wal_segment_size: int | None = None
    wal_header_issue: str | None = None

    @property
    def completed(self) -> tuple[BaseBackup, ...]:
        """Backups a restore can use (barman marks finished ones ``DONE``)."""
        return tuple(b for b in self.backups if b.status == DONE)

    @property
    def newest_end_time(self) -> datetime | None:
        """End time of the newest completed backup, or None when there is none."""
        ends = [b.end_time for b in self.completed if b.end_time is not None]
        return max(ends) if ends else None


@record(frozen=True)
class StoreState:
    """One destinationPath. ``checked=False`` means the store was not looked at (see ``reason``).
    ``lineages`` holds the lineages inspected; ``skipped`` the serverNames found there
    that ``inspect``'s ``wanted`` left out (they exist; nothing else was read of them)."""

    destination_path: str
    lineages: dict[str, LineageState] = field(default_factory=dict)
    checked: bool = True
    reason: str = ""
    skipped: tuple[str, ...] = ()

    @property
    def server_names(self) -> tuple[str, ...]:
        """Every serverName under the destinationPath, inspected or not."""
        return tuple(sorted((*self.lineages, *self.skipped)))

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

    @property
    def ca_description(self) -> str:
        if self.ca_bundle is None:
            return "the default trust store"
        return self.ca_source or self.ca_bundle

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


def _info_value(info: Mapping[str, str], key: str) -> str | None:
    """A backup.info value; barman writes an unset field as ``None``."""
    value = info.get(key)
    return None if value in (None, "", "None") else value


def _info_int(info: Mapping[str, str], key: str) -> int | None:
    value = _info_value(info, key)
    return int(value) if value is not None and value.isdigit() else None


def _info_lsn(info: Mapping[str, str], key: str) -> int | None:
    value = _info_value(info, key)
    try:
        return walchain.parse_lsn(value) if value is not None else None
    except ValueError:
        return None


def _info_segment(info: Mapping[str, str], key: str) -> str | None:
    value = _info_value(info, key)
    return value if value is not None and walchain.is_segment_name(value) else None


def backup_from_info(backup_id: str, text: str | None) -> BaseBackup:
    """A BaseBackup from backup.info text. The ID is the folder name: barman does not
    write ``backup_id`` into the file (it is accepted when present). Values barman did
    not record, or that are not what their field holds, are None."""
    if text is None:
        return BaseBackup(backup_id, NO_INFO, None, None)
    info = parse_backup_info(text)
    return BaseBackup(
        backup_id=info.get("backup_id", backup_id),
        status=info.get("status", NO_INFO),
        end_time=_parse_time(info.get("end_time")),
        begin_time=_parse_time(info.get("begin_time")),
        begin_wal=_info_segment(info, "begin_wal"),
        end_wal=_info_segment(info, "end_wal"),
        begin_lsn=_info_lsn(info, "begin_xlog"),
        end_lsn=_info_lsn(info, "end_xlog"),
        timeline=_info_int(info, "timeline"),
        system_id=_info_int(info, "systemid"),
        segment_size=_info_int(info, "xlog_segment_size"),
    )


@record(frozen=True)
class WalListing:
    """What one lineage's ``wals/`` listing says before any object is read. Keys are
    relative to ``wals/``; a segment stored as several objects (with and without a
    suffix, or also as .partial) counts once, by the object barman-cloud-wal-restore
    picks: the first of their keys in sorted order."""

    has_wal: bool
    segments: tuple[WalSegment, ...]
    segment_keys: Mapping[str, str]
    history_keys: Mapping[int, str]


def classify_wal(objects: Iterable[tuple[str, datetime]]) -> WalListing:
    """Sort a ``wals/`` listing of (key, LastModified) into what each tool sees: any
    WAL-named object for barman's empty-archive check; for a restore, the segment object
    and the history file barman-cloud-wal-restore hands PostgreSQL for each name."""
    has_wal = False
    picked: dict[str, tuple[str, WalSegment]] = {}
    histories: dict[int, str] = {}
    for key, modified in objects:
        has_wal = has_wal or is_wal_name(key)
        base = walfile.split_suffix(key)[0]
        if m := _SEGMENT_KEY_RE.match(base):
            name = m.group(2)
            if name not in picked or key < picked[name][0]:
                picked[name] = (key, WalSegment(name, modified, bool(m.group(3))))
        elif m := _HISTORY_KEY_RE.match(base):
            tli = int(m.group(1), 16)
            histories[tli] = min(key, histories.get(tli, key))
    segments = tuple(picked[name][1] for name in sorted(picked))
    return WalListing(has_wal, segments, {name: key for name, (key, _) in picked.items()}, histories)


def history_from_bytes(data: bytes, key: str) -> tuple[HistoryEntry, ...]:
    """A stored history file (``wals/<key>``) parsed; ValueError says why it cannot be."""
    base, suffix = walfile.split_suffix(key)
    text = walfile.decompress(data, suffix, HISTORY_MAX_BYTES).decode("utf-8", "replace")
    return walchain.parse_history(text, int(base[:8], 16))


def header_from_bytes(data: bytes, key: str) -> walfile.LongHeader:
    """The long page header at the start of the stored segment ``wals/<key>``, checked
    against the segment's name; ValueError says why it cannot be read."""
    name, suffix = walfile.split_suffix(key.rsplit("/", 1)[-1])
    header = walfile.long_header(walfile.leading_bytes(data, suffix))
    segno = walchain.parse_segment_name(name, header.segment_size)[1]
    if header.page_address != segno * header.segment_size:
        raise ValueError("its first page header does not belong to a segment of that name")
    return header


# --------------------------------------------------------------------------- S3 I/O


class _Refusal(Exception):
    """Inspection stops on purpose; the text completes "cannot inspect <dest>: "."""


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


def _prefixes(client, bucket: str, prefix: str) -> list[str]:
    """Immediate sub-folders of ``prefix`` (paginated, delimiter ``/``)."""
    out: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        out.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
    return out


def _objects(client, bucket: str, prefix: str, cap: int, label: str) -> list[tuple[str, datetime]]:
    """Every object under ``prefix`` (keys relative to it) with its LastModified; more
    than ``cap`` stops the inspection (``label`` names the folder in the message)."""
    out: list[tuple[str, datetime]] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend((o["Key"][len(prefix):], o["LastModified"].astimezone(timezone.utc))
                   for o in page.get("Contents", []))
        if len(out) > cap:
            raise _Refusal(f"{label} holds more than {cap} objects, the most one inspection lists")
    return out


def _get(client, bucket: str, key: str, last_byte: int | None = None) -> bytes | None:
    """An object's bytes (up to ``last_byte`` when given: one ranged GET), or None when
    it is gone (deleted since it was listed, or a backup folder without backup.info)."""
    from botocore.exceptions import ClientError

    ranged = {"Range": f"bytes=0-{last_byte}"} if last_byte is not None else {}
    try:
        return client.get_object(Bucket=bucket, Key=key, **ranged)["Body"].read()
    except client.exceptions.NoSuchKey:
        return None
    except ClientError as exc:  # S3 answers a range on an empty object with InvalidRange
        if exc.response.get("Error", {}).get("Code") == "InvalidRange":
            return b""
        raise


def _backups(client, bucket: str, root: str) -> tuple[BaseBackup, ...]:
    """Every ``base/<backupID>/`` of the lineage at ``root``, by ID."""
    out = []
    for folder in sorted(_prefixes(client, bucket, root + "base/")):
        data = _get(client, bucket, folder + "backup.info")
        text = data.decode("utf-8", "replace") if data is not None else None
        out.append(backup_from_info(folder[len(root) + len("base/"):].rstrip("/"), text))
    return tuple(out)


def _histories(client, bucket: str, wals: str, keys: Mapping[int, str]) -> tuple[dict, dict]:
    """(timeline -> entries, timeline -> why unreadable) for the history files listed."""
    histories, issues = {}, {}
    for tli, key in sorted(keys.items()):
        data = _get(client, bucket, wals + key, HISTORY_MAX_BYTES)  # one byte more than allowed: too long shows
        if data is None:
            continue
        try:
            histories[tli] = history_from_bytes(data, key)
        except ValueError as exc:
            issues[tli] = str(exc)
    return histories, issues


def _header(client, bucket: str, wals: str, listing: WalListing) -> tuple[int | None, int | None, str | None]:
    """(system id, segment size, why unknown) from the oldest segment's first bytes."""
    if not listing.segments:
        return None, None, None
    key = listing.segment_keys[listing.segments[0].name]
    name = key.rsplit("/", 1)[-1]
    data = _get(client, bucket, wals + key, walfile.HEAD_BYTES[walfile.split_suffix(key)[1]] - 1)
    if data is None:
        return None, None, f"{name}: deleted while it was read"
    try:
        header = header_from_bytes(data, key)
    except ValueError as exc:
        return None, None, f"{name}: {exc}"
    return header.system_id, header.segment_size, None


def _lineage(client, bucket: str, prefix: str, server: str, cap: int) -> LineageState:
    """Everything one lineage holds that a restore rule asks about."""
    root = f"{prefix}{server}/"
    backups = _backups(client, bucket, root)
    listing = classify_wal(_objects(client, bucket, root + "wals/", cap, f"{server}/wals/"))
    histories, issues = _histories(client, bucket, root + "wals/", listing.history_keys)
    system_id, segment_size, header_issue = _header(client, bucket, root + "wals/", listing)
    return LineageState(server, backups, listing.has_wal, listing.segments, histories, issues,
                        system_id, segment_size, header_issue)


def _ca_problem(access: S3Access) -> str | None:
    """Why the CA bundle cannot be used, found before any request, so a missing or wrong
    file is not reported as the endpoint failing TLS verification."""
    if access.ca_bundle is None:
        return None
    where = f"the CA bundle {access.ca_bundle}" + (f" ({access.ca_source})" if access.ca_source else "")
    try:
        with open(access.ca_bundle, "rb") as handle:
            pem = handle.read()
    except OSError:
        return f"{where} cannot be read"
    return None if b"-----BEGIN CERTIFICATE-----" in pem else f"{where} holds no PEM certificate"


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
    if isinstance(exc, bx.SSLError):
        return f"TLS verification failed for {_safe_endpoint(access.endpoint_url)} (CA from {access.ca_description})"
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


def inspect(destination_path: str, access: S3Access, wanted: Callable[[str], bool] | None = None, *,
            wal_cap: int = WAL_LISTING_CAP) -> StoreState:
    """List the lineages under ``destination_path`` and read those ``wanted`` accepts
    (all when None) in full; the others are only named (``StoreState.skipped``).

    Non-S3 stores come back ``checked=False`` with a reason. Any S3 failure raises
    :class:`ObjectStoreError` with a one-line message naming the destinationPath; a
    TLS failure is never retried without verification.
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
    problem = _ca_problem(access)
    if problem:
        raise ObjectStoreError(f"cannot inspect {destination_path}: {problem}")
    try:
        client = _client(access)
        names = [n for n in (p[len(prefix):].rstrip("/") for p in _prefixes(client, bucket, prefix)) if n]
        lineages = {n: _lineage(client, bucket, prefix, n, wal_cap) for n in names if wanted is None or wanted(n)}
    except _Refusal as exc:
        raise ObjectStoreError(f"cannot inspect {destination_path}: {exc}") from None
    except Exception as exc:  # narrowed in _error_reason, which re-raises the unknown
        raise ObjectStoreError(
            f"cannot inspect {destination_path}: {_error_reason(exc, bucket, access)}"
        ) from None
    return StoreState(destination_path, lineages, skipped=tuple(n for n in names if n not in lineages))
