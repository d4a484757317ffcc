"""The overlay model: what a user may write, its defaults and its documentation.

The shape is TrueCharts' (`credentials.<name>`, `cnpg.<name>.mode/backups/recovery`),
so values written for TrueCharts charts carry over. Every field is declared once here;
`convert` validates against it and `schema` turns it into a JSON Schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

from renderer.overlay.fields import Custom, Located, option, origins_field
from renderer.sensitive import Sensitive

RETENTION_PATTERN = r"^[1-9][0-9]*[dwm]$"
URL_PATTERN = r"^https?://"
DEFAULT_COMPRESSION = "gzip"


def _revision(raw) -> str:
    """Revisions are strings; old TrueCharts docs show `revision: 1`, so a YAML
    integer is taken as its decimal string."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ValueError("must be a string such as \"1\" (or an integer)")
    text = str(raw)
    if text and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", text):
        raise ValueError("may hold only letters, digits, '.' and '-' (it becomes part of a serverName)")
    return text


REVISION = Custom(_revision, {"type": ["string", "integer"],
                              "pattern": r"^([A-Za-z0-9][A-Za-z0-9.-]*)?$"})

# Compression values both `wal` and `data` accept (the CRD enums differ: WAL also
# takes xz/zstd); `none` leaves the key out, since "" is not in the CRD enum.
COMPRESSIONS = ("gzip", "bzip2", "lz4", "snappy", "none")
ENCRYPTIONS = ("AES256", "aws:kms", "none")


def _toggle(choices: tuple[str, ...], enabled_value: str, what: str):
    """A string enum that also accepts TrueCharts' `{enabled: bool}` form."""

    def convert(raw) -> str | None:
        if isinstance(raw, dict) and set(raw) <= {"enabled"} and isinstance(raw.get("enabled", True), bool):
            raw = enabled_value if raw.get("enabled", True) else "none"
        if raw is False:
            raw = "none"
        if raw not in choices:
            raise ValueError(f"{what} must be one of {', '.join(choices)} (or {{enabled: true|false}})")
        return None if raw == "none" else raw

    schema = {"oneOf": [{"enum": list(choices)},
                        {"type": "object", "properties": {"enabled": {"type": "boolean"}},
                         "additionalProperties": False}]}
    return Custom(convert, schema)


COMPRESSION = _toggle(COMPRESSIONS, DEFAULT_COMPRESSION, "compression")
ENCRYPTION = _toggle(ENCRYPTIONS, "AES256", "encryption")


@dataclass
class ExistingSecret(Located):
    name: str = option(doc="Secret in the Cluster's namespace holding the S3 keys.")
    access_key_id_key: str = option("ACCESS_KEY_ID", doc="Key of the access key id.")
    secret_access_key_key: str = option("ACCESS_SECRET_KEY", doc="Key of the secret access key.")
    region_key: Optional[str] = option(None, doc="Key of the region, if the Secret holds one.")
    origins: dict = origins_field()


@dataclass
class Credential(Located):
    """An object-store credential, referenced by name from `backups` and `recovery`."""

    type: Literal["s3"] = option(doc="Object-store provider.")
    bucket: str = option(doc="Bucket name; the default destinationPath is s3://<bucket>[/<path>]/<release>/cnpg.")
    url: Optional[str] = option(None, pattern=URL_PATTERN, doc="S3 endpoint (endpointURL), e.g. https://s3.example.com. Leave out for AWS.")
    path: str = option("", doc="Prefix inside the bucket; leading and trailing '/' are ignored.")
    region: Optional[str] = option(None, doc="Region: written to the Secret as REGION and referenced as s3Credentials.region.")
    access_key: Optional[Sensitive] = option(None, doc="Access key id (a Secret is generated).")
    secret_key: Optional[Sensitive] = option(None, doc="Secret access key (a Secret is generated).")
    encr_key: Optional[Sensitive] = option(None, doc="Accepted for TrueCharts compatibility (VolSync); unused by CNPG.")
    existing_secret: Optional[ExistingSecret] = option(None, doc="Use an existing Secret instead of inline keys.")
    inherit_from_iam_role: bool = option(False, key="inheritFromIAMRole", doc="Use the pod's IAM role (IRSA) instead of keys.")
    name: str = option("", internal=True)
    origins: dict = origins_field()


@dataclass
class ScheduledBackup(Located):
    name: str = option(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", doc="Suffix of the ScheduledBackup name <cluster>-sched-backup-<name>.")
    schedule: str = option(doc="CNPG cron with seconds first (6 fields), e.g. \"0 0 0 * * *\", or a descriptor such as @daily.")
    backup_owner_reference: Literal["none", "self", "cluster"] = option("none", doc="Owner of the Backup objects.")
    immediate: bool = option(False, doc="Take a backup as soon as the ScheduledBackup is created.")
    suspend: bool = option(False, doc="Pause the schedule.")
    target: Optional[Literal["primary", "prefer-standby"]] = option(None, doc="Instance that runs the backup.")
    origins: dict = origins_field()


def default_schedules() -> list[ScheduledBackup]:
    """TrueCharts' default: a full backup daily at 00:00:00 UTC, owned by the schedule."""
    return [ScheduledBackup(name="daily-backup", schedule="0 0 0 * * *",
                            backup_owner_reference="self", immediate=True, suspend=False)]


@dataclass
class Backups(Located):
    enabled: bool = option(False, doc="Write spec.backup, the credentials Secret and the ScheduledBackups.")
    credentials: Optional[str] = option(None, doc="Name of an entry under `credentials`.")
    revision: Optional[str] = option(None, custom=REVISION, doc="Lineage revision: serverName gets -r<revision>. In recovery mode, unset means recovery revision + 1.")
    server_name: Optional[str] = option(None, doc="serverName base (default: the Cluster name).")
    destination_path: Optional[str] = option(None, doc="Overrides s3://<bucket>[/<path>]/<release>/cnpg.")
    retention_policy: str = option("30d", pattern=RETENTION_PATTERN, doc="Barman retention, e.g. 30d, 4w, 6m.")
    target: Optional[Literal["primary", "prefer-standby"]] = option(None, doc="Instance that runs backups (CNPG default: prefer-standby).")
    jobs: int = option(2, minimum=1, doc="Parallel upload jobs for base backups.")
    compression: Optional[str] = option(DEFAULT_COMPRESSION, custom=COMPRESSION, doc="WAL and data compression; none leaves it out.")
    encryption: Optional[str] = option(None, custom=ENCRYPTION, doc="Server-side encryption (AES256, aws:kms); default none.")
    labels: dict[str, str] = option(default_factory=dict, doc="Extra labels on the ScheduledBackups.")
    annotations: dict[str, str] = option(default_factory=dict, doc="Extra annotations on the ScheduledBackups.")
    scheduled_backups: list[ScheduledBackup] = option(default_factory=default_schedules, doc="One ScheduledBackup per entry; replaces the default list.")
    origins: dict = origins_field()


@dataclass
class PitrTarget(Located):
    time: Optional[str] = option(None, doc="Recover up to this time (RFC 3339 or PostgreSQL timestamp; give a zone).")
    origins: dict = origins_field()


@dataclass
class Recovery(Located):
    method: Literal["object_store", "backup"] = option("object_store", doc="Recover from the object store, or from a Backup object.")
    credentials: Optional[str] = option(None, doc="Name of an entry under `credentials` (object_store).")
    revision: Optional[str] = option(None, custom=REVISION, doc="Revision of the lineage to read (\"\" = the bare Cluster name).")
    server_name: Optional[str] = option(None, doc="serverName base to read (default: the Cluster name).")
    destination_path: Optional[str] = option(None, doc="Overrides s3://<bucket>[/<path>]/<release>/cnpg.")
    backup_name: Optional[str] = option(None, doc="Backup object to recover from (method: backup).")
    pitr_target: Optional[PitrTarget] = option(None, doc="Point-in-time recovery target.")
    origins: dict = origins_field()


@dataclass
class Match(Located):
    name: Optional[str] = option(None, doc="Cluster name or glob (fnmatch), e.g. \"*-cnpg-main\".")
    namespace: Optional[str] = option(None, doc="Cluster namespace (the Cluster's metadata.namespace, else --namespace).")
    labels: dict[str, str] = option(default_factory=dict, doc="Labels the Cluster must carry.")
    origins: dict = origins_field()


@dataclass
class Entry(Located):
    """`cnpg.<name>`: what to inject into the Cluster(s) it matches."""

    enabled: bool = option(True, doc="false skips this entry.")
    match: Optional[Match] = option(None, doc="Default: a Cluster named <name> or ending in -cnpg-<name>.")
    optional: bool = option(False, doc="Matching no Cluster is not an error.")
    mode: Literal["standalone", "recovery"] = option("standalone", doc="recovery bootstraps the Cluster from a backup.")
    skip_empty_wal_archive_check: bool = option(False, doc="Allow backups into the lineage being recovered (sets cnpg.io/skipEmptyWalArchiveCheck; dangerous).")
    backups: Backups = option(default_factory=Backups)
    recovery: Recovery = option(default_factory=Recovery)
    patches: list[dict] = option(default_factory=list, doc="RFC 6902 JSON patch operations applied last to the Cluster.")
    name: str = option("", internal=True)
    origins: dict = origins_field()


@dataclass
class Overlay(Located):
    credentials: dict[str, Credential] = option(default_factory=dict, doc="Object-store credentials by name.")
    cnpg: dict[str, Entry] = option(default_factory=dict, doc="One entry per Cluster (or glob of Clusters).")
    files: tuple[str, ...] = option((), internal=True)
    origins: dict = origins_field()
