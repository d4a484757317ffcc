"""The stream layer: cutting without parsing, and joining back byte for byte."""

from __future__ import annotations

import pytest

from renderer import stream
from tests.helpers import REAL

ODD_STREAMS = [
    b"",
    b"---\n",
    b"a: 1\n",
    b"a: 1",
    b"---\na: 1\n---\nb: 2\n",
    b"a: 1\n...\n---\nb: 2\n",
    b"--- # comment\na: 1\n",
    b"# only a comment\n",
    b"\xef\xbb\xbf---\na: 1\n",
    b"\xef\xbb\xbf",
    b"\xef\xbb\xbfa: 1\r\n",
    b"---\r\na: 1\r\n---\r\nb: 2\r\n",
    b"%YAML 1.1\n---\na: 1\n",
    b"a: |\n  --- indented\n  text\n",
    b"---\n---\n---\n",
]


@pytest.mark.parametrize("data", ODD_STREAMS)
def test_chunks_concatenate_back_to_the_input(data):
    assert stream.lead(data) + b"".join(bytes(c.raw) for c in stream.split(data)) == data


def test_split_cuts_at_separators_and_end_markers():
    chunks = stream.split(b"a: 1\n...\n---\nb: 2\n--- # c\nc: 3\n")
    assert [bytes(c.raw) for c in chunks] == [b"a: 1\n...\n", b"---\nb: 2\n", b"--- # c\nc: 3\n"]


def test_indented_separator_is_not_a_cut():
    assert len(stream.split(b"a: |\n  ---\n  x\n")) == 1


def test_candidates_need_cnpg_group_text_or_an_escape():
    chunks = stream.split(b"apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\n---\napiVersion: v1\nkind: ConfigMap\n"
                          b"---\nmetadata:\n  annotations: {cnpg-render.io/generated-for: x}\n"
                          b'---\napiVersion: "postgresql.cnpg\\x2eio/v1"\n')
    assert [c.index for c in stream.candidates(chunks)] == [0, 2, 3]


def test_kube_prometheus_stack_has_no_candidates():
    chunks = stream.split((REAL / "kube-prometheus-stack-with-crds.yaml").read_bytes())
    assert len(chunks) > 100 and not stream.candidates(chunks)


def test_a_bom_belongs_to_the_stream_and_the_head_keeps_separator_and_comments():
    data = b"\xef\xbb\xbf--- # top\n# Source: x/y.yaml\n\nkind: Cluster\n"
    chunk = stream.split(data)[0]
    assert stream.lead(data) == stream.BOM and chunk.start == len(stream.BOM)
    assert chunk.head == b"--- # top\n# Source: x/y.yaml\n\n"
    assert chunk.source_line == b"# Source: x/y.yaml"
    assert chunk.body.startswith("--- # top")


def test_rewrite_keeps_crlf_and_end_marker():
    chunk = stream.split(b"---\r\nkind: Cluster\r\n...\r\n")[0]
    assert chunk.rewrite({"kind": "Cluster", "x": 1}, needs_separator=True) == (
        b"---\r\nkind: Cluster\r\nx: 1\r\n...\r\n")


def test_rewrite_adds_a_separator_only_when_needed():
    chunk = stream.split(b"# Source: a\nkind: Cluster\n")[0]
    assert chunk.rewrite({"k": 1}, needs_separator=False) == b"# Source: a\nk: 1\n"
    assert chunk.rewrite({"k": 1}, needs_separator=True) == b"---\n# Source: a\nk: 1\n"


def test_rewrite_keeps_json_as_json():
    chunk = stream.split(b'---\n{"kind": "Cluster"}\n')[0]
    assert chunk.rewrite({"kind": "Cluster"}, needs_separator=True) == b'---\n{\n  "kind": "Cluster"\n}\n'


def test_companion_carries_source_line():
    chunk = stream.split(b"---\n# Source: demo/templates/cluster.yaml\nkind: Cluster\n")[0]
    assert chunk.companion({"kind": "Secret"}) == b"---\n# Source: demo/templates/cluster.yaml\nkind: Secret\n"


def test_output_adds_a_newline_between_pieces_when_missing():
    out = stream.Output()
    out.append(b"a: 1")
    out.append(b"---\nb: 2\n")
    assert out.getvalue() == b"a: 1\n---\nb: 2\n"


@pytest.mark.parametrize("data,expected", [(b"", False), (b"\n \n", False), (b"---\n# c\n...\n", False),
                                           (b"\xef\xbb\xbf---\n", False), (b"\xef\xbb\xbf", False),
                                           (b"%YAML 1.1\n---\n", False),
                                           (b"a: 1\n", True), (b"\xef\xbb\xbfa: 1\n", True), (b"---\n  - x\n", True),
                                           (b"--- {a: 1}\n", True), (b"a: 1\n...\n---\n", True)])
def test_has_content_tells_documents_from_blank_streams(data, expected):
    assert stream.has_content(stream.split(data)) is expected
