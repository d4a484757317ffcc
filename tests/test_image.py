"""The ArgoCD CMP sidecar image, built for real by `make image` (buildah, chroot isolation,
vfs storage, stand-ins for the two base images under the names the Containerfile pulls)
and run as ArgoCD runs it: plugin.yaml's init and generate, exec'd as uid 999 in an app's
checkout under /tmp, on a chart whose dependency comes from a chart repository."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid

import pytest
import yaml
from e2e_helpers import (  # noqa: F401 - fixture
    CHART,
    OVERLAYS,
    REPO,
    TOOLS,
    chart_repository,
    depend_on_sub,
    find,
    load_docs,
    make_sandbox,
    run_make,
)

from renderer import __version__

pytestmark = pytest.mark.e2e

DEPLOY = REPO / "deploy" / "argocd"
PLUGIN = yaml.safe_load((DEPLOY / "plugin.yaml").read_text())
PINS = dict(re.findall(r"^ARG (\w+)=(\S+)$", (DEPLOY / "Containerfile").read_text(), re.M))
STORE = TOOLS / "containers"


def buildah(*args, check: bool = True) -> subprocess.CompletedProcess:
    """buildah on the image store `make image` uses."""
    proc = subprocess.run(["buildah", "--root", STORE / "storage", "--runroot", STORE / "run",
                           "--storage-driver", "vfs", *map(str, args)], capture_output=True, text=True, timeout=600)
    assert not check or proc.returncode == 0, proc.stderr
    return proc


def why_buildah_cannot_run(probe) -> str | None:
    if shutil.which("buildah") is None:
        return "buildah is not installed (make debs installs it)"
    proc = subprocess.run(["buildah", "--root", probe, "--runroot", probe / "run", "--storage-driver", "vfs",
                           "from", "scratch"], capture_output=True, text=True, timeout=120)
    return None if proc.returncode == 0 else proc.stderr.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    reason = why_buildah_cannot_run(tmp_path_factory.mktemp("probe"))
    if reason:
        pytest.skip(f"buildah cannot run here: {reason}")
    started = time.monotonic()
    proc = run_make("image")
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    print(f"make image took {time.monotonic() - started:.0f} s")
    return proc.stdout.decode().strip().splitlines()[-1]


@pytest.fixture(scope="module")
def container(image):
    """One working container of the image (vfs copies the whole image for each)."""
    name = buildah("from", "--pull=never", image).stdout.strip()
    yield name
    buildah("rm", name)


def run_in(container: str, *argv: str, user: str | None = "999:999", workdir: str | None = None,
           env: dict | None = None) -> subprocess.CompletedProcess:
    """Exec argv in the container (no shell), as ArgoCD's pod spec runs the sidecar."""
    options = [*(["--user", user] if user else []), *(["--workingdir", workdir] if workdir else [])]
    options += [f"--env={key}={value}" for key, value in (env or {}).items()]
    return buildah("run", "--isolation", "chroot", *options, container, "--", *argv, check=False)


def test_make_image_tags_what_the_repo_server_patch_runs(image):
    patch = yaml.safe_load((DEPLOY / "repo-server-patch.yaml").read_text())
    sidecar = patch["spec"]["template"]["spec"]["containers"][0]
    assert image == f"localhost/{sidecar['image']}" == f"localhost/cnpg-render-cmp:{__version__}"
    assert PINS["CNPG_RENDER_VERSION"] == __version__


def test_the_image_runs_as_uid_999(image, container):
    image_user = buildah("inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}}", image).stdout.strip()
    assert image_user == "999:999"
    assert run_in(container, "id", "-u", user=None).stdout == "999\n"


def test_plugin_yaml_is_at_the_cmp_servers_config_path(container):
    shown = run_in(container, "cat", "/home/argocd/cmp-server/config/plugin.yaml")
    assert shown.stdout == (DEPLOY / "plugin.yaml").read_text()


def test_the_image_holds_the_pinned_helm_and_cnpg_render(container):
    assert run_in(container, "helm", "version", "--template", "{{.Version}}").stdout == f"v{PINS['HELM_VERSION']}"
    assert run_in(container, "cnpg-render", "--version").stdout == f"cnpg-render, version {__version__}\n"


def test_cmp_init_and_generate_run_in_the_image(container, chart_repository, tmp_path):
    app = tmp_path / "checkout" / "apps" / "shop"
    shutil.copytree(CHART, app)
    shutil.copy(OVERLAYS / "overlay.yaml", app / "cnpg-overlay.yaml")
    depend_on_sub(make_sandbox(tmp_path, 3), app, chart_repository)
    checkout = f"/tmp/{uuid.uuid4()}"  # where argocd-cmp-server unpacks an app's repository
    buildah("copy", "--chown", "999:999", container, tmp_path / "checkout", checkout)
    env = {"ARGOCD_APP_NAME": "shop", "ARGOCD_APP_NAMESPACE": "shop-prod", "ARGOCD_APP_SOURCE_PATH": "apps/shop",
           "KUBE_VERSION": "1.31.4", "KUBE_API_VERSIONS": "v1,apps/v1,batch/v1,postgresql.cnpg.io/v1"}
    for step in ("init", "generate"):
        argv = PLUGIN["spec"][step]["command"] + PLUGIN["spec"][step].get("args", [])
        proc = run_in(container, *argv, workdir=f"{checkout}/apps/shop", env=env)
        assert proc.returncode == 0, f"{step}: {proc.stderr}"
    docs = load_docs(proc.stdout)
    store = find(docs, "Cluster", "shop-cnpg-main")["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == "s3://my-bucket/demo/shop/cnpg"
    assert find(docs, "ConfigMap", "shop-sub")["data"] == {"from": "a chart dependency"}, "init built the dependency"
    find(docs, "ScheduledBackup", "shop-cnpg-main-sched-backup-daily-backup")
    find(docs, "CustomResourceDefinition", "widgets.example.com")
    owner = run_in(container, "stat", "--format", "%u", f"{checkout}/apps/shop/charts/sub-0.1.0.tgz").stdout
    assert owner == "999\n"
