"""`cnpg-render bump NAME`: edit the overlay in place for the next restore.

After bump, entry NAME recovers (`mode: recovery`) from the lineage it writes to now,
and writes to the next revision. What "the lineage it writes to now" means:
- the overlay files are merged as render merges them (later files win), and the
  *effective* write revision of the merged entry is taken: an explicit
  `backups.revision`, else the derivation (standalone: ""; recovery: recovery + 1).
  A standalone entry with no revision writes the bare serverName (""), so the next
  restore reads "" and writes "1".
- with --check-store the store decides instead: the newest lineage of the entry's
  serverName base that holds a completed base backup (refused when there is none);
  the write side gets the next unused revision.
Edits go into the last --overlay file (the one that wins the merge), so layered files
below it are never changed; keys it lacks are added. Comments, key order, quoting and
indentation are kept (ruamel.yaml round trip). `auto` values are left alone: they are
decided at render time. The result is re-read with the normal loader and checked
before the file is replaced."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from renderer.errors import RenderError
from renderer.lineage import backup_revision, next_revision, norm
from renderer.overlay.model import AUTO_REVISION, Entry, Overlay


@dataclass(frozen=True)
class Change:
    """One edit bump makes to the overlay, as it is printed."""

    path: tuple[str, ...]
    old: object  # None: the key was not in the file
    new: str

    def describe(self, file: str) -> str:
        old = "(unset)" if self.old is None else _show(self.old)
        return f"{file}: {'.'.join(self.path)}: {old} -> {_show(self.new)}"


@dataclass(frozen=True)
class Plan:
    """What bump decided: the revision read next, the one written next, and why."""

    recovery: str | None  # None: left as it is (auto)
    backups: str | None  # None: left as it is (unset and derived, or auto)
    derived_backups: str  # what the write side will be after the edit
    notes: tuple[str, ...] = ()


def _show(value) -> str:
    return f'"{value}"' if isinstance(value, str) and (value == "" or value.isdigit()) else str(value)


def entry_of(overlay: Overlay, name: str) -> Entry:
    if name not in overlay.cnpg:
        known = ", ".join(sorted(overlay.cnpg)) or "none"
        raise RenderError(f"cnpg.{name}", f"no such entry in the overlay (known: {known})")
    entry = overlay.cnpg[name]
    if not entry.backups.enabled:
        raise RenderError(entry.backups.where("enabled"), "backups are not enabled: no lineage is written, "
                                                          "so there is nothing to restore from")
    if entry.mode == "recovery" and entry.recovery.method != "object_store":
        raise RenderError(entry.recovery.where("method"), "bump moves object_store recoveries; this entry "
                                                          "recovers from a Backup object")
    return entry


def written_revision(entry: Entry) -> str:
    """The revision the merged entry writes to now, from the overlay alone."""
    auto = entry.backups.revision == AUTO_REVISION or (
        entry.backups.revision is None and entry.mode == "recovery" and entry.recovery.revision == AUTO_REVISION)
    if auto:
        raise RenderError(entry.backups.where("revision"), "the lineage written now is decided at render time "
                                                           "(auto): pass --check-store and the manifests so the "
                                                           "store decides")
    return backup_revision(entry)[0]


def plan_from_overlay(entry: Entry) -> Plan:
    written = written_revision(entry)
    following = next_revision(written)
    if following is None:
        raise RenderError(entry.backups.where("revision"), f"cannot number the revision after '{written}': "
                                                           "set recovery.revision and backups.revision by hand")
    return _plan(entry, written, following, ())


def plan_from_store(entry: Entry, picks: list[tuple[str, str | None, str]]) -> Plan:
    """`picks`: per matched Cluster (name, newest restorable revision or None, next unused)."""
    if not picks:
        raise RenderError(f"cnpg.{entry.name}", "matches no Cluster in the manifests, so the store cannot be read")
    for cluster, newest, _ in picks:
        if newest is None:
            raise RenderError("--check-store", f"Cluster {cluster}: no lineage of it in the store holds a completed "
                                               "base backup: there is nothing to restore from")
    if len({(n, u) for _, n, u in picks}) != 1:
        seen = ", ".join(f"{c}: reads \"{n}\" writes \"{u}\"" for c, n, u in picks)
        raise RenderError("--check-store", f"the Clusters of cnpg.{entry.name} need different revisions ({seen}): "
                                           "use revision: auto, which decides per Cluster")
    _, newest, unused = picks[0]
    notes = ()
    try:
        written = written_revision(entry)
    except RenderError:
        written = None
    if written is not None and written != newest:
        notes = (f"the overlay writes to revision \"{written}\", but the newest lineage holding a completed base "
                 f"backup is \"{newest}\": the next restore reads \"{newest}\" (WAL written after that backup to "
                 "a lineage without one cannot be restored)",)
    return _plan(entry, newest, unused, notes)


def _plan(entry: Entry, read: str, write: str, notes: tuple[str, ...]) -> Plan:
    recovery = None if entry.recovery.revision == AUTO_REVISION else read
    if entry.backups.revision == AUTO_REVISION:
        return Plan(recovery, None, write, notes)
    if entry.backups.revision is None and recovery is not None and next_revision(recovery) == write:
        return Plan(recovery, None, write, notes)
    return Plan(recovery, write, write, notes)


# --------------------------------------------------------------------------- editing


def changes_for(entry: Entry, plan: Plan) -> list[tuple[tuple[str, ...], str]]:
    """(key path under cnpg.<name>, new value) to write into the top overlay file."""
    out: list[tuple[tuple[str, ...], str]] = []
    if entry.mode != "recovery":
        out.append((("mode",), "recovery"))
    if entry.recovery.method != "object_store":
        out.append((("recovery", "method"), "object_store"))
    if not entry.recovery.credentials:
        out.append((("recovery", "credentials"), entry.backups.credentials))
    for field, key in (("server_name", "serverName"), ("destination_path", "destinationPath")):
        written = getattr(entry.backups, field)
        if written and getattr(entry.recovery, field) != written:
            out.append((("recovery", key), written))
    if plan.recovery is not None:
        out.append((("recovery", "revision"), plan.recovery))
    if plan.backups is not None:
        out.append((("backups", "revision"), plan.backups))
    return out


_ENTRY_ORDER = ("enabled", "match", "optional", "mode")
_QUOTED = {"revision"}


def edit_text(text: str, name: str, changes: list[tuple[tuple[str, ...], str]]) -> tuple[str, list[Change]]:
    """Apply `changes` to cnpg.<name> in one overlay file's text, keeping everything else."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import (
        DoubleQuotedScalarString,
        SingleQuotedScalarString,
    )

    mapping, offset = guess_indent(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    doc = yaml.load(text) if text.strip() else None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise RenderError("--overlay", "the overlay must be a mapping")
    entry = _child(_child(doc, "cnpg", CommentedMap), name, CommentedMap)
    done: list[Change] = []
    for path, value in changes:
        parent = entry
        for key in path[:-1]:
            parent = _child(parent, key, CommentedMap)
        key = path[-1]
        old = parent.get(key)
        if path[-1] in _QUOTED or isinstance(old, (SingleQuotedScalarString, DoubleQuotedScalarString)):
            new = (SingleQuotedScalarString if isinstance(old, SingleQuotedScalarString) else DoubleQuotedScalarString)(value)
        else:
            new = value
        if key in parent:
            parent[key] = new
        elif parent is entry and key == "mode":
            parent.insert(sum(1 for k in parent if k in _ENTRY_ORDER), key, new)
        else:
            parent[key] = new
        if old is None or str(old) != value or type(old) is int:
            done.append(Change(("cnpg", name, *path), None if old is None else str(old), value))
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue(), done


def guess_indent(text: str) -> tuple[int, int]:
    """(mapping indent, offset of '- ' under its key) as the file writes them; 2 and 0
    when it has no example (ruamel re-indents everything with one setting)."""
    mapping = offset = None
    previous = None  # (indent, text) of the last key line
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if stripped.startswith("- ") or stripped == "-":
            if offset is None and previous is not None and previous[1].endswith(":"):
                offset = indent - previous[0]
        elif previous is not None and mapping is None and indent > previous[0] and previous[1].endswith(":"):
            mapping = indent - previous[0]
        previous = (indent, stripped.split(" #")[0].rstrip())
        if mapping is not None and offset is not None:
            break
    return mapping or 2, max(offset or 0, 0)


def _child(mapping, key: str, factory):
    value = mapping.get(key)
    if value is None:
        value = factory()
        mapping[key] = value
    elif not isinstance(value, dict):
        raise RenderError(f"{key}", "must be a mapping to be edited")
    return value


def bump(paths: list[str], name: str, picks: list[tuple[str, str | None, str]] | None = None) -> tuple[list[str], Plan]:
    """Edit the last overlay file for the next restore of cnpg.<name>; return the lines
    to print. `picks` (from the store) replaces the overlay's own reading."""
    from renderer import overlay as overlay_model

    texts = [(p, _read(p)) for p in paths]
    merged = overlay_model.parse(texts)
    entry = entry_of(merged, name)
    plan = plan_from_overlay(entry) if picks is None else plan_from_store(entry, picks)
    top, top_text = texts[-1]
    new_text, changes = edit_text(top_text, name, changes_for(entry, plan))
    _verify(overlay_model.parse(texts[:-1] + [(top, new_text)]), name, plan)
    if new_text != top_text:
        _write(top, new_text)
    lines = [c.describe(top) for c in changes] or [f"{top}: nothing to change"]
    lines += [f"note: {n}" for n in plan.notes]
    return lines, plan


def _verify(overlay: Overlay, name: str, plan: Plan) -> None:
    """The edited overlay, read back as render reads it, must say what bump decided."""
    entry = overlay.cnpg[name]
    ok = entry.mode == "recovery" and entry.recovery.method == "object_store"
    if plan.recovery is not None:
        ok = ok and entry.recovery.revision == plan.recovery
    if entry.backups.revision != AUTO_REVISION and entry.recovery.revision != AUTO_REVISION:
        ok = ok and backup_revision(entry)[0] == plan.derived_backups
    if not ok:  # a value the last file cannot override (e.g. set by a merge anchor) would land here
        raise RenderError(f"cnpg.{name}", "the edited overlay does not read back as intended; nothing was written")


def summary(entry_name: str, plan: Plan) -> str:
    read = "auto (decided at render time)" if plan.recovery is None else f"revision {_show(plan.recovery)}"
    return f"cnpg.{entry_name}: the next restore reads {read} and writes revision {_show(plan.derived_backups)}"


def store_picks(paths: list[str], name: str, buf, context) -> list[tuple[str, str | None, str]]:
    """Per Cluster that cnpg.<name> matches in the manifests: (Cluster, newest lineage
    holding a completed base backup or None, next unused revision), read from the store
    its backups write to — the same plans a render makes, asked of the store."""
    from renderer import gather
    from renderer import overlay as overlay_model
    from renderer.facts import newest_restorable, next_unused
    from renderer.records import replace
    from renderer.render import prepare

    loaded = overlay_model.load(paths)
    entry = entry_of(loaded, name)
    plans = prepare(buf, replace(loaded, cnpg={name: entry}), context).planned.plans
    stores = gather.inspect_stores(plans)
    picks = []
    for plan in plans:
        side = plan.backup
        state = stores[norm(side.destination_path)]
        if not state.checked:
            raise RenderError("--check-store", f"{state.destination_path} was not checked: {state.reason}")
        newest = newest_restorable(state, side.base)
        picks.append((plan.cluster.id, newest, next_unused(state, side.base, () if newest is None else (newest,))))
    return picks


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RenderError(path, f"cannot read overlay: {exc.strerror or exc}") from None


def _write(path: str, text: str) -> None:
    """Replace the file atomically, keeping its permissions."""
    target = Path(path)
    mode = target.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
