"""The object-store providers `renderer.objectstore` reads through: one module each
(`s3`, `azure`, `gcs`), each an ``Access`` (a credential, made from the overlay's by
``access(credential, ca)``) that locates a destinationPath as barman-cloud does and
opens a ``Reader`` (list prefixes, list objects with their modified times, read an
object or its first N bytes). Parsing, the model and the reading order are shared.

Why the providers' own SDKs (boto3, azure-storage-blob + azure-identity,
google-cloud-storage) and not one multi-cloud library such as obstore. Measured on the
2-core dev machine (Python 3.11; import: `-X importtime`, best of 5; import + first
client: wall time in-process; sizes of a fresh ``pip install --target``, dependencies
included)::

    library                      import    import + first client    installed
    obstore 0.12.1               3 ms      30-60 ms                 16 MB
    boto3 1.44                   110 ms    440-550 ms               37 MB
    azure-storage-blob 12.31     165 ms    320-370 ms               30 MB (+27 MB azure-identity)
    google-cloud-storage 3.17    170 ms    370 ms                   40 MB

obstore wins on time and size, and reads Azurite fine. It loses where a store check
must be right: its GCS client lists through the XML API (``?list-type=2``), which
neither GCS emulator on the registries implements (tried: gcp-storage-emulator answers
501, fake-gcs-server's listing fails too), so GCS inspection could not be proven
against real parts, nor barman-cloud's writes read back by it; its
errors are text to scrape (no codes); its ``root_certificate`` adds to the system
roots where CNPG's endpointCA replaces them; and its credential chains and Azure URL
rules are not barman's. The SDKs are what barman-cloud itself runs, so addressing
(emulated Azure URLs, connection strings, SAS, ``STORAGE_EMULATOR_HOST``), credential
chains (DefaultAzureCredential, ManagedIdentityCredential, Google ADC) and TLS behave
as they do for CNPG, with structured error codes. Their cost is paid only by
``--check-store``: each is imported lazily, only for the provider a store uses, and
they are the ``store`` extra, not a dependency of the plain render.
"""

from __future__ import annotations

from renderer.sensitive import Sensitive


def masked(access: object, *names: str) -> None:
    """Wrap the plain strings given for secret fields in Sensitive (in __post_init__ of
    a frozen record), so no repr or message shows them."""
    for name in names:
        value = getattr(access, name)
        if isinstance(value, str):
            object.__setattr__(access, name, Sensitive(value))


def ca_description(access) -> str:
    """Where the CA an access trusts came from, for TLS messages."""
    if access.ca_bundle is None:
        return "the default trust store"
    return access.ca_source or access.ca_bundle
