"""--check-store reaches the store as CNPG does: with the rendered Cluster's endpoint,
region and endpointCA (inline PEM, a Secret in the manifests, --ca-bundle, or the
Secret read with kubectl), failing closed with a message naming the CA. Against moto
serving HTTPS with a certificate from a CA made for the test. And plan --exit-code."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from realparts import DUMMY_KEY_ID, DUMMY_SECRET, MotoS3
from tlsca import make_server_tls

from tests.helpers import REAL, by_kind, documents, run_cli
from tests.test_cli import INPUT, assert_failed_cleanly, write

CA_SECRET = "minio-ca"


@pytest.fixture(scope="module")
def https_s3(tmp_path_factory):
    s3 = MotoS3(tls=make_server_tls(tmp_path_factory.mktemp("tls"))).start()
    try:
        s3.make_bucket("private")
        yield s3
    finally:
        s3.stop()


def overlay(tmp_path, s3: MotoS3, ca: str | None) -> str:
    ca_line = f"    endpointCA: {ca}\n" if ca else ""
    return write(tmp_path, f"credentials:\n  s3:\n    type: s3\n    url: {s3.endpoint_url}\n    bucket: private\n"
                           f"    accessKey: {DUMMY_KEY_ID}\n    secretKey: {DUMMY_SECRET}\n{ca_line}"
                           "cnpg:\n  main:\n    backups: {enabled: true, credentials: s3, revision: auto}\n")


def inline_pem(s3: MotoS3) -> str:
    return json.dumps(s3.tls.ca_pem)  # a JSON string is a YAML string


def ca_secret(s3: MotoS3) -> bytes:
    data = base64.b64encode(s3.tls.ca_pem.encode()).decode()
    return (f"---\napiVersion: v1\nkind: Secret\nmetadata: {{name: {CA_SECRET}, namespace: demo}}\n"
            f"data: {{ca.crt: {data}}}\n").encode()


def written(result) -> str:
    assert result.returncode == 0, result.stderr.decode()
    return by_kind(documents(result.stdout), "Cluster")[0]["spec"]["backup"]["barmanObjectStore"]["serverName"]


def test_an_inline_endpoint_ca_is_trusted(tmp_path, https_s3):
    path = overlay(tmp_path, https_s3, inline_pem(https_s3))
    assert written(run_cli("render", "--check-store", "-f", path, stdin=INPUT)) == "demo-cnpg-main"


def test_an_endpoint_ca_secret_in_the_manifests_is_trusted(tmp_path, https_s3):
    path = overlay(tmp_path, https_s3, f"{{name: {CA_SECRET}}}")
    result = run_cli("render", "--check-store", "-f", path, stdin=INPUT + ca_secret(https_s3))
    assert written(result) == "demo-cnpg-main"


def test_a_secret_only_the_cluster_holds_fails_closed_and_names_the_ways_to_give_it(tmp_path, https_s3):
    path = overlay(tmp_path, https_s3, f"{{name: {CA_SECRET}}}")
    assert_failed_cleanly(run_cli("render", "--check-store", "-f", path, stdin=INPUT),
                          f"endpointCA names Secret {CA_SECRET} (key ca.crt), which is not in the manifests",
                          "--ca-bundle FILE", "--live-kubectl")


def test_ca_bundle_gives_the_ca_only_the_cluster_holds(tmp_path, https_s3):
    path = overlay(tmp_path, https_s3, f"{{name: {CA_SECRET}}}")
    result = run_cli("render", "--check-store", "--ca-bundle", str(https_s3.tls.ca_file), "-f", path, stdin=INPUT)
    assert written(result) == "demo-cnpg-main"


def test_live_kubectl_reads_the_ca_secret(tmp_path, https_s3):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    encoded = base64.b64encode(https_s3.tls.ca_pem.encode()).decode()
    (bindir / "kubectl").write_text(
        "#!/bin/sh\ncase \"$*\" in\n"
        f"  *'get secret {CA_SECRET} -o jsonpath={{.data.ca\\.crt}} -n demo'*) printf '%s' '{encoded}' ;;\n"
        "  *'get clusters.postgresql.cnpg.io'*) printf 'apiVersion: v1\\nkind: List\\nitems: []\\n' ;;\n"
        "  *) echo \"unexpected: $*\" >&2; exit 1 ;;\nesac\n")
    (bindir / "kubectl").chmod(0o755)
    path = overlay(tmp_path, https_s3, f"{{name: {CA_SECRET}}}")
    import os

    result = run_cli("render", "--check-store", "--live-kubectl", "-f", path, stdin=INPUT,
                     env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    assert written(result) == "demo-cnpg-main"


def test_without_the_ca_tls_fails_closed_naming_the_trust_used(tmp_path, https_s3):
    path = overlay(tmp_path, https_s3, None)
    assert_failed_cleanly(run_cli("render", "--check-store", "-f", path, stdin=INPUT),
                          f"TLS verification failed for {https_s3.endpoint_url}", "default trust store")


def test_a_wrong_ca_fails_closed_naming_where_it_came_from(tmp_path, https_s3):
    other = make_server_tls(tmp_path)
    path = overlay(tmp_path, https_s3, json.dumps(other.ca_pem))
    assert_failed_cleanly(run_cli("render", "--check-store", "-f", path, stdin=INPUT),
                          "TLS verification failed", "the overlay's inline endpointCA")


def test_ca_bundle_needs_check_store(tmp_path, https_s3):
    path = overlay(tmp_path, https_s3, None)
    assert_failed_cleanly(run_cli("render", "--ca-bundle", str(https_s3.tls.ca_file), "-f", path, stdin=INPUT),
                          "--ca-bundle: is the CA for --check-store")


# --------------------------------------------------------------------------- plan --exit-code


def test_plan_exit_code_is_zero_when_every_verdict_is_safe(tmp_path, https_s3):
    path = overlay(tmp_path, https_s3, inline_pem(https_s3))
    result = run_cli("plan", "--check-store", "--exit-code", "-f", path, stdin=INPUT)
    assert result.returncode == 0, result.stderr.decode()
    assert "safe" in result.stdout.decode()


def test_plan_exit_code_is_two_when_a_render_would_be_refused(tmp_path, https_s3):
    body = overlay(tmp_path, https_s3, inline_pem(https_s3))
    path = write(tmp_path,
                 Path(body).read_text() + "    mode: recovery\n    recovery: {credentials: s3, revision: '4'}\n",
                 "restore.yaml")
    result = run_cli("plan", "--check-store", "--exit-code", "-o", "json", "-f", path, stdin=INPUT)
    assert result.returncode == 2, result.stderr.decode()
    (row,) = json.loads(result.stdout)
    assert [p["code"] for p in row["facts"]["problems"]] == ["recovery-source-empty"]


def test_plan_exit_code_is_three_when_a_store_could_not_be_checked(tmp_path):
    """The chart's own store, migrated to the plugin with credentials the overlay does
    not hold, is the one store --check-store cannot read."""
    path = write(tmp_path, "cnpg:\n  pg-cluster:\n    engine: plugin\n")
    result = run_cli("plan", "--check-store", "--exit-code", "-f", path,
                     stdin=(REAL / "cnpg-cluster-chart-standalone-s3.yaml").read_bytes())
    assert result.returncode == 3, result.stderr.decode()
    assert "not checked" in result.stdout.decode() and "the chart's own store" in result.stdout.decode()


def test_plan_exit_code_needs_verdicts(tmp_path, https_s3):
    assert_failed_cleanly(run_cli("plan", "--exit-code", "-f", overlay(tmp_path, https_s3, None), stdin=INPUT),
                          "--exit-code: needs verdicts: add --check-store")
