"""TrueCharts' naming rules, where the post-renderer must reproduce them: the name a
release gave a `cnpg.<name>` Cluster (`<fullname>-cnpg-<name>`), so a restore under a
new release name finds the old Cluster's lineage (truecharts-cnpg.md §4).

The fullname is `<release>-<chart>`, or the release alone when it already contains the
chart name; lower-cased, cut to 63 characters, a trailing '-' dropped (the common
library's `names.fullname`). The chart name is the `app.kubernetes.io/name` label the
library puts on every object."""

from __future__ import annotations

CHART_LABEL = "app.kubernetes.io/name"
INFIX = "-cnpg-"  # between a release's fullname and the cnpg.<name> of its Clusters


def _helm_name(text: str) -> str:
    """Helm's `lower | trunc 63 | trimSuffix "-"`."""
    return text.lower()[:63].removesuffix("-")


def fullname(release: str, chart: str) -> str:
    chart = _helm_name(chart)
    return _helm_name(release if chart in release else f"{release}-{chart}")


def cluster_in_release(cluster: str, labels: dict, release: str) -> str | None:
    """The name `release` gave the entry that is called `cluster` now; None when the
    Cluster is not named as TrueCharts names it (no chart label, no `-cnpg-` part)."""
    chart = labels.get(CHART_LABEL)
    if not isinstance(chart, str) or not chart or INFIX not in cluster:
        return None
    entry = cluster.rsplit(INFIX, 1)[1]
    return f"{fullname(release, chart)}{INFIX}{entry}"
