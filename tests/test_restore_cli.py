"""--check-store, --live, --live-kubectl and plan's verdicts through the real CLI, against
a moto S3 server (the session's) and kubectl-shaped YAML."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import jsonschema
import pytest

from tests import storefacts
from tests.helpers import FIXTURES, REPO, by_kind, documents, run_cli
from tests.test_cli import INPUT, SECRET, assert_failed_cleanly, write

BASE = "demo-cnpg-main"
LIVE = str(FIXTURES / "live" / "clusters-list.yaml")
ORDERS = (b"apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: orders, namespace: shop}\n"
          b"spec: {instances: 1}\n")
ORDERS_OVERLAY = ("credentials:\n"
                  f"  s3: {{type: s3, bucket: backups-prod, accessKey: AKIAEXAMPLE, secretKey: {SECRET}}}\n"
                  "cnpg:\n  orders:\n    backups: {enabled: true, credentials: s3, "
                  "destinationPath: 's3://backups-prod/shop', revision: '%s'}\n")


@pytest.fixture
def bucket(moto_s3):
    """A fresh bucket; returns (name, client)."""
    name = "b-" + uuid.uuid4().hex[:12]
    moto_s3.make_bucket(name)
    return name, moto_s3.client()


def put_lineage(client, bucket: str, server: str, backups: int = 0, wal: bool = True) -> None:
    """A lineage of database SYSTEM_A as barman lays it out: `backups` completed base
    backups (ending 2026-11-01 10:00, 11:00, …) each with the WAL it needs."""
    done = [storefacts.backup(f"2026110{i + 1}T100000", 2 + 2 * i, 3 + 2 * i, ended=600 + 60 * i)
            for i in range(backups)]
    segments = storefacts.wal(1, 1, 2 * backups + 4) if wal or backups else []
    storefacts.put_lineage(client, bucket, "demo/cnpg", storefacts.lineage(server, done, segments))


def overlay(tmp_path, moto_s3, bucket: str, body: str, cred: str | None = None) -> str:
    cred = cred or (f"{{type: s3, url: '{moto_s3.endpoint_url}', bucket: {bucket}, "
                    f"accessKey: AKIAEXAMPLE, secretKey: {SECRET}}}")
    return write(tmp_path, f"credentials:\n  s3: {cred}\ncnpg:\n  main:\n{body}")


RESTORE = ("    mode: recovery\n    backups: {enabled: true, credentials: s3}\n"
           "    recovery: {credentials: s3, revision: '%s'}\n")
AUTO = ("    mode: recovery\n    backups: {enabled: true, credentials: s3, revision: auto}\n"
        "    recovery: {credentials: s3, revision: auto}\n")


def cluster_of(result) -> dict:
    assert result.returncode == 0, result.stderr.decode()
    return by_kind(documents(result.stdout), "Cluster")[0]


# --------------------------------------------------------------------------- flags


def test_live_stdin_conflicts_with_stdin_input():
    assert_failed_cleanly(run_cli("render", "-f", str(FIXTURES / "overlays" / "backups.yaml"), "--live", "-",
                                  stdin=INPUT), "--live -: stdin is already the manifest input")


def test_live_from_stdin_with_manifests_from_a_file(tmp_path):
    manifests = tmp_path / "orders.yaml"
    manifests.write_bytes(ORDERS)
    result = run_cli("render", "-f", write(tmp_path, ORDERS_OVERLAY % "2"), "--live", "-", str(manifests),
                     stdin=Path(LIVE).read_bytes())
    assert cluster_of(result)["spec"]["backup"]["barmanObjectStore"]["serverName"] == "orders-r2"


def test_context_needs_live_kubectl():
    assert_failed_cleanly(run_cli("render", "-f", str(FIXTURES / "overlays" / "backups.yaml"), "--context", "x",
                                  stdin=INPUT), "--context")


def test_live_file_guard_refuses_a_lineage_change(tmp_path):
    result = run_cli("render", "-f", write(tmp_path, ORDERS_OVERLAY % "3"), "--live", LIVE, stdin=ORDERS)
    assert_failed_cleanly(result, "s3://backups-prod/shop/orders-r2", "s3://backups-prod/shop/orders-r3",
                          "--allow-lineage-change")


def test_allow_lineage_change_renders_with_a_pitr_warning(tmp_path):
    result = run_cli("render", "-f", write(tmp_path, ORDERS_OVERLAY % "3"), "--live", LIVE,
                     "--allow-lineage-change", stdin=ORDERS)
    assert cluster_of(result)["spec"]["backup"]["barmanObjectStore"]["serverName"] == "orders-r3"
    warned = result.stderr.decode()
    assert "cnpg-render: warning:" in warned and "Point-in-time recovery has a gap" in warned


def test_missing_live_file_is_one_line(tmp_path):
    assert_failed_cleanly(run_cli("render", "-f", write(tmp_path, ORDERS_OVERLAY % "2"), "--live",
                                  str(tmp_path / "nope.yaml"), stdin=ORDERS), "--live", "cannot read the live state")


def fake_kubectl(tmp_path, body: str) -> dict:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    path = bindir / "kubectl"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bindir}:{os.environ['PATH']}"}


def test_live_kubectl_with_context(tmp_path):
    env = fake_kubectl(tmp_path, f'echo "$@" >> {tmp_path}/args; cat {LIVE}\n')
    result = run_cli("render", "-f", write(tmp_path, ORDERS_OVERLAY % "auto"), "--live-kubectl", "--context",
                     "prod", stdin=ORDERS, env=env)
    assert cluster_of(result)["spec"]["backup"]["barmanObjectStore"]["serverName"] == "orders-r2"
    assert (tmp_path / "args").read_text().splitlines() == [  # the fixture has plugin Clusters: ObjectStores too
        "get clusters.postgresql.cnpg.io -A -o yaml --context prod",
        "get objectstores.barmancloud.cnpg.io -A -o yaml --context prod"]


def test_live_kubectl_failure_is_one_line(tmp_path):
    env = fake_kubectl(tmp_path, 'echo "error: You must be logged in to the server" >&2; exit 1\n')
    assert_failed_cleanly(run_cli("render", "-f", write(tmp_path, ORDERS_OVERLAY % "2"), "--live-kubectl",
                                  stdin=ORDERS, env=env), "--live-kubectl: kubectl get", "logged in")


def test_plain_render_imports_neither_boto3_nor_ruamel():
    code = ("import sys\nfrom renderer.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    rc = e.code\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'ruamel'))\n"
            "print(rc, heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code, "render", "-f", str(FIXTURES / "overlays" / "backups.yaml")],
                          input=INPUT, capture_output=True, cwd=REPO, timeout=60)
    assert proc.stderr.decode().strip().splitlines()[-1] == "0 []"
    assert b"kind: ScheduledBackup" in proc.stdout


# --------------------------------------------------------------------------- --check-store (moto)


def test_check_store_refuses_writing_into_a_lineage_with_wal(tmp_path, moto_s3, bucket):
    name, client = bucket
    put_lineage(client, name, BASE, backups=1)
    put_lineage(client, name, f"{BASE}-r1", backups=1)
    result = run_cli("render", "--check-store", "-f", overlay(tmp_path, moto_s3, name, RESTORE % ""), stdin=INPUT)
    assert_failed_cleanly(result, f"s3://{name}/demo/cnpg/{BASE}-r1, which already holds WAL",
                          "'Expected empty archive'", 'backups.revision "2"')


def test_check_store_refuses_an_empty_recovery_source(tmp_path, moto_s3, bucket):
    name, client = bucket
    put_lineage(client, name, BASE, backups=0)
    result = run_cli("render", "--check-store", "-f", overlay(tmp_path, moto_s3, name, RESTORE % ""), stdin=INPUT)
    assert_failed_cleanly(result, f"recovery source s3://{name}/demo/cnpg/{BASE} holds no completed base backup",
                          "No lineage of this database")


def test_check_store_renders_a_safe_restore_and_auto_matches_it(tmp_path, moto_s3, bucket):
    name, client = bucket
    put_lineage(client, name, BASE, backups=1)
    put_lineage(client, name, f"{BASE}-r1", backups=2)
    explicit = cluster_of(run_cli("render", "--check-store", "-f", overlay(tmp_path, moto_s3, name, RESTORE % "1"),
                                  stdin=INPUT))
    auto = cluster_of(run_cli("render", "--check-store", "-f", overlay(tmp_path, moto_s3, name, AUTO, ), stdin=INPUT))
    assert auto == explicit
    assert explicit["spec"]["backup"]["barmanObjectStore"]["serverName"] == f"{BASE}-r2"


def test_check_store_with_existing_secret_uses_the_aws_environment(tmp_path, moto_s3, bucket):
    name, client = bucket
    put_lineage(client, name, BASE, backups=1)
    cred = f"{{type: s3, url: '{moto_s3.endpoint_url}', bucket: {name}, existingSecret: {{name: s3-creds}}}}"
    path = overlay(tmp_path, moto_s3, name, AUTO, cred)
    no_env = dict.fromkeys(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "")
    no_env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"),
                  AWS_EC2_METADATA_DISABLED="true")
    assert_failed_cleanly(run_cli("render", "--check-store", "-f", path, stdin=INPUT, env=no_env),
                          "--check-store: cannot inspect", "no S3 credentials")
    result = run_cli("render", "--check-store", "-f", path, stdin=INPUT,
                     env={**moto_s3.env(), "AWS_EC2_METADATA_DISABLED": "true"})
    assert cluster_of(result)["spec"]["backup"]["barmanObjectStore"]["serverName"] == f"{BASE}-r1"


def test_check_store_unreachable_endpoint_never_shows_the_secret(tmp_path):
    cred = (f"{{type: s3, url: 'http://user:{SECRET}@127.0.0.1:9', bucket: bkt, "
            f"accessKey: AKIAEXAMPLE, secretKey: {SECRET}}}")
    path = write(tmp_path, f"credentials:\n  s3: {cred}\ncnpg:\n  main:\n{AUTO}")
    assert_failed_cleanly(run_cli("render", "--check-store", "-f", path, stdin=INPUT),
                          "--check-store: cannot inspect s3://bkt/demo/cnpg", "endpoint unreachable")


def test_plan_check_store_table_and_json(tmp_path, moto_s3, bucket):
    name, client = bucket
    put_lineage(client, name, f"{BASE}-r1", backups=0)  # first: its WAL is no newer than the backup's
    put_lineage(client, name, BASE, backups=1)
    path = overlay(tmp_path, moto_s3, name, RESTORE % "")
    table = run_cli("plan", "--check-store", "-f", path, stdin=INPUT)
    assert table.returncode == 0, table.stderr.decode()
    lines = table.stdout.decode().splitlines()
    assert lines[3].split()[:3] == ["CLUSTER", "VERDICT", "SYSTEM"]
    assert lines[4].startswith(f'demo/demo-cnpg-main  would fail "Expected empty archive"  {storefacts.SYSTEM_A}  '
                               f'{BASE} ')
    assert ' ""/"2" ' in lines[4]
    assert lines[4].endswith(f'{BASE} ({storefacts.SYSTEM_A}, 1, newest 2026-11-01T10:00:00+00:00, WAL); {BASE}-r1 '
                             f'({storefacts.SYSTEM_A}, 0, WAL)')
    assert lines[5].startswith(f"demo/demo-cnpg-main: backups would write into s3://{name}/demo/cnpg/{BASE}-r1")
    (row,) = json.loads(run_cli("plan", "--check-store", "-o", "json", "-f", path, stdin=INPUT).stdout)
    facts = row["facts"]
    assert (facts["verdict"], facts["suggested"]) == ("expected-empty-archive",
                                                      {"recoveryRevision": "", "backupRevision": "2"})
    assert (facts["systemID"], facts["newestRecoverablePoint"]["serverName"]) == (str(storefacts.SYSTEM_A), BASE)
    assert [(p["code"], p["where"].endswith("cnpg.main.backups.revision")) for p in facts["problems"]] == \
        [("expected-empty-archive", True)]
    assert [lin["serverName"] for lin in facts["lineagesFound"]] == [BASE, f"{BASE}-r1"]
    assert facts["lineagesFound"][0]["newestEndTime"] == "2026-11-01T10:00:00+00:00"


def test_plan_shows_running_and_recovery_source_empty(tmp_path, moto_s3, bucket):
    name, _ = bucket
    path = overlay(tmp_path, moto_s3, name, RESTORE % "")
    (row,) = json.loads(run_cli("plan", "--check-store", "-o", "json", "-f", path, stdin=INPUT).stdout)
    assert (row["facts"]["verdictText"], row["facts"]["suggested"]["recoveryRevision"]) == (
        "recovery source empty", None)
    live = tmp_path / "live.yaml"
    live.write_text(f"""apiVersion: v1
kind: List
items:
- apiVersion: postgresql.cnpg.io/v1
  kind: Cluster
  metadata: {{name: {BASE}, namespace: demo}}
  spec:
    backup: {{barmanObjectStore: {{destinationPath: 's3://{name}/demo/cnpg', serverName: {BASE}-r1}}}}
    bootstrap: {{recovery: {{source: {BASE}}}}}
    externalClusters:
    - {{name: {BASE}, barmanObjectStore: {{destinationPath: 's3://{name}/demo/cnpg', serverName: {BASE}}}}}
""")
    table = run_cli("plan", "--check-store", "--live", str(live), "-f", path, stdin=INPUT).stdout.decode()
    assert "running: lineage kept" in table


def test_an_s3_credential_cannot_read_an_azure_destination_path(tmp_path, moto_s3, bucket):
    """barman-cloud's aws-s3 provider cannot read an Azure URL, so neither does the check."""
    name, _ = bucket
    body = ("    backups: {enabled: true, credentials: s3, "
            "destinationPath: 'https://acct.blob.core.windows.net/backups/demo'}\n")
    assert_failed_cleanly(run_cli("plan", "--check-store", "-f", overlay(tmp_path, moto_s3, name, body), stdin=INPUT),
                          "--check-store: cannot inspect https://acct.blob.core.windows.net/backups/demo: "
                          "not an s3://bucket/prefix path")


# --------------------------------------------------------------------------- schema


def test_schema_accepts_auto_and_refuses_other_spellings():
    validator = jsonschema.Draft7Validator(json.loads(run_cli("schema").stdout))
    assert not list(validator.iter_errors({"cnpg": {"m": {"backups": {"revision": "auto"},
                                                          "recovery": {"revision": "auto"}}}}))
    assert list(validator.iter_errors({"cnpg": {"m": {"backups": {"revision": "Auto"}}}}))


def test_overlay_refuses_auto_in_another_case(tmp_path):
    path = write(tmp_path, "cnpg:\n  main:\n    backups: {revision: AUTO}\n")
    assert_failed_cleanly(run_cli("render", "-f", path, stdin=INPUT), "write auto in lower case")
