"""kustomize: the legacy exec plugin under real `kubectl kustomize` (1.30 and 1.35),
and the KRM function mode with ResourceLists shaped as kustomize and kpt build them."""

from __future__ import annotations

import copy
import os

import pytest
import yaml
from e2e_helpers import (
    CHART,
    KUSTOMIZE_PLUGIN_HOME,
    OVERLAYS,
    REPO,
    TOOLS,
    doc_block,
    find,
    load_docs,
    make_sandbox,
    raw_doc,
)

pytestmark = pytest.mark.e2e

PLAIN = OVERLAYS / "kustomize" / "plain"
RESOURCE_LIST = OVERLAYS / "krm" / "resource-list.yaml"


@pytest.fixture(params=[3, 4], ids=["kubectl-1.30", "kubectl-1.35"])
def kbox(request, tmp_path):
    """kubectl of that major's layer; `helm` on PATH is Helm 3 in both, since kustomize's
    helmCharts calls `helm version -c`, which Helm 4 removed."""
    box = make_sandbox(tmp_path, request.param)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kubectl").symlink_to(box.kubectl)
    (bindir / "helm").symlink_to(TOOLS / "helm3" / "helm")
    box.env["PATH"] = os.pathsep.join([str(box.env["PATH"].split(os.pathsep)[0]), str(bindir), "/usr/bin", "/bin"])
    return box


def assert_injected(docs, cluster_name, release):
    cluster = find(docs, "Cluster", cluster_name)
    assert cluster["spec"]["backup"]["barmanObjectStore"]["destinationPath"] == f"s3://my-bucket/demo/{release}/cnpg"
    find(docs, "Secret", f"{cluster_name}-provider-backup-s3-creds")
    scheduled = find(docs, "ScheduledBackup", f"{cluster_name}-sched-backup-daily-backup")
    assert scheduled["spec"]["cluster"]["name"] == cluster_name


def test_legacy_plugin_with_kubectl_kustomize(kbox):
    out = kbox.bash(doc_block("kustomize-plugin")).stdout
    docs = load_docs(out)
    assert_injected(docs, "shop-cnpg-main", "shop")
    assert find(docs, "ScheduledBackup", "shop-cnpg-main-sched-backup-daily-backup")["metadata"]["namespace"] == "shop"
    assert find(docs, "ConfigMap", "shop-settings")["data"] == {"greeting": "hello"}


def test_legacy_plugin_after_helm_charts_sees_hooks_and_crds(kbox):
    out = kbox.bash(doc_block("kustomize-helm")).stdout
    docs = load_docs(out)
    assert_injected(docs, "demo-cnpg-main", "demo")
    find(docs, "Job", "demo-migrate")
    assert "- =\n" in raw_doc(out, "CustomResourceDefinition", "widgets.example.com")


def test_legacy_plugin_error_fails_the_build_with_our_line(kbox, tmp_path):
    work = tmp_path / "kust"
    work.mkdir()
    (work / "manifests.yaml").write_text((PLAIN / "manifests.yaml").read_text())
    config = yaml.safe_load((PLAIN / "cnpg-backup.yaml").read_text())
    config["cnpg"]["main"]["mode"] = "sideways"
    (work / "cnpg-backup.yaml").write_text(yaml.safe_dump(config))
    (work / "kustomization.yaml").write_text("resources: [manifests.yaml]\ntransformers: [cnpg-backup.yaml]\n")
    proc = kbox.run(["kubectl", "kustomize", "--enable-alpha-plugins", work], check=False,
                    env={"KUSTOMIZE_PLUGIN_HOME": str(KUSTOMIZE_PLUGIN_HOME)})
    assert proc.returncode != 0 and proc.stdout == ""
    # kustomize hands the plugin a sorted copy; the error names the user's file and line
    line = next(n for n, text in enumerate((work / "cnpg-backup.yaml").read_text().splitlines(), 1)
                if "sideways" in text)
    assert f"cnpg-render: error: {work / 'cnpg-backup.yaml'}:{line}: cnpg.main.mode" in proc.stderr


def test_kubectl_kustomize_silently_skips_exec_functions(kbox, tmp_path):
    """Why the docs steer kubectl users to the legacy plugin: an exec KRM function is
    never run by `kubectl kustomize` (no --enable-exec), and the build still exits 0."""
    work = tmp_path / "kust"
    work.mkdir()
    marker = tmp_path / "ran"
    script = work / "cnpg-render-krm"
    script.write_text(f"#!/bin/sh\ntouch {marker}\nexec cnpg-render krm\n")
    script.chmod(0o755)
    (work / "manifests.yaml").write_text((PLAIN / "manifests.yaml").read_text())
    config = yaml.safe_load((PLAIN / "cnpg-backup.yaml").read_text())
    config["metadata"]["annotations"] = {"config.kubernetes.io/function": "exec:\n  path: ./cnpg-render-krm\n"}
    (work / "fn.yaml").write_text(yaml.safe_dump(config))
    (work / "kustomization.yaml").write_text("resources: [manifests.yaml]\ntransformers: [fn.yaml]\n")
    proc = kbox.run(["kubectl", "kustomize", "--enable-alpha-plugins", work])
    kinds = sorted(d["kind"] for d in load_docs(proc.stdout))
    assert kinds == ["Cluster", "ConfigMap"] and not marker.exists()
    assert "backup" not in find(load_docs(proc.stdout), "Cluster", "shop-cnpg-main")["spec"]


def test_helm_charts_with_helm4_fails_in_kustomize(tmp_path):
    """Documented limitation: kustomize 5.7.1 runs `helm version -c`, unknown to Helm 4."""
    box = make_sandbox(tmp_path, 4)
    proc = box.run([box.kubectl, "kustomize", "--enable-alpha-plugins", "--enable-helm", "--helm-command",
                    box.helm, CHART.parent], check=False, env={"KUSTOMIZE_PLUGIN_HOME": str(KUSTOMIZE_PLUGIN_HOME)})
    assert proc.returncode != 0 and "version -c" in proc.stderr


# --- KRM function mode ------------------------------------------------------------


def krm(box, resource_list: str, check=True):
    return box.run(["cnpg-render", "krm"], stdin=resource_list, check=check)


def kpt_resource_list() -> str:
    """The fixture reshaped as `kpt fn eval --exec` / `kpt fn source` build it: file
    path and index annotations instead of kustomize ids."""
    rl = yaml.safe_load(RESOURCE_LIST.read_text())
    for index, item in enumerate(rl["items"]):
        item["metadata"]["annotations"] = {
            "config.kubernetes.io/index": str(index), "config.kubernetes.io/path": "app.yaml",
            "internal.config.kubernetes.io/index": str(index), "internal.config.kubernetes.io/path": "app.yaml",
            "internal.config.kubernetes.io/annotations-migration-resource-id": str(index),
        }
    del rl["functionConfig"]["metadata"]["annotations"]["config.kubernetes.io/function"]
    return "# kpt\n" + yaml.safe_dump(rl, sort_keys=False)


def test_documented_krm_keeps_comments_and_kustomize_ids(tmp_path):
    box = make_sandbox(tmp_path, 4)
    out = box.bash(doc_block("krm")).stdout
    rl = yaml.safe_load(out)
    assert rl["kind"] == "ResourceList" and "results" not in rl
    items = rl["items"]
    assert [i["kind"] for i in items] == ["ConfigMap", "Secret", "Cluster", "ScheduledBackup"]
    assert_injected(items, "shop-cnpg-main", "shop")
    assert "greeting: hello   # untouched by cnpg-render: this comment survives" in out
    cluster = find(items, "Cluster", "shop-cnpg-main")["metadata"]["annotations"]
    original = find(yaml.safe_load(RESOURCE_LIST.read_text())["items"], "Cluster", "shop-cnpg-main")
    for key, value in original["metadata"]["annotations"].items():
        assert cluster[key] == value, f"{key} must survive: kustomize maps results back by it"
    for added in items[1], items[3]:
        assert not any(k.endswith("/id") for k in added["metadata"].get("annotations", {})), "new objects get no ids"


def test_krm_kpt_shape_files_added_objects_with_their_cluster(tmp_path):
    box = make_sandbox(tmp_path, 4)
    rl = yaml.safe_load(krm(box, kpt_resource_list()).stdout)
    secret = find(rl["items"], "Secret", "shop-cnpg-main-provider-backup-s3-creds")["metadata"]["annotations"]
    assert secret["internal.config.kubernetes.io/path"] == "app.yaml"
    assert "internal.config.kubernetes.io/index" not in secret
    cm = find(rl["items"], "ConfigMap", "shop-settings")["metadata"]["annotations"]
    assert cm["internal.config.kubernetes.io/index"] == "0"


def test_krm_notice_becomes_warning_result(tmp_path):
    box = make_sandbox(tmp_path, 4)
    rl = yaml.safe_load(RESOURCE_LIST.read_text())
    find(rl["items"], "Cluster", "shop-cnpg-main")["spec"]["backup"] = {"retentionPolicy": "7d"}
    proc = krm(box, yaml.safe_dump(rl))
    results = yaml.safe_load(proc.stdout)["results"]
    assert results and all(r["severity"] == "warning" for r in results)
    assert results[0]["resourceRef"] == {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                                         "name": "shop-cnpg-main", "namespace": "shop"}
    assert "cnpg-render: warning:" in proc.stderr


def test_krm_error_is_a_result_and_a_failure(tmp_path):
    box = make_sandbox(tmp_path, 4)
    rl = yaml.safe_load(RESOURCE_LIST.read_text())
    before = copy.deepcopy(rl["items"])
    rl["functionConfig"]["cnpg"]["main"]["mode"] = "sideways"
    proc = krm(box, yaml.safe_dump(rl), check=False)
    assert proc.returncode == 1
    out = yaml.safe_load(proc.stdout)
    assert [r["severity"] for r in out["results"]] == ["error"]
    assert "mode" in out["results"][0]["message"] and out["items"] == before
    assert proc.stderr.count("cnpg-render: error:") == 1


def test_krm_rejects_what_is_not_a_resource_list(tmp_path):
    box = make_sandbox(tmp_path, 4)
    proc = krm(box, (REPO / "fixtures/integrations/kustomize/plain/manifests.yaml").read_text(), check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("cnpg-render: error:") and "ResourceList" in proc.stderr
