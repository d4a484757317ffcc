"""Every overlay shown in the docs is one the loader accepts: an example that fails to
load would teach the wrong shape. Fragments are layered over credentials, the way a
user layers `-f base.yaml -f fragment.yaml`."""

from __future__ import annotations

import re

import pytest

from renderer import overlay
from tests.helpers import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
BASE = "credentials:\n" + "".join(
    f"  {name}: {{type: s3, bucket: b, accessKey: A, secretKey: S}}\n" for name in ("s3", "minio"))


def overlay_blocks():
    for doc in DOCS:
        for i, block in enumerate(BLOCK.findall(doc.read_text())):
            if re.search(r"^(credentials|cnpg|defaults):", block, re.M) and "# yaml-language-server" not in block:
                yield pytest.param(block, id=f"{doc.name}#{i}")


@pytest.mark.parametrize("text", list(overlay_blocks()))
def test_documented_overlay_loads(text):
    overlay.parse([("base.yaml", BASE), ("doc.yaml", text)])
