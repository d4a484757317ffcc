"""Local Azure Blob Storage and Google Cloud Storage for the store tests: Azurite (npm,
installed by scripts/fetch-tools.sh into .tools/azurite) and gcp-storage-emulator
(PyPI, the test extra), each started once per session (per xdist worker) on 127.0.0.1
on a free port, in memory, and stopped at the end.

Why emulators: the store check is only worth something if what it reads is what
barman-cloud's azure and google providers wrote; both tools point at these servers
the way CNPG would point them (a connection string naming the endpoint; for Google,
``STORAGE_EMULATOR_HOST`` in the pod's environment, the only way barman reaches one).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from realparts import REPO, HarnessError, free_port

AZURITE = Path(os.environ.get("CNPG_AZURITE", REPO / ".tools" / "azurite" / "node_modules" / ".bin" / "azurite-blob"))
# Azurite's one built-in account and its well-known key (published by Microsoft; not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _wait_http(proc: subprocess.Popen, url: str, what: str, timeout: float = 30) -> None:
    """Until ``url`` answers with any HTTP status (the server is up) or ``proc`` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"{what} exited with rc={proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise HarnessError(f"{what} did not answer on {url} within {timeout}s")


@dataclass
class Server:
    """One emulator process on 127.0.0.1."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(self, cmd: list[str], probe: str, what: str) -> None:
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_http(self.proc, self.endpoint + probe, what)
        except HarnessError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@dataclass
class Azurite(Server):
    """Azurite's blob service: in memory, no telemetry, any API version the SDKs send."""

    @property
    def account_url(self) -> str:
        """Where the account lives, and how barman's emulated destinationPaths begin."""
        return f"{self.endpoint}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.account_url};")

    def start(self) -> Azurite:
        if not AZURITE.exists():
            raise HarnessError(f"no Azurite at {AZURITE}; run `make tools`")
        self._start([str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--inMemoryPersistence",
                     "--disableTelemetry", "--skipApiVersionCheck", "--silent"], "/", "Azurite")
        return self

    def service(self):
        """An azure-storage-blob BlobServiceClient for test set-up."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)

    def container(self, name: str):
        """A new container's ContainerClient (Azure names: 3 to 63 characters)."""
        return self.service().create_container(name)

    def destination(self, container: str, path: str = "") -> str:
        """The destinationPath barman reads for ``container/path`` here (emulated form)."""
        return "/".join(filter(None, [self.account_url, container, path]))


@dataclass
class GcsEmulator(Server):
    """gcp-storage-emulator (JSON API, what google-cloud-storage and so barman speak)."""

    def start(self) -> GcsEmulator:
        self._start([sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port",
                     str(self.port), "--in-memory", "--quiet"], "/storage/v1/b", "gcp-storage-emulator")
        return self

    def client(self):
        """A google-cloud-storage client for test set-up, anonymous as against any emulator."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project="test", credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.endpoint})

    def bucket(self, name: str):
        return self.client().create_bucket(name)


@pytest.fixture(scope="session")
def azurite():
    server = Azurite().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def gcs():
    server = GcsEmulator().start()
    try:
        yield server
    finally:
        server.stop()
