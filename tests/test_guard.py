"""The guard every command runs in: whatever fails — our checks, a closed pipe, a full
disk, a hostile name, a bug — ends as one escaped line on stderr, the command's exit
code, nothing (more) on stdout and the last-error file updated. Driven through the real
executable as Helm, ArgoCD and shells run it, and in-process for generated input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from renderer import guard, lasterror
from renderer.cli import Commands, main
from renderer.errors import RenderError
from tests.helpers import CLI, FIXTURES, REAL, REPO, run_cli

INPUT = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
BACKUPS = str(FIXTURES / "overlays" / "backups.yaml")
BIG = (REAL / "kube-prometheus-stack-with-crds.yaml").read_bytes() + INPUT  # 5 MB: more than any pipe buffer


def one_error_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert text.startswith("cnpg-render: error: ") and text.count("\n") == 1 and text.endswith("\n"), text
    return text.rstrip("\n")


def le_env(tmp_path: Path) -> dict[str, str]:
    return {lasterror.ENV_PATH: str(tmp_path / "le")}


def recorded(tmp_path: Path) -> str:
    return (tmp_path / "le").read_text().splitlines()[0]


# --------------------------------------------------------------------------- every command


def _kustomize_config(tmp_path: Path) -> str:
    path = tmp_path / "missing-config.yaml"
    return str(path)


COMMANDS = [
    # (args, stdin, env, exit code) — one failing call per command
    (["render", "--overlay", "missing.yaml"], INPUT, {}, 1),
    (["--overlay=missing.yaml"], INPUT, {}, 1),  # the plain path Helm runs, without click
    (["diff", "--overlay", "missing.yaml"], INPUT, {}, 2),
    (["plan", "--overlay", "missing.yaml"], INPUT, {}, 1),
    (["validate", "missing.yaml"], b"", {}, 1),
    (["bump", "nope", "-f", BACKUPS], b"", {}, 1),
    (["kustomize-plugin", "missing-config.yaml"], b"", {}, 1),
    (["argocd-generate"], b"", {"ARGOCD_APP_NAME": ""}, 1),
    (["render", "--bogus"], b"", {}, 2),
    (["diff", "--color", "purple", "--overlay", BACKUPS], b"", {}, 2),
]


@pytest.mark.parametrize("args, stdin, env, code", COMMANDS, ids=[" ".join(c[0])[:40] for c in COMMANDS])
def test_every_command_fails_in_one_recorded_line(tmp_path, args, stdin, env, code):
    result = run_cli(*args, stdin=stdin, env={**env, **le_env(tmp_path)}, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (code, b"")
    assert recorded(tmp_path) == one_error_line(result.stderr)


def test_krm_failure_is_a_result_on_stdout_and_one_line():
    """The KRM spec keeps stdout for the ResourceList, errors included as results."""
    result = run_cli("krm", stdin=(FIXTURES / "integrations" / "krm" / "resource-list.yaml").read_bytes()
                     .replace(b"mode: standalone", b"mode: sideways"))
    assert result.returncode == 1 and b"severity: error" in result.stdout
    one_error_line(result.stderr)


def test_a_new_command_gets_the_guard_without_asking():
    group = Commands()

    @group.command()
    def explode():
        raise KeyError("hunter2-secret")

    result = CliRunner().invoke(group, ["explode"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("cnpg-render: error: internal error: KeyError at ")
    assert "hunter2" not in result.stderr


def test_every_registered_command_is_guarded():
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        assert getattr(main.get_command(ctx, name).callback, "guarded", False), name


# --------------------------------------------------------------------------- output faults


def test_reader_closing_the_pipe_is_one_line_not_a_traceback(tmp_path):
    """`cnpg-render ... | head -c 100`: the reader goes away mid-output."""
    proc = subprocess.Popen([*CLI, "--overlay", BACKUPS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env={**os.environ, **le_env(tmp_path)})
    proc.stdin.write(BIG)
    proc.stdin.close()
    proc.stdout.read(100)
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert "stdout: closed by the reader" in one_error_line(stderr)


def test_head_in_a_real_shell_pipeline(tmp_path):
    script = f'{" ".join(CLI)} --overlay {BACKUPS} "$1" | head -c 100 >/dev/null; echo "exit ${{PIPESTATUS[0]}}" >&2'
    big = tmp_path / "big.yaml"
    big.write_bytes(BIG)
    proc = subprocess.run(["bash", "-c", script, "-", str(big)], capture_output=True, cwd=REPO,
                          env={**os.environ, **le_env(tmp_path)})
    lines = proc.stderr.decode().splitlines()
    assert lines[-1] == "exit 1" and len(lines) == 2 and lines[0].startswith("cnpg-render: error: stdout: ")


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["render", "--help"]])
def test_what_click_writes_itself_fails_in_one_line_too(tmp_path, args):
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([*CLI, *args], stdout=full, stderr=subprocess.PIPE, cwd=REPO,
                              env={**os.environ, **le_env(tmp_path)})
    assert proc.returncode == 1 and "stdout: no space left on device" in one_error_line(proc.stderr)


def test_full_device_is_one_line(tmp_path):
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([*CLI, "--overlay", BACKUPS], input=INPUT, stdout=full, stderr=subprocess.PIPE,
                              cwd=REPO, env={**os.environ, **le_env(tmp_path)})
    assert proc.returncode == 1
    assert "no space left on device" in one_error_line(proc.stderr)


# Two MB of the kube-prometheus-stack render, cut at a document boundary.
CUT_BIG = BIG[:BIG.index(b"\n---", 2_000_000) + 1]


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs: a filesystem that really fills up (needs root to mount)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root); /dev/full covers ENOSPC")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("append", [False, True], ids=[">", ">>"])
def test_full_disk_leaves_no_partial_output(tmp_path, small_disk, append):
    """stdout redirected to a file on a filesystem that fills up halfway through the
    output: the file is cut back to what it held before, as if we had written nothing."""
    target = small_disk / "out.yaml"
    target.write_bytes(b"kept: before\n" if append else b"")
    with open(target, "ab" if append else "wb") as out:
        proc = subprocess.run([*CLI, "--overlay", BACKUPS], input=CUT_BIG + INPUT, stdout=out,
                              stderr=subprocess.PIPE, cwd=REPO, env={**os.environ, **le_env(tmp_path)})
    assert proc.returncode == 1 and "no space left on device" in one_error_line(proc.stderr)
    assert target.read_bytes() == (b"kept: before\n" if append else b"")


def test_error_line_lands_in_place_when_stderr_shares_the_full_file(tmp_path, small_disk):
    """`> out 2>&1`: the cut-back file ends with the error line, with no hole before it."""
    target = small_disk / "out.log"
    with open(target, "wb") as out:
        proc = subprocess.run([*CLI, "--overlay", BACKUPS], input=CUT_BIG + INPUT, stdout=out,
                              stderr=out, cwd=REPO, env={**os.environ, **le_env(tmp_path)})
    assert proc.returncode == 1
    assert target.read_bytes().startswith(b"cnpg-render: error: stdout: no space left")


def test_closed_stdout_and_stdin(tmp_path):
    closed_out = subprocess.run([*CLI, "schema"], stderr=subprocess.PIPE, cwd=REPO, preexec_fn=lambda: os.close(1),
                                env={**os.environ, **le_env(tmp_path)})
    assert closed_out.returncode == 1 and "stdout: is closed" in one_error_line(closed_out.stderr)
    closed_in = subprocess.run([*CLI, "render", "--overlay", BACKUPS], capture_output=True, cwd=REPO,
                               preexec_fn=lambda: os.close(0), env={**os.environ, **le_env(tmp_path)})
    assert closed_in.returncode == 1 and "stdin: is closed" in one_error_line(closed_in.stderr)


def test_closed_stderr_still_exits_1_and_records(tmp_path):
    proc = subprocess.run([*CLI, "--overlay", "missing.yaml"], input=INPUT, stdout=subprocess.PIPE, cwd=REPO,
                          preexec_fn=lambda: os.close(2), env={**os.environ, **le_env(tmp_path)})
    assert (proc.returncode, proc.stdout) == (1, b"")
    assert "missing.yaml" in recorded(tmp_path)


def test_interrupt_is_one_line_with_the_shell_code(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([*CLI, "--overlay", BACKUPS, str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=REPO, env={**os.environ, **le_env(tmp_path)})
    with open(fifo, "wb") as writer:  # render is now blocked reading its input
        writer.write(b"kind: ConfigMap\n")
        writer.flush()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == guard.INTERRUPTED_EXIT and out == b""
    assert one_error_line(err).endswith("render: interrupted")


# --------------------------------------------------------------------------- forged lines


def cluster(name: str) -> bytes:
    import json

    return ("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: " + json.dumps(name) +
            "\n  labels: {app.kubernetes.io/instance: demo}\nspec: {instances: 1}\n").encode()


@pytest.mark.parametrize("name", ["x\ncnpg-render: error: forged", "x\rcnpg-render: error: forged",
                                  "x\x1b[2K\x1b[1Gcnpg-render: error: forged", "x\u2028cnpg-render: error: forged",
                                  "x\u202ecnpg-render: error: forged", "x\x85y", "x\x00y"])
def test_a_name_cannot_forge_lines(tmp_path, name):
    """The same Cluster twice: the error names it twice, escaped."""
    result = run_cli("--overlay", BACKUPS, stdin=cluster(name) + b"---\n" + cluster(name), env=le_env(tmp_path))
    line = one_error_line(result.stderr)
    assert len(result.stderr.decode().splitlines()) == 1, "every Unicode line break escaped"
    assert not any(c in line for c in "\r\x1b\u2028\u202e\x85\x00")
    assert recorded(tmp_path) == line


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Lu", "Ll", "Nd"]), min_size=1, max_size=12))
def test_warnings_and_errors_stay_one_line_whatever_the_name(tmp_path, name):
    """In-process, generated names: every line on stderr starts as one of ours."""
    assume(name != "main")  # the input's Cluster is demo-cnpg-main: that entry renders
    overlay = tmp_path / "o.yaml"
    import json

    overlay.write_text("cnpg:\n  " + json.dumps(name) + ": {}\n")
    result = CliRunner().invoke(main, ["render", "--overlay", str(overlay)], input=INPUT)
    assert result.exit_code == 1
    lines = result.stderr.split("\n")
    assert lines[-1] == "" and all(line.startswith("cnpg-render: ") for line in lines[:-1]), result.stderr
    assert len(lines) == 2


# --------------------------------------------------------------------------- usage


def test_mistyped_command_is_not_read_as_a_file(tmp_path):
    line = one_error_line(run_cli("rendr", "--overlay", BACKUPS, stdin=INPUT, env=le_env(tmp_path)).stderr)
    assert "no such command 'rendr'" in line and "did you mean render?" in line
    far = one_error_line(run_cli("frobnicate", stdin=INPUT).stderr)
    assert "no such command 'frobnicate'" in far and "the commands are " in far and "validate" in far


def test_a_file_argument_is_still_a_file(tmp_path):
    (tmp_path / "manifests").write_bytes(INPUT)  # no extension: exists, so it is read
    assert run_cli("--overlay", BACKUPS, "manifests", cwd=tmp_path).returncode == 0
    missing = one_error_line(run_cli("--overlay", BACKUPS, "manifests.yaml", cwd=tmp_path).stderr)
    assert "manifests.yaml: cannot read input" in missing


def test_help_and_version_still_work():
    assert run_cli("--help").returncode == 0 and run_cli("--version").returncode == 0


def test_no_arguments_on_a_terminal_shows_the_help_not_an_error_line(tmp_path):
    terminal, stdin = os.openpty()
    try:
        proc = subprocess.run(CLI, stdin=stdin, capture_output=True, cwd=REPO, env={**os.environ, **le_env(tmp_path)})
    finally:
        os.close(terminal)
        os.close(stdin)
    assert proc.stderr.startswith(b"Usage: cnpg-render") and b"cnpg-render: error" not in proc.stderr
    assert not (tmp_path / "le").exists(), "help is not an error to record"


# --------------------------------------------------------------------------- internal errors


def test_a_bug_is_named_by_type_and_place_never_by_message(tmp_path, monkeypatch):
    """The place is our innermost frame; the message (which may quote input) is left out."""
    from renderer import shell

    monkeypatch.setenv(lasterror.ENV_PATH, str(tmp_path / "le"))

    def broken(*_args, **_kwargs):
        raise ValueError("invalid literal for int() with base 10: 'hunter2-secret'")

    monkeypatch.setattr(shell, "read_inputs", broken)
    with pytest.raises(SystemExit) as exit_:
        guard.run("render", shell.render_stream, (BACKUPS,), None, None, ())
    assert exit_.value.code == 1
    line = recorded(tmp_path)
    assert line.startswith("cnpg-render: error: internal error: ValueError at renderer/shell.py:")
    assert "hunter2" not in line and "please report this" in line


def test_os_errors_are_named_by_file(tmp_path, monkeypatch):
    monkeypatch.setenv(lasterror.ENV_PATH, str(tmp_path / "le"))

    def unwritable():
        raise PermissionError(13, "Permission denied", "/srv/overlay.yaml")

    with pytest.raises(SystemExit):
        guard.run("bump", unwritable)
    assert recorded(tmp_path) == "cnpg-render: error: /srv/overlay.yaml: Permission denied"


def test_a_click_error_that_is_no_usage_error_fails_in_one_line(tmp_path, monkeypatch, capsys):
    """Only a UsageError carries a click context: another ClickException (a FileError)
    once raised AttributeError while its message was being written."""
    from renderer import cli

    monkeypatch.setenv(lasterror.ENV_PATH, str(tmp_path / "le"))

    def file_error(**_):
        raise click.FileError("overlay.yaml", "no such file")

    monkeypatch.setattr(cli.main, "main", file_error)
    with pytest.raises(SystemExit) as exit_:
        cli._click(["render"])
    assert exit_.value.code == 1
    line = "cnpg-render: error: usage: Could not open file 'overlay.yaml': no such file"
    assert capsys.readouterr().err == line + "\n" and recorded(tmp_path) == line


def test_one_line_escapes_what_moves_the_cursor():
    assert guard.one_line("a\nb\tc\x1b[0m\u2028\u202e\ud800") == "a\\nb\\tc\\x1b[0m\\u2028\\u202e\\ud800"
    assert guard.one_line("plain text: ünïcode ok") == "plain text: ünïcode ok"


def test_render_error_with_secret_in_text_is_masked_everywhere(tmp_path, monkeypatch):
    """A secret that was read this run is masked in any line we print, whatever path
    the text took."""
    from renderer.sensitive import Sensitive

    monkeypatch.setenv(lasterror.ENV_PATH, str(tmp_path / "le"))
    Sensitive("s3cr3t-value-42")

    def leaky():
        raise RenderError("overlay.yaml:3", "something quoted 's3cr3t-value-42'")

    with pytest.raises(SystemExit):
        guard.run("render", leaky)
    assert recorded(tmp_path) == "cnpg-render: error: overlay.yaml:3: something quoted '****'"


if sys.platform != "linux":  # /dev/full, tmpfs and preexec_fn are Linux facts here
    pytestmark = pytest.mark.skip("Linux only")


def test_one_line_skips_only_text_with_nothing_to_escape():
    """`one_line` returns printable text untouched without its pattern: sound only if
    every character the pattern escapes is one `str.isprintable` refuses."""
    import re

    pattern = re.compile(guard._CONTROL)
    assert not [c for c in map(chr, range(sys.maxunicode + 1)) if pattern.fullmatch(c) and c.isprintable()]
    assert guard.one_line("x\u202ey\nz") == "x\\u202ey\\nz"
