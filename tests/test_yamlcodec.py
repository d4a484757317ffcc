"""The one YAML codec: Kubernetes' reading, its limits (resource exhaustion, deep
nesting, huge numbers: a located one-line error, never minutes, gigabytes or a
traceback), merge keys, and writing that every YAML reader reads back alike."""

from __future__ import annotations

import resource

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renderer import yamlcodec
from renderer.yamlcodec import MAX_ALIASES, MAX_DEPTH, MAX_EXPANSION, YamlError
from tests.helpers import CLI, FIXTURES, run_cli

READINGS = [  # plain text -> what Kubernetes (go-yaml v2) reads, and so do we
    ("yes", True), ("Off", False), ("y", True), ("N", False), ("true", True), ("~", None), ("", None),
    ("010", 8), ("0o17", 15), ("0x1F", 31), ("0b101", 5), ("1_000", 1000), ("-0", 0), ("08", 8.0), ("1e3", 1000.0),
    (".5", 0.5), ("-.inf", float("-inf")), ("1:30", "1:30"), ("2024-01-01", "2024-01-01"), ("=", "="),
    ("0B_", "0B_"), ("<<", "<<"), ("!!str 7", "7"), ("!!int '7'", 7), ("!foo bar", "bar"), ("!!binary aGk=", "hi"),
    ("!!binary |\n  aG\n  k=", "hi"), ("!!binary /w==", "\ufffd"),  # go-yaml decodes; JSON keeps the bytes as text
]


@pytest.mark.parametrize("text, value", READINGS, ids=[t or "empty" for t, _ in READINGS])
def test_plain_scalars_read_as_kubernetes_reads_them(text, value):
    assert yamlcodec.load(f"k: {text}\n") == {"k": value}


MERGES = [
    ("a: &a {x: 1, w: 1}\nm: {<<: *a, w: 2}\n", {"x": 1, "w": 2}),
    ("a: &a {x: 1}\nb: &b {x: 2, z: 2}\nm: {<<: [*a, *b]}\n", {"x": 1, "z": 2}),
    ("a: &a {x: 1}\nm:\n  w: 0\n  <<: *a\n  x: 3\n", {"x": 3, "w": 0}),
    ("a: &a {x: 1}\nb: &b {<<: *a, w: 2}\nm: {<<: *b, z: 3}\n", {"x": 1, "w": 2, "z": 3}),
    ("a: {y: 1}\n", None),
]


@pytest.mark.parametrize("text, merged", MERGES)
def test_merge_keys_merge_as_yaml_defines_them(text, merged):
    if merged is None:  # and `y` is a boolean, as a key too (go-yaml v2; the API server sees "true")
        assert yamlcodec.load(text) == {"a": {True: 1}}
    else:
        assert yamlcodec.load(text)["m"] == merged


def test_aliases_are_expanded_into_fresh_values():
    doc = yamlcodec.load("a: &a {x: [1]}\nb: *a\n")
    doc["a"]["x"].append(2)
    assert doc["b"] == {"x": [1]}


REFUSALS = [
    ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a': write each key once"),
    ("a:\n  y: 1\n  n: 2\n  false: 3\n", 4, "duplicate key False: write each key once"),
    ("x: &x 1\na: [" + "*x, " * (MAX_ALIASES + 1) + "]\n", 1,  # the line of the anchor
     f"uses aliases more than {MAX_ALIASES} times: write the values out"),
    ("? [a]\n: 1\n", 1, "a mapping key must be a scalar, not a list"),
    ("a: !!int x\n", 1, "!!int does not fit this value: drop the tag or fix the value"),
    ("a: !!bool maybe\n", 1, "!!bool does not fit this value: drop the tag or fix the value"),
    ("a: !!binary ==\n", 1, "!!binary does not fit this value: drop the tag or fix the value"),
    ("a: <<\nb: {<<: [x]}\n", 2, "a merge key (<<) takes a mapping or a list of mappings"),
    ("a: &a [*a]\n", 1, f"nests deeper than {MAX_DEPTH} levels (an alias used inside its own anchor?)"),
    ("a: " + "[" * 400 + "]" * 400 + "\n", 1, f"nests deeper than {MAX_DEPTH} levels"),
    ("a: " + "1" * 5000 + "\n", 1, "a number of 5000 characters is more than any Kubernetes field holds: "
                                   "quote it if it is text"),
    ("a: [\n", 2, "invalid YAML: while parsing a flow node: did not find expected node content"),
]


@pytest.mark.parametrize("text, line, problem", REFUSALS, ids=[p.split(":")[0][:30] for _, _, p in REFUSALS])
def test_what_the_codec_refuses_it_refuses_with_the_line(text, line, problem):
    with pytest.raises(YamlError) as caught:
        yamlcodec.load(text)
    assert (caught.value.line, caught.value.problem) == (line, problem)


@st.composite
def alias_bombs(draw) -> tuple[str, int]:
    """Levels of anchors, each using the one before `width` times: (text, the number
    of values the aliases add when expanded)."""
    width, depth = draw(st.integers(2, 12)), draw(st.integers(1, 14))
    lines, sizes = ["l0: &l0 [x]"], [2]
    for level in range(1, depth + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
        sizes.append(1 + width * sizes[-1])
    written = 3 + depth  # the document, each level's list, written once, and l0's x
    return "\n".join(lines) + "\n", 1 + sum(sizes) - written


def _size(value) -> int:
    if isinstance(value, dict):
        return 1 + sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_size(v) for v in value)
    return 1


@settings(max_examples=25, deadline=None)  # a refusal expands up to the limit first: ~0.1 s each
@given(alias_bombs())
def test_aliases_expand_within_the_limits_or_are_refused(bomb):
    text, added = bomb
    try:
        doc = yamlcodec.load(text)
    except YamlError as error:
        assert error.problem.startswith("aliases expand to more than") and added > MAX_EXPANSION
    else:
        assert added <= MAX_EXPANSION and _size(doc) == added + text.count("&") + 2


def _limited():
    """A child that may take 20 s of CPU and 1 GiB of memory: an expansion without
    bounds would be killed, not finish."""
    resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def _bomb(levels: int = 9, indent: str = "") -> str:
    lines = [f"{indent}l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{indent}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


CLUSTER = (FIXTURES / "inputs" / "cluster-main.yaml").read_text()
OVERLAY = (FIXTURES / "overlays" / "backups.yaml").read_text()
HOSTILE = {  # name: (manifests, overlay, the one error line's end)
    "alias bomb in a cluster": (CLUSTER.replace("spec:\n", "spec:\n  x:\n" + _bomb(indent="    "), 1), OVERLAY,
                                f"line 12: aliases expand to more than {MAX_EXPANSION} added values: "
                                "write the values out"),
    "alias bomb in an overlay": (CLUSTER, OVERLAY + "    patches:\n    - op: add\n      path: /x\n      value:\n"
                                 + _bomb(indent="        "),
                                 f"aliases expand to more than {MAX_EXPANSION} added values: write the values out"),
    "copies of copies in an overlay's patches": (
        CLUSTER, OVERLAY + "    patches:\n" + "".join(f"    - {{op: copy, from: /spec, path: /spec/x{i}}}\n"
                                                   for i in range(40)),
        f"patches[11]: copy operations add more than {MAX_EXPANSION:,} values to the Cluster: write the values out"),
    "a glob entry's schedules times a thousand Clusters": (
        "".join(CLUSTER.replace("name: demo-cnpg-main", f"name: demo-cnpg-main-{i}", 1) for i in range(1000)),
        OVERLAY.replace("  main:\n", "  main:\n    match: {name: 'demo-cnpg-main-*'}\n", 1).replace(
            "credentials: s3", "credentials: s3\n      scheduledBackups:\n" + "".join(
                f"        - {{name: s{i}, schedule: '0 0 0 * * *'}}\n" for i in range(1000)), 1),
        "cnpg.main.backups: the render would add more than 100,000 objects (ScheduledBackups, Backups, Secrets) "
        "beside the Clusters entries match: match fewer Clusters per entry, or list fewer scheduledBackups and "
        "backups"),
    "400-deep nesting in a cluster": (CLUSTER.replace("spec:\n", "spec:\n  x: " + "[" * 400 + "]" * 400 + "\n", 1),
                                      OVERLAY, f"line 11: nests deeper than {MAX_DEPTH} levels"),
    "400-deep nesting in an overlay": (CLUSTER, OVERLAY + "    patches: " + "[" * 400 + "]" * 400 + "\n",
                                       f"nests deeper than {MAX_DEPTH} levels"),
    "5000-digit integer in a cluster": (CLUSTER.replace("spec:\n", "spec:\n  x: " + "7" * 5000 + "\n", 1), OVERLAY,
                                        "line 11: a number of 5000 characters is more than any Kubernetes field "
                                        "holds: quote it if it is text"),
    "5000-digit integer in an overlay": (CLUSTER, OVERLAY.replace("bucket: my-bucket", "bucket: " + "7" * 5000),
                                         "a number of 5000 characters is more than any Kubernetes field holds: "
                                         "quote it if it is text"),
}


@pytest.mark.parametrize("manifests, overlay_text, problem", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_yaml_gets_one_located_line_within_bounded_time_and_memory(manifests, overlay_text, problem, tmp_path):
    import subprocess

    path = tmp_path / "overlay.yaml"
    path.write_text(overlay_text)
    result = subprocess.run([*CLI, "render", "--overlay", str(path)], input=manifests.encode(), capture_output=True,
                            timeout=60, preexec_fn=_limited, cwd=FIXTURES.parent)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and result.stdout == b"" and stderr.count("\n") == 1, stderr
    assert stderr.startswith("cnpg-render: error: ") and stderr.endswith(problem + "\n"), stderr
    assert (f"{path}:" if overlay_text != OVERLAY else "document 1 (Cluster/demo-cnpg-main)") in stderr


# Strings every reader must read back as the same string once we wrote them.
TRICKY = st.one_of(st.from_regex(r"\A[-+]?(0[xXoObB])?[0-9_.]{0,5}([eE][-+]?[0-9]{0,2})?\Z"),
                   st.sampled_from(["y", "n", "Y", "N", "yes", "off", "~", "null", "", "=", "<<", "1:30", "2024-01-01",
                                    ".inf", ".NaN", "0o17", "True", "- x", "a: b", "#", "'", '"', "@x", "`x"]),
                   st.text(max_size=12))


@settings(max_examples=300, deadline=None)
@given(TRICKY)
def test_what_we_write_reads_back_the_same_for_every_yaml_reader(text):
    import yaml
    from ruamel.yaml import YAML

    for written, read in ((yamlcodec.dump({"k": text}), lambda doc: doc["k"]),  # as a value
                          (yamlcodec.dump({text: "v"}), lambda doc: next(iter(doc)))):  # as a key
        assert read(yamlcodec.load(written)) == text  # us, Kubernetes' reading
        assert read(yaml.load(written, Loader=yaml.SafeLoader)) == text  # YAML 1.1 (PyYAML)
        assert read(YAML(typ="safe", pure=True).load(written)) == text  # YAML 1.2 (ruamel)


def test_load_located_knows_lines_and_the_text_of_plain_non_strings():
    located = yamlcodec.load_located("a:\n  b: 07\n  c: '07'\n  d: [1, x]\n")
    assert located.value == {"a": {"b": 7, "c": "07", "d": [1, "x"]}}
    assert located.lines[("a", "b")] == 2 and located.lines[("a", "d", 1)] == 4
    assert located.texts == {("a", "b"): "07", ("a", "d", 0): "1"}


def test_load_all_and_iter_objects_flatten_lists():
    docs = yamlcodec.load_all("---\nkind: List\nitems: [{kind: A}, {kind: B}]\n---\n---\nkind: C\n")
    assert [o["kind"] for o in yamlcodec.iter_objects(docs)] == ["A", "B", "C"]


KINDS = [
    ("kind: Cluster\n", {"Cluster"}), ("'kind': !!str Cluster\nitems: []\n", {"Cluster", "List"}),
    ("a: {kind: Cluster}\nkind: ConfigMap\n", {"ConfigMap"}), ("- kind: Cluster\n", set()),
    ("a: &k Cluster\nkind: *k\n", None), ("<<: {kind: Cluster}\n", None), ("just text\n", set()),
]


@pytest.mark.parametrize("text, kinds", KINDS)
def test_top_level_kinds_reads_only_the_top_level(text, kinds):
    assert yamlcodec.top_level_kinds(text) == kinds


def test_a_cluster_written_back_keeps_values_other_readers_would_misread(tmp_path):
    cluster = CLUSTER.replace("  instances: 1\n", "  instances: 1\n  x: {a: 'y', b: '08', c: '1e3', d: '0o17'}\n")
    path = tmp_path / "o.yaml"
    path.write_text(OVERLAY)
    result = run_cli("render", "--overlay", str(path), stdin=cluster.encode())
    assert result.returncode == 0, result.stderr.decode()
    assert b"  x:\n    a: 'y'\n    b: '08'\n    c: '1e3'\n    d: '0o17'\n" in result.stdout


RECORDS = {"5000-deep": '"' + "[" * 5000 + "]" * 5000 + '"', "5000-digit": "'" + "7" * 5000 + "'",
           "not JSON": "'{not json'", "not a mapping": "'[1]'"}


@pytest.mark.parametrize("recorded", RECORDS.values(), ids=RECORDS.keys())
def test_a_hostile_migration_record_is_one_line_not_a_traceback(recorded, tmp_path):
    """A second pass reads back the JSON we recorded on a migrated Cluster: what else sits there is refused."""
    cluster = CLUSTER.replace("  labels:\n", f"  annotations:\n    cnpg-render.io/migrated-in-tree-backup: {recorded}\n"
                                             "  labels:\n", 1)
    path = tmp_path / "plugin.yaml"
    path.write_text(OVERLAY.replace("    backups:", "    engine: plugin\n    backups:"))
    result = run_cli("render", "--overlay", str(path), stdin=cluster.encode())
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode() == ("cnpg-render: error: Cluster/demo-cnpg-main: metadata.annotations."
                                      "cnpg-render.io/migrated-in-tree-backup: is not the JSON mapping cnpg-render "
                                      "records: remove the annotation and render again\n")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789_+-.eExob", min_size=1, max_size=8))
def test_a_number_is_typed_by_its_patterns_also_on_the_fast_path(text):
    """Plain decimal integers skip the patterns (no compile on most renders): the
    type must be the one the patterns give."""
    import re

    expected = (yamlcodec._WORDS.get(text) or (yamlcodec._INT if re.fullmatch(yamlcodec._INTEGER, text) else
                yamlcodec._FLOAT if re.fullmatch(yamlcodec._DECIMAL, text) else yamlcodec._STR))
    assert yamlcodec._plain_tag(text) == expected
