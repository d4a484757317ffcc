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

Nothing here is pytest-specific except the fixtures at the bottom, so a later
restore-lifecycle test can drive the same classes directly.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from testca import TlsFiles

REPO = Path(__file__).resolve().parent.parent
BARMAN_BIN = Path(os.environ.get("CNPG_BARMAN_VENV", REPO / ".tools" / "barman-venv")) / "bin"
RUN_USER = "cnpgtest"
# Dummy credentials: moto accepts anything. Not secrets.
DUMMY_KEY_ID = "testing-key-id"
DUMMY_SECRET = "testing-secret-key"
REGION = "us-east-1"
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
    proc: subprocess.Popen[bytes] | None = None
    tls: TlsFiles | None = None

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
            **({"AWS_CA_BUNDLE": str(self.tls.ca)} if self.tls else {}),
        }

    def start(self, timeout: float = 30) -> "MotoS3":
        tls_args = ["-c", str(self.tls.cert), "-k", str(self.tls.key)] if self.tls else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port), *tls_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, **self.extra_env},
        )
        context = ssl.create_default_context(cafile=str(self.tls.ca)) if self.tls else None
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
            verify=str(self.tls.ca) if self.tls else None,
        )

    def make_bucket(self, name: str) -> str:
        """Create a bucket and return its s3:// URL."""
        if len(name) < 3:
            raise HarnessError(f"bucket name {name!r}: S3 needs 3 to 63 characters")
        self.client().create_bucket(Bucket=name)
        return f"s3://{name}"


# --------------------------------------------------------------------------- barman


@dataclass
class Barman:
    """The barman-cloud command-line tools, pointed at one S3 endpoint."""

    s3: MotoS3

    def tool(self, name: str) -> str:
        return str(BARMAN_BIN / name)

    def _cmd(self, name: str, *args: str) -> list[str]:
        return [self.tool(name), "--endpoint-url", self.s3.endpoint_url, *args]

    def _env(self) -> dict[str, str]:
        return {"PATH": SAFE_PATH, "LANG": "C.UTF-8", **self.s3.env()}

    def run(self, name: str, *args: str, user: bool = False, check: bool = True,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run one barman-cloud tool; ``user=True`` runs it as the PostgreSQL OS user."""
        cmd = self._cmd(name, *args)
        return run(as_user(cmd) if user else cmd, env=self._env(), check=check,
                   cwd=cwd or Path(WORK_ROOT))

    def backup(self, pg: "PgInstance", destination: str, server_name: str) -> None:
        """Take a base backup of a running instance (reads PGDATA, so runs as its user)."""
        self.run("barman-cloud-backup", "--immediate-checkpoint", "-h", str(pg.socket_dir),
                 "-p", str(pg.port), "-U", pg.user, "-d", "postgres",
                 destination, server_name, user=True, cwd=pg.basedir)

    def backup_list(self, destination: str, server_name: str) -> list[dict]:
        """Backups of a lineage as barman-cloud-backup-list reports them (JSON)."""
        out = self.run("barman-cloud-backup-list", "--format", "json", destination, server_name).stdout
        return json.loads(out)["backups_list"]

    def check_wal_archive(self, destination: str, server_name: str) -> tuple[int, str]:
        """The operator's empty-archive check; returns (rc, combined output)."""
        proc = self.run("barman-cloud-check-wal-archive", destination, server_name, check=False)
        return proc.returncode, proc.stdout + proc.stderr

    def restore(self, destination: str, server_name: str, backup_id: str, target: Path) -> None:
        """Download a base backup into an empty directory owned by the PostgreSQL user."""
        self.run("barman-cloud-restore", destination, server_name, backup_id, str(target),
                 user=True, cwd=target.parent)

    def env_lines(self) -> str:
        """Shell `export` lines for scripts PostgreSQL runs (archive/restore commands)."""
        return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in self.s3.env().items())


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class PgInstance:
    """One PostgreSQL server in its own directory under WORK_ROOT.

    Layout: ``basedir/data`` (PGDATA), ``basedir/archive.sh`` (the archive_command),
    ``basedir/archive.env`` (where it archives to; rewritten by :meth:`set_archive`
    so the target can change without a restart), ``basedir/restore.sh``, ``basedir/log``.
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

    @classmethod
    def new_dir(cls, barman: Barman, prefix: str = "cnpg-realparts-") -> "PgInstance":
        """A fresh base directory the unprivileged user owns and can traverse."""
        ensure_run_user()
        basedir = Path(tempfile.mkdtemp(prefix=prefix, dir=WORK_ROOT))
        basedir.chmod(0o755)
        chown_to_user(basedir)
        inst = cls(barman=barman, basedir=basedir)
        inst._write_scripts()
        inst.set_archive(None, None)
        return inst

    # -- files the server's commands read

    def _write_file(self, path: Path, text: str, mode: int) -> None:
        path.write_text(text)
        path.chmod(mode)
        chown_to_user(path)

    def _write_scripts(self) -> None:
        """archive.sh/restore.sh read their target from *.env written by the harness."""
        wal_archive = self.barman.tool("barman-cloud-wal-archive")
        wal_restore = self.barman.tool("barman-cloud-wal-restore")
        ep = self.barman.s3.endpoint_url
        archive = (
            "#!/bin/sh\n"
            f". {shlex.quote(str(self.basedir / 'archive.env'))}\n"
            '[ -n "$DEST" ] || exit 1  # archiving paused: PostgreSQL keeps the WAL and retries\n'
            f'exec {wal_archive} --endpoint-url {ep} "$DEST" "$SERVER" "$1"\n'
        )
        restore = (
            "#!/bin/sh\n"
            f". {shlex.quote(str(self.basedir / 'restore.env'))}\n"
            f'exec {wal_restore} --endpoint-url {ep} "$DEST" "$SERVER" "$1" "$2"\n'
        )
        self._write_file(self.basedir / "archive.sh", archive, 0o755)
        self._write_file(self.basedir / "restore.sh", restore, 0o755)

    def _write_target(self, name: str, destination: str | None, server_name: str | None) -> None:
        text = self.barman.env_lines()
        text += f"DEST={shlex.quote(destination or '')}\nSERVER={shlex.quote(server_name or '')}\n"
        self._write_file(self.basedir / name, text, 0o600)

    def set_archive(self, destination: str | None, server_name: str | None) -> None:
        """Point archive_command at a lineage; None pauses archiving (WAL is kept)."""
        self._write_target("archive.env", destination, server_name)

    def _settings(self) -> str:
        """Settings appended after whatever postgresql.conf holds (later lines win)."""
        return (
            "\n# cnpg-render realparts harness\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "archive_mode = on\n"
            f"archive_command = '{self.basedir / 'archive.sh'} \"%p\"'\n"
            f"restore_command = '{self.basedir / 'restore.sh'} \"%f\" \"%p\"'\n"
            "archive_timeout = 0\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "shared_buffers = 16MB\n"
            "max_wal_size = 64MB\n"
            "min_wal_size = 4MB\n"
            "logging_collector = off\n"
        )

    def _append_settings(self) -> None:
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(self._settings())

    # -- lifecycle

    def initdb(self) -> "PgInstance":
        """initdb with 1 MB WAL segments so archiving and backups stay fast."""
        run(as_user([str(pg_bin() / "initdb"), "-D", str(self.pgdata), "--auth=trust",
                     "--wal-segsize=1", "--no-sync", "-U", self.user, "--encoding=UTF8",
                     "--locale=C"]), cwd=self.basedir)
        self._append_settings()
        return self

    def start(self) -> "PgInstance":
        run(as_user([str(pg_bin() / "pg_ctl"), "-D", str(self.pgdata), "-l",
                     str(self.basedir / "log"), "-w", "-t", "60", "start"]), cwd=self.basedir)
        return self

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

    # -- SQL and WAL

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL over TCP (trust auth) and return unaligned, tuples-only output."""
        proc = run([str(pg_bin() / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                    "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", db,
                    "-c", sql], env={"PATH": SAFE_PATH, "PGCONNECT_TIMEOUT": "5"})
        return proc.stdout.strip()

    def switch_wal(self, timeout: float = 60) -> str:
        """Close the current WAL segment and wait until it is archived; return its name."""
        wal = self.psql("SELECT pg_walfile_name(pg_switch_wal())")
        self.wait_archived(wal, timeout)
        return wal

    def wait_archived(self, wal: str, timeout: float = 60) -> None:
        """Poll pg_stat_archiver until ``wal`` (or a later segment) is archived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
            if last and last[:24] >= wal[:24] and not last.endswith(".history"):
                return
            time.sleep(0.2)
        raise HarnessError(f"WAL {wal} not archived within {timeout}s:\n{self.log_tail()}")

    def wait_promoted(self, timeout: float = 120) -> None:
        """After a recovery, wait until the server has left recovery (promoted)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.psql("SELECT pg_is_in_recovery()") == "f":
                    return
            except HarnessError:
                pass  # not accepting connections yet
            time.sleep(0.3)
        raise HarnessError(f"server still in recovery after {timeout}s:\n{self.log_tail()}")


def restore_instance(barman: Barman, destination: str, server_name: str,
                     backup_id: str = "latest") -> PgInstance:
    """Restore a base backup into a new instance and start recovery, PG 12+ style.

    The data directory comes from ``barman-cloud-restore``; ``restore_command`` fetches
    WAL with ``barman-cloud-wal-restore`` from the same lineage; ``recovery.signal``
    makes it a targeted-less archive recovery that ends by promoting on a new timeline.
    The restored instance's archive target starts paused: call ``set_archive`` with the
    new lineage (what the renderer would compute) before or after starting.
    The caller waits with ``wait_promoted()``.
    """
    inst = PgInstance.new_dir(barman, prefix="cnpg-restore-")
    barman.restore(destination, server_name, backup_id, inst.pgdata)
    inst._write_target("restore.env", destination, server_name)
    inst._append_settings()  # overrides the source's port, sockets and commands
    (inst.pgdata / "recovery.signal").touch()
    chown_to_user(inst.pgdata / "recovery.signal")
    for stale in ("postmaster.pid", "postmaster.opts"):
        (inst.pgdata / stale).unlink(missing_ok=True)
    inst.pgdata.chmod(0o700)
    return inst.start()


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
