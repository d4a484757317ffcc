"""The last-error side channel that makes Helm 4 failures discoverable: where it is,
what it holds (message, time, command, release), and that a later success marks it
stale instead of leaving an old error looking current."""

import os
import stat

import pytest

from renderer import lasterror
from tests.helpers import FIXTURES, run_cli

INPUT = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
BACKUPS = str(FIXTURES / "overlays" / "backups.yaml")


@pytest.fixture
def at(monkeypatch, tmp_path):
    monkeypatch.setenv(lasterror.ENV_PATH, str(tmp_path / "state" / "last-error"))
    return tmp_path / "state" / "last-error"


def test_path_prefers_env_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv(lasterror.ENV_PATH, raising=False)
    assert lasterror.path() == tmp_path / "home/.local/state/cnpg-render/last-error"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert lasterror.path() == tmp_path / "state/cnpg-render/last-error"
    monkeypatch.setenv(lasterror.ENV_PATH, str(tmp_path / "explicit"))
    assert lasterror.path() == tmp_path / "explicit"


def test_record_then_read_roundtrip_private_file(at):
    assert lasterror.read() is None
    lasterror.record_error("cnpg-render: error: overlay.yaml:3: cnpg.main.mode: bad",
                           {"time": "2026-01-01T00:00:00.000000Z", "command": "render", "release": "shop"})
    last = lasterror.read()
    assert last.message == "cnpg-render: error: overlay.yaml:3: cnpg.main.mode: bad"
    assert last.details == {"time": "2026-01-01T00:00:00.000000Z", "command": "render", "release": "shop"}
    assert last.stale_since is None
    assert stat.S_IMODE(at.stat().st_mode) == 0o600
    assert os.listdir(at.parent) == ["last-error"], "no temp files left behind"


def test_a_later_success_marks_the_error_stale_and_a_later_error_is_current_again(at):
    lasterror.record_error("cnpg-render: error: first", {"time": "2026-01-01T00:00:00.000001Z"})
    lasterror.record_success("2026-01-01T00:00:00.000000Z")  # older than the error: changes nothing
    assert lasterror.read().stale_since is None
    lasterror.record_success("2026-01-01T00:00:00.000002Z")
    assert lasterror.read().stale_since == "2026-01-01T00:00:00.000002Z"
    lasterror.record_error("cnpg-render: error: second", {"time": "2026-01-01T00:00:00.000003Z"})
    assert (lasterror.read().message, lasterror.read().stale_since) == ("cnpg-render: error: second", None)


def test_success_without_a_recorded_error_writes_nothing(at):
    lasterror.record_success(lasterror.now())
    assert not at.parent.exists()


def test_now_sorts_as_time():
    first, second = lasterror.now(), lasterror.now()
    assert len(first) == len(second) == len("2026-01-01T00:00:00.000000Z") and first <= second


def test_a_file_holding_only_a_message_is_read(at):
    """What the Helm 4 plugin launcher's older versions wrote."""
    at.parent.mkdir(parents=True)
    at.write_text("cnpg-render: error: helm plugin: cannot find 'cnpg-render'\n")
    assert lasterror.read().message.endswith("cannot find 'cnpg-render'")
    assert lasterror.describe(lasterror.read())[1] == "  from cnpg-render at an unknown time"


def test_record_never_raises(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(lasterror.ENV_PATH, str(blocker / "sub" / "last-error"))
    lasterror.record_error("boom", {})  # parent is a file: must be swallowed
    lasterror.record_success(lasterror.now())
    assert lasterror.read() is None


def test_cli_failure_records_time_command_release_and_success_marks_it(tmp_path):
    """Driven as Helm 4 drives us: a failing render, then `last-error`, then a
    successful render, then `last-error` again."""
    env = {lasterror.ENV_PATH: str(tmp_path / "le")}
    assert run_cli("last-error", env=env).stdout == b"no error recorded\n"
    failed = run_cli("render", "--release", "shop", "--overlay", str(tmp_path / "missing.yaml"), stdin=INPUT, env=env)
    assert failed.returncode == 1
    shown = run_cli("last-error", env=env).stdout.decode().splitlines()
    assert shown[0] == failed.stderr.decode().strip()
    assert shown[1].startswith("  from `cnpg-render render` at 20") and "(release shop, version " in shown[1]
    assert len(shown) == 2
    assert run_cli("--overlay", BACKUPS, stdin=INPUT, env=env).returncode == 0
    shown = run_cli("last-error", env=env).stdout.decode().splitlines()
    assert shown[0] == failed.stderr.decode().strip()
    assert shown[2].startswith("  stale: a later run succeeded at 20")
    assert run_cli("last-error", "--path", env=env).stdout.decode() == f"{tmp_path / 'le'}\n"


def test_last_error_failing_itself_keeps_the_recorded_error(tmp_path):
    """`cnpg-render last-error >&-` fails (stdout closed) but must not replace the
    error the user is looking for."""
    env = {lasterror.ENV_PATH: str(tmp_path / "le")}
    run_cli("render", "--overlay", "missing.yaml", stdin=INPUT, env=env)
    before = (tmp_path / "le").read_text()
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "renderer", "last-error"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env={**os.environ, **env}, pass_fds=(), close_fds=True,
                          preexec_fn=lambda: os.close(1))
    assert proc.returncode == 1 and proc.stderr.decode().startswith("cnpg-render: error: stdout: is closed")
    assert (tmp_path / "le").read_text() == before
