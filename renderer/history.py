"""History: what the store says about one revision series — the lineages of one
serverName base under one destinationPath — in the terms a restore needs.

- **Whose.** Each lineage's PostgreSQL system identifier: backup.info's `systemid`,
  else the page header of its oldest WAL segment. A restore keeps the identifier, so
  one application's restore chain is one system; a second system in a series is
  another application's data (a copied overlay, a shared serverName) or a database
  initialised anew.
- **Restorable up to when.** The base backup CNPG would start from — its
  `FindBackupInfo` rules (cloudnative-pg/barman-cloud `pkg/catalog/catalog.go`): a
  `backupID` if given, else the newest completed backup ending at or before
  `targetTime`, or with an end LSN before `targetLSN`, else the newest completed one —
  and how far PostgreSQL replays from it through the lineage's WAL
  (`renderer.walchain.coverage`).
- **What is newer.** WAL of the same system archived after that point: a restore from
  this series cannot bring it back, so the restore would lose it.

Pure: StoreState in, values out. Times are the store's (an object's LastModified),
so one clock orders every lineage."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property

from renderer import walchain
from renderer.lineage import number, revision_of
from renderer.objectstore import DONE, BaseBackup, LineageState, StoreState, WalSegment
from renderer.overlay.model import PitrTarget
from renderer.records import record

# Why no backup qualifies, as CNPG would say it (codes the judge turns into verdicts).
NO_BACKUP, NO_TARGET_BACKUP, NO_SUCH_BACKUP = "recovery-source-empty", "pitr-before-first-backup", "pitr-backup-missing"
INCOMPLETE = "recovery-source-incomplete"
# Object stores list LastModified in whole seconds: an object archived at 10:00:00.9 is
# listed as 10:00:00, so a target time is "after" it only from the next second on.
CLOCK_STEP = timedelta(seconds=1)


@record(frozen=True, eq=False)
class Member:
    """One lineage of a series: its revision and what the store holds in it."""

    revision: str
    state: LineageState

    @property
    def name(self) -> str:
        return self.state.server_name

    @cached_property
    def systems(self) -> frozenset[int]:
        """Every system identifier the lineage's backups and WAL name (two: interleaved histories)."""
        found = {b.system_id for b in self.state.backups if b.system_id is not None}
        if self.state.wal_system_id is not None:
            found.add(self.state.wal_system_id)
        return frozenset(found)

    @property
    def system(self) -> int | None:
        """The lineage's system, None when unknown (no backup.info names it, the WAL
        header was unreadable) or ambiguous."""
        return next(iter(self.systems)) if len(self.systems) == 1 else None

    @property
    def has_data(self) -> bool:
        return bool(self.state.backups or self.state.has_wal)

    @property
    def newest_wal(self) -> WalSegment | None:
        return self.state.wal[-1] if self.state.wal else None

    @property
    def first_wal(self) -> WalSegment | None:
        return self.state.wal[0] if self.state.wal else None

    def describe(self) -> str:
        """`main-r1 (system 7312…, 2 completed backups, WAL 10:00–12:30)`, for messages."""
        system = f"system {self.system}" if self.system is not None else (
            "systems " + " and ".join(map(str, sorted(self.systems))) if self.systems else "system unknown")
        wal = f", WAL archived {_when(self.first_wal)} to {_when(self.newest_wal)}" if self.state.wal else \
            (", WAL" if self.state.has_wal else ", no WAL")
        done = len(self.state.completed)
        return f"{self.name} ({system}, {done} completed backup{'' if done == 1 else 's'}{wal})"


@record(frozen=True, eq=False)
class Restore:
    """A restore from one lineage: the backup CNPG starts from, and how far replay gets.
    `problem` (with its verdict `code`) says why it would fail; None: it would succeed
    as far as the store can show."""

    member: Member
    backup: BaseBackup | None
    coverage: walchain.Coverage | None
    code: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def end_time(self) -> datetime | None:
        """When the newest WAL the restore replays was archived: the recoverable point."""
        return self.coverage.archived_at if self.coverage else None

    @property
    def end_lsn(self) -> int | None:
        return self.coverage.end_lsn if self.coverage else None


@record(frozen=True)
class Loss:
    """WAL of the restored system that a restore cannot bring back."""

    member: Member
    first: WalSegment  # the first segment archived after the recoverable point
    newest: WalSegment


@record(frozen=True, eq=False)
class Series:
    """The lineages of one serverName base under one destinationPath, by revision."""

    destination_path: str
    base: str
    members: tuple[Member, ...]

    def get(self, revision: str | None) -> Member | None:
        """The member of `revision`; None when there is none (an open revision names none)."""
        return next((m for m in self.members if m.revision == revision), None)

    @property
    def systems(self) -> frozenset[int]:
        return frozenset(s for m in self.members for s in m.systems)

    def next_unused(self, also: tuple[str, ...] = ()) -> str:
        """One past the highest revision present (or in `also`); "" when there is none."""
        numbers = {number(m.revision) for m in self.members} | {number(r) for r in also}
        used = {n for n in numbers if n is not None}
        return str(max(used) + 1) if used else ""


def series(state: StoreState, base: str) -> Series:
    """The series of `base` in an inspected store: lineages named `<base>` or
    `<base>-r<N>` (N as the derivation rule writes numbers); other names are not ours."""
    numbered: list[tuple[int, Member]] = []
    for name, lineage in state.lineages.items():
        revision = revision_of(name, base)
        n = number(revision)
        if revision is not None and n is not None:
            numbered.append((n, Member(revision, lineage)))
    numbered.sort(key=lambda item: item[0])
    return Series(state.destination_path, base, tuple(m for _, m in numbered))


def anchor(s: Series, pinned: str | None) -> int | None:
    """The database a restore continues: the pinned system (`recovery.systemID`), else
    the series' only system; None when it holds none or several (nothing is assumed)."""
    if pinned is not None:
        return int(pinned)
    return next(iter(s.systems)) if len(s.systems) == 1 else None


# --------------------------------------------------------------------------- one restore


def restore(member: Member, pitr: PitrTarget | None) -> Restore:
    """What a restore from `member` gets, choosing the backup as CNPG does."""
    backup, code, why = _choose(member, pitr)
    if backup is None:
        return Restore(member, None, None, code, why)
    cover = walchain.coverage(member.state, backup)
    if cover.problem is not None:
        return Restore(member, backup, cover, INCOMPLETE, f"cannot be restored from base backup {backup.backup_id}: "
                                                          f"{cover.problem}")
    if not cover.complete:
        return Restore(member, backup, cover, INCOMPLETE,
                       f"cannot be restored from base backup {backup.backup_id}: it needs WAL {backup.begin_wal} to "
                       f"{backup.end_wal}, and {cover.first_missing} is missing, so PostgreSQL never reaches a "
                       "consistent state")
    return Restore(member, backup, cover)


def _usable(member: Member, tli: str | None) -> list[BaseBackup]:
    """Completed backups in CNPG's order (by end time), on the target timeline if one is named."""
    done = [b for b in member.state.backups if b.status == DONE and b.begin_time and b.end_time]
    if tli and tli != "latest":
        done = [b for b in done if b.timeline == int(tli)]
    return sorted(done, key=lambda b: b.ended)


def _choose(member: Member, pitr: PitrTarget | None) -> tuple[BaseBackup | None, str | None, str | None]:
    """(backup, None, None), or (None, verdict code, why) — CNPG's FindBackupInfo."""
    usable = _usable(member, pitr.tli if pitr else None)
    if pitr is not None and pitr.backup_id:
        found = next((b for b in usable if b.backup_id == pitr.backup_id), None)
        if found is None:
            have = ", ".join(b.backup_id for b in usable) or "none"
            return None, NO_SUCH_BACKUP, (f"has no completed backup with backupID {pitr.backup_id} (completed: "
                                          f"{have}): CNPG fails with 'no backup found with ID {pitr.backup_id}'")
        return found, None, None
    if not usable:
        return None, NO_BACKUP, f"holds no completed base backup ({_found(member)})"
    target_time = _target_time(pitr)
    if pitr is not None and target_time is not None:  # a time only comes with a target
        before = [b for b in usable if b.ended <= target_time]
        return (before[-1], None, None) if before else (None, NO_TARGET_BACKUP, _too_early(usable, pitr))
    if pitr is not None and pitr.lsn is not None:
        target = walchain.parse_lsn(pitr.lsn)
        before = [b for b in usable if b.end_lsn is not None and b.end_lsn < target]
        return (before[-1], None, None) if before else (None, NO_TARGET_BACKUP, _too_early(usable, pitr))
    return usable[-1], None, None


def _too_early(usable: list[BaseBackup], pitr: PitrTarget) -> str:
    first = usable[0]
    at = f"time {pitr.time}" if pitr.time else f"LSN {pitr.lsn}"
    ends = f"{first.ended.isoformat()}" + (f" (LSN {walchain.format_lsn(first.end_lsn)})"
                                             if first.end_lsn is not None and pitr.lsn else "")
    return (f"has no backup that ended before the recovery target {at} (the earliest completed one, "
            f"{first.backup_id}, ended {ends}): CNPG answers 'no target backup found'")


def _target_time(pitr: PitrTarget | None) -> datetime | None:
    if pitr is None or pitr.time is None:
        return None
    from renderer.cnpg.rules import instant

    return instant(pitr.time)


def _found(member: Member) -> str:
    state = member.state
    return (f"found {len(state.backups)} base backup(s), {len(state.completed)} completed, "
            f"{'with' if state.has_wal else 'no'} WAL")


def beyond_target(chosen: Restore, pitr: PitrTarget | None) -> str | None:
    """Why a time or LSN target lies after the WAL the restore can replay, or None.
    PostgreSQL then stops with 'recovery ended before configured recovery target was
    reached' instead of promoting."""
    if pitr is None or chosen.coverage is None:
        return None
    target_time = _target_time(pitr)
    last = chosen.coverage.last_segment  # chosen.end_time is when it was archived
    if target_time is not None and last is not None and target_time >= last.archived_at + CLOCK_STEP:
        return (f"the recovery target time {pitr.time} is after the last WAL {chosen.member.name} can replay "
                f"({last.name}, archived {last.archived_at.isoformat()})")
    if pitr.lsn is not None and chosen.end_lsn is not None and walchain.parse_lsn(pitr.lsn) > chosen.end_lsn:
        return (f"the recovery target LSN {pitr.lsn} is after the last WAL {chosen.member.name} can replay "
                f"(up to {walchain.format_lsn(chosen.end_lsn)})")
    return None


# --------------------------------------------------------------------------- the series


def of_system(s: Series, system: int | None) -> list[Member]:
    """The members that may hold `system`'s history: its own, and those whose system is
    unknown (a careful reading counts them in)."""
    return [m for m in s.members if system is None or system in m.systems or not m.systems]


def newest(s: Series, system: int | None, pitr: PitrTarget | None) -> Restore | None:
    """The restore with the newest recoverable point among `system`'s lineages (with a
    target: among those that reach it), None when no lineage of it is restorable."""
    candidates = [m for m in of_system(s, system) if len(m.systems) <= 1]  # never an interleaved lineage
    found = [r for r in (restore(m, pitr) for m in candidates) if r.ok and beyond_target(r, pitr) is None]
    if not found:
        return None
    return max(found, key=lambda r: (_recoverable_point(r), number(r.member.revision)))


def _recoverable_point(r: Restore) -> datetime:
    """`r.end_time`; without one, a floor below every point (in its backup's time zone)."""
    if r.end_time is not None:
        return r.end_time
    assert r.backup is not None  # restore() gives every ok Restore its backup
    return datetime.min.replace(tzinfo=r.backup.ended.tzinfo)


def losses(s: Series, system: int | None, chosen: Restore) -> list[Loss]:
    """WAL of `system` (or of unknown system) archived after the point `chosen` restores to."""
    point = chosen.end_time
    if point is None:
        return []
    out = []
    for member in of_system(s, system):
        later = [w for w in member.state.wal if w.archived_at > point]
        if later:
            out.append(Loss(member, later[0], later[-1]))
    return out


def _when(segment: WalSegment | None) -> str:
    return segment.archived_at.isoformat() if segment else "-"
