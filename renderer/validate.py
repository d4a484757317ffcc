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
from pathlib import Path
from typing import Any

from renderer import yamlcodec
from renderer.cnpg import meta, rules
from renderer.errors import Document
from renderer.yamlcodec import mapping_at, value_at

__all__ = [
    "STATIC_CEL_RULES",
    "CrdError",
    "Problem",
    "Schemas",
    "check",
    "check_admission",
    "check_documents",
    "check_schema",
    "is_cnpg_object",
]

CNPG_GROUPS = frozenset({meta.API_GROUP, meta.PLUGIN_API_GROUP})


class CrdError(ValueError):
    """A CRD that cannot be used (unreadable, oddly shaped, not a valid schema), named by
    file and field: the CLI reports it as one line, not as a crash halfway through."""


@dataclass(frozen=True)
class Problem:
    """One reason the API server would refuse (or silently mangle) one object."""

    index: int | None  # document index in the stream (0-based), None when unknown
    kind: str
    name: str  # metadata.name ('' if missing)
    field: str  # dotted path, e.g. "spec.externalClusters[1].name"
    message: str

    def __str__(self) -> str:
        """Named as errors name documents (`document 4 (Cluster/pg)`, counted from 1)."""
        if self.index is not None:
            where = str(Document(self.index, self.kind or None, self.name or None))
        else:
            where = f"{self.kind}/{self.name}" if self.name else self.kind or "object"
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
        error, because validating against nothing would pass everything; so is a CRD we
        cannot read, named by its file and field.
        """
        directory = Path(directory)
        files = sorted(p for p in directory.iterdir()
                       if p.is_file() and p.suffix in (".yaml", ".yml", ".json"))
        found: dict[tuple[str, str], dict] = {}
        for path in files:
            try:
                found.update(cls.from_documents(_load_file(path))._schemas)
            except CrdError as err:
                raise CrdError(f"{path}: {err}") from None
        if not found:
            raise CrdError(f"{directory}: no CustomResourceDefinition found")
        return cls(found)

    @classmethod
    def from_documents(cls, docs: Iterable[Any]) -> Schemas:
        """Collect the schemas of the CRDs among `docs` (List items included); ValueError
        names the CRD and field when one is not shaped as the API server requires."""
        return cls({key: schema for crd in _crds(docs) for key, schema in _served_schemas(crd)})

    def covers(self, obj: dict) -> bool:
        """True when a schema for the object's apiVersion and kind was loaded."""
        return _gvk(obj) in self._schemas

    def kinds(self) -> list[str]:
        """'apiVersion kind' of every loaded schema, for messages about what was checked."""
        return sorted(f"{api_version} {kind}" for api_version, kind in self._schemas)

    def _schema(self, obj: dict) -> dict:
        return self._schemas[_gvk(obj)]

    def _validator(self, obj: dict) -> Any:
        """The compiled schema of the object's kind, checked against JSON Schema's own
        rules first (an odd CRD is one line naming it, not a crash halfway through)."""
        key = _gvk(obj)
        if key not in self._validators:
            from jsonschema import Draft7Validator, SchemaError, validators

            unusable = _unusable_at(self._schemas[key])
            if unusable is not None:  # the API server refuses these; jsonschema would read them otherwise
                raise CrdError(f"the CRD schema of {key[0]} {key[1]} is not usable: {unusable}")
            schema = _to_json_schema(self._schemas[key])
            try:  # no format checks: patterns are RE2 (checked above), not Python's `re`
                Draft7Validator.check_schema(schema, format_checker=None)
            except SchemaError as err:
                where = _field(err.absolute_path)
                raise CrdError(f"the CRD schema of {key[0]} {key[1]} is not usable: "
                                 f"{where or 'openAPIV3Schema'}: {_one_line(err.message)}") from None
            checker = validators.extend(Draft7Validator, {"pattern": _re2_pattern})
            self._validators[key] = checker(schema, format_checker=_format_checker())
        return self._validators[key]


def _unusable_at(schema: object, path: str = "") -> str | None:
    """`<field path>: why` for the first thing in a CRD schema that the API server
    refuses and jsonschema would read otherwise, or None: `$ref` and `patternProperties`
    (not allowed in a CRD schema), a `pattern` that is no RE2 expression."""
    if isinstance(schema, dict):
        for key in ("$ref", "patternProperties"):
            if key in schema:
                return f"{path or 'openAPIV3Schema'}: {key} is not allowed in a CRD schema"
        if isinstance(schema.get("pattern"), str) and (problem := _re2_problem(schema["pattern"])):
            shown = rules.show(schema["pattern"])
            return f"{_child(path, 'pattern')}: {shown} is not a Go (RE2) regular expression: {problem}"
        children = ((_child(path, str(key)), value) for key, value in schema.items())
    elif isinstance(schema, list):
        children = ((f"{path}[{i}]", value) for i, value in enumerate(schema))
    else:
        return None
    return next((found for at, value in children if (found := _unusable_at(value, at)) is not None), None)


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _re2(pattern: str):
    """`pattern` compiled as the API server reads CRD patterns: RE2 (Go's regexp), which
    matches in time linear in the text. Python's backtracking `re` would take minutes
    on `^(a+)+$` and a long value, and reads some RE2 (`^(?i)x`) otherwise."""
    import re2

    compiled = _RE2.get(pattern)
    if compiled is None:
        options = re2.Options()
        options.log_errors = False  # the error is ours to report, in one line
        compiled = _RE2[pattern] = re2.compile(pattern, options)
    return compiled


_RE2: dict[str, Any] = {}


# RE2's `\C` (any byte): Go's regexp, the API server's, has no such escape and refuses it.
_ANY_BYTE = re.compile(r"(?<!\\)(?:\\\\)*\\C")


def _re2_problem(pattern: str) -> str | None:
    """Why the API server would refuse `pattern`, or None: RE2's reason, or Go's for the
    one escape RE2 has and Go does not (tests/test_validate_go.py holds them together)."""
    import re2

    if _ANY_BYTE.search(pattern):
        return "invalid escape sequence: \\C"
    try:
        _re2(pattern)
    except re2.error as err:
        reason = err.args[0] if err.args else ""
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return None


def _re2_pattern(validator, pattern: str, instance, schema):
    """jsonschema's `pattern` keyword, with RE2 (see `_re2`)."""
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and _re2(pattern).search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


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
        raise CrdError(f"cannot read: {_one_line(str(err))}") from err


def _served_schemas(crd: dict) -> Iterator[tuple[tuple[str, str], dict]]:
    """((apiVersion, kind), openAPIV3Schema) per version of a CRD; ValueError naming the
    field when the CRD is not shaped as the API server requires."""
    name = value_at(crd, "metadata", "name")
    where = f"CustomResourceDefinition {name if isinstance(name, str) else '?'}"
    spec = crd.get("spec")
    versions = spec.get("versions") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(spec.get("names", {}), dict) or not isinstance(versions, list):
        raise CrdError(f"{where}: spec, spec.names and spec.versions must be a mapping, a mapping and a list")
    group, kind = spec.get("group"), value_at(spec, "names", "kind")
    for i, version in enumerate(versions):
        schema = value_at(version, "schema", "openAPIV3Schema")
        if schema is None:
            continue
        problem = _schema_shape(schema, f"spec.versions[{i}].schema.openAPIV3Schema")
        if problem or not isinstance(schema, dict):  # _schema_shape names a schema that is no mapping
            raise CrdError(f"{where}: {problem}")
        if isinstance(kind, str) and isinstance(group, str) and isinstance(version.get("name"), str):
            yield (f"{group}/{version['name']}", kind), schema


_SUB_SCHEMAS = ("items", "additionalProperties", "not")
# Real CRDs nest schemas about 12 deep (CNPG, kube-prometheus-stack); the walks below recurse.
MAX_SCHEMA_DEPTH = 64


def _schema_shape(node: Any, path: str) -> str | None:
    """Where a schema is not the structure `_to_json_schema` and the checks walk (a
    mapping whose properties, items, allOf… are schemas, nested at most
    MAX_SCHEMA_DEPTH deep), or None. Iterative, so the check itself cannot overflow."""
    pending = [(node, path, 0)]
    while pending:
        node, path, depth = pending.pop()
        if not isinstance(node, dict):
            return f"{path}: must be a mapping (a schema)"
        if depth > MAX_SCHEMA_DEPTH:
            return f"{path}: schemas nested more than {MAX_SCHEMA_DEPTH} deep"
        for key in ("properties", "patternProperties"):
            if key in node:
                if not isinstance(node[key], dict):
                    return f"{path}.{key}: must be a mapping of schemas"
                pending += [(sub, f"{path}.{key}.{name}", depth + 1) for name, sub in node[key].items()]
        pending += [(node[key], f"{path}.{key}", depth + 1) for key in _SUB_SCHEMAS
                    if key in node and not isinstance(node[key], bool)]
        for key in ("allOf", "anyOf", "oneOf"):
            if key in node:
                if not isinstance(node[key], list):
                    return f"{path}.{key}: must be a list of schemas"
                pending += [(sub, f"{path}.{key}[{i}]", depth + 1) for i, sub in enumerate(node[key])]
    return None


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
        if key == "properties":
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
        message = f"{rules.show(instance)} is not one of {expected}"
        if instance == "":
            message += "; the empty string is not allowed: leave the key out to get the default"
        return [(field, message)]
    if validator == "type":
        return [(field, f"expected {' or '.join(_as_list(expected))}, got {_json_type(instance)}")]
    if validator == "anyOf" and all(set(sub) == {"type"} for sub in expected):
        kinds = " or ".join(t for sub in expected for t in _as_list(sub["type"]))
        return [(field, f"expected {kinds}, got {_json_type(instance)}")]
    if validator == "pattern":
        return [(field, f"{rules.show(instance)} does not match {expected}")]
    if validator == "format":
        return [(field, f"{rules.show(instance)} is out of range for {expected}")]
    if validator in _BOUNDS:
        return [(field, f"{rules.show(instance)} {_BOUNDS[validator]} {expected}")]
    return [(field, f"{rules.show(instance)} fails {validator} {rules.show(expected)}")]


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
    kind = obj.get("kind")  # any YAML value: a list or mapping would not even hash
    rules = _RULES.get((_group(obj), kind), ()) if isinstance(kind, str) else ()
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
    name = value_at(cluster, "metadata", "name")
    if not isinstance(name, str) or not _DNS1035.fullmatch(name):
        yield "metadata.name", (f"{rules.show(name)} is not a DNS-1035 label (lower-case letters, digits"
                                " and '-', starting with a letter and ending with a letter or digit)")
    elif len(name) > 50:
        yield "metadata.name", f"is {len(name)} characters long; CNPG allows at most 50"


def _bootstrap_method(cluster: dict) -> Iterator[tuple[str, str]]:
    bootstrap = mapping_at(cluster, "spec", "bootstrap")
    methods = [m for m in ("initdb", "recovery", "pg_basebackup") if m in bootstrap]
    if len(methods) > 1:
        yield "spec.bootstrap", f"only one bootstrap method may be set, found {', '.join(methods)}"


def _bootstrap_sources(cluster: dict) -> Iterator[tuple[str, str]]:
    """recovery.source/backup/volumeSnapshots exclusions, and sources that must exist.

    The webhook accepts a recovery source only if its externalClusters entry has
    `barmanObjectStore` or `plugin`: connection parameters alone hold no backup.
    """
    recovery = mapping_at(cluster, "spec", "bootstrap", "recovery")
    source, base = recovery.get("source"), "spec.bootstrap.recovery"
    if source and "backup" in recovery:
        yield base, "source and backup are mutually exclusive: recover from one of them"
    if "backup" in recovery and "volumeSnapshots" in recovery:
        yield f"{base}.backup", "recovery from volumeSnapshots is not compatible with backup"
    if source:
        entry = _external_cluster(cluster, source)
        if entry is None:
            yield f"{base}.source", f"{rules.show(source)} names no entry of spec.externalClusters"
        elif "barmanObjectStore" not in entry and "plugin" not in entry:
            yield f"{base}.source", (f"external cluster {rules.show(source)} has neither barmanObjectStore"
                                     " nor plugin, so there is nothing to recover from")
    pg_basebackup = mapping_at(cluster, "spec", "bootstrap", "pg_basebackup")
    if ("pg_basebackup" in mapping_at(cluster, "spec", "bootstrap")
            and _external_cluster(cluster, pg_basebackup.get("source")) is None):
        yield "spec.bootstrap.pg_basebackup.source", (
            f"{rules.show(pg_basebackup.get('source'))} names no entry of spec.externalClusters")


_TARGETS = ("targetTime", "targetLSN", "targetName", "targetXID", "targetImmediate")


def _recovery_target(cluster: dict) -> Iterator[tuple[str, str]]:
    """One target at most, each parseable, and a backupID where no backup can be picked by time."""
    recovery = mapping_at(cluster, "spec", "bootstrap", "recovery")
    target = mapping_at(recovery, "recoveryTarget")
    base = "spec.bootstrap.recovery.recoveryTarget"
    # The webhook counts string targets when non-empty, and targetImmediate whenever present.
    chosen = [key for key in _TARGETS if key in target and target[key] != ""]
    if len(chosen) > 1:
        note = " (targetImmediate counts even when false)" if target.get("targetImmediate") is False else ""
        yield base, f"recovery targets are mutually exclusive, found {', '.join(chosen)}{note}"
    for key, rule in _TARGET_FORMATS:
        problem = rule(target[key]) if target.get(key) not in (None, "") else None
        if problem:
            yield f"{base}.{key}", problem
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
                yield f"{path}.name", f"duplicate external cluster name {rules.show(name)}"
            seen.add(name)
            if "/" in name or "\\" in name or name in (".", ".."):
                yield f"{path}.name", f"{rules.show(name)} must not contain '/' or '\\' nor be '.' or '..'"
        if not any(key in entry for key in ("connectionParameters", "barmanObjectStore", "plugin")):
            yield path, "needs one of connectionParameters, barmanObjectStore or plugin"


def _backup_credentials(cluster: dict) -> Iterator[tuple[str, str]]:
    """barman-cloud's credential rules (`rules.CREDENTIALS`); the webhook applies them to spec.backup only."""
    backup = mapping_at(cluster, "spec", "backup")
    if "barmanObjectStore" not in backup:
        return
    store = mapping_at(backup, "barmanObjectStore")
    base = "spec.backup.barmanObjectStore"
    blocks = [ways for ways in rules.CREDENTIALS.values() if ways.block in store]
    if not blocks:
        yield base, ("missing credentials: exactly one of s3Credentials, azureCredentials,"
                     " googleCredentials is required (IAM roles still need"
                     " s3Credentials.inheritFromIAMRole: true)")
    elif len(blocks) > 1:
        yield base, f"too many credentials ({', '.join(w.block for w in blocks)}): exactly one provider is allowed"
    for ways in blocks:
        creds = mapping_at(store, ways.block)
        present = [key for key, value in creds.items() if key not in rules.FLAGS or value]
        for key, problem in rules.credential_problems(ways, present):
            yield f"{base}.{ways.block}" + (f".{key}" if key else ""), problem


def _cluster_retention(cluster: dict) -> Iterator[tuple[str, str]]:
    yield from _retention(mapping_at(cluster, "spec", "backup").get("retentionPolicy"),
                          "spec.backup.retentionPolicy")


def _wal_archiver_plugins(cluster: dict) -> Iterator[tuple[str, str]]:
    """One archiver at most, and never beside in-tree barmanObjectStore (migrate in one edit)."""
    archivers = rules.archivers(_sequence(cluster, "spec", "plugins"))
    if archivers and "barmanObjectStore" in mapping_at(cluster, "spec", "backup"):
        yield "spec.plugins", (f"WAL archiver plugin {', '.join(archivers)} cannot be enabled while"
                               " spec.backup.barmanObjectStore is set")
    if len(archivers) > 1:
        yield "spec.plugins", ("at most one enabled plugin may be a WAL archiver,"
                               f" found {', '.join(archivers)}")


def _cluster_cel(cluster: dict) -> Iterator[tuple[str, str]]:
    """The Cluster CRD's static CEL rules (see STATIC_CEL_RULES), with the CRD's own messages."""
    spec = mapping_at(cluster, "spec")
    if "imageName" in spec and "imageCatalogRef" in spec:
        yield "spec", "imageName and imageCatalogRef are mutually exclusive"
    ref = mapping_at(spec, "imageCatalogRef")
    if ref and ref.get("kind") not in ("ImageCatalog", "ClusterImageCatalog"):
        yield "spec.imageCatalogRef.kind", "Only image catalogs are supported (ImageCatalog, ClusterImageCatalog)"
    if ref and ref.get("apiGroup") != meta.API_GROUP:
        yield "spec.imageCatalogRef.apiGroup", "Only image catalogs are supported (postgresql.cnpg.io)"
    initdb = mapping_at(spec, "bootstrap", "initdb")
    for key, provider in (("builtinLocale", "builtin"), ("icuLocale", "icu"), ("icuRules", "icu")):
        if key in initdb and initdb.get("localeProvider") != provider:
            yield f"spec.bootstrap.initdb.{key}", f"is only available when localeProvider is `{provider}`"
    sync = mapping_at(spec, "postgresql", "synchronous")
    if sync.get("dataDurability") == "preferred" and (sync.get("standbyNamesPre") or sync.get("standbyNamesPost")):
        yield "spec.postgresql.synchronous", ("dataDurability set to 'preferred' requires empty"
                                              " 'standbyNamesPre' and empty 'standbyNamesPost'")
    number = sync.get("number")
    if isinstance(number, int) and not isinstance(number, bool) and number <= 0:
        yield "spec.postgresql.synchronous.number", ("The number of synchronous replicas should be"
                                                     " greater than zero")


def _object_store(store: dict) -> Iterator[tuple[str, str]]:
    """ObjectStore CEL rules and its retention pattern (barman-cloud plugin v0.14)."""
    if "serverName" in mapping_at(store, "spec", "configuration"):
        yield "spec.configuration.serverName", (
            "use the 'serverName' plugin parameter in the Cluster resource"
            " (spec.plugins[].parameters, externalClusters[].plugin.parameters)")
    args = _sequence(store, "spec", "instanceSidecarConfiguration", "additionalContainerArgs")
    if any(isinstance(arg, str) and arg.startswith("--log-level") for arg in args):
        yield "spec.instanceSidecarConfiguration.additionalContainerArgs", (
            "do not set --log-level in additionalContainerArgs;"
            " use spec.instanceSidecarConfiguration.logLevel")
    yield from _retention(mapping_at(store, "spec").get("retentionPolicy"), "spec.retentionPolicy")


def _schedule(scheduled: dict) -> Iterator[tuple[str, str]]:
    """The schedule must parse as robfig cron; a 5-field value parses but runs at the wrong times."""
    schedule = mapping_at(scheduled, "spec").get("schedule")
    problem = rules.schedule(schedule) if isinstance(schedule, str) else None
    if problem:
        yield "spec.schedule", problem


def _backup_method(backup: dict) -> Iterator[tuple[str, str]]:
    """`online*` is refused with the (default) barmanObjectStore method; plugin needs its name.

    The ScheduledBackup webhook does not check pluginConfiguration, but the Backup webhook
    refuses every Backup it would create, so both kinds are held to it.
    """
    spec = mapping_at(backup, "spec")
    method = spec.get("method", "barmanObjectStore")
    defaulted = "" if "method" in spec else " (method defaults to barmanObjectStore)"
    if method == "barmanObjectStore":
        for key in ("online", "onlineConfiguration"):
            if key in spec:
                yield f"spec.{key}", f"can be set only with method volumeSnapshot{defaulted}"
    if method == "plugin" and not mapping_at(spec, "pluginConfiguration").get("name"):
        yield "spec.pluginConfiguration.name", f"is required when method is plugin (e.g. {meta.PLUGIN_NAME})"


# --- Volume snapshots and hibernation (CNPG v1.30.0 internal/webhook/v1/cluster_webhook.go,
# backup_webhook.go at tag v1.30.0, function names cited per rule).

_SNAPSHOT_SOURCES = (("snapshot.storage.k8s.io", "VolumeSnapshot"), ("", "PersistentVolumeClaim"))
_SNAPSHOT_DEADLINE = "backup.cnpg.io/volumeSnapshotDeadline"


def _snapshot_recovery(cluster: dict) -> Iterator[tuple[str, str]]:
    """`validateBootstrapRecoveryDataSource`: each source is a VolumeSnapshot or a PVC
    (`validateVolumeSnapshotSource`), and a WAL snapshot needs the Cluster's walStorage."""
    snapshots = mapping_at(cluster, "spec", "bootstrap", "recovery", "volumeSnapshots")
    base = "spec.bootstrap.recovery.volumeSnapshots"
    for key, ref in (("storage", snapshots.get("storage")), ("walStorage", snapshots.get("walStorage"))):
        if isinstance(ref, dict) and (ref.get("apiGroup") or "", ref.get("kind")) not in _SNAPSHOT_SOURCES:
            yield f"{base}.{key}", "Only VolumeSnapshots and PersistentVolumeClaims are supported"
    if "walStorage" in snapshots and "walStorage" not in mapping_at(cluster, "spec"):
        yield f"{base}.walStorage", ("A WAL storage configuration is required when recovering using a"
                                     " DataSource for WALs (set spec.walStorage)")


def _snapshot_tablespaces(cluster: dict) -> Iterator[tuple[str, str]]:
    """`validateTablespaceBackupSnapshot`: a snapshot class per tablespace the Cluster has."""
    names = {t.get("name") for t in _sequence(cluster, "spec", "tablespaces") if isinstance(t, dict)}
    for name in mapping_at(cluster, "spec", "backup", "volumeSnapshot", "tablespaceClassName"):
        if name not in names:
            yield "spec.backup.volumeSnapshot.tablespaceClassName", (
                f"specified the VolumeSnapshot backup configuration for the tablespace: {name}, but it can't be"
                " found in the '.spec.tablespaces' stanza")


def _hibernation(cluster: dict) -> Iterator[tuple[str, str]]:
    """`validateHibernationAnnotation`: cnpg.io/hibernation is "on" or "off"."""
    value = mapping_at(cluster, "metadata", "annotations").get("cnpg.io/hibernation")
    if value is not None and value not in ("on", "off"):
        yield 'metadata.annotations["cnpg.io/hibernation"]', (
            f"{rules.show(value)}: annotation value for hibernation should be \"on\" or \"off\"")


def _snapshot_deadline(backup: dict) -> Iterator[tuple[str, str]]:
    """Backup `validate`: the volume-snapshot retry deadline is a whole number of minutes.
    A ScheduledBackup passes its annotations to every Backup it creates, so it is held to
    the same rule."""
    value = mapping_at(backup, "metadata", "annotations").get(_SNAPSHOT_DEADLINE)
    if value not in (None, "") and not (isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]+", value)):
        yield f'metadata.annotations["{_SNAPSHOT_DEADLINE}"]', f"{rules.show(value)} must be an integer"


_RULES: dict[tuple[str, str], tuple[Rule, ...]] = {
    (meta.API_GROUP, "Cluster"): (
        _cluster_name, _bootstrap_method, _bootstrap_sources, _recovery_target, _external_clusters,
        _backup_credentials, _cluster_retention, _wal_archiver_plugins, _cluster_cel,
        _snapshot_recovery, _snapshot_tablespaces, _hibernation),
    (meta.API_GROUP, "ScheduledBackup"): (_schedule, _backup_method, _snapshot_deadline),
    (meta.API_GROUP, "Backup"): (_backup_method, _snapshot_deadline),
    (meta.PLUGIN_API_GROUP, "ObjectStore"): (_object_store,),
}


_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
# recoveryTarget fields and the rule each value must follow (renderer.cnpg.rules).
_TARGET_FORMATS: tuple[tuple[str, Callable[[Any], str | None]], ...] = (
    ("targetTime", rules.target_time), ("targetLSN", rules.lsn), ("targetXID", rules.xid),
    ("targetName", rules.restore_point), ("targetTLI", rules.timeline),
)


def _retention(value: Any, field: str) -> Iterator[tuple[str, str]]:
    """Barman's RECOVERY WINDOW ('' is skipped, as upstream)."""
    problem = rules.retention(value) if value not in (None, "") else None
    if problem:
        yield field, problem


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _group(obj: dict) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def _gvk(obj: dict) -> tuple[str, str]:
    return str(obj.get("apiVersion", "")), str(obj.get("kind", ""))


def _problem(obj: dict, index: int | None, field: str, message: str) -> Problem:
    name = value_at(obj, "metadata", "name")
    return Problem(index, str(obj.get("kind", "")), name if isinstance(name, str) else "", field, message)


def _sequence(value: Any, *keys: str) -> list:
    found = value_at(value, *keys)
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
