"""backups.alerts: the PrometheusRule per Cluster — valid against the real PrometheusRule
CRD (kube-prometheus-stack's), every expression parsed by Prometheus' own grammar
(promql-parser, a port of the Prometheus parser), and thresholds from the schedules."""

from __future__ import annotations

import promql_parser
import pytest

from renderer import overlay, stream, yamlcodec
from renderer.errors import RenderError
from renderer.render import render
from renderer.transform import Context
from renderer.validate import Schemas, check_schema
from tests.helpers import FIXTURES, REAL, by_kind, documents, run_cli

INPUT = (FIXTURES / "inputs" / "cluster-main.yaml").read_bytes()
CRED = "credentials:\n  s3: {type: s3, bucket: bkt, accessKey: A, secretKey: S}\n"


def body(backups: str = "", entry: str = "") -> str:
    return (CRED + "cnpg:\n  main:\n" + entry + "    backups:\n      enabled: true\n      credentials: s3\n"
            "      alerts: {enabled: true, labels: {release: kps}}\n" + backups)


def rendered(text: str, data: bytes = INPUT):
    return render(data, overlay.parse([("o.yaml", text)]), Context())


def rule_of(text: str, data: bytes = INPUT) -> dict | None:
    rules = by_kind(documents(rendered(text, data).output.getvalue()), "PrometheusRule")
    return rules[0] if rules else None


def alerts(rule: dict) -> dict[str, dict]:
    return {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}


@pytest.fixture(scope="module")
def prometheus_crd() -> Schemas:
    """The PrometheusRule CRD as kube-prometheus-stack ships it."""
    chunks = stream.split((REAL / "kube-prometheus-stack-with-crds.yaml").read_bytes())
    crd = next(c for c in chunks if b"name: prometheusrules.monitoring.coreos.com\n" in c.data)
    return Schemas.from_documents([yamlcodec.load(crd.body)])


def test_the_rule_is_a_valid_prometheusrule_with_parsable_expressions(prometheus_crd):
    rule = rule_of(body())
    assert check_schema(rule, prometheus_crd) == []
    assert rule["metadata"]["labels"]["release"] == "kps" and rule["metadata"]["namespace"] == "demo"
    assert list(alerts(rule)) == ["CNPGBackupWalArchivingFailing", "CNPGBackupWalArchivingStalled",
                                  "CNPGBackupTooOld", "CNPGBackupMetricsAbsent"]
    for each in alerts(rule).values():
        promql_parser.parse(each["expr"])  # raises on anything Prometheus would refuse
        assert 'pod=~"demo-cnpg-main-[0-9]+"' in each["expr"] and 'namespace="demo"' in each["expr"]


@pytest.mark.parametrize("schedules,limit", [
    ("", 24 * 3600 + 3600),  # the default: daily
    ("      scheduledBackups:\n        - {name: a, schedule: '0 0 0 * * *'}\n"
     "        - {name: b, schedule: '0 0 12 * * *'}\n", 12 * 3600 + 3600),
    ("      scheduledBackups: [{name: w, schedule: '@weekly'}]\n", 7 * 86400 + 3600),
    ("      scheduledBackups: [{name: e, schedule: '@every 6h'}]\n", 6 * 3600 + 3600),
    ("      scheduledBackups:\n        - {name: d, schedule: '@daily'}\n"
     "        - {name: h, schedule: '@hourly', suspend: true}\n", 24 * 3600 + 3600),
])
def test_the_backup_age_limit_is_the_longest_gap_between_schedules_plus_grace(schedules, limit):
    expr = alerts(rule_of(body(schedules)))["CNPGBackupTooOld"]["expr"]
    assert f"> {limit} and" in expr and f"> {limit})" in expr


def test_grace_and_stall_are_the_overlays():
    text = body().replace("alerts: {enabled: true, labels: {release: kps}}",
                          "alerts: {enabled: true, backupGrace: 30m, walStalledFor: 1h}")
    rule = alerts(rule_of(text))
    assert f"> {24 * 3600 + 1800} and" in rule["CNPGBackupTooOld"]["expr"]
    assert rule["CNPGBackupWalArchivingStalled"]["for"] == "1h"


def test_the_plugin_engine_alerts_on_the_plugins_backup_metric():
    expr = alerts(rule_of(body(entry="    engine: plugin\n")))["CNPGBackupTooOld"]["expr"]
    assert "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp" in expr
    assert "cnpg_collector_last_available_backup_timestamp" not in expr


def test_without_an_active_schedule_there_is_no_age_alert_and_a_notice():
    result = rendered(body("      scheduledBackups: [{name: d, schedule: '@daily', suspend: true}]\n"))
    rule = by_kind(documents(result.output.getvalue()), "PrometheusRule")[0]
    assert "CNPGBackupTooOld" not in alerts(rule)
    assert any("no active schedule" in n.what for n in result.notices)


def test_a_hibernated_cluster_gets_no_rule():
    hibernated = INPUT.replace(b"  name: demo-cnpg-main\n", b"  name: demo-cnpg-main\n  annotations:\n"
                                                             b"    cnpg.io/hibernation: \"on\"\n", 1)
    result = rendered(body(), hibernated)
    assert by_kind(documents(result.output.getvalue()), "PrometheusRule") == []
    assert any("hibernated: no backup alerts" in n.what for n in result.notices)


def test_alerts_need_backups_enabled():
    text = CRED + "cnpg:\n  main:\n    backups:\n      alerts: {enabled: true}\n"
    with pytest.raises(RenderError, match=r"o.yaml:6: cnpg.main.backups.alerts.enabled: alerts watch the archive"):
        overlay.parse([("o.yaml", text)])


def test_a_duration_prometheus_would_refuse_is_refused_at_its_line():
    with pytest.raises(RenderError, match=r"backups.alerts.backupGrace: must be a Prometheus duration"):
        overlay.parse([("o.yaml", body().replace("labels: {release: kps}", "backupGrace: 1.5h"))])


def test_rendering_twice_keeps_one_rule_and_the_same_bytes(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text(body())
    once = run_cli("render", "-f", str(path), stdin=INPUT)
    twice = run_cli("render", "-f", str(path), stdin=once.stdout)
    assert once.returncode == twice.returncode == 0 and once.stdout == twice.stdout
    assert len(by_kind(documents(twice.stdout), "PrometheusRule")) == 1
