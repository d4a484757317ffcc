"""`backups.alerts`: a PrometheusRule per Cluster that fires when its archive stops
being written — WAL archiving failing or stalled, the last base backup older than its
schedules allow, or the metrics these need missing (then every other alert is blind).

Users who never look in the bucket find out at restore time: archiving can fail for
days while the Cluster shows Ready (paradedb/charts#219, plugin-barman-cloud#842). The
metrics are the ones CNPG exports, per instance pod (`<cluster>-<n>`):

- `cnpg_pg_stat_archiver_last_archived_time` / `_last_failed_time` (epoch, -1 for
  never): CNPG's default monitoring queries, query `pg_stat_archiver`, run on the
  primary only (cloudnative-pg `config/manager/default-monitoring.yaml`);
- `cnpg_collector_pg_wal_archive_status{value="ready"}`: WAL waiting in
  pg_wal/archive_status, from CNPG's built-in collector on every instance
  (cloudnative-pg `docs/src/monitoring.md`, "Predefined set of metrics");
- `cnpg_collector_last_available_backup_timestamp` (in-tree; 0 until the first backup)
  and, for the barman-cloud plugin, `barman_cloud_cloudnative_pg_io_last_available_backup_timestamp`
  (the in-tree metric does not move with plugin backups: cnpg-upstream.md §3.5);
- `cnpg_pg_postmaster_start_time`: default monitoring query `pg_postmaster`, so a
  Cluster that never completed a backup fires once it has run longer than allowed.

The backup-age threshold is the longest time between two activations of the Cluster's
ScheduledBackups (CNPG's cron dialect, `renderer.cron`) plus `backupGrace`."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from renderer.cnpg.meta import cluster_name, companion_metadata
from renderer.errors import Notice, RenderError
from renderer.lineage import Plan

API_VERSION = "monitoring.coreos.com/v1"
_DURATION = re.compile(r"([0-9]+)(ms|y|w|d|h|m|s)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_TIMESTAMP = {"barmanObjectStore": "cnpg_collector_last_available_backup_timestamp",
              "plugin": "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"}
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # schedules repeat: any fixed start gives the same longest gap


def seconds(text: str) -> float | None:
    """A Prometheus duration (`1h30m`) in seconds, or None when it is not one."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _SECONDS[u] for n, u in parts)


def prometheus_rule(plan: Plan) -> tuple[dict | None, list[Notice]]:
    """The PrometheusRule of `plan`'s Cluster, and what was left out and why."""
    cluster, alerts = plan.cluster, plan.entry.backups.alerts
    if cluster.hibernated:
        return None, [Notice(cluster.where, "the Cluster is hibernated: no backup alerts until it wakes "
                                            "(its pods and metrics are gone)")]
    if cluster.namespace is None:
        raise RenderError(alerts.where("enabled"), "alerts select the Cluster's pods by namespace: give the Cluster "
                                                   "a namespace or pass --namespace")
    engine = next((e for e in plan.writers if e in _TIMESTAMP), None)
    if engine is None:
        return None, [Notice(cluster.where, "backups are VolumeSnapshots only: no WAL archive and no backup metric "
                                            "to alert on, so no backup alerts")]
    selector = f'namespace="{cluster.namespace}", pod=~"{cluster_name(cluster.obj)}-[0-9]+"'
    rules = [*_wal_rules(selector, alerts.wal_stalled_for), _metrics_absent(selector)]
    age, notices = _backup_age(plan, selector, _TIMESTAMP[engine])
    rules[2:2] = age
    return _object(plan, rules), notices


def _wal_rules(selector: str, stalled_for: str) -> list[dict]:
    failing = (f"max(cnpg_pg_stat_archiver_last_failed_time{{{selector}}}) > "
               f"max(cnpg_pg_stat_archiver_last_archived_time{{{selector}}})")
    return [
        _rule("CNPGBackupWalArchivingFailing", failing, "5m", "critical",
              "WAL archiving of {cluster} is failing",
              "The last attempt to archive WAL of {cluster} failed, and none has succeeded since: nothing written "
              "since can be restored. Look at the ContinuousArchiving condition (kubectl cnpg status {name} -n "
              "{namespace}), the primary's barman-cloud-wal-archive lines in its log, and the store's credentials; "
              "cnpg-render verify reads the lineage itself."),
        _rule("CNPGBackupWalArchivingStalled",
              f'max(cnpg_collector_pg_wal_archive_status{{{selector}, value="ready"}}) > 0', stalled_for, "warning",
              "WAL of {cluster} waits to be archived",
              "WAL segments of {cluster} have waited in pg_wal/archive_status for " + stalled_for + ": archiving is "
              "stalled or too slow, and pg_wal grows. Look at the ContinuousArchiving condition (kubectl cnpg status "
              "{name} -n {namespace}) and the primary's log."),
    ]


def _backup_age(plan: Plan, selector: str, metric: str) -> tuple[list[dict], list[Notice]]:
    from renderer import cron

    alerts = plan.entry.backups.alerts
    specs = [s.schedule for s in plan.entry.backups.scheduled_backups if not s.suspend]
    gap = cron.longest_gap(specs, _EPOCH) if specs else None
    if gap is None:
        return [], [Notice(plan.cluster.where, "no active schedule takes base backups: no alert on the age of the "
                                               "last backup")]
    grace = seconds(alerts.backup_grace)
    assert grace is not None  # the overlay took backupGrace only as a duration (PROMETHEUS_DURATION)
    limit = int(gap.total_seconds() + grace)
    stamp = f"max({metric}{{{selector}}})"
    expr = (f"(time() - {stamp} > {limit} and {stamp} > 0) or "
            f"({stamp} <= 0 and time() - min(cnpg_pg_postmaster_start_time{{{selector}}}) > {limit})")
    return [_rule("CNPGBackupTooOld", expr, "10m", "warning", "The last base backup of {cluster} is too old",
                  f"No base backup of {{cluster}} completed in the last {_spoken(limit)} (its schedules allow "
                  f"{_spoken(int(gap.total_seconds()))}, plus backupGrace {alerts.backup_grace}). Look at its "
                  "Backups (kubectl get backups -n {namespace}) and kubectl cnpg status {name} -n {namespace}; "
                  "cnpg-render verify reads the lineage itself.")], []


def _metrics_absent(selector: str) -> dict:
    return _rule("CNPGBackupMetricsAbsent", f"absent(cnpg_collector_pg_wal_archive_status{{{selector}}})", "30m",
                 "warning", "No CNPG metrics of {cluster}: its backup alerts are blind",
                 "Prometheus has no cnpg_collector metrics of {cluster}, so the other backup alerts cannot fire. "
                 "Enable spec.monitoring.enablePodMonitor on the Cluster (or add a PodMonitor) and check that "
                 "Prometheus selects it.")


def _rule(alert: str, expr: str, for_: str, severity: str, summary: str, description: str) -> dict:
    return {"alert": alert, "expr": expr, "for": for_, "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": description}}


def _object(plan: Plan, rules: list[dict]) -> dict:
    cluster = plan.cluster
    name, namespace = cluster_name(cluster.obj), cluster.namespace
    words = {"cluster": f"{namespace}/{name}", "name": name, "namespace": namespace}
    for rule in rules:
        rule["labels"].update({"namespace": namespace, "cnpg_cluster": name})
        rule["annotations"] = {k: v.format(**words) for k, v in rule["annotations"].items()}
    metadata = companion_metadata(cluster.obj, f"{name}-backup-alerts", namespace,
                                  labels=plan.entry.backups.alerts.labels)
    return {"apiVersion": API_VERSION, "kind": "PrometheusRule", "metadata": metadata,
            "spec": {"groups": [{"name": f"cnpg-render.{namespace}.{name}.backups", "rules": rules}]}}


def _spoken(total: int) -> str:
    """3600 -> 1h, 90000 -> 25h: hours are how schedules are read."""
    hours, rest = divmod(total, 3600)
    return f"{hours}h" + (f"{rest // 60}m" if rest >= 60 else "") if hours else f"{max(total // 60, 1)}m"
