"""Lineage truth on Azure Blob Storage and Google Cloud Storage: the real barman-cloud
(``--cloud-provider azure-blob-storage`` / ``google-cloud-storage``), called the way CNPG
calls it from the rendered manifests (tests/cnpg_player.py), archives and backs up the
real PostgreSQL 15 into Azurite and gcp-storage-emulator; beside each real outcome
stands the render's verdict on the same inputs, as in tests/test_lineage_truth.py.

How each reaches its emulator as a CNPG Cluster would: Azure through the emulated
destinationPath (``http://127.0.0.1:<port>/<account>/<container>/…``) and a connection
string in the rendered Secret; Google through ``STORAGE_EMULATOR_HOST`` in the Cluster's
``spec.env`` (barman-cloud's only way to an emulator: it ignores endpointURL for Google)
and, for the render's check, in the environment of whoever renders.
"""

from __future__ import annotations

import json
import uuid

from cnpg_cluster import Cnpg, Instance
from cnpg_player import plan_cluster
from emulators import Azurite, GcsEmulator
from realparts import run_barman
from truth import (
    CLUSTER,
    App,
    AzureApp,
    GoogleApp,
    Render,
    codes,
    emulated_manifests,
    install,
    lineages,
    refused,
    restored,
    verdict,
)


def barman_backups(step, name: str = CLUSTER) -> list[dict]:
    """What barman-cloud-backup-list says of the lineage the rendered Cluster reads."""
    return json.loads(run_barman(plan_cluster(step.stream, name).backup_list()).stdout)["backups_list"]


def lose_and_restore_with_auto(cnpg: Cnpg, app: App, installed: Render) -> tuple[list[int], Instance]:
    """The disaster and the restore: the Cluster installed from ``installed`` (rows 1
    and 2) is lost, re-deploying it unchanged is refused, and `revision: auto` under the
    store check reads its lineage: "safe", naming the database barman recorded there.
    Returns the rows it had and the restored instance."""
    first = install(cnpg, installed)
    expected, system = first.rows(), first.system_identifier()
    cnpg.lose(first)
    assert codes(installed) == ["fresh-install-beside-data"]
    step = app.recovery(read="auto", write="auto", check=True)
    assert lineages(step) == (CLUSTER, f"{CLUSTER}-r1")
    facts = verdict(step)
    (listed,) = barman_backups(step)
    assert (facts["verdict"], facts["systemID"], listed["systemid"]) == ("safe", system, system)
    return expected, restored(cnpg, step)


def test_azure_restore_with_auto_keeps_every_row(cnpg: Cnpg, azurite: Azurite, tmp_path):
    """Install, then a restore with `revision: auto` under the store check, all on
    Azurite: the verdict is "safe" and names the database barman recorded, and the
    restore has every row. Writing into a lineage that holds WAL is refused, and CNPG's
    own empty-archive check on Azure fails the same way."""
    container = "truth-" + uuid.uuid4().hex[:12]
    azurite.container(container)
    app = AzureApp(tmp_path, None, container, azurite=azurite,
                   common={"destinationPath": azurite.destination(container, "demo/cnpg")})
    fresh = app.fresh(check=True)
    assert verdict(fresh)["verdict"] == "safe"
    expected, instance = lose_and_restore_with_auto(cnpg, app, fresh)
    assert instance.rows() == expected == [1, 2]
    instance.insert(3)
    instance.archive()  # the first archive into -r1 passes CNPG's empty-archive check
    cnpg.lose(instance)

    reuse = app.recovery(read="1", write="")
    assert "'Expected empty archive'" in refused(reuse)
    outcome = cnpg.restore(reuse.stream, CLUSTER)
    assert outcome.step == "check-wal-archive" and "Expected empty archive" in outcome.error, outcome


def test_google_restore_with_auto_keeps_every_row(cnpg: Cnpg, gcs: GcsEmulator, tmp_path, monkeypatch):
    """barman-cloud's google provider archives and backs up into the emulator; the
    check reads the same lineage (safe, the same database), `auto` restores it with
    every row, and re-deploying the lost Cluster unchanged is refused."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.endpoint)  # the render's check, as barman's pods
    bucket = "truth-" + uuid.uuid4().hex[:12]
    gcs.bucket(bucket)
    app = GoogleApp(tmp_path, None, bucket, manifests=emulated_manifests(tmp_path, gcs))
    expected, instance = lose_and_restore_with_auto(cnpg, app, app.fresh(check=True))
    assert instance.rows() == expected == [1, 2]
