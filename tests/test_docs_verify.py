"""The README's "After deploying: verify" block runs, command by command, against a moto
store: right after deploying the lineage holds WAL only (the first hours accept it), then
its first base backup completes, and kubectl prints the running Cluster and its
ScheduledBackup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from e2e_helpers import doc_block

from tests.helpers import FIXTURES, REPO
from tests.test_verify_cli import LIVE, put


def test_the_documented_verify_commands_run(tmp_path, moto_s3):
    bucket = "docs-" + uuid.uuid4().hex[:10]
    moto_s3.make_bucket(bucket)
    put(moto_s3, bucket, backed_up=False)
    (tmp_path / "overlay.yaml").write_text(
        f"credentials:\n  minio: {{type: s3, url: '{moto_s3.endpoint_url}', bucket: {bucket}, "
        "accessKey: AKIAEXAMPLE, secretKey: example-secret-key}\n"
        "cnpg:\n  main:\n    backups: {enabled: true, credentials: minio}\n")
    (tmp_path / "manifests.yaml").write_bytes((FIXTURES / "inputs" / "cluster-main.yaml").read_bytes())
    archiving = LIVE.replace("s3://bkt/", f"s3://{bucket}/").replace('status: "False"', 'status: "True"').replace(
        "reason: ContinuousArchivingFailing", "reason: ContinuousArchivingSuccess")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (tmp_path / "kubectl-output.yaml").write_text(archiving)
    (bindir / "kubectl").write_text(f"#!/bin/sh\ncat {tmp_path / 'kubectl-output.yaml'}\n")
    (bindir / "cnpg-render").write_text(f"#!/bin/sh\nexec {sys.executable} -m renderer \"$@\"\n")
    for tool in bindir.iterdir():
        tool.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    env.pop("CNPG_RENDER_OVERLAY", None)
    commands = [line for line in doc_block("verify", REPO / "README.md").splitlines() if line.strip()]
    assert [c.split()[:2] for c in commands] == [["cnpg-render", "verify"]] * 2 + [["kubectl", "get"],
                                                                                    ["cnpg-render", "verify"]]
    outputs = []
    for number, command in enumerate(commands):
        if number == 1:
            put(moto_s3, bucket, backed_up=True)  # the first base backup completed
        proc = subprocess.run(["bash", "-ec", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                              check=False, timeout=60)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}{proc.stderr}"
        outputs.append(proc.stdout)
    assert "confirmed, first base backup not due yet" in outputs[0]
    assert outputs[1].splitlines()[1].split()[:2] == ["demo/demo-cnpg-main", "confirmed"]
    (row,) = json.loads(outputs[3])
    assert row["live"]["continuousArchiving"]["reason"] == "ContinuousArchivingSuccess" and row["state"] == "confirmed"
