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
before the file is replaced.

A careful editor: a symlinked overlay is edited where it points; an entry that shares
a mapping with other entries (a YAML anchor, a `<<` merge) is refused, since editing it
would change them too; concurrent bumps take turns (a lock on the file's directory, held
from reading to replacing); line endings and a byte-order mark are kept; a read-only
file or one that is not a regular file (a pipe from `<(...)`) is refused before
anything is read; a failed write leaves the file as it was."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from renderer.errors import RenderError
from renderer.lineage import backup_revision, next_revision
from renderer.overlay.model import AUTO_REVISION, Entry, Overlay
from renderer.stream import BOM


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
    if not (entry.backups.credentials or entry.recovery.credentials):
        raise RenderError(entry.backups.where("credentials"), "names no object store (nor does recovery."
                                                              "credentials): the restore bump prepares reads one")
    return entry


def written_revision(entry: Entry) -> str:
    """The revision the merged entry writes to now, from the overlay alone."""
    auto = entry.backups.revision == AUTO_REVISION or (
        entry.backups.revision is None and entry.mode == "recovery" and entry.recovery.revision == AUTO_REVISION)
    if auto:
        raise RenderError(entry.backups.where("revision"), "the lineage written now is decided at render time "
                                                           "(auto): pass --check-store and the manifests so the "
                                                           "store decides")
    revision = backup_revision(entry)[0]
    assert revision is not None  # open only with auto, refused above
    return revision


def plan_from_overlay(entry: Entry) -> Plan:
    written = written_revision(entry)
    following = next_revision(written)
    if following is None:
        raise RenderError(entry.backups.where("revision"), f"cannot number the revision after '{written}': "
                                                           "set recovery.revision and backups.revision by hand")
    return _plan(entry, written, following, ())


def plan_from_store(entry: Entry, picks: list[tuple[str, str, str]]) -> Plan:
    """`picks`: per matched Cluster (name, newest restorable revision, next unused)."""
    if not picks:
        raise RenderError(f"cnpg.{entry.name}", "matches no Cluster in the manifests, so the store cannot be read")
    if len({(n, u) for _, n, u in picks}) != 1:
        seen = ", ".join(f"{c}: reads \"{n}\" writes \"{u}\"" for c, n, u in picks)
        raise RenderError("--check-store", f"the Clusters of cnpg.{entry.name} need different revisions ({seen}): "
                                           "use revision: auto, which decides per Cluster")
    _, newest, unused = picks[0]
    notes: tuple[str, ...] = ()
    try:
        written = written_revision(entry)
    except RenderError:
        written = None
    if written is not None and written != newest:
        notes = (f"the overlay writes to revision \"{written}\", but the newest restorable lineage is \"{newest}\": "
                 f"the next restore reads \"{newest}\"",)
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
    if not entry.recovery.credentials and entry.backups.credentials:  # entry_of refuses an entry naming neither
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
    shared = shared_mappings(doc)
    entry = _child(_child(doc, "cnpg", CommentedMap), name, CommentedMap)
    done: list[Change] = []
    for path, value in changes:
        parent = _unshared(entry, shared, ("cnpg", name), doc["cnpg"])
        for i, key in enumerate(path[:-1]):
            parent = _unshared(_child(parent, key, CommentedMap), shared, ("cnpg", name, *path[:i + 1]), parent)
        key = path[-1]
        old = parent.get(key)
        if path[-1] in _QUOTED or isinstance(old, (SingleQuotedScalarString, DoubleQuotedScalarString)):
            new = (SingleQuotedScalarString if isinstance(old, SingleQuotedScalarString)
                   else DoubleQuotedScalarString)(value)
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


def shared_mappings(doc) -> set[int]:
    """ids of the mappings reached from more than one place: through an alias (`*x`) or
    a merge (`<<: *x`, whose keys ruamel shows in the merging mapping too)."""
    seen: dict[int, int] = {}

    def walk(node) -> None:
        if not isinstance(node, (dict, list)):
            return
        seen[id(node)] = seen.get(id(node), 0) + 1
        if seen[id(node)] == 1:
            for child in node.values() if isinstance(node, dict) else node:
                walk(child)

    walk(doc)
    return {key for key, count in seen.items() if count > 1}


def _unshared(mapping, shared: set[int], path: tuple[str, ...], parent=None):
    """`mapping`, if editing it changes nothing else; else the refusal saying how to
    give the entry its own copy."""
    if id(mapping) not in shared:
        return mapping
    via = _sharing(mapping, parent, path[-1])
    dotted = ".".join(path)
    raise RenderError(dotted, f"is shared with other entries through {via}: bump would change them too, so nothing "
                              f"was written. Give {dotted} its own mapping (the entry may keep its `<<: *…` for "
                              "the keys it shares) and run bump again, or edit the revisions by hand")


def _sharing(mapping, parent, key: str) -> str:
    """How `mapping` came to be shared: its own anchor, or the merge it came from."""
    anchor = getattr(getattr(mapping, "anchor", None), "value", None)
    if anchor:
        return f"&{anchor}"
    for source in getattr(parent, "merge", None) or []:  # ruamel: the mappings `<<` merged in
        merged = getattr(getattr(source, "anchor", None), "value", None)
        if merged and key in source:
            return f"<<: *{merged}"
    return "a YAML anchor or merge (<<)"


def _child(mapping, key: str, factory):
    value = mapping.get(key)
    if value is None:
        value = factory()
        mapping[key] = value
    elif not isinstance(value, dict):
        raise RenderError(f"{key}", "must be a mapping to be edited")
    return value


def bump(paths: list[str], name: str, picks: list[tuple[str, str, str]] | None = None) -> tuple[list[str], Plan]:
    """Edit the last overlay file for the next restore of cnpg.<name>; return the lines
    to print. `picks` (from the store) replaces the overlay's own reading."""
    from renderer import overlay as overlay_model

    top = paths[-1]
    target = editable(top)
    with locked(target.parent):
        texts = [(p, _read(p).text) for p in paths[:-1]]
        original = _read(str(target))
        texts.append((top, original.text))
        merged = overlay_model.parse(texts)
        entry = entry_of(merged, name)
        plan = plan_from_overlay(entry) if picks is None else plan_from_store(entry, picks)
        new_text, changes = edit_text(original.text, name, changes_for(entry, plan))
        _verify(overlay_model.parse([*texts[:-1], (top, new_text)]), name, plan)
        if new_text != original.text:
            _write(target, original.encode(new_text))
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


def store_picks(paths: list[str], name: str, buf, context,
                ca_bundle: str | None = None) -> list[tuple[str, str, str]]:
    """Per Cluster that cnpg.<name> matches in the manifests: (Cluster, revision the
    next restore reads, revision it writes) — the plan of that restore, resolved and
    judged against the store exactly as `render --check-store` would; refused as render
    would refuse it (nothing restorable, newer writes that would be lost, another database)."""
    from renderer import gather
    from renderer import overlay as overlay_model
    from renderer.facts import Facts
    from renderer.judge import judge
    from renderer.lineage import as_restore
    from renderer.records import replace
    from renderer.render import prepare
    from renderer.resolve import resolve

    loaded = overlay_model.load(paths)
    entry = entry_of(loaded, name)
    prepared = prepare(buf, replace(loaded, cnpg={name: entry}), context)
    for p in prepared.planned.plans:
        if p.backup is None:
            raise RenderError("--check-store", f"Cluster {p.cluster.id} writes no object-store lineage "
                                               "(no backups.credentials): there is none to read")
    plans = [as_restore(p) for p in prepared.planned.plans]
    options = gather.FactOptions(check_store=True, ca_bundle=ca_bundle)
    facts = Facts(stores=gather.inspect_stores(plans, options, prepared.secret))
    picks = []
    for plan in plans:
        assert plan.backup is not None  # checked above; as_restore reads and writes that series
        state = facts.store(plan.backup.destination_path)
        assert state is not None  # inspect_stores lists the destinationPath of every side
        if not state.checked:
            raise RenderError("--check-store", f"{state.destination_path} was not checked: {state.reason}")
        settled = resolve(plan, facts)
        refusal = judge(settled, facts).refusal()
        if refusal is not None:
            raise refusal
        read, written = settled.recovery, settled.backup
        assert read is not None and written is not None  # as_restore gave the plan both sides
        assert read.revision is not None and written.revision is not None  # resolve decided them
        picks.append((plan.cluster.id, read.revision, written.revision))
    return picks


@dataclass(frozen=True)
class Text:
    """An overlay file's text (LF line ends, no BOM), and how to write it back as it was."""

    text: str
    newline: str = "\n"
    bom: bool = False

    def encode(self, text: str) -> bytes:
        data = text.replace("\n", self.newline).encode("utf-8")
        return BOM + data if self.bom else data


def _read(path: str) -> Text:
    """The file's text as ruamel and the loader want it, remembering its line ends
    (the more common of CRLF and LF) and its byte-order mark."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RenderError(path, f"cannot read overlay: {exc.strerror or exc}") from None
    bom = data.startswith(BOM)
    crlf = data.count(b"\r\n")
    try:
        text = data[len(BOM) if bom else 0:].decode("utf-8")
    except UnicodeDecodeError:
        raise RenderError(path, "overlay is not UTF-8 text") from None
    return Text(text.replace("\r\n", "\n"), "\r\n" if crlf * 2 > data.count(b"\n") else "\n", bom)


def editable(path: str) -> Path:
    """The file bump will replace: a symlink's target (editing the link would leave the
    real file unedited), refused unless it is a writable regular file."""
    import stat

    try:
        target = Path(os.path.realpath(path))
        status = os.stat(path)
    except OSError as exc:
        raise RenderError(path, f"cannot read overlay: {exc.strerror or exc}") from None
    if not stat.S_ISREG(status.st_mode):
        kind = "a pipe (e.g. from <(...))" if stat.S_ISFIFO(status.st_mode) else "not a regular file"
        raise RenderError(path, f"is {kind}: bump edits a file in place; pass the overlay file itself")
    if not status.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise RenderError(path, "is read-only: bump edits the file in place; make it writable (chmod u+w) "
                                "or change the revisions by hand")
    return target


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on `directory` (no lock file to leave behind): concurrent
    bumps of files in it take turns, each reading what the one before it wrote."""
    import fcntl

    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write(target: Path, data: bytes) -> None:
    """Replace the file atomically, keeping its permissions and owner; on any failure
    (a full disk) the file is left as it was."""
    status = target.stat()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, status.st_mode & 0o7777)
        if os.getuid() == 0:
            os.chown(tmp, status.st_uid, status.st_gid)
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise RenderError(str(target), f"cannot write: {exc.strerror or exc}; the file was left unchanged") from None
