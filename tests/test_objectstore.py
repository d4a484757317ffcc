"""Object-store inspection: pure parsing, error handling, and agreement with the
real barman-cloud tools (moto S3 + PostgreSQL 15)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from realparts import MotoS3, free_port
from renderer.objectstore import (
    NO_INFO,
    BaseBackup,
    LineageState,
    ObjectStoreError,
    S3Access,
    backup_from_info,
    inspect,
    is_wal_name,
    parse_backup_info,
    split_s3_path,
    state_from_listing,
)
from renderer.sensitive import Sensitive

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "objectstore"
SECRET = "s3cr3t-VALUE-must-not-leak"
KEY_ID = "AKIA-ID-must-not-leak"


# --------------------------------------------------------------------------- pure


def test_parse_real_backup_info():
    """fixtures/objectstore/backup.info was written by barman-cloud-backup 3.19."""
    info = parse_backup_info((FIXTURES / "backup.info").read_text())
    assert info["status"] == "DONE"
    assert info["begin_wal"] == "000000010000000000000007"
    assert info["backup_label"].startswith("'START WAL LOCATION")
    assert "backup_id" not in info  # barman keeps the ID in the folder name only


def test_backup_from_real_info_takes_id_from_folder_and_aware_times():
    backup = backup_from_info("20261125T073438", (FIXTURES / "backup.info").read_text())
    assert backup.backup_id == "20261125T073438"
    assert backup.status == "DONE"
    assert backup.begin_time == datetime(2026, 11, 25, 7, 34, 38, 428621, tzinfo=timezone.utc)
    assert backup.end_time is not None and backup.end_time > backup.begin_time


def test_backup_info_old_time_format_and_missing_values():
    text = "status=FAILED\nbegin_time=Wed Nov 25 07:33:17 2026\nend_time=None\n"
    backup = backup_from_info("x", text)
    assert backup.status == "FAILED"
    assert backup.begin_time == datetime(2026, 11, 25, 7, 33, 17, tzinfo=timezone.utc)
    assert backup.end_time is None


def test_backup_without_info_is_not_completed():
    assert backup_from_info("x", None) == BaseBackup("x", NO_INFO, None, None)


@pytest.mark.parametrize("name,expected", [
    ("000000010000000000000007", True),
    ("000000010000000000000007.gz", True),
    ("000000010000000000000007.zst", True),
    ("000000010000000000000007.partial", True),
    ("000000010000000000000007.00000028.backup", True),
    ("00000002.history", True),
    ("srv/wals/0000000100000000/000000010000000000000001.bz2", True),
    ("README", False),
    ("000000010000000000000007.tar", False),
    ("00000001000000000000007", False),
    ("srv/wals/", False),
])
def test_is_wal_name_matches_barman(name, expected):
    assert is_wal_name(name) is expected


def test_state_from_listing():
    keys = [
        "app/",
        "app/base/20240101T000000/",
        "app/base/20240102T000000/",
        "app/base/20240103T000000/",
        "app/wals/0000000100000000/000000010000000000000003.gz",
        "app-r1/base/20240201T000000/data.tar",
        "junk/wals/notes.txt",
    ]
    infos = {
        "app/base/20240101T000000": "status=DONE\nend_time=2024-01-01 01:00:00+00:00\n",
        "app/base/20240102T000000": "status=DONE\nend_time=2024-01-02 01:00:00+00:00\n",
        "app/base/20240103T000000": "status=FAILED\nend_time=2024-01-03 01:00:00+00:00\n",
    }
    state = state_from_listing("s3://b/p", keys, infos)
    assert state.checked and set(state.lineages) == {"app", "app-r1", "junk"}
    app = state.lineages["app"]
    assert app.has_wal
    assert [b.backup_id for b in app.completed] == ["20240101T000000", "20240102T000000"]
    assert app.newest_end_time == datetime(2024, 1, 2, 1, tzinfo=timezone.utc)
    r1 = state.lineages["app-r1"]
    assert not r1.has_wal and r1.completed == () and r1.backups[0].status == NO_INFO
    assert r1.newest_end_time is None
    assert state.lineages["junk"] == LineageState("junk", (), False)


def test_state_from_empty_listing():
    assert state_from_listing("s3://b/p", [], {}).lineages == {}


@pytest.mark.parametrize("path,expected", [
    ("s3://bucket", ("bucket", "")),
    ("s3://bucket/", ("bucket", "")),
    ("s3://bucket/a/b", ("bucket", "a/b/")),
    ("s3://bucket/a/b/", ("bucket", "a/b/")),
    ("s3://bucket//a//b//", ("bucket", "a/b/")),
])
def test_split_s3_path(path, expected):
    assert split_s3_path(path) == expected


@pytest.mark.parametrize("path", ["s3:///nobucket", "bucket/prefix"])
def test_split_s3_path_rejects(path):
    with pytest.raises(ObjectStoreError, match="not an s3://bucket/prefix path"):
        split_s3_path(path)


@pytest.mark.parametrize("path,word", [
    ("azure://container/path", "Azure"),
    ("https://acct.blob.core.windows.net/container/path", "Azure"),
    ("gs://bucket/path", "Google Cloud Storage"),
    ("ftp://host/path", "unsupported destinationPath scheme 'ftp'"),
])
def test_non_s3_stores_are_not_checked(path, word):
    state = inspect(path, S3Access())
    assert not state.checked and state.lineages == {}
    assert word in state.reason
    assert state.describe() == f"{path}: not checked: {state.reason}"


def test_credentials_are_masked_everywhere():
    access = S3Access("http://127.0.0.1:1", "us-east-1", KEY_ID, SECRET)
    assert isinstance(access.secret_access_key, Sensitive)
    assert access.secret_access_key.reveal() == SECRET
    for text in (repr(access), str(access), f"{access.access_key_id}", str(access.secret_access_key)):
        assert SECRET not in text and KEY_ID not in text


# --------------------------------------------------------------------------- errors (real moto)


def _assert_clean(err: ObjectStoreError, dest: str) -> None:
    """One line, names the destinationPath, no credential anywhere."""
    text = str(err)
    assert "\n" not in text and dest in text
    assert SECRET not in text + repr(err) and KEY_ID not in text + repr(err)


def test_missing_bucket(moto_s3):
    dest = "s3://no-such-bucket/pg"
    with pytest.raises(ObjectStoreError, match="bucket 'no-such-bucket' does not exist") as exc:
        inspect(dest, S3Access(moto_s3.endpoint_url, "us-east-1", KEY_ID, SECRET))
    _assert_clean(exc.value, dest)


def test_unreachable_endpoint():
    dest = "s3://bucket/pg"
    endpoint = f"http://user:{SECRET}@127.0.0.1:{free_port()}"
    with pytest.raises(ObjectStoreError, match=r"endpoint unreachable \(http://127\.0\.0\.1:\d+\)") as exc:
        inspect(dest, S3Access(endpoint, "us-east-1", KEY_ID, SECRET))
    _assert_clean(exc.value, dest)


def test_access_denied():
    """moto with IAM auth on: unknown keys are refused as real S3 refuses them."""
    s3 = MotoS3(extra_env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"}).start()
    try:
        dest = "s3://locked/pg"
        with pytest.raises(ObjectStoreError, match=r"access denied \(InvalidAccessKeyId\)") as exc:
            inspect(dest, S3Access(s3.endpoint_url, "us-east-1", KEY_ID, SECRET))
        _assert_clean(exc.value, dest)
    finally:
        s3.stop()


def test_empty_and_nonexistent_prefix(moto_s3):
    dest = moto_s3.make_bucket("emptybucket")
    access = S3Access(moto_s3.endpoint_url, "us-east-1", "k", "s")
    assert inspect(dest, access).lineages == {}
    assert inspect(dest + "/never/written/", access).lineages == {}


# --------------------------------------------------------------------------- real barman layout


@pytest.fixture(scope="module")
def used_lineage(realparts, seeded_lineage):
    """The seeded lineage ``app`` (WAL + one base backup, by the real tools) plus three
    lineages that must count as empty for barman's check: one holding only a copy of
    the base backup, one holding only a non-WAL object under wals/, and one unused."""
    client, dest = realparts.s3.client(), seeded_lineage.destination
    for obj in client.list_objects_v2(Bucket="lineages", Prefix="pg/app/base/")["Contents"]:
        new_key = obj["Key"].replace("pg/app/", "pg/baseonly/", 1)
        client.copy_object(Bucket="lineages", Key=new_key, CopySource={"Bucket": "lineages", "Key": obj["Key"]})
    client.put_object(Bucket="lineages", Key="pg/notwal/wals/README", Body=b"not a WAL")
    return dest


def _access(realparts) -> S3Access:
    env = realparts.s3.env()
    return S3Access(realparts.endpoint_url, env["AWS_DEFAULT_REGION"],
                    env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])


def test_inspect_reports_real_lineage(realparts, used_lineage):
    state = inspect(used_lineage, _access(realparts))
    assert set(state.lineages) == {"app", "baseonly", "notwal"}
    app = state.lineages["app"]
    assert app.has_wal and len(app.completed) == 1
    listed = realparts.barman.backup_list(used_lineage, "app")
    assert [b.backup_id for b in app.completed] == [b["backup_id"] for b in listed]
    assert app.completed[0].end_time == datetime.fromisoformat(listed[0]["end_time_iso"])
    assert state.lineages["baseonly"].has_wal is False
    assert len(state.lineages["baseonly"].completed) == 1
    assert inspect(used_lineage + "nothing-here/", _access(realparts)).lineages == {}


def test_check_wal_archive_refuses_used_lineage(realparts, used_lineage):
    rc, out = realparts.barman.check_wal_archive(used_lineage, "app")
    assert rc != 0 and "Expected empty archive" in out


@pytest.mark.parametrize("server", ["app", "baseonly", "notwal", "app-r1"])
def test_has_wal_agrees_with_real_check(realparts, used_lineage, server):
    """Our has_wal is exactly barman-cloud-check-wal-archive's verdict."""
    state = inspect(used_lineage, _access(realparts))
    lineage = state.lineages.get(server)
    has_wal = bool(lineage and lineage.has_wal)
    rc, out = realparts.barman.check_wal_archive(used_lineage, server)
    assert (rc != 0) == has_wal, out
