"""What the tests share: paths to the upstream data and a way to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REAL = SHARED / "fixtures" / "real"
CRDS = SHARED / "crds"
# The CNPG and barman-cloud plugin CRDs; ../shared/crds also holds Flux's HelmRelease.
CNPG_CRDS = sorted(CRDS.glob("*cnpg.io_*.yaml"))
FIXTURES = REPO / "fixtures"
CLI = [sys.executable, "-m", "renderer"]


def run_cli(*args: str, stdin: bytes = b"", env: dict | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `cnpg-render` as a subprocess, the way Helm and ArgoCD do."""
    full_env = {k: v for k, v in os.environ.items() if k != "CNPG_RENDER_OVERLAY"}
    full_env.update(env or {})
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, env=full_env, cwd=cwd or REPO,
                          timeout=60)


def documents(text: str | bytes) -> list:
    """All documents of a stream, parsed (for assertions, never for the product)."""
    from renderer import yamlcodec

    return yamlcodec.load_all(text.decode("utf-8") if isinstance(text, bytes) else text)


def by_kind(docs: list, kind: str) -> list[dict]:
    return [d for d in docs if isinstance(d, dict) and d.get("kind") == kind]


def s3_access(s3):
    """How renderer.objectstore reaches a test S3 server (a realparts.MotoS3): with the
    keys and region its other clients use, and its CA when it serves HTTPS."""
    from renderer.stores.s3 import S3Access

    env = s3.env()
    return S3Access(s3.endpoint_url, env["AWS_DEFAULT_REGION"], env["AWS_ACCESS_KEY_ID"],
                    env["AWS_SECRET_ACCESS_KEY"], ca_bundle=env.get("AWS_CA_BUNDLE"))


def changes(before: bytes, after: bytes) -> list[str]:
    """What a render changed, object by object (List items included), in a few lines a
    reviewer can read: `+ Kind/name` added, `- Kind/name` dropped, `~ Kind/name: the
    fields (two levels deep) that differ`."""
    from renderer import stream, yamlcodec

    def objects(data: bytes) -> dict:  # documents that cannot be read pass through: not a change
        docs = []
        for chunk in stream.split(data):
            try:
                docs.append(yamlcodec.load(chunk.body))
            except (yamlcodec.YamlError, UnicodeDecodeError):
                continue
        return {f"{o.get('kind')}/{(o.get('metadata') or {}).get('name')}": o
                for o in yamlcodec.iter_objects(docs) if isinstance(o, dict)}

    old, new = objects(before), objects(after)
    lines = [f"+ {key}" for key in new if key not in old] + [f"- {key}" for key in old if key not in new]
    for key in (k for k in new if k in old and new[k] != old[k]):
        lines.append(f"~ {key}: {', '.join(_differing(old[key], new[key]))}")
    return sorted(lines)


def _differing(old: dict, new: dict, prefix: str = "", depth: int = 2) -> list[str]:
    fields = []
    for field in [*old, *(k for k in new if k not in old)]:
        a, b = old.get(field), new.get(field)
        if a == b:
            continue
        if depth > 1 and isinstance(a, dict) and isinstance(b, dict):
            fields += _differing(a, b, f"{prefix}{field}.", depth - 1)
        else:
            fields.append(f"{prefix}{field}")
    return fields
