"""`cnpg-render bump`: golden before/after overlays (comments, key order, quoting and
indentation kept), the layering rule, its refusals, and --check-store against moto.

A case is a folder under fixtures/bump/: overlay files `N-*.yaml` (given in name
order; the last is edited), `expected.yaml` (the last file after bump) and
`expected.stdout` (`{dir}` stands for the folder the files were copied to).
CNPG_RENDER_REGEN=1 rewrites the expectations for review."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests import storefacts
from tests.helpers import FIXTURES, by_kind, documents, run_cli
from tests.test_cli import INPUT, assert_failed_cleanly, write

CASES = sorted(p for p in (FIXTURES / "bump").iterdir() if p.is_dir())
REGEN = os.environ.get("CNPG_RENDER_REGEN") == "1"


def overlay_files(case) -> list:
    return sorted(p for p in case.glob("*.yaml") if p.name[0].isdigit())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bump_golden(case, tmp_path):
    files = []
    for source in overlay_files(case):
        shutil.copy(source, tmp_path / source.name)
        files.append(tmp_path / source.name)
    result = run_cli("bump", "main", *[a for f in files for a in ("-f", str(f))])
    assert result.returncode == 0, result.stderr.decode()
    stdout = result.stdout.decode().replace(str(tmp_path), "{dir}")
    after = files[-1].read_text()
    if REGEN:
        (case / "expected.yaml").write_text(after)
        (case / "expected.stdout").write_text(stdout)
    assert after == (case / "expected.yaml").read_text()
    assert stdout == (case / "expected.stdout").read_text()
    for source, copy in zip(overlay_files(case)[:-1], files[:-1]):  # layers below the top are never edited
        assert copy.read_bytes() == source.read_bytes()
    # Only the lines bump reports changed differ: same line count minus additions.
    before = overlay_files(case)[-1].read_text().splitlines()
    kept = [line for line in before if line in after.splitlines()]
    changed = sum(1 for line in stdout.splitlines() if line.startswith("{dir}") and "(unset)" not in line)
    if "{" not in "".join(before[2:]):  # block style: every other line survives byte for byte
        assert len(before) - len(kept) <= changed


def test_bump_then_render_reads_what_was_written(tmp_path):
    """The lineage written before bump is the one read after it; the write side moves on."""
    path = tmp_path / "overlay.yaml"
    shutil.copy(FIXTURES / "overlays" / "backups.yaml", path)

    def sides():
        cluster = by_kind(documents(run_cli("render", "-f", str(path), stdin=INPUT).stdout), "Cluster")[0]
        ext = (cluster["spec"].get("externalClusters") or [{}])[0].get("barmanObjectStore", {})
        return ext.get("serverName"), cluster["spec"]["backup"]["barmanObjectStore"]["serverName"]

    written = []
    for _ in range(3):
        written.append(sides()[1])
        assert run_cli("bump", "main", "-f", str(path)).returncode == 0
        assert sides()[0] == written[-1]
    assert written == ["demo-cnpg-main", "demo-cnpg-main-r1", "demo-cnpg-main-r2"]


@pytest.mark.parametrize("body,fragment", [
    ("cnpg:\n  main: {}\n", "backups are not enabled"),
    ("credentials: {s3: {type: s3, bucket: b, inheritFromIAMRole: true}}\n"
     "cnpg:\n  main: {backups: {enabled: true, credentials: s3, revision: blue}}\n",
     "cannot number the revision after 'blue'"),
    ("credentials: {s3: {type: s3, bucket: b, inheritFromIAMRole: true}}\n"
     "cnpg:\n  main: {backups: {enabled: true, credentials: s3, revision: auto}}\n", "pass --check-store"),
    ("cnpg:\n  other: {}\n", "cnpg.main: no such entry in the overlay (known: other)"),
    ("cnpg:\n  main: {backups: {enabled: true, volumeSnapshot: {className: csi}}}\n", "names no object store"),
])
def test_bump_refusals_leave_the_file_alone(tmp_path, body, fragment):
    path = write(tmp_path, body)
    assert_failed_cleanly(run_cli("bump", "main", "-f", path), fragment)
    assert Path(path).read_text() == body


def test_bump_reads_manifests_only_with_check_store(tmp_path):
    path = write(tmp_path, (FIXTURES / "overlays" / "backups.yaml").read_text())
    assert_failed_cleanly(run_cli("bump", "main", "-f", path, "manifests.yaml"), "only with --check-store")


def test_bump_check_store_refuses_backups_that_write_no_object_store_lineage(tmp_path):
    """VolumeSnapshot backups write no lineage to read: once an internal error
    (AttributeError) when bump asked the store about the write side it does not have."""
    path = write(tmp_path, "credentials: {s3: {type: s3, bucket: b, inheritFromIAMRole: true}}\n"
                           "cnpg:\n  main:\n    backups: {enabled: true, volumeSnapshot: {className: csi}}\n"
                           "    recovery: {credentials: s3}\n")
    before = (tmp_path / "overlay.yaml").read_text()
    assert_failed_cleanly(run_cli("bump", "main", "-f", path, "--check-store", stdin=INPUT),
                          "--check-store: Cluster demo/demo-cnpg-main writes no object-store lineage")
    assert (tmp_path / "overlay.yaml").read_text() == before


def _store_overlay(tmp_path, moto_s3, bucket: str, recovery: str = "") -> str:
    return write(tmp_path, f"credentials:\n  s3:  # the store\n    type: s3\n    url: '{moto_s3.endpoint_url}'\n"
                           f"    bucket: {bucket}\n    accessKey: AKIAEXAMPLE\n    secretKey: hunter2-secret-value\n"
                           "cnpg:\n  main:\n    mode: recovery\n    backups: {enabled: true, credentials: s3}\n"
                           f"    recovery: {{credentials: s3, revision: ''{recovery}}}\n")


def _lineages(moto_s3, *lineages) -> str:
    """A bucket holding `lineages` (laid out in this order, a second apart)."""
    bucket = "b-" + uuid.uuid4().hex[:12]
    moto_s3.make_bucket(bucket)
    for i, lineage in enumerate(lineages):
        if i:
            time.sleep(1.1)  # the store's clock has whole seconds: the next one is archived later
        storefacts.put_lineage(moto_s3.client(), bucket, "demo/cnpg", lineage)
    return bucket


# The lineage the lost Cluster wrote first, and a newer one that got WAL but no base backup.
RESTORED = storefacts.lineage("demo-cnpg-main", [storefacts.backup("20261101T000000", 2, 3, ended=5)],
                              storefacts.wal(1, 1, 9))
WAL_ONLY = storefacts.lineage("demo-cnpg-main-r1", [], storefacts.wal(2, 9, 12),
                              histories={2: storefacts.promoted(1, 9)})


def test_bump_check_store_refuses_a_restore_that_would_lose_newer_writes(tmp_path, moto_s3):
    path = _store_overlay(tmp_path, moto_s3, _lineages(moto_s3, RESTORED, WAL_ONLY))
    before = Path(path).read_text()
    message = assert_failed_cleanly(run_cli("bump", "main", "-f", path, "--check-store", stdin=INPUT),
                                    "demo-cnpg-main-r1 (no base backup yet) holds WAL archived from")
    assert "Wait for the first base backup in demo-cnpg-main-r1" in message and "acceptDataLoss" in message
    assert Path(path).read_text() == before


def test_bump_check_store_with_the_loss_accepted_reads_the_newest_restorable_lineage(tmp_path, moto_s3):
    path = _store_overlay(tmp_path, moto_s3, _lineages(moto_s3, RESTORED, WAL_ONLY), ", acceptDataLoss: true")
    result = run_cli("bump", "main", "-f", path, "--check-store", stdin=INPUT)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert 'cnpg.main.backups.revision: (unset) -> "2"' in out  # the derivation ("1") holds WAL: written explicitly
    assert 'note: the overlay writes to revision "1", but the newest restorable lineage is ""' in out
    assert out.endswith('cnpg.main: the next restore reads revision "" and writes revision "2"\n')
    assert "# the store" in Path(path).read_text()
    rendered = run_cli("render", "--check-store", "-f", path, stdin=INPUT)
    assert rendered.returncode == 0, rendered.stderr.decode()
    assert "these writes are lost" in rendered.stderr.decode()


def test_bump_check_store_refuses_when_no_lineage_has_a_backup(tmp_path, moto_s3):
    path = _store_overlay(tmp_path, moto_s3, _lineages(moto_s3))
    before = Path(path).read_text()
    assert_failed_cleanly(run_cli("bump", "main", "-f", path, "--check-store", stdin=INPUT),
                          "Cluster demo/demo-cnpg-main: recovery source", "does not exist",
                          "No lineage of this database in the store holds a usable base backup")
    assert Path(path).read_text() == before


# --------------------------------------------------------------------------- a careful editor

BACKUPS_OVERLAY = (FIXTURES / "overlays" / "backups.yaml").read_text()


def revisions(path) -> tuple:
    """What render reads from the overlay after bump: the entry's mode and revisions."""
    from renderer import overlay as overlay_model

    entry = overlay_model.load([str(path)]).cnpg["main"]
    return entry.mode, entry.recovery.revision, entry.backups.revision


def test_a_symlinked_overlay_is_edited_where_it_points(tmp_path):
    real = tmp_path / "real" / "overlay.yaml"
    real.parent.mkdir()
    real.write_text(BACKUPS_OVERLAY)
    link = tmp_path / "overlay.yaml"
    link.symlink_to(os.path.relpath(real, tmp_path))
    result = run_cli("bump", "main", "-f", str(link))
    assert result.returncode == 0, result.stderr.decode()
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(real, tmp_path)
    assert revisions(real) == ("recovery", "", None)


SHARED = {
    "the whole entry is an alias": (
        "cnpg:\n  other: &d\n    backups: {enabled: true, credentials: s3}\n  main: *d\n", "&d"),
    "recovery comes from a merge": (
        "cnpg:\n  other: &base\n    mode: recovery\n    backups: {enabled: true, credentials: s3}\n"
        "    recovery: {credentials: s3, revision: ''}\n  main:\n    <<: *base\n", "<<: *base"),
    "backups is an anchored mapping another entry aliases": (
        "cnpg:\n  main:\n    backups: &b {enabled: true, credentials: s3, revision: '1'}\n"
        "  other:\n    backups: *b\n", "&b"),
}
CREDENTIALS = "credentials:\n  s3: {type: s3, bucket: b, inheritFromIAMRole: true}\n"


@pytest.mark.parametrize("body, shown", SHARED.values(), ids=SHARED.keys())
def test_an_entry_sharing_anchored_mappings_is_refused_and_nothing_changes(tmp_path, body, shown):
    path = write(tmp_path, CREDENTIALS + body)
    line = assert_failed_cleanly(run_cli("bump", "main", "-f", path), "is shared with other entries")
    assert f"through {shown}" in line
    assert Path(path).read_text() == CREDENTIALS + body


def test_a_merge_of_plain_keys_is_fine_and_other_entries_keep_their_values(tmp_path):
    """`<<: *defaults` for match/optional is common and harmless: mode and the revisions
    are the entry's own keys, so only it changes."""
    from renderer import overlay as overlay_model

    body = ("cnpg:\n  other: &other\n    optional: true\n    match: &m {namespace: prod}\n"
            "  main:\n    <<: *other\n    backups: {enabled: true, credentials: s3, revision: '4'}\n"
            "  third:\n    match: *m\n    backups: {enabled: true, credentials: s3}\n")
    path = write(tmp_path, CREDENTIALS + body)
    before = overlay_model.load([path]).cnpg["other"]
    result = run_cli("bump", "main", "-f", path)
    assert result.returncode == 0, result.stderr.decode()
    after = overlay_model.load([path])
    assert after.cnpg["other"] == before, "the merged-from entry is untouched"
    assert after.cnpg["third"].match == before.match
    assert (after.cnpg["main"].mode, after.cnpg["main"].recovery.revision) == ("recovery", "4")
    assert after.cnpg["main"].optional is True, "the merge still applies"


def test_concurrent_bumps_take_turns(tmp_path):
    """Four bumps at once: each must read what the one before it wrote (no lost update)."""
    import subprocess
    import sys

    path = write(tmp_path, BACKUPS_OVERLAY)
    procs = [subprocess.Popen([sys.executable, "-m", "renderer", "bump", "main", "-f", path],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    assert all(p.wait(timeout=60) == 0 for p in procs), [p.stderr.read() for p in procs]
    assert revisions(path)[1:] == ("3", None), "recovery reads revision 3 after four bumps from the bare lineage"


@pytest.mark.parametrize("bom", [False, True], ids=["no-bom", "bom"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_line_endings_and_bom_are_kept(tmp_path, bom, newline):
    path = tmp_path / "overlay.yaml"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + BACKUPS_OVERLAY.replace("\n", newline).encode())
    result = run_cli("bump", "main", "-f", str(path))
    assert result.returncode == 0, result.stderr.decode()
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") == bom and b"\xef\xbb\xbf" not in data[3:]
    body = data[3:] if bom else data
    assert body.count(b"\n") == body.count(newline.encode()) and body.count(b"\n") > BACKUPS_OVERLAY.count("\n")
    assert revisions(path) == ("recovery", "", None)


@pytest.mark.parametrize("make, fragment", [
    (lambda p: (p.write_text(BACKUPS_OVERLAY), p.chmod(0o444)), "is read-only"),
    (lambda p: p.mkdir(), "is not a regular file"),
    (lambda p: os.mkfifo(p), "is a pipe"),
])
def test_files_bump_cannot_edit_in_place_are_refused_in_one_line(tmp_path, make, fragment):
    path = tmp_path / "overlay.yaml"
    make(path)
    before = path.read_bytes() if path.is_file() else None
    assert_failed_cleanly(run_cli("bump", "main", "-f", str(path)), fragment)
    assert (path.read_bytes() if path.is_file() else None) == before


def test_process_substitution_is_refused_in_one_line(tmp_path):
    import subprocess
    import sys

    path = write(tmp_path, BACKUPS_OVERLAY)
    proc = subprocess.run(["bash", "-c", f'{sys.executable} -m renderer bump main -f <(cat "$1")', "-", path],
                          capture_output=True)
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode().count("\n") == 1 and "is a pipe (e.g. from <(...))" in proc.stderr.decode()


def test_a_full_disk_leaves_the_overlay_as_it_was(tmp_path):
    import subprocess

    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        path = write(disk, BACKUPS_OVERLAY)
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as handle:  # fill the disk to the last block
            try:
                while True:
                    handle.write(b"\0" * 1024)
            except OSError:
                pass
        assert_failed_cleanly(run_cli("bump", "main", "-f", path), "cannot write", "left unchanged")
        assert Path(path).read_text() == BACKUPS_OVERLAY
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "overlay.yaml"], "no temp file left"
    finally:
        subprocess.run(["umount", str(disk)], check=True)
