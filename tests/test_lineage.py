"""serverName, destinationPath and revision rules (TrueCharts semantics, traps fixed)."""

from __future__ import annotations

import re

import pytest

from renderer import lineage, overlay, providers
from renderer.errors import RenderError
from renderer.find import Found

CRED = "credentials:\n  s3: {type: s3, bucket: bkt, path: p, accessKey: A, secretKey: S}\n"


def entry_and_overlay(body: str):
    loaded = overlay.parse([("o.yaml", CRED + "cnpg:\n  main:\n" + body)])
    return loaded.cnpg["main"], loaded


CLUSTER = Found(0, None, {}, "db-cnpg-main", None, {}, "document 0 (Cluster/db-cnpg-main)")


def decide(body: str, release: str | None = "rel"):
    entry, loaded = entry_and_overlay(body)
    plan = lineage.plan(entry, loaded, CLUSTER, release)
    return plan, list(plan.notices)


@pytest.mark.parametrize("base,revision,expected", [("db", "", "db"), ("db", "1", "db-r1"),
                                                    ("some-server-name", "20", "some-server-name-r20")])
def test_server_name_appends_revision(base, revision, expected):
    assert lineage.server_name(base, revision) == expected


@pytest.mark.parametrize("path,expected", [("", "s3://bkt/rel/cnpg"), ("p", "s3://bkt/p/rel/cnpg"),
                                           ("/p/", "s3://bkt/p/rel/cnpg"), ("a//b", "s3://bkt/a/b/rel/cnpg")])
def test_default_destination_path_never_has_a_double_slash(path, expected):
    loaded = overlay.parse([("o.yaml", "credentials:\n"
                                       f"  s3: {{type: s3, bucket: bkt, path: '{path}', inheritFromIAMRole: true}}\n")])
    assert providers.destination_path(loaded.credentials["s3"], "rel") == expected


@pytest.mark.parametrize("recovery,backup", [("", "1"), ("1", "2"), ("4", "5"), ("19", "20")])
def test_backup_revision_is_derived_from_recovery(recovery, backup):
    result, _ = decide(f"    mode: recovery\n    backups: {{enabled: true, credentials: s3}}\n"
                       f"    recovery: {{credentials: s3, revision: '{recovery}'}}\n")
    assert result.backup.revision == backup
    assert result.recovery.server_name == lineage.server_name("db-cnpg-main", recovery)


def test_standalone_without_revision_writes_the_bare_name():
    result, _ = decide("    backups: {enabled: true, credentials: s3}\n")
    assert (result.backup.server_name, result.recovery) == ("db-cnpg-main", None)


def test_non_numeric_recovery_revision_needs_explicit_backup_revision():
    with pytest.raises(RenderError, match=re.escape("set backups.revision explicitly")):
        decide("    mode: recovery\n    backups: {enabled: true, credentials: s3}\n"
               "    recovery: {credentials: s3, revision: blue}\n")


def test_collision_is_refused_even_without_target():
    with pytest.raises(RenderError, match="Expected empty archive"):
        decide("    mode: recovery\n    backups: {enabled: true, credentials: s3, revision: '2'}\n"
               "    recovery: {credentials: s3, revision: '2'}\n")


def test_collision_through_server_name_override_is_refused():
    with pytest.raises(RenderError, match=re.escape("o.yaml")):
        decide("    mode: recovery\n    backups: {enabled: true, credentials: s3, serverName: old, revision: ''}\n"
               "    recovery: {credentials: s3, serverName: old}\n")


def test_different_destination_paths_do_not_collide():
    result, notices = decide("    mode: recovery\n"
                             "    backups: {enabled: true, credentials: s3, revision: '', destinationPath: 's3://x/new'}\n"
                             "    recovery: {credentials: s3}\n")
    assert result.backup.folder == "s3://x/new/db-cnpg-main" and not notices


def test_skip_check_allows_collision_with_a_notice():
    result, notices = decide("    mode: recovery\n    skipEmptyWalArchiveCheck: true\n"
                             "    backups: {enabled: true, credentials: s3, revision: ''}\n"
                             "    recovery: {credentials: s3}\n")
    assert result.shared_folder and "share one archive" in notices[0].what


def test_missing_release_is_an_error_naming_the_cluster():
    with pytest.raises(RenderError, match=r"Cluster/db-cnpg-main.*--release"):
        decide("    backups: {enabled: true, credentials: s3}\n", release=None)


def test_explicit_destination_path_needs_no_release():
    result, _ = decide("    backups: {enabled: true, credentials: s3, destinationPath: 's3://x/y'}\n", release=None)
    assert result.backup.destination_path == "s3://x/y"
