"""The local tools: schema, diff and plan, driven through the real CLI."""

from __future__ import annotations

import json

import jsonschema
import yaml

from renderer.report import masked
from tests.helpers import CNPG_CRDS, CRDS, FIXTURES, REAL, REPO, run_cli

EXAMPLE = REPO / "example"
OVERLAY, RESTORE, MANIFESTS = (str(EXAMPLE / n) for n in ("overlay.yaml", "restore.yaml", "manifests.yaml"))


def schema() -> dict:
    result = run_cli("schema")
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft7Validator.check_schema(schema())


def test_schema_accepts_every_overlay_we_ship_and_truecharts_values():
    validator = jsonschema.Draft7Validator(schema())
    overlays = [*FIXTURES.glob("**/overlay.yaml"), *EXAMPLE.glob("*.yaml"), REAL / "truecharts-seed-values.yaml"]
    for path in overlays:
        if path.name == "manifests.yaml":
            continue
        assert not list(validator.iter_errors(yaml.safe_load(path.read_text()))), path


def test_schema_rejects_what_the_loader_rejects():
    validator = jsonschema.Draft7Validator(schema())
    for bad in ({"cnpg": {"main": {"backups": {"servername": "x"}}}}, {"cnpg": {"main": {"mode": "restore"}}},
                {"cnpg": {"main": {"backups": {"retentionPolicy": "30 days"}}}}):
        assert list(validator.iter_errors(bad)), bad


def test_committed_schema_file_is_generated_from_the_model():
    """cnpg-render.schema.json (the modeline target) must be `cnpg-render schema` output."""
    assert json.loads((REPO / "cnpg-render.schema.json").read_text()) == schema()


def test_diff_shows_added_objects_with_secrets_masked():
    result = run_cli("diff", "--overlay", OVERLAY, MANIFESTS)
    out = result.stdout.decode()
    assert result.returncode == 1, result.stderr.decode()  # diff(1): 1 = there are differences
    assert "+kind: ScheduledBackup" in out and "+  backup:" in out
    assert "example-secret-key" not in out and "EXAMPLEACCESSKEY" not in out
    assert "ACCESS_SECRET_KEY: '****'" in out


def test_diff_leaves_untouched_documents_out():
    out = run_cli("diff", "--overlay", OVERLAY, MANIFESTS).stdout.decode()
    assert "Deployment" not in out and "change-me" not in out


def test_diff_colours_only_when_asked():
    assert b"\x1b[32m" in run_cli("diff", "--overlay", OVERLAY, "--color", "always", MANIFESTS).stdout
    assert b"\x1b[" not in run_cli("diff", "--overlay", OVERLAY, MANIFESTS).stdout


def test_masked_reaches_secrets_at_any_depth():
    secret = {"kind": "Secret", "metadata": {"name": "x"}, "stringData": {"a": "one"}, "data": {"c": "three"}}
    nested = {"kind": "List", "items": [{"kind": "List", "items": [secret]}, {"kind": "ConfigMap", "data": {"k": "v"}}]}
    out = masked(nested)
    assert out["items"][0]["items"][0] == {**secret, "stringData": {"a": "****"}, "data": {"c": "****"}}
    assert out["items"][1]["data"] == {"k": "v"}, "only Secrets are masked"
    assert secret["stringData"] == {"a": "one"}, "the input is not changed"


def test_plan_table_shows_both_lineages():
    result = run_cli("plan", "-f", OVERLAY, "-f", RESTORE, MANIFESTS)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "shop/shop-cnpg-main" in out and "shop (overlay)" in out
    assert "s3://shop-backups/prod/shop/cnpg/shop-cnpg-main " in out
    assert "s3://shop-backups/prod/shop/cnpg/shop-cnpg-main-r1" in out


def test_plan_json():
    rows = json.loads(run_cli("plan", "-f", OVERLAY, "-f", RESTORE, "-o", "json", MANIFESTS).stdout)
    assert rows == [{
        "cluster": "shop/shop-cnpg-main", "mode": "recovery",
        "release": {"name": "shop", "from": "overlay", "where": f"{OVERLAY}:14: cnpg.main.release"},
        "recoverySource": {"destinationPath": "s3://shop-backups/prod/shop/cnpg", "serverName": "shop-cnpg-main"},
        "recoveryFrom": None, "restoresOutsideStores": [],
        "backupTarget": {"destinationPath": "s3://shop-backups/prod/shop/cnpg", "serverName": "shop-cnpg-main-r1"},
        "recoveryRevision": "", "backupRevision": "1",
        "schedules": ["shop-cnpg-main-sched-backup-daily (0 0 3 * * *)"],
        "warnings": ["replaced spec.bootstrap rendered by the chart"],
    }]


def test_plan_fails_like_render_on_a_bad_overlay(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cnpg:\n  main:\n    mode: restore\n")
    result = run_cli("plan", "-f", str(bad), MANIFESTS)
    assert (result.returncode, result.stdout) == (1, b"")


def test_validate_accepts_our_output():
    rendered = run_cli("render", "--overlay", OVERLAY, MANIFESTS).stdout
    result = run_cli("validate", "--crds", str(CRDS), stdin=rendered)
    assert (result.returncode, result.stderr) == (0, b"")


def test_validate_reports_one_line_per_problem_with_document_and_field():
    bad = (b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
           b"apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg}\n"
           b"spec:\n  instances: 1\n  backup:\n    barmanObjectStore:\n      destinationPath: s3://b\n"
           b"      wal: {compression: ''}\n      s3Credentials: {inheritFromIAMRole: true}\n")
    result = run_cli("validate", "--crds", str(CRDS), stdin=bad)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 1 and result.stdout == b""
    assert lines == [line for line in lines if line.startswith("cnpg-render: invalid: document 2 (Cluster/pg): ")]
    assert any("spec.backup.barmanObjectStore.wal.compression" in line for line in lines)


def test_validate_without_crds_checks_admission_rules_and_says_so():
    bad = (b"apiVersion: postgresql.cnpg.io/v1\nkind: ScheduledBackup\nmetadata: {name: s}\n"
           b"spec: {schedule: '0 0 * * *', cluster: {name: c}}\n")
    result = run_cli("validate", stdin=bad)
    assert result.returncode == 1
    assert "no --crds" in result.stderr.decode() and "0 0 0 * * *" in result.stderr.decode()


def test_validate_reads_crds_from_a_kubectl_list(tmp_path):
    import yaml as pyyaml

    crds = [pyyaml.load(p.read_text(), Loader=pyyaml.CSafeLoader) for p in CNPG_CRDS]
    (tmp_path / "crds.yaml").write_text(pyyaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": crds}))
    rendered = run_cli("render", "--overlay", OVERLAY, MANIFESTS).stdout
    assert run_cli("validate", "--crds", str(tmp_path), stdin=rendered).returncode == 0


def test_diff_exits_as_diff_does(tmp_path):
    """0: render changes nothing; 1: it changes something (shown); 2: trouble."""
    none = tmp_path / "none.yaml"
    none.write_text("credentials: {}\n")
    same = run_cli("diff", "--overlay", str(none), MANIFESTS)
    assert (same.returncode, same.stdout) == (0, b"")
    assert run_cli("diff", "--overlay", OVERLAY, MANIFESTS).returncode == 1
    assert run_cli("diff", "--overlay", str(tmp_path / "missing.yaml"), MANIFESTS).returncode == 2


def test_documents_are_counted_alike_everywhere(tmp_path):
    """diff, validate, warnings and errors name the same document the same way: the
    second document of the stream is `document 2`, in every channel."""
    stream = (b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
              b"apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\n"
              b"metadata:\n  name: shop-cnpg-main\n  namespace: shop\n  labels: {app.kubernetes.io/instance: shop}\n"
              b"spec:\n  instances: 1\n  backup: {retentionPolicy: 3 days}\n")
    manifests = tmp_path / "m.yaml"
    manifests.write_bytes(stream)
    diff = run_cli("diff", "--overlay", OVERLAY, str(manifests))
    assert b"--- input: document 2 (Cluster/shop-cnpg-main)" in diff.stdout
    assert b"warning: document 2 (Cluster/shop-cnpg-main): replaced spec.backup" in diff.stderr
    validate = run_cli("validate", str(manifests))
    assert b"invalid: document 2 (Cluster/shop-cnpg-main): spec.backup.retentionPolicy" in validate.stderr
    twice = run_cli("render", "--overlay", OVERLAY, stdin=stream + b"---\n" + stream.split(b"---\n")[1])
    assert b"error: document 3 (Cluster/shop-cnpg-main): the same Cluster is also document 2 " in twice.stderr
