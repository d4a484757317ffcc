"""Plan: which folder a Cluster reads from and which it writes to — its backup lineage.

barman-cloud keeps a lineage under `<destinationPath>/<serverName>/`, and refuses to
archive into one that already holds WAL ("Expected empty archive"). After a restore the
new Cluster must therefore write to a fresh serverName while reading the old one. Both
sides are decided here, from one source of truth, so they cannot drift apart:

- `server_name` is the one serverName ↔ revision rule (`<base>` or `<base>-r<revision>`)
  and `revision_of` its inverse; `Side.folder` is the one `<path>/<serverName>`;
- `plan` turns an overlay entry and a found Cluster into a `Plan`: both sides, with a
  revision that may still be open (`auto`, or "recovery + 1" of an open recovery side),
  where the old data lives (`Previous`: another release, namespace or Cluster name, by
  the write side's rules), and the engines that write each side. A side without an
  object-store lineage (volume snapshots, a Backup object) is no Side: what it reads
  is named in `Plan.elsewhere`, and every stage treats it as what no store shows;
- `settle` fills open revisions (`renderer.resolve` decides them) and applies the
  collision rule, so every Plan that reaches the writer is concrete and checked.

Pure: no I/O, no CNPG field is written here (that is `renderer.cnpg`)."""

from __future__ import annotations

from renderer import providers, truecharts
from renderer.errors import Notice, RenderError
from renderer.find import INSTANCE_LABEL, Found
from renderer.overlay.model import (
    AUTO_REVISION,
    SNAPSHOT_METHOD,
    Credential,
    Entry,
    Overlay,
    Recovery,
    RecoveryFrom,
)
from renderer.records import record, replace

# How a side's revision was decided (plan shows it).
EXPLICIT, DEFAULT, DERIVED, AUTO = "explicit", "default", "derived", "auto"


def server_name(base: str, revision: str) -> str:
    """TrueCharts' rule: `<base>-r<revision>`, or the bare base for an empty revision."""
    return f"{base}-r{revision}" if revision else base


def revision_of(name: str, base: str) -> str | None:
    """The revision that names `name` from `base` ("" for the bare base), or None when
    `name` is not one of base's lineages."""
    if name == base:
        return ""
    prefix = base + "-r"
    return name[len(prefix):] if name.startswith(prefix) and len(name) > len(prefix) else None


def number(revision: str | None) -> int | None:
    """"" -> 0, "3" -> 3; None for anything the derivation rule would not produce
    (non-numeric, or a leading zero)."""
    if revision == "":
        return 0
    if revision and revision.isdigit() and str(int(revision)) == revision:
        return int(revision)
    return None


def next_revision(revision: str) -> str | None:
    """The revision after `revision`: "" -> "1", "4" -> "5"; None when not a number."""
    n = number(revision)
    return None if n is None else str(n + 1)


def norm(destination_path: str) -> str:
    """A destinationPath as a key: barman ignores a trailing '/'."""
    return destination_path.rstrip("/")


def folder(destination_path: str, server_name: str) -> str:
    """`<destinationPath>/<serverName>`: where barman-cloud keeps one lineage."""
    return f"{norm(destination_path)}/{server_name}"


@record(frozen=True)
class Side:
    """One end of a lineage: where barman writes or reads, and with which credential.
    `revision` None means open: `renderer.resolve` decides it from the facts."""

    destination_path: str
    base: str  # the serverName base: the overlay's serverName, else the Cluster name
    revision: str | None
    how: str  # EXPLICIT, DEFAULT, DERIVED or AUTO
    credential: Credential | None  # None: the chart's own store, carried over by a migration
    base_from: str | None = None  # where the base backup comes from when not from this lineage (WAL only here)

    @property
    def server_name(self) -> str:
        if self.revision is None:
            raise ValueError(f"the revision of {self.base} is not decided yet")
        return server_name(self.base, self.revision)

    @property
    def folder(self) -> str:
        return folder(self.destination_path, self.server_name)

    @property
    def series(self) -> tuple[str, str]:
        """(destinationPath, base): the lineages one revision series numbers."""
        return norm(self.destination_path), self.base


@record(frozen=True)
class Inherited:
    """Where the chart's in-tree store archives: a migration to the plugin continues
    there unless the overlay says otherwise (cnpg-upstream.md §3.5)."""

    destination_path: str
    server_name: str  # the chart's serverName, else the Cluster name (CNPG's default)


@record(frozen=True)
class Release:
    """The release in the default destinationPath, and where it came from (plan shows it)."""

    name: str
    source: str  # "overlay", "--release" or "label"
    where: str | None = None  # the overlay line, or the label's key

    def __str__(self) -> str:
        return f"{self.name} ({self.source}{': ' + self.where if self.where else ''})"


@record(frozen=True)
class Previous:
    """Where the data a recovery restores was written: the old release, namespace and
    Cluster, and how each was decided (plan shows it). Without `recovery.from` it is
    this Cluster under this release."""

    release: Release | None
    namespace: str | None
    cluster: str
    how: str  # "recovery.from", "TrueCharts name in release <r>", or "this Cluster"

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.cluster}" if self.namespace else self.cluster


@record(frozen=True)
class Resolution:
    """How an open revision was decided, and why (plan shows it)."""

    side: str  # "backups" | "recovery"
    revision: str
    how: str


@record(frozen=True)
class Plan:
    """Both sides of one Cluster's lineage, decided before anything is written."""

    entry: Entry
    cluster: Found
    release: Release | None
    backup: Side | None  # None: no archive is written
    recovery: Side | None  # None: not recovering from an object store
    shared_folder: bool = False  # both sides on one folder, allowed by skipEmptyWalArchiveCheck
    resolutions: tuple[Resolution, ...] = ()
    notices: tuple[Notice, ...] = ()  # what planning found worth a warning
    previous: Previous | None = None  # recovery mode: where the restored data was written
    writers: tuple[str, ...] = ()  # the engines that write the write side (renderer.cnpg.engine)
    readers: tuple[str, ...] = ()  # the engines that write the read side
    elsewhere: tuple[str, ...] = ()  # what the restore reads outside any object store (no store shows it)

    @property
    def is_open(self) -> bool:
        return any(side is not None and side.revision is None for side in (self.backup, self.recovery))


# --------------------------------------------------------------------------- plan


def plan(entry: Entry, overlay: Overlay, cluster: Found, release_flag: str | None,
         inherited: Inherited | None = None) -> Plan:
    """Both sides for one Cluster. `inherited` (a migration) stands in for the overlay's
    unset write-side path and serverName, and is the write side itself when the overlay
    enables no backups. A Plan without open revisions is settled (collision-checked)."""
    release, notices = _release(entry, cluster, release_flag)
    notices += _snapshots_only(entry, cluster)
    previous = _previous(entry, cluster, release) if entry.mode == "recovery" else None
    recovery = _recovery_side(entry, overlay, cluster, previous)
    backup = _backup_side(entry, overlay, cluster, release, inherited)
    result = Plan(entry, cluster, release, backup, recovery, notices=tuple(notices), previous=previous,
                  writers=_writers(entry, backup), readers=_readers(entry, recovery),
                  elsewhere=_elsewhere(entry))
    return result if result.is_open else settle(result)


def _release(entry: Entry, cluster: Found, flag: str | None) -> tuple[Release | None, list[Notice]]:
    """The overlay's pin wins: it is what keeps the destinationPath stable whoever
    renders (helm, ArgoCD, a laptop). A flag that disagrees is said, not obeyed."""
    if entry.release is not None:
        notices = []
        if flag is not None and flag != entry.release:
            notices.append(Notice(cluster.where, f"--release {flag} is not used: {entry.where('release')} pins "
                                                 f"release {entry.release} (the lineage's destinationPath)"))
        return Release(entry.release, "overlay", str(entry.where("release"))), notices
    if flag:
        return Release(flag, "--release"), []
    label = cluster.instance_label
    return (Release(label, "label", INSTANCE_LABEL), []) if label else (None, [])


def _previous(entry: Entry, cluster: Found, release: Release | None) -> Previous:
    """Where the old data lives: `recovery.from`, each part defaulting to this Cluster's.
    A named old release without a Cluster name gets the name TrueCharts gave this
    entry there, so a TrueCharts app restores under a new release name."""
    wanted = entry.recovery.from_
    if wanted is None:
        return Previous(release, cluster.namespace, cluster.name, "this Cluster")
    where = str(wanted.where(""))
    old_release = Release(wanted.release, "recovery.from", where) if wanted.release else release
    namespace = wanted.namespace or cluster.namespace
    _check_namespaced(entry, wanted, cluster, namespace)
    if wanted.cluster:
        return Previous(old_release, namespace, wanted.cluster, "recovery.from")
    if not wanted.release:
        return Previous(old_release, namespace, cluster.name, "this Cluster's name")
    name = truecharts.cluster_in_release(cluster.name, cluster.labels, wanted.release)
    if name is None:
        raise RenderError(wanted.where("release"),
                          f"names the old release, but Cluster {cluster.id} is not named as TrueCharts names it "
                          f"(<fullname>-cnpg-<name>, with an {truecharts.CHART_LABEL} label), so its old name "
                          "cannot be derived: set recovery.from.cluster")
    return Previous(old_release, namespace, name, f"TrueCharts name in release {wanted.release}")


def _check_namespaced(entry: Entry, wanted: RecoveryFrom, cluster: Found, namespace: str | None) -> None:
    """Backup objects and VolumeSnapshots are namespaced, and CNPG reads them from the
    restored Cluster's namespace only; an object store has no namespace."""
    r = entry.recovery
    if r.method == "object_store" or namespace == cluster.namespace:
        return
    objects = "the Backup object" if r.method == "backup" else "VolumeSnapshots"
    raise RenderError(wanted.where("namespace"),
                      f"is {namespace}, but method: {r.method} reads {objects} from the restored Cluster's namespace "
                      f"({cluster.namespace}): copy them there, or recover with method: object_store")


def _recovery_side(entry: Entry, overlay: Overlay, cluster: Found, previous: Previous | None) -> Side | None:
    """The object-store lineage the recovery reads, by the write side's rules applied
    to where the old data lives: its release's destinationPath, its Cluster's name."""
    r = entry.recovery
    if previous is None or not r.reads_store:
        return None
    assert r.credentials is not None  # reads_store requires them
    cred = overlay.credentials[r.credentials]
    revision, how = (None, AUTO) if r.revision == AUTO_REVISION else (r.revision or "", _how(r.revision))
    return Side(_destination(r.destination_path, cred, previous.release, cluster.where, "recovery"),
                r.server_name or previous.cluster, revision, how, cred, base_from=_snapshot_base(r))


def _snapshot_base(recovery: Recovery) -> str | None:
    snapshots = recovery.volume_snapshots
    return f"VolumeSnapshot {snapshots.storage}" if recovery.method == SNAPSHOT_METHOD and snapshots else None


def _elsewhere(entry: Entry) -> tuple[str, ...]:
    """The base backup a restore reads from the Kubernetes cluster, not an object store."""
    r = entry.recovery
    if entry.mode != "recovery":
        return ()
    base = f"Backup {r.backup_name}" if r.method == "backup" else _snapshot_base(r)
    return (base,) if base else ()


def _snapshots_only(entry: Entry, cluster: Found) -> list[Notice]:
    """Backups without an object store archive no WAL: worth saying every time."""
    b = entry.backups
    if not (b.enabled and b.volume_snapshot and not b.credentials):
        return []
    return [Notice(cluster.where, "backups are VolumeSnapshots only: no WAL is archived, so a restore returns to a "
                                  "snapshot, never to a point between two (set backups.credentials to archive WAL)")]


def _writers(entry: Entry, backup: Side | None) -> tuple[str, ...]:
    """The engines of the write side: the object-store engine when a lineage is written,
    volume snapshots when configured."""
    snapshots = (SNAPSHOT_METHOD,) if entry.backups.enabled and entry.backups.volume_snapshot else ()
    return ((entry.engine,) if backup else ()) + snapshots


def _readers(entry: Entry, recovery: Side | None) -> tuple[str, ...]:
    """The engines of the read side: the object-store engine when a lineage is read,
    volume snapshots for a snapshot recovery."""
    snapshots = (SNAPSHOT_METHOD,) if entry.mode == "recovery" and entry.recovery.method == SNAPSHOT_METHOD else ()
    return ((entry.engine,) if recovery else ()) + snapshots


def _backup_side(entry: Entry, overlay: Overlay, cluster: Found, release: Release | None,
                 inherited: Inherited | None) -> Side | None:
    b = entry.backups
    revision, how = backup_revision(entry)
    if b.enabled and b.credentials:  # without one, backups are VolumeSnapshots alone: no lineage
        cred = overlay.credentials[b.credentials]
        path = b.destination_path or (inherited.destination_path if inherited else None)
        base = b.server_name or (inherited.server_name if inherited else cluster.name)
        return Side(_destination(path, cred, release, cluster.where, "backups"), base, revision, how, cred)
    if inherited:
        return Side(inherited.destination_path, inherited.server_name, revision, how, None)
    return None


def _how(revision: str | None) -> str:
    return DEFAULT if revision is None else EXPLICIT


def backup_revision(entry: Entry) -> tuple[str | None, str]:
    """The write-side revision the overlay gives, and how (None: open). Unset in recovery
    mode, it is the recovery revision plus one, so a restore never writes into the
    lineage it reads; with an `auto` recovery side it is decided with that side. A
    restore under another release or Cluster name (`recovery.from`) starts the new
    name's own series, at "" (if both name one folder after all, the collision rule
    refuses it)."""
    revision = entry.backups.revision
    if revision == AUTO_REVISION:
        return None, AUTO
    if revision is not None:
        return revision, EXPLICIT
    renamed = entry.recovery.from_ is not None and bool(entry.recovery.from_.release or entry.recovery.from_.cluster)
    if entry.mode != "recovery" or renamed:
        return "", DEFAULT
    if entry.recovery.revision == AUTO_REVISION:
        return None, DERIVED
    return derive(entry, entry.recovery.revision or ""), DERIVED


def derive(entry: Entry, recovery_revision: str) -> str:
    """recovery revision + 1, or the error saying what to write instead."""
    derived = next_revision(recovery_revision)
    if derived is None:
        raise RenderError(entry.backups.where("revision"),
                          f"cannot derive it from the non-numeric recovery revision '{recovery_revision}'; "
                          "set backups.revision explicitly")
    return derived


def _destination(explicit: str | None, cred: Credential, release: Release | None, where: str, side: str) -> str:
    if explicit:
        return explicit
    if release is None:
        raise RenderError(where, f"no release name for the default {side} destinationPath: pin it with "
                                 "cnpg.<name>.release in the overlay, pass --release, give the Cluster an "
                                 f"app.kubernetes.io/instance label, or set {side}.destinationPath")
    return providers.destination_path(cred, release.name)


# --------------------------------------------------------------------------- settle


def settle(plan: Plan, recovery: str | None = None, backups: str | None = None,
           resolutions: tuple[Resolution, ...] = ()) -> Plan:
    """The plan with its open revisions filled (`recovery`, `backups`: the decided
    values; a derived write side follows the recovery side) and the collision rule
    applied. Only `renderer.resolve` passes values; a concrete plan passes none."""
    rec = plan.recovery
    if rec is not None and rec.revision is None:
        rec = replace(rec, revision=recovery)
    bak = plan.backup
    if bak is not None and bak.revision is None:
        value = backups
        if bak.how == DERIVED:
            recovered = rec.revision if rec else ""
            # A derived write side is open only while its recovery side is (revision: auto),
            # and resolve always decides that one: it is filled by now.
            assert recovered is not None
            value = derive(plan.entry, recovered)
        bak = replace(bak, revision=value)
    return _collision(replace(plan, recovery=rec, backup=bak, resolutions=plan.resolutions + resolutions))


def as_restore(plan: Plan) -> Plan:
    """The plan of this Cluster's next restore, both revisions open: read the series its
    backups write to, write the next revision (what `bump --check-store` asks the store)."""
    side = plan.backup
    entry = replace(plan.entry, mode="recovery")
    recovery = replace(side, revision=None, how=AUTO)
    return replace(plan, entry=entry, recovery=recovery, backup=replace(side, revision=None, how=AUTO),
                   shared_folder=False, resolutions=(), notices=(), readers=(entry.engine,), elsewhere=())


def _collision(plan: Plan) -> Plan:
    """Refuse a write lineage equal to the read lineage, whatever `target` says
    (TrueCharts only checks when `target` is set)."""
    b, r = plan.backup, plan.recovery
    if not (b and r and b.folder == r.folder):
        return plan
    if not plan.entry.skip_empty_wal_archive_check:
        raise RenderError(plan.entry.backups.where("revision"),
                          f"backups would write into the lineage being recovered ({b.folder}): CNPG fails with "
                          "'Expected empty archive'. Leave backups.revision unset (it becomes recovery revision + 1) "
                          "or give it a new value")
    notice = Notice(plan.cluster.where, f"backups write into the lineage being recovered ({b.folder}) because "
                                        "skipEmptyWalArchiveCheck is set: the two histories will share one archive")
    return replace(plan, shared_folder=True, notices=(*plan.notices, notice))
