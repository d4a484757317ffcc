"""The CLI as Helm, ArgoCD and users run it: a subprocess with argv, stdin and env."""

from __future__ import annotations

import pytest

from tests.helpers import FIXTURES, REAL, by_kind, documents, run_cli

INPUT = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
BACKUPS = str(FIXTURES / "overlays" / "backups.yaml")
RECOVERY = str(FIXTURES / "overlays" / "recovery.yaml")
OPTIONAL = str(FIXTURES / "overlays" / "optional.yaml")
SECRET = "hunter2-secret-value"


def write(tmp_path, text: str, name: str = "overlay.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def assert_failed_cleanly(result, *fragments: str) -> str:
    """Exit 1, nothing on stdout, one line on stderr holding `fragments`, no secret."""
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert result.stdout == b""
    assert stderr.startswith("cnpg-render: error: ") and stderr.count("\n") == 1, stderr
    for fragment in fragments:
        assert fragment in stderr
    assert SECRET not in stderr and "AKIAEXAMPLE" not in stderr
    return stderr


def test_options_without_subcommand_mean_render():
    """Helm 3 calls `--post-renderer cnpg-render --post-renderer-args=--overlay=x`."""
    result = run_cli(f"--overlay={BACKUPS}", stdin=INPUT)
    assert result.returncode == 0, result.stderr.decode()
    assert by_kind(documents(result.stdout), "ScheduledBackup")


def test_overlay_from_environment():
    result = run_cli("render", stdin=INPUT, env={"CNPG_RENDER_OVERLAY": BACKUPS})
    assert result.returncode == 0, result.stderr.decode()
    assert by_kind(documents(result.stdout), "Cluster")[0]["spec"]["backup"]


def test_no_overlay_is_an_error():
    assert_failed_cleanly(run_cli("render", stdin=INPUT), "--overlay", "CNPG_RENDER_OVERLAY")


def test_unknown_option_is_a_usage_error():
    result = run_cli("render", "--overlay", BACKUPS, "--bogus", stdin=INPUT)
    assert result.returncode == 2
    assert result.stdout == b""


def test_version_and_help():
    assert run_cli("--version").stdout.decode().startswith("cnpg-render, version ")
    help_text = run_cli("render", "--help").stdout.decode()
    assert "--overlay" in help_text and "--release" in help_text
    assert "Examples:" in run_cli("--help").stdout.decode()


def test_later_overlays_override_earlier_ones_key_by_key():
    result = run_cli("render", "--overlay", BACKUPS, "--overlay", RECOVERY, stdin=INPUT)
    assert result.returncode == 0, result.stderr.decode()
    spec = by_kind(documents(result.stdout), "Cluster")[0]["spec"]
    assert spec["bootstrap"]["recovery"]["source"] == "demo-cnpg-main"
    assert spec["backup"]["barmanObjectStore"]["serverName"] == "demo-cnpg-main-r1"


def test_files_are_read_in_order(tmp_path):
    extra = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n", "extra.yaml")
    result = run_cli("render", "--overlay", BACKUPS, str(FIXTURES / "inputs" / "cluster-main.yaml"), extra)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.endswith(b"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n")


def test_missing_input_file_is_an_error():
    assert_failed_cleanly(run_cli("render", "--overlay", BACKUPS, "no-such-file.yaml"), "no-such-file.yaml")


@pytest.mark.parametrize("blank", [b"", b"\n", b"---\n", b"---\n...\n", b"\xef\xbb\xbf---\n",
                                   b"---\n# HIDDEN: The Secret output has been suppressed\n"])
def test_input_without_documents_passes_through_even_when_an_entry_expects_a_cluster(blank):
    """Helm 3 with --output-dir sends an empty stdin; --hide-secret leaves comment-only documents."""
    result = run_cli("render", "--overlay", BACKUPS, stdin=blank)
    assert (result.returncode, result.stdout, result.stderr) == (0, blank, b"")


def test_untouched_documents_are_byte_identical():
    result = run_cli("render", "--overlay", BACKUPS, stdin=INPUT)
    tail = INPUT[INPUT.index(b"---\n# Source: demo/templates/configmap.yaml"):]
    assert result.stdout.endswith(tail)


def test_kube_prometheus_stack_passes_through_untouched():
    """A real 5 MB render with a bare `=` enum value that PyYAML's safe loader rejects."""
    data = (REAL / "kube-prometheus-stack-with-crds.yaml").read_bytes()
    result = run_cli("render", "--overlay", OPTIONAL, stdin=data)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == data


def test_kube_prometheus_stack_mixed_with_a_cluster():
    data = (REAL / "kube-prometheus-stack-with-crds.yaml").read_bytes()
    result = run_cli("render", "--overlay", BACKUPS, stdin=data + INPUT)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.startswith(data)
    assert b"demo-cnpg-main-sched-backup-daily-backup" in result.stdout


def test_bad_overlay_names_file_line_and_key(tmp_path):
    overlay = write(tmp_path, "cnpg:\n  main:\n    backups:\n      enabeld: true\n")
    assert_failed_cleanly(run_cli("render", "--overlay", overlay, stdin=INPUT),
                          f"{overlay}:4: cnpg.main.backups.enabeld", "did you mean 'enabled'")


def test_overlay_errors_never_show_secret_values(tmp_path):
    overlay = write(tmp_path, "credentials:\n"
                              f"  s3: {{type: s3, bucket: b, secretKey: {SECRET}, acessKey: AKIAEXAMPLE}}\n")
    assert_failed_cleanly(run_cli("render", "--overlay", overlay, stdin=INPUT), "credentials.s3.acessKey")


def test_unparseable_cluster_names_document():
    bad = INPUT + b"---\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: broken\nspec: [\n"
    assert_failed_cleanly(run_cli("render", "--overlay", BACKUPS, stdin=bad),
                          "document 3 (Cluster/broken)", "invalid YAML")


def test_missing_release_names_the_cluster():
    data = INPUT.replace(b"  labels:\n    app.kubernetes.io/instance: demo\n", b"")
    assert_failed_cleanly(run_cli("render", "--overlay", BACKUPS, stdin=data),
                          "Cluster/demo-cnpg-main", "--release")


def test_release_option_sets_destination_path():
    result = run_cli("render", "--overlay", BACKUPS, "--release", "other", stdin=INPUT)
    store = by_kind(documents(result.stdout), "Cluster")[0]["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == "s3://my-bucket/other/cnpg"


def test_unmatched_entry_lists_clusters_found(tmp_path):
    overlay = write(tmp_path, "cnpg:\n  nope: {}\n")
    assert_failed_cleanly(run_cli("render", "--overlay", overlay, stdin=INPUT),
                          "cnpg.nope", "demo/demo-cnpg-main")


def test_two_entries_matching_one_cluster_is_an_error(tmp_path):
    overlay = write(tmp_path, "cnpg:\n  main: {}\n  other: {match: {name: 'demo-*'}}\n")
    assert_failed_cleanly(run_cli("render", "--overlay", overlay, stdin=INPUT),
                          "Cluster/demo-cnpg-main", "cnpg.main", "cnpg.other")


def test_namespace_option_fills_missing_namespace():
    data = INPUT.replace(b"  namespace: demo\n", b"")
    result = run_cli("render", "--overlay", BACKUPS, "--namespace", "fallback", stdin=data)
    docs = documents(result.stdout)
    added = by_kind(docs, "ScheduledBackup") + by_kind(docs, "Secret")
    assert {d["metadata"].get("namespace") for d in added} == {"fallback"}


def test_same_lineage_on_both_sides_is_refused(tmp_path):
    overlay = write(tmp_path, "cnpg:\n  main:\n    backups:\n      revision: ''\n")
    result = run_cli("render", "--overlay", BACKUPS, "--overlay", RECOVERY, "--overlay", overlay, stdin=INPUT)
    assert_failed_cleanly(result, f"{overlay}:4: cnpg.main.backups.revision", "Expected empty archive")


@pytest.mark.parametrize("schedule", ["0 0 * * *", "*/5 * * * *"])
def test_five_field_schedule_is_refused_with_the_six_field_form(tmp_path, schedule):
    overlay = write(tmp_path, "cnpg:\n  main:\n    backups:\n      scheduledBackups:\n"
                              f"        - {{name: d, schedule: '{schedule}'}}\n")
    assert_failed_cleanly(run_cli("render", "--overlay", BACKUPS, "--overlay", overlay, stdin=INPUT),
                          f"'0 {schedule}'")


def test_document_indented_as_a_whole_is_still_a_target():
    indented = b"".join(b"  " + line + b"\n" for line in INPUT.split(b"\n---\n")[0].split(b"\n")[2:] if line)
    result = run_cli("render", "--overlay", BACKUPS, stdin=b"---\n" + indented)
    assert result.returncode == 0, result.stderr.decode()
    assert by_kind(documents(result.stdout), "ScheduledBackup")


def test_the_same_cluster_twice_is_an_error():
    cluster = INPUT.split(b"---\n# Source: demo/templates/configmap.yaml")[0]
    assert_failed_cleanly(run_cli("render", "--overlay", BACKUPS, stdin=cluster + cluster),
                          "document 2 (Cluster/demo-cnpg-main)", "also document 1")


def test_overlay_without_entries_passes_through_with_a_warning(tmp_path):
    overlay = write(tmp_path, "credentials: {}\n")
    result = run_cli("render", "--overlay", overlay, stdin=INPUT)
    assert (result.returncode, result.stdout) == (0, INPUT)
    assert "names no enabled cnpg.<name> entry" in result.stderr.decode()
