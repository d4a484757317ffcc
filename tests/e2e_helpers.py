"""Shared plumbing for the e2e tests that drive the real helm/kubectl binaries.

Every test gets its own HOME, XDG and HELM_* directories (Helm 3 and Helm 4 kept
apart: a Helm 4 plugin in Helm 3's plugin dir breaks Helm 3), and a PATH with
exactly one helm/kubectl pair and the venv's cnpg-render on it. The binaries
come from `make tools` (.tools/); a missing one is a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from renderer import __version__

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
TOOLS = REPO / ".tools"
CHART = REPO / "fixtures" / "charts" / "demo"
OVERLAYS = REPO / "fixtures" / "integrations"
DOCS = REPO / "docs" / "integrations.md"
VENV_BIN = Path(sys.executable).parent
CNPG_RENDER = VENV_BIN / "cnpg-render"
HELM4_PLUGIN = REPO / "plugins" / "helm4" / "cnpg-render"
KUSTOMIZE_PLUGIN_HOME = REPO / "plugins" / "kustomize"
# Where the docs install releases from; tests serve a release they built there instead.
RELEASE_PAGE = f"https://github.com/<you>/cnpg-render/releases/download/v{__version__}"


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads a bare `=` as a string, as Go YAML does (CRD enums)."""


_TolerantLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def load_docs(text: str) -> list[dict]:
    """All non-empty documents of a stream, for assertions."""
    return [doc for doc in yaml.load_all(text, Loader=_TolerantLoader) if doc]


def split_raw(text: str) -> list[str]:
    """The stream's documents as raw text (separators removed), to compare bytes."""
    parts = re.split(r"^---[ \t]*\n", text, flags=re.MULTILINE)
    return [part for part in parts if part.strip()]


def find(docs: list[dict], kind: str, name: str) -> dict:
    """The one document of that kind and name; fails the test when absent."""
    hits = [d for d in docs if d.get("kind") == kind and d.get("metadata", {}).get("name") == name]
    assert len(hits) == 1, f"expected one {kind}/{name}, got {len(hits)} in {[d.get('kind') for d in docs]}"
    return hits[0]


def raw_doc(text: str, kind: str, name: str) -> str:
    """The raw text of the one document of that kind and name."""
    hits = [p for p in split_raw(text)
            if re.search(rf"^kind: {kind}$", p, re.M) and re.search(rf"^  name: {name}$", p, re.M)]
    assert len(hits) == 1, f"expected one raw {kind}/{name}, got {len(hits)}"
    return hits[0]


@dataclass
class Sandbox:
    """An isolated environment for one Helm major (or kubectl) and cnpg-render."""

    root: Path
    major: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def helm(self) -> Path:
        return TOOLS / f"helm{self.major}" / "helm"

    @property
    def kubectl(self) -> Path:
        return TOOLS / f"helm{self.major}" / "kubectl"

    @property
    def last_error_file(self) -> Path:
        return Path(self.env["XDG_STATE_HOME"]) / "cnpg-render" / "last-error"

    def run(self, argv, *, stdin: str | None = None, cwd: Path | None = None, env: dict | None = None, check=True):
        """Run argv (no shell) in this sandbox; `check` asserts exit 0 with stderr shown."""
        proc = subprocess.run(
            [str(a) for a in argv], input=stdin, capture_output=True, text=True,
            cwd=cwd or REPO, env={**self.env, **(env or {})}, timeout=120,
        )
        if check:
            assert proc.returncode == 0, f"{argv} exited {proc.returncode}:\n{proc.stderr}"
        return proc

    def bash(self, script: str, *, cwd: Path | None = None, check=True):
        """Run a documented shell snippet exactly as a user would paste it."""
        return self.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, check=check)


def make_sandbox(tmp_path: Path, major: int) -> Sandbox:
    """A fresh HOME/HELM_*/XDG tree; PATH = venv bin, then this major's tools, then the OS."""
    for tool in ("helm", "kubectl"):
        binary = TOOLS / f"helm{major}" / tool
        assert binary.is_file(), f"{binary} missing: run `make tools`"
    root = tmp_path / f"helm{major}"
    dirs = {name: root / name for name in ("home", "data", "config", "cache", "state", "xdgconfig")}
    for d in dirs.values():
        d.mkdir(parents=True)
    env = {
        "HOME": str(dirs["home"]),
        "HELM_DATA_HOME": str(dirs["data"]),
        "HELM_CONFIG_HOME": str(dirs["config"]),
        "HELM_CACHE_HOME": str(dirs["cache"]),
        "XDG_STATE_HOME": str(dirs["state"]),
        "XDG_CONFIG_HOME": str(dirs["xdgconfig"]),
        "PATH": os.pathsep.join([str(VENV_BIN), str(TOOLS / f"helm{major}"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
    }
    return Sandbox(root=root, major=major, env=env)


@pytest.fixture
def helm3(tmp_path) -> Sandbox:
    return make_sandbox(tmp_path, 3)


@pytest.fixture
def helm4(tmp_path) -> Sandbox:
    """Helm 4 sandbox with the repo's postrenderer plugin installed in its own HELM_DATA_HOME."""
    box = make_sandbox(tmp_path, 4)
    box.run([box.helm, "plugin", "install", HELM4_PLUGIN])
    return box


def doc_block(name: str, doc: Path = DOCS) -> str:
    """The shell block in `doc` (docs/integrations.md) tagged `<!-- e2e: name -->`.

    The tests run the documented commands themselves, so the docs cannot drift
    from what works.
    """
    text = doc.read_text(encoding="utf-8")
    match = re.search(rf"<!-- e2e: {re.escape(name)} -->\s*```(?:sh|bash|shell)\n(.*?)```", text, re.S)
    assert match, f"no `<!-- e2e: {name} -->` shell block in {doc}"
    return match.group(1)


def doc_block_names(doc: Path = DOCS) -> list[str]:
    """Every tagged block, so a test can check that each one is exercised."""
    return re.findall(r"<!-- e2e: ([\w.-]+) -->", doc.read_text(encoding="utf-8"))


@contextlib.contextmanager
def serve_directory(directory: Path):
    """`directory` over HTTP on loopback, as a release page serves its assets: the base URL."""
    handler = functools.partial(_QuietFiles, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def chart_repository(tmp_path):
    """fixtures/charts/sub, packaged and indexed, served on loopback: the base URL."""
    repo = tmp_path / "chart-repository"
    box = make_sandbox(tmp_path / "packager", 3)
    box.run([box.helm, "package", REPO / "fixtures" / "charts" / "sub", "--destination", repo])
    box.run([box.helm, "repo", "index", repo])
    with serve_directory(repo) as url:
        yield url


def depend_on_sub(box: Sandbox, chart: Path, url: str) -> None:
    """`chart` depends on `sub` from `url`, locked, and not vendored (no charts/)."""
    with open(chart / "Chart.yaml", "a") as handle:
        handle.write(f"dependencies:\n  - name: sub\n    version: 0.1.0\n    repository: {url}\n")
    box.run([box.helm, "dependency", "update", chart])
    shutil.rmtree(chart / "charts")


def run_make(*args: str, env: dict | None = None, timeout: int = 1200) -> subprocess.CompletedProcess:
    """`make ARGS` in the checkout as a user types it: without the MAKEFLAGS/MAKELEVEL of
    the `make test` running us (a sub-make prints "Entering directory" lines)."""
    clean = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", *args], cwd=REPO, env={**clean, **(env or {})}, capture_output=True,
                          timeout=timeout)
