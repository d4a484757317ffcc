"""cnpg-render behind the real Helm 3 (executable) and Helm 4 (postrenderer/v1 plugin)."""

from __future__ import annotations

import re

import pytest
from e2e_helpers import (  # noqa: F401 - fixtures
    CHART,
    CNPG_RENDER,
    OVERLAYS,
    REPO,
    doc_block,
    find,
    helm3,
    helm4,
    load_docs,
    raw_doc,
    split_raw,
)
from fakeapi import FakeApiServer

pytestmark = pytest.mark.e2e

CLUSTER = "demo-cnpg-main"
SECRET = f"{CLUSTER}-provider-backup-s3-creds"
SCHEDULED = f"{CLUSTER}-sched-backup-daily-backup"
OVERLAY = OVERLAYS / "overlay.yaml"


def assert_backup_injected(docs: list[dict], release: str = "demo") -> None:
    """The Cluster got its object store, and both added objects exist and point at it."""
    cluster = find(docs, "Cluster", CLUSTER)
    store = cluster["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == f"s3://my-bucket/demo/{release}/cnpg"
    assert store["endpointURL"] == "https://s3.example.com"
    secret = find(docs, "Secret", SECRET)
    assert secret["stringData" if "stringData" in secret else "data"], "credentials Secret is empty"
    scheduled = find(docs, "ScheduledBackup", SCHEDULED)
    assert scheduled["spec"]["cluster"]["name"] == CLUSTER


def helm3_args(*extra: str) -> list[str]:
    return ["template", "demo", CHART, "--post-renderer", str(CNPG_RENDER), *extra]


# --- Helm 3 -----------------------------------------------------------------


def test_helm3_documented_template_injects_backups_in_stream_order(helm3):
    out = helm3.bash(doc_block("helm3-template")).stdout
    assert_backup_injected(load_docs(out))
    kinds = [(d["kind"], d["metadata"]["name"]) for d in load_docs(out)]
    at = kinds.index(("Cluster", CLUSTER))
    assert kinds[at - 1] == ("Secret", SECRET), "Secret must come right before its Cluster"
    assert kinds[at + 1] == ("ScheduledBackup", SCHEDULED), "ScheduledBackup right after"


def test_helm3_untouched_documents_are_byte_identical(helm3):
    plain = helm3.run([helm3.helm, "template", "demo", CHART, "--namespace", "apps"]).stdout
    rendered = helm3.bash(doc_block("helm3-template")).stdout
    for kind, name in [("Deployment", "demo-app"), ("Job", "demo-migrate")]:
        assert raw_doc(rendered, kind, name) == raw_doc(plain, kind, name)


def test_helm3_include_crds_passes_bare_equals_enum_through(helm3):
    args = helm3_args("--include-crds", f"--post-renderer-args=--overlay={OVERLAY}")
    plain = helm3.run([helm3.helm, "template", "demo", CHART, "--include-crds"]).stdout
    out = helm3.run([helm3.helm, *args]).stdout
    crd = raw_doc(out, "CustomResourceDefinition", "widgets.example.com")
    assert "- =\n" in crd
    assert crd == raw_doc(plain, "CustomResourceDefinition", "widgets.example.com")
    assert_backup_injected(load_docs(out))


def test_helm3_stops_before_rendering_when_cnpg_render_is_not_installed(helm3):
    """The documented `--post-renderer cnpg-render` is looked up on PATH when Helm reads it."""
    helm3.env["PATH"] = f"{helm3.helm.parent}:/usr/bin:/bin"
    proc = helm3.bash(doc_block("helm3-template"), check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert ('unable to find binary at cnpg-render: exec: "cnpg-render": executable file not found in $PATH'
            in proc.stderr)


def test_helm3_renders_without_backups_when_the_post_renderer_is_empty(helm3):
    """Why the docs never write `--post-renderer "$(command -v cnpg-render)"`: where it is
    not installed, that is `--post-renderer ""`, and Helm 3 silently skips post-rendering."""
    proc = helm3.run([helm3.helm, "template", "demo", CHART, "--post-renderer", "",
                      f"--post-renderer-args=--overlay={OVERLAY}"])
    cluster = find(load_docs(proc.stdout), "Cluster", CLUSTER)
    assert "backup" not in cluster["spec"] and "ScheduledBackup" not in proc.stdout


def test_no_documented_command_hands_helm_a_looked_up_path():
    blocks = [block for doc in (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")))
              for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", doc.read_text(), re.S)]
    assert blocks and not [b for b in blocks if "command -v cnpg-render" in b]


def test_helm3_show_only_keeps_added_objects_with_their_cluster(helm3):
    out = helm3.bash(doc_block("helm3-show-only")).stdout
    docs = load_docs(out)
    assert sorted(d["kind"] for d in docs) == ["Cluster", "ScheduledBackup", "Secret"]
    assert all(p.lstrip("\n").startswith("# Source: demo/templates/cluster.yaml") for p in split_raw(out))
    assert_backup_injected(docs)


def test_helm3_recovery_overlay(helm3):
    args = helm3_args(f"--post-renderer-args=--overlay={OVERLAYS / 'overlay-recovery.yaml'}")
    cluster = find(load_docs(helm3.run([helm3.helm, *args]).stdout), "Cluster", CLUSTER)
    assert "recovery" in cluster["spec"]["bootstrap"] and "initdb" not in cluster["spec"]["bootstrap"]
    sources = {c["name"] for c in cluster["spec"]["externalClusters"]}
    assert cluster["spec"]["bootstrap"]["recovery"]["source"] in sources


def test_helm3_bad_overlay_fails_with_our_message(helm3):
    args = helm3_args(f"--post-renderer-args=--overlay={OVERLAYS / 'overlay-bad.yaml'}")
    proc = helm3.run([helm3.helm, *args], check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    ours = [line for line in proc.stderr.splitlines() if "cnpg-render: error:" in line]
    assert len(ours) == 1 and "overlay-bad.yaml" in ours[0], proc.stderr


def install_dry_run(box, overlay, kubeconfig):
    """`helm install --dry-run=client` with our post-renderer, against an API server."""
    args = ["install", "demo", CHART, "--namespace", "apps", "--dry-run=client", "--disable-openapi-validation",
            "--post-renderer", str(CNPG_RENDER), f"--post-renderer-args=--overlay={overlay}",
            "--post-renderer-args=--release=demo"]
    return box.run([box.helm, *args], env={"KUBECONFIG": kubeconfig}, check=False)


def test_helm3_install_dry_run_injects_backups(helm3, tmp_path):
    with FakeApiServer() as api:
        proc = install_dry_run(helm3, OVERLAY, api.kubeconfig(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "STATUS: pending-install" in proc.stdout
    manifest = proc.stdout.split("MANIFEST:", 1)[1].split("\nNOTES:", 1)[0]
    assert_backup_injected(load_docs(manifest))


def test_helm3_install_dry_run_with_a_bad_overlay_fails_with_our_message(helm3, tmp_path):
    with FakeApiServer() as api:
        proc = install_dry_run(helm3, OVERLAYS / "overlay-bad.yaml", api.kubeconfig(tmp_path))
    assert proc.returncode == 1 and "MANIFEST" not in proc.stdout
    ours = [line for line in proc.stderr.splitlines() if "cnpg-render: error:" in line]
    assert len(ours) == 1 and "overlay-bad.yaml" in ours[0], proc.stderr


def test_helm3_install_dry_run_client_needs_a_cluster(helm3):
    """Documented limitation: Helm 3.17's client dry-run still contacts the API server."""
    args = ["install", "demo", CHART, "--dry-run=client", "--post-renderer", str(CNPG_RENDER),
            f"--post-renderer-args=--overlay={OVERLAY}"]
    proc = helm3.run([helm3.helm, *args], check=False)
    assert proc.returncode != 0 and "cluster unreachable" in proc.stderr


# --- Helm 4 -----------------------------------------------------------------


def test_helm4_documented_plugin_install(tmp_path):
    from e2e_helpers import make_sandbox

    box = make_sandbox(tmp_path, 4)
    out = box.bash(doc_block("helm4-install-plugin")).stdout
    assert "postrenderer/v1" in out and "cnpg-render" in out


def install_cat_plugin(box, tmp_path) -> None:
    """A postrenderer plugin that runs `cat`: the reference for "untouched" under Helm 4,
    which re-serializes every document (kyaml) before any post-renderer sees it."""
    plugin = tmp_path / "passthrough"
    plugin.mkdir()
    (plugin / "plugin.yaml").write_text(
        "apiVersion: v1\ntype: postrenderer/v1\nname: passthrough\nversion: 0.1.0\n"
        "runtime: subprocess\nruntimeConfig:\n  platformCommand:\n    - command: cat\n")
    box.run([box.helm, "plugin", "install", plugin])


def test_helm4_documented_template_injects_backups_and_keeps_hooks(helm4, tmp_path):
    out = helm4.bash(doc_block("helm4-template")).stdout
    assert_backup_injected(load_docs(out))
    install_cat_plugin(helm4, tmp_path)
    plain = helm4.run([helm4.helm, "template", "demo", CHART, "--namespace", "apps",
                       "--post-renderer", "passthrough"]).stdout
    assert raw_doc(out, "Deployment", "demo-app") == raw_doc(plain, "Deployment", "demo-app")
    assert raw_doc(out, "Job", "demo-migrate") == raw_doc(plain, "Job", "demo-migrate")
    assert "postrenderer.helm.sh/postrender-filename" not in out
    assert "generated-by-postrender" not in out, "added objects must land in their Cluster's file"


def test_helm4_show_only_cluster_file_holds_added_objects(helm4):
    args = ["template", "demo", CHART, "--post-renderer", "cnpg-render",
            f"--post-renderer-args=--overlay={OVERLAY}", "--show-only", "templates/cluster.yaml"]
    docs = load_docs(helm4.run([helm4.helm, *args]).stdout)
    assert sorted(d["kind"] for d in docs) == ["Cluster", "ScheduledBackup", "Secret"]
    assert_backup_injected(docs)


def test_helm4_documented_install_dry_run_uses_instance_label_as_release(helm4):
    out = helm4.bash(doc_block("helm4-install-dry-run")).stdout
    manifest = out.split("MANIFEST:", 1)[1].split("\nNOTES:", 1)[0]
    assert_backup_injected(load_docs(manifest), release="demo")


def test_helm4_failure_is_found_with_last_error(helm4):
    args = ["template", "demo", CHART, "--post-renderer", "cnpg-render",
            f"--post-renderer-args=--overlay={OVERLAYS / 'overlay-bad.yaml'}"]
    proc = helm4.run([helm4.helm, *args], check=False)
    assert proc.returncode == 1 and "cnpg-render: error:" not in proc.stderr, "Helm 4 hides our stderr"
    assert 'plugin "cnpg-render" exited with error' in proc.stderr
    told = helm4.bash(doc_block("helm4-last-error")).stdout
    assert told.startswith("cnpg-render: error:") and "overlay-bad.yaml" in told
    assert "\n  from `cnpg-render render` at " in told and "stale" not in told
    good = [*args[:-1], f"--post-renderer-args=--overlay={OVERLAY}", "--post-renderer-args=--release=demo"]
    helm4.run([helm4.helm, *good])
    assert "\n  stale: a later run succeeded at " in helm4.bash(doc_block("helm4-last-error")).stdout


def test_helm4_plugin_without_cnpg_render_on_path_records_why(helm4):
    env = {"PATH": "/usr/bin:/bin"}
    args = ["template", "demo", CHART, "--post-renderer", "cnpg-render", f"--post-renderer-args=--overlay={OVERLAY}"]
    assert helm4.run([helm4.helm, *args], env=env, check=False).returncode == 1
    assert "cannot find 'cnpg-render'" in helm4.last_error_file.read_text()
    assert "\ntime: 20" in helm4.last_error_file.read_text(), "the launcher dates its error too"
    env["CNPG_RENDER_BIN"] = str(CNPG_RENDER)
    rendered = helm4.run([helm4.helm, *args, "--post-renderer-args=--release=demo"], env=env)
    assert_backup_injected(load_docs(rendered.stdout))


def test_helm3_still_loads_plugins_next_to_isolated_helm4(helm3, helm4):
    """The sandboxes keep Helm 3's plugin dir free of the Helm 4 plugin."""
    assert helm3.run([helm3.helm, "plugin", "list"]).returncode == 0
