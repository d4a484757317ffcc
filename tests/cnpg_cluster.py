"""Play a rendered Cluster with real PostgreSQL and barman-cloud: what CNPG does on a
fresh install (initdb, archive into the write lineage, scheduled base backups) and on
a recovery (check the write lineage, pick a base backup, restore it, replay WAL,
promote, archive), every barman-cloud call built by tests/cnpg_player.py from the
rendered objects. A test says "this instance is the rendered Cluster X" and asserts
what really happened.

    played = Cnpg(realparts)                    # or the ``cnpg`` fixture
    app = played.install(stream, "demo-cnpg-main")
    app.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1)")
    app.back_up()                               # the ScheduledBackup's first Backup
    outcome = played.restore(next_stream, "demo-cnpg-main")
    assert outcome.promoted and outcome.instance.rows() == [1]
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cnpg_player import ClusterPlan, Invocation, OperatorError, plan_cluster
from realparts import PgInstance, RealParts, run_barman


@dataclass
class Instance:
    """A running PostgreSQL instance playing a rendered Cluster."""

    pg: PgInstance
    plan: ClusterPlan

    def sql(self, statement: str) -> str:
        return self.pg.psql(statement)

    def rows(self, table: str = "t") -> list[int]:
        """The integers in ``table``'s first column, sorted (the scenarios' data)."""
        out = self.pg.psql(f"SELECT x FROM {table} ORDER BY x")
        return [int(v) for v in out.split()]

    def insert(self, *values: int, table: str = "t") -> None:
        self.pg.psql(f"INSERT INTO {table} VALUES {', '.join(f'({v})' for v in values)}")

    def archive(self) -> str:
        """Close the current WAL segment and wait until CNPG's archive_command has put
        it in the write lineage (raises realparts.ArchiveFailed with barman's output)."""
        return self.pg.switch_wal()

    def back_up(self) -> dict:
        """A Backup of this Cluster, as its ScheduledBackup starts one; returns the
        backup as barman-cloud-backup-show reports it (``backup_id``, ``begin_wal``,
        ``end_wal``, ``systemid``, ``end_time_iso``, …)."""
        return self.pg.take_backup(self.plan)

    def system_identifier(self) -> str:
        return self.pg.system_identifier()


@dataclass
class Outcome:
    """What really happened to a recovery. ``step`` is ``"promoted"``, or the step that
    failed: ``"read-cluster"`` (the operator cannot use the rendered objects, e.g. a
    missing Secret), ``"check-wal-archive"`` (the write lineage is not empty),
    ``"backup-list"`` (the recovery source cannot be read), ``"choose-backup"`` (CNPG's
    "no target backup found"), ``"first-wal"`` (the backup's first WAL is not in the
    archive), ``"barman-cloud-restore"``, or ``"postgres"`` (the server stopped during
    recovery; ``error`` holds its FATAL lines)."""

    step: str
    error: str = ""
    instance: Instance | None = None
    backup: Mapping[str, Any] | None = None

    @property
    def promoted(self) -> bool:
        return self.step == "promoted"


@dataclass
class Cnpg:
    """CNPG for the tests: installs and restores rendered Clusters on the real parts,
    and removes every instance it made on ``close``."""

    parts: RealParts
    instances: list[PgInstance] = field(default_factory=list)

    def _new(self, prefix: str) -> PgInstance:
        pg = PgInstance.new_dir(self.parts.barman, prefix=prefix)
        self.instances.append(pg)
        return pg

    def install(self, stream: bytes, name: str, *, secrets: Mapping[str, Mapping[str, str]] = ()) -> Instance:
        """Bootstrap Cluster ``name`` with initdb, archiving into its rendered write
        lineage as CNPG's instance does (the empty-archive check before the first WAL,
        unless the Cluster's annotation skips it)."""
        pg = self._new("cnpg-install-")
        plan = plan_cluster(stream, name, secrets=secrets, root=pg.pod_root)
        pg.initdb()
        self._archive_as_instance(pg, plan)
        pg.start().drop_templates()
        return Instance(pg, plan)

    def restore(self, stream: bytes, name: str, *, secrets: Mapping[str, Mapping[str, str]] = ()) -> Outcome:
        """Bootstrap Cluster ``name`` from its rendered recovery source, step by step as
        the operator's recovery Job (restore.go ``restoreViaBarmanObjectStore``; plugin
        restore.go ``Restore``), then run it as the instance does: archive into the
        rendered write lineage. Returns how far it got; a failing step's error is the
        operator's message or the tool's output."""
        pg = self._new("cnpg-restore-")
        step, backup = "read-cluster", None
        try:
            plan = plan_cluster(stream, name, secrets=secrets, root=pg.pod_root)
            step = "check-wal-archive"
            check = plan.restore_check_wal_archive()
            if check is not None:
                _succeed(check)
            step = "backup-list"
            catalog = json.loads(_succeed(plan.backup_list()))
            step = "choose-backup"
            backup = plan.choose_backup(catalog)
            step = "first-wal"
            _first_wal(plan, backup)
            step = "barman-cloud-restore"
            _succeed(plan.restore(backup, str(pg.pgdata)), user=True, cwd=pg.basedir)
        except OperatorError as exc:
            return Outcome(step, str(exc), backup=backup)
        pg.start_recovery(plan.wal_restore(), plan.restore_settings(pg.restore_command))
        failure = pg.wait_recovery()
        if failure is not None:
            return Outcome("postgres", failure, backup=backup)
        self._archive_as_instance(pg, plan)
        return Outcome("promoted", instance=Instance(pg, plan), backup=backup)

    @staticmethod
    def _archive_as_instance(pg: PgInstance, plan: ClusterPlan) -> None:
        """The archive_command of the running instance: nothing without a write side."""
        if plan.write is None:
            pg.set_archive_calls(None)
            return
        pg.set_archive_calls(plan.wal_archive(), plan.check_wal_archive() if plan.check_empty_wal_archive else None)

    def lose(self, instance: Instance) -> None:
        """The disaster: the Cluster and its volumes are gone; only the store remains."""
        instance.pg.destroy()
        self.instances.remove(instance.pg)

    def close(self) -> None:
        for pg in self.instances:
            pg.destroy()
        self.instances.clear()


def _succeed(call: Invocation, **kwargs: Any) -> str:
    """Run a call the operator needs to succeed; its failure, with the tool's output,
    as an OperatorError (the Job fails on it)."""
    proc = run_barman(call, check=False, **kwargs)
    if proc.returncode:
        raise OperatorError(f"{call.tool} exited with {proc.returncode}\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def _first_wal(plan: ClusterPlan, backup: Mapping[str, Any]) -> None:
    """CNPG fetches the backup's first WAL before restoring anything
    (``ensureArchiveContainsLastCheckpointRedoWAL``), failing with this message."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            _succeed(plan.first_wal_check(backup).plus(str(Path(scratch) / "test.wal")))
        except OperatorError as exc:
            raise OperatorError("encountered an error while checking the presence of first needed WAL "
                                f"in the archive: {exc}") from None


@pytest.fixture
def cnpg(realparts) -> Iterator[Cnpg]:
    """CNPG on the session's real parts; every instance it made is gone afterwards."""
    played = Cnpg(realparts)
    try:
        yield played
    finally:
        played.close()
