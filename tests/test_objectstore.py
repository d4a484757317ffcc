"""Object-store inspection: pure parsing, error handling, and agreement with the
real barman-cloud tools (moto S3 + PostgreSQL 15)."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from realparts import Barman, MotoS3, free_port, run
from tlsca import make_server_tls

from renderer import walfile
from renderer.objectstore import (
    NO_INFO,
    BaseBackup,
    ObjectStoreError,
    WalSegment,
    backup_from_info,
    classify_wal,
    header_from_bytes,
    history_from_bytes,
    inspect,
    is_wal_name,
    parse_backup_info,
)
from renderer.sensitive import Sensitive
from renderer.stores.s3 import S3Access
from renderer.walchain import HistoryEntry, parse_history
from tests.helpers import s3_access

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
    assert backup.begin_time == datetime(2026, 11, 25, 7, 34, 38, 428621, tzinfo=UTC)
    assert backup.end_time is not None and backup.end_time > backup.begin_time


def test_backup_info_old_time_format_and_missing_values():
    text = "status=FAILED\nbegin_time=Wed Nov 25 07:33:17 2026\nend_time=None\n"
    backup = backup_from_info("x", text)
    assert backup.status == "FAILED"
    assert backup.begin_time == datetime(2026, 11, 25, 7, 33, 17, tzinfo=UTC)
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


def test_backup_from_real_info_has_the_wal_chain_fields():
    backup = backup_from_info("20261128T142707", (FIXTURES / "timeline2" / "backup.info").read_text())
    assert (backup.begin_wal, backup.end_wal, backup.begin_lsn, backup.end_lsn) == \
        ("000000010000000000000007", "000000010000000000000007", 0x700028, 0x700100)
    assert (backup.timeline, backup.system_id, backup.segment_size) == (1, 7713228794461670795, 1 << 20)


def test_backup_info_values_barman_left_unset_or_that_do_not_parse_are_none():
    text = ("status=STARTED\nbegin_wal=000000010000000000000003\nend_wal=None\nbegin_xlog=0/3000028\n"
            "end_xlog=nonsense\ntimeline=x\nsystemid=None\n")
    backup = backup_from_info("x", text)
    assert (backup.begin_wal, backup.end_wal, backup.begin_lsn, backup.end_lsn) == \
        ("000000010000000000000003", None, 0x3000028, None)
    assert (backup.timeline, backup.system_id, backup.segment_size) == (None, None, None)
    assert backup_from_info("x", "begin_wal=00000001000000000000000g\n").begin_wal is None


T0 = datetime(2026, 1, 1, tzinfo=UTC)
SEG = "000000010000000000000003"


def listing(*keys: str):
    """classify_wal over keys (relative to wals/) archived a second apart, in this order."""
    return classify_wal((key, T0 + timedelta(seconds=i)) for i, key in enumerate(keys))


def test_classify_wal_sees_what_each_barman_tool_sees():
    result = listing(
        f"0000000100000000/{SEG}.gz",
        "0000000100000000/000000010000000000000004",
        "0000000100000000/000000010000000000000005.partial",
        "0000000100000000/000000010000000000000002.00000028.backup",
        "00000002.history",
        "00000003.history.bz2",
        "0000000100000000/00000004.history",           # a history file not where a restore asks for it
        "0000000200000000/000000010000000000000006",   # a segment in another timeline's folder
        "0000000100000000/00000001000000000000000a",     # PostgreSQL asks in upper case
        "README",
    )
    assert result.has_wal
    assert result.segments == (WalSegment(SEG, T0), WalSegment("000000010000000000000004", T0 + timedelta(seconds=1)),
                               WalSegment("000000010000000000000005", T0 + timedelta(seconds=2), partial=True))
    assert result.segment_keys[SEG] == f"0000000100000000/{SEG}.gz"
    assert result.history_keys == {2: "00000002.history", 3: "00000003.history.bz2"}


@pytest.mark.parametrize("keys,key,partial", [
    ([f"0000000100000000/{SEG}.gz", f"0000000100000000/{SEG}"], SEG, False),
    ([f"0000000100000000/{SEG}.partial", f"0000000100000000/{SEG}.gz"], f"{SEG}.gz", False),
    ([f"0000000100000000/{SEG}.zst", f"0000000100000000/{SEG}.partial"], f"{SEG}.partial", True),
])
def test_classify_wal_picks_the_object_barman_restores(keys, key, partial):
    """The first key in sorted order wins (barman's _get_wals_to_download)."""
    result = listing(*keys)
    assert (result.segment_keys[SEG], result.segments[0].partial) == (f"0000000100000000/{key}", partial)


@pytest.mark.parametrize("keys,has_wal", [
    ([], False), (["README", "0000000100000000/notes.txt"], False),
    (["00000002.history.gz"], True), (["0000000100000000/000000010000000000000001.00000028.backup"], True),
])
def test_classify_wal_without_segments(keys, has_wal):
    result = listing(*keys)
    assert (result.has_wal, result.segments) == (has_wal, ())


def test_real_wal_header():
    """The first 40 bytes of a real 1 MB segment: its cluster's system id and segment size."""
    raw = (FIXTURES / "timeline2" / "000000010000000000000006.head").read_bytes()
    header = header_from_bytes(raw, "0000000100000000/000000010000000000000006")
    info = backup_from_info("x", (FIXTURES / "timeline2" / "backup.info").read_text())
    assert (header.system_id, header.segment_size, header.timeline, header.block_size) == \
        (info.system_id, info.segment_size, 1, 8192)
    with pytest.raises(ValueError, match="does not belong to a segment of that name"):
        header_from_bytes(raw, "0000000100000000/000000010000000000000007")
    with pytest.raises(ValueError, match="no long header"):
        header_from_bytes(raw[:2] + b"\x00\x00" + raw[4:], "0000000100000000/000000010000000000000006")
    with pytest.raises(ValueError, match="shorter than a WAL page header"):
        header_from_bytes(raw[:39], "0000000100000000/000000010000000000000006")


def _compressors():
    import bz2
    import gzip
    import lzma

    import cramjam

    return {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress,
            ".snappy": lambda d: bytes(cramjam.snappy.compress(d)), ".lz4": lambda d: bytes(cramjam.lz4.compress(d)),
            ".zst": lambda d: bytes(cramjam.zstd.compress(d))}


@pytest.mark.parametrize("payload", ["noise", "zeros"])
@pytest.mark.parametrize("suffix", list(walfile.COMPRESSIONS))
def test_header_from_the_first_bytes_of_a_compressed_segment(suffix, payload):
    """Incompressible data after the header (the worst case for a first block; stored
    chunks and blocks) and zeros (compressed and run-length ones): the header comes out
    of HEAD_BYTES of the object. Formats as barman writes them: test_barman_compressions_are_read."""
    import random

    head = bytearray(64)
    head[2:4], head[8:16], head[24:32], head[32:36] = b"\x02\x00", (3 << 24).to_bytes(8, "little"), \
        (1234).to_bytes(8, "little"), (16 << 20).to_bytes(4, "little")
    rest = random.Random(suffix).randbytes(1536 << 10) if payload == "noise" else bytes(1536 << 10)
    packed = _compressors()[suffix](bytes(head) + rest)  # past every format's first block
    key = f"0000000100000000/000000010000000000000003{suffix}"
    header = header_from_bytes(packed[:walfile.HEAD_BYTES[suffix]], key)
    assert (header.system_id, header.segment_size) == (1234, 16 << 20)
    with pytest.raises(walfile.Unreadable, match=r"not within the first|corrupt"):
        walfile.leading_bytes(packed[:30], suffix)


@pytest.mark.parametrize("suffix,data,message", [
    (".lz4", b"\x00" * 64, "lz4: not an lz4 frame"),
    (".zst", b"\x00" * 64, "zstd: not a zstd frame"),
    (".snappy", b"\xff\x06\x00\x00sNaPpY\x05\x01\x00\x00x", "snappy: unknown chunk type 0x5"),
    (".gz", b"\x1f\x8b" + b"\xff" * 64, "gzip data is corrupt"),
])
def test_what_is_not_the_format_its_suffix_names(suffix, data, message):
    with pytest.raises(walfile.Unreadable, match=message):
        walfile.leading_bytes(data, suffix)


def test_snappy_skippable_chunks_are_skipped():
    packed = _compressors()[".snappy"](bytes(64))
    padded = packed[:10] + b"\xfe\x02\x00\x00\x00\x00" + packed[10:]  # a padding chunk after the stream identifier
    assert walfile.leading_bytes(padded, ".snappy") == bytes(40)


@pytest.mark.parametrize("suffix", [".snappy", ".lz4", ".zst"])
def test_without_cramjam_the_reason_names_the_compression(suffix, monkeypatch):
    packed = _compressors()[suffix](b"\x00" * 100)
    monkeypatch.setitem(__import__("sys").modules, "cramjam", None)
    with pytest.raises(walfile.Unreadable, match=f"{walfile.COMPRESSIONS[suffix]} not readable \\(cramjam"):
        walfile.leading_bytes(packed, suffix)


@pytest.mark.parametrize("suffix", ["", *walfile.COMPRESSIONS])
def test_history_from_bytes(suffix):
    text = (FIXTURES / "timeline2" / "00000002.history").read_bytes()
    packed = _compressors()[suffix](text) if suffix else text
    assert history_from_bytes(packed, f"00000002.history{suffix}") == (HistoryEntry(1, 0x900000, "no recovery target "
                                                                                               "specified"),)
    with pytest.raises(ValueError, match="not below timeline 2"):
        history_from_bytes(_compressors()[".gz"](b"2\t0/1\treason\n"), "00000002.history.gz")
    with pytest.raises(walfile.Unreadable, match="larger than"):
        history_from_bytes(b"#" * (2 << 20), "00000002.history")


@pytest.mark.parametrize("path,expected", [
    ("s3://bucket", ("bucket", "")),
    ("s3://bucket/", ("bucket", "")),
    ("s3://bucket/a/b", ("bucket", "a/b/")),
    ("s3://bucket/a/b/", ("bucket", "a/b/")),
    ("s3://bucket//a//b//", ("bucket", "a/b/")),
])
def test_s3_locate(path, expected):
    location = S3Access().locate(path)
    assert (location.bucket, location.prefix) == expected


@pytest.mark.parametrize("path", ["s3:///nobucket", "bucket/prefix", "gs://bucket/path",
                                  "https://acct.blob.core.windows.net/container/path"])
def test_s3_locate_rejects(path):
    with pytest.raises(ObjectStoreError, match=f"cannot inspect {path}: not an s3://bucket/prefix path"):
        inspect(path, S3Access())


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


def small_layout() -> dict[str, bytes]:
    """Four lineages (keys relative to the destinationPath): ``app`` with a gzip-compressed
    history file and 4 segments, the oldest gzip-compressed with a real page header;
    ``empty`` with empty objects. tests/test_stores.py lays it out on every provider."""
    import gzip

    head = (FIXTURES / "timeline2" / "000000010000000000000006.head").read_bytes()
    put = {"app/wals/0000000100000000/000000010000000000000006.gz": gzip.compress(head + bytes(4096)),
           "app/wals/00000002.history.gz": gzip.compress((FIXTURES / "timeline2" / "00000002.history").read_bytes()),
           "app/base/20261128T142707/backup.info": (FIXTURES / "timeline2" / "backup.info").read_bytes(),
           "app-r1/wals/0000000100000000/000000010000000000000001": b"x", "other/base/x/backup.info": b"status=DONE",
           "empty/wals/0000000100000000/000000010000000000000001": b"", "empty/wals/00000002.history": b""}
    put.update({f"app/wals/0000000100000000/00000001000000000000000{n}": b"x" for n in range(7, 10)})
    return put


@pytest.fixture(scope="module")
def small_store(moto_s3) -> str:
    dest = moto_s3.make_bucket("smallstore") + "/pg"
    client = moto_s3.client()
    for key, body in small_layout().items():
        client.put_object(Bucket="smallstore", Key=f"pg/{key}", Body=body)
    return dest


def test_inspect_reads_only_the_lineages_wanted(moto_s3, small_store):
    access = s3_access(moto_s3)
    state = inspect(small_store, access, wanted=lambda name: name.startswith("app"))
    assert (sorted(state.lineages), state.skipped) == (["app", "app-r1"], ("empty", "other"))
    assert state.server_names == ("app", "app-r1", "empty", "other")
    app = state.lineages["app"]
    assert [s.name for s in app.wal] == [f"00000001000000000000000{n}" for n in range(6, 10)]
    assert app.wal[0].archived_at.tzinfo == UTC
    assert app.histories == {2: (HistoryEntry(1, 0x900000, "no recovery target specified"),)}
    assert (app.wal_system_id, app.wal_segment_size, app.wal_header_issue) == (7713228794461670795, 1 << 20, None)
    assert app.backups[0].system_id == app.wal_system_id
    r1 = state.lineages["app-r1"]
    assert r1.has_wal and r1.wal_system_id is None
    assert r1.wal_header_issue == "000000010000000000000001: the file is shorter than a WAL page header"
    everything = inspect(small_store, access)
    assert everything.lineages.keys() == {"app", "app-r1", "empty", "other"} and everything.skipped == ()
    empty = everything.lineages["empty"]  # S3 refuses a range of an empty object: read as no bytes
    assert (empty.histories, empty.history_issues, empty.wal_header_issue) == \
        ({2: ()}, {}, "000000010000000000000001: the file is shorter than a WAL page header")


def test_the_wal_listing_is_capped(moto_s3, small_store):
    access = s3_access(moto_s3)
    assert len(inspect(small_store, access, wal_cap=5).lineages["app"].wal) == 4  # 5 objects: at the cap
    with pytest.raises(ObjectStoreError) as exc:
        inspect(small_store, access, wal_cap=4)
    assert str(exc.value) == (f"cannot inspect {small_store}: app/wals/ holds more than 4 objects, "
                              "the most one inspection lists")


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def private_https_s3(tmp_path_factory):
    """moto serving HTTPS with a certificate signed by a CA made for this test."""
    s3 = MotoS3(tls=make_server_tls(tmp_path_factory.mktemp("tls"))).start()
    try:
        s3.make_bucket("private")
        s3.client().put_object(Bucket="private", Key="pg/app/wals/00000002.history", Body=b"1\t0/900000\tx\n")
        yield s3
    finally:
        s3.stop()


def test_tls_with_the_ca_bundle(private_https_s3):
    access = S3Access(private_https_s3.endpoint_url, "us-east-1", KEY_ID, SECRET,
                      ca_bundle=str(private_https_s3.tls.ca_file), ca_source="endpointCA Secret minio-ca, key ca.crt")
    assert inspect("s3://private/pg", access).lineages["app"].histories == {2: (HistoryEntry(1, 0x900000, "x"),)}


@pytest.mark.parametrize("which,source", [(None, "the default trust store"), ("other", "endpointCA Secret other")])
def test_tls_fails_closed_without_the_right_ca(private_https_s3, tmp_path, which, source):
    ca = str(make_server_tls(tmp_path).ca_file) if which else None
    access = S3Access(private_https_s3.endpoint_url, "us-east-1", KEY_ID, SECRET, ca_bundle=ca,
                      ca_source="endpointCA Secret other" if ca else None)
    with pytest.raises(ObjectStoreError) as exc:
        inspect("s3://private/pg", access)
    assert str(exc.value) == ("cannot inspect s3://private/pg: "
                              f"TLS verification failed for {private_https_s3.endpoint_url} (CA from {source})")
    _assert_clean(exc.value, "s3://private/pg")


def test_a_ca_bundle_that_is_no_ca_is_refused_before_any_request(private_https_s3, tmp_path):
    for path, why in ((tmp_path / "missing.pem", "cannot be read"),
                      (private_https_s3.tls.key_file, "holds no PEM certificate")):
        with pytest.raises(ObjectStoreError) as exc:
            inspect("s3://private/pg",
                    S3Access(private_https_s3.endpoint_url, "us-east-1", KEY_ID, SECRET, ca_bundle=str(path)))
        assert str(exc.value) == f"cannot inspect s3://private/pg: the CA bundle {path} {why}"


def test_barman_trusts_the_same_ca_through_aws_ca_bundle(realparts, private_https_s3):
    """CNPG hands barman-cloud its endpointCA as AWS_CA_BUNDLE: the same CA lets the real
    tool reach this endpoint, and without it the tool fails too."""
    barman = Barman(private_https_s3)
    assert barman.run("barman-cloud-check-wal-archive", "s3://private/pg/", "fresh", check=False).returncode == 0
    env = {"PATH": os.environ["PATH"], **{k: v for k, v in private_https_s3.env().items() if k != "AWS_CA_BUNDLE"}}
    cmd = [barman.tool("barman-cloud-check-wal-archive"), "--endpoint-url", private_https_s3.endpoint_url, "s3://private/pg/",
           "fresh"]
    assert run(cmd, env=env, check=False).returncode != 0


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


def test_inspect_reports_real_lineage(realparts, used_lineage):
    state = inspect(used_lineage, s3_access(realparts.s3))
    assert set(state.lineages) == {"app", "baseonly", "notwal"}
    app = state.lineages["app"]
    assert app.has_wal and len(app.completed) == 1
    listed = realparts.barman.backup_list(used_lineage, "app")
    assert [b.backup_id for b in app.completed] == [b["backup_id"] for b in listed]
    assert app.completed[0].end_time == datetime.fromisoformat(listed[0]["end_time_iso"])
    assert state.lineages["baseonly"].has_wal is False
    assert len(state.lineages["baseonly"].completed) == 1
    assert inspect(used_lineage + "nothing-here/", s3_access(realparts.s3)).lineages == {}


def test_check_wal_archive_refuses_used_lineage(realparts, used_lineage):
    rc, out = realparts.barman.check_wal_archive(used_lineage, "app")
    assert rc != 0 and "Expected empty archive" in out


@pytest.mark.parametrize("server", ["app", "baseonly", "notwal", "app-r1"])
def test_has_wal_agrees_with_real_check(realparts, used_lineage, server):
    """Our has_wal is exactly barman-cloud-check-wal-archive's verdict."""
    state = inspect(used_lineage, s3_access(realparts.s3))
    lineage = state.lineages.get(server)
    has_wal = bool(lineage and lineage.has_wal)
    rc, out = realparts.barman.check_wal_archive(used_lineage, server)
    assert (rc != 0) == has_wal, out


# --------------------------------------------------------------------------- barman's own objects


COMPRESSED = "s3://lineages/compressed/"
FLAGS = {".gz": "--gzip", ".bz2": "--bzip2", ".xz": "--xz", ".snappy": "--snappy", ".zst": "--zstd", ".lz4": "--lz4"}


def _first_segment(realparts, seeded_lineage, directory: Path) -> Path:
    """The seeded lineage's oldest segment, as PostgreSQL wrote it, in a file of its name."""
    client, location = realparts.s3.client(), S3Access().locate(seeded_lineage.destination)
    bucket, prefix = location.bucket, location.prefix
    keys = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}app/wals/0000000100000000/")["Contents"]
    key = min(o["Key"] for o in keys if is_wal_name(o["Key"]) and o["Key"].rsplit("/", 1)[-1].isalnum())
    path = directory / key.rsplit("/", 1)[-1]
    path.write_bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    return path


def test_barman_compressions_are_read(realparts, seeded_lineage, tmp_path):
    """barman-cloud-wal-archive with each compression it offers, on a real segment and a
    real history file: inspection reads the system id and the history back from each."""
    segment = _first_segment(realparts, seeded_lineage, tmp_path)
    history = tmp_path / "00000002.history"
    history.write_bytes((FIXTURES / "timeline2" / "00000002.history").read_bytes())
    runs = [(flag, path) for flag in FLAGS.values() for path in (segment, history)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda run: realparts.barman.run("barman-cloud-wal-archive", run[0], COMPRESSED,
                                                       run[0].strip("-"), str(run[1])), runs))
    state = inspect(COMPRESSED, s3_access(realparts.s3))
    system_id = int(realparts.pg.psql("SELECT system_identifier FROM pg_control_system()"))
    objects = realparts.s3.client().list_objects_v2(Bucket="lineages", Prefix="compressed/")["Contents"]
    for suffix, flag in FLAGS.items():
        lineage = state.lineages[flag.strip("-")]
        assert {o["Key"] for o in objects if f"/{flag.strip('-')}/" in o["Key"]} == {
            f"compressed/{flag.strip('-')}/wals/0000000100000000/{segment.name}{suffix}",
            f"compressed/{flag.strip('-')}/wals/00000002.history{suffix}"}
        assert (lineage.wal_system_id, lineage.wal_segment_size, lineage.wal_header_issue) == \
            (system_id, 1 << 20, None), suffix
        assert lineage.histories == {2: parse_history(history.read_text(), 2)}, suffix
        assert [s.name for s in lineage.wal] == [segment.name]


def test_has_wal_counts_a_lone_history_file_as_barman_does(realparts, tmp_path):
    history = tmp_path / "00000002.history"
    history.write_bytes((FIXTURES / "timeline2" / "00000002.history").read_bytes())
    realparts.barman.run("barman-cloud-wal-archive", "--gzip", COMPRESSED, "historyonly", str(history))
    lineage = inspect(COMPRESSED, s3_access(realparts.s3), wanted=lambda n: n == "historyonly").lineages["historyonly"]
    assert lineage.has_wal and lineage.wal == ()
    rc, out = realparts.barman.check_wal_archive(COMPRESSED, "historyonly")
    assert rc != 0 and "Expected empty archive" in out


PLACED = "s3://lineages/placed/"


def test_segments_are_where_barman_cloud_wal_restore_finds_them(realparts, seeded_lineage, tmp_path):
    """For each way a segment can sit in wals/, what barman-cloud-wal-restore hands back
    for PostgreSQL's request agrees with ``LineageState.wal``: found or not, and which
    object (contents differ, so the bytes tell)."""
    import cramjam

    segment = _first_segment(realparts, seeded_lineage, tmp_path)
    name, data = segment.name, segment.read_bytes()
    other = data[:-1] + bytes([data[-1] ^ 1])
    folder = name[:16]
    placements = {  # server: ({key under wals/: body}, the bytes barman should deliver or None)
        "right": ({f"{folder}/{name}": data}, data),
        "gzip": ({f"{folder}/{name}.gz": __import__("gzip").compress(data)}, data),
        "otherfolder": ({f"0000000200000000/{name}": data}, None),
        "lowercase": ({f"{folder}/{name.lower()[:-1]}a": data}, None),
        "partialonly": ({f"{folder}/{name}.partial": data}, data),
        "gz-before-partial": ({f"{folder}/{name}.gz": __import__("gzip").compress(data), f"{folder}/{name}.partial":
                               other}, data),
        "partial-before-zst": ({f"{folder}/{name}.zst": bytes(cramjam.zstd.compress(other)),
                                f"{folder}/{name}.partial": data}, data),
    }
    client = realparts.s3.client()
    for server, (objects, _) in placements.items():
        for key, body in objects.items():
            client.put_object(Bucket="lineages", Key=f"placed/{server}/wals/{key}", Body=body)

    def fetch(server: str) -> bytes | None:
        """What PostgreSQL's restore_command gets for the segment's (upper-case) name. Own
        spool: barman spools extra files by WAL name alone and serves them first."""
        out, spool = tmp_path / f"{server}.out", tmp_path / f"{server}.spool"
        proc = realparts.barman.run("barman-cloud-wal-restore", "--spool-dir", str(spool), PLACED, server, name,
                                    str(out), check=False)
        return out.read_bytes() if proc.returncode == 0 else None

    with ThreadPoolExecutor(4) as pool:
        delivered = dict(zip(placements, pool.map(fetch, placements), strict=True))
    state = inspect(PLACED, s3_access(realparts.s3))
    for server, (_, expected) in placements.items():
        assert (delivered[server] == data if expected is not None else delivered[server] is None), server
        wal = state.lineages[server].wal
        assert [s.name for s in wal] == ([name] if expected is not None else []), server
    assert [server for server in placements if state.lineages[server].wal and state.lineages[server].wal[0].partial] \
        == ["partialonly", "partial-before-zst"]
