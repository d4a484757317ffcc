"""Shared fixtures. The real-parts fixtures live in tests/realparts.py; importing them
here registers them once, so every module shares one moto server and one PostgreSQL
per session (per xdist worker)."""

import os
import tempfile

import pytest
from cnpg_cluster import cnpg  # noqa: F401  (pytest fixture)
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
