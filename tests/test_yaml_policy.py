"""YAML 1.1 vs 1.2: one reading everywhere. A text field takes the text as written or
refuses it with the quoted form to write; booleans read alike through every entry
point; merge keys merge; duplicate keys are refused with their line; an entry that
configures backups without enabling them says so."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renderer import overlay, yamlcodec
from renderer.errors import RenderError
from tests.helpers import FIXTURES, run_cli

CLUSTER = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
HEAD = """credentials:
  s3:
    type: s3
    bucket: {bucket}
    accessKey: AKIAEXAMPLE
    secretKey: {secret}
cnpg:
  main:
    backups:
      enabled: {enabled}
      credentials: s3
      revision: {revision}
"""


def overlay_text(bucket="my-bucket", secret="s3cr3t", enabled="true", revision='""') -> str:
    return HEAD.format(bucket=bucket, secret=secret, enabled=enabled, revision=revision)


def parse(text: str):
    return overlay.parse([("o.yaml", text)])


# (written, what the revision is, or the message's end)
REVISIONS = [
    ("1", "1"), ('"07"', "07"), ("'010'", "010"), ("r2", "r2"), ("1.5", "1.5"),
    ("07", 'YAML 1.1 reads 07 as the number 7, not the text written: quote it: revision: "07"'),
    ("010", 'YAML 1.1 reads 010 as the number 8, not the text written: quote it: revision: "010"'),
    ("1_0", 'YAML 1.1 reads 1_0 as the number 10, not the text written: quote it: revision: "1_0"'),
    ("08", 'YAML 1.1 reads 08 as the number 8.0, not the text written: quote it: revision: "08"'),
    ("1e3", 'YAML 1.1 reads 1e3 as the number 1000.0, not the text written: quote it: revision: "1e3"'),
    ("0x1F", 'YAML 1.1 reads 0x1F as the number 31, not the text written: quote it: revision: "0x1F"'),
    ("1:30", "may hold only letters, digits, '.' and '-' (it becomes part of a serverName), or be auto"),
]


@pytest.mark.parametrize("written, outcome", REVISIONS, ids=[w for w, _ in REVISIONS])
def test_a_revision_is_the_text_written_or_refused_with_the_quoted_form(written, outcome):
    if " " not in outcome:
        assert parse(overlay_text(revision=written)).cnpg["main"].backups.revision == outcome
        return
    with pytest.raises(RenderError) as caught:
        parse(overlay_text(revision=written))
    assert str(caught.value) == f"o.yaml:12: cnpg.main.backups.revision: {outcome}"


@pytest.mark.parametrize("written", ["07", "1_0", "1:30"])
def test_the_real_cli_refuses_a_revision_yaml_would_change(written, tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(overlay_text(revision=written))
    result = run_cli("render", "--overlay", str(path), stdin=CLUSTER)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().startswith(f"cnpg-render: error: {path}:12: cnpg.main.backups.revision: ")
    assert result.stderr.count(b"\n") == 1


# Number-like and boolean-like plain text, as YAML 1.1 and 1.2 readers disagree on it.
NUMBERISH = st.from_regex(r"\A[-+]?(0[xXoObB])?[0-9_]{1,5}(\.[0-9_]{0,3})?([eE][-+]?[0-9]{1,2})?\Z")
BOOLISH = st.sampled_from(["yes", "no", "on", "off", "y", "n", "Y", "N", "true", "False", "YES", "Off"])


@settings(max_examples=200, deadline=None)
@given(st.one_of(NUMBERISH, BOOLISH))
def test_a_text_field_never_holds_other_text_than_written(written):
    try:
        loaded = parse(overlay_text(bucket=written))
    except RenderError as error:
        assert "quote it" in error.what and error.what.endswith(f'bucket: "{written}"'), error.what
    else:
        assert loaded.credentials["s3"].bucket == written


@settings(max_examples=100, deadline=None)
@given(st.one_of(NUMBERISH, BOOLISH).filter(lambda text: len(text) > 2))
def test_a_secret_yaml_would_change_is_refused_without_showing_it(written):
    try:
        loaded = parse(overlay_text(secret=written))
    except RenderError as error:
        assert error.what.endswith("quote it") and written not in str(error), str(error)
    else:
        assert loaded.credentials["s3"].secret_key.reveal() == written


BOOLEANS = ["true", "yes", "on", "y", "True", "YES", "false", "no", "off", "n", "'yes'", "1"]


def _exec_plugin(config: str, tmp_path) -> bool | str:
    path = tmp_path / "config.yaml"
    path.write_text("apiVersion: cnpg-render.io/v1\nkind: CnpgBackup\nmetadata: {name: backups}\n" + config)
    return _outcome(run_cli("kustomize-plugin", str(path), stdin=CLUSTER))


def _krm(config: str) -> bool | str:
    function_config = "".join("  " + line + "\n" for line in config.splitlines())
    items = "".join("  " + line + "\n" if i else "- " + line + "\n"
                    for i, line in enumerate(CLUSTER.decode().split("---\n")[1].splitlines()))
    resource_list = ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n"
                     "  apiVersion: cnpg-render.io/v1\n  kind: CnpgBackup\n  metadata: {name: backups}\n"
                     + function_config + "items:\n" + items)
    result = run_cli("krm", stdin=resource_list.encode())
    return _outcome(result, yamlcodec.load(result.stdout.decode()) if result.returncode == 0 else None)


def _render(config: str, tmp_path) -> bool | str:
    path = tmp_path / "o.yaml"
    path.write_text(config)
    return _outcome(run_cli("render", "--overlay", str(path), stdin=CLUSTER))


def _outcome(result, resource_list=None) -> bool | str:
    """Were backups written (True/False), or the error's message (its `where` differs per entry point)."""
    if result.returncode:
        return result.stderr.decode().rsplit(": ", 1)[-1]
    text = yamlcodec.dump(resource_list["items"]) if resource_list else result.stdout.decode()
    return "barmanObjectStore" in text


@pytest.mark.parametrize("enabled", BOOLEANS)
def test_render_the_exec_plugin_and_krm_read_a_boolean_alike(enabled, tmp_path):
    config = overlay_text(enabled=enabled)
    outcomes = {_render(config, tmp_path), _exec_plugin(config, tmp_path), _krm(config)}
    assert len(outcomes) == 1, outcomes
    expected = {"true": True, "yes": True, "on": True, "y": True, "True": True, "YES": True}.get(enabled, False)
    assert outcomes == ({expected} if enabled not in ("'yes'", "1") else {"must be true or false\n"})


def test_a_merge_key_with_an_override_is_legal_in_an_overlay():
    loaded = parse("credentials:\n  base: &base {type: s3, bucket: shared, accessKey: A, secretKey: S}\n"
                   "  s3:\n    <<: *base\n    bucket: other\ncnpg: {}\n")
    assert (loaded.credentials["s3"].bucket, loaded.credentials["base"].bucket) == ("other", "shared")


def test_a_merge_key_with_an_override_is_legal_in_a_cluster():
    cluster = CLUSTER.replace(b"spec:\n  instances: 1\n", b"spec:\n  <<: &shape {instances: 1, storage: {size: 9Gi}}\n"
                                                          b"  instances: 3\n")
    result = run_cli("render", "--overlay", str(FIXTURES / "overlays" / "backups.yaml"), stdin=cluster)
    assert result.returncode == 0, result.stderr.decode()
    spec = yamlcodec.load_all(result.stdout.decode())[1]["spec"]
    assert (spec["instances"], spec["storage"], "backup" in spec) == (3, {"size": "1Gi"}, True)


@pytest.mark.parametrize("where, text, message", [
    ("cluster", CLUSTER.replace(b"  instances: 1\n", b"  instances: 1\n  instances: 2\n"),
     "cnpg-render: error: document 1 (Cluster/demo-cnpg-main): line 12: "
     "duplicate key 'instances': write each key once"),
    ("overlay", overlay_text().replace("      credentials: s3\n", "      credentials: s3\n      credentials: s4\n"),
     "cnpg-render: error: {overlay}:12: cnpg.main.backups.credentials: "
     "duplicate key 'credentials': write each key once"),
])
def test_a_duplicate_key_is_refused_with_its_line(where, text, message, tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(overlay_text() if where == "cluster" else text)
    result = run_cli("render", "--overlay", str(path), stdin=text if where == "cluster" else CLUSTER)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode() == message.format(overlay=path) + "\n"


def test_an_entry_that_configures_backups_without_enabling_them_says_which_key_to_add(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(overlay_text().replace("      enabled: true\n", ""))
    result = run_cli("render", "--overlay", str(path), stdin=CLUSTER)
    assert result.returncode == 0 and b"barmanObjectStore" not in result.stdout
    assert result.stderr.decode() == (f"cnpg-render: warning: {path}:10: cnpg.main.backups: sets credentials, revision "
                                      "but not enabled, so no backups are written: add enabled: true\n")
    path.write_text(overlay_text(enabled="false"))
    assert run_cli("render", "--overlay", str(path), stdin=CLUSTER).stderr == b""
