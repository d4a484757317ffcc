"""Lineage truth (f): an S3 endpoint with a self-signed CA — the store check and barman-cloud
both trust the rendered endpointCA and nothing else (tests/truth.py)."""

from __future__ import annotations

import pytest
from realparts import ArchiveFailed
from truth import (
    CLUSTER,
    install,
    new_app,
    refused,
    restored,
)

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
