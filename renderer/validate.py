"""Check CNPG objects against their CRD schemas and the admission rules the schemas cannot express.

A schema-valid Cluster can still be refused at `kubectl apply` time: CloudNativePG's
validating webhook (and the CEL rules in the CRDs) enforce one bootstrap method, one
credentials provider, one recovery target, a parseable cron, and more. `helm template`,
kustomize and plain JSON Schema see none of that, so every object this project emits is
put through both halves here:

* `check_schema` — the CRD `openAPIV3Schema`, converted to JSON Schema (draft 7) the way
  the API server reads it: nulls pruned from non-nullable fields, `x-kubernetes-int-or-string`
  as integer-or-string, `format: int32/int64` as ranges, and unknown fields reported
  (the server drops them silently, or refuses them under strict field validation; either
  way a misspelt key such as `wal.additionalCommandArgs` never does what was meant).
* `check_admission` — the webhook rules (CNPG v1.30 `cluster_webhook.go`,
  `scheduledbackup_webhook.go`, `backup_webhook.go`; barman-cloud credential checks) and the
  CRD CEL rules that can be decided from the object alone. Pure: no schemas needed.

Problems are reported, not raised: a caller wants all of them at once, each on one line.
`jsonschema` is imported only when a schema is compiled, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from renderer import cron, yamlcodec

__all__ = [
    "Problem",
    "Schemas",
    "STATIC_CEL_RULES",
    "check",
    "check_admission",
    "check_documents",
    "check_schema",
    "is_cnpg_object",
]

CNPG_GROUPS = frozenset({"postgresql.cnpg.io", "barmancloud.cnpg.io"})


@dataclass(frozen=True)
class Problem:
    """One reason the API server would refuse (or silently mangle) one object."""

    index: int | None  # document index in the stream (0-based), None when unknown
    kind: str
    name: str  # metadata.name ('' if missing)
    field: str  # dotted path, e.g. "spec.externalClusters[1].name"
    message: str

    def __str__(self) -> str:
        what = f"{self.kind}/{self.name}" if self.name else self.kind or "object"
        where = f"document {self.index} ({what})" if self.index is not None else what
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


def is_cnpg_object(obj: Any) -> bool:
    """True for an object of one of the CNPG API groups (operator or barman-cloud plugin)."""
    return isinstance(obj, dict) and _group(obj) in CNPG_GROUPS


def check(obj: dict, schemas: Schemas | None = None, index: int | None = None) -> list[Problem]:
    """Schema problems (when `schemas` covers the object) plus admission problems.

    When both halves flag the same field (a bad `retentionPolicy` is refused by the CRD
    pattern *and* the webhook), only the admission message is kept: it says more.
    """
    admission = check_admission(obj, index)
    if schemas is None or not schemas.covers(obj):
        return admission
    flagged = {problem.field for problem in admission}
    return [p for p in check_schema(obj, schemas, index) if p.field not in flagged] + admission


def check_documents(docs: Iterable[Any], schemas: Schemas | None = None) -> list[Problem]:
    """`check` every CNPG object of a document stream, indexed by position; others are skipped."""
    return [problem for index, doc in enumerate(docs) if is_cnpg_object(doc)
            for problem in check(doc, schemas, index)]


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------


class Schemas:
    """The `openAPIV3Schema` of each served (apiVersion, kind), compiled once per kind on demand."""

    def __init__(self, schemas: dict[tuple[str, str], dict]):
        self._schemas = schemas
        self._validators: dict[tuple[str, str], Any] = {}

    @classmethod
    def from_dir(cls, directory: str | Path) -> Schemas:
        """Every CRD in the *.yaml, *.yml and *.json files of `directory` (not recursive).

        Files may hold one CRD, several documents, or a `v1/List` (what `kubectl get crd
        -o yaml` prints); other documents are ignored. A directory without any CRD is an
        error, because validating against nothing would pass everything.
        """
        directory = Path(directory)
        files = sorted(p for p in directory.iterdir()
                       if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
        schemas = cls.from_documents(doc for path in files for doc in _load_file(path))
        if not schemas._schemas:
            raise ValueError(f"{directory}: no CustomResourceDefinition found")
        return schemas

    @classmethod
    def from_documents(cls, docs: Iterable[Any]) -> Schemas:
        """Collect the schemas of the CRDs among `docs` (List items included)."""
        found = {}
        for crd in _crds(docs):
            spec = crd.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            for version in spec.get("versions") or []:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if kind and schema:
                    found[(f"{spec.get('group')}/{version.get('name')}", kind)] = schema
        return cls(found)

    def covers(self, obj: dict) -> bool:
        """True when a schema for the object's apiVersion and kind was loaded."""
        return _gvk(obj) in self._schemas

    def kinds(self) -> list[str]:
        """'apiVersion kind' of every loaded schema, for messages about what was checked."""
        return sorted(f"{api_version} {kind}" for api_version, kind in self._schemas)

    def _schema(self, obj: dict) -> dict:
        return self._schemas[_gvk(obj)]

    def _validator(self, obj: dict) -> Any:
        key = _gvk(obj)
        if key not in self._validators:
            from jsonschema import Draft7Validator

            self._validators[key] = Draft7Validator(
                _to_json_schema(self._schemas[key]), format_checker=_format_checker())
        return self._validators[key]


def check_schema(obj: dict, schemas: Schemas, index: int | None = None) -> list[Problem]:
    """Problems of `obj` against its CRD schema, nulls pruned as the API server prunes them.

    An object whose kind has no loaded schema yields one problem saying so: asking for a
    schema check and silently getting none would read as a pass.
    """
    if not schemas.covers(obj):
        api_version, kind = _gvk(obj)
        return [_problem(obj, index, "", f"no CRD schema loaded for {api_version} {kind}")]
    schema = schemas._schema(obj)
    errors = schemas._validator(obj).iter_errors(_prune_nulls(obj, schema))
    found = {(field, message) for error in errors for field, message in _describe(error)}
    return [_problem(obj, index, field, message) for field, message in sorted(found)]


def _load_file(path: Path) -> list[Any]:
    """The documents of a CRD file (JSON is YAML too), read by the one codec."""
    try:
        return yamlcodec.load_all(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # a YamlError is a ValueError, with its line
        raise ValueError(f"{path}: cannot read: {_one_line(str(err))}") from err


def _crds(docs: Iterable[Any]) -> Iterator[dict]:
    """CustomResourceDefinitions among `docs`, looking inside `List` documents."""
    for doc in yamlcodec.iter_objects(docs):
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
            yield doc


def _to_json_schema(node: dict) -> dict:
    """An OpenAPI v3 structural schema node as draft-7 JSON Schema, the way the API server reads it.

    `x-kubernetes-*` keys are dropped except int-or-string (integer or string) and
    preserve-unknown-fields (keeps additional properties open); `nullable: true` admits
    null; every other object with `properties` refuses unknown fields.
    """
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: _to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_to_json_schema(sub) for sub in value]
        elif key != "nullable" and not key.startswith("x-kubernetes-"):
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable"):
        _admit_null(out)
    if ("properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def _admit_null(schema: dict) -> None:
    if "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    if "anyOf" in schema:
        schema["anyOf"] = [*schema["anyOf"], {"type": "null"}]


def _format_checker() -> Any:
    """Only the formats the API server enforces on numbers; `date-time` etc. sit in status."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, bits in (("int32", 32), ("int64", 64)):
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        checker.checks(name)(lambda v, low=low, high=high:
                             not isinstance(v, int) or isinstance(v, bool) or low <= v <= high)
    return checker


def _prune_nulls(value: Any, schema: dict) -> Any:
    """A copy of `value` without null map entries, except where the schema says `nullable`.

    The API server prunes such nulls before validating, so a chart's `initdb: null` means
    "absent", not "wrong type". Nulls inside lists are kept: the server keeps them too.
    """
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        extra = extra if isinstance(extra, dict) else {}
        out = {}
        for key, item in value.items():
            sub = properties.get(key, extra)
            if item is not None or sub.get("nullable"):
                out[key] = _prune_nulls(item, sub)
        return out
    if isinstance(value, list):
        items = schema.get("items")
        items = items if isinstance(items, dict) else {}
        return [_prune_nulls(item, items) for item in value]
    return value


def _describe(error: Any) -> list[tuple[str, str]]:
    """(field, one-line message) for a jsonschema error, never echoing a whole object."""
    field = _field(error.absolute_path)
    validator, expected, instance = error.validator, error.validator_value, error.instance
    if validator == "additionalProperties":
        known = error.schema.get("properties") or {}
        return [(_field([*error.absolute_path, key]),
                 "unknown field: the CRD has no such field (the API server drops it, or refuses it"
                 " under strict field validation)")
                for key in instance if key not in known]
    if validator == "required":
        return [(_field([*error.absolute_path, key]), "required field is missing")
                for key in expected if key not in instance]
    if validator == "enum":
        message = f"{_show(instance)} is not one of {expected}"
        if instance == "":
            message += "; the empty string is not allowed: leave the key out to get the default"
        return [(field, message)]
    if validator == "type":
        return [(field, f"expected {' or '.join(_as_list(expected))}, got {_json_type(instance)}")]
    if validator == "anyOf" and all(set(sub) == {"type"} for sub in expected):
        kinds = " or ".join(t for sub in expected for t in _as_list(sub["type"]))
        return [(field, f"expected {kinds}, got {_json_type(instance)}")]
    if validator == "pattern":
        return [(field, f"{_show(instance)} does not match {expected}")]
    if validator == "format":
        return [(field, f"{_show(instance)} is out of range for {expected}")]
    if validator in _BOUNDS:
        return [(field, f"{_show(instance)} {_BOUNDS[validator]} {expected}")]
    return [(field, f"{_show(instance)} fails {validator} {_show(expected)}")]


_BOUNDS = {
    "minimum": "is below the minimum",
    "maximum": "is above the maximum",
    "minLength": "is shorter than the minimum length",
    "maxLength": "is longer than the maximum length",
    "minItems": "has fewer items than",
    "maxItems": "has more items than",
}


# ---------------------------------------------------------------------------
# Admission rules
# ---------------------------------------------------------------------------

Rule = Callable[[dict], Iterator[tuple[str, str]]]


def check_admission(obj: dict, index: int | None = None) -> list[Problem]:
    """Problems the CNPG webhooks and the CRDs' static CEL rules would raise for `obj`.

    Nulls count as absent (the API server prunes them before the webhook runs). Rules are
    written to survive schema-invalid input: a wrong type is `check_schema`'s to report.
    """
    if not is_cnpg_object(obj):
        return []
    rules = _RULES.get((_group(obj), obj.get("kind")), ())
    clean = _drop_nulls(obj)
    return [_problem(obj, index, field, message) for rule in rules for field, message in rule(clean)]


# The CRD CEL rules (x-kubernetes-validations) decided from the object alone. Transition
# rules (those using oldSelf: immutability of ScheduledBackup.spec.cluster, Backup.spec,
# serviceAccountName) need the stored object and are left to the API server.
STATIC_CEL_RULES = frozenset({
    "!(has(self.imageCatalogRef) && has(self.imageName))",
    "self.kind == 'ImageCatalog' || self.kind == 'ClusterImageCatalog'",
    "self.apiGroup == 'postgresql.cnpg.io'",
    "!has(self.builtinLocale) || self.localeProvider == 'builtin'",
    "!has(self.icuLocale) || self.localeProvider == 'icu'",
    "!has(self.icuRules) || self.localeProvider == 'icu'",
    "self.dataDurability!='preferred' || ((!has(self.standbyNamesPre) || self.standbyNamesPre.size()==0)"
    " && (!has(self.standbyNamesPost) || self.standbyNamesPost.size()==0))",
    "self > 0",
    "!has(self.serverName)",
    "!self.exists(a, a.startsWith('--log-level'))",
})


def _cluster_name(cluster: dict) -> Iterator[tuple[str, str]]:
    """Cluster names become Service and Pod names: a DNS-1035 label, and CNPG caps them at 50."""
    name = _dig(cluster, "metadata", "name")
    if not isinstance(name, str) or not _DNS1035.fullmatch(name):
        yield "metadata.name", (f"{_show(name)} is not a DNS-1035 label (lower-case letters, digits"
                                " and '-', starting with a letter and ending with a letter or digit)")
    elif len(name) > 50:
        yield "metadata.name", f"is {len(name)} characters long; CNPG allows at most 50"


def _bootstrap_method(cluster: dict) -> Iterator[tuple[str, str]]:
    bootstrap = _mapping(cluster, "spec", "bootstrap")
    methods = [m for m in ("initdb", "recovery", "pg_basebackup") if m in bootstrap]
    if len(methods) > 1:
        yield "spec.bootstrap", f"only one bootstrap method may be set, found {', '.join(methods)}"


def _bootstrap_sources(cluster: dict) -> Iterator[tuple[str, str]]:
    """recovery.source/backup/volumeSnapshots exclusions, and sources that must exist.

    The webhook accepts a recovery source only if its externalClusters entry has
    `barmanObjectStore` or `plugin`: connection parameters alone hold no backup.
    """
    recovery = _mapping(cluster, "spec", "bootstrap", "recovery")
    source, base = recovery.get("source"), "spec.bootstrap.recovery"
    if source and "backup" in recovery:
        yield base, "source and backup are mutually exclusive: recover from one of them"
    if "backup" in recovery and "volumeSnapshots" in recovery:
        yield f"{base}.backup", "recovery from volumeSnapshots is not compatible with backup"
    if source:
        entry = _external_cluster(cluster, source)
        if entry is None:
            yield f"{base}.source", f"{_show(source)} names no entry of spec.externalClusters"
        elif "barmanObjectStore" not in entry and "plugin" not in entry:
            yield f"{base}.source", (f"external cluster {_show(source)} has neither barmanObjectStore"
                                     " nor plugin, so there is nothing to recover from")
    pg_basebackup = _mapping(cluster, "spec", "bootstrap", "pg_basebackup")
    if ("pg_basebackup" in _mapping(cluster, "spec", "bootstrap")
            and _external_cluster(cluster, pg_basebackup.get("source")) is None):
        yield "spec.bootstrap.pg_basebackup.source", (
            f"{_show(pg_basebackup.get('source'))} names no entry of spec.externalClusters")


_TARGETS = ("targetTime", "targetLSN", "targetName", "targetXID", "targetImmediate")


def _recovery_target(cluster: dict) -> Iterator[tuple[str, str]]:
    """One target at most, each parseable, and a backupID where no backup can be picked by time."""
    recovery = _mapping(cluster, "spec", "bootstrap", "recovery")
    target = _mapping(recovery, "recoveryTarget")
    base = "spec.bootstrap.recovery.recoveryTarget"
    # The webhook counts string targets when non-empty, and targetImmediate whenever present.
    chosen = [key for key in _TARGETS if key in target and target[key] != ""]
    if len(chosen) > 1:
        note = " (targetImmediate counts even when false)" if target.get("targetImmediate") is False else ""
        yield base, f"recovery targets are mutually exclusive, found {', '.join(chosen)}{note}"
    for key, parses, expected in _TARGET_FORMATS:
        value = target.get(key)
        if value not in (None, "") and not parses(value):
            yield f"{base}.{key}", f"{_show(value)} is not {expected}"
    by_label = [key for key in ("targetName", "targetXID", "targetImmediate") if key in chosen]
    from_snapshots = "volumeSnapshots" in recovery
    if by_label and not from_snapshots and not target.get("backupID"):
        yield f"{base}.backupID", (f"is required with {by_label[0]}: only targetTime and targetLSN"
                                   " let the operator pick the backup")
    if from_snapshots and target.get("backupID"):
        yield f"{base}.backupID", "cannot be set when recovering from volumeSnapshots"


def _external_clusters(cluster: dict) -> Iterator[tuple[str, str]]:
    """Unique, path-safe names, each entry with something to connect to or restore from.

    At least one source kind, not exactly one: a replica cluster legitimately streams
    (connectionParameters) and falls back to the archive (barmanObjectStore) from one entry.
    """
    seen = set()
    for i, entry in enumerate(_sequence(cluster, "spec", "externalClusters")):
        if not isinstance(entry, dict):
            continue
        path, name = f"spec.externalClusters[{i}]", entry.get("name")
        if isinstance(name, str):
            if name in seen:
                yield f"{path}.name", f"duplicate external cluster name {_show(name)}"
            seen.add(name)
            if "/" in name or "\\" in name or name in (".", ".."):
                yield f"{path}.name", f"{_show(name)} must not contain '/' or '\\' nor be '.' or '..'"
        if not any(key in entry for key in ("connectionParameters", "barmanObjectStore", "plugin")):
            yield path, "needs one of connectionParameters, barmanObjectStore or plugin"


def _backup_credentials(cluster: dict) -> Iterator[tuple[str, str]]:
    """barman-cloud's credential rules; the webhook applies them to spec.backup only."""
    backup = _mapping(cluster, "spec", "backup")
    if "barmanObjectStore" not in backup:
        return
    store = _mapping(backup, "barmanObjectStore")
    base = "spec.backup.barmanObjectStore"
    providers = [key for key in _PROVIDER_RULES if key in store]
    if not providers:
        yield base, ("missing credentials: exactly one of s3Credentials, azureCredentials,"
                     " googleCredentials is required (IAM roles still need"
                     " s3Credentials.inheritFromIAMRole: true)")
    elif len(providers) > 1:
        yield base, f"too many credentials ({', '.join(providers)}): exactly one provider is allowed"
    for key in providers:
        yield from _PROVIDER_RULES[key](_mapping(store, key), f"{base}.{key}")


def _s3_credentials(creds: dict, path: str) -> Iterator[tuple[str, str]]:
    keys = [key for key in ("accessKeyId", "secretAccessKey") if key in creds]
    if len(keys) == 1:
        yield path, "accessKeyId and secretAccessKey must be given together"
    methods = bool(creds.get("inheritFromIAMRole")) + bool(keys)
    if methods == 0:
        yield path, "needs inheritFromIAMRole: true or accessKeyId and secretAccessKey"
    elif methods > 1:
        yield path, "inheritFromIAMRole and accessKeyId/secretAccessKey are alternatives: set one"


def _azure_credentials(creds: dict, path: str) -> Iterator[tuple[str, str]]:
    methods = [key for key in ("storageKey", "storageSasToken") if key in creds]
    methods += [key for key in ("inheritFromAzureAD", "useDefaultAzureCredentials") if creds.get(key)]
    if "connectionString" in creds:
        if methods or "storageAccount" in creds:
            yield path, "with connectionString, every other field must be left out"
    elif len(methods) != 1:
        yield path, ("without connectionString, exactly one of storageKey, storageSasToken,"
                     " inheritFromAzureAD, useDefaultAzureCredentials is required"
                     f" (found {', '.join(methods) or 'none'})")
    if ("storageKey" in creds or "storageSasToken" in creds) and "storageAccount" not in creds:
        yield f"{path}.storageAccount", "is required with storageKey or storageSasToken"


def _google_credentials(creds: dict, path: str) -> Iterator[tuple[str, str]]:
    gke, secret = bool(creds.get("gkeEnvironment")), "applicationCredentials" in creds
    if gke == secret:
        yield path, "needs exactly one of gkeEnvironment: true and applicationCredentials"


_PROVIDER_RULES = {
    "s3Credentials": _s3_credentials,
    "azureCredentials": _azure_credentials,
    "googleCredentials": _google_credentials,
}


def _cluster_retention(cluster: dict) -> Iterator[tuple[str, str]]:
    yield from _retention(_mapping(cluster, "spec", "backup").get("retentionPolicy"),
                          "spec.backup.retentionPolicy")


def _wal_archiver_plugins(cluster: dict) -> Iterator[tuple[str, str]]:
    """One archiver at most, and never beside in-tree barmanObjectStore (migrate in one edit)."""
    plugins = [p for p in _sequence(cluster, "spec", "plugins") if isinstance(p, dict)]
    archivers = [str(p.get("name")) for p in plugins
                 if p.get("enabled", True) is not False and p.get("isWALArchiver") is True]
    if archivers and "barmanObjectStore" in _mapping(cluster, "spec", "backup"):
        yield "spec.plugins", (f"WAL archiver plugin {', '.join(archivers)} cannot be enabled while"
                               " spec.backup.barmanObjectStore is set")
    if len(archivers) > 1:
        yield "spec.plugins", ("at most one enabled plugin may be a WAL archiver,"
                               f" found {', '.join(archivers)}")


def _cluster_cel(cluster: dict) -> Iterator[tuple[str, str]]:
    """The Cluster CRD's static CEL rules (see STATIC_CEL_RULES), with the CRD's own messages."""
    spec = _mapping(cluster, "spec")
    if "imageName" in spec and "imageCatalogRef" in spec:
        yield "spec", "imageName and imageCatalogRef are mutually exclusive"
    ref = _mapping(spec, "imageCatalogRef")
    if ref and ref.get("kind") not in ("ImageCatalog", "ClusterImageCatalog"):
        yield "spec.imageCatalogRef.kind", "Only image catalogs are supported (ImageCatalog, ClusterImageCatalog)"
    if ref and ref.get("apiGroup") != "postgresql.cnpg.io":
        yield "spec.imageCatalogRef.apiGroup", "Only image catalogs are supported (postgresql.cnpg.io)"
    initdb = _mapping(spec, "bootstrap", "initdb")
    for key, provider in (("builtinLocale", "builtin"), ("icuLocale", "icu"), ("icuRules", "icu")):
        if key in initdb and initdb.get("localeProvider") != provider:
            yield f"spec.bootstrap.initdb.{key}", f"is only available when localeProvider is `{provider}`"
    sync = _mapping(spec, "postgresql", "synchronous")
    if sync.get("dataDurability") == "preferred" and (sync.get("standbyNamesPre") or sync.get("standbyNamesPost")):
        yield "spec.postgresql.synchronous", ("dataDurability set to 'preferred' requires empty"
                                              " 'standbyNamesPre' and empty 'standbyNamesPost'")
    number = sync.get("number")
    if isinstance(number, int) and not isinstance(number, bool) and number <= 0:
        yield "spec.postgresql.synchronous.number", ("The number of synchronous replicas should be"
                                                     " greater than zero")


def _object_store(store: dict) -> Iterator[tuple[str, str]]:
    """ObjectStore CEL rules and its retention pattern (barman-cloud plugin v0.14)."""
    if "serverName" in _mapping(store, "spec", "configuration"):
        yield "spec.configuration.serverName", (
            "use the 'serverName' plugin parameter in the Cluster resource"
            " (spec.plugins[].parameters, externalClusters[].plugin.parameters)")
    args = _sequence(store, "spec", "instanceSidecarConfiguration", "additionalContainerArgs")
    if any(isinstance(arg, str) and arg.startswith("--log-level") for arg in args):
        yield "spec.instanceSidecarConfiguration.additionalContainerArgs", (
            "do not set --log-level in additionalContainerArgs;"
            " use spec.instanceSidecarConfiguration.logLevel")
    yield from _retention(_mapping(store, "spec").get("retentionPolicy"), "spec.retentionPolicy")


def _schedule(scheduled: dict) -> Iterator[tuple[str, str]]:
    """The schedule must parse as robfig cron; a 5-field value parses but runs at the wrong times."""
    schedule = _mapping(scheduled, "spec").get("schedule")
    if not isinstance(schedule, str):
        return
    six = cron.six_field_form(schedule)
    try:
        cron.parse(schedule)
    except cron.CronError as err:
        hint = f"; as Unix cron it would be {six!r}" if six and _parses(six) else ""
        yield "spec.schedule", f"{_show(schedule)} does not parse as CNPG cron: {err}{hint}"
        return
    if six:
        sec, minute, hour, dom, month = schedule.split()
        meaning = f"sec={sec} min={minute} hour={hour} day={dom} month={month}"
        fix = f"write {six!r} for the Unix-cron meaning" if _parses(six) else \
            f"its Unix-cron meaning {six!r} does not parse either"
        yield "spec.schedule", (f"{_show(schedule)} has 5 fields, but CNPG cron reads 6 with seconds"
                                f" first, so this means {meaning}"
                                f"{' (every hour)' if hour == '*' else ''}; {fix}")


def _backup_method(backup: dict) -> Iterator[tuple[str, str]]:
    """`online*` is refused with the (default) barmanObjectStore method; plugin needs its name.

    The ScheduledBackup webhook does not check pluginConfiguration, but the Backup webhook
    refuses every Backup it would create, so both kinds are held to it.
    """
    spec = _mapping(backup, "spec")
    method = spec.get("method", "barmanObjectStore")
    defaulted = "" if "method" in spec else " (method defaults to barmanObjectStore)"
    if method == "barmanObjectStore":
        for key in ("online", "onlineConfiguration"):
            if key in spec:
                yield f"spec.{key}", f"can be set only with method volumeSnapshot{defaulted}"
    if method == "plugin" and not _mapping(spec, "pluginConfiguration").get("name"):
        yield "spec.pluginConfiguration.name", ("is required when method is plugin"
                                                " (e.g. barman-cloud.cloudnative-pg.io)")


_RULES: dict[tuple[str, str], tuple[Rule, ...]] = {
    ("postgresql.cnpg.io", "Cluster"): (
        _cluster_name, _bootstrap_method, _bootstrap_sources, _recovery_target, _external_clusters,
        _backup_credentials, _cluster_retention, _wal_archiver_plugins, _cluster_cel),
    ("postgresql.cnpg.io", "ScheduledBackup"): (_schedule, _backup_method),
    ("postgresql.cnpg.io", "Backup"): (_backup_method,),
    ("barmancloud.cnpg.io", "ObjectStore"): (_object_store,),
}


# ---------------------------------------------------------------------------
# Value parsers (what the webhook's Go parsers accept)
# ---------------------------------------------------------------------------

_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_RETENTION = re.compile(r"[1-9][0-9]*[dwm]")
# lib/pq ParseTimestamp: date [time[.frac][zone]] [BC]
_PG_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d\d-\d\d)(?: (?P<time>\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|[+-]\d\d(?::\d\d){0,2})?)?(?: BC)?")
# RFC 3339 (fraction optional), and the zoneless form CNPG also accepts (read as UTC).
_RFC3339 = re.compile(r"(?P<date>\d{4}-\d\d-\d\d)T(?P<time>\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
_LSN = re.compile(r"([0-9A-Fa-f]+)/([0-9A-Fa-f]+)")


def _is_target_time(value: Any) -> bool:
    """RFC 3339 or a PostgreSQL timestamp, with real dates and times (PostgreSQL would refuse 13/45)."""
    if not isinstance(value, str):
        return False
    match = _RFC3339.fullmatch(value) or _PG_TIMESTAMP.fullmatch(value)
    if not match:
        return False
    try:
        datetime.strptime(f"{match['date']} {match['time'] or '00:00:00'}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return True


def _is_lsn(value: Any) -> bool:
    match = _LSN.fullmatch(value) if isinstance(value, str) else None
    return bool(match) and all(int(part, 16) < 2 ** 32 for part in match.groups())


def _is_xid(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < 2 ** 32


def _is_target_name(value: Any) -> bool:
    return (isinstance(value, str) and len(value.encode()) < 64
            and not any(ord(ch) < 32 or ord(ch) == 127 for ch in value))


def _is_timeline(value: Any) -> bool:
    if value == "latest":
        return True
    return isinstance(value, str) and bool(re.fullmatch(r"[-+]?\d+", value)) and int(value) >= 1


_TARGET_FORMATS: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("targetTime", _is_target_time,
     "an RFC 3339 or PostgreSQL timestamp (e.g. 2026-05-01T12:00:00Z or 2026-05-01 12:00:00+00)"),
    ("targetLSN", _is_lsn, "an LSN (e.g. 0/3000060)"),
    ("targetXID", _is_xid, "a transaction ID (an unsigned 32-bit integer)"),
    ("targetName", _is_target_name, "a restore point name (under 64 bytes, no control characters)"),
    ("targetTLI", _is_timeline, "'latest' or a timeline number of 1 or more"),
)


def _retention(value: Any, field: str) -> Iterator[tuple[str, str]]:
    """Barman's RECOVERY WINDOW: a positive count of days, weeks or months ('' is skipped, as upstream)."""
    if value not in (None, "") and not (isinstance(value, str) and _RETENTION.fullmatch(value)):
        yield field, f"{_show(value)} is not a retention policy like 30d, 4w or 6m"


def _parses(spec: str) -> bool:
    try:
        cron.parse(spec)
    except cron.CronError:
        return False
    return True


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _group(obj: dict) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def _gvk(obj: dict) -> tuple[str, str]:
    return str(obj.get("apiVersion", "")), str(obj.get("kind", ""))


def _problem(obj: dict, index: int | None, field: str, message: str) -> Problem:
    name = _dig(obj, "metadata", "name")
    return Problem(index, str(obj.get("kind", "")), name if isinstance(name, str) else "", field, message)


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _mapping(value: Any, *keys: str) -> dict:
    found = _dig(value, *keys)
    return found if isinstance(found, dict) else {}


def _sequence(value: Any, *keys: str) -> list:
    found = _dig(value, *keys)
    return found if isinstance(found, list) else []


def _external_cluster(cluster: dict, name: Any) -> dict | None:
    for entry in _sequence(cluster, "spec", "externalClusters"):
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _field(parts: Iterable[Any]) -> str:
    """`spec.externalClusters[1].name`; keys that are not plain words are quoted: `labels["cnpg.io/x"]`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _show(value: Any) -> str:
    """A short rendering of a scalar; containers are named, not dumped (they may hold secrets)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_type(value: Any) -> str:
    for python_type, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                              (dict, "object"), (list, "array"), (type(None), "null")):
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())
