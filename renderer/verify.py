"""Verify: is each Cluster's archive really being written? The TrueCharts guide's "confirm
the data is being sent to your S3 host after ~5 minutes", as rules over the facts
`renderer.gather` read. Pure: a settled Plan, the facts, the rendered ScheduledBackups
and the time in; a Confirmation out. The CLI (`cnpg-render verify`) does the reading
and the polling.

What a Cluster with backups must show in its **write lineage** (the folder the render
writes; for `revision: auto` the one the running Cluster writes, or without live state
the newest written lineage of its series):
- **WAL arriving**: a newest WAL segment archived at most `max_wal_age` ago. CNPG sets
  `archive_timeout = 5min`, so a database with writes archives a segment at least every
  five minutes; an idle one archives nothing (PostgreSQL switches segments after
  archive_timeout only if something was written since the last switch), and its
  newest WAL grows old with nothing wrong: the message says so.
- **a completed base backup**, and the next one not overdue: each ScheduledBackup fires
  (robfig/cron, `renderer.cron`) after the newest backup began, and a backup may run
  `backup_grace` after it is due. The first one is due when the ScheduledBackup is
  created (`immediate: true`) or at its schedule's first activation after that; without
  the live ScheduledBackup's status, the lineage's first WAL stands for that moment.
  In the **first hours** (`first_hours`) a lineage whose first backup is not overdue
  yet is accepted as `waiting`, with the time it is due.
- **one database**: the system identifiers its backups and WAL name, and with live state
  the running Cluster's `status.systemID`, agree.
With live state also: the Cluster runs, writes where the render writes, and its
`ContinuousArchiving` condition is not False (the silent failure: a Cluster that is
Ready while every archive fails; the instance sets the condition after each archive
attempt, cloudnative-pg `internal/cmd/manager/walarchive/cmd.go`).

Every missing piece says where to look: the folder, the condition, `kubectl cnpg
status`, the Secret the credentials come from, the Backups that failed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from renderer import cron, history
from renderer.facts import Facts
from renderer.lineage import AUTO, DERIVED, Plan, Side, folder
from renderer.live import Condition, LiveCluster, Scheduled
from renderer.objectstore import BaseBackup, LineageState, StoreState, WalSegment
from renderer.records import record

CONFIRMED, WAITING, NOT_CONFIRMED, NOT_CHECKED = "confirmed", "waiting", "not-confirmed", "not-checked"
STATE_TEXT = {CONFIRMED: "confirmed", WAITING: "confirmed, first base backup not due yet",
              NOT_CONFIRMED: "NOT CONFIRMED", NOT_CHECKED: "not checked"}
# Exit codes as `plan --exit-code` has them: 0 all confirmed, 2 something is not, 3 nothing
# is refused but something could not be checked (or nothing was there to verify).
EXIT_CONFIRMED, EXIT_NOT_CONFIRMED, EXIT_NOT_CHECKED = 0, 2, 3
IDLE = ("an idle database archives nothing: PostgreSQL switches WAL segments only after writes "
        "(archive_timeout, 5min in CNPG), so write something or raise --max-wal-age")


@record(frozen=True)
class Policy:
    """The thresholds (the CLI's --max-wal-age, --backup-grace and --first-hours)."""

    max_wal_age: timedelta = timedelta(minutes=10)  # twice CNPG's archive_timeout
    backup_grace: timedelta = timedelta(hours=1)  # how long a base backup may run after it is due
    first_hours: bool = False


@record(frozen=True)
class Missing:
    """One reason a Cluster is not confirmed, and where to look."""

    what: str
    look: str


@record(frozen=True)
class Due:
    """When the next base backup starts, which ScheduledBackup starts it, and whether it
    is the lineage's first."""

    at: datetime
    by: str
    first: bool


@record(frozen=True)
class Confirmation:
    """What verify found for one Cluster."""

    cluster: str
    state: str
    destination_path: str
    server_name: str
    chosen: str  # how the write lineage was chosen
    lineage: LineageState | None = None
    due: Due | None = None
    live: LiveCluster | None = None
    live_given: bool = False
    scheduled: tuple[Scheduled, ...] = ()
    missing: tuple[Missing, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def folder(self) -> str:
        return folder(self.destination_path, self.server_name)

    @property
    def newest_wal(self) -> WalSegment | None:
        return newest_wal(self.lineage)

    @property
    def newest_backup(self) -> BaseBackup | None:
        return newest_backup(self.lineage)

    @property
    def systems(self) -> tuple[int, ...]:
        return tuple(sorted(history.Member("", self.lineage).systems)) if self.lineage else ()


@record(frozen=True)
class _Where:
    """What a message names: the Cluster, its folder, and where its credentials come from."""

    namespace: str
    name: str
    destination_path: str
    server_name: str
    credentials: str
    plugin: bool

    @property
    def folder(self) -> str:
        return folder(self.destination_path, self.server_name)

    @property
    def status(self) -> str:
        return f"`kubectl cnpg status {self.name} -n {self.namespace}`"

    @property
    def log(self) -> str:
        container = " -c plugin-barman-cloud" if self.plugin else ""
        return (f"barman-cloud-wal-archive in the primary's log (`kubectl logs -n {self.namespace} -l cnpg.io/cluster="
                f"{self.name},cnpg.io/instanceRole=primary{container}`)")

    @property
    def backups(self) -> str:
        return (f"`kubectl get backups.postgresql.cnpg.io -n {self.namespace} -l cnpg.io/cluster={self.name}` (a "
                f"failed Backup says why); take one now: `kubectl cnpg backup {self.name} -n {self.namespace}`")


def confirm(plan: Plan, facts: Facts, rendered: Sequence[Scheduled], policy: Policy, now: datetime) -> Confirmation:
    """The Confirmation of one settled Plan with a write side (`plan.backup`)."""
    side = plan.backup
    assert side is not None, "verify confirms Clusters with backups"
    live = facts.live_cluster(plan.cluster)
    state = facts.store(side.destination_path)
    cluster, live_given = plan.cluster.id, facts.live is not None
    if state is None or not state.checked:
        reason = state.reason if state is not None else "the store was not read"
        return Confirmation(cluster, NOT_CHECKED, side.destination_path, side.server_name, chosen="rendered",
                            missing=(Missing(f"{side.destination_path} was not checked: {reason}",
                                             "verify reads a store with the overlay's credentials: give "
                                             "this Cluster's entry backups.credentials"),),
                            live=live, live_given=live_given)
    server_name, chosen = write_lineage(plan, state, live, facts.live is not None)
    lineage = state.lineages.get(server_name)
    where = _Where(plan.cluster.namespace or "default", plan.cluster.name, side.destination_path, server_name,
                   _credentials(plan, side), plan.entry.engine == "plugin")
    scheduled, notes = _schedules(plan, facts, rendered)
    missing = [*_running(plan, facts, live, where), *_archiving(live, where), *_wal(lineage, policy, now, where),
               *_one_database(lineage, live, where)]
    due, waiting, backup_missing = _base_backup(lineage, scheduled, policy, now, where)
    missing += backup_missing
    result = NOT_CONFIRMED if missing else (WAITING if waiting else CONFIRMED)
    return Confirmation(cluster, result, side.destination_path, server_name, chosen, lineage=lineage, due=due,
                        live=live, live_given=live_given, scheduled=scheduled, missing=tuple(missing),
                        notes=tuple(notes))


def write_lineage(plan: Plan, state: StoreState, live: LiveCluster | None, live_given: bool) -> tuple[str, str]:
    """(serverName, how it was chosen). A revision the facts decide (`auto`, or derived
    from an `auto` recovery side) was resolved for a render: with the Cluster running,
    resolve kept its lineage; without live state it took the next unused revision,
    which is not where a deployed Cluster writes, so the newest written one is read."""
    side = plan.backup
    assert side is not None, "verify confirms Clusters with backups"
    by_facts = side.how == AUTO or (side.how == DERIVED and plan.recovery is not None and plan.recovery.how == AUTO)
    if not by_facts:
        return side.server_name, "rendered"
    if live is not None and live.backup_server_name is not None:
        return side.server_name, "revision auto: kept from the running Cluster"
    if live_given:
        return side.server_name, "revision auto: the next unused revision (the Cluster does not archive yet)"
    written = [m for m in history.series(state, side.base).members if m.has_data]
    if not written:
        return side.server_name, "revision auto: no lineage of its series is written yet"
    return written[-1].name, ("revision auto without live state: the newest written lineage of its series "
                              "(pass --live-kubectl to read the one the running Cluster writes)")


def _credentials(plan: Plan, side: Side) -> str:
    """Where the write side's credentials come from: the Secret(s) its store names, or
    the pod's identity."""
    from renderer import providers
    from renderer.cnpg.secrets import secret_name

    credential = side.credential
    if credential is None:  # the chart's own store, carried over by a migration: its credentials as the chart has them
        from renderer.cnpg.migration import chart_store

        store = chart_store(plan.cluster.obj) or {}
        blocks = [store[p.block] for p in providers.PROVIDERS.values() if isinstance(store.get(p.block), dict)]
        if not blocks:
            return "the chart's store settings, carried over by the migration"
        block = blocks[0]
    else:
        (block,) = providers.credentials(credential, secret_name(plan.cluster.name, "backup", credential)).values()
    names = sorted({ref["name"] for ref in block.values() if isinstance(ref, dict)})
    if names:
        return f"Secret {', '.join(names)} in namespace {plan.cluster.namespace or 'default'}"
    return "the pod's identity (" + ", ".join(key for key, value in block.items() if value is True) + ")"


# --------------------------------------------------------------------------- the rules


def _running(plan: Plan, facts: Facts, live: LiveCluster | None, where: _Where) -> list[Missing]:
    """With live state: the Cluster runs and archives where the render says."""
    if facts.live is None:
        return []
    if live is None:
        return [Missing(f"Cluster {plan.cluster.id} is not running (not among the live Clusters)",
                        f"`kubectl get clusters.postgresql.cnpg.io -n {where.namespace}`; deploy the render")]
    if live.backup_server_name is None:
        return [Missing("the running Cluster archives nothing (no backup store or archiver plugin in its spec)",
                        "deploy the render")]
    live_folder = folder(live.backup_destination_path or f"<ObjectStore {live.barman_object_name}>",
                         live.backup_server_name)
    same = (live_folder == where.folder) if live.backup_destination_path else (
        live.backup_server_name == where.server_name)  # a plugin Cluster whose ObjectStore was not read
    if same:
        return []
    return [Missing(f"the running Cluster writes to {live_folder}, not to {where.folder}",
                    "deploy the render, or see what it would change: `cnpg-render plan --live-kubectl`")]


def _archiving(live: LiveCluster | None, where: _Where) -> list[Missing]:
    """The operator's own word: ContinuousArchiving False means the last archive failed."""
    condition = live.status.archiving if live is not None else None
    if condition is None or condition.status != "False":
        return []
    return [Missing(f"ContinuousArchiving is False{_since(condition)}: {condition.reason}: {condition.message}",
                    f"{where.status}; {where.log}; the credentials in {where.credentials}")]


def _wal(lineage: LineageState | None, policy: Policy, now: datetime, where: _Where) -> list[Missing]:
    """WAL arriving: a segment archived within `max_wal_age`."""
    look = f"ContinuousArchiving in {where.status}; {where.log}; the credentials in {where.credentials}"
    newest = newest_wal(lineage)
    if newest is None:
        return [Missing(f"no WAL archived in {where.folder}/wals/", look)]
    age = now - newest.archived_at
    if age <= policy.max_wal_age:
        return []
    return [Missing(f"the newest WAL, {newest.name}, was archived {duration(age)} ago ({_at(newest.archived_at)}), "
                    f"longer than --max-wal-age {duration(policy.max_wal_age)}", f"{look}; {IDLE}")]


def _one_database(lineage: LineageState | None, live: LiveCluster | None, where: _Where) -> list[Missing]:
    """One system identifier in the lineage, the running Cluster's."""
    systems = history.Member("", lineage).systems if lineage else frozenset()
    look = "every Cluster whose destinationPath and serverName lead here (`cnpg-render plan --check-store`)"
    if len(systems) > 1:
        return [Missing(f"{where.folder} holds {len(systems)} databases (systems {_ids(systems)}): two histories "
                        "interleave in one archive", look)]
    if systems and live is not None and live.system_id and int(live.system_id) not in systems:
        return [Missing(f"the running Cluster is system {live.system_id}, but {where.folder} holds system "
                        f"{_ids(systems)}: another database writes there", look)]
    return []


def _base_backup(lineage: LineageState | None, scheduled: tuple[Scheduled, ...], policy: Policy, now: datetime,
                 where: _Where) -> tuple[Due | None, bool, list[Missing]]:
    """(when the next base backup is due, whether the first hours accept its absence,
    what is missing): a completed base backup, and none overdue."""
    newest = newest_backup(lineage)
    start = min((s.archived_at for s in lineage.wal), default=now) if lineage else now
    due = next_due(scheduled, start, newest)
    look = where.backups + (f"; ScheduledBackup {', '.join(s.name for s in scheduled)}" if scheduled else "")
    if due is not None and now > due.at + policy.backup_grace:
        since = f"since the one that ended {_at(newest.ended)}" if newest else "yet"
        return due, False, [Missing(f"no completed base backup in {where.folder}/base/ {since}: {due.by} was due at "
                                    f"{_at(due.at)}, more than --backup-grace {duration(policy.backup_grace)} ago",
                                    look)]
    if newest is not None:
        return due, False, []
    found = _found(lineage)
    if due is None:
        return None, False, [Missing(f"no completed base backup in {where.folder}/base/{found}, and no ScheduledBackup "
                                     "will take one", f"{look}; or add backups.scheduledBackups")]
    if policy.first_hours:
        return due, True, []
    return due, False, [Missing(f"no completed base backup in {where.folder}/base/{found} (the first is due at "
                                f"{_at(due.at)}, {due.by}; --first-hours accepts that)", look)]


def newest_wal(lineage: LineageState | None) -> WalSegment | None:
    """The segment archived last (the store lists times in seconds: the later name wins a tie)."""
    return max(lineage.wal, key=lambda s: (s.archived_at, s.name)) if lineage and lineage.wal else None


def newest_backup(lineage: LineageState | None) -> BaseBackup | None:
    """The completed base backup that ended last."""
    done = [b for b in lineage.completed if b.end_time] if lineage else []
    return max(done, key=lambda b: b.ended) if done else None


def next_due(scheduled: Iterable[Scheduled], start: datetime, newest: BaseBackup | None) -> Due | None:
    """The earliest base backup the ScheduledBackups start after the newest completed
    one; without one, the first: when a ScheduledBackup started a Backup (its
    lastScheduleTime), else at its creation with `immediate`, else at its schedule's
    first activation after its first check (lastCheckTime; `start` when unknown).
    Suspended ones and schedules the operator refuses start nothing."""
    candidates = []
    for s in scheduled:
        try:
            schedule = cron.parse(s.schedule)
        except cron.CronError:
            continue
        if s.suspend:
            continue
        if newest is not None:
            at = schedule.next(newest.begin_time or newest.ended)
        else:
            origin = s.last_check or start
            at = s.last_schedule or (origin if s.immediate else schedule.next(origin))
        if at is not None:
            by = f"ScheduledBackup {s.name} ({s.schedule}{', immediate' if s.immediate and newest is None else ''})"
            candidates.append(Due(at, by, newest is None))
    return min(candidates, key=lambda d: d.at) if candidates else None


def _schedules(plan: Plan, facts: Facts, rendered: Sequence[Scheduled]) -> tuple[tuple[Scheduled, ...], list[str]]:
    """The ScheduledBackups that take the Cluster's base backups: the live ones when
    they were read (what the operator runs), else the rendered ones; and a note for each
    rendered one the cluster lacks."""
    key = (plan.cluster.namespace, plan.cluster.name)
    ours = tuple(s for s in rendered if (s.namespace, s.cluster) == key)
    running = facts.live_scheduled(plan.cluster)
    if running is None:
        return ours, []
    names = {s.name for s in running}
    return running, [f"ScheduledBackup {s.name} is rendered but not in the cluster"
                     for s in ours if s.name not in names]


def _found(lineage: LineageState | None) -> str:
    """`` (2 found: FAILED, STARTED)`` for a lineage holding unfinished backups."""
    backups = lineage.backups if lineage else ()
    return f" ({len(backups)} found: {', '.join(b.status for b in backups)})" if backups else ""


def _since(condition: Condition) -> str:
    return f" since {_at(condition.since)}" if condition.since else ""


def _at(when: datetime) -> str:
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _ids(systems: Iterable[int]) -> str:
    return " and ".join(map(str, sorted(systems)))


def duration(delta: timedelta) -> str:
    """`3d4h`, `2h5m`, `3m12s`, `45s`: the two largest units, as an age reads."""
    seconds = max(0, int(delta.total_seconds()))
    parts = [(seconds // 86400, "d"), (seconds // 3600 % 24, "h"), (seconds // 60 % 60, "m"), (seconds % 60, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return "".join(f"{value}{unit}" for value, unit in parts[:2] if value or unit == parts[0][1])


# --------------------------------------------------------------------------- what verify shows


def exit_code(confirmations: Sequence[Confirmation]) -> int:
    """0 every Cluster confirmed (or waiting, in the first hours), 2 any not confirmed,
    3 none refused but one not checked, or none to verify."""
    states = {c.state for c in confirmations}
    if NOT_CONFIRMED in states:
        return EXIT_NOT_CONFIRMED
    return EXIT_NOT_CHECKED if NOT_CHECKED in states or not confirmations else EXIT_CONFIRMED


def scheduled_in(objects: Iterable[object], namespace: str | None) -> list[Scheduled]:
    """The ScheduledBackups among rendered objects (`namespace`: that of those without one)."""
    from renderer.live import scheduled_from_object

    return [scheduled_from_object(o, namespace) for o in objects if isinstance(o, dict)
            and o.get("kind") == "ScheduledBackup"]


def row(c: Confirmation, now: datetime) -> dict:
    """One Cluster for `-o json`."""
    wal, backup, live = c.newest_wal, c.newest_backup, c.live
    return {
        "cluster": c.cluster, "state": c.state, "stateText": STATE_TEXT[c.state],
        "writeLineage": {"destinationPath": c.destination_path, "serverName": c.server_name, "folder": c.folder,
                         "chosen": c.chosen},
        "newestWal": None if wal is None else {"name": wal.name, "archivedAt": wal.archived_at.isoformat(),
                                               "ageSeconds": int((now - wal.archived_at).total_seconds())},
        "newestBaseBackup": None if backup is None else {"backupID": backup.backup_id,
                                                         "endTime": backup.ended.isoformat()},
        "completedBaseBackups": len(c.lineage.completed) if c.lineage else 0,
        "systemIDs": [str(s) for s in c.systems],
        "nextBaseBackupDue": None if c.due is None else {"at": c.due.at.isoformat(), "by": c.due.by,
                                                         "first": c.due.first},
        "live": _live(live) if c.live_given else None,
        "scheduledBackups": [_scheduled(s) for s in c.scheduled],
        "missing": [{"what": m.what, "look": m.look} for m in c.missing],
        "notes": list(c.notes),
    }


def _live(live: LiveCluster | None) -> dict:
    if live is None:
        return {"running": False}
    status, condition = live.status, live.status.archiving
    return {"running": True, "systemID": live.system_id, "phase": status.phase,
            "continuousArchiving": None if condition is None else {
                "status": condition.status, "reason": condition.reason, "message": condition.message,
                "since": _iso(condition.since)},
            "lastSuccessfulBackup": _iso(status.last_successful_backup),
            "lastFailedBackup": _iso(status.last_failed_backup),
            "firstRecoverabilityPoint": _iso(status.first_recoverability_point)}


def _scheduled(s: Scheduled) -> dict:
    return {"name": s.name, "schedule": s.schedule, "immediate": s.immediate, "suspend": s.suspend,
            "lastCheckTime": _iso(s.last_check), "lastScheduleTime": _iso(s.last_schedule),
            "nextScheduleTime": _iso(s.next_schedule)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def table(rows: Sequence[dict]) -> str:
    """One line per Cluster, then one per missing piece (with where to look) and note."""
    from renderer.report import aligned

    lines = [["CLUSTER", "STATE", "WRITES TO", "NEWEST WAL (age)", "NEWEST BASE BACKUP", "SYSTEM", "ARCHIVING (live)",
              "NEXT BASE BACKUP DUE"]]
    for r in rows:
        wal, backup, due, live = r["newestWal"], r["newestBaseBackup"], r["nextBaseBackupDue"], r["live"]
        lines.append([r["cluster"], r["stateText"], r["writeLineage"]["folder"],
                      f"{wal['name']} ({duration(timedelta(seconds=wal['ageSeconds']))})" if wal else "-",
                      backup["endTime"] if backup else "-", ", ".join(r["systemIDs"]) or "-", _archiving_cell(live),
                      f"{due['at']} ({due['by']})" if due else "-"])
    out = [aligned(lines)]
    for r in rows:
        out += [f"{r['cluster']}: {m['what']}. Look at: {m['look']}" for m in r["missing"]]
        out += [f"{r['cluster']}: {note}" for note in [r["writeLineage"]["chosen"], *r["notes"], *_operator(r)]
                if note != "rendered"]
    return "\n".join(out)


def _operator(r: dict) -> list[str]:
    """What the operator reports beyond the condition: the in-tree backup times, and
    each ScheduledBackup it has checked."""
    out = [(f"ScheduledBackup {s['name']} ({s['schedule']}): last scheduled {s['lastScheduleTime'] or 'never'}, "
            f"next {s['nextScheduleTime'] or '-'}") for s in r["scheduledBackups"] if s["lastCheckTime"]]
    live = r["live"]
    if not (live and live["running"]):
        return out
    return [(f"the operator reports lastSuccessfulBackup {live['lastSuccessfulBackup'] or '-'}, "
             f"firstRecoverabilityPoint {live['firstRecoverabilityPoint'] or '-'}, systemID {live['systemID'] or '-'}"),
            *out]


def _archiving_cell(live: dict | None) -> str:
    if live is None:
        return "-"
    condition = live.get("continuousArchiving")
    if not live["running"]:
        return "not running"
    return f"{condition['status']} ({condition['reason']})" if condition else "no condition yet"
