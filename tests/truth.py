"""The lineage-truth scenarios' shared steps (tests/test_truth_*.py): what real
barman-cloud and PostgreSQL do with rendered manifests. Each scenario renders overlays
with the CLI, plays CNPG from the rendered output
(tests/cnpg_cluster.py: every barman-cloud call built from the rendered store and
Secret) and asserts what really happened: rows there or lost, the step that failed and
its real message.

Beside each real outcome stands the render's verdict on the same inputs (`plan
--check-store`, `render --check-store`): every refusal is shown to prevent a real
failure or loss, and every "safe" to restore the rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cnpg_cluster import Cnpg, Instance
from emulators import ACCOUNT, Azurite, GcsEmulator
from realparts import DUMMY_KEY_ID, DUMMY_SECRET, MotoS3

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


@dataclass
class AzureApp(App):
    """An App whose store is a container of Azurite, reached with a connection string."""

    azurite: Azurite | None = None

    def credential(self) -> dict:
        return {"type": "azure", "storageAccount": ACCOUNT, "container": self.bucket,
                "connectionString": self.azurite.connection_string}


@dataclass
class GoogleApp(App):
    """An App whose store is a bucket of the GCS emulator, with GKE's credentials."""

    def credential(self) -> dict:
        return {"type": "google", "bucket": self.bucket, "gkeEnvironment": True}


def emulated_manifests(tmp_path: Path, gcs: GcsEmulator) -> Path:
    """cluster-main.yaml with ``STORAGE_EMULATOR_HOST`` in the Cluster's spec.env."""
    path = tmp_path / "cluster-gcs.yaml"
    path.write_text(MANIFESTS.read_text().replace(
        "  instances: 1\n",
        f"  instances: 1\n  env:\n    - name: STORAGE_EMULATOR_HOST\n      value: {gcs.endpoint}\n"))
    return path


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
