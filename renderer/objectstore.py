"""Read-only inspection of a barman-cloud object store, the same for every provider.

Why: after a restore, a Cluster must write to a lineage (``<destinationPath>/<serverName>/``)
that holds no WAL, or barman-cloud-check-wal-archive refuses with "Expected empty
archive". Knowing which lineages exist, whether they hold WAL and which base backups
completed lets the renderer pick (or verify) the next revision instead of guessing.

Beyond existence, a restore rule needs each lineage's WAL chain: the base backups'
begin/end WAL, the segments present with the time each was archived, the timeline
history files, and whose WAL it is (`renderer.walchain` does the arithmetic).

Layout (barman ``CloudBackupCatalog``; ``xlog.hash_dir``), the same on S3, Azure Blob
Storage and Google Cloud Storage::

    <destinationPath>/<serverName>/base/<backupID>/backup.info
    <destinationPath>/<serverName>/wals/<TLI+log>/<segment>[.gz|.bz2|.xz|.snappy|.zst|.lz4]
    <destinationPath>/<serverName>/wals/<TLI>.history[.gz|...]

This module holds the model, the parsing and the reading order; a provider
(`renderer.stores`) only turns a destinationPath into a ``Location`` and answers three
questions through a ``Reader``: which sub-folders a prefix has, which objects (with
their modified times) are under it, and an object's bytes or its first N bytes.

Reads per inspection: one delimiter listing of the destinationPath, then per lineage
asked for: a delimiter listing of ``base/``, each ``backup.info``, the whole ``wals/``
listing (at most ``WAL_LISTING_CAP`` objects, else a one-line error: a larger archive
wants retention, not a render-time scan), each history file, and one ranged read of
the oldest segment's first bytes (`renderer.walfile`). Nothing is ever written. The
providers' SDKs and the decompressors are imported lazily, only when a store is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

from renderer import walchain, walfile
from renderer.records import field, record
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

    @property
    def ended(self) -> datetime:
        """`end_time` of a backup chosen among those that record one (completed backups
        used for a restore or a verdict); asking any other is a bug."""
        assert self.end_time is not None
        return self.end_time


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


# --------------------------------------------------------------------------- pure parts


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
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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


# --------------------------------------------------------------------------- the provider edge


class Refusal(Exception):
    """Inspection stops on purpose (a cap, a configuration barman-cloud cannot use, a
    missing library); the text completes "cannot inspect <destinationPath>: "."""




@record(frozen=True)
class Location:
    """Where a destinationPath's lineages live: the bucket (S3, Google) or container
    (Azure), the key prefix (empty, or ending in exactly one ``/``), and for Azure the
    account URL barman-cloud derives from the path (None: the connection string's)."""

    bucket: str
    prefix: str
    account_url: str | None = None


class Reader(Protocol):
    """One bucket or container, read-only. Keys are full keys; ``reason`` turns an
    exception any of the calls raised into a short text built from error codes and
    classes only (never server text, never a credential), and re-raises what it does
    not know."""

    def prefixes(self, prefix: str) -> Iterable[str]:
        """The immediate sub-folders of ``prefix``, each as ``prefix + name + "/"``."""

    def objects(self, prefix: str) -> Iterable[tuple[str, datetime]]:
        """Every object under ``prefix`` with its last-modified time (aware, UTC)."""

    def read(self, key: str, length: int | None = None) -> bytes | None:
        """The object's bytes (its first ``length`` bytes when given: one ranged read);
        None when it does not exist (deleted since it was listed)."""

    def reason(self, exc: Exception) -> str: ...


class Access(Protocol):
    """How the overlay's credential reaches one provider (`renderer.stores`)."""

    def locate(self, destination_path: str) -> Location:
        """The destinationPath as barman-cloud reads it; Refusal when it cannot."""

    def open(self, location: Location) -> Reader:
        """A Reader (imports the SDK; no request yet); Refusal when it cannot be made."""


def prefix_of(segments: Iterable[str]) -> str:
    """Path segments as a key prefix: ``""`` or ``"a/b/"``, empty segments dropped, so
    keys built from it never contain ``//``."""
    kept = [s for s in segments if s]
    return "/".join(kept) + "/" if kept else ""


def safe_endpoint(url: str | None, default: str) -> str:
    """The endpoint without any user:password@ part, path or query (``default``
    when there is none)."""
    if not url:
        return default
    parts = urlsplit(url if "//" in url else "https://" + url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


def ca_problem(bundle: str | None, source: str | None) -> str | None:
    """Why a CA bundle cannot be used, found before any request, so a missing or wrong
    file is not reported as the endpoint failing TLS verification."""
    if bundle is None:
        return None
    where = f"the CA bundle {bundle}" + (f" ({source})" if source else "")
    try:
        with open(bundle, "rb") as handle:
            pem = handle.read()
    except OSError:
        return f"{where} cannot be read"
    return None if b"-----BEGIN CERTIFICATE-----" in pem else f"{where} holds no PEM certificate"


def _folders(reader: Reader, prefix: str) -> list[str]:
    """Names of the immediate sub-folders of ``prefix``, sorted (providers list them in
    their own order)."""
    return sorted(name for name in (p[len(prefix):].rstrip("/") for p in reader.prefixes(prefix)) if name)


def _capped(reader: Reader, prefix: str, cap: int, label: str) -> Iterator[tuple[str, datetime]]:
    """The objects under ``prefix`` (keys relative to it); more than ``cap`` stops the
    inspection (``label`` names the folder in the message)."""
    for count, (key, modified) in enumerate(reader.objects(prefix), 1):
        if count > cap:
            raise Refusal(f"{label} holds more than {cap} objects, the most one inspection lists")
        yield key[len(prefix):], modified


def _backups(reader: Reader, root: str) -> tuple[BaseBackup, ...]:
    """Every ``base/<backupID>/`` of the lineage at ``root``, by ID."""
    out = []
    for backup_id in sorted(_folders(reader, root + "base/")):
        data = reader.read(f"{root}base/{backup_id}/backup.info")
        out.append(backup_from_info(backup_id, data.decode("utf-8", "replace") if data is not None else None))
    return tuple(out)


def _histories(reader: Reader, wals: str, keys: Mapping[int, str]) -> tuple[dict, dict]:
    """(timeline -> entries, timeline -> why unreadable) for the history files listed."""
    histories, issues = {}, {}
    for tli, key in sorted(keys.items()):
        data = reader.read(wals + key, HISTORY_MAX_BYTES + 1)  # one byte more than allowed: too long shows
        if data is None:
            continue
        try:
            histories[tli] = history_from_bytes(data, key)
        except ValueError as exc:
            issues[tli] = str(exc)
    return histories, issues


def _header(reader: Reader, wals: str, listing: WalListing) -> tuple[int | None, int | None, str | None]:
    """(system id, segment size, why unknown) from the oldest segment's first bytes."""
    if not listing.segments:
        return None, None, None
    key = listing.segment_keys[listing.segments[0].name]
    name = key.rsplit("/", 1)[-1]
    data = reader.read(wals + key, walfile.HEAD_BYTES[walfile.split_suffix(key)[1]])
    if data is None:
        return None, None, f"{name}: deleted while it was read"
    try:
        header = header_from_bytes(data, key)
    except ValueError as exc:
        return None, None, f"{name}: {exc}"
    return header.system_id, header.segment_size, None


def _lineage(reader: Reader, prefix: str, server: str, cap: int) -> LineageState:
    """Everything one lineage holds that a restore rule asks about."""
    root = f"{prefix}{server}/"
    backups = _backups(reader, root)
    listing = classify_wal(_capped(reader, root + "wals/", cap, f"{server}/wals/"))
    histories, issues = _histories(reader, root + "wals/", listing.history_keys)
    system_id, segment_size, header_issue = _header(reader, root + "wals/", listing)
    return LineageState(server, backups, listing.has_wal, listing.segments, histories, issues,
                        system_id, segment_size, header_issue)


def _open(access: Access, destination_path: str) -> tuple[Location, Reader]:
    """The location and a reader for it. Providers raise Refusal for what they cannot
    use; a missing SDK becomes one naming the extra."""
    location = access.locate(destination_path)
    try:
        return location, access.open(location)
    except ImportError as exc:
        from renderer.extras import how_to_get

        raise Refusal(how_to_get(exc.name or "boto3")) from None


def inspect(destination_path: str, access: Access, wanted: Callable[[str], bool] | None = None, *,
            wal_cap: int = WAL_LISTING_CAP) -> StoreState:
    """List the lineages under ``destination_path`` and read those ``wanted`` accepts
    (all when None) in full; the others are only named (``StoreState.skipped``).

    Any failure raises :class:`ObjectStoreError` with a one-line message naming the
    destinationPath; a TLS failure is never retried without verification.
    """
    try:
        location, reader = _open(access, destination_path)
        names = _folders(reader, location.prefix)
        lineages = {n: _lineage(reader, location.prefix, n, wal_cap) for n in names if wanted is None or wanted(n)}
    except Refusal as exc:
        raise ObjectStoreError(f"cannot inspect {destination_path}: {exc}") from None
    except Exception as exc:  # only reader calls get here; the reader re-raises what it does not know
        raise ObjectStoreError(f"cannot inspect {destination_path}: {reader.reason(exc)}") from None
    return StoreState(destination_path, lineages, skipped=tuple(n for n in names if n not in lineages))
