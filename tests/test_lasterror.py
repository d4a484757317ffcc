"""The last-error side channel that makes Helm 4 failures discoverable."""

import os
import stat

from click.testing import CliRunner

from renderer import lasterror


def test_path_prefers_env_then_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv(lasterror.ENV_PATH, raising=False)
    assert lasterror.path() == tmp_path / "home/.local/state/cnpg-render/last-error"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert lasterror.path() == tmp_path / "state/cnpg-render/last-error"
    monkeypatch.setenv(lasterror.ENV_PATH, str(tmp_path / "explicit"))
    assert lasterror.path() == tmp_path / "explicit"


def test_record_then_read_roundtrip_private_file(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv(lasterror.ENV_PATH, raising=False)
    assert lasterror.read() is None
    lasterror.record("cnpg-render: error: overlay.yaml:3: cnpg.main.mode: bad\n")
    assert lasterror.read() == "cnpg-render: error: overlay.yaml:3: cnpg.main.mode: bad"
    target = lasterror.path()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    lasterror.record("second")
    assert lasterror.read() == "second"
    assert os.listdir(target.parent) == ["last-error"], "no temp files left behind"


def test_record_never_raises(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(lasterror.ENV_PATH, str(blocker / "sub" / "last-error"))
    lasterror.record("boom")  # parent is a file: must be swallowed
    assert lasterror.read() is None


def test_command_prints_message_or_none(monkeypatch, tmp_path):
    monkeypatch.setenv(lasterror.ENV_PATH, str(tmp_path / "le"))
    runner = CliRunner()
    result = runner.invoke(lasterror.command, [])
    assert (result.exit_code, result.output) == (0, "no error recorded\n")
    lasterror.record("cnpg-render: error: x: y")
    result = runner.invoke(lasterror.command, [])
    assert (result.exit_code, result.output) == (0, "cnpg-render: error: x: y\n")
    result = runner.invoke(lasterror.command, ["--path"])
    assert result.output == f"{tmp_path / 'le'}\n"
