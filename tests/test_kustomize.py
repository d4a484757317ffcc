"""CnpgBackup object -> overlay + options (the kustomize/KRM config conversion), the
exec plugin's errors at the user's own lines, and KRM results mapped to items by the
document an error carries, not by its text."""

import copy

import pytest
import yaml
from e2e_helpers import OVERLAYS

from renderer import kustomize
from renderer.errors import RenderError
from tests.helpers import run_cli

CONFIG_FILE = OVERLAYS / "kustomize" / "plain" / "cnpg-backup.yaml"
CONFIG_TEXT = CONFIG_FILE.read_text()
CONFIG = yaml.safe_load(CONFIG_TEXT)
RESOURCE_LIST = yaml.safe_load((OVERLAYS / "krm" / "resource-list.yaml").read_text())


def test_options_are_taken_out_and_the_rest_is_the_overlay():
    overlay, context = kustomize.config_from(CONFIG_TEXT + "namespace: shop\n", "cfg")
    assert (context.release, context.namespace) == ("shop", "shop")
    assert list(overlay.cnpg) == ["main"]


@pytest.mark.parametrize("change, message", [
    ({"kind": "Other"}, "expected a cnpg-render.io/v1 CnpgBackup"),
    ({"release": 3}, "cfg: release: must be a string"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_config_is_a_render_error(change, message):
    with pytest.raises(RenderError, match=message):
        kustomize.config_from(yaml.safe_dump({**CONFIG, **change}), "cfg")


def test_errors_name_the_line_the_user_wrote():
    text = CONFIG_TEXT.replace("mode: standalone", "mode: restore")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "mode: restore" in t)
    with pytest.raises(RenderError) as caught:
        kustomize.config_from(text, "cnpg-backup.yaml")
    assert caught.value.where == f"cnpg-backup.yaml:{line}: cnpg.main.mode"


def kustomization(root, transformers, files):
    (root / "kustomization.yaml").write_text(yaml.safe_dump({"transformers": transformers}))
    for name, text in files.items():
        (root / name).write_text(text)


def sorted_copy(text: str) -> dict:
    """What kustomize hands the plugin: keys sorted, comments gone, ids added."""
    obj = yaml.safe_load(text)
    obj["metadata"].setdefault("annotations", {})["config.kubernetes.io/local-config"] = "true"
    return obj


@pytest.mark.parametrize("layout", ["alone", "second-document", "among-other-transformers"])
def test_user_config_is_found_with_its_line_numbers(tmp_path, layout):
    other = "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: x}\n"
    text = {"alone": CONFIG_TEXT, "second-document": other + "---\n" + CONFIG_TEXT,
            "among-other-transformers": CONFIG_TEXT}[layout]
    files = {"cnpg.yaml": text, "labels.yaml": other}
    kustomization(tmp_path, ["labels.yaml", "cnpg.yaml"], files)
    name, found = kustomize.user_config(sorted_copy(CONFIG_TEXT), str(tmp_path))
    assert name == str(tmp_path / "cnpg.yaml")
    config_lines = CONFIG_TEXT.splitlines()
    assert len(found.splitlines()) == len(text.splitlines()), "line numbers are the file's"
    assert found.splitlines()[-len(config_lines):] == config_lines


@pytest.mark.parametrize("transformers, files", [
    ([], {}),  # listed nowhere
    (["https://example.com/cnpg.yaml"], {}),  # remote: not ours to read
    (["cnpg.yaml"], {"cnpg.yaml": CONFIG_TEXT.replace("revision: \"1\"", "revision: \"2\"")}),  # another object
    (["cnpg.yaml"], {"cnpg.yaml": "key: [unclosed\n"}),  # unreadable
])
def test_user_config_not_found_falls_back_to_kustomizes_copy(tmp_path, transformers, files):
    kustomization(tmp_path, transformers, files)
    assert kustomize.user_config(sorted_copy(CONFIG_TEXT), str(tmp_path)) is None


def test_exec_plugin_error_points_at_the_users_file(tmp_path):
    """Run as kustomize runs the plugin: argv[1] is kustomize's sorted copy, the root
    in KUSTOMIZE_PLUGIN_CONFIG_ROOT; the error names the user's file and line."""
    text = CONFIG_TEXT.replace("mode: standalone", "mode: restore")
    kustomization(tmp_path, ["cnpg-backup.yaml"], {"cnpg-backup.yaml": text})
    (tmp_path / "copy.yaml").write_text(yaml.safe_dump(sorted_copy(text)))
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "mode: restore" in t)
    result = run_cli("kustomize-plugin", str(tmp_path / "copy.yaml"), stdin=b"",
                     env={"KUSTOMIZE_PLUGIN_CONFIG_ROOT": str(tmp_path)})
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().startswith(
        f"cnpg-render: error: {tmp_path / 'cnpg-backup.yaml'}:{line}: cnpg.main.mode")


def test_exec_plugin_names_documents_by_kind_and_name_not_position(tmp_path):
    (tmp_path / "copy.yaml").write_text(CONFIG_TEXT)
    manifests = (OVERLAYS / "kustomize" / "plain" / "manifests.yaml").read_bytes()
    twice = manifests + b"\n---\n" + manifests
    result = run_cli("kustomize-plugin", str(tmp_path / "copy.yaml"), stdin=twice)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and stderr.startswith("cnpg-render: error: Cluster/shop-cnpg-main: "), stderr


def krm_run(rl):
    return yaml.safe_load(kustomize.process_resource_list(yaml.safe_dump(rl, sort_keys=False))[0])


def test_krm_error_at_an_overlay_line_still_names_its_cluster():
    """A lineage collision is reported at the overlay key, and is about a Cluster:
    the result's resourceRef comes from the document the error carries."""
    rl = copy.deepcopy(RESOURCE_LIST)
    main = rl["functionConfig"]["cnpg"]["main"]
    main.update(mode="recovery", recovery={"credentials": "s3", "revision": "1"})
    main["backups"]["revision"] = "1"
    [result] = krm_run(rl)["results"]
    assert result["severity"] == "error" and "backups.revision" in result["message"]
    assert result["resourceRef"] == {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                                     "name": "shop-cnpg-main", "namespace": "shop"}


def test_krm_ref_follows_the_item_even_when_another_item_has_the_same_text_in_a_message():
    """Names in messages cannot mislead the mapping: a ConfigMap named like a document
    reference, placed first, must not get the Cluster's result."""
    rl = copy.deepcopy(RESOURCE_LIST)
    rl["items"][0]["metadata"]["name"] = "document-2"
    rl["items"][1]["spec"]["backup"] = {"retentionPolicy": "7d"}  # makes the Cluster warn
    results = krm_run(rl)["results"]
    assert results and {r["resourceRef"]["kind"] for r in results} == {"Cluster"}


def test_krm_error_about_a_cluster_whose_metadata_is_no_mapping_refers_to_it():
    """Its resourceRef was read from that metadata: an internal error (AttributeError)
    in place of the result saying what is wrong."""
    rl = copy.deepcopy(RESOURCE_LIST)
    rl["functionConfig"]["cnpg"]["main"]["match"] = {"labels": {}}  # matches a Cluster without a name
    rl["items"][1]["metadata"] = "shop-cnpg-main"
    [result] = krm_run(rl)["results"]
    assert result["severity"] == "error" and "metadata must be a mapping" in result["message"]
    assert result["resourceRef"] == {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "name": None}


def test_krm_error_without_a_document_has_no_ref():
    rl = copy.deepcopy(RESOURCE_LIST)
    rl["functionConfig"]["cnpg"]["main"]["mode"] = "sideways"
    [result] = krm_run(rl)["results"]
    assert "resourceRef" not in result and "functionConfig" in result["message"]


@pytest.mark.parametrize("change", [
    lambda rl: rl["functionConfig"].__setitem__("metadata", "x"),
    lambda rl: rl["functionConfig"]["metadata"].__setitem__("annotations", ["x"]),
    lambda rl: rl["items"].append({"kind": "Secret", "metadata": {"annotations": "x"}}),
    lambda rl: rl["items"].append({"kind": "Secret", "metadata": "x"}),
], ids=["config-metadata-text", "config-annotations-list", "item-annotations-text", "item-metadata-text"])
def test_krm_reads_odd_metadata_without_crashing(change):
    """Each of these once ended in an internal error (AttributeError, TypeError) while
    naming the config file or placing generated objects."""
    rl = copy.deepcopy(RESOURCE_LIST)
    change(rl)
    text, _, error = kustomize.process_resource_list(yaml.safe_dump(rl, sort_keys=False))
    assert error is None and yaml.safe_load(text)["items"]
