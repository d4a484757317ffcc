"""The stream layer: cutting without parsing, and joining back byte for byte."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from renderer import stream
from tests.helpers import CLI, FIXTURES, REAL, run_cli

CLUSTER_STREAM = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
BACKUPS = str(FIXTURES / "overlays" / "backups.yaml")
# The peak RSS of one command, measured by a parent of its own (RUSAGE_CHILDREN of a
# test worker would be the largest child the worker ever ran).
PEAK_RSS = ("import resource, subprocess, sys\n"
            "with open(sys.argv[1], 'rb') as f: subprocess.run(sys.argv[2:], stdin=f, stdout=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")

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


LINES = ["a: 1", "- x", "'q'", "--- {a: 1}", "---#c", "", "  ", "# c", "  # c", "---", "--- # c", "...", "... # c",
         "%YAML 1.1", "%TAG ! tag:x,2000:"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=8), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_has_content_agrees_with_the_yaml_parser(lines, newline, bom):
    """A stream has content when the parser finds a node in it that was written: a
    collection, or a scalar other than the empty one an explicit `---` implies."""
    text = newline.join(lines) + newline
    try:
        events = list(yaml.parse(text))
    except yaml.YAMLError:
        assume(False)
    written = any(isinstance(e, (yaml.CollectionStartEvent, yaml.AliasEvent)) or
                  (isinstance(e, yaml.ScalarEvent) and (e.value or e.style)) for e in events)
    data = (stream.BOM if bom else b"") + text.encode()
    assert stream.has_content(stream.split(data)) is written, text


def test_documents_are_offsets_until_one_is_asked_for():
    documents = stream.split(b"---\n" * 1000 + CLUSTER_STREAM)
    assert len(documents) == 1002 and documents[-1].data.startswith(b"---\n# Source: demo/templates/configmap")
    assert [c.index for c in stream.candidates(documents)] == [1000]
    assert documents[1000] is documents[1000]  # a document asked for keeps what was learnt about it


def test_a_million_empty_documents_cost_integers_not_objects(tmp_path):
    """900,000 `---` lines (3.6 MB) and a Cluster: rendered, with the empty documents
    through byte for byte, in well under the memory a Python object per document took
    (about 600 MB)."""
    data = b"---\n" * 900_000 + CLUSTER_STREAM
    out = run_cli("--overlay", BACKUPS, stdin=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b"---\n" * 900_000) and b"barmanObjectStore" in out.stdout
    (tmp_path / "in.yaml").write_bytes(data)
    peak = subprocess.run([sys.executable, "-c", PEAK_RSS, str(tmp_path / "in.yaml"), *CLI, "--overlay", BACKUPS],
                          capture_output=True, check=True)
    assert int(peak.stdout) / 1024 < 150, f"peak RSS {int(peak.stdout) / 1024:.0f} MB"


def test_more_documents_than_any_kubernetes_stream_is_one_line():
    assert len(stream.split(b"---\n" * stream.MAX_DOCUMENTS + b"...")) == stream.MAX_DOCUMENTS
    out = run_cli("--overlay", BACKUPS, stdin=b"---\n" * (stream.MAX_DOCUMENTS + 1))
    assert (out.returncode, out.stdout) == (1, b"")
    assert out.stderr.decode() == ("cnpg-render: error: input: holds more than 1,000,000 documents: that is not a "
                                   "Kubernetes stream cnpg-render can take (split it)\n")
