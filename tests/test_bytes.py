"""Bytes: a byte order mark belongs to the stream and stays in front of it, and CRLF
documents stay CRLF, whatever the render adds before, after or instead of them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renderer import overlay, stream, yamlcodec
from renderer.render import render
from renderer.transform import Context
from tests.helpers import FIXTURES, run_cli

BACKUPS = FIXTURES / "overlays" / "backups.yaml"  # inline keys: a Secret goes before the Cluster
OVERLAY = overlay.load([str(BACKUPS)])
_SECOND = b"---\n# Source: demo/templates/configmap"
CLUSTER, CONFIGMAP = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes().split(_SECOND)
CONFIGMAP = _SECOND + CONFIGMAP


def stream_of(*docs: bytes, bom: bool, crlf: bool, first_separator: bool = True) -> bytes:
    data = b"".join(docs)
    if not first_separator:
        data = data.removeprefix(b"---\n")
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    return (stream.BOM if bom else b"") + data


def assert_well_formed(out: bytes, bom: bool, crlf: bool) -> list:
    """One BOM at most, and only in front; CRLF input gives CRLF lines only; the
    output reads as YAML; a second render changes nothing."""
    assert out.startswith(stream.BOM) is bom and out.count(stream.BOM) == int(bom)
    if crlf:
        assert out.count(b"\n") == out.count(b"\r\n")
    docs = yamlcodec.load_all(out.decode("utf-8"))
    assert render(out, OVERLAY, Context()).output.getvalue() == out
    return docs


@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("first_separator", [True, False], ids=["separator", "no-separator"])
@pytest.mark.parametrize("cluster_first", [True, False], ids=["cluster-first", "cluster-second"])
def test_a_bom_stays_in_front_and_crlf_stays_crlf(bom, crlf, first_separator, cluster_first):
    docs = (CLUSTER, CONFIGMAP) if cluster_first else (CONFIGMAP, CLUSTER)
    data = stream_of(*docs, bom=bom, crlf=crlf, first_separator=first_separator)
    out = render(data, OVERLAY, Context()).output.getvalue()
    kinds = [d["kind"] for d in assert_well_formed(out, bom, crlf)]
    expected = ["Secret", "Cluster", "ScheduledBackup"]
    assert kinds == ([*expected, "ConfigMap"] if cluster_first else ["ConfigMap", *expected])
    untouched = CONFIGMAP.replace(b"\n", b"\r\n") if crlf else CONFIGMAP
    assert untouched.removeprefix(b"" if first_separator or cluster_first else b"---\r\n" if crlf else b"---\n") in out


def test_the_real_cli_keeps_the_bom_in_front_of_the_added_secret():
    data = stream_of(CLUSTER, CONFIGMAP, bom=True, crlf=True)
    result = run_cli("render", "--overlay", str(BACKUPS), stdin=data)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.startswith(stream.BOM + b"---\r\n") and result.stdout.count(stream.BOM) == 1
    assert [d["kind"] for d in yamlcodec.load_all(result.stdout.decode())][:2] == ["Secret", "Cluster"]


PLAIN = st.sampled_from([b"---\na: 1\n", b"---\n# c\nb: [x]\n", b"--- # s\nc: |\n  t\n", b"---\nd: 'q'\n...\n"])


@settings(max_examples=80, deadline=None)
@given(st.lists(PLAIN, max_size=4), st.integers(0, 4), st.booleans(), st.booleans())
def test_any_stream_keeps_its_bom_in_front_and_its_line_endings(plain, position, bom, crlf):
    position = min(position, len(plain))
    data = stream_of(*plain[:position], CLUSTER, *plain[position:], bom=bom, crlf=crlf)
    out = render(data, OVERLAY, Context()).output.getvalue()
    assert_well_formed(out, bom, crlf)
    for doc in plain:
        assert (doc.replace(b"\n", b"\r\n") if crlf else doc) in out


@pytest.mark.parametrize("data", [b"\xff\xfe" + "a: 1\n".encode("utf-16-le"), "a: 1\n".encode("utf-16-be"),
                                  b"\xff\xfe\x00\x00" + "a: 1\n".encode("utf-32-le")],
                         ids=["utf-16-le-bom", "utf-16-be", "utf-32-le-bom"])
def test_a_wide_encoding_is_refused_with_one_line(data):
    result = run_cli("render", "--overlay", str(BACKUPS), stdin=data)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode() == ("cnpg-render: error: input: is UTF-16 or UTF-32 text: cnpg-render reads UTF-8 "
                                      "(convert it first, e.g. iconv -f UTF-16 -t UTF-8)\n")
