"""Shared fixtures. The real-parts fixtures live in tests/realparts.py, the Azure and
Google emulators in tests/emulators.py; importing them here registers them once, so
every module shares one moto server, one Azurite, one GCS emulator and one PostgreSQL
per session (per xdist worker)."""

import os
import tempfile

import pytest
from cnpg_cluster import cnpg  # noqa: F401  (pytest fixture)
from emulators import azurite, gcs  # noqa: F401  (pytest fixtures)
from realparts import moto_s3, realparts, seeded_lineage, tls_s3  # noqa: F401  (pytest fixtures)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Mark every test that runs real PostgreSQL and barman-cloud, i.e. uses the
    ``realparts`` fixture directly or through another (``seeded_lineage``, ``cnpg``), so
    ``-m realparts`` selects exactly those and ``-m 'not realparts'`` needs neither.
    tryfirst: the marks must be there before ``-m`` deselects."""
    for item in items:
        if "realparts" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realparts)


@pytest.fixture(scope="session", autouse=True)
def _isolated_last_error():
    """Failing renders record their error for `cnpg-render last-error`; keep the tests'
    records out of the developer's ~/.local/state."""
    with tempfile.TemporaryDirectory() as directory:
        previous = os.environ.get("CNPG_RENDER_LAST_ERROR")
        os.environ["CNPG_RENDER_LAST_ERROR"] = os.path.join(directory, "last-error")
        yield
        if previous is None:
            os.environ.pop("CNPG_RENDER_LAST_ERROR", None)
        else:
            os.environ["CNPG_RENDER_LAST_ERROR"] = previous


@pytest.fixture(scope="session", autouse=True)
def _no_cloud_metadata_servers():
    """The default credential chains of Google and Azure ask a metadata server at
    169.254.169.254 when nothing else is configured. No test may send anything off
    this machine: Google's check is skipped and both point at a closed loopback port,
    for this process and every CLI it starts."""
    guard = {"NO_GCE_CHECK": "True", "GCE_METADATA_HOST": "127.0.0.1:9", "GCE_METADATA_IP": "127.0.0.1:9",
             "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9", "IMDS_ENDPOINT": "http://127.0.0.1:9"}
    saved = {k: os.environ.get(k) for k in guard}
    os.environ.update(guard)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
