"""Every command in docs/restoring.md runs, in order, against a moto store holding one
backed-up lineage, with `cnpg-render` on PATH and a kubectl that prints no Clusters."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from tests import storefacts
from tests.helpers import FIXTURES, REPO

DOC = REPO / "docs" / "restoring.md"


def commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_doc_has_the_three_steps():
    cmds = commands()
    assert [c.split()[1] for c in cmds[:4]] == ["plan", "bump", "plan", "render"]
    assert "--exit-code" in cmds[2]
    assert all(c.startswith(("cnpg-render ", "kubectl ")) for c in cmds)


def test_every_documented_command_runs(tmp_path, moto_s3):
    bucket = "docs-" + uuid.uuid4().hex[:10]
    moto_s3.make_bucket(bucket)
    client = moto_s3.client()
    storefacts.put_lineage(client, bucket, "demo/cnpg", storefacts.lineage(
        "demo-cnpg-main", [storefacts.backup("20261101T000000", 2, 3, ended=5)], storefacts.wal(1, 1, 6)))
    (tmp_path / "overlay.yaml").write_text(
        f"credentials:\n  minio: {{type: s3, url: '{moto_s3.endpoint_url}', bucket: {bucket}, "
        "accessKey: AKIAEXAMPLE, secretKey: example-secret-key}\n"
        "cnpg:\n  main:\n    backups:\n      enabled: true  # daily backups\n      credentials: minio\n")
    yaml_blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    (tmp_path / "auto.yaml").write_text(yaml_blocks[0])  # the documented auto overlay
    (tmp_path / "manifests.yaml").write_bytes((FIXTURES / "inputs" / "cluster-main.yaml").read_bytes())
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kubectl").write_text("#!/bin/sh\nprintf 'apiVersion: v1\\nkind: List\\nitems: []\\n'\n")
    (bindir / "kubectl").chmod(0o755)
    (bindir / "cnpg-render").write_text(f"#!/bin/sh\nexec {sys.executable} -m renderer \"$@\"\n")
    (bindir / "cnpg-render").chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    env.pop("CNPG_RENDER_OVERLAY", None)
    outputs = {}
    for command in commands():
        proc = subprocess.run(["bash", "-ec", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}{proc.stderr}"
        outputs[command] = proc.stdout
    # The lost Cluster's own lineage holds WAL: rendering it unchanged would fail; bump is the way out.
    assert 'demo/demo-cnpg-main  fresh install beside existing backups' in outputs[commands()[0]]
    assert 'To restore them, set mode: recovery (cnpg-render bump main does it)' in outputs[commands()[0]]
    assert "cnpg.main.mode: (unset) -> recovery" in outputs[commands()[1]]
    assert "# daily backups" in Path(tmp_path / "overlay.yaml").read_text()  # bump kept the comment
    rendered = (tmp_path / "rendered.yaml").read_text()
    assert "serverName: demo-cnpg-main-r1" in rendered and "source: demo-cnpg-main" in rendered
