"""Judge: what the facts say about one settled Plan — a Verdict that `plan` shows and
`render` refuses on. Pure: the plan and the facts in, the verdict out. Each rule below
is one function; docs/restoring.md tells users what each verdict guarantees.

A Cluster that runs (found in the live state) keeps writing where it writes:
- `lineage-change`: the render would move its archive (PITR gap), unless allowed;
- `other-system`: its write lineage holds another database's WAL.

A Cluster that will bootstrap (not live, or no live state given) — its read side:
- `recovery-source-empty`: the lineage holds no completed base backup;
- `other-system` / `systems-mixed`: the lineage is another database's, or its series
  mixes databases and nothing says which is this one (`recovery.systemID`);
- `recovery-source-incomplete`: the backup CNPG would pick lacks WAL it needs;
- `pitr-*`: the target is before the first usable backup, after the last replayable
  WAL, or names a backup that does not exist;
- `newer-history`: the store holds newer WAL of the same database that this restore
  cannot bring back (a newer lineage without a base backup yet, or a revision older
  than the newest), unless `recovery.acceptDataLoss`;
and its write side:
- `fresh-install-beside-data`: a new database would start beside existing backups;
- `expected-empty-archive`: the write lineage already holds WAL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from renderer import history
from renderer.errors import Notice, RenderError
from renderer.facts import Facts
from renderer.lineage import Plan, Side, folder, norm
from renderer.live import LiveCluster
from renderer.records import field, record

if TYPE_CHECKING:
    from renderer.errors import Origin

VERDICTS = {
    "safe": "safe",
    "expected-empty-archive": 'would fail "Expected empty archive"',
    "fresh-install-beside-data": "fresh install beside existing backups",
    "recovery-source-empty": "recovery source empty",
    "recovery-source-incomplete": "recovery source incomplete",
    "other-system": "another database's lineage",
    "systems-mixed": "several databases in one serverName series",
    "newer-history": "newer writes would be lost",
    "pitr-before-first-backup": "recovery target before the first backup",
    "pitr-after-last-wal": "recovery target after the last archived WAL",
    "pitr-backup-missing": "recovery backupID not found",
    "running": "running: lineage kept",
    "lineage-change": "running: lineage would change",
    "lineage-change-allowed": "running: lineage changes (allowed)",
    "not-checked": "not checked",
    "unchecked": "-",
}
RUN_HINT = "if this Cluster is already running, pass --live FILE or --live-kubectl so it keeps its lineage"


@record(frozen=True)
class Problem:
    """One reason to refuse: its verdict code, what is wrong, the overlay key to change
    and what to write there instead."""

    code: str
    what: str
    where: str | Origin  # the overlay key
    fix: str


@record
class Verdict:
    """What the facts say about one Cluster's render."""

    cluster: str
    live: bool | None  # None: no live state given
    code: str = "unchecked"
    detail: str = ""
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # risks the overlay or a flag accepted
    system_id: str | None = None  # the database restored (or written, for a running Cluster)
    point: dict | None = None  # the newest recoverable point the recovery reads
    lineages: list[dict] = field(default_factory=list)
    sides: dict[str, dict] = field(default_factory=dict)
    suggested: dict[str, str | None] = field(default_factory=dict)

    @property
    def text(self) -> str:
        text = VERDICTS[self.code]
        return f"{text}: {self.detail}" if self.detail else text

    @property
    def safe(self) -> bool:
        return self.code in ("safe", "running", "lineage-change-allowed")

    def refusal(self) -> RenderError | None:
        if not self.problems:
            return None
        what = "; ".join(f"{p.what}. {p.fix}" for p in self.problems)
        return RenderError(self.problems[0].where, f"Cluster {self.cluster}: {what}")

    def notices(self, where: str) -> list[Notice]:
        """Warnings a render prints for an accepted verdict."""
        out = [Notice(where, w) for w in self.warnings]
        if self.code in ("lineage-change-allowed", "not-checked") or (self.code == "running" and self.detail):
            out.append(Notice(where, self.text))
        return out


def judge(plan: Plan, facts: Facts) -> Verdict:
    live = facts.live_cluster(plan.cluster)
    v = Verdict(plan.cluster.id, None if facts.live is None else live is not None)
    read, write = _series(plan.recovery, facts), _series(plan.backup, facts)
    pin = facts.restored_system(plan)
    _report(v, plan, read, write, pin[0])
    if live is not None:
        _running(v, plan, facts, live, write)
    elif facts.stores is not None:
        _old_cluster(v, plan, facts)
        if plan.recovery is not None and read is not None:
            _read_side(v, plan, plan.recovery, read, pin)
        if plan.backup is not None and write is not None:
            _write_side(v, plan, plan.backup, write)
        _unchecked(v, plan, facts)
    if v.problems:
        v.code = v.problems[0].code
    elif v.code == "unchecked" and facts.stores is not None:
        v.code = "safe"
    return v


def _series(side: Side | None, facts: Facts) -> history.Series | None:
    if side is None:
        return None
    state = facts.store(side.destination_path)
    return history.series(state, side.base) if state is not None and state.checked else None


def _unchecked(v: Verdict, plan: Plan, facts: Facts) -> None:
    """What no store check could see: a side on a store not inspected, and what the
    restore reads from the Kubernetes cluster instead (a Backup object, VolumeSnapshots)."""
    reasons = [f"the base backup is {base}, in the Kubernetes cluster (no store shows it)" for base in plan.elsewhere]
    for side in (plan.recovery, plan.backup):
        state = facts.store(side.destination_path) if side else None
        if side is not None and (state is None or not state.checked):
            reasons.append(f"{state.destination_path}: {state.reason}" if state else
                           f"{side.destination_path}: not inspected")
    if reasons and not v.problems:
        v.code, v.detail = "not-checked", "; ".join(dict.fromkeys(reasons))


def _anchor(pin: int | None, s: history.Series) -> int | None:
    return history.anchor(s, None if pin is None else str(pin))


# --------------------------------------------------------------------------- the read side


def _read_side(v: Verdict, plan: Plan, side: Side, s: history.Series, pin: tuple[int | None, str]) -> None:
    r = plan.entry.recovery
    member = s.get(side.revision)
    if side.base_from is not None:  # the base backup is elsewhere: this lineage gives the WAL to replay
        if member is None or not member.state.has_wal:
            v.problems.append(Problem("recovery-source-empty",
                                      f"recovery source {side.folder} holds no WAL to replay after {side.base_from}",
                                      r.where("revision"), _fix_recovery(v)))
        elif not _identity(v, plan, s, member, pin):
            v.system_id = str(member.system) if member.system is not None else None
        return
    if member is None or not member.has_data:
        v.problems.append(Problem("recovery-source-empty",
                                  f"recovery source {side.folder} {'holds nothing' if member else 'does not exist'}: "
                                  "the new Cluster would wait for a backup that never comes",
                                  r.where("revision"), _fix_recovery(v)))
        return
    if _identity(v, plan, s, member, pin):
        return
    chosen = history.restore(member, r.pitr_target)
    if not chosen.ok:
        assert chosen.code is not None  # history.restore gives every problem its verdict code
        v.problems.append(Problem(chosen.code, f"recovery source {side.folder} {chosen.problem}",
                                  _pitr_where(plan) if chosen.code.startswith("pitr") else r.where("revision"),
                                  _fix_recovery(v) if not chosen.code.startswith("pitr") else
                                  "Choose a target after the end of that backup, or another backupID"))
        return
    v.system_id = str(member.system) if member.system is not None else None
    v.point = _point(chosen)
    beyond = history.beyond_target(chosen, r.pitr_target)
    if beyond:
        v.problems.append(Problem("pitr-after-last-wal", beyond + ": PostgreSQL stops with 'recovery ended before "
                                  "configured recovery target was reached'", _pitr_where(plan),
                                  f"Choose a target up to {_point_text(chosen)}, or wait until that WAL is archived"))
        return
    if not _has_target(plan):
        _newest_history(v, plan, s, chosen, pin[0])


def _old_cluster(v: Verdict, plan: Plan, facts: Facts) -> None:
    """The Cluster that wrote the data (recovery.from) still runs another system than
    recovery.systemID names: one of the two is not the database meant."""
    r, old = plan.entry.recovery, plan.previous
    if old is None or r.from_ is None:
        return
    live = facts.live_named(old.namespace, old.cluster)
    if live is None or not live.system_id or r.system_id is None or live.system_id == r.system_id:
        return
    v.problems.append(Problem("other-system", f"recovery.systemID is {r.system_id}, but {old.id} (recovery.from) "
                              f"runs PostgreSQL system {live.system_id}", r.where("system_id"),
                              f"Set recovery.systemID to {live.system_id}, or name the Cluster that wrote the data "
                              "in recovery.from"))


def _identity(v: Verdict, plan: Plan, s: history.Series, member: history.Member,
              pin: tuple[int | None, str]) -> bool:
    """Refuse another database's lineage; True when refused. The database is the
    pinned one (recovery.systemID, or the old Cluster's when it still runs)."""
    r = plan.entry.recovery
    pinned, said = pin
    if pinned is not None and member.systems and pinned not in member.systems:
        v.problems.append(Problem("other-system", f"recovery source {member.name} holds PostgreSQL system "
                                  f"{_systems(member)}, not system {pinned} ({said})",
                                  r.where("revision"), _fix_recovery(v)))
        return True
    if pinned is None and len(s.systems) > 1:
        listing = "; ".join(m.describe() for m in s.members if m.has_data)
        v.problems.append(Problem("systems-mixed", f"the lineages of serverName {s.base} under {s.destination_path} "
                                  f"hold {len(s.systems)} different databases ({listing}), so the one this Cluster "
                                  "restores cannot be told apart", r.where("revision"),
                                  "Set recovery.systemID to the system to restore (SELECT system_identifier FROM "
                                  "pg_control_system() on it, or a Cluster's status.systemID), and give the other "
                                  "database its own serverName or destinationPath"))
        return True
    return False


def _newest_history(v: Verdict, plan: Plan, s: history.Series, chosen: history.Restore, pin: int | None) -> None:
    """Newer WAL of the same database that this restore cannot bring back."""
    lost = history.losses(s, _anchor(pin, s), chosen)
    if not lost:
        return
    r = plan.entry.recovery
    what = (f"the store holds newer writes of this database than {chosen.member.name} can restore (up to "
            f"{_point_text(chosen)}): " + "; ".join(_loss_text(loss) for loss in lost))
    if r.accept_data_loss:
        v.warnings.append(f"{what}; restoring anyway (recovery.acceptDataLoss), these writes are lost")
        return
    newer = history.newest(s, _anchor(pin, s), None)
    if newer is not None and newer.member is not chosen.member:
        fix = f"Read the newest restorable lineage: recovery.revision \"{newer.member.revision}\" (or auto)"
    else:
        fix = (f"Wait for the first base backup in {lost[-1].member.name} (its ScheduledBackup, or `kubectl cnpg "
               "backup`), or set recovery.acceptDataLoss: true to restore up to "
               f"{_point_text(chosen)} anyway")
    v.problems.append(Problem("newer-history", what, r.where("revision"), fix))


def _loss_text(loss: history.Loss) -> str:
    where = "no base backup yet" if not loss.member.state.completed else "after its restorable point"
    return (f"{loss.member.name} ({where}) holds WAL archived from {loss.first.archived_at.isoformat()} to "
            f"{loss.newest.archived_at.isoformat()}")


def _has_target(plan: Plan) -> bool:
    """A point-in-time target says which history to end on: newer WAL is not a loss."""
    p = plan.entry.recovery.pitr_target
    return (p is not None and any(x is not None for x in (p.time, p.lsn, p.name, p.xid))) or bool(p and p.immediate)


def _pitr_where(plan: Plan):
    r = plan.entry.recovery
    return r.pitr_target.where() if r.pitr_target is not None else r.where("revision")


# --------------------------------------------------------------------------- the write side


def _write_side(v: Verdict, plan: Plan, side: Side, s: history.Series) -> None:
    entry = plan.entry
    if entry.mode != "recovery":
        existing = [m for m in s.members if m.has_data]
        if existing:
            v.problems.append(Problem(
                "fresh-install-beside-data",
                f"this Cluster bootstraps a new, empty database (mode: standalone), but {s.destination_path} already "
                f"holds backups of serverName {s.base}: " + "; ".join(m.describe() for m in existing),
                entry.where("mode"),
                f"To restore them, set mode: recovery (cnpg-render bump {entry.name} does it); {RUN_HINT}; to "
                "start a new database anyway, give it another serverName or destinationPath"))
            return
    member = s.get(side.revision)
    if member is not None and member.state.has_wal:
        why = ("skipEmptyWalArchiveCheck is set, so CNPG would interleave two histories in one archive"
               if entry.skip_empty_wal_archive_check else "CNPG fails the first archive with 'Expected empty archive'")
        v.problems.append(Problem("expected-empty-archive", f"backups would write into {side.folder}, which already "
                                  f"holds WAL: {why}", entry.backups.where("revision"),
                                  f"Write to a new lineage: backups.revision \"{v.suggested.get('backups')}\" "
                                  f"(or auto); {RUN_HINT}"))


# --------------------------------------------------------------------------- a running Cluster


def _running(v: Verdict, plan: Plan, facts: Facts, live: LiveCluster, write: history.Series | None) -> None:
    v.code, v.system_id = "running", live.system_id
    side, where = plan.backup, plan.entry.backups.where("revision")
    if live.backup_server_name is not None and side is not None:
        _moved(v, plan, facts, live, side, where)
    elif side is not None:  # archiving is added to a running Cluster: CNPG skips its check (#11126)
        member = write.get(side.revision) if write else None
        if member is not None and member.state.has_wal:
            v.problems.append(Problem("expected-empty-archive",
                                      f"backups would start writing into {side.folder}, which already holds WAL; "
                                      "CNPG skips its empty-archive check when archiving is added to a running "
                                      "Cluster (cloudnative-pg#11126), so two histories would interleave in one "
                                      "archive", where, f"Write to a new lineage: backups.revision "
                                                         f"\"{v.suggested.get('backups')}\" (or auto)"))
        elif facts.store(side.destination_path) is None:
            v.detail = ("archiving is added to a running Cluster, where CNPG skips its empty-archive check "
                        "(cloudnative-pg#11126): pass --check-store to have the lineage checked")
    elif live.backup_server_name is not None:
        v.detail = f"backups are disabled: it stops archiving to {live.backup_server_name}"
    if side is not None and write is not None and live.system_id:
        member = write.get(side.revision)
        if member is not None and member.systems and int(live.system_id) not in member.systems:
            v.problems.append(Problem("other-system", f"the running Cluster is PostgreSQL system {live.system_id}, "
                                      f"but its write lineage {side.folder} holds system {_systems(member)}: two "
                                      "databases would share one archive", where,
                                      f"Write to a new lineage: backups.revision \"{v.suggested.get('backups')}\""))


def _moved(v: Verdict, plan: Plan, facts: Facts, live: LiveCluster, side: Side, where) -> None:
    assert live.backup_server_name is not None  # _running asks only about a Cluster that archives
    live_folder = folder(live.backup_destination_path, live.backup_server_name) \
        if live.backup_destination_path else f"<ObjectStore {live.barman_object_name}>/{live.backup_server_name}"
    same_path = (live.backup_destination_path is None
                 or norm(live.backup_destination_path) == norm(side.destination_path))
    if same_path and live.backup_server_name == side.server_name:
        return
    move = f"the running Cluster writes to {live_folder}; this render would move its archive to {side.folder}"
    if facts.allow_lineage_change:
        v.code = "lineage-change-allowed"
        v.detail = (f"{move}. Point-in-time recovery has a gap: the new lineage holds no base backup until the next "
                    "backup completes there, and times before it can only be restored from the old lineage. Take a "
                    "backup right after deploying")
        return
    v.problems.append(Problem("lineage-change", f"{move} (point-in-time recovery would have a gap until the next base "
                              "backup)", where, "Keep its lineage (backups.revision: auto keeps it) or pass "
                                            "--allow-lineage-change"))


# --------------------------------------------------------------------------- what plan shows


def _report(v: Verdict, plan: Plan, read: history.Series | None, write: history.Series | None,
            pin: int | None) -> None:
    """The series found, each side's lineage, and the revisions that would be safe."""
    seen = set()
    for key, side, s in (("recovery", plan.recovery, read), ("backups", plan.backup, write)):
        if side is None or s is None:
            continue
        member = s.get(side.revision)
        v.sides[key] = {"folder": side.folder, "exists": member is not None and member.has_data}
        if (s.destination_path, s.base) not in seen:
            seen.add((s.destination_path, s.base))
            v.lineages += [_lineage(m, s) for m in s.members]
    source = read if read is not None else (write if plan.entry.mode != "recovery" else None)
    if source is not None:
        newest = history.newest(source, _anchor(pin, source), plan.entry.recovery.pitr_target)
        v.suggested["recovery"] = newest.member.revision if newest else None
    if write is not None:
        recovery = v.suggested.get("recovery")
        same_series = source is not None and source.base == write.base and \
            norm(source.destination_path) == norm(write.destination_path)
        v.suggested["backups"] = write.next_unused((recovery,) if same_series and recovery is not None else ())


def _lineage(m: history.Member, s: history.Series) -> dict:
    latest = history.restore(m, None) if m.state.completed else None
    return {"destinationPath": s.destination_path, "serverName": m.name, "revision": m.revision,
            "systemID": str(m.system) if m.system is not None else None,
            "completedBackups": len(m.state.completed),
            "newestEndTime": m.state.newest_end_time.isoformat() if m.state.newest_end_time else None,
            "hasWal": m.state.has_wal,
            "firstWal": _segment(m.first_wal), "newestWal": _segment(m.newest_wal),
            "recoverable": _point(latest) if latest is not None and latest.ok else None,
            "problem": latest.problem if latest is not None and not latest.ok else None}


def _point(chosen: history.Restore) -> dict:
    from renderer import walchain

    assert chosen.backup is not None  # only a restore that is ok is shown, and it has its base backup
    return {"serverName": chosen.member.name, "backupID": chosen.backup.backup_id,
            "time": chosen.end_time.isoformat() if chosen.end_time else None,
            "lsn": walchain.format_lsn(chosen.end_lsn) if chosen.end_lsn is not None else None}


def _point_text(chosen: history.Restore) -> str:
    return chosen.end_time.isoformat() if chosen.end_time else "the end of its WAL"


def _segment(segment) -> dict | None:
    return None if segment is None else {"name": segment.name, "archivedAt": segment.archived_at.isoformat()}


def _systems(member: history.Member) -> str:
    return " and ".join(map(str, sorted(member.systems)))


def _fix_recovery(v: Verdict) -> str:
    suggested = v.suggested.get("recovery")
    if suggested is None:
        return "No lineage of this database in the store holds a usable base backup: check the credentials, " \
               "destinationPath and serverName, or wait for a backup to complete"
    return f"Read the newest restorable lineage: recovery.revision \"{suggested}\" (or auto)"
