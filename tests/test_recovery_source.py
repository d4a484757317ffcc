"""The chart's own recovery source, replaced by ours: `spec.bootstrap.recovery.source`
names the externalClusters entry the chart's recovery read, and that entry goes. What
the chart wrote there is any YAML value; only a string names an entry."""

from __future__ import annotations

import pytest

from renderer import overlay
from renderer.render import render
from renderer.transform import Context
from tests.helpers import by_kind, documents

OVERLAY = """\
credentials:
  s3: {type: s3, bucket: bkt, accessKey: A, secretKey: S}
cnpg:
  main:
    mode: recovery
    backups: {enabled: true, credentials: s3}
    recovery: {credentials: s3}
"""


def cluster_with(bootstrap: str, external: str = "[{name: old, barmanObjectStore: {destinationPath: s3://x}}]"):
    text = ("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: main, namespace: ns}\n"
            f"spec:\n  instances: 1\n  bootstrap: {bootstrap}\n  externalClusters: {external}\n")
    rendered = render(text.encode(), overlay.parse([("o.yaml", OVERLAY)]), Context(release="r"))
    [cluster] = by_kind(documents(rendered.output.getvalue()), "Cluster")
    return cluster


def test_the_charts_recovery_source_entry_is_replaced():
    spec = cluster_with("{recovery: {source: old}}")["spec"]
    assert [c["name"] for c in spec["externalClusters"]] == [spec["bootstrap"]["recovery"]["source"]]


@pytest.mark.parametrize("bootstrap", ["{recovery: {source: [old]}}", "{recovery: {source: {old: 1}}}"])
def test_a_recovery_source_that_names_no_entry_replaces_none(bootstrap):
    """A list or mapping source once ended the render in an internal error (TypeError,
    AttributeError); it names no entry, so the chart's entries stay beside ours. (A
    recovery that is no mapping is refused with its path: tests/test_cluster_shapes.py.)"""
    cluster = cluster_with(bootstrap)
    names = [c["name"] for c in cluster["spec"]["externalClusters"]]
    assert names == ["old", cluster["spec"]["bootstrap"]["recovery"]["source"]]


def test_an_unnamed_entry_is_not_taken_for_a_missing_source():
    cluster = cluster_with("{initdb: {database: app}}", "[{barmanObjectStore: {destinationPath: s3://x}}]")
    external = cluster["spec"]["externalClusters"]
    assert len(external) == 2 and "name" not in external[0]
