"""The overlay model: what a user may write, its defaults and its documentation.

The shape is TrueCharts' (`credentials.<name>`, `cnpg.<name>.mode/backups/recovery`),
so values written for TrueCharts charts carry over. Every field is declared once here;
`convert` validates against it and `schema` turns it into a JSON Schema."""


import re

from renderer.cnpg import rules
from renderer.overlay.fields import Custom, Literal, Located, option, origins_field
from renderer.records import record
from renderer.sensitive import Sensitive

URL_PATTERN = r"^https?://"
RELEASE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"  # Helm's release name rule
RELEASE_ADVICE = "must be a Helm release name: lower-case letters, digits, '-' and '.', e.g. shop-prod"
DEFAULT_COMPRESSION = "gzip"
TRUECHARTS_COMPRESSION = "bzip2"  # what TrueCharts' `compression: {enabled: true}` means (2025 templates)
DEFAULT_RETENTION = "30d"
MAIN_ENTRY = "main"  # the one cnpg entry TrueCharts' values.yaml gives defaults to
SNAPSHOT_METHOD = "volumeSnapshot"
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"  # a DNS-1123 label, part of an object name
NAME_ADVICE = "must be lower-case letters, digits and '-', starting and ending with a letter or digit, e.g. daily"


AUTO_REVISION = "auto"  # resolved at render time from the object store and the live Cluster (renderer.facts)


def _revision(raw) -> str:
    """Revisions are strings; old TrueCharts docs show `revision: 1`, so a YAML
    integer is taken as its decimal string. `auto` is a keyword, not a revision."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise ValueError("must be a string such as \"1\" (or an integer), or auto")
    text = str(raw)
    if text != AUTO_REVISION and text.lower() == AUTO_REVISION:
        raise ValueError(f"'{text}': write auto in lower case (it is a keyword; any other revision is a literal)")
    if text and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", text):
        raise ValueError("may hold only letters, digits, '.' and '-' (it becomes part of a serverName), or be auto")
    return text


REVISION = Custom(_revision, {"anyOf": [
    {"const": AUTO_REVISION, "description": "Decided at render time from the object store (--check-store) "
                                            "and the live Cluster (--live, --live-kubectl)."},
    {"type": ["string", "integer"], "pattern": r"^(?![Aa][Uu][Tt][Oo]$)([A-Za-z0-9][A-Za-z0-9.-]*)?$"},
]})

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


COMPRESSION = _toggle(COMPRESSIONS, TRUECHARTS_COMPRESSION, "compression")
ENCRYPTION = _toggle(ENCRYPTIONS, "AES256", "encryption")


def _optional(convert):
    return lambda raw: None if raw is None else convert(raw)


def _by_rule(rule, integers: bool = False):
    """A converter that applies one of CNPG's value rules (`renderer.cnpg.rules`, shared
    with validate); `integers`: a YAML integer is taken as its digits (`xid: 42`)."""

    def convert(raw):
        if integers and isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        problem = rule(raw)
        if problem:
            raise ValueError(problem)
        return raw

    return convert


# rules.py has only `re` at import: the render path pays nothing for these.
def _retention(raw) -> str:
    """A barman retention window; TrueCharts' empty value (or null) keeps every backup."""
    return "" if raw is None or raw == "" else _by_rule(rules.retention)(raw)


RETENTION = Custom(_retention, {"anyOf": [{"type": "string", "pattern": rules.RETENTION_PATTERN}, {"const": ""},
                                          {"type": "null"}]})
def _unset_if_empty(convert):
    """TrueCharts' values default these keys to "" and its templates render them only
    when non-empty: "" is unset, so its values carry over as written."""
    return lambda raw: None if raw is None or raw == "" else convert(raw)


def _choice(*choices: str):
    def convert(raw) -> str:
        if raw not in choices:
            raise ValueError(f"must be one of {', '.join(choices)} (got {raw!r})")
        return raw

    return convert


TARGET_TIME = Custom(_unset_if_empty(_by_rule(rules.target_time)), {"type": "string"})
BACKUP_TARGET = Custom(_unset_if_empty(_choice("primary", "prefer-standby")),
                       {"anyOf": [{"enum": ["primary", "prefer-standby"]}, {"const": ""}, {"type": "null"}]})
LSN = Custom(_optional(_by_rule(rules.lsn)), {"type": "string", "pattern": rules.LSN_PATTERN})
XID = Custom(_optional(_by_rule(rules.xid, integers=True)),
             {"type": ["string", "integer"], "pattern": r"^[0-9]+$", "minimum": 0, "maximum": 4294967295})
TLI = Custom(_optional(_by_rule(rules.timeline, integers=True)),
             {"type": ["string", "integer"], "pattern": rules.TIMELINE_PATTERN, "minimum": 1})
RESTORE_POINT = Custom(_optional(_by_rule(rules.restore_point)), {"type": "string", "minLength": 1, "maxLength": 63})


@record
class ExistingSecret(Located):
    """An existing Secret holding the S3 keys, instead of inline ones."""

    name: str = option(doc="Secret in the Cluster's namespace holding the S3 keys.")
    access_key_id_key: str = option("ACCESS_KEY_ID", doc="Key of the access key id.")
    secret_access_key_key: str = option("ACCESS_SECRET_KEY", doc="Key of the secret access key.")
    region_key: str | None = option(None, doc="Key of the region, if the Secret holds one.")
    origins: dict = origins_field()


@record(frozen=True)
class EndpointCA:
    """The CA bundle of a self-signed endpoint: a key of an existing Secret, or an
    inline PEM that becomes a generated Secret."""

    pem: str | None = None
    name: str | None = None
    key: str = "ca.crt"


def _endpoint_ca(raw) -> EndpointCA | None:
    """`endpointCA: "-----BEGIN CERTIFICATE-----..."` or `endpointCA: {name, key}`."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if "-----BEGIN CERTIFICATE-----" not in raw:
            raise ValueError("an inline CA must be a PEM certificate (-----BEGIN CERTIFICATE-----...)")
        return EndpointCA(pem=raw)
    if isinstance(raw, dict) and set(raw) <= {"name", "key"} and isinstance(raw.get("name"), str) \
            and isinstance(raw.get("key", ""), str) and raw["name"]:
        return EndpointCA(name=raw["name"], key=raw.get("key") or "ca.crt")
    raise ValueError("must be an inline PEM certificate or {name: <Secret>, key: <key, default ca.crt>}")


ENDPOINT_CA = Custom(_endpoint_ca, {"oneOf": [
    {"type": "string", "pattern": "-----BEGIN CERTIFICATE-----"},
    {"type": "object", "required": ["name"], "additionalProperties": False,
     "properties": {"name": {"type": "string", "minLength": 1}, "key": {"type": "string", "default": "ca.crt"}}}]})


@record
class Credential(Located):
    """An object-store credential, referenced by name from `backups` and `recovery`.
    One provider per credential (`type`); which fields each provider takes, and the
    rules CNPG's webhook applies to them, are in `renderer.providers`."""

    type: Literal["s3", "azure", "google"] = option(doc="Object-store provider.")
    bucket: str | None = option(None, doc="s3, google: bucket; the default destinationPath is "
                                          "s3://<bucket>[/<path>]/<release>/cnpg (gs:// for google).")
    container: str | None = option(None, doc="azure: blob container; the default destinationPath is https://<storageAccount>.blob.core.windows.net/<container>[/<path>]/<release>/cnpg.")
    storage_account: str | None = option(None, doc="azure: storage account (destinationPath host; "
                                                   "written to the Secret as AZURE_STORAGE_ACCOUNT "
                                                   "with storageKey or storageSasToken).")
    url: str | None = option(None, pattern=URL_PATTERN,
                             advice="must start with https:// or http://, e.g. https://s3.example.com",
                             doc="Endpoint (endpointURL), e.g. https://s3.example.com. "
                                 "Leave out for AWS, Azure and Google.")
    path: str = option("", doc="Prefix inside the bucket or container; leading and trailing '/' are ignored.")
    endpoint_ca: EndpointCA | None = option(None, key="endpointCA", custom=ENDPOINT_CA,
                                            doc="CA of a self-signed endpoint: an inline PEM (a Secret "
                                                "is generated) or {name, key} of an existing Secret.")
    region: str | None = option(None, doc="s3: region, written to the Secret as REGION "
                                          "and referenced as s3Credentials.region.")
    access_key: Sensitive | None = option(None, doc="s3: access key id (a Secret is generated).")
    secret_key: Sensitive | None = option(None, doc="s3: secret access key (a Secret is generated).")
    existing_secret: ExistingSecret | None = option(None, doc="s3: use an existing Secret instead of inline keys.")
    inherit_from_iam_role: bool = option(False, key="inheritFromIAMRole",
                                         doc="s3: use the pod's IAM role (IRSA) instead of keys.")
    connection_string: Sensitive | None = option(None, doc="azure: connection string (AZURE_CONNECTION_STRING); "
                                                           "excludes every other azure way.")
    storage_key: Sensitive | None = option(None, doc="azure: storage account key (AZURE_STORAGE_KEY).")
    storage_sas_token: Sensitive | None = option(None, doc="azure: SAS token (AZURE_STORAGE_SAS_TOKEN).")
    inherit_from_azure_ad: bool = option(False, key="inheritFromAzureAD",
                                         doc="azure: authenticate with Azure AD workload identity.")
    use_default_azure_credentials: bool = option(False, doc="azure: authenticate with DefaultAzureCredential.")
    application_credentials: Sensitive | None = option(None, doc="google: service account JSON "
                                                                 "(APPLICATION_CREDENTIALS).")
    gke_environment: bool = option(False, doc="google: use the GKE workload identity instead of a key.")
    encr_key: Sensitive | None = option(None, doc="Accepted for TrueCharts compatibility (VolSync); unused by CNPG.")
    name: str = option("", internal=True)
    origins: dict = origins_field()


@record
class OnlineConfiguration(Located):
    """How an online (hot) volume-snapshot backup starts and ends (PostgreSQL's low-level
    backup API); unset keys keep CNPG's defaults."""

    immediate_checkpoint: bool | None = option(None, doc="Request an immediate checkpoint when the "
                                                         "backup starts (CNPG default: false).")
    wait_for_archive: bool | None = option(None, doc="Wait until the last WAL segment of the "
                                                     "backup is archived (CNPG default: true).")
    origins: dict = origins_field()


@record
class ManualBackup(Located):
    """One `backups.manualBackups` entry: a one-off Backup object `<cluster>-backup-<name>`,
    as TrueCharts names it (taken once, when it is first applied). `scheduledBackups`
    entries take the same keys, plus a schedule."""

    name: str = option(pattern=NAME_PATTERN, advice=NAME_ADVICE, doc="Suffix of the Backup name "
                                                                     "<cluster>-backup-<name>.")
    method: Literal["barmanObjectStore", "plugin", "volumeSnapshot"] | None = option(
        None,
        doc="volumeSnapshot (needs backups.volumeSnapshot), or the entry's engine (the "
            "default when backups.credentials names a store; otherwise volumeSnapshot).")
    online: bool | None = option(None, doc="volumeSnapshot only: a hot (true) or cold (false) "
                                           "snapshot; default: backups.volumeSnapshot.online.")
    online_configuration: OnlineConfiguration | None = option(None, doc="volumeSnapshot only: overrides "
                                                                        "backups.volumeSnapshot.onlineConfiguration.")
    labels: dict[str, str] = option(default_factory=dict, doc="Labels of this object (over backups.labels).")
    annotations: dict[str, str] = option(default_factory=dict, doc="Annotations of this object "
                                                                   "(over backups.annotations).")
    origins: dict = origins_field()


@record
class ScheduledBackup(ManualBackup):
    """One `backups.scheduledBackups` entry: a ScheduledBackup object."""

    name: str = option(pattern=NAME_PATTERN, advice=NAME_ADVICE, doc="Suffix of the ScheduledBackup name "
                                                                     "<cluster>-sched-backup-<name>.")
    schedule: str = option(doc="CNPG cron with seconds first (6 fields), e.g. "
                               "\"0 0 0 * * *\", or a descriptor such as @daily.")
    backup_owner_reference: Literal["none", "self", "cluster"] = option(
        "none",
        doc="Owner of the Backup objects it creates. none keeps them when the "
            "schedule or the Cluster goes (recovery.method: backup needs them).")
    immediate: bool = option(False, doc="Take a backup as soon as the ScheduledBackup is created.")
    suspend: bool = option(False, doc="Pause the schedule (always paused while the Cluster is hibernated).")
    target: Literal["primary", "prefer-standby"] | None = option(None, doc="Instance that runs the backup.")


def default_schedules() -> list[ScheduledBackup]:
    """A full backup daily at 00:00:00 UTC, taken at once after a restore (`immediate`:
    the lineage a restore starts has no base backup until its first one), owned by no
    object: Backup objects outlive an uninstall, so `recovery.method: backup` can use
    them. TrueCharts' default says `backupOwnerReference: self` (README: why not)."""
    return [ScheduledBackup(name="daily-backup", schedule="0 0 0 * * *",
                            backup_owner_reference="none", immediate=True, suspend=False)]


@record
class VolumeSnapshot(Located):
    """`backups.volumeSnapshot`: base backups as CSI VolumeSnapshots of the Cluster's
    volumes (the Cluster's spec.backup.volumeSnapshot; keys as CNPG names them). WAL
    archiving to an object store (backups.credentials) stays available beside it."""

    class_name: str | None = option(None, doc="VolumeSnapshotClass of the data volume, and the default for the others.")
    wal_class_name: str | None = option(None, doc="VolumeSnapshotClass of the WAL volume (default: className).")
    tablespace_class_name: dict[str, str] = option(default_factory=dict,
                                                   doc="VolumeSnapshotClass per tablespace name (each "
                                                       "must be in the Cluster's spec.tablespaces).")
    online: bool | None = option(None, doc="Hot (true, CNPG's default) or cold (false: the "
                                           "instance is fenced while it is snapshotted) backups.")
    online_configuration: OnlineConfiguration | None = option(None, doc="Hot backups: immediateCheckpoint, "
                                                                        "waitForArchive.")
    snapshot_owner_reference: Literal["none", "cluster", "backup"] | None = option(
        None,
        doc="Owner of the VolumeSnapshots (CNPG default: none, they outlive the Backup and the Cluster).")
    labels: dict[str, str] = option(default_factory=dict, doc="Labels of the VolumeSnapshots taken.")
    annotations: dict[str, str] = option(default_factory=dict, doc="Annotations of the VolumeSnapshots taken.")
    origins: dict = origins_field()


def _prometheus_duration(raw) -> str:
    """A Prometheus duration (`15m`, `1h30m`), as a PrometheusRule's `for` takes it."""
    from renderer.cnpg import alerts

    if not isinstance(raw, str) or alerts.seconds(raw) is None:
        raise ValueError("must be a Prometheus duration such as 15m, 1h or 1h30m (units y, w, d, h, m, s, ms)")
    return raw


PROMETHEUS_DURATION = Custom(_prometheus_duration, {"type": "string", "pattern": "^([0-9]+(y|w|d|h|m|s|ms))+$"})


@record
class Alerts(Located):
    """`backups.alerts`: a PrometheusRule (monitoring.coreos.com/v1) per Cluster, alerting
    when its archive stops being written — the check users otherwise make by hand, and
    learn about at restore time when they don't."""

    enabled: bool = option(False, doc="Add the PrometheusRule <cluster>-backup-alerts: WAL archiving "
                                      "failing or stalled, the last base backup older than the schedules "
                                      "allow, the metrics these need missing. Needs CNPG's metrics scraped "
                                      "(spec.monitoring.enablePodMonitor, or your own PodMonitor).")
    labels: dict[str, str] = option(default_factory=dict, doc="Labels on the PrometheusRule, e.g. "
                                                              "release: kube-prometheus-stack for the "
                                                              "Prometheus ruleSelector that picks it up.")
    wal_stalled_for: str = option("15m", custom=PROMETHEUS_DURATION,
                                  doc="How long WAL may wait in pg_wal/archive_status "
                                      "before CNPGBackupWalArchivingStalled fires.")
    backup_grace: str = option("1h", custom=PROMETHEUS_DURATION, doc="How much later than its schedules "
                                                                     "allow the last base backup may be "
                                                                     "before CNPGBackupTooOld fires.")
    origins: dict = origins_field()


@record
class Backups(Located):
    """`cnpg.<name>.backups`: where and how the Cluster archives (the write side)."""

    enabled: bool = option(False, doc="Write spec.backup, the credentials Secret, the ScheduledBackups and Backups.")
    credentials: str | None = option(None, doc="Name of an entry under `credentials`: the object store "
                                               "WAL and base backups are archived to. May be left out "
                                               "with volumeSnapshot (then no WAL is archived).")
    revision: str | None = option(None, custom=REVISION, doc="Lineage revision: serverName gets -r<revision>. In "
                                                             "recovery mode, unset means recovery revision + 1. auto: "
                                                             "the running Cluster's lineage, else the next unused one "
                                                             "in the store (needs --check-store or --live).")
    server_name: str | None = option(None, doc="serverName base (default: the Cluster name).")
    destination_path: str | None = option(None, doc="Overrides s3://<bucket>[/<path>]/<release>/cnpg.")
    retention_policy: str | None = option(None, custom=RETENTION, doc="Barman retention, e.g. 30d, 4w, 6m (m is "
                                                                      "months); \"\" keeps every backup. Unset: 30d "
                                                                      "for cnpg.main, every backup kept for other "
                                                                      "entries (TrueCharts gives only main a default).")
    target: Literal["primary", "prefer-standby"] | None = option(
        None, custom=BACKUP_TARGET,
        doc="Instance that runs backups (CNPG default: prefer-standby); \"\", TrueCharts' default, is unset.")
    jobs: int = option(2, minimum=1, doc="Parallel upload jobs for base backups.")
    compression: str | None = option(DEFAULT_COMPRESSION, custom=COMPRESSION,
                                     doc="WAL and data compression; none leaves it out. TrueCharts' "
                                         "{enabled: true} is bzip2, as there; {enabled: false} is none.")
    encryption: str | None = option(None, custom=ENCRYPTION, doc="Server-side encryption (AES256, "
                                                                 "aws:kms); default none.")
    labels: dict[str, str] = option(default_factory=dict, doc="Extra labels on the ScheduledBackups and Backups.")
    annotations: dict[str, str] = option(default_factory=dict, doc="Extra annotations on the "
                                                                   "ScheduledBackups and Backups.")
    scheduled_backups: list[ScheduledBackup] = option(default_factory=default_schedules,
                                                      doc="One ScheduledBackup per entry; replaces the "
                                                          "default list (for every entry, main or not).")
    manual_backups: list[ManualBackup] = option(default_factory=list,
                                                doc="One Backup object per entry, e.g. before an upgrade.")
    volume_snapshot: VolumeSnapshot | None = option(None, doc="Base backups as VolumeSnapshots "
                                                              "(scheduledBackups[].method: volumeSnapshot).")
    alerts: Alerts = option(default_factory=Alerts, doc="Opt-in alerts when the archive stops "
                                                        "being written (a PrometheusRule).")
    origins: dict = origins_field()


def _system_id(raw) -> str:
    """PostgreSQL's system identifier is a uint64; YAML may give it as an integer."""
    text = str(raw) if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    if not text.isdigit() or int(text) >= 1 << 64:
        raise ValueError("must be a PostgreSQL system identifier (digits, as pg_control_system() shows it)")
    return str(int(text))


SYSTEM_ID = Custom(_optional(_system_id), {"type": ["string", "integer"], "pattern": "^[0-9]+$"})


@record
class PitrTarget(Located):
    """Point-in-time recovery: at most one of time, lsn, name, xid, immediate."""

    time: str | None = option(None, custom=TARGET_TIME, doc="Recover up to this time: RFC 3339 or a PostgreSQL "
                                                            "timestamp. Give a zone: without one CNPG reads it "
                                                            "as UTC. \"\", TrueCharts' default, is unset.")
    lsn: str | None = option(None, custom=LSN, doc="Recover up to this WAL location, e.g. 0/3000060.")
    name: str | None = option(None, custom=RESTORE_POINT, doc="Recover up to this restore point "
                                                              "(pg_create_restore_point); needs backupID.")
    xid: str | None = option(None, custom=XID, doc="Recover up to this transaction id; needs backupID.")
    immediate: bool = option(False, doc="Stop as soon as the backup is consistent; needs backupID.")
    backup_id: str | None = option(None, key="backupID", doc="Base backup to start from (barman backup "
                                                             "id, e.g. 20240501T100000). With time or "
                                                             "lsn CNPG picks the closest earlier one.")
    exclusive: bool | None = option(None, doc="Stop just before the target instead of just after it.")
    tli: str | None = option(None, custom=TLI, doc="Timeline to follow: 'latest' or a number.")
    origins: dict = origins_field()


@record
class VolumeSnapshots(Located):
    """`recovery.volumeSnapshots`: the VolumeSnapshots (in the Cluster's namespace) a
    `method: volumeSnapshot` recovery bootstraps the Cluster's volumes from."""

    storage: str = option(doc="VolumeSnapshot of the data volume (PGDATA).")
    wal_storage: str | None = option(None, doc="VolumeSnapshot of the WAL volume "
                                               "(needs the Cluster's spec.walStorage).")
    tablespaces: dict[str, str] = option(default_factory=dict, doc="VolumeSnapshot per tablespace name.")
    origins: dict = origins_field()


@record
class RecoveryFrom(Located):
    """`recovery.from`: where the old data lives, when the restored Cluster is called
    differently (another release, namespace or Cluster name). The recovery side is
    derived from it by the write side's rules; backups go to the new name's lineage."""

    release: str | None = option(None, pattern=RELEASE_PATTERN, advice=RELEASE_ADVICE,
                                 doc="The old release: the default recovery destinationPath is <base>/<release>/cnpg.")
    namespace: str | None = option(None, pattern=NAME_PATTERN,
                                   advice="must be a namespace name: lower-case letters, digits and '-', e.g. shop",
                                   doc="The old namespace: finds the old Cluster in the live state (--live, "
                                       "--live-kubectl), whose status.systemID is the database to restore.")
    cluster: str | None = option(None, pattern=NAME_PATTERN,
                                 advice="must be a Cluster name: lower-case letters, "
                                        "digits and '-', e.g. shop-cnpg-main",
                                 doc="The old Cluster name: the recovery serverName base. "
                                     "Default: the name TrueCharts gave this entry in the old "
                                     "release (<fullname>-cnpg-<name>), else this Cluster's name.")
    origins: dict = origins_field()


@record
class Recovery(Located):
    """`cnpg.<name>.recovery`: where a recovering Cluster reads from (the read side)."""

    method: Literal["object_store", "backup", "volumeSnapshot"] = option(
        "object_store",
        doc="Recover from the object store, from a Backup object (any "
            "method), or from VolumeSnapshots (recovery.volumeSnapshots).")
    credentials: str | None = option(None, doc="Name of an entry under `credentials`: the store to "
                                               "read (object_store), or the WAL archive to replay "
                                               "after the snapshots (volumeSnapshot, optional).")
    revision: str | None = option(None, custom=REVISION, doc="Revision of the lineage to read (\"\" = the bare "
                                                             "Cluster name). auto: the newest lineage in the store "
                                                             "holding a completed base backup (needs --check-store).")
    server_name: str | None = option(None, doc="serverName base to read (default: the Cluster name).")
    destination_path: str | None = option(None, doc="Overrides s3://<bucket>[/<path>]/<release>/cnpg.")
    backup_name: str | None = option(None, doc="Backup object to recover from (method: backup).")
    volume_snapshots: VolumeSnapshots | None = option(None, doc="The VolumeSnapshots to recover "
                                                                "from (method: volumeSnapshot).")
    from_: RecoveryFrom | None = option(None, key="from", doc="Where the old data lives when the restored "
                                                              "Cluster has another release, namespace or name.")
    pitr_target: PitrTarget | None = option(None, doc="Point-in-time recovery target.")
    system_id: str | None = option(None, key="systemID", custom=SYSTEM_ID,
                                   doc="The PostgreSQL system identifier to restore (SELECT "
                                       "system_identifier FROM pg_control_system(), or a running Cluster's "
                                       "status.systemID). With --check-store, a lineage of another system is "
                                       "never read; needed when two databases share one serverName series.")
    accept_data_loss: bool = option(False, doc="Restore even though the store holds newer WAL of this database that "
                                               "no lineage can restore yet (a newer lineage without a base backup, "
                                               "or a revision older than the newest). The render warns what is lost.")
    origins: dict = origins_field()

    @property
    def reads_store(self) -> bool:
        """Whether the recovery reads an object-store lineage: object_store reads base
        backups and WAL there, volumeSnapshot the WAL to replay when a credential names
        the archive; a Backup object brings its own."""
        return self.method != "backup" and self.credentials is not None


@record
class Match(Located):
    """`cnpg.<name>.match`: which Clusters the entry edits."""

    name: str | None = option(None, doc="Cluster name or glob (fnmatch), e.g. \"*-cnpg-main\".")
    namespace: str | None = option(None, doc="Cluster namespace (the Cluster's metadata.namespace, else --namespace).")
    labels: dict[str, str] = option(default_factory=dict, doc="Labels the Cluster must carry.")
    origins: dict = origins_field()


@record
class Entry(Located):
    """`cnpg.<name>`: what to inject into the Cluster(s) it matches."""

    enabled: bool = option(True, doc="false skips this entry.")
    match: Match | None = option(None, doc="Default: a Cluster named <name> or ending in -cnpg-<name>.")
    optional: bool = option(False, doc="Matching no Cluster is not an error.")
    mode: Literal["standalone", "recovery"] = option("standalone", doc="recovery bootstraps the Cluster from a backup.")
    engine: Literal["barmanObjectStore", "plugin"] = option(
        "barmanObjectStore",
        doc="barmanObjectStore: CNPG's in-tree Barman Cloud (deprecated, removed in CNPG 1.31). "
            "plugin: the barman-cloud plugin; migrates a chart-rendered in-tree store (docs/engines.md).")
    release: str | None = option(None, pattern=RELEASE_PATTERN, advice=RELEASE_ADVICE,
                                 doc="Pins the release name in the default destinationPath "
                                     "(<base>/<release>/cnpg), whoever renders; otherwise --release, "
                                     "else the Cluster's app.kubernetes.io/instance label.")
    skip_empty_wal_archive_check: bool = option(False, doc="Allow backups into the lineage being recovered "
                                                           "(sets cnpg.io/skipEmptyWalArchiveCheck; dangerous).")
    backups: Backups = option(default_factory=Backups)
    recovery: Recovery = option(default_factory=Recovery)
    patches: list[dict] = option(default_factory=list, doc="RFC 6902 JSON patch operations "
                                                           "applied last to the Cluster.")
    name: str = option("", internal=True)
    origins: dict = origins_field()

    @property
    def retention(self) -> str | None:
        """What barman prunes to (None: keep every backup). Unset, TrueCharts' `30d`
        applies to `main` only — its values.yaml gives defaults to cnpg.main alone — so a
        second database never loses backups TrueCharts would have kept."""
        policy = self.backups.retention_policy
        if policy is None:
            return DEFAULT_RETENTION if self.name == MAIN_ENTRY else None
        return policy or None

    def method(self, request: ManualBackup) -> str:
        """The engine a Backup or ScheduledBackup of this entry uses: the one it names,
        else the entry's object-store engine, else (no store) volume snapshots."""
        if request.method is not None:
            return request.method
        return self.engine if self.backups.credentials else SNAPSHOT_METHOD


@record
class Overlay(Located):
    """The whole overlay, merged from every --overlay file."""

    credentials: dict[str, Credential] = option(default_factory=dict, doc="Object-store credentials by name.")
    defaults: Entry | None = option(None, doc="Values every cnpg entry starts from (all but match); the entry's own "
                                              "values win key by key, lists are replaced whole. See docs/engines.md.")
    cnpg: dict[str, Entry] = option(default_factory=dict, doc="One entry per Cluster (or glob of Clusters).")
    files: tuple[str, ...] = option((), internal=True)
    notices: tuple = option((), internal=True)  # warnings found while reading it (renderer.errors.Notice)
    origins: dict = origins_field()
