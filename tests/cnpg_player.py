"""Play CloudNativePG from rendered manifests: the barman-cloud calls the operator (or
its barman-cloud plugin) would make for one Cluster, built from the rendered objects
and nothing else.

Why: a lineage verdict is only worth something if the real tools, called the way CNPG
calls them, agree with it. Building those calls from two fields of the render (the old
harness took destinationPath and serverName) hides every other way a render can be
wrong: endpoint, credentials, CA, compression, the backup CNPG picks for a PITR target.

Pure: no processes, no files written. ``tests/cnpg_cluster.py`` runs what this builds.
Paths CNPG mounts inside a pod (``/controller/certificates/...``, the plugin's
``/barman-certificates/<ObjectStore>/...``) are rebased under ``root`` so a test can
give every instance its own "pod".

Upstream followed (read in the mirrors, the commits named):

- ``cloudnative-pg/barman-cloud`` 950b0f5 (v0.5.1+61), the command builder both the
  operator and the plugin import: ``pkg/command/commandbuilder.go``
  (``CloudWalRestoreOptions``, ``appendCloudProviderOptions``), ``pkg/archiver/command.go``
  (``BarmanCloudWalArchiveOptions``), ``pkg/archiver/archiver.go``
  (``BarmanCloudCheckWalArchiveOptions``), ``pkg/backup/backup.go``
  (``GetBarmanCloudBackupOptions``, ``GetDataConfiguration``), ``pkg/command/backuplist.go``
  (``executeQueryCommand``), ``pkg/credentials/env.go`` (``EnvSetCloudCredentialsAndCertificates``
  and the per-provider ``envSet*Credentials``), ``pkg/api/config.go``
  (``appendAdditionalCommandArgs``), ``pkg/catalog/catalog.go`` (``LatestBackupInfo``,
  ``FindBackupInfo`` and its ``findClosestBackupFrom*``), ``pkg/catalog/sorting.go``.
- ``cloudnative-pg/cloudnative-pg`` a95a534d (main, 2026-08-21):
  ``pkg/management/postgres/restore.go`` (``restoreViaBarmanObjectStore``,
  ``checkBackupDestination``, ``loadBackupObjectFromExternalCluster``,
  ``ensureArchiveContainsLastCheckpointRedoWAL``, ``buildRestoreDataDirOptions``,
  ``getRestoreWalConfig``, ``recoverySourceObjectStore``, ``concludeRestore``),
  ``api/v1/cluster_funcs.go`` (``ExternalCluster.GetServerName``,
  ``RecoveryTarget.BuildPostgresOptions``), ``pkg/management/postgres/backup.go``
  (``setupBackupStatus``), ``pkg/management/postgres/archiver/archiver.go``
  (``internalRun``, ``shouldCheckEmptyWalArchive``), ``pkg/utils/labels_annotations.go``
  (``IsEmptyWalArchiveCheckEnabled``), ``pkg/specs/jobs.go``
  (``addBarmanEndpointCAToJobFromCluster``), ``pkg/specs/pods.go``
  (``AddBarmanEndpointCAToPodSpec``), ``pkg/reconciler/instance/certificate/reconciler.go``
  (``refreshBarmanEndpointCA``), ``pkg/postgres/configuration.go`` (CA locations).
- ``cloudnative-pg/plugin-barman-cloud`` 9967e2c (v0.14.0+1):
  ``internal/cnpgi/operator/config/config.go`` (``NewFromCluster``: serverName defaults),
  ``internal/cnpgi/restore/restore.go`` (``Restore``, ``restoreDataDir``,
  ``checkBackupDestination``, ``getRestoreWalConfig``), ``internal/cnpgi/common/wal.go``
  (``Archive``, ``restoreFromBarmanObjectStore``), ``internal/cnpgi/common/common.go``
  (``BuildCertificateFilePath``), ``internal/cnpgi/instance/backup.go``.

Not played: WAL prefetch/parallel archiving (``wal.maxParallel``: one file per call),
the spool, recovery from a ``Backup`` object (``bootstrap.recovery.backup``), replica
clusters, a Cluster mixing the in-tree store and the plugin across its two sides,
retention, tags' formatting edge cases (``MapToBarmanTagsFormat`` is mirrored for plain
values only).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

PLUGIN = "barman-cloud.cloudnative-pg.io"
SKIP_CHECK_ANNOTATION = "cnpg.io/skipEmptyWalArchiveCheck"
# PGDATA/<marker>: written after initdb and after a restore; the archiver runs the
# empty-archive check while it exists and removes it after the first archived WAL
# (cloudnative-pg pkg/management/postgres/constants, barman-cloud pkg/walarchive/cmd.go Archive).
CHECK_MARKER = ".check-empty-wal-archive"
# cloudnative-pg pkg/postgres/configuration.go; the in-tree instance gets the backup
# store's CA at the first, the recovery Job gets its source's CA at the second.
BACKUP_CA = "/controller/certificates/backup-barman-ca.crt"
RESTORE_CA = "/controller/certificates/restore-barman-ca.crt"
# barman-cloud pkg/credentials/env.go reconcileGoogleCredentials
GOOGLE_CREDENTIALS = "/controller/.application_credentials.json"
# plugin internal/cnpgi/metadata/constants.go BarmanCertificatesPath + file name
PLUGIN_CA_DIR = "/barman-certificates"

Secrets = Mapping[str, Mapping[str, bytes]]


class OperatorError(Exception):
    """A step fails the way the operator's would, with the operator's message."""


@dataclass(frozen=True)
class Invocation:
    """One barman-cloud call: the tool, its arguments, the environment CNPG gives it
    (credentials, CA bundle; on top of the pod's own), and the files the pod holds for
    it (CA bundle, Google credentials) keyed by absolute path."""

    tool: str
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)

    def plus(self, *args: str) -> Invocation:
        """The same call with run-time arguments appended (a WAL path, a target dir)."""
        return Invocation(self.tool, (*self.args, *args), self.env, self.files)


@dataclass(frozen=True)
class Pod:
    """Where a call runs: the environment the pod starts with (``os.Environ()`` upstream)
    and the files mounted into it."""

    env: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)


# --------------------------------------------------------------------------- the rendered stream


def load(stream: bytes) -> list[dict]:
    """The mapping documents of a rendered stream."""
    return [d for d in yaml.safe_load_all(stream) if isinstance(d, dict)]


def secrets_in(docs: Iterable[dict],
               extra: Mapping[str, Mapping[str, str | bytes]] = ()) -> dict[str, dict[str, bytes]]:
    """Secret name -> key -> value, as the API server stores it: ``data`` (base64)
    overlaid by ``stringData``. ``extra`` adds Secrets the render only references
    (``existingSecret``), given as plain values."""
    found: dict[str, dict[str, bytes]] = {}
    for doc in docs:
        if doc.get("kind") != "Secret":
            continue
        values = {k: base64.b64decode(v) for k, v in (doc.get("data") or {}).items()}
        values.update({k: str(v).encode() for k, v in (doc.get("stringData") or {}).items()})
        found[doc["metadata"]["name"]] = values
    for name, values in dict(extra).items():
        found[name] = {k: v if isinstance(v, bytes) else v.encode() for k, v in values.items()}
    return found


def secret_value(secrets: Secrets, selector: Mapping[str, str]) -> bytes:
    """barman-cloud pkg/credentials/env.go ``extractValueFromSecret``, with its messages."""
    name, key = selector["name"], selector["key"]
    if name not in secrets:
        raise OperatorError(f'while getting secret {name}: secrets "{name}" not found')
    if key not in secrets[name]:
        raise OperatorError(f"missing key {key}, inside secret {name}")
    return secrets[name][key]


# --------------------------------------------------------------------------- barman-cloud's builder


def server_name(config: Mapping[str, Any], cluster_name: str) -> str:
    """The ``serverName := clusterName; if configuration.ServerName != "" …`` every
    barman-cloud builder starts with."""
    return config.get("serverName") or cluster_name


def cloud_provider_options(config: Mapping[str, Any]) -> list[str]:
    """barman-cloud pkg/command/commandbuilder.go ``appendCloudProviderOptions``."""
    if "s3Credentials" in config:
        return ["--cloud-provider", "aws-s3"]
    if "azureCredentials" in config:
        azure = config["azureCredentials"] or {}
        options = ["--cloud-provider", "azure-blob-storage"]
        if azure.get("useDefaultAzureCredentials"):
            return [*options, "--credential", "default"]
        if azure.get("inheritFromAzureAD"):
            return [*options, "--credential", "managed-identity"]
        return options
    if "googleCredentials" in config:
        return ["--cloud-provider", "google-cloud-storage"]
    return []


def endpoint_options(config: Mapping[str, Any]) -> list[str]:
    return ["--endpoint-url", config["endpointURL"]] if config.get("endpointURL") else []


def additional_args(options: list[str], extra: Iterable[str] | None) -> list[str]:
    """barman-cloud pkg/api/config.go ``appendAdditionalCommandArgs``: an extra argument
    whose key (before ``=``) is already among the options is dropped."""
    keys = {o.split("=")[0] for o in options if o.split("=")[0]}
    out = list(options)
    for arg in extra or ():
        key = arg.split("=")[0]
        if key and key not in out and key not in keys:
            out.append(arg)
    return out


def tag_options(flag: str, tags: Mapping[str, str] | None) -> list[str]:
    """barman-cloud pkg/utils ``MapToBarmanTagsFormat`` for plain values: ``flag k,v …``."""
    return [flag, *(f"{k},{v}" for k, v in sorted(tags.items()))] if tags else []


def wal_archive_options(config: Mapping[str, Any], cluster_name: str) -> list[str]:
    """barman-cloud pkg/archiver/command.go ``BarmanCloudWalArchiveOptions``."""
    wal = config.get("wal") or {}
    options: list[str] = []
    if wal.get("compression"):
        options.append(f"--{wal['compression']}")
    if wal.get("encryption"):
        options += ["-e", wal["encryption"]]
    options = additional_args(options, wal.get("archiveAdditionalCommandArgs"))
    options += endpoint_options(config)
    options += tag_options("--tags", config.get("tags"))
    options += tag_options("--history-tags", config.get("historyTags"))
    return [*options, *cloud_provider_options(config), config["destinationPath"], server_name(config, cluster_name)]


def check_wal_archive_options(config: Mapping[str, Any], cluster_name: str) -> list[str]:
    """barman-cloud pkg/archiver/archiver.go ``BarmanCloudCheckWalArchiveOptions``."""
    return [*endpoint_options(config), *cloud_provider_options(config),
            config["destinationPath"], server_name(config, cluster_name)]


def wal_restore_options(config: Mapping[str, Any], cluster_name: str) -> list[str]:
    """barman-cloud pkg/command/commandbuilder.go ``CloudWalRestoreOptions`` (the WAL
    name and destination are appended per call by ``pkg/restorer`` ``Restore``)."""
    options = [*endpoint_options(config), *cloud_provider_options(config),
               config["destinationPath"], server_name(config, cluster_name)]
    return additional_args(options, (config.get("wal") or {}).get("restoreAdditionalCommandArgs"))


def backup_options(config: Mapping[str, Any], backup_name: str, server: str) -> list[str]:
    """barman-cloud pkg/backup/backup.go ``GetBarmanCloudBackupOptions`` +
    ``GetDataConfiguration``."""
    options = ["--user", "postgres", "--name", backup_name]
    data = config.get("data")
    if data:
        if data.get("compression"):
            options.append(f"--{data['compression']}")
        if data.get("encryption"):
            options += ["--encryption", data["encryption"]]
        if data.get("immediateCheckpoint"):
            options.append("--immediate-checkpoint")
        if data.get("jobs") is not None:
            options += ["--jobs", str(data["jobs"])]
        options = additional_args(options, data.get("additionalCommandArgs"))
    options += tag_options("--tags", config.get("tags"))
    return [*options, *endpoint_options(config), *cloud_provider_options(config), config["destinationPath"], server]


def query_options(config: Mapping[str, Any], server: str, *more: str) -> list[str]:
    """barman-cloud pkg/command/backuplist.go ``executeQueryCommand``: the options of
    barman-cloud-backup-list (``GetBackupList``) and -show (``GetBackupByName``, with the
    backup name as ``more``)."""
    return ["--format", "json", *endpoint_options(config), *cloud_provider_options(config),
            config["destinationPath"], server, *more]


def credentials(config: Mapping[str, Any], secrets: Secrets, ca_location: str, root: str) -> Pod:
    """barman-cloud pkg/credentials/env.go ``EnvSetCloudCredentialsAndCertificates``:
    the CA bundle variable (pointing at ``ca_location``, a file the caller's pod holds)
    and the provider's credentials read from the Secrets."""
    env: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if config.get("endpointCA") and "s3Credentials" in config:
        env["AWS_CA_BUNDLE"] = root + ca_location
    elif config.get("endpointCA") and "azureCredentials" in config:
        env["REQUESTS_CA_BUNDLE"] = root + ca_location
    if "s3Credentials" in config:
        env.update(_aws_env(config["s3Credentials"] or {}, secrets))
    elif "googleCredentials" in config:
        google = config["googleCredentials"] or {}
        if not (google.get("gkeEnvironment") and not google.get("applicationCredentials")):
            files[root + GOOGLE_CREDENTIALS] = secret_value(secrets, google["applicationCredentials"])
            env["GOOGLE_APPLICATION_CREDENTIALS"] = root + GOOGLE_CREDENTIALS
    elif "azureCredentials" in config:
        env.update(_azure_env(config["azureCredentials"] or {}, secrets))
    else:
        raise OperatorError("ObjectStoreConfiguration invalid: no credentials defined")
    return Pod(env, files)


def _aws_env(s3: Mapping[str, Any], secrets: Secrets) -> dict[str, str]:
    """barman-cloud pkg/credentials/env.go ``envSetAWSCredentials``."""
    if s3.get("inheritFromIAMRole"):
        return {}
    if not s3.get("accessKeyId"):
        raise OperatorError("missing access key ID")
    if not s3.get("secretAccessKey"):
        raise OperatorError("missing secret access key")
    names = {"region": "AWS_DEFAULT_REGION", "sessionToken": "AWS_SESSION_TOKEN",
             "accessKeyId": "AWS_ACCESS_KEY_ID", "secretAccessKey": "AWS_SECRET_ACCESS_KEY"}
    return {var: secret_value(secrets, s3[field]).decode() for field, var in names.items() if s3.get(field)}


def _azure_env(azure: Mapping[str, Any], secrets: Secrets) -> dict[str, str]:
    """barman-cloud pkg/credentials/env.go ``envSetAzureCredentials``."""
    if azure.get("inheritFromAzureAD") or azure.get("useDefaultAzureCredentials"):
        return {}
    names = {"storageAccount": "AZURE_STORAGE_ACCOUNT", "storageKey": "AZURE_STORAGE_KEY",
             "storageSasToken": "AZURE_STORAGE_SAS_TOKEN", "connectionString": "AZURE_STORAGE_CONNECTION_STRING"}
    return {var: secret_value(secrets, azure[field]).decode() for field, var in names.items() if azure.get(field)}


# --------------------------------------------------------------------------- the catalog


def parse_time(text: str) -> datetime:
    """A ``targetTime`` the way CNPG parses it (machinery ``ParseTargetTime``: RFC 3339 or
    a PostgreSQL timestamp); without a zone it is UTC."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise OperatorError(f"while parsing recovery target targetTime: {exc}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_lsn(text: str) -> int:
    """machinery ``types.LSN.Parse``: ``X/Y`` in hex."""
    match = re.fullmatch(r"([0-9A-Fa-f]+)/([0-9A-Fa-f]+)", text or "")
    if not match:
        raise OperatorError(f"while parsing recovery target targetLSN: invalid LSN {text!r}")
    return (int(match[1], 16) << 32) + int(match[2], 16)


def _backup_time(backup: Mapping[str, Any], key: str) -> datetime | None:
    """catalog.go ``deserializeBackupTimeStrings``: the ISO field, else barman's ctime."""
    iso, ctime = backup.get(f"{key}_time_iso"), backup.get(f"{key}_time")
    if iso:
        return datetime.fromisoformat(iso)
    if ctime:
        return datetime.strptime(ctime, "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
    return None


def _done(backup: Mapping[str, Any]) -> bool:
    """catalog.go ``isBackupDone``: both begin and end times are set."""
    return _backup_time(backup, "begin") is not None and _backup_time(backup, "end") is not None


def sorted_catalog(backups: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """catalog/sorting.go: by begin time, unfinished backups last."""
    def key(b):
        begin = _backup_time(b, "begin")
        return (begin is None, begin or datetime.min.replace(tzinfo=UTC))
    return sorted(backups, key=key)


def _on_timeline(backup: Mapping[str, Any], tli: str) -> bool:
    return str(backup.get("timeline")) == tli or re.fullmatch(r"|latest", tli) is not None


def choose_backup(backups: Iterable[Mapping[str, Any]], target: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The base backup CNPG restores: ``LatestBackupInfo`` without a recovery target,
    else ``FindBackupInfo`` (backupID; closest completed backup ending at or before
    targetTime; ending before targetLSN; else the latest on targetTLI). None found is
    the operator's own failure (restore.go ``loadBackupObjectFromExternalCluster``)."""
    catalog = sorted_catalog(backups)
    done = [b for b in reversed(catalog) if _done(b)]
    chosen: Mapping[str, Any] | None
    if not target:
        chosen = done[0] if done else None
    elif target.get("backupID"):
        chosen = next((b for b in catalog if _done(b) and b["backup_id"] == target["backupID"]), None)
        if chosen is None:
            raise OperatorError(f"no backup found with ID {target['backupID']}")
    else:
        tli = str(target.get("targetTLI") or "")
        fits = [b for b in done if _on_timeline(b, tli)]
        if target.get("targetTime"):
            when = parse_time(target["targetTime"])
            fits = [b for b in fits if _backup_time(b, "end") <= when]
        elif target.get("targetLSN"):
            lsn = parse_lsn(target["targetLSN"])
            fits = [b for b in fits if parse_lsn(b["end_xlog"]) < lsn]
        chosen = fits[0] if fits else None
    if chosen is None:
        raise OperatorError("no target backup found")
    return chosen


# --------------------------------------------------------------------------- PostgreSQL settings


def recovery_target_settings(target: Mapping[str, Any] | None) -> dict[str, str]:
    """cloudnative-pg api/v1/cluster_funcs.go ``RecoveryTarget.BuildPostgresOptions``
    (appended by restore.go ``writeCustomRestoreWalConfig``). No ``recovery_target_timeline``
    unless ``targetTLI`` is set: PostgreSQL's default, ``latest``, applies."""
    if target is None:
        return {}
    simple = {"targetTLI": "recovery_target_timeline", "targetXID": "recovery_target_xid",
              "targetName": "recovery_target_name", "targetLSN": "recovery_target_lsn"}
    options = {setting: str(target[key]) for key, setting in simple.items() if target.get(key)}
    if target.get("targetTime"):
        options["recovery_target_time"] = _postgres_time(target["targetTime"])
    if target.get("targetImmediate"):
        options["recovery_target"] = "immediate"
    options["recovery_target_inclusive"] = "false" if target.get("exclusive") else "true"
    return options


def _postgres_time(text: str) -> str:
    """machinery pkg/postgres/time ``ConvertToPostgresFormat`` (machinery 4d1e611, which
    CNPG main pins): RFC 3339, or RFC 3339 without a zone read as UTC, becomes
    ``2006-01-02 15:04:05.000000+00:00``; UTC is written ``+00:00``, never ``Z``, which
    PostgreSQL's ``recovery_target_time`` check rejects at startup. Anything else
    (a PostgreSQL timestamp) is passed as written."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text
    if "T" not in text:
        return text
    offset = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).strftime("%z")
    return parsed.strftime("%Y-%m-%d %H:%M:%S.%f") + f"{offset[:3]}:{offset[3:]}"


def restore_settings(restore_command: str, target: Mapping[str, Any] | None) -> dict[str, str]:
    """What the restore writes to the instance's configuration before the recovery
    starts: ``archive_command = 'false'`` (restore.go ``writeRecoveryConfiguration``),
    ``recovery_target_action = promote`` and the ``restore_command`` (restore.go
    ``getRestoreWalConfig``, plugin restore.go ``getRestoreWalConfig``; upstream the
    command is ``/controller/manager wal-restore``, which runs barman-cloud-wal-restore
    with ``CloudWalRestoreOptions`` — the harness's script does that directly), then the
    recovery target."""
    return {"archive_command": "false", "recovery_target_action": "promote",
            "restore_command": restore_command, **recovery_target_settings(target)}


# --------------------------------------------------------------------------- a rendered Cluster


@dataclass(frozen=True)
class Side:
    """One side of a Cluster's lineage: the store configuration (the Cluster's field,
    or the plugin ObjectStore's ``spec.configuration``), the name the builders fall back
    to when it has no ``serverName``, and the plugin ObjectStore's name."""

    config: Mapping[str, Any]
    fallback_name: str
    object_store: str | None = None

    @property
    def server_name(self) -> str:
        return server_name(self.config, self.fallback_name)

    @property
    def destination(self) -> str:
        return self.config["destinationPath"]


@dataclass(frozen=True)
class ClusterPlan:
    """A rendered Cluster as the operator reads it: the write side (archive + base
    backups), the read side (recovery source), the recovery target, whether the
    empty-archive check runs; and every barman-cloud call it leads to."""

    name: str
    engine: str  # "in-tree" or "plugin"
    write: Side | None
    read: Side | None
    recovery_target: Mapping[str, Any] | None
    check_empty_wal_archive: bool
    secrets: Secrets
    root: str = ""
    # In-tree: the Cluster's spec.env, in its instance pods and recovery Job (the plugin's
    # sidecar takes its ObjectStore's instanceSidecarConfiguration.env instead: not played)
    pod_env: Mapping[str, str] = field(default_factory=dict)

    # -- calls from the running instance (archive_command, the scheduled Backup)

    def instance_pod(self) -> Pod:
        """In-tree: the certificate reconciler writes the backup store's CA to
        ``BACKUP_CA`` (``refreshBarmanEndpointCA``); plugin: the sidecar holds each
        ObjectStore's CA under ``/barman-certificates/<name>/``. The environment: ``pod_env``."""
        return Pod(self.pod_env, self._ca_file(self._need("write"), BACKUP_CA))

    def check_wal_archive(self) -> Invocation:
        """The empty-archive check before the first archived WAL (archiver.go
        ``internalRun`` → ``checkWalArchive``; plugin wal.go ``Archive``)."""
        side = self._need("write")
        return self._call(side, "barman-cloud-check-wal-archive",
                          check_wal_archive_options(side.config, side.fallback_name), self.instance_pod(), BACKUP_CA)

    def wal_archive(self) -> Invocation:
        """archive_command (archiver.go ``internalRun``; plugin wal.go ``Archive``); the
        WAL path is appended per call."""
        side = self._need("write")
        return self._call(side, "barman-cloud-wal-archive",
                          wal_archive_options(side.config, side.fallback_name), self.instance_pod(), BACKUP_CA)

    def backup(self, backup_name: str) -> Invocation:
        """A Backup of this Cluster (postgres/backup.go ``setupBackupStatus`` + barman-cloud
        ``Take``; plugin instance/backup.go). ``backup_name`` is ``backup-<YYYYMMDDhhmmss>``
        upstream."""
        side = self._need("write")
        return self._call(side, "barman-cloud-backup", backup_options(side.config, backup_name, side.server_name),
                          self.instance_pod(), BACKUP_CA)

    def backup_show(self, backup_name: str) -> Invocation:
        """How CNPG reads a finished backup back (backup.go ``GetExecutedBackupInfo`` →
        ``GetBackupByName``)."""
        side = self._need("write")
        return self._call(side, "barman-cloud-backup-show", query_options(side.config, side.server_name, backup_name),
                          self.instance_pod(), BACKUP_CA)

    # -- calls from the recovery Job

    def job_pod(self) -> Pod:
        """In-tree: jobs.go ``addBarmanEndpointCAToJobFromCluster`` mounts the recovery
        source's CA at ``RESTORE_CA`` and sets ``AWS_CA_BUNDLE`` (``REQUESTS_CA_BUNDLE`` for
        Azure) in the Job's environment (pods.go ``AddBarmanEndpointCAToPodSpec``).
        Plugin: every referenced ObjectStore's CA under ``/barman-certificates/``. The
        Job's environment starts with ``pod_env`` too (jobs.go ``CreatePrimaryJob``)."""
        read = self._need("read")
        if self.engine == "plugin":
            return Pod(self.pod_env, {**self._ca_file(read, ""),
                                      **(self._ca_file(self.write, "") if self.write else {})})
        if not read.config.get("endpointCA"):
            return Pod(self.pod_env)
        variable = "REQUESTS_CA_BUNDLE" if "azureCredentials" in read.config else "AWS_CA_BUNDLE"
        return Pod({**self.pod_env, variable: self.root + RESTORE_CA}, self._ca_file(read, RESTORE_CA))

    def restore_check_wal_archive(self) -> Invocation | None:
        """The check the restore runs on the write side before anything else, or None
        when it does not run (restore.go ``checkBackupDestination``: only with
        ``spec.backup.barmanObjectStore``, credentials as for a restore; plugin restore.go
        ``checkBackupDestination``: with a ``barmanObjectName``). Skipped by the annotation."""
        if self.write is None or not self.check_empty_wal_archive:
            return None
        return self._call(self.write, "barman-cloud-check-wal-archive",
                          check_wal_archive_options(self.write.config, self.write.fallback_name),
                          self.job_pod(), RESTORE_CA)

    def backup_list(self) -> Invocation:
        """The catalog of the recovery source (restore.go ``loadBackupObjectFromExternalCluster``
        → ``GetBackupList``)."""
        read = self._need("read")
        return self._call(read, "barman-cloud-backup-list", query_options(read.config, read.server_name),
                          self.job_pod(), RESTORE_CA)

    def choose_backup(self, catalog_json: Mapping[str, Any]) -> Mapping[str, Any]:
        """The base backup the restore uses, from barman-cloud-backup-list's JSON."""
        return choose_backup(catalog_json.get("backups_list") or [], self.recovery_target)

    def first_wal_check(self, backup: Mapping[str, Any]) -> Invocation:
        """Fetch the backup's first WAL before restoring (``ensureArchiveContainsLastCheckpointRedoWAL``,
        in-tree and plugin); a path to write it to is appended."""
        read = self._need("read")
        if self.engine == "plugin":
            config, fallback = read.config, read.server_name
        else:
            config, fallback = self._backup_store(read), self.name
        return self._call(read, "barman-cloud-wal-restore",
                          [*wal_restore_options(config, fallback), backup["begin_wal"]], self.job_pod(), RESTORE_CA)

    def restore(self, backup: Mapping[str, Any], pgdata: str) -> Invocation:
        """barman-cloud-restore of the chosen backup (restore.go ``buildRestoreDataDirOptions``;
        plugin restore.go ``restoreDataDir``, which orders the options differently)."""
        read = self._need("read")
        config, ident = read.config, [read.destination, read.server_name, backup["backup_id"]]
        extra = (config.get("data") or {}).get("restoreAdditionalCommandArgs")
        if self.engine == "plugin":
            args = [*additional_args([*cloud_provider_options(config), *endpoint_options(config)], extra),
                    *ident, pgdata]
        else:
            args = [*endpoint_options(config), *ident, *cloud_provider_options(config)]
            args = [*additional_args(args, extra), pgdata]
        return self._call(read, "barman-cloud-restore", args, self.job_pod(), RESTORE_CA)

    def wal_restore(self) -> Invocation:
        """restore_command during the recovery: the source store as recorded for the
        chosen backup plus the source's ``wal`` settings (restore.go
        ``recoverySourceObjectStore``; plugin wal.go ``restoreFromBarmanObjectStore``
        with the recovery ObjectStore and serverName). ``%f %p`` are appended per call."""
        read = self._need("read")
        config = read.config if self.engine == "plugin" else {**self._backup_store(read), "wal": read.config.get("wal")}
        return self._call(read, "barman-cloud-wal-restore", wal_restore_options(config, read.server_name),
                          self.job_pod(), RESTORE_CA)

    def restore_settings(self, restore_command: str) -> dict[str, str]:
        return restore_settings(restore_command, self.recovery_target)

    # -- helpers

    def _need(self, side: str) -> Side:
        found = getattr(self, side)
        if found is None:
            raise OperatorError(f"Cluster {self.name} has no "
                                f"{'backup' if side == 'write' else 'recovery'} object store")
        return found

    def _ca_path(self, side: Side, in_tree_location: str) -> str:
        if self.engine == "plugin":  # plugin common.go BuildCertificateFilePath
            return f"{PLUGIN_CA_DIR}/{side.object_store}/barman-ca.crt"
        return in_tree_location

    def _ca_file(self, side: Side, in_tree_location: str) -> dict[str, bytes]:
        selector = side.config.get("endpointCA")
        if not selector:
            return {}
        return {self.root + self._ca_path(side, in_tree_location): secret_value(self.secrets, selector)}

    def _call(self, side: Side, tool: str, args: list[str], pod: Pod, in_tree_ca: str) -> Invocation:
        """The call with the pod's environment and files, then the store's credentials
        (later values win, as duplicate keys do in Go's ``exec.Cmd.Env``)."""
        creds = credentials(side.config, self.secrets, self._ca_path(side, in_tree_ca), self.root)
        return Invocation(tool, tuple(args), {**pod.env, **creds.env}, {**pod.files, **creds.files})

    @staticmethod
    def _backup_store(read: Side) -> dict[str, Any]:
        """restore.go ``barmanObjectStoreFromBackup``: the in-memory Backup's coordinates
        (credentials, endpointCA, endpointURL, destinationPath, serverName) and nothing else."""
        keep = ("s3Credentials", "azureCredentials", "googleCredentials",
                "endpointCA", "endpointURL", "destinationPath")
        return {**{k: read.config[k] for k in keep if k in read.config}, "serverName": read.server_name}


def plan_cluster(stream: bytes, name: str, *, secrets: Mapping[str, Mapping[str, str | bytes]] = (),
                 root: str = "") -> ClusterPlan:
    """Read Cluster ``name`` from a rendered stream the way the operator does.

    ``secrets`` adds Secrets the render references but does not carry (``existingSecret``);
    ``root`` is prepended to every path CNPG would mount in a pod."""
    docs = load(stream)
    clusters = [d for d in docs if d.get("kind") == "Cluster" and d["metadata"]["name"] == name]
    if len(clusters) != 1:
        raise OperatorError(f"the stream holds {len(clusters)} Clusters named {name}")
    cluster = clusters[0]
    stores = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ObjectStore"}
    plugin = _archiver_plugin(cluster)
    write = _plugin_write(cluster, plugin, stores) if plugin else _in_tree_write(cluster)
    read, from_plugin = _read_side(cluster, stores)
    engines = {"plugin" if plugin else "in-tree"} if write else set()
    engines |= {"plugin" if from_plugin else "in-tree"} if read else set()
    if len(engines) > 1:
        raise OperatorError("a Cluster writing with one engine and recovering with the other is not played")
    annotations = cluster["metadata"].get("annotations") or {}
    recovery = (cluster["spec"].get("bootstrap") or {}).get("recovery") or {}
    return ClusterPlan(
        name=name, engine=engines.pop() if engines else "in-tree", write=write, read=read,
        recovery_target=recovery.get("recoveryTarget"),
        check_empty_wal_archive=annotations.get(SKIP_CHECK_ANNOTATION) != "enabled",
        secrets=secrets_in(docs, secrets), root=root,
        pod_env={} if plugin or from_plugin else
        {e["name"]: str(e["value"]) for e in cluster["spec"].get("env") or [] if "value" in e})


def _archiver_plugin(cluster: dict) -> dict | None:
    """The enabled barman-cloud entry of ``spec.plugins`` (plugin config.go ``NewFromCluster``)."""
    for entry in cluster["spec"].get("plugins") or []:
        if entry.get("name") == PLUGIN and entry.get("enabled", True):
            return entry
    return None


def _in_tree_write(cluster: dict) -> Side | None:
    """``spec.backup.barmanObjectStore``; serverName defaults to the Cluster name
    (backup.go ``setupBackupStatus``, archiver ``BarmanCloudWalArchiveOptions``)."""
    store = (cluster["spec"].get("backup") or {}).get("barmanObjectStore")
    return Side(store, cluster["metadata"]["name"]) if store else None


def _plugin_write(cluster: dict, plugin: dict, stores: Mapping[str, dict]) -> Side:
    """The ObjectStore named by ``barmanObjectName``; serverName from the plugin's
    parameters, else the Cluster name (plugin config.go ``NewFromCluster``)."""
    parameters = plugin.get("parameters") or {}
    store = _object_store(stores, parameters.get("barmanObjectName"))
    return Side(store["spec"]["configuration"], parameters.get("serverName") or cluster["metadata"]["name"],
                store["metadata"]["name"])


def _read_side(cluster: dict, stores: Mapping[str, dict]) -> tuple[Side | None, bool]:
    """The recovery source: ``externalClusters[source]``. In-tree serverName defaults to
    the entry's name (``ExternalCluster.GetServerName``); the plugin's to the *restoring*
    Cluster's name (plugin config.go ``NewFromCluster``: ``recoveryServerName = cluster.Name``)."""
    recovery = (cluster["spec"].get("bootstrap") or {}).get("recovery")
    if not recovery:
        return None, False
    if recovery.get("backup"):
        raise OperatorError("recovery from a Backup object (bootstrap.recovery.backup) is not played")
    source = recovery.get("source")
    found = [e for e in cluster["spec"].get("externalClusters") or [] if e.get("name") == source]
    if not found:
        raise OperatorError(f"missing external cluster: {source}")
    entry = found[0]
    if (entry.get("plugin") or {}).get("name") == PLUGIN:
        parameters = entry["plugin"].get("parameters") or {}
        store = _object_store(stores, parameters.get("barmanObjectName"))
        return Side(store["spec"]["configuration"], parameters.get("serverName") or cluster["metadata"]["name"],
                    store["metadata"]["name"]), True
    if not entry.get("barmanObjectStore"):
        raise OperatorError(f"missing barman object store configuration for source: {source}")
    return Side(entry["barmanObjectStore"], entry["name"]), False


def _object_store(stores: Mapping[str, dict], name: str | None) -> dict:
    if name not in stores:
        raise OperatorError(f"missing ObjectStore {name!r} (barmanObjectName) in the stream")
    return stores[name]
