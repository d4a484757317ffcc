"""The ArgoCD CMP: generate run exactly as argocd-cmp-server runs it, with real helm.

The CMP server execs `spec.generate.command + args` from plugin.yaml (no shell),
in the Application's source directory, with the build env and the parameters.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap

import pytest
import yaml
from e2e_helpers import (  # noqa: F401 - fixtures
    CHART,
    DOCS,
    OVERLAYS,
    REPO,
    chart_repository,
    depend_on_sub,
    doc_block,
    find,
    helm3,
    helm4,
    load_docs,
    make_sandbox,
    raw_doc,
)

from renderer import __version__, argocd

pytestmark = pytest.mark.e2e

PLUGIN = yaml.safe_load((REPO / "deploy" / "argocd" / "plugin.yaml").read_text())
CLUSTER = "shop-cnpg-main"


@pytest.fixture(params=[3, 4], ids=["helm3", "helm4"])
def sidecar(request, tmp_path):
    """A checked-out repo like the sidecar's /tmp/<id>: apps/shop holds the chart + overlay."""
    box = make_sandbox(tmp_path, request.param)
    repo = tmp_path / "repo"
    app = repo / "apps" / "shop"
    shutil.copytree(CHART, app)
    shutil.copy(OVERLAYS / "overlay.yaml", app / "cnpg-overlay.yaml")
    (repo / "overlays").mkdir()
    shutil.copy(OVERLAYS / "overlay-recovery.yaml", repo / "overlays" / "recovery.yaml")
    (app / "values-prod.yaml").write_text("database:\n  instances: 3\n")
    box.app = app
    return box


def cmp_env(box, **extra) -> dict[str, str]:
    """The variables argocd-repo-server adds for a CMP generate."""
    env = {
        "ARGOCD_APP_NAME": "shop",
        "ARGOCD_APP_NAMESPACE": "shop-prod",
        "ARGOCD_APP_PROJECT_NAME": "default",
        "ARGOCD_APP_SOURCE_PATH": "apps/shop",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://git.example.com/platform.git",
        "ARGOCD_APP_REVISION": "0123456789abcdef0123456789abcdef01234567",
        "KUBE_VERSION": "1.31.4",
        "KUBE_API_VERSIONS": "v1,apps/v1,batch/v1,postgresql.cnpg.io/v1,monitoring.coreos.com/v1",
    }
    return {**env, **extra}


def cmp_step(box, step: str, check=True, **extra):
    """Run a step as the CMP server does: argv from plugin.yaml, cwd = app dir."""
    argv = PLUGIN["spec"][step]["command"] + PLUGIN["spec"][step].get("args", [])
    return box.run(argv, cwd=box.app, env=cmp_env(box, **extra), check=check)


def generate(box, check=True, **extra):
    return cmp_step(box, "generate", check, **extra)




def test_generate_defaults_mirror_native_helm_and_inject_backups(sidecar):
    out = generate(sidecar).stdout
    docs = load_docs(out)
    store = find(docs, "Cluster", CLUSTER)["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == "s3://my-bucket/demo/shop/cnpg"
    find(docs, "ScheduledBackup", f"{CLUSTER}-sched-backup-daily-backup")
    find(docs, "Secret", f"{CLUSTER}-provider-backup-s3-creds")
    assert "- =\n" in raw_doc(out, "CustomResourceDefinition", "widgets.example.com"), "--include-crds"
    find(docs, "Job", "shop-migrate")  # hooks reach ArgoCD (it maps them to sync hooks)
    deploy = find(docs, "Deployment", "shop-app")["metadata"]["annotations"]
    assert deploy["demo.example.com/kube-version"] == "v1.31.4"
    assert deploy["demo.example.com/has-monitoring-api"] == "true"


def test_generate_reads_parameters_json(sidecar):
    params = [{"name": "overlay", "string": "../../overlays/recovery.yaml"},
              {"name": "values-files", "array": ["values-prod.yaml"]}]
    docs = load_docs(generate(sidecar, ARGOCD_APP_PARAMETERS=json.dumps(params)).stdout)
    cluster = find(docs, "Cluster", CLUSTER)
    assert cluster["spec"]["instances"] == 3
    assert "recovery" in cluster["spec"]["bootstrap"]


def test_generate_reads_plugin_env_and_parameters_win(sidecar):
    env = {"ARGOCD_ENV_CNPG_OVERLAY": "../../overlays/recovery.yaml",
           "ARGOCD_ENV_CNPG_VALUES_FILES": "values-prod.yaml"}
    cluster = find(load_docs(generate(sidecar, **env).stdout), "Cluster", CLUSTER)
    assert cluster["spec"]["instances"] == 3 and "recovery" in cluster["spec"]["bootstrap"]
    params = json.dumps([{"name": "overlay", "string": "cnpg-overlay.yaml"}])
    cluster = find(load_docs(generate(sidecar, ARGOCD_APP_PARAMETERS=params, **env).stdout), "Cluster", CLUSTER)
    assert "initdb" in cluster["spec"]["bootstrap"]


def test_bad_overlay_fails_with_cause_and_no_output(sidecar):
    shutil.copy(OVERLAYS / "overlay-bad.yaml", sidecar.app / "cnpg-overlay.yaml")
    proc = generate(sidecar, check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "cnpg-render: error:" in proc.stderr and "cnpg-overlay.yaml" in proc.stderr


def test_failing_helm_template_is_an_error_not_empty_success(sidecar):
    (sidecar.app / "templates" / "broken.yaml").write_text("{{ fail \"the chart refuses\" }}\n")
    proc = generate(sidecar, check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("cnpg-render: error: argocd: helm template failed")
    assert "the chart refuses" in proc.stderr


def test_missing_values_file_is_refused_before_helm_runs(sidecar):
    params = json.dumps([{"name": "values-files", "array": ["missing.yaml"]}])
    proc = generate(sidecar, check=False, ARGOCD_APP_PARAMETERS=params)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "values file 'missing.yaml' is not found" in proc.stderr


def test_values_url_is_refused_not_fetched(sidecar):
    """helm would fetch it from the sidecar (server-side request forgery)."""
    params = json.dumps([{"name": "values-files", "array": ["http://169.254.169.254/latest/meta-data/"]}])
    proc = generate(sidecar, check=False, ARGOCD_APP_PARAMETERS=params)
    assert proc.returncode != 0 and proc.stdout == "" and "is a URL (http://…)" in proc.stderr


def test_chart_rendering_nothing_is_an_error(sidecar):
    shutil.rmtree(sidecar.app / "templates")
    shutil.rmtree(sidecar.app / "crds")
    proc = generate(sidecar, check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert "printed nothing" in proc.stderr


def test_paths_outside_the_repository_are_refused(sidecar):
    params = json.dumps([{"name": "overlay", "string": "../../../outside.yaml"}])
    proc = generate(sidecar, check=False, ARGOCD_APP_PARAMETERS=params)
    assert proc.returncode != 0 and "outside the repository" in proc.stderr


def test_documented_local_generate(tmp_path):
    box = make_sandbox(tmp_path, 4)
    docs = load_docs(box.bash(doc_block("argocd-generate-locally")).stdout)
    assert find(docs, "Cluster", "demo-cnpg-main")["spec"]["backup"]["barmanObjectStore"]


def test_init_builds_the_dependencies_chart_lock_names(sidecar, chart_repository):
    depend_on_sub(sidecar, sidecar.app, chart_repository)
    cmp_step(sidecar, "init")
    assert (sidecar.app / "charts" / "sub-0.1.0.tgz").is_file()
    docs = load_docs(generate(sidecar).stdout)
    assert find(docs, "ConfigMap", "shop-sub")["data"] == {"from": "a chart dependency"}
    assert find(docs, "Cluster", CLUSTER)["spec"]["backup"]


def test_init_leaves_vendored_dependencies_alone(sidecar, chart_repository, tmp_path):
    depend_on_sub(sidecar, sidecar.app, chart_repository)
    cmp_step(sidecar, "init")
    lock = (sidecar.app / "Chart.lock").read_text()
    (sidecar.app / "Chart.lock").write_text(lock.replace(chart_repository, "http://127.0.0.1:9"))  # nothing listens
    assert cmp_step(sidecar, "init").returncode == 0


def test_init_without_chart_lock_does_nothing(sidecar):
    assert cmp_step(sidecar, "init").stdout == "" and not (sidecar.app / "charts").exists()


def test_init_refuses_a_repository_alias(sidecar):
    (sidecar.app / "Chart.lock").write_text("dependencies:\n- name: sub\n  repository: '@stable'\n  version: 0.1.0\n")
    proc = cmp_step(sidecar, "init", check=False)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("cnpg-render: error: argocd: Chart.lock: sub comes from the repository alias @stable")


def test_plugin_steps_exec_cnpg_render_without_a_shell():
    """Nothing the Application sets (parameters, env) can reach a shell."""
    steps = {step: PLUGIN["spec"][step]["command"] + PLUGIN["spec"][step].get("args", [])
             for step in ("init", "generate")}
    assert steps == {"init": ["cnpg-render", "argocd-init"], "generate": ["cnpg-render", "argocd-generate"]}


def test_announced_defaults_are_the_applied_defaults():
    announced = {}
    for p in PLUGIN["spec"]["parameters"]["static"]:
        announced[p["name"]] = p.get("array", []) if p.get("collectionType") == "array" else p.get("string", "")
    assert announced == argocd.DEFAULTS
    assert PLUGIN["spec"]["discover"]["fileName"].removeprefix("./") == argocd.DEFAULTS["overlay"]


def documented_install_kustomization() -> dict:
    """The `argocd-install/kustomization.yaml` docs/integrations.md shows."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    return yaml.safe_load(textwrap.dedent(next(b for b in blocks if "components:" in b)))


def test_documented_sidecar_install_renders_with_real_kustomize(tmp_path):
    """The kustomize Component adds a hardened sidecar running the image, renamed by `images:`."""
    box = make_sandbox(tmp_path, 4)
    install = tmp_path / "argocd-install"
    install.mkdir()
    (install / "repo-server.yaml").write_text(REPO_SERVER)
    component = subprocess.run(["realpath", "--relative-to", install, REPO / "deploy" / "argocd"],
                               capture_output=True, text=True, check=True).stdout.strip()
    kustomization = {**documented_install_kustomization(), "resources": ["repo-server.yaml"], "components": [component]}
    (install / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    out = box.bash(doc_block("argocd-sidecar-render"), cwd=tmp_path).stdout
    docs = load_docs(out)
    pod = find(docs, "Deployment", "argocd-repo-server")["spec"]["template"]["spec"]
    side = next(c for c in pod["containers"] if c["name"] == "cnpg-render")
    assert side["image"] == f"registry.example.com/platform/cnpg-render-cmp:{__version__}"
    assert side["securityContext"]["runAsUser"] == 999 and side["securityContext"]["runAsNonRoot"]
    mounts = {m["mountPath"]: m for m in side["volumeMounts"]}
    assert set(mounts) == {"/var/run/argocd", "/home/argocd/cmp-server/plugins", "/tmp"}, "plugin.yaml is the image's"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]], "the sidecar needs its own /tmp"
    assert mounts["/tmp"]["name"] not in {"tmp"}, "must not share the repo-server's /tmp volume"


REPO_SERVER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: argocd-repo-server}
  template:
    metadata:
      labels: {app.kubernetes.io/name: argocd-repo-server}
    spec:
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v3.1.0
          volumeMounts: [{name: tmp, mountPath: /tmp}]
      volumes:
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
        - {name: tmp, emptyDir: {}}
"""
