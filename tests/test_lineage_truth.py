"""Issue 8, "lineage truth": what real barman-cloud and PostgreSQL do with rendered
manifests. Each test renders overlays with the CLI, plays CNPG from the rendered output
(tests/cnpg_cluster.py: every barman-cloud call built from the rendered store and
Secret) and asserts what really happened: rows there or lost, the step that failed and
its real message.

Beside each real outcome stands the render's verdict on the same inputs (`plan
--check-store`, `render --check-store`): every refusal is shown to prevent a real
failure or loss, and every "safe" to restore the rows.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cnpg_cluster import Cnpg, Instance, Outcome
from realparts import DUMMY_KEY_ID, DUMMY_SECRET, ArchiveFailed, MotoS3

from tests.helpers import FIXTURES, by_kind, documents, run_cli

MANIFESTS = FIXTURES / "inputs" / "cluster-main.yaml"  # Cluster demo-cnpg-main, release demo
CLUSTER = "demo-cnpg-main"


# --------------------------------------------------------------------------- renders


@dataclass(frozen=True)
class Render:
    """A render under test: the CLI arguments that made it (overlays, manifests) and
    the stream it printed."""

    args: tuple[str, ...]
    stream: bytes

    @property
    def overlay(self) -> str:
        return self.args[1]


def render(*overlays: Path | str, manifests: Path, check: bool = False) -> Render:
    """The CLI's render; with ``check`` the store check is on (and must pass)."""
    args = (*[a for o in overlays for a in ("-f", str(o))], str(manifests))
    result = run_cli("render", *(["--check-store"] if check else []), *args)
    assert result.returncode == 0, result.stderr.decode()
    return Render(args, result.stdout)


def verdict(step: Render) -> dict:
    """What `plan --check-store` says of the inputs that made ``step``."""
    result = run_cli("plan", "--check-store", "-o", "json", *step.args)
    assert result.returncode == 0, result.stderr.decode()
    (row,) = json.loads(result.stdout)
    return row["facts"]


def codes(step: Render) -> list[str]:
    return [p["code"] for p in verdict(step)["problems"]]


def refused(step: Render) -> str:
    """`render --check-store` refuses the inputs of ``step``: one line, nothing on stdout."""
    result = run_cli("render", "--check-store", *step.args)
    stderr = result.stderr.decode()
    assert (result.returncode, result.stdout, stderr.count("\n")) == (1, b"", 1), stderr
    return stderr


def lineages(step: Render) -> tuple[str | None, str]:
    """(serverName read, serverName written) of the rendered Cluster."""
    spec = by_kind(documents(step.stream), "Cluster")[0]["spec"]
    source = ((spec.get("bootstrap") or {}).get("recovery") or {}).get("source")
    return source, spec["backup"]["barmanObjectStore"]["serverName"]


@dataclass
class App:
    """One application's overlays on one bucket, one file per step as its operator
    would edit them; ``common`` goes on both sides (``serverName``, ``destinationPath``)."""

    tmp: Path
    s3: MotoS3
    bucket: str
    manifests: Path = MANIFESTS
    common: Mapping[str, str] = field(default_factory=dict)
    endpoint_ca: str | None = None
    engine: str | None = None  # the overlay's engine (None: its default, in-tree)
    steps: int = 0

    def fresh(self, revision: str = "", check: bool | None = False) -> Render:
        """A fresh install writing ``revision`` (``""``: the bare serverName)."""
        return self._render({"backups": self._side(revision=revision, enabled=True)}, check)

    def recovery(self, read: str, write: str, check: bool | None = False, recovery: Mapping[str, Any] | None = None,
                 **pitr: str) -> Render:
        """A restore reading revision ``read``, writing ``write``; ``pitr`` is a pitrTarget,
        ``recovery`` more keys of the recovery side (systemID, acceptDataLoss). ``check``:
        render with the store check on; None: write the overlay only."""
        keys = {**(recovery or {}), **({"pitrTarget": pitr} if pitr else {})}
        return self._render({"mode": "recovery", "backups": self._side(revision=write, enabled=True),
                             "recovery": self._side(revision=read, **keys)}, check)

    def _side(self, **keys: Any) -> dict:
        return {"credentials": "s3", **self.common, **keys}

    def credential(self) -> dict:
        """The overlay's credential (tests/test_provider_truth.py gives other providers')."""
        return {"type": "s3", "url": self.s3.endpoint_url, "bucket": self.bucket,
                "accessKey": DUMMY_KEY_ID, "secretKey": DUMMY_SECRET}

    def _render(self, entry: dict, check: bool | None) -> Render:
        self.steps += 1
        credential = self.credential()
        if self.endpoint_ca:
            credential["endpointCA"] = self.endpoint_ca
        if self.engine:
            entry = {"engine": self.engine, **entry}
        path = self.tmp / f"overlay-{self.steps}.yaml"
        path.write_text(yaml.safe_dump({"credentials": {"s3": credential}, "cnpg": {"main": entry}}))
        if check is None:  # only the overlay: the test asks the CLI itself
            return Render(("-f", str(path), str(self.manifests)), b"")
        return render(path, manifests=self.manifests, check=check)


def new_bucket(s3: MotoS3) -> str:
    """A bucket of the test's own, so tests never share lineages."""
    bucket = "truth-" + uuid.uuid4().hex[:12]
    s3.make_bucket(bucket)
    return bucket


def new_app(tmp_path: Path, s3: MotoS3, name: str = "app", bucket: str | None = None, **kwargs: Any) -> App:
    """An App whose overlays live in ``tmp_path/name``, on ``bucket`` (a new one by default)."""
    directory = tmp_path / name
    directory.mkdir()
    return App(directory, s3, bucket or new_bucket(s3), **kwargs)


def other_release(tmp_path: Path, release: str) -> Path:
    """cluster-main.yaml as another release renders it: Cluster ``<release>-cnpg-main``."""
    path = tmp_path / f"{release}.yaml"
    path.write_text(MANIFESTS.read_text().replace("demo", release))
    return path


# --------------------------------------------------------------------------- what a Cluster does


def write_rows(app: Instance, first: int) -> list[int]:
    """Row ``first`` goes into a base backup, row ``first + 1`` only into archived WAL
    (what a restore must replay). The first archive runs CNPG's empty-archive check."""
    app.insert(first)
    app.archive()
    app.back_up()
    app.insert(first + 1)
    app.archive()
    return [first, first + 1]


def install(cnpg: Cnpg, step: Render, name: str = CLUSTER) -> Instance:
    """A fresh install of the rendered Cluster: table t holding rows 1 (in the base
    backup) and 2 (only in WAL)."""
    app = cnpg.install(step.stream, name)
    app.sql("CREATE TABLE t(x int)")
    assert write_rows(app, 1) == app.rows() == [1, 2]
    return app


def restored(cnpg: Cnpg, step: Render, name: str = CLUSTER) -> Instance:
    outcome = cnpg.restore(step.stream, name)
    assert outcome.promoted, f"{outcome.step}: {outcome.error}"
    return outcome.instance


# --------------------------------------------------------------------------- (a) a chain of restores


def test_a_chain_of_restores_with_bump_then_auto_keeps_every_row(cnpg, moto_s3, tmp_path):
    """Install; restore #1 with `bump --check-store` (the overlay the lost Cluster ran
    with, edited in place); restores #2 and #3 with `revision: auto` under the store
    check. Every verdict is "safe" and every restore has every row ever archived, and
    archives into a lineage barman's own empty-archive check accepts. The refusals of
    a reused or empty lineage are shown to match barman's own answer."""
    app = new_app(tmp_path, moto_s3)
    fresh = app.fresh(check=True)
    first = install(cnpg, fresh)
    expected, system = first.rows(), str(first.system_identifier())
    cnpg.lose(first)
    assert codes(fresh) == ["fresh-install-beside-data"]  # re-deploying it unchanged would start empty

    bumped = run_cli("bump", "main", "-f", fresh.overlay, "--check-store", str(app.manifests))
    assert bumped.returncode == 0, bumped.stderr.decode()
    assert bumped.stdout.decode().endswith('reads revision "" and writes revision "1"\n')
    step = render(fresh.overlay, manifests=app.manifests, check=True)
    assert lineages(step) == (CLUSTER, f"{CLUSTER}-r1") and verdict(step)["verdict"] == "safe"
    instance = restored(cnpg, step)
    assert instance.rows() == expected
    expected += write_rows(instance, 3)
    cnpg.lose(instance)

    for n in (2, 3):
        step = app.recovery(read="auto", write="auto", check=True)
        assert lineages(step) == (f"{CLUSTER}-r{n - 1}", f"{CLUSTER}-r{n}")
        facts = verdict(step)
        assert (facts["verdict"], facts["systemID"]) == ("safe", system)  # a restore keeps the database's identity
        instance = restored(cnpg, step)
        assert instance.rows() == expected
        expected += write_rows(instance, 2 * n + 1)
        cnpg.lose(instance)
    assert expected == [1, 2, 3, 4, 5, 6, 7, 8]

    dest = f"s3://{app.bucket}/demo/cnpg"
    reuse = app.recovery(read="2", write="1")  # writing a lineage that holds WAL
    assert "'Expected empty archive'" in refused(reuse)
    rc, out = cnpg.parts.barman.check_wal_archive(dest, lineages(reuse)[1])
    assert rc != 0 and "Expected empty archive" in out
    empty = app.recovery(read="7", write="8")  # reading a lineage that was never written
    assert "does not exist: the new Cluster would wait" in refused(empty)
    assert cnpg.parts.barman.backup_list(dest, f"{CLUSTER}-r7") == []


# --------------------------------------------------------------------------- (b) two apps, one lineage base


def test_two_apps_sharing_path_and_server_name_restore_each_others_data(cnpg, moto_s3, tmp_path):
    """App A and app B both set ``serverName: main`` on one destinationPath. A writes
    ``main``. B's fresh install is refused by the store check (it would start beside A's
    backups); forced through, B writes ``main-r1``. A is lost; restoring it from
    ``main-r1`` comes up with B's rows and B's system identifier — the render refuses
    that pick (two databases in the series; with A's systemID pinned, another database's
    lineage) and `auto` with the pin reads A's own lineage, which restores A's rows."""
    bucket = new_bucket(moto_s3)
    common = {"serverName": "main", "destinationPath": f"s3://{bucket}/shared"}
    app_a = new_app(tmp_path, moto_s3, "a", bucket, common=common)
    app_b = new_app(tmp_path, moto_s3, "b", bucket, common=common, manifests=other_release(tmp_path, "shop"))

    a = install(cnpg, app_a.fresh(check=True))
    a_system = a.system_identifier()
    b_fresh = app_b.fresh(revision="1")
    assert codes(b_fresh) == ["fresh-install-beside-data"]
    b = cnpg.install(b_fresh.stream, "shop-cnpg-main")
    b.sql("CREATE TABLE t(x int)")
    write_rows(b, 101)
    b_system = b.system_identifier()
    cnpg.lose(a)

    wrong = app_a.recovery(read="1", write="2")
    assert codes(wrong) == ["systems-mixed"]
    assert "recovery.systemID" in refused(wrong)
    pinned_wrong = app_a.recovery(read="1", write="2", recovery={"systemID": a_system})
    assert f"holds PostgreSQL system {b_system}, not system {a_system}" in refused(pinned_wrong)
    instance = restored(cnpg, wrong)
    assert instance.rows() == [101, 102]  # what the refusal prevents
    assert instance.system_identifier() == b_system != a_system
    barman = cnpg.parts.barman
    listed = {s: barman.backup_list(common["destinationPath"], s)[0]["systemid"] for s in ("main", "main-r1")}
    assert listed == {"main": a_system, "main-r1": b_system}
    instance.archive()  # main-r2 holds its WAL for sure (else only if the archiver won the race with the loss)
    cnpg.lose(instance)

    right = app_a.recovery(read="auto", write="auto", recovery={"systemID": a_system}, check=True)
    assert lineages(right) == ("main", "main-r3") and verdict(right)["verdict"] == "safe"
    assert restored(cnpg, right).rows() == [1, 2]


# --------------------------------------------------------------------------- (c) WAL without a base backup


def test_a_newer_lineage_without_a_base_backup_loses_its_rows(cnpg, moto_s3, tmp_path):
    """Restore #1 writes ``-r1`` and archives rows 3 and 4, but is lost before its first
    base backup. Restore #2 cannot read ``-r1`` (CNPG: "no target backup found"), and
    from the lineage before it comes up without rows 3 and 4. The render refuses both
    (and `auto`), naming ``-r1`` and since when; accepting the loss renders, and the real
    restore shows exactly that loss."""
    app = new_app(tmp_path, moto_s3)
    first = install(cnpg, app.fresh())
    cnpg.lose(first)
    second = restored(cnpg, app.recovery(read="", write="1", check=True))
    second.insert(3, 4)
    second.archive()
    cnpg.lose(second)

    message = refused(app.recovery(read="auto", write="auto", check=None))
    assert f"{CLUSTER}-r1 (no base backup yet) holds WAL archived from" in message
    assert f"Wait for the first base backup in {CLUSTER}-r1" in message
    newest_step = app.recovery(read="1", write="2")
    assert codes(newest_step) == ["recovery-source-empty"]
    newest = cnpg.restore(newest_step.stream, CLUSTER)
    assert (newest.step, newest.error) == ("choose-backup", "no target backup found")
    reused_step = app.recovery(read="", write="1")  # write where WAL is
    assert codes(reused_step) == ["newer-history", "expected-empty-archive"]
    reused = cnpg.restore(reused_step.stream, CLUSTER)
    assert reused.step == "check-wal-archive" and "Expected empty archive" in reused.error, reused
    older_step = app.recovery(read="", write="2")
    assert codes(older_step) == ["newer-history"]
    older = restored(cnpg, older_step)
    assert older.rows() == [1, 2]  # rows 3 and 4 are lost: what the refusal prevents
    cnpg.lose(older)

    accepted = app.recovery(read="auto", write="auto", recovery={"acceptDataLoss": True}, check=True)
    assert lineages(accepted) == (CLUSTER, f"{CLUSTER}-r2")
    assert "these writes are lost" in run_cli("render", "--check-store", *accepted.args).stderr.decode()
    assert restored(cnpg, accepted).rows() == [1, 2]


# --------------------------------------------------------------------------- (d) a base backup without its WAL


def back_up_across_segments(app: Instance, s3: MotoS3, bucket: str, lineage: str) -> dict:
    """A base backup during which 2 MB of WAL are written, so it begins and ends in
    different 1 MB segments: barman uploads backup.info (status STARTED) right after
    pg_backup_start; from then the store is frozen (barman cannot finish first) while
    the rows are inserted."""
    app.sql("CREATE TABLE filler(x int, pad text)")
    client = s3.client()

    def started() -> bool:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{lineage}/base/").get("Contents", [])
        return any(o["Key"].endswith("/backup.info") for o in listed)

    with ThreadPoolExecutor(1) as pool:
        backup = pool.submit(app.back_up)
        deadline = datetime.now() + timedelta(seconds=60)
        while not started() and not backup.done() and datetime.now() < deadline:
            pass
        with s3.paused():
            app.sql("INSERT INTO filler SELECT g, repeat('x', 400) FROM generate_series(1, 5000) g")
        return backup.result()


def wal_keys(s3: MotoS3, bucket: str, prefix: str) -> dict[str, str]:
    """Segment name -> object key of every WAL a lineage holds."""
    listed = s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix + "/wals/").get("Contents", [])
    return {Path(o["Key"]).name[:24]: o["Key"] for o in listed}


def test_a_base_backup_without_its_wal_cannot_be_restored(cnpg, moto_s3, tmp_path):
    """Delete the WAL a base backup spans (after its first segment, up to its last):
    PostgreSQL stops the restore ("WAL ends before end of online backup"). Delete its
    first segment too: CNPG stops before restoring anything."""
    app = new_app(tmp_path, moto_s3)
    first = cnpg.install(app.fresh().stream, CLUSTER)
    first.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1)")
    first.archive()
    lineage = f"demo/cnpg/{CLUSTER}"
    backup = back_up_across_segments(first, moto_s3, app.bucket, lineage)
    assert backup["begin_wal"] < backup["end_wal"], backup
    first.archive()
    cnpg.lose(first)

    segments = wal_keys(moto_s3, app.bucket, lineage)
    spanned = [k for s, k in segments.items() if backup["begin_wal"] < s <= backup["end_wal"]]
    assert spanned
    moto_s3.client().delete_objects(Bucket=app.bucket, Delete={"Objects": [{"Key": k} for k in spanned]})
    step = app.recovery(read="", write="1")
    facts = verdict(step)
    assert [p["code"] for p in facts["problems"]] == ["recovery-source-incomplete"]
    assert f"{Path(spanned[0]).name[:24]} is missing" in facts["problems"][0]["what"]
    outcome = cnpg.restore(step.stream, CLUSTER)
    assert outcome.step == "postgres" and "WAL ends before end of online backup" in outcome.error, outcome

    moto_s3.client().delete_object(Bucket=app.bucket, Key=segments[backup["begin_wal"]])
    assert codes(step) == ["recovery-source-incomplete"]
    outcome = cnpg.restore(step.stream, CLUSTER)
    assert outcome.step == "first-wal", outcome
    assert outcome.error.startswith("encountered an error while checking the presence of first needed WAL")


# --------------------------------------------------------------------------- (e) point in time


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_point_in_time_targets(cnpg, moto_s3, tmp_path):
    """One base backup, then row 2 committed before a target time and row 3 after it.
    Before the backup ended: CNPG finds no backup to start from. After the last archived
    WAL: PostgreSQL stops ("recovery ended before configured recovery target was
    reached"). In between: row 2 is there, row 3 is not. With the barman-cloud plugin
    (ObjectStores, plugin parameters), so the plugin's calls meet the real tools too."""
    app = new_app(tmp_path, moto_s3, engine="plugin")
    first = cnpg.install(app.fresh().stream, CLUSTER)
    first.sql("CREATE TABLE t(x int); INSERT INTO t VALUES (1)")
    first.archive()
    backup = first.back_up()
    first.insert(2)
    inside = first.sql("SELECT clock_timestamp()")  # after row 2's commit, before row 3's
    first.insert(3)
    first.archive()
    time.sleep(1.1)  # the store's clock has whole seconds: "after" is after the last WAL by one
    after = first.sql("SELECT clock_timestamp()")
    cnpg.lose(first)

    def pitr(when: datetime, code: str) -> Outcome:
        step = app.recovery(read="", write="1", time=when.isoformat())
        assert verdict(step)["verdict"] == code
        return cnpg.restore(step.stream, CLUSTER)

    before = pitr(utc(backup["end_time_iso"]) - timedelta(milliseconds=1), "pitr-before-first-backup")
    assert (before.step, before.error) == ("choose-backup", "no target backup found")
    late = pitr(utc(after), "pitr-after-last-wal")
    assert late.step == "postgres", late
    assert "recovery ended before configured recovery target was reached" in late.error
    between = pitr(utc(inside), "safe")
    assert between.promoted, between
    assert between.instance.rows() == [1, 2]
    assert between.instance.plan.engine == "plugin"
    between.instance.archive()


# --------------------------------------------------------------------------- (f) a self-signed endpoint


def test_self_signed_endpoint_works_with_the_rendered_ca_only(cnpg, tls_s3, tmp_path):
    """moto over HTTPS with a certificate from the session's own CA. With the CA in the
    overlay (``endpointCA``, rendered into a Secret and the store) every call works:
    check, archive, backup, and a restore reading it. Without it, CNPG's first call
    fails the TLS handshake and nothing is archived."""
    app = new_app(tmp_path, tls_s3, endpoint_ca=tls_s3.tls.ca_pem)
    first = install(cnpg, app.fresh(check=True))
    cnpg.lose(first)
    assert restored(cnpg, app.recovery(read="", write="1", check=True)).rows() == [1, 2]

    app.endpoint_ca = None
    unchecked = app.fresh(revision="9")
    assert f"TLS verification failed for {tls_s3.endpoint_url}" in refused(unchecked)  # the check fails closed
    untrusted = cnpg.install(unchecked.stream, CLUSTER)
    with pytest.raises(ArchiveFailed, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.archive()
