"""Turning merged overlay values into the typed model, checking types, enums,
patterns and unknown keys on the way. Every error names file, line and key path.

Fields that take text take it as written: a plain scalar YAML 1.1 reads as something
else (`revision: 07` is 7, `010` is 8, `1_0` is 10, `08` is 8.0, `yes` is true) is
refused with the quoted form to write, since the lineage, bucket or key it names
would silently be another one (`Converter.text`)."""

from __future__ import annotations

import re
from functools import cache

from renderer import records
from renderer.errors import Notice, Origin, RenderError
from renderer.overlay.fields import Located, shape, yaml_fields, yaml_key
from renderer.overlay.source import Source, format_path
from renderer.sensitive import Sensitive

TYPE_CHECKING = False  # see renderer.records
if TYPE_CHECKING:
    from typing import Any

# Keys TrueCharts users carry over that mean nothing, or something else, here.
_POINTED = {
    "servername": "TrueCharts' lower-case 'servername' is read by no template (a dead default); write 'serverName'",
    "customCA": "write endpointCA: with the same PEM: it generates the same Secret "
                "(<cluster>-provider-<side>-s3-ca, key ca.crt); TrueCharts deprecates customCA",
    "customCASecretRef": "write endpointCA: {name, key} (the Secret name is used as written: "
                         "TrueCharts' expandObjectName prefix is not applied)",
    "hibernate": "hibernate is the chart's setting: it renders cnpg.io/hibernation: \"on\" on the Cluster, which "
                 "cnpg-render reads (the ScheduledBackups it adds are suspended, its Backups held back)",
    "cluster": "'cluster' is a TrueCharts chart setting for the Cluster itself; its skipEmptyWalArchiveCheck lets "
               "backup and recovery share one lineage, which cnpg-render's revisions avoid (docs/restoring.md): "
               "leave it out, or write cnpg.<name>.skipEmptyWalArchiveCheck: true (dangerous)",
    "clusterName": "TrueCharts reads no recovery.clusterName (a dead default); the lineage to read is "
                   "serverName (default: the Cluster name) plus -r<revision>",
    "endpointURL": "the endpoint comes from the credential: write credentials.<name>.url",
}
# TrueCharts' cnpg.<name> settings that shape the chart's own Cluster: a copied block
# keeps them, and they mean nothing to cnpg-render.
_CHART_SETTINGS = {"primary", "labels", "annotations", "type", "pgVersion", "database", "user",
                   "password", "instances", "monitoring", "pooler", "creds"}
_POINTED_VALUES = {
    "restore": "'restore' is not a mode (an old TrueCharts guide says so by mistake); write 'recovery'",
    "replica": "replica mode is not supported: use standalone or recovery",
    "pg_basebackup": "pg_basebackup recovery is not supported (TrueCharts renders an invalid spec for it): "
                     "use object_store or backup",
}


@cache
def hints(cls) -> dict[str, Any]:
    """The field types of a model class. The model's annotations are objects already
    (its module does not defer them): read as they are, since typing.get_type_hints
    would evaluate them all again, a cost paid on every render."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        found.update(vars(klass).get("__annotations__", {}))
    if any(isinstance(tp, str) for tp in found.values()):
        import typing

        return typing.get_type_hints(cls)
    return found


class Converter:
    def __init__(self, source: Source):
        self.source = source

    def origin(self, path: tuple) -> Origin:
        file, line = self.source.locate(path)
        return Origin(file, line, format_path(path))

    def fail(self, path: tuple, what: str) -> RenderError:
        return RenderError(self.origin(path), what)

    def value(self, tp, raw, path: tuple, field: records.Field | None = None):
        custom = field.metadata.get("custom") if field else None
        if custom is not None:
            return self._custom(custom, raw, path)
        form, inner = shape(tp)
        if form == "optional":
            return None if raw is None else self.value(inner, raw, path, field)
        if form == "choices":
            return self._choice(inner, raw, path)
        if form == "list":
            return self._list(inner, raw, path)
        if form == "dict":
            return self._dict(inner, raw, path)
        if form == "record":
            return self.object(tp, raw, path)
        return self._scalar(tp, raw, path, field)

    def object(self, cls, raw, path: tuple, name: str = ""):
        if not isinstance(raw, dict):
            raise self.fail(path, "must be a mapping")
        fields = {yaml_key(f): f for f in yaml_fields(cls)}
        for key in raw:
            if key not in fields:
                raise self.fail((*path, key), self._unknown(key, fields))
        kwargs, origins = {}, {"": self.origin(path)}
        for key, field in fields.items():
            origins[field.name] = self.origin((*path, key))
            if key in raw:
                kwargs[field.name] = self.value(hints(cls)[field.name], raw[key], (*path, key), field)
            elif field.default is records.MISSING and field.default_factory is records.MISSING:
                raise self.fail((*path, key), "is required")
        if "name" in {f.name for f in records.fields(cls)} and name:
            kwargs.setdefault("name", name)
        obj = cls(**kwargs, origins=origins)
        for field in fields.values():
            if field.name not in kwargs:
                _adopt(getattr(obj, field.name), origins[field.name])
        return obj

    def _unknown(self, key, fields: dict) -> str:
        if key in _POINTED:
            return _POINTED[key]
        if key in _CHART_SETTINGS and "mode" in fields:
            return (f"'{key}' is a TrueCharts chart setting for the Cluster itself, which cnpg-render does not "
                    "render: set it in the chart's values, and keep only match/mode/backups/recovery here")
        import difflib

        close = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.6)
        lowered = {k.lower(): k for k in fields}
        hint = close[0] if close else lowered.get(str(key).lower())
        known = ", ".join(fields)
        return "unknown key" + (f"; did you mean '{hint}'?" if hint else f" (known keys: {known})")

    def _custom(self, custom, raw, path):
        self._as_written(raw, path, secret=False)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = self.source.texts.get(path, str(raw))  # as written: `revision: 1.5` is "1.5"
        try:
            return custom.convert(raw)
        except ValueError as exc:
            raise self.fail(path, str(exc)) from None

    def _choice(self, choices: tuple, raw, path):
        if raw in choices:
            return raw
        if isinstance(raw, str) and raw in _POINTED_VALUES:
            raise self.fail(path, _POINTED_VALUES[raw])
        shown = f" (got {raw!r})" if isinstance(raw, (str, int, float, bool)) else ""
        raise self.fail(path, f"must be one of {', '.join(map(str, choices))}{shown}")

    def _list(self, item_tp, raw, path):
        if not isinstance(raw, list):
            raise self.fail(path, "must be a list")
        return [self.value(item_tp, item, (*path, i)) for i, item in enumerate(raw)]

    def _dict(self, value_tp, raw, path):
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.fail(path, "must be a mapping")
        out = {}
        for key, item in raw.items():
            if not isinstance(key, str):
                raise self.fail((*path, key), "keys must be strings")
            if records.is_record(value_tp):
                out[key] = self.object(value_tp, item, (*path, key), name=key)
            elif value_tp is dict:
                out[key] = self._mapping(item, (*path, key))
            else:
                out[key] = self.value(value_tp, item, (*path, key))
        return out

    def _mapping(self, raw, path):
        if not isinstance(raw, dict):
            raise self.fail(path, "must be a mapping")
        return raw

    def _scalar(self, tp, raw, path, field):
        if tp is dict:
            return self._mapping(raw, path)
        if tp is Sensitive:
            return Sensitive(self.text(raw, path, secret=True))
        if tp is bool and not isinstance(raw, bool):
            raise self.fail(path, "must be true or false")
        if tp is int and (isinstance(raw, bool) or not isinstance(raw, int)):
            raise self.fail(path, "must be an integer")
        if tp is str:
            raw = self.text(raw, path, secret=False)
        self._constraints(raw, path, field)
        return raw

    def text(self, raw, path: tuple, secret: bool) -> str:
        """`raw` as the text it was written as (see the module docstring)."""
        self._as_written(raw, path, secret)
        if isinstance(raw, bool):
            shown = "the value as a boolean" if secret else \
                f"{self.source.texts.get(path, str(raw).lower())} as the boolean {str(raw).lower()}"
            raise self.fail(path, f"must be a string; YAML 1.1 reads {shown}{self._quote_hint(path, secret)}")
        if not isinstance(raw, (str, int, float)):
            raise self.fail(path, "must be a string")
        return str(raw)

    def _as_written(self, raw, path: tuple, secret: bool) -> None:
        """A number YAML made of plain text is refused unless it reads back as written
        (`1` is "1"; `07`, `1_0`, `08` and `1e3` are not); a secret is never shown."""
        written = self.source.texts.get(path)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and written not in (None, str(raw)):
            shown = "the value as a number" if secret else f"{written} as the number {raw}"
            raise self.fail(path, f"YAML 1.1 reads {shown}, not the text written{self._quote_hint(path, secret)}")

    def _quote_hint(self, path: tuple, secret: bool) -> str:
        written = self.source.texts.get(path)
        if secret or written is None or not isinstance(path[-1], str):
            return ": quote it"
        return f': quote it: {path[-1]}: "{written}"'

    def _constraints(self, raw, path, field):
        if field is None:
            return
        pattern, minimum = field.metadata.get("pattern"), field.metadata.get("minimum")
        if pattern and not re.search(pattern, raw):
            # The value is not echoed: a URL can carry a password.
            raise self.fail(path, field.metadata["advice"])
        if minimum is not None and raw < minimum:
            raise self.fail(path, f"must be at least {minimum}")


def _adopt(value, origin: Origin) -> None:
    """Defaults the user did not write point at where they would have been written."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, Located) and "" not in item.origins:
            item.origins[""] = origin
            for field in yaml_fields(type(item)):
                _adopt(getattr(item, field.name), origin)


def backups_not_enabled(source: Source) -> list[Notice]:
    """Entries that configure backups but leave `enabled` out: nothing of it would be
    written, and nothing said (the default is false)."""
    notices = []
    entries = source.values.get("cnpg")
    for name, entry in entries.items() if isinstance(entries, dict) else ():
        backups = entry.get("backups") if isinstance(entry, dict) else None
        if isinstance(backups, dict) and backups and "enabled" not in backups:
            file, line = source.locate(("cnpg", name, "backups"))
            keys = ", ".join(str(key) for key in backups)
            notices.append(Notice(str(Origin(file, line, f"cnpg.{name}.backups")),
                                  f"sets {keys} but not enabled, so no backups are written: add enabled: true"))
    return notices
