"""The executable's fast path: the plain render call Helm and ArgoCD make every time
is parsed without click; everything else is click's, with the same meaning."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from renderer.entry import plain_render
from tests.helpers import FIXTURES, REPO, run_cli

OVERLAY = str(FIXTURES / "overlays" / "backups.yaml")
INPUT = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()


@pytest.mark.parametrize("args,expected", [
    (["--overlay=o.yaml"], {"overlays": ("o.yaml",), "release": None, "namespace": None, "files": ()}),
    (["render", "-f", "a", "--overlay", "b", "--release", "r", "-n", "ns", "x.yaml", "-"],
     {"overlays": ("a", "b"), "release": "r", "namespace": "ns", "files": ("x.yaml", "-")}),
    (["--release=r", "--namespace=ns", "--overlay=o"],
     {"overlays": ("o",), "release": "r", "namespace": "ns", "files": ()}),
])
def test_plain_render_calls_are_parsed(args, expected):
    assert plain_render(args) == expected


@pytest.mark.parametrize("args", [
    ["--help"], ["render", "--help"], ["--version"], ["plan", "-f", "o"], ["manifests.yaml"], ["-"],
    ["render", "--check-store", "-f", "o"], ["-f=o"], ["-fo"], ["--overlay"], ["--release", "a", "--release", "b"],
    ["render", "--", "x"],
])
def test_anything_else_goes_to_click(args):
    assert plain_render(args) is None


def test_fast_and_click_paths_render_the_same_bytes():
    fast = run_cli(f"--overlay={OVERLAY}", "--release", "demo", stdin=INPUT)
    slow = run_cli("render", f"-f{OVERLAY}", "--release", "demo", stdin=INPUT)  # -fX: click's spelling
    assert fast.returncode == slow.returncode == 0
    assert fast.stdout == slow.stdout and fast.stderr == slow.stderr


def test_fast_and_click_paths_fail_the_same_way():
    fast = run_cli("--overlay=missing.yaml", stdin=INPUT)
    slow = run_cli("render", "-fmissing.yaml", stdin=INPUT)
    assert (fast.returncode, fast.stdout, fast.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert fast.returncode == 1


def test_plain_render_does_not_import_click_or_heavy_modules():
    code = (f"import sys, runpy\nsys.argv = ['cnpg-render', '--overlay={OVERLAY}']\n"
            "try:\n    runpy.run_module('renderer', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = {'click', 'jsonschema', 'jsonpatch', 'boto3', 'azure', 'google', 'ruamel', 'renderer.facts',\n"
            "         'renderer.stores', 'renderer.verify', 'typing'} & set(sys.modules)\n"  # typing: 3 ms
            "sys.stderr.write(repr(sorted(heavy)))\n")
    result = subprocess.run([sys.executable, "-c", code], input=INPUT, capture_output=True, cwd=REPO)
    assert result.stderr.decode().endswith("[]"), result.stderr.decode()


def test_failing_render_records_its_error_without_importing_tempfile(tmp_path):
    """Helm retries a failing release: the last-error write must not cost an import of
    tempfile (and, through it, random, shutil, bz2 and lzma) on each try."""
    last_error = tmp_path / "state" / "last-error"
    code = ("import sys, runpy\nsys.argv = ['cnpg-render', '--overlay=missing.yaml']\n"
            "try:\n    runpy.run_module('renderer', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(repr('tempfile' in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], input=INPUT, capture_output=True, cwd=REPO,
                            env={**os.environ, "CNPG_RENDER_LAST_ERROR": str(last_error)})
    assert result.stderr.decode().endswith("False"), result.stderr.decode()
    assert "missing.yaml" in last_error.read_text()
    assert stat.S_IMODE(last_error.stat().st_mode) == 0o600
    assert [p.name for p in last_error.parent.iterdir()] == ["last-error"]  # no temporary file left
