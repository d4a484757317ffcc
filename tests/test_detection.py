"""Detection that cannot be fooled: every legal spelling of a CNPG Cluster is found
(the text scan is a strict superset, the parser's events decide), and documents
that cannot be targets are never built."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renderer import cnpg, overlay, stream, yamlcodec
from renderer.render import read_targets, render
from renderer.transform import Context
from tests.helpers import CNPG_CRDS, FIXTURES, REAL, run_cli

BACKUPS = FIXTURES / "overlays" / "backups.yaml"  # cnpg.main: a Cluster named *-cnpg-main
OVERLAY = overlay.load([str(BACKUPS)])
NAME = "demo-cnpg-main"
FIXED = {"metadata": ('{name: demo-cnpg-main, namespace: demo, labels: {app.kubernetes.io/instance: demo}}',
                      {"name": NAME, "namespace": "demo", "labels": {"app.kubernetes.io/instance": "demo"}}),
         "spec": ("{instances: 1, storage: {size: 1Gi}}", {"instances": 1, "storage": {"size": "1Gi"}})}
SPELLED = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster"}


@st.composite
def double_quoted(draw, text: str, indent: int) -> str:
    """`text` double-quoted, each character literal or escaped (\\x, \\u, \\U, \\/),
    with escaped line breaks (which join lines without a space) anywhere."""
    out = []
    for char in text:
        how = draw(st.sampled_from(["literal", "literal", "x", "u", "U", "slash"]))
        code = ord(char)
        escaped = {"x": f"\\x{code:02x}", "u": f"\\u{code:04X}", "U": f"\\U{code:08x}",
                   "slash": "\\/" if char == "/" else char, "literal": char}[how]
        out.append(escaped)
        if draw(st.integers(0, 5)) == 0:
            out.append("\\\n" + " " * indent)
    return '"' + "".join(out) + '"'


@st.composite
def inline(draw, text: str, indent: int) -> str:
    """A spelling of `text` that fits on the line after `key:` (block or flow)."""
    quoted = draw(st.one_of(st.just(text), st.just(f"'{text}'"), double_quoted(text, indent)))
    anchor = "a" + text.replace(".", "").replace("/", "")  # one per value: PyYAML refuses redefined anchors
    prefix = draw(st.sampled_from(["", "!!str ", "!<tag:yaml.org,2002:str> ", f"&{anchor} ", f"!!str &{anchor} "]))
    return prefix + quoted


@st.composite
def block_value(draw, text: str, indent: int) -> str:
    """A value for `key:` in a block mapping: inline, on the next line, or a block scalar."""
    pad = " " * (indent + 2)
    return draw(st.one_of(inline(text, indent + 4).map(lambda v: " " + v),
                          st.just(f"\n{pad}{text}"), st.just(f" |-\n{pad}{text}"), st.just(f" >-\n{pad}{text}"),
                          st.just(f"  # a comment\n{pad}{text}")))


@st.composite
def key(draw, name: str) -> str:
    return draw(st.sampled_from([name, f'"{name}"', f"'{name}'", f"!!str {name}",
                                 '"' + "".join(f"\\x{ord(c):02x}" for c in name[:2]) + name[2:] + '"']))


@st.composite
def block_document(draw, indent: int) -> str:
    pad = " " * indent
    lines = []
    aliases = draw(st.booleans())
    if aliases:  # the values written once, elsewhere, and used through aliases
        lines.append(f"{pad}x-values: [&v {SPELLED['apiVersion']}, &k {SPELLED['kind']}]")
    merged = draw(st.sampled_from([None, "kind", "apiVersion"]))
    keys = draw(st.permutations([*SPELLED, *FIXED]))
    for name in keys:
        if name == merged:
            lines.append(f"{pad}<<: {{{name}: {draw(inline(SPELLED[name], indent + 4))}}}")
        elif name in SPELLED and aliases and draw(st.booleans()):
            lines.append(f"{pad}{draw(key(name))}: {'*v' if name == 'apiVersion' else '*k'}")
        elif name in SPELLED and draw(st.integers(0, 4)) == 0:
            lines.append(f"{pad}? {draw(key(name))}\n{pad}:{draw(block_value(SPELLED[name], indent))}")
        elif name in SPELLED:
            lines.append(f"{pad}{draw(key(name))}:{draw(block_value(SPELLED[name], indent))}")
        else:
            lines.append(f"{pad}{name}: {FIXED[name][0]}")
    return "\n".join(lines) + "\n"


@st.composite
def flow_document(draw, as_json: bool) -> str:
    keys = draw(st.permutations([*SPELLED, *FIXED]))
    entries = []
    for name in keys:
        if name in FIXED:
            value = json.dumps(FIXED[name][1]) if as_json else FIXED[name][0]
            entries.append(f'"{name}": {value}' if as_json else f"{name}: {value}")
        elif as_json:
            entries.append(f'"{name}": {draw(double_quoted(SPELLED[name], 2))}')
        else:
            entries.append(f"{draw(key(name))}: {draw(inline(SPELLED[name], 2))}")
    separator = draw(st.sampled_from([", ", ",\n  ", " ,\n"]))
    return "{" + separator.lstrip(",") .replace(",", "") + separator.join(entries) + "\n}\n"


@st.composite
def cluster_document(draw) -> str:
    """One CNPG Cluster, spelled in any of the ways YAML allows."""
    body = draw(st.one_of(block_document(0), block_document(2), flow_document(False), flow_document(True)))
    head = draw(st.sampled_from(["", "---\n", "--- # top\n", "---\n# Source: demo/templates/cluster.yaml\n",
                                 "%YAML 1.1\n---\n"]))
    return head + body


OTHERS = b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 'Cluster'}\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_document(), st.booleans())
def test_every_spelling_of_a_cluster_is_found_and_edited(text, first):
    obj = yamlcodec.load(text)
    assert cnpg.is_cluster(obj) and obj["metadata"]["name"] == NAME, text  # the generator spells a Cluster
    doc = text.encode() if text.startswith(("---", "%")) else b"---\n" + text.encode()
    data = doc + OTHERS if first else OTHERS + doc
    chunks = stream.split(data)
    target = next(c.index for c in chunks if NAME.encode() in c.data)
    assert target in [c.index for c in stream.candidates(chunks)], text
    result = render(data, OVERLAY, Context())
    assert [p.cluster.name for p, _ in result.result.clusters] == [NAME], text
    clusters = [d for d in yamlcodec.load_all(result.output.getvalue().decode()) if cnpg.is_cluster(d)]
    assert "barmanObjectStore" in clusters[0]["spec"]["backup"], text


ISSUE_SPELLINGS = {
    "tagged": "apiVersion: postgresql.cnpg.io/v1\nkind: !!str Cluster\n",
    "anchored": "apiVersion: &v postgresql.cnpg.io/v1\nkind: &k Cluster\n",
    "next line": "apiVersion:\n  postgresql.cnpg.io/v1\nkind:\n  Cluster\n",
    "quoted keys": "'apiVersion': postgresql.cnpg.io/v1\n\"kind\": Cluster\n",
    "escaped": 'apiVersion: "postgresql.cnpg\\x2eio\\/v1"\nkind: "Clu\\\n  ster"\n',
    "flow": "{apiVersion: postgresql.cnpg.io/v1,\n kind: Cluster}\n",
    "json": '{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster"}\n',
    "merge key": "<<: {apiVersion: postgresql.cnpg.io/v1, kind: Cluster}\n",
}


@pytest.mark.parametrize("spelling", ISSUE_SPELLINGS.values(), ids=ISSUE_SPELLINGS.keys())
def test_the_real_cli_edits_clusters_spelled_any_legal_way(spelling):
    doc = yamlcodec.load(spelling)
    doc.update({"metadata": FIXED["metadata"][1], "spec": FIXED["spec"][1]})
    if not spelling.startswith("{"):
        text = spelling + f"metadata: {FIXED['metadata'][0]}\nspec: {FIXED['spec'][0]}\n"
    elif '"' in spelling:
        text = json.dumps(doc) + "\n"
    else:
        text = spelling.replace("}", f", metadata: {FIXED['metadata'][0]}}}", 1)
    result = run_cli("render", "--overlay", str(BACKUPS), stdin=b"---\n" + text.encode() + OTHERS)
    assert result.returncode == 0, result.stderr.decode()
    kinds = [d.get("kind") for d in yamlcodec.load_all(result.stdout.decode())]
    assert kinds == ["Secret", "Cluster", "ScheduledBackup", "ConfigMap"], result.stdout.decode()


def test_documents_that_cannot_be_targets_are_never_built():
    crds = b"".join(b"---\n" + path.read_bytes() for path in CNPG_CRDS)  # "Cluster" and cnpg.io everywhere
    kps = (REAL / "kube-prometheus-stack-with-crds.yaml").read_bytes()
    cluster = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
    docs, unreadable = read_targets(stream.split(crds + kps + cluster))
    assert [obj["kind"] for _, obj in docs] == ["Cluster"] and unreadable == []


UNREADABLE = b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata: {a: postgresql.cnpg.io/v1, b: [}\n"


def test_a_glob_entry_that_matches_nothing_names_the_unreadable_document(tmp_path):
    glob = tmp_path / "glob.yaml"
    glob.write_text(BACKUPS.read_text().replace("    backups:", "    match: {name: 'other-*'}\n    optional: true\n"
                                                                 "    backups:", 1))
    result = run_cli("render", "--overlay", str(glob), stdin=UNREADABLE)
    assert result.returncode == 0 and result.stdout == UNREADABLE
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith("cnpg-render: warning: document 1 (ConfigMap/?): may hold a CNPG object but cannot be "
                               "read (line 5: invalid YAML:")
    assert lines[1].startswith("cnpg-render: warning: ") and "cnpg.main" in lines[1]
    assert "matches no Cluster (the input holds no postgresql.cnpg.io Cluster; document 1 (ConfigMap/?) could not " \
           "be read and may hold one: fix it)" in lines[1]


def test_a_named_entry_that_matches_nothing_names_the_unreadable_document():
    result = run_cli("render", "--overlay", str(BACKUPS), stdin=UNREADABLE)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().splitlines()[-1].endswith(
        "matches no Cluster in the input (the input holds no postgresql.cnpg.io Cluster; document 1 (ConfigMap/?) "
        "could not be read and may hold one: fix it)")


def test_a_broken_document_that_says_it_is_a_cluster_is_an_error():
    broken = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes().replace(b"  instances: 1", b"  instances: [1")
    result = run_cli("render", "--overlay", str(BACKUPS), stdin=broken)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().startswith("cnpg-render: error: document 1 (Cluster/demo-cnpg-main): line ")
