"""The plugin engine and the in-tree -> plugin migration, beyond the golden cases:
the edges where it must refuse, keep or leave alone."""

from __future__ import annotations

import re
import textwrap

import pytest

from renderer import overlay
from renderer.errors import RenderError
from renderer.render import render
from renderer.transform import Context
from tests.helpers import REAL, by_kind, documents

STANDALONE_S3 = (REAL / "cnpg-cluster-chart-standalone-s3.yaml").read_bytes()
CRED = "credentials:\n  s3: {type: s3, bucket: other, inheritFromIAMRole: true}\n"


def run(overlay_text: str, stream: bytes = STANDALONE_S3):
    loaded = overlay.parse([("o.yaml", overlay_text)])
    rendered = render(stream, loaded, Context())
    return documents(rendered.output.getvalue()), [str(n) for n in rendered.notices]


def cluster_of(docs) -> dict:
    [cluster] = by_kind(docs, "Cluster")
    return cluster


def with_cluster_spec(extra: str) -> bytes:
    """The chart's in-tree render with `extra` YAML added under the Cluster's spec."""
    return STANDALONE_S3.replace(b"spec:\n  instances: 1\n",
                                 b"spec:\n  instances: 1\n" + textwrap.indent(extra, "  ").encode(), 1)


def test_migration_keeps_the_charts_folder_even_with_the_overlays_store():
    docs, notices = run(CRED + "cnpg:\n  pg-cluster:\n    engine: plugin\n"
                               "    backups: {enabled: true, credentials: s3}\n")
    [store] = by_kind(docs, "ObjectStore")
    assert store["spec"]["configuration"]["destinationPath"] == "s3://db-backups/v1"
    assert store["spec"]["configuration"]["s3Credentials"] == {"inheritFromIAMRole": True}
    assert cluster_of(docs)["spec"]["plugins"][0]["parameters"]["serverName"] == "pg-cluster"
    assert any("keeping destinationPath s3://db-backups/v1, serverName pg-cluster" in n for n in notices)


def test_migration_says_when_the_overlay_moves_the_archive():
    _, notices = run(CRED + textwrap.dedent("""\
        cnpg:
          pg-cluster:
            engine: plugin
            backups: {enabled: true, credentials: s3, destinationPath: "s3://new/x", serverName: pg}
        """))
    assert any("archiving moves from s3://db-backups/v1/pg-cluster to s3://new/x/pg, which must hold no WAL yet" in n
               for n in notices)


def test_migration_keeps_the_lineage_rules():
    """A restore that would write where it reads is refused, also for a carried-over store."""
    with pytest.raises(RenderError, match="backups would write into the lineage being recovered"):
        run(CRED + textwrap.dedent("""\
            cnpg:
              pg-cluster:
                engine: plugin
                mode: recovery
                backups: {revision: ""}
                recovery: {credentials: s3, destinationPath: "s3://db-backups/v1"}
            """))


def test_the_chart_spec_backup_keeps_what_is_not_in_tree():
    stream = STANDALONE_S3.replace(b"  backup:\n", b"  backup:\n    volumeSnapshot: {className: csi}\n", 1)
    docs, _ = run("cnpg:\n  pg-cluster:\n    engine: plugin\n", stream)
    assert cluster_of(docs)["spec"]["backup"] == {"volumeSnapshot": {"className": "csi"}, "target": "prefer-standby"}


def test_other_plugins_stay_and_a_second_archiver_is_refused():
    docs, _ = run("cnpg:\n  pg-cluster:\n    engine: plugin\n",
                  with_cluster_spec("plugins:\n  - name: other.example.com\n    parameters: {a: b}\n"))
    assert [p["name"] for p in cluster_of(docs)["spec"]["plugins"]] == ["other.example.com",
                                                                         "barman-cloud.cloudnative-pg.io"]
    with pytest.raises(RenderError, match=re.escape("already has the WAL archiver 'other.example.com'")):
        run("cnpg:\n  pg-cluster:\n    engine: plugin\n",
            with_cluster_spec("plugins:\n  - name: other.example.com\n    isWALArchiver: true\n"))


def test_in_tree_engine_refuses_a_cluster_that_archives_through_a_plugin():
    with pytest.raises(RenderError, match="set engine: plugin"):
        run(CRED + "cnpg:\n  pg-cluster:\n    backups: {enabled: true, credentials: s3}\n",
            with_cluster_spec("plugins:\n  - name: barman-cloud.cloudnative-pg.io\n    isWALArchiver: true\n"))


def test_an_object_store_never_shares_a_secrets_name():
    with pytest.raises(RenderError, match="plugin-barman-cloud#502"):
        run(textwrap.dedent("""\
            credentials:
              s3: {type: s3, bucket: b, existingSecret: {name: pg-cluster-backup-objectstore}}
            cnpg:
              pg-cluster:
                engine: plugin
                backups: {enabled: true, credentials: s3}
            """))


@pytest.mark.parametrize("method,switched", [("", True), ("barmanObjectStore", True), ("volumeSnapshot", False),
                                             ("plugin", False)])
def test_only_the_charts_in_tree_scheduled_backups_are_switched(method, switched):
    stream = STANDALONE_S3.replace(b"  method: \n", f"  method: {method}\n".encode())
    docs, _ = run("cnpg:\n  pg-cluster:\n    engine: plugin\n", stream)
    [scheduled] = by_kind(docs, "ScheduledBackup")
    assert (scheduled["spec"]["method"] == "plugin" and "pluginConfiguration" in scheduled["spec"]) == switched


def test_scheduled_backups_of_other_clusters_are_left_alone():
    stream = STANDALONE_S3.replace(b"  cluster:\n    name: pg-cluster\n", b"  cluster:\n    name: someone-else\n")
    docs, _ = run("cnpg:\n  pg-cluster:\n    engine: plugin\n", stream)
    assert by_kind(docs, "ScheduledBackup")[0]["spec"]["method"] is None


def test_the_in_tree_engine_leaves_the_charts_scheduled_backups_alone():
    docs, _ = run(CRED + "cnpg:\n  pg-cluster:\n    backups: {enabled: true, credentials: s3, scheduledBackups: []}\n")
    assert by_kind(docs, "ScheduledBackup")[0]["spec"]["method"] is None
