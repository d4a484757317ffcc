"""docs/flux.md, run in order in a GitOps repository laid out as it shows, against a moto
S3 store: generate and commit, CI passes; the Cluster's lineage fills up, so CI refuses
the same overlay; the restore commit (bump, regenerate) passes CI again."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from e2e_helpers import CHART, REPO, TOOLS, VENV_BIN, doc_block, load_docs

from tests import storefacts

pytestmark = pytest.mark.e2e

DOC = REPO / "docs" / "flux.md"
LINEAGE = "shop/cnpg/shop-cnpg-main"


@pytest.fixture
def platform(tmp_path, moto_s3):
    """The documented layout, committed, with an overlay whose store is a fresh moto bucket."""
    bucket = "flux-" + uuid.uuid4().hex[:10]
    moto_s3.make_bucket(bucket)
    root = tmp_path / "platform"
    shutil.copytree(CHART, root / "charts" / "demo")
    (root / "apps" / "shop").mkdir(parents=True)
    shutil.copy(REPO / "fixtures" / "flux" / "helmrelease.yaml", root / "apps" / "shop" / "helmrelease.yaml")
    (root / "apps" / "shop" / "cnpg-overlay.yaml").write_text(
        f"credentials:\n  store: {{type: s3, url: '{moto_s3.endpoint_url}', bucket: {bucket}, "
        "accessKey: AKIAEXAMPLE, secretKey: example-secret-key}\n"
        "cnpg:\n  main:\n    backups:\n      enabled: true  # daily, to the team's bucket\n      credentials: store\n")
    (root / "clusters" / "prod" / "shop").mkdir(parents=True)
    env = {"PATH": f"{VENV_BIN}:{TOOLS / 'helm3'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "CNPG_RENDER_LAST_ERROR": str(tmp_path / "last-error")}
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "."], ["git", "commit", "-q", "-m", "shop"]):
        subprocess.run(argv, cwd=root, env=env, check=True)
    return root, env, moto_s3.client(), bucket


def run(script: str, root, env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_documented_gitops_cycle(platform):
    root, env, client, bucket = platform
    generated = root / "clusters" / "prod" / "shop" / "shop.yaml"
    ci = doc_block("flux-ci", DOC)
    assert run(doc_block("flux-generate", DOC), root, env).returncode == 0
    assert [d["kind"] for d in load_docs(generated.read_text())] == ["HelmRelease", "Secret", "ScheduledBackup"]
    first_ci = run(ci, root, env)
    assert first_ci.returncode == 0, first_ci.stderr
    assert "safe" in first_ci.stdout

    # The Cluster ran and archived; then it was lost. The same overlay would write into its WAL.
    prefix, server = LINEAGE.rsplit("/", 1)
    storefacts.put_lineage(client, bucket, prefix, storefacts.lineage(
        server, [storefacts.backup("20261101T000000", 2, 3, ended=5)], storefacts.wal(1, 1, 6)))
    refused = run(ci, root, env)
    assert refused.returncode != 0 and "already holds backups of serverName shop-cnpg-main" in refused.stderr

    restore = run(doc_block("flux-restore", DOC), root, env)
    assert restore.returncode == 0, restore.stderr
    assert "cnpg.main.mode: (unset) -> recovery" in restore.stdout
    assert "# daily, to the team's bucket" in (root / "apps" / "shop" / "cnpg-overlay.yaml").read_text()
    patches = load_docs(generated.read_text())[0]["spec"]["postRenderers"][-1]["kustomize"]["patches"]
    assert "serverName: shop-cnpg-main-r1" in patches[-1]["patch"] and "source: shop-cnpg-main" in patches[-1]["patch"]
    log = subprocess.run(["git", "log", "--format=%s", "restore-shop"], cwd=root, env=env,
                         capture_output=True, text=True)
    assert log.stdout.splitlines()[0] == "shop: restore from its newest backup"
    after = run(ci, root, env)
    assert after.returncode == 0, after.stderr
