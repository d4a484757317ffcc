"""Which folder a Cluster reads from and which it writes to: the backup lineage.

barman-cloud keeps a lineage under `<destinationPath>/<serverName>/`, and refuses to
archive into one that already holds WAL ("Expected empty archive"). After a restore the
new Cluster must therefore write to a fresh serverName while reading the old one. Both
names are decided here, from one source of truth, so they cannot drift apart."""

from __future__ import annotations

from renderer import providers
from renderer.errors import Notice, RenderError
from renderer.overlay.model import AUTO_REVISION, Credential, Entry, Overlay
from renderer.records import record


@record(frozen=True)
class Side:
    """One end of a lineage: where barman writes or reads, and with which credential."""

    destination_path: str
    server_name: str
    revision: str
    credential: Credential | None  # None: the chart's own store, carried over by a migration

    @property
    def folder(self) -> str:
        return f"{self.destination_path.rstrip('/')}/{self.server_name}"


@record(frozen=True)
class Inherited:
    """Where the chart's in-tree store archives: a migration to the plugin continues
    there unless the overlay says otherwise (cnpg-upstream.md §3.5)."""

    destination_path: str
    server_name: str  # the chart's serverName, else the Cluster name (CNPG's default)


@record(frozen=True)
class Lineage:
    """Both sides of a Cluster's lineage, as the render writes them."""

    backup: Side | None  # None: backups disabled
    recovery: Side | None  # None: not recovering from an object store
    shared_folder: bool = False  # both sides on one folder, allowed by skipEmptyWalArchiveCheck


def server_name(base: str, revision: str) -> str:
    """TrueCharts' rule: `<base>-r<revision>`, or the bare base for an empty revision."""
    return f"{base}-r{revision}" if revision else base


def uses_auto(entry: Entry) -> bool:
    """Does a revision of this entry wait for store or live facts (`revision: auto`)?"""
    return AUTO_REVISION in (entry.backups.revision, entry.recovery.revision)


def next_revision(revision: str) -> str | None:
    """The revision after `revision`: "" -> "1", "4" -> "5"; None when not a number."""
    if revision == "":
        return "1"
    return str(int(revision) + 1) if revision.isdigit() else None


def backup_revision(entry: Entry) -> str:
    """The write-side revision. Unset in recovery mode, it is the recovery revision plus
    one, so a restore never writes into the lineage it reads."""
    if entry.backups.revision is not None:
        return entry.backups.revision
    if entry.mode != "recovery":
        return ""
    recovery_revision = entry.recovery.revision or ""
    derived = next_revision(recovery_revision)
    if derived is None:
        raise RenderError(entry.backups.where("revision"),
                          f"cannot derive it from the non-numeric recovery revision '{recovery_revision}'; "
                          "set backups.revision explicitly")
    return derived


def decide(entry: Entry, overlay: Overlay, cluster_name: str, release: str | None,
           cluster_where: str, inherited: Inherited | None = None) -> tuple[Lineage, list[Notice]]:
    """Both sides of the lineage for one Cluster, and the collision rule. `inherited`
    (a migration) stands in for the overlay's unset write-side path and serverName,
    and is the write side itself when the overlay enables no backups."""
    backup = recovery = None
    b = entry.backups
    if b.enabled:
        cred = overlay.credentials[b.credentials]
        path = b.destination_path or (inherited.destination_path if inherited else None)
        base = b.server_name or (inherited.server_name if inherited else cluster_name)
        backup = Side(_destination(path, cred, release, cluster_where, "backups"),
                      server_name(base, backup_revision(entry)), backup_revision(entry), cred)
    elif inherited:
        backup = Side(inherited.destination_path, server_name(inherited.server_name, backup_revision(entry)),
                      backup_revision(entry), None)
    if entry.mode == "recovery" and entry.recovery.method == "object_store":
        r = entry.recovery
        cred = overlay.credentials[r.credentials]
        revision = r.revision or ""
        recovery = Side(_destination(r.destination_path, cred, release, cluster_where, "recovery"),
                        server_name(r.server_name or cluster_name, revision), revision, cred)
    return _collision(entry, Lineage(backup, recovery), cluster_where)


def _destination(explicit: str | None, cred: Credential, release: str | None, where: str, side: str) -> str:
    if explicit:
        return explicit
    if not release:
        raise RenderError(where, f"no release name for the default {side} destinationPath: pass --release, "
                                 f"give the Cluster an app.kubernetes.io/instance label, or set {side}.destinationPath")
    return providers.destination_path(cred, release)


def _same_folder(a: Side, b: Side) -> bool:
    return a.folder == b.folder


def _collision(entry: Entry, lineage: Lineage, cluster_where: str) -> tuple[Lineage, list[Notice]]:
    """Refuse a write lineage equal to the read lineage, whatever `target` says
    (TrueCharts only checks when `target` is set)."""
    if not (lineage.backup and lineage.recovery and _same_folder(lineage.backup, lineage.recovery)):
        return lineage, []
    folder = lineage.backup.folder
    if not entry.skip_empty_wal_archive_check:
        raise RenderError(entry.backups.where("revision"),
                          f"backups would write into the lineage being recovered ({folder}): CNPG fails with "
                          "'Expected empty archive'. Leave backups.revision unset (it becomes recovery revision + 1) "
                          "or give it a new value")
    notice = Notice(cluster_where, f"backups write into the lineage being recovered ({folder}) because "
                                   "skipEmptyWalArchiveCheck is set: the two histories will share one archive")
    return Lineage(lineage.backup, lineage.recovery, shared_folder=True), [notice]
