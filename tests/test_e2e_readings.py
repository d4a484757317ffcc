"""What the codec reads from plain and tagged scalars (tests/test_yamlcodec.py READINGS),
beside what the real kubectl (1.30 and 1.35) reads from the same text.

Without a server, kubectl still turns a manifest into JSON and decodes its metadata,
and `metadata.creationTimestamp` tells what it read: a string is parsed as a time and
quoted in the error, a bool or number is refused by type, and null decodes (so kubectl
goes on to look for a server it does not find). A number JSON cannot hold (`-.inf`) is
read as a number and then refused."""

from __future__ import annotations

import codecs
import re
import subprocess

import pytest

from renderer import yamlcodec
from tests.e2e_helpers import TOOLS
from tests.test_yamlcodec import READINGS

pytestmark = pytest.mark.e2e

_STRING = re.compile(r'parsing time "((?:[^"\\]|\\.)*)"')
_TYPED = re.compile(r"cannot unmarshal (bool|number) into")
_NOT_FINITE = "json: unsupported value: "  # a number JSON cannot hold (-Inf, NaN): read, then refused


def kubectl_reading(major: int, text: str, tmp_path) -> tuple:
    """("string", value), ("bool",), ("number",) or ("null",): what kubectl read."""
    manifest = tmp_path / "cluster.yaml"
    value = text.replace("\n", "\n  ")  # a block scalar's lines, under the key
    manifest.write_text(f"apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\n"
                        f"  creationTimestamp: {value}\n")
    proc = subprocess.run([str(TOOLS / f"helm{major}" / "kubectl"), "create", "--dry-run=client",
                           "--validate=false", "-o", "json", "-f", str(manifest)],
                          capture_output=True, text=True, env={"KUBECONFIG": "/dev/null", "HOME": str(tmp_path)},
                          timeout=60)
    if (found := _STRING.search(proc.stderr)) is not None:  # Go's time.quote: \xNN per byte past ASCII
        return "string", codecs.escape_decode(found.group(1).encode())[0].decode("utf-8")
    if (typed := _TYPED.search(proc.stderr)) is not None:
        return (typed.group(1),)
    if _NOT_FINITE in proc.stderr:
        return ("number",)
    assert "unable to recognize" in proc.stderr, proc.stderr  # decoded: only null gets this far
    return ("null",)


def our_reading(text: str) -> tuple:
    value = yamlcodec.load(f"k: {text}\n")["k"]
    if isinstance(value, str):
        return "string", value
    return ("null",) if value is None else ("bool",) if isinstance(value, bool) else ("number",)


BINARY = [("!!binary 'aGk='", "hi")]  # quoted: still binary


@pytest.mark.parametrize("major", [3, 4])
@pytest.mark.parametrize("text, value", READINGS + BINARY, ids=[t or "empty" for t, _ in READINGS + BINARY])
def test_kubectl_reads_each_scalar_as_we_read_it(major, text, value, tmp_path):
    assert our_reading(text) == kubectl_reading(major, text, tmp_path)


@pytest.mark.parametrize("major", [3, 4])
def test_kubectl_refuses_the_binary_we_refuse(major, tmp_path):
    with pytest.raises(yamlcodec.YamlError, match="!!binary does not fit this value"):
        yamlcodec.load("k: !!binary ==\n")
    manifest = tmp_path / "cluster.yaml"
    manifest.write_text("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: x\n"
                        "  creationTimestamp: !!binary ==\n")
    proc = subprocess.run([str(TOOLS / f"helm{major}" / "kubectl"), "create", "--dry-run=client", "-o", "json",
                           "-f", str(manifest)], capture_output=True, text=True,
                          env={"KUBECONFIG": "/dev/null", "HOME": str(tmp_path)}, timeout=60)
    assert "!!binary value contains invalid base64 data" in proc.stderr
