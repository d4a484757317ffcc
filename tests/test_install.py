"""cnpg-render as a user installs it: the wheel and sdist `python -m build` makes, installed
into a fresh venv outside the checkout, run as `cnpg-render` and as Helm 3's post-renderer;
the README's install command against a release page served on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from e2e_helpers import (
    CHART,
    OVERLAYS,
    RELEASE_PAGE,
    REPO,
    TOOLS,
    VENV_BIN,
    doc_block,
    load_docs,
    run_make,
    serve_directory,
)

from renderer import __version__

pytestmark = pytest.mark.e2e

README = REPO / "README.md"
WHEEL = f"cnpg_render-{__version__}-py3-none-any.whl"
OVERLAY = REPO / "fixtures" / "overlays" / "backups.yaml"
MANIFESTS = REPO / "fixtures" / "inputs" / "cluster-main.yaml"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """What a release publishes: `python -m build` of this checkout's sources (copied, so
    the build's scratch directories stay out of the checkout other tests read)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source)
    shutil.copytree(REPO / "renderer", source / "renderer", ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", out, source], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def pipx_home(dist, tmp_path_factory) -> Path:
    """Where the README's install command (pipx, from the release page, served from this
    build) put cnpg-render: a fresh venv holding only the wheel and its dependencies."""
    home = tmp_path_factory.mktemp("user")
    script = doc_block("install-release", README)
    assert RELEASE_PAGE + "/" + WHEEL in script
    (home / "bin").mkdir()
    (home / "bin" / "pipx").symlink_to(VENV_BIN / "pipx")
    env = {**os.environ, "PATH": f"{home / 'pipx-bin'}:{home / 'bin'}:/usr/bin:/bin", "HOME": str(home),
           "PIPX_HOME": str(home / "pipx"), "PIPX_BIN_DIR": str(home / "pipx-bin"), "PIPX_MAN_DIR": str(home / "man")}
    with serve_directory(dist) as url:
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace(RELEASE_PAGE, url)],
                              capture_output=True, text=True, cwd=home, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (home / "install.out").write_text(proc.stdout)
    return home


@pytest.fixture(scope="module")
def installed(pipx_home) -> Path:
    """The bin directory of the venv pipx made."""
    return pipx_home / "pipx" / "venvs" / "cnpg-render" / "bin"


def run_installed(bindir: Path, argv, cwd: Path, stdin: bytes = b"", tools: Path | None = None):
    """Run with only the installed venv (and `tools`) and the OS on PATH, away from the checkout."""
    path = [bindir, *([tools] if tools else []), "/usr/bin", "/bin"]
    env = {"PATH": os.pathsep.join(map(str, path)), "HOME": str(cwd), "LANG": "C.UTF-8",
           "CNPG_RENDER_LAST_ERROR": str(cwd / "last-error")}
    return subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, env=env, timeout=120)


def test_build_makes_a_wheel_and_an_sdist(dist):
    assert sorted(p.name for p in dist.iterdir()) == sorted([f"cnpg_render-{__version__}.tar.gz", WHEEL])
    with zipfile.ZipFile(dist / WHEEL) as wheel:
        names = wheel.namelist()
        entry_points = wheel.read(f"cnpg_render-{__version__}.dist-info/entry_points.txt").decode()
    assert "renderer/entry.py" in names and not [n for n in names if n.startswith(("tests/", "fixtures/"))]
    assert "cnpg-render = renderer.entry:main" in entry_points


def test_wheel_requires_only_what_a_render_needs(dist):
    with zipfile.ZipFile(dist / WHEEL) as wheel:
        metadata = Parser().parsestr(wheel.read(f"cnpg_render-{__version__}.dist-info/METADATA").decode())
    requires = metadata.get_all("Requires-Dist")
    always = sorted(r.split(">=")[0] for r in requires if ";" not in r)
    assert always == ["PyYAML", "click", "jsonpatch"]
    assert {"store", "edit", "validate", "all"} <= set(metadata.get_all("Provides-Extra"))


def test_installed_wheel_runs_outside_the_checkout(installed, tmp_path):
    version = run_installed(installed, ["cnpg-render", "--version"], tmp_path)
    assert version.stdout.decode() == f"cnpg-render, version {__version__}\n"
    where = run_installed(installed, ["python", "-c", "import renderer; print(renderer.__file__)"], tmp_path)
    assert where.stdout.decode().startswith(str(installed.parent)), "the checkout must not be on the path"


def test_installed_wheel_renders_what_the_checkout_renders(installed, tmp_path):
    argv = ["render", "--overlay", str(OVERLAY), "--release", "demo", str(MANIFESTS)]
    ours = run_installed(installed, ["cnpg-render", *argv], tmp_path)
    checkout = subprocess.run([sys.executable, "-m", "renderer", *argv], capture_output=True, cwd=REPO)
    assert ours.returncode == 0 and ours.stdout == checkout.stdout
    assert b"barmanObjectStore" in ours.stdout


@pytest.mark.parametrize("argv,extra", [
    (["bump", "main", "-f", str(OVERLAY)], "edit"),
    (["validate", "--crds", str(REPO.parent / "shared" / "crds"), str(MANIFESTS)], "validate"),
    (["render", "--check-store", "-f", str(OVERLAY), str(MANIFESTS)], "store"),
    (["krm"], "edit"),
], ids=["bump", "validate", "check-store", "krm"])
def test_a_command_missing_its_extra_says_which_to_install(installed, tmp_path, argv, extra):
    shutil.copy(OVERLAY, tmp_path / "overlay.yaml")
    argv = [str(tmp_path / "overlay.yaml") if a == str(OVERLAY) else a for a in argv]
    proc = run_installed(installed, ["cnpg-render", *argv], tmp_path, stdin=b"kind: ResourceList\nitems: []\n")
    lines = proc.stderr.decode().splitlines()
    assert proc.returncode == 1 and proc.stdout == b""
    assert lines[-1].startswith("cnpg-render: error: ") and f"pip install 'cnpg-render[{extra}]'" in lines[-1]


def test_readme_helm3_commands_run_the_installed_post_renderer(installed, tmp_path):
    shutil.copytree(CHART, tmp_path / "chart")
    shutil.copy(OVERLAYS / "overlay.yaml", tmp_path / "overlay.yaml")
    script = doc_block("readme-helm3", README)
    proc = run_installed(installed, ["bash", "-euo", "pipefail", "-c", script], tmp_path, tools=TOOLS / "helm3")
    assert proc.returncode == 0, proc.stderr.decode()
    docs = load_docs(proc.stdout.decode())
    clusters = [d for d in docs if d["kind"] == "Cluster"]
    assert len(clusters) == 2, "one Cluster per command"
    assert {c["spec"]["backup"]["barmanObjectStore"]["destinationPath"] for c in clusters} == {"s3://my-bucket/demo/shop/cnpg"}
    assert [d["kind"] for d in docs[-3:]] == ["Secret", "Cluster", "ScheduledBackup"], "-s keeps the added objects"


def test_readme_install_from_a_release_page_puts_cnpg_render_on_path(pipx_home):
    assert (pipx_home / "install.out").read_text().endswith(f"cnpg-render, version {__version__}\n")
    assert (pipx_home / "pipx-bin" / "cnpg-render").resolve().is_relative_to(pipx_home / "pipx")


def test_make_demo_installs_only_the_runtime_and_prints_only_yaml(tmp_path):
    venv = tmp_path / "venv"
    proc = run_make("demo", f"VENV={venv}", timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    rendered = subprocess.run([sys.executable, "-m", "renderer", "render", "--overlay", "example/overlay.yaml",
                               "--release", "demo", "example/manifests.yaml"], capture_output=True, cwd=REPO)
    assert proc.stdout == rendered.stdout and load_docs(proc.stdout.decode())
    have = subprocess.run([venv / "bin" / "python", "-m", "pip", "list", "--format=freeze"],
                          capture_output=True, text=True).stdout.lower()
    assert not [name for name in ("pytest", "moto", "boto3", "ruamel", "jsonschema") if name in have], have
