"""Real-parts test harness: a local S3 (moto server), a real PostgreSQL 15 and the
real barman-cloud tools, wired together the way CNPG wires them.

Why real parts: the renderer's lineage decisions are only worth something if they
agree with what barman-cloud actually writes and what its empty-archive check
actually refuses. Fakes would encode our assumptions twice.

The tools are installed by `make realparts` (scripts/install-postgres.sh and
scripts/barman-venv.sh). PostgreSQL refuses to run as root, and the archive and
restore commands run as the server's OS user, so when the tests run as root the
server and every barman tool that touches a data directory run as the
unprivileged system user ``cnpgtest`` (created on first use) via ``runuser``.

Every barman-cloud call (archive_command, restore_command, backups, checks, lists)
is an ``Invocation`` built by tests/cnpg_player.py, run with exactly the environment
and files it names; tests/cnpg_cluster.py plays whole rendered Clusters with them.
Nothing here is pytest-specific except the fixtures at the bottom.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cnpg_player import CHECK_MARKER, ClusterPlan, Invocation, Side
from tlsca import ServerTLS, make_server_tls

REPO = Path(__file__).resolve().parent.parent
BARMAN_BIN = Path(os.environ.get("CNPG_BARMAN_VENV", REPO / ".tools" / "barman-venv")) / "bin"
RUN_USER = "cnpgtest"
# Dummy credentials: moto accepts anything. Not secrets.
DUMMY_KEY_ID = "testing-key-id"
DUMMY_SECRET = "testing-secret-key"
REGION = "us-east-1"
# The database superuser: CNPG's barman-cloud-backup connects as ``--user postgres``.
DB_USER = "postgres"
# Where data dirs go: must be traversable by RUN_USER, so never under /root.
SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
WORK_ROOT = os.environ.get("CNPG_REALPARTS_DIR", "/tmp")


class HarnessError(RuntimeError):
    """A real part could not be set up or a tool failed unexpectedly."""


def free_port() -> int:
    """Ask the kernel for a free loopback port (racy, but fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin() -> Path:
    """PostgreSQL 15 binaries, else the newest installed major (see install-postgres.sh)."""
    override = os.environ.get("CNPG_PG_BIN")
    if override:
        return Path(override)
    preferred = Path("/usr/lib/postgresql/15/bin")
    if (preferred / "initdb").exists():
        return preferred
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise HarnessError("no PostgreSQL server binaries; run `make realparts`")
    return found[-1].parent


def missing_parts() -> str | None:
    """A one-line reason when the real parts are not installed, else None."""
    try:
        pg_bin()
    except HarnessError as exc:
        return str(exc)
    if not (BARMAN_BIN / "barman-cloud-backup").exists():
        return f"no barman-cloud tools in {BARMAN_BIN}; run `make realparts`"
    return None


# --------------------------------------------------------------------------- users


def _is_root() -> bool:
    return os.geteuid() == 0


def ensure_run_user() -> str:
    """Create the unprivileged system user once (root only); return the user to run as."""
    if not _is_root():
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam(RUN_USER)
    except KeyError:
        # Two xdist workers may race here; re-check instead of trusting the rc.
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", RUN_USER],
            capture_output=True, check=False,
        )
        pwd.getpwnam(RUN_USER)
    return RUN_USER


def as_user(cmd: list[str]) -> list[str]:
    """Prefix a command so it runs as the unprivileged user when we are root."""
    if _is_root():
        return ["runuser", "-u", RUN_USER, "--", *cmd]
    return cmd


def chown_to_user(path: Path) -> None:
    """Hand a path to the unprivileged user (no-op when not root)."""
    if _is_root():
        shutil.chown(path, RUN_USER, RUN_USER)


def run(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing output; on failure raise with the command's output."""
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise HarnessError(
            f"command failed (rc={proc.returncode}): {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}"
        )
    return proc


# --------------------------------------------------------------------------- S3


@dataclass
class MotoS3:
    """A moto S3 server in its own process on 127.0.0.1.

    A separate process (not ThreadedMotoServer) because moto's in-process state is
    global: any other test using ``mock_aws`` would reset our buckets under us.
    With ``tls`` it serves HTTPS with that certificate, and its clients trust its CA.
    """

    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    tls: ServerTLS | None = None  # serve HTTPS with this certificate (tests/tlsca.py)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment for any S3 client (barman tools, boto3) aimed at this server."""
        return {
            "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            **({"AWS_CA_BUNDLE": str(self.tls.ca_file)} if self.tls else {}),
        }

    def start(self, timeout: float = 30) -> MotoS3:
        tls = ["-c", str(self.tls.cert_file), "-k", str(self.tls.key_file)] if self.tls else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port), *tls],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, **self.extra_env},
        )
        context = ssl.create_default_context(cadata=self.tls.ca_pem) if self.tls else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"moto server exited with rc={self.proc.returncode}")
            try:
                urllib.request.urlopen(self.endpoint_url + "/moto-api/", timeout=1, context=context).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise HarnessError(f"moto server did not answer on {self.endpoint_url} within {timeout}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self):
        """A boto3 S3 client for test set-up (the code under test builds its own)."""
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name=REGION,
            aws_access_key_id=DUMMY_KEY_ID, aws_secret_access_key=DUMMY_SECRET,
            verify=str(self.tls.ca_file) if self.tls else None,
        )

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Freeze the server (SIGSTOP) while the block runs: every client call waits,
        so a test can act inside a window another tool would otherwise close first."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.proc.send_signal(signal.SIGCONT)

    def make_bucket(self, name: str) -> str:
        """Create a bucket and return its s3:// URL."""
        if len(name) < 3:
            raise HarnessError(f"bucket name {name!r}: S3 needs 3 to 63 characters")
        self.client().create_bucket(Bucket=name)
        return f"s3://{name}"


# --------------------------------------------------------------------------- barman


def write_pod_files(files: Mapping[str, bytes]) -> None:
    """Write the files a pod would hold for a call (CA bundle, credentials), readable by
    the PostgreSQL user. Only under WORK_ROOT: a plan built without a ``root`` would name
    the operator's own paths (/controller/...), which are not ours to write."""
    for name, content in files.items():
        path = Path(name)
        if not path.is_relative_to(WORK_ROOT):
            raise HarnessError(f"refusing to write {name}: build the plan with a root under {WORK_ROOT}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        chown_to_user(path)


def call_env(call: Invocation, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a call: a minimal pod's, then the call's own. Nothing of
    the test process leaks in, so a store the render got wrong is not rescued by, say,
    an AWS_* variable of the developer's."""
    return {"PATH": SAFE_PATH, "LANG": "C.UTF-8", **(extra or {}), **call.env}


def run_barman(call: Invocation, *, user: bool = False, cwd: Path | None = None, check: bool = True,
               env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run one barman-cloud call as the player built it; ``user=True`` runs it as the
    PostgreSQL OS user (it reads or writes a data directory)."""
    write_pod_files(call.files)
    cmd = [str(BARMAN_BIN / call.tool), *call.args]
    return run(as_user(cmd) if user else cmd, env=call_env(call, env), check=check, cwd=cwd or Path(WORK_ROOT))


def script_line(call: Invocation, *runtime: str) -> str:
    """A shell line that runs ``call`` with exactly its environment; ``runtime`` are
    shell words appended as written (``"$1"``)."""
    env = [f"{k}={v}" for k, v in call_env(call).items()]
    return " ".join([shlex.join(["/usr/bin/env", "-i", *env, str(BARMAN_BIN / call.tool), *call.args]), *runtime])


HARNESS_SECRET = "realparts-s3"


@dataclass
class Barman:
    """barman-cloud on one lineage of the test S3, for tests that think in lineages
    rather than rendered Clusters. Its calls come from the player too: the harness
    describes the store as a Cluster would (``plan``)."""

    s3: MotoS3

    def plan(self, destination: str, server_name: str) -> ClusterPlan:
        """A Cluster of the harness's own that writes and reads one lineage."""
        keys = {"accessKeyId": DUMMY_KEY_ID, "secretAccessKey": DUMMY_SECRET, "region": REGION}
        config = {"destinationPath": destination, "serverName": server_name, "endpointURL": self.s3.endpoint_url,
                  "s3Credentials": {k: {"name": HARNESS_SECRET, "key": k} for k in keys}}
        side = Side(config, server_name)
        return ClusterPlan(server_name, "in-tree", side, side, None, True,
                           {HARNESS_SECRET: {k: v.encode() for k, v in keys.items()}})

    def tool(self, name: str) -> str:
        return str(BARMAN_BIN / name)

    def run(self, tool: str, *args: str, user: bool = False, check: bool = True,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Any barman-cloud tool with arguments of the test's choosing (a compression flag,
        a spool directory), aimed at this S3 with its keys and CA, and nothing else."""
        call = Invocation(tool, ("--endpoint-url", self.s3.endpoint_url, *args), self.s3.env())
        return run_barman(call, user=user, check=check, cwd=cwd)

    def backup(self, pg: PgInstance, destination: str, server_name: str) -> dict:
        """Take a base backup of a running instance into a lineage."""
        return pg.take_backup(self.plan(destination, server_name))

    def backup_list(self, destination: str, server_name: str) -> list[dict]:
        """Backups of a lineage as barman-cloud-backup-list reports them (JSON)."""
        return json.loads(run_barman(self.plan(destination, server_name).backup_list()).stdout)["backups_list"]

    def check_wal_archive(self, destination: str, server_name: str) -> tuple[int, str]:
        """The operator's empty-archive check; returns (rc, combined output)."""
        proc = run_barman(self.plan(destination, server_name).check_wal_archive(), check=False)
        return proc.returncode, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- PostgreSQL


class ArchiveFailed(HarnessError):
    """archive_command failed; the message holds the end of the server log (barman's
    output lands there)."""


@dataclass
class PgInstance:
    """One PostgreSQL server in its own directory under WORK_ROOT.

    Layout: ``basedir/data`` (PGDATA), ``basedir/archive.sh`` (archive_command) and
    ``basedir/restore.sh`` (restore_command), rewritten from the player's calls so the
    target can change without a restart, ``basedir/pod`` (the files CNPG would mount:
    CA bundles), ``basedir/log``.
    """

    barman: Barman
    basedir: Path
    port: int = field(default_factory=free_port)
    user: str = field(default_factory=ensure_run_user)

    @property
    def pgdata(self) -> Path:
        return self.basedir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.basedir

    @property
    def pod_root(self) -> str:
        """Prefix for the paths CNPG mounts in this instance's pod (give it to ``plan_cluster``)."""
        return str(self.basedir / "pod")

    @property
    def restore_command(self) -> str:
        return f'{self.basedir / "restore.sh"} "%f" "%p"'

    @classmethod
    def new_dir(cls, barman: Barman, prefix: str = "cnpg-realparts-") -> PgInstance:
        """A fresh base directory the unprivileged user owns and can traverse."""
        ensure_run_user()
        basedir = Path(tempfile.mkdtemp(prefix=prefix, dir=WORK_ROOT))
        basedir.chmod(0o755)
        chown_to_user(basedir)
        inst = cls(barman=barman, basedir=basedir)
        inst.set_archive_calls(None)
        inst._install_script("restore.sh", ["exit 1  # no recovery source"])
        return inst

    # -- the commands the server runs

    def _install_script(self, name: str, lines: list[str]) -> None:
        """Replace a script atomically: the server may run it at any moment."""
        path, tmp = self.basedir / name, self.basedir / f".{name}.new"
        tmp.write_text("#!/bin/sh\n" + "".join(f"{line}\n" for line in lines))
        tmp.chmod(0o700)
        chown_to_user(tmp)
        os.replace(tmp, path)

    def set_archive_calls(self, archive: Invocation | None, check: Invocation | None = None) -> None:
        """archive_command as CNPG's instance runs it (archiver.go ``internalRun``): while
        ``PGDATA/.check-empty-wal-archive`` exists, ``check`` (the empty-archive check)
        first; then ``archive`` with the WAL path; the marker goes after the first
        archived WAL (barman-cloud walarchive ``Archive``). ``archive=None`` pauses
        archiving, as CNPG's ``archive_command = 'false'``: the script fails, PostgreSQL
        keeps the WAL and retries."""
        if archive is None:
            self._install_script("archive.sh", ["exit 1  # archiving paused"])
            return
        write_pod_files({**archive.files, **(check.files if check else {})})
        marker = shlex.quote(str(self.pgdata / CHECK_MARKER))
        lines = [f"if [ -e {marker} ]; then {script_line(check)} || exit 1; fi"] if check else []
        self._install_script("archive.sh", [*lines, f'{script_line(archive, chr(34) + "$1" + chr(34))} || exit 1',
                                            f"rm -f {marker}"])

    def set_archive(self, destination: str | None, server_name: str | None) -> None:
        """Archive into a lineage (no empty-archive check); None pauses archiving."""
        self.set_archive_calls(self.barman.plan(destination, server_name).wal_archive() if destination else None)

    def set_restore_call(self, call: Invocation) -> None:
        """restore_command: ``call`` with ``%f %p`` (barman-cloud restorer ``Restore``)."""
        write_pod_files(call.files)
        self._install_script("restore.sh",
                             [f'exec {script_line(call, chr(34) + "$1" + chr(34), chr(34) + "$2" + chr(34))}'])

    def _settings(self) -> str:
        """Settings appended after whatever postgresql.conf holds (later lines win).
        ``checkpoint_completion_target = 0``: CNPG's backups use a spread checkpoint
        (``data.immediateCheckpoint`` unset), which would otherwise sleep per buffer."""
        return (
            "\n# cnpg-render realparts harness\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "archive_mode = on\n"
            f"archive_command = '{self.basedir / 'archive.sh'} \"%p\"'\n"
            f"restore_command = '{self.restore_command}'\n"
            "archive_timeout = 0\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "shared_buffers = 16MB\n"
            "max_wal_size = 64MB\n"
            "min_wal_size = 4MB\n"
            "checkpoint_completion_target = 0\n"
            "logging_collector = off\n"
        )

    def _append_settings(self, settings: Mapping[str, str] | None = None) -> None:
        """The harness's settings, then ``settings`` quoted as CNPG's configfile writes them."""
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(self._settings())
            for key, value in (settings or {}).items():
                conf.write(f"{key} = '{value.replace(chr(39), chr(39) * 2)}'\n")

    def _touch(self, name: str) -> None:
        (self.pgdata / name).touch()
        chown_to_user(self.pgdata / name)

    # -- lifecycle

    def initdb(self) -> PgInstance:
        """initdb with 1 MB WAL segments so archiving and backups stay fast; leaves the
        empty-archive marker as CNPG's initdb does (initdb.go)."""
        run(as_user([str(pg_bin() / "initdb"), "-D", str(self.pgdata), "--auth=trust",
                     "--wal-segsize=1", "--no-sync", "-U", DB_USER, "--encoding=UTF8",
                     "--locale=C"]), cwd=self.basedir)
        self._append_settings()
        self._touch(CHECK_MARKER)
        return self

    def drop_templates(self) -> None:
        """Drop template0 and template1 from a running server: the tests create no
        databases, and without them a base backup uploads a third of the bytes."""
        self.psql("UPDATE pg_database SET datistemplate = false WHERE datname IN ('template0', 'template1')")
        for name in ("template0", "template1"):
            self.psql(f"DROP DATABASE {name}")

    def start_recovery(self, wal_restore: Invocation, settings: Mapping[str, str]) -> PgInstance:
        """Start a restored data directory the way CNPG's restore concludes (restore.go
        ``concludeRestore``): the empty-archive marker, the recovery settings after the
        harness's own, ``recovery.signal``; ``restore_command`` runs ``wal_restore``.
        Returns without waiting (see ``wait_recovery``)."""
        settings = dict(settings)
        if settings.pop("archive_command", None) == "false":
            self.set_archive_calls(None)
        self.set_restore_call(wal_restore)
        self._append_settings({**settings, "restore_command": self.restore_command})
        self._touch("recovery.signal")
        self._touch(CHECK_MARKER)
        for stale in ("postmaster.pid", "postmaster.opts"):
            (self.pgdata / stale).unlink(missing_ok=True)
        self.pgdata.chmod(0o700)
        return self.start(check=False)

    def start(self, check: bool = True) -> PgInstance:
        """pg_ctl start; with ``check=False`` a server that dies while starting (a failed
        recovery) is left for ``wait_recovery`` to report."""
        run(as_user([str(pg_bin() / "pg_ctl"), "-D", str(self.pgdata), "-l",
                     str(self.basedir / "log"), "-w", "-t", "60", "start"]), cwd=self.basedir, check=check)
        return self

    def running(self) -> bool:
        return run(as_user([str(pg_bin() / "pg_ctl"), "-D", str(self.pgdata), "status"]),
                   cwd=self.basedir, check=False).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server if it runs; never raises (used in teardown)."""
        run(as_user([str(pg_bin() / "pg_ctl"), "-D", str(self.pgdata), "-m", mode,
                     "-w", "stop"]), cwd=self.basedir, check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.basedir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        path = self.basedir / "log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def fatal_lines(self) -> str:
        """PostgreSQL's FATAL and PANIC messages, each after the line before it (which
        often says why: "invalid value for parameter …")."""
        path = self.basedir / "log"
        lines = path.read_text().splitlines() if path.exists() else []
        picked = {j for i, line in enumerate(lines) if "FATAL:" in line or "PANIC:" in line
                  for j in (i - 1, i) if j >= 0}
        return "\n".join(lines[i] for i in sorted(picked))

    # -- SQL, WAL and backups

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL over TCP (trust auth) and return unaligned, tuples-only output."""
        proc = run([str(pg_bin() / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                    "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, "-d", db,
                    "-c", sql], env={"PATH": SAFE_PATH, "PGCONNECT_TIMEOUT": "5"})
        return proc.stdout.strip()

    def system_identifier(self) -> str:
        """The cluster's system identifier (pg_control); barman records it as ``systemid``."""
        return self.psql("SELECT system_identifier FROM pg_control_system()")

    def take_backup(self, plan: ClusterPlan) -> dict:
        """A Backup of the Cluster this instance plays, named as CNPG names it
        (``backup-<UTC YYYYMMDDhhmmss>``), connecting through the socket as the pod's
        PGHOST does; returns what barman-cloud-backup-show reports for it, as CNPG reads
        it back (backup.go ``GetExecutedBackupInfo``)."""
        name = "backup-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        run_barman(plan.backup(name), user=True, cwd=self.basedir,
                   env={"PGHOST": str(self.socket_dir), "PGPORT": str(self.port)})
        return json.loads(run_barman(plan.backup_show(name)).stdout)["cloud"]

    def switch_wal(self, timeout: float = 60) -> str:
        """Close the current WAL segment and wait until it is archived; return its name."""
        wal = self.psql("SELECT pg_walfile_name(pg_switch_wal())")
        self.wait_archived(wal, timeout)
        return wal

    def wait_archived(self, wal: str, timeout: float = 60) -> None:
        """Poll pg_stat_archiver until ``wal`` (or a later segment) is archived; raise
        ArchiveFailed as soon as the archiver's latest attempt is a failure."""
        query = ("SELECT coalesce(last_archived_wal, ''), failed_count, "
                 "coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) FROM pg_stat_archiver")
        failures = int(self.psql(query).split("|")[1])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last, failed, failing = self.psql(query).split("|")
            if last and last[:24] >= wal[:24] and not last.endswith(".history"):
                return
            if int(failed) > failures and failing == "t":
                raise ArchiveFailed(f"archiving {wal} failed:\n{self.log_tail()}")
            time.sleep(0.05)
        raise HarnessError(f"WAL {wal} not archived within {timeout}s:\n{self.log_tail()}")

    def wait_recovery(self, timeout: float = 120) -> str | None:
        """Wait for the end of a recovery: None once the server has promoted, else the
        FATAL/PANIC lines it stopped with."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                return self.fatal_lines() or self.log_tail()
            try:
                if self.psql("SELECT pg_is_in_recovery()") == "f":
                    return None
            except HarnessError:
                pass  # not accepting connections yet
            time.sleep(0.1)
        raise HarnessError(f"server still in recovery after {timeout}s:\n{self.log_tail()}")

    def wait_promoted(self, timeout: float = 120) -> None:
        """After a recovery, wait until the server has left recovery (promoted)."""
        failure = self.wait_recovery(timeout)
        if failure is not None:
            raise HarnessError(f"recovery failed:\n{failure}")


def restore_instance(barman: Barman, destination: str, server_name: str,
                     backup_id: str = "latest") -> PgInstance:
    """Restore a base backup of a lineage into a new instance and start its recovery
    (restore_command reads the same lineage; no target; promotes at the end). Archiving
    starts paused: call ``set_archive`` with the new lineage. The caller waits with
    ``wait_promoted()``. For a rendered Cluster, use tests/cnpg_cluster.py instead."""
    inst = PgInstance.new_dir(barman, prefix="cnpg-restore-")
    plan = barman.plan(destination, server_name)
    run_barman(plan.restore({"backup_id": backup_id}, str(inst.pgdata)), user=True, cwd=inst.basedir)
    return inst.start_recovery(plan.wal_restore(), plan.restore_settings(inst.restore_command))


# --------------------------------------------------------------------------- fixtures


@dataclass
class RealParts:
    """Everything a real-parts test needs, shared per session (per xdist worker)."""

    s3: MotoS3
    barman: Barman
    pg: PgInstance

    @property
    def endpoint_url(self) -> str:
        return self.s3.endpoint_url


@dataclass(frozen=True)
class Lineage:
    """One barman-cloud lineage: ``<destination><server_name>/``."""

    destination: str
    server_name: str


@pytest.fixture(scope="session")
def moto_s3():
    """A moto S3 server for the whole session."""
    s3 = MotoS3().start()
    try:
        yield s3
    finally:
        s3.stop()


@pytest.fixture(scope="session")
def tls_s3(tmp_path_factory):
    """A second moto S3 serving HTTPS with a certificate signed by a CA made for the
    session (``tls_s3.tls.ca_pem`` is what an overlay's ``endpointCA`` takes)."""
    s3 = MotoS3(tls=make_server_tls(tmp_path_factory.mktemp("tls"))).start()
    try:
        yield s3
    finally:
        s3.stop()


@pytest.fixture(scope="session")
def realparts(moto_s3):
    """moto S3 + barman tools + one running PostgreSQL (archiving paused until a test
    calls ``pg.set_archive``). Skips with a reason when the parts are not installed,
    which `make test` prevents by running `make realparts` first."""
    reason = missing_parts()
    if reason:
        # In CI the parts are installed by `make test`; missing there is a failure.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)
    barman = Barman(moto_s3)
    pg = PgInstance.new_dir(barman).initdb().start()
    try:
        yield RealParts(s3=moto_s3, barman=barman, pg=pg)
    finally:
        pg.destroy()


@pytest.fixture(scope="session")
def seeded_lineage(realparts) -> Lineage:
    """``s3://lineages/pg/app``, laid out by the real tools: table ``t`` holding row 1,
    archived WAL and exactly one completed base backup. The session's PostgreSQL keeps
    archiving there. Built once per session because a base backup is the slow part."""
    dest = realparts.s3.make_bucket("lineages") + "/pg/"
    pg = realparts.pg
    pg.set_archive(dest, "app")
    pg.psql("CREATE TABLE t(x int); INSERT INTO t VALUES (1)")
    pg.switch_wal()
    realparts.barman.backup(pg, dest, "app")
    return Lineage(dest, "app")
