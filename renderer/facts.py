"""What the object store and the live Cluster say about a lineage, and what that does
to the render: `revision: auto`, the live-lineage guard and the store check.

Pure: the facts (a `StoreState` per destinationPath, the `LiveCluster`s) are gathered
by the shell (`renderer.gather`) and come in through `Context.facts`; nothing here
reads the network or the cluster. The same facts give the same bytes.

The rules (docs/restoring.md explains them to users):
- A Cluster that runs (found in the live state) keeps its lineage: `auto` takes the
  revision it writes to (and was bootstrapped from), and a render that would move its
  archive is refused unless `allow_lineage_change` (PITR would have a gap).
- A Cluster that will bootstrap (not live, or no live state given) must read a lineage
  holding a completed base backup and write one holding no WAL. `auto` on the read
  side takes the newest such lineage (highest revision), on the write side the next
  unused revision.
Lineages are numbered as the revision rule names them: `<base>` is revision "" (0),
`<base>-r<N>` is N. Other names in the store are listed but never chosen."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Mapping

from renderer.errors import Notice, RenderError
from renderer.lineage import Lineage, Side, uses_auto
from renderer.live import LiveCluster
from renderer.objectstore import LineageState, StoreState
from renderer.overlay.model import AUTO_REVISION, Entry, Overlay

VERDICTS = {
    "safe": "safe",
    "expected-empty-archive": 'would fail "Expected empty archive"',
    "recovery-source-empty": "recovery source empty",
    "running": "running: lineage kept",
    "lineage-change": "running: lineage would change",
    "lineage-change-allowed": "running: lineage changes (allowed)",
    "not-checked": "not checked",
    "unchecked": "-",
}
NO_FACTS = ("pass --check-store (reads the object store) and, if the Cluster is running, "
            "--live FILE or --live-kubectl (keeps its lineage)")


@dataclass(frozen=True)
class Facts:
    """Store and live state for one render. None means "not given" (not "empty")."""

    live: tuple[LiveCluster, ...] | None = None
    stores: Mapping[str, StoreState] | None = None  # by destinationPath without a trailing '/'
    allow_lineage_change: bool = False
    collect: bool = False  # plan: report unsafe verdicts instead of refusing
    discover: bool = False  # first pass: only learn which destinationPaths to inspect

    def live_cluster(self, namespace: str | None, name: str, where: str) -> LiveCluster | None:
        if self.live is None:
            return None
        if namespace is None:
            raise RenderError(where, "has no namespace, so it cannot be matched with the live Clusters: "
                                     "pass --namespace")
        return next((c for c in self.live if (c.namespace, c.name) == (namespace, name)), None)

    def store(self, destination_path: str) -> StoreState | None:
        return None if self.stores is None else self.stores.get(norm(destination_path))


@dataclass(frozen=True)
class Resolution:
    """How a `revision: auto` was resolved, and why (shown by plan)."""

    side: str  # "backups" | "recovery"
    revision: str
    how: str


@dataclass
class Assessment:
    """What the facts say about one Cluster's render (plan shows it; render refuses on `problems`)."""

    cluster: str
    live: bool | None  # None: no live state given
    verdict: str = "unchecked"
    detail: str = ""
    problems: list[tuple[str, str, object]] = field(default_factory=list)  # (code, what, overlay where)
    resolutions: list[Resolution] = field(default_factory=list)
    lineages: list[dict] = field(default_factory=list)
    sides: dict[str, dict] = field(default_factory=dict)
    suggested: dict[str, str | None] = field(default_factory=dict)

    @property
    def verdict_text(self) -> str:
        text = VERDICTS[self.verdict]
        return f"{text}: {self.detail}" if self.detail else text

    def refusal(self) -> RenderError | None:
        if not self.problems:
            return None
        what = "; ".join(p[1] for p in self.problems)
        safe = {k: v for k, v in self.suggested.items() if v is not None}
        if safe and self.verdict != "lineage-change":
            what += " (safe: " + ", ".join(f"{k}.revision \"{v}\"" for k, v in safe.items()) + ", or auto)"
        return RenderError(self.problems[0][2], f"Cluster {self.cluster}: {what}")


# --------------------------------------------------------------------------- lineage names


def norm(destination_path: str) -> str:
    return destination_path.rstrip("/")


def revision_of(server_name: str, base: str) -> str | None:
    """The revision that names `server_name` from `base`, or None when it is not one."""
    if server_name == base:
        return ""
    prefix = base + "-r"
    return server_name[len(prefix):] if server_name.startswith(prefix) and len(server_name) > len(prefix) else None


def number(revision: str | None) -> int | None:
    """"" -> 0, "3" -> 3; None for anything the derivation rule would not produce."""
    if revision == "":
        return 0
    if revision and revision.isdigit() and str(int(revision)) == revision:
        return int(revision)
    return None


def numbered(state: StoreState, base: str) -> dict[int, LineageState]:
    out = {}
    for name, lineage in state.lineages.items():
        n = number(revision_of(name, base))
        if n is not None:
            out[n] = lineage
    return out


def revision_text(n: int) -> str:
    return "" if n == 0 else str(n)


def newest_restorable(state: StoreState, base: str) -> str | None:
    """The highest revision of `base` whose lineage holds a completed base backup."""
    found = [n for n, lineage in numbered(state, base).items() if lineage.completed]
    return revision_text(max(found)) if found else None


def next_unused(state: StoreState, base: str, also: tuple[str, ...] = ()) -> str:
    """One past the highest revision of `base` present in the store (or in `also`);
    "" when there is none at all."""
    used = set(numbered(state, base)) | {n for n in map(number, also) if n is not None}
    return revision_text(max(used) + 1) if used else ""


def base_of(side: Side) -> str:
    suffix = f"-r{side.revision}" if side.revision else ""
    return side.server_name[: len(side.server_name) - len(suffix)] if suffix else side.server_name


def with_revisions(entry: Entry, backups: str | None, recovery: str | None, **changes) -> Entry:
    return dataclasses.replace(entry, backups=dataclasses.replace(entry.backups, revision=backups),
                               recovery=dataclasses.replace(entry.recovery, revision=recovery), **changes)


# --------------------------------------------------------------------------- the hook


def edit_cluster(entry: Entry, overlay: Overlay, target, facts: Facts | None,
                 edit: Callable) -> tuple[object, Assessment | None]:
    """Resolve `auto`, edit the Cluster with the result, then judge the lineage it got."""
    name = str((target.cluster.get("metadata") or {}).get("name") or "")
    if facts is not None and facts.discover:
        return edit(_provisional(entry), overlay, target), None
    live = facts.live_cluster(target.namespace, name, target.where) if facts else None
    cluster_id = f"{target.namespace}/{name}" if target.namespace else name
    resolved, resolutions = resolve(entry, overlay, target, facts, live, edit, cluster_id)
    result = edit(resolved, overlay, target)
    if facts is None:
        return result, None
    assessment = assess(resolved, result.lineage, facts, live, cluster_id)
    assessment.resolutions = resolutions
    refusal = assessment.refusal()
    if refusal is not None and not facts.collect:
        raise refusal
    result.notices.extend(Notice(target.where, what) for what in _notes(assessment))
    return result, assessment


def _provisional(entry: Entry) -> Entry:
    """`auto` read as "" on both sides, collision allowed: only the destinationPaths and
    serverName bases of this edit are used."""
    if not uses_auto(entry):
        return entry
    fix = lambda r: "" if r == AUTO_REVISION else r  # noqa: E731
    return with_revisions(entry, fix(entry.backups.revision), fix(entry.recovery.revision),
                          skip_empty_wal_archive_check=True)


def resolve(entry: Entry, overlay: Overlay, target, facts: Facts | None, live: LiveCluster | None,
            edit: Callable, cluster_id: str) -> tuple[Entry, list[Resolution]]:
    if not uses_auto(entry):
        return entry, []
    lineage: Lineage = edit(_provisional(entry), overlay, target).lineage
    out: list[Resolution] = []
    recovery = entry.recovery.revision
    if recovery == AUTO_REVISION:
        recovery = _resolve_recovery(entry, lineage.recovery, facts, live, cluster_id, out)
    backups = entry.backups.revision
    if backups == AUTO_REVISION:
        also = (recovery,) if lineage.recovery and lineage.backup and \
            (norm(lineage.recovery.destination_path), base_of(lineage.recovery)) == \
            (norm(lineage.backup.destination_path), base_of(lineage.backup)) else ()
        backups = _resolve_backup(entry, lineage.backup, facts, live, cluster_id, also, out)
    return with_revisions(entry, backups, recovery), out


def _missing(entry_side, facts: Facts | None, cluster_id: str, why: str) -> RenderError:
    if facts is None or (facts.live is None and facts.stores is None):
        return RenderError(entry_side.where("revision"), f"is auto, but no store or live state was read: {NO_FACTS}")
    return RenderError(entry_side.where("revision"), f"is auto, but Cluster {cluster_id} {why}")


def _kept_revision(section, server_name: str, base: str, cluster_id: str, verb: str) -> str:
    """The revision a running Cluster's serverName carries (it keeps its lineage)."""
    revision = revision_of(server_name, base)
    if revision is None:
        raise RenderError(section.where("revision"),
                          f"is auto, but the running Cluster {cluster_id} {verb} serverName '{server_name}', which "
                          f"is not {base} or {base}-r<revision>: set the revision (and serverName) explicitly")
    return revision


def _checked_store(section, side: Side, facts, cluster_id: str, why: str) -> StoreState:
    """The inspected store under `side`, or the error saying which flag or provider is missing."""
    state = facts.store(side.destination_path) if facts else None
    if state is None:
        raise _missing(section, facts, cluster_id, why)
    if not state.checked:
        raise RenderError(section.where("revision"),
                          f"is auto, but {state.destination_path} was not checked: {state.reason}")
    return state


def _resolve_recovery(entry, side: Side | None, facts, live, cluster_id, out) -> str:
    if side is None:  # standalone or recovery from a Backup object: the revision names nothing
        return ""
    base = side.server_name
    if live is not None:
        if live.recovery_server_name is None:
            raise RenderError(entry.recovery.where("revision"),
                              f"is auto, but the running Cluster {cluster_id} was not bootstrapped from an object "
                              "store, so there is no read lineage to keep: set recovery.revision, or mode: "
                              "standalone while it runs")
        revision = _kept_revision(entry.recovery, live.recovery_server_name, base, cluster_id, "was recovered from")
        out.append(Resolution("recovery", revision, "kept from the running Cluster"))
        return revision
    state = _checked_store(entry.recovery, side, facts, cluster_id,
                           "is not running and the store was not read: pass --check-store")
    revision = newest_restorable(state, base)
    if revision is None:  # judged (and refused) by assess: the bare lineage, which holds nothing
        out.append(Resolution("recovery", "", "no lineage holds a completed base backup"))
        return ""
    out.append(Resolution("recovery", revision, "newest lineage with a completed base backup"))
    return revision


def _resolve_backup(entry, side: Side | None, facts, live, cluster_id, also, out) -> str:
    if side is None:  # backups disabled
        return ""
    base = side.server_name
    if live is not None and live.backup_server_name is not None:
        revision = _kept_revision(entry.backups, live.backup_server_name, base, cluster_id, "writes to")
        out.append(Resolution("backups", revision, "kept from the running Cluster"))
        return revision
    state = _checked_store(entry.backups, side, facts, cluster_id,
                           "does not archive yet and the store was not read: pass --check-store")
    revision = next_unused(state, base, also)
    out.append(Resolution("backups", revision, "next unused revision in the store"))
    return revision


# --------------------------------------------------------------------------- judging


def _lineage_info(state: StoreState, name: str) -> dict:
    lineage = state.lineages.get(name)
    newest = lineage.newest_end_time if lineage else None
    return {"serverName": name, "exists": lineage is not None,
            "completedBackups": len(lineage.completed) if lineage else 0,
            "newestEndTime": newest.isoformat() if newest else None,
            "hasWal": bool(lineage and lineage.has_wal)}


def _found(lineage: LineageState | None) -> str:
    if lineage is None:
        return "the lineage does not exist"
    return (f"found {len(lineage.backups)} base backup(s), {len(lineage.completed)} completed, "
            f"{'with' if lineage.has_wal else 'no'} WAL")


def _folder(side: Side) -> str:
    return f"{norm(side.destination_path)}/{side.server_name}"


def assess(entry: Entry, lineage: Lineage, facts: Facts, live: LiveCluster | None, cluster_id: str) -> Assessment:
    a = Assessment(cluster_id, None if facts.live is None else live is not None)
    _store_report(a, lineage, facts)
    if live is not None:
        _judge_running(a, entry, lineage, facts, live)
    elif facts.stores is not None:
        _judge_bootstrap(a, entry, lineage, facts)
    return a


def _store_report(a: Assessment, lineage: Lineage, facts: Facts) -> None:
    """Lineages found, each side's lineage, and the revisions that would be safe."""
    if facts.stores is None:
        return
    seen = set()
    for key, side in (("recovery", lineage.recovery), ("backups", lineage.backup)):
        state = facts.store(side.destination_path) if side else None
        if side is None or state is None:
            continue
        if not state.checked:
            a.sides[key] = {"folder": _folder(side), "checked": False, "reason": state.reason}
            continue
        a.sides[key] = {"folder": _folder(side), "checked": True, **_lineage_info(state, side.server_name)}
        base = base_of(side)
        if (state.destination_path, base) not in seen:
            seen.add((state.destination_path, base))
            a.lineages += [{"destinationPath": state.destination_path, **_lineage_info(state, name)}
                           for name in sorted(state.lineages) if revision_of(name, base) is not None]
    rec, bak = lineage.recovery, lineage.backup
    rec_state = facts.store(rec.destination_path) if rec else None
    bak_state = facts.store(bak.destination_path) if bak else None
    if rec and rec_state and rec_state.checked:
        a.suggested["recovery"] = newest_restorable(rec_state, base_of(rec))
    elif rec is None and bak and bak_state and bak_state.checked:  # standalone: what a restore would read
        a.suggested["recovery"] = newest_restorable(bak_state, base_of(bak))
        rec = bak if a.suggested["recovery"] is not None else None
    if bak and bak_state and bak_state.checked:
        also = (a.suggested.get("recovery") or "",) if rec and \
            (norm(rec.destination_path), base_of(rec)) == (norm(bak.destination_path), base_of(bak)) and \
            a.suggested.get("recovery") is not None else ()
        a.suggested["backups"] = next_unused(bak_state, base_of(bak), also)


def _judge_running(a: Assessment, entry: Entry, lineage: Lineage, facts: Facts, live: LiveCluster) -> None:
    a.verdict = "running"
    side = lineage.backup
    if live.backup_server_name is not None and side is not None:
        live_folder = f"{norm(live.backup_destination_path)}/{live.backup_server_name}" \
            if live.backup_destination_path else f"<ObjectStore {live.barman_object_name}>/{live.backup_server_name}"
        same_path = live.backup_destination_path is None or \
            norm(live.backup_destination_path) == norm(side.destination_path)
        if same_path and live.backup_server_name == side.server_name:
            return
        move = f"the running Cluster writes to {live_folder}; this render would move its archive to {_folder(side)}"
        if facts.allow_lineage_change:
            a.verdict = "lineage-change-allowed"
            a.detail = (f"{move}. Point-in-time recovery has a gap: the new lineage holds no base backup until "
                        "the next backup completes there, and times before it can only be restored from the old "
                        "lineage. Take a backup right after deploying")
        else:
            a.verdict = "lineage-change"
            a.problems.append(("lineage-change", f"{move} (point-in-time recovery would have a gap until the next "
                               "base backup); keep its lineage (backups.revision: auto keeps it) or pass "
                               "--allow-lineage-change", entry.backups.where("revision")))
    elif side is not None:  # archiving is added to a running Cluster: CNPG skips its check (#11126)
        state = facts.store(side.destination_path)
        lin = state.lineages.get(side.server_name) if state and state.checked else None
        if lin is not None and lin.has_wal:
            a.verdict = "expected-empty-archive"
            a.problems.append(("expected-empty-archive",
                               f"backups would start writing into {_folder(side)}, which already holds WAL; CNPG "
                               "skips its empty-archive check when archiving is added to a running Cluster "
                               "(cloudnative-pg#11126), so two histories would interleave in one archive",
                               entry.backups.where("revision")))
        elif state is None:
            a.detail = ("archiving is added to a running Cluster, where CNPG skips its empty-archive check "
                        "(cloudnative-pg#11126): pass --check-store to have the lineage checked")
    elif live.backup_server_name is not None:
        a.detail = f"backups are disabled: it stops archiving to {live.backup_server_name}"


def _inspected(side: Side, facts: Facts, unchecked: list) -> tuple[bool, LineageState | None]:
    """(was the store under `side` inspected, the lineage found there); an uninspected
    store is noted in `unchecked`."""
    state = facts.store(side.destination_path)
    if state is None or not state.checked:
        unchecked.append(_why_unchecked(side, state))
        return False, None
    return True, state.lineages.get(side.server_name)


def _judge_bootstrap(a: Assessment, entry: Entry, lineage: Lineage, facts: Facts) -> None:
    unchecked = []
    rec, bak = lineage.recovery, lineage.backup
    if rec is not None:
        checked, lin = _inspected(rec, facts, unchecked)
        if checked and (lin is None or not lin.completed):
            a.problems.append(("recovery-source-empty",
                               f"recovery source {_folder(rec)} holds no completed base backup ({_found(lin)}); "
                               "the new Cluster would wait for a backup that never comes",
                               entry.recovery.where("revision")))
    if bak is not None:
        checked, lin = _inspected(bak, facts, unchecked)
        if checked and lin is not None and lin.has_wal:
            why = ("skipEmptyWalArchiveCheck is set, so CNPG would interleave two histories in one archive"
                   if entry.skip_empty_wal_archive_check else
                   "CNPG fails the first archive with 'Expected empty archive'")
            a.problems.append(("expected-empty-archive",
                               f"backups would write into {_folder(bak)}, which already holds WAL: {why}",
                               entry.backups.where("revision")))
    if a.problems:
        a.verdict = a.problems[0][0]
    elif unchecked:
        a.verdict, a.detail = "not-checked", "; ".join(dict.fromkeys(unchecked))
    else:
        a.verdict = "safe"


def _why_unchecked(side: Side, state: StoreState | None) -> str:
    return f"{state.destination_path}: {state.reason}" if state else f"{side.destination_path}: not inspected"


def _notes(a: Assessment) -> list[str]:
    """Warnings a render prints for an accepted assessment."""
    if a.verdict in ("lineage-change-allowed", "not-checked") or (a.verdict == "running" and a.detail):
        return [a.verdict_text]
    return []
