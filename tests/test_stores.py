"""The provider layer (renderer/stores): every provider reads the same lineages from the
same layout (moto S3, Azurite, gcp-storage-emulator); every credential form the overlay
accepts maps to the access barman-cloud would use; destinationPaths are located as
barman-cloud locates them; failures are one line, name the destinationPath and never
show a credential. The real barman-cloud against the emulators: test_provider_truth.py."""

from __future__ import annotations

import json
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from emulators import ACCOUNT, ACCOUNT_KEY
from realparts import free_port

from renderer import overlay
from renderer.gather import access_for
from renderer.objectstore import Location, ObjectStoreError, inspect
from renderer.stores import azure
from renderer.stores.azure import AzureAccess
from renderer.stores.gcs import GcsAccess
from renderer.stores.s3 import S3Access
from tests.helpers import run_cli, s3_access
from tests.test_cli import INPUT, assert_failed_cleanly, write
from tests.test_objectstore import small_layout

SECRET_KEY = "c2VjcmV0LWtleS1tdXN0LW5vdC1sZWFr"  # base64, so it signs; must never be shown
SAS = "sv=2020-08-04&ss=b&sig=must-not-leak"


def credential(body: str):
    """The overlay's credential ``c`` with ``body`` as its fields."""
    text = "credentials:\n  c:\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return overlay.parse([("o.yaml", text)]).credentials["c"]


def assert_clean(err: Exception, dest: str, *secrets: str) -> str:
    text = str(err)
    assert "\n" not in text and dest in text, text
    assert not [s for s in (SECRET_KEY, SAS, ACCOUNT_KEY, *secrets) if s in text + repr(err)], text
    return text


# --------------------------------------------------------------------------- credential -> access


@pytest.mark.parametrize("body,expected", [
    ("type: azure\nstorageAccount: acct\ncontainer: c\nconnectionString: CS\n", AzureAccess(connection_string="CS")),
    ("type: azure\nstorageAccount: acct\ncontainer: c\nstorageKey: KEY\n", AzureAccess(storage_key="KEY")),
    ("type: azure\nstorageAccount: acct\ncontainer: c\nstorageSasToken: SAS\n", AzureAccess(sas_token="SAS")),
    ("type: azure\nstorageAccount: acct\ncontainer: c\ninheritFromAzureAD: true\n",
     AzureAccess(identity="managed-identity")),
    ("type: azure\nstorageAccount: acct\ncontainer: c\nuseDefaultAzureCredentials: true\n",
     AzureAccess(identity="default")),
    ("type: google\nbucket: b\napplicationCredentials: '{\"type\": \"service_account\"}'\n",
     GcsAccess(credentials_json='{"type": "service_account"}')),
    ("type: google\nbucket: b\ngkeEnvironment: true\n", GcsAccess()),
    ("type: google\nbucket: b\ngkeEnvironment: true\nurl: http://127.0.0.1:9023\n",
     GcsAccess(endpoint_url="http://127.0.0.1:9023")),
    ("type: s3\nbucket: b\nurl: https://minio:9000\nregion: r\naccessKey: K\nsecretKey: S\n",
     S3Access("https://minio:9000", "r", "K", "S")),
    ("type: s3\nbucket: b\ninheritFromIAMRole: true\n", S3Access()),
])
def test_every_credential_form_maps_to_its_access(body, expected):
    assert access_for(credential(body)) == expected


def test_the_endpoint_ca_goes_where_cnpg_hands_it_to_barman():
    """S3: AWS_CA_BUNDLE; Azure: REQUESTS_CA_BUNDLE; Google: none (CNPG's env.go)."""
    ca = ("/tmp/ca.pem", "endpointCA Secret x")
    assert access_for(credential("type: azure\nstorageAccount: a\ncontainer: c\nstorageKey: K\n"), ca) == \
        AzureAccess(storage_key="K", ca_bundle="/tmp/ca.pem", ca_source="endpointCA Secret x")
    assert access_for(credential("type: google\nbucket: b\ngkeEnvironment: true\n"), ca) == GcsAccess()


def test_azure_identities_are_the_credentials_barman_builds():
    """inheritFromAzureAD is barman's --credential managed-identity, useDefaultAzureCredentials
    its --credential default (built here, never asked for a token)."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    assert isinstance(azure._credential(AzureAccess(identity="managed-identity")), ManagedIdentityCredential)
    assert isinstance(azure._credential(AzureAccess(identity="default")), DefaultAzureCredential)
    assert azure._credential(AzureAccess(storage_key="K")) == "K"


def test_secrets_are_masked_in_every_access():
    for access in (AzureAccess(connection_string=SECRET_KEY), AzureAccess(storage_key=SECRET_KEY),
                   AzureAccess(sas_token=SAS), GcsAccess(credentials_json=SECRET_KEY),
                   S3Access(None, None, "i", SECRET_KEY)):
        assert SECRET_KEY not in repr(access) + str(access) and SAS not in repr(access)


# --------------------------------------------------------------------------- locating


@pytest.mark.parametrize("path,connection_string,expected", [
    ("https://acct.blob.core.windows.net/c/a//b/", None, Location("c", "a/b/", "https://acct.blob.core.windows.net")),
    ("https://acct.blob.core.windows.net/c", None, Location("c", "", "https://acct.blob.core.windows.net")),
    ("https://acct.blob.core.windows.net/c/a", "CS", Location("c", "a/", None)),  # the string's endpoint
    ("http://127.0.0.1:10000/devstoreaccount1/c/a/b", "CS", Location("c", "a/b/", None)),
    ("azure://host/acct/c/a", "CS", Location("c", "a/", None)),
])
def test_azure_locates_as_barman(path, connection_string, expected):
    assert AzureAccess(connection_string=connection_string).locate(path) == expected


@pytest.mark.parametrize("path,access,message", [
    ("http://127.0.0.1:10000/devstoreaccount1/c/a", AzureAccess(storage_key="K"),
     ("outside *.blob.core.windows.net barman-cloud reads a destinationPath (emulated storage, "
      "http://<host>:<port>/<account>/<container>/…) only with a connectionString")),
    ("https://acct.blob.core.windows.net/", AzureAccess(storage_key="K"), "names no container"),
    ("http://127.0.0.1:10000/devstoreaccount1", AzureAccess(connection_string="CS"), "names no container"),
])
def test_azure_refuses_what_barman_cannot_read(path, access, message):
    with pytest.raises(ObjectStoreError) as exc:
        inspect(path, access)
    assert str(exc.value) == f"cannot inspect {path}: {message}"


@pytest.mark.parametrize("path,expected", [
    ("gs://b", Location("b", "")), ("gs://b/a//b/", Location("b", "a/b/")),
    ("https://console.cloud.google.com/storage/browser/b/a", Location("b", "a/")),
])
def test_gcs_locates_as_barman(path, expected):
    assert GcsAccess().locate(path) == expected


@pytest.mark.parametrize("path", ["s3://b/a", "https://storage.googleapis.com/b/a", "gs:///a"])
def test_gcs_refuses_other_paths(path):
    with pytest.raises(ObjectStoreError, match="not a gs://bucket/prefix path"):
        inspect(path, GcsAccess())


# --------------------------------------------------------------------------- one layout, three providers


class AtAzurite(AzureAccess):
    """A key or SAS credential aimed at Azurite's account URL. barman-cloud itself reaches
    an emulator only with a connection string (test_azure_refuses_what_barman_cannot_read),
    so only the addressing is fixed here; the credential goes through the SDK as it is."""

    def locate(self, destination_path: str) -> Location:
        location = AzureAccess(connection_string="-").locate(destination_path)
        return Location(location.bucket, location.prefix, destination_path.split("/" + location.bucket)[0])


@pytest.fixture(scope="module")
def reference_tokens():
    server = TokenServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def layouts(moto_s3, azurite, gcs, reference_tokens) -> dict[str, tuple[str, object]]:
    """small_layout() under ``pg/`` on each provider: provider -> (destinationPath, access),
    and the time window the objects were written in."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    layout = small_layout()
    moto_s3.make_bucket("layouts")
    for key, body in layout.items():
        moto_s3.client().put_object(Bucket="layouts", Key=f"pg/{key}", Body=body)
    container = azurite.container("layouts")
    for key, body in layout.items():
        container.upload_blob(f"pg/{key}", body)
    bucket = gcs.bucket("layouts")
    for key, body in layout.items():
        bucket.blob(f"pg/{key}").upload_from_string(body)
    window = (start, datetime.now(UTC) + timedelta(seconds=1))
    return {"s3": ("s3://layouts/pg", s3_access(moto_s3)),
            "azure": (azurite.destination("layouts", "pg"), AzureAccess(connection_string=azurite.connection_string)),
            "google": ("gs://layouts/pg", GcsAccess(reference_tokens.key(), gcs.endpoint)),
            "window": window}


def comparable(lineage):
    """A lineage without its archive times (each store stamps its own)."""
    return (lineage.backups, lineage.has_wal, [(s.name, s.partial) for s in lineage.wal], dict(lineage.histories),
            dict(lineage.history_issues), lineage.wal_system_id, lineage.wal_segment_size, lineage.wal_header_issue)


def test_every_provider_reads_the_same_lineages(layouts):
    start, end = layouts["window"]
    states = {p: inspect(*layouts[p], wanted=lambda n: n != "other") for p in ("s3", "azure", "google")}
    assert {p: s.skipped for p, s in states.items()} == dict.fromkeys(states, ("other",))
    reference = {n: comparable(lin) for n, lin in states["s3"].lineages.items()}
    assert reference["app"][5] == 7713228794461670795 and len(reference["app"][2]) == 4
    for provider, state in states.items():
        assert {n: comparable(lin) for n, lin in state.lineages.items()} == reference, provider
        assert all(start <= s.archived_at <= end and s.archived_at.tzinfo is not None
                   for s in state.lineages["app"].wal), provider


@pytest.mark.parametrize("form", ["storage_key", "sas_token"])
def test_azure_key_and_sas_read_azurite(azurite, layouts, form):
    """The storage key, and a read+list SAS token made with it (read-only is enough)."""
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    secret = ACCOUNT_KEY if form == "storage_key" else generate_container_sas(
        ACCOUNT, "layouts", account_key=ACCOUNT_KEY, permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1))
    dest, reference = layouts["azure"]
    state = inspect(dest, AtAzurite(**{form: secret}))
    assert state.lineages == inspect(dest, reference).lineages


# --------------------------------------------------------------------------- Google credentials


class TokenServer:
    """An OAuth token endpoint on 127.0.0.1 for a service-account JSON made for the test:
    google-auth signs a JWT grant with the key and trades it here for a token."""

    def __init__(self, status: int = 200):
        self.grants: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                owner.grants.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
                body = json.dumps({"access_token": "test-token", "expires_in": 3600, "token_type": "Bearer"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if status == 200 else b'{"error": "invalid_grant"}')

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def key(self) -> str:
        """A service-account JSON (a fresh RSA key) whose token_uri is this server."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        return json.dumps({"type": "service_account", "project_id": "test", "private_key_id": "k1", "private_key": pem,
                           "client_email": "backup@test.iam.gserviceaccount.com", "client_id": "1",
                           "token_uri": f"http://127.0.0.1:{self.server.server_port}/token"})

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def tokens():
    server = TokenServer()
    yield server
    server.close()


def test_application_credentials_are_used(layouts, gcs, tokens):
    dest, reference = layouts["google"]
    state = inspect(dest, GcsAccess(tokens.key(), gcs.endpoint))
    assert state.lineages == inspect(dest, reference).lineages
    assert tokens.grants and all("grant-type%3Ajwt-bearer" in grant for grant in tokens.grants)


def test_a_refused_token_is_one_line(layouts, gcs):
    refusing = TokenServer(status=400)
    try:
        with pytest.raises(ObjectStoreError) as exc:
            inspect("gs://layouts/pg", GcsAccess(refusing.key(), gcs.endpoint))
    finally:
        refusing.close()
    assert str(exc.value) == "cannot inspect gs://layouts/pg: no access token for the Google credentials (RefreshError)"


def test_gke_environment_reads_the_default_credentials(layouts, gcs, tokens, tmp_path, monkeypatch):
    """gkeEnvironment: whoever runs the render brings the credentials (here
    GOOGLE_APPLICATION_CREDENTIALS, as on a workstation; on GKE the metadata server)."""
    path = tmp_path / "adc.json"
    path.write_text(tokens.key())
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    dest, reference = layouts["google"]
    assert inspect(dest, GcsAccess(endpoint_url=gcs.endpoint)).lineages == inspect(dest, reference).lineages
    assert tokens.grants


def test_storage_emulator_host_is_honoured_as_barman_honours_it(layouts, gcs, monkeypatch):
    """Without the overlay's url the SDK's rule applies, which is barman's: the emulator
    named in the environment, read anonymously."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.endpoint)
    dest, reference = layouts["google"]
    assert inspect(dest, GcsAccess()).lineages == inspect(dest, reference).lineages


# --------------------------------------------------------------------------- errors


def test_azure_errors_are_one_line_without_secrets(azurite, layouts):
    wrong = azurite.connection_string.replace(ACCOUNT_KEY, SECRET_KEY)
    cases = {
        (azurite.destination("layouts", "pg"), wrong): "access denied (AuthorizationFailure)",
        (azurite.destination("no-such-container", "pg"), azurite.connection_string):
            "container 'no-such-container' does not exist",
        (azurite.destination("layouts", "pg"), f"{azurite.connection_string}x;=;"): "the connectionString is malformed",
    }
    for (dest, string), reason in cases.items():
        with pytest.raises(ObjectStoreError) as exc:
            inspect(dest, AzureAccess(connection_string=string))
        assert assert_clean(exc.value, dest) == f"cannot inspect {dest}: {reason}"
    with pytest.raises(ObjectStoreError) as exc:
        inspect(azurite.destination("layouts", "pg"), AtAzurite(storage_key="not base64 and secret"))
    assert assert_clean(exc.value, "layouts", "not base64 and secret").endswith(
        "the account key cannot sign requests (it is not base64)")


def test_azure_unreachable_endpoint(azurite):
    port = free_port()
    string = azurite.connection_string.replace(str(azurite.port), str(port))
    dest = f"http://127.0.0.1:{port}/{ACCOUNT}/c/pg"
    with pytest.raises(ObjectStoreError) as exc:
        inspect(dest, AzureAccess(connection_string=string))
    assert assert_clean(exc.value, dest) == f"cannot inspect {dest}: endpoint unreachable (http://127.0.0.1:{port})"


def test_gcs_errors_are_one_line_without_secrets(gcs, layouts, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.endpoint)
    with pytest.raises(ObjectStoreError) as exc:
        inspect("gs://no-such-bucket/pg", GcsAccess())
    assert str(exc.value) == "cannot inspect gs://no-such-bucket/pg: bucket 'no-such-bucket' does not exist"
    port = free_port()
    with pytest.raises(ObjectStoreError) as exc:
        inspect("gs://layouts/pg", GcsAccess(endpoint_url=f"http://127.0.0.1:{port}",
                                             credentials_json=layouts["google"][1].credentials_json))
    assert str(exc.value) == f"cannot inspect gs://layouts/pg: endpoint unreachable (http://127.0.0.1:{port})"
    with pytest.raises(ObjectStoreError) as exc:
        inspect("gs://layouts/pg",
                GcsAccess(f'{{"type": "service_account", "private_key": "{SECRET_KEY}"}}', gcs.endpoint))
    assert assert_clean(exc.value, "gs://layouts/pg") == ("cannot inspect gs://layouts/pg: applicationCredentials is "
                                                          "not a Google credentials JSON (a service account key)")


def test_a_missing_sdk_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "azure.storage.blob", None)
    with pytest.raises(ObjectStoreError) as exc:
        inspect("https://acct.blob.core.windows.net/c/pg", AzureAccess(storage_key="K"))
    assert str(exc.value) == ("cannot inspect https://acct.blob.core.windows.net/c/pg: needs azure.storage.blob, which "
                              "is not installed: pip install 'cnpg-render[store]' "
                              "(pipx: pipx install --force 'cnpg-render[store]')")


# --------------------------------------------------------------------------- the CLI


def overlay_text(credential_body: str, destination: str, revision: str = "auto", server: str = "") -> str:
    named = f", serverName: {server}" if server else ""
    return ("credentials:\n  c:\n" + textwrap.indent(credential_body, "    ") +
            f"cnpg:\n  main:\n    backups: {{enabled: true, credentials: c, revision: '{revision}', "
            f"destinationPath: '{destination}'{named}}}\n")


def test_cli_checks_azure_and_google_stores(tmp_path, azurite, gcs, layouts):
    """plan --check-store reads the stores: `auto` writes the next revision after the
    lineages found, and the fresh install beside them is refused."""
    azure_body = (f"type: azure\nstorageAccount: {ACCOUNT}\ncontainer: layouts\n"
                  f"connectionString: '{azurite.connection_string}'\n")
    stores = {"azure": (azure_body, azurite.destination("layouts", "pg")),
              "google": ("type: google\nbucket: layouts\ngkeEnvironment: true\n", "gs://layouts/pg")}
    for provider, (body, dest) in stores.items():
        (tmp_path / provider).mkdir()
        path = write(tmp_path / provider, overlay_text(body, dest, "auto", "app"))
        emulator = {"STORAGE_EMULATOR_HOST": gcs.endpoint}  # as barman-cloud finds the emulator
        result = run_cli("plan", "--check-store", "-o", "json", "-f", path, stdin=INPUT, env=emulator)
        assert result.returncode == 0, result.stderr.decode()
        (row,) = json.loads(result.stdout)
        assert (row["backupTarget"]["serverName"], row["facts"]["verdict"]) == ("app-r2", "fresh-install-beside-data")
        refused = run_cli("render", "--check-store", "-f", path, stdin=INPUT, env=emulator)
        assert ACCOUNT_KEY not in assert_failed_cleanly(refused, "cnpg.main.mode")


def test_cli_error_names_the_destination_and_no_secret(tmp_path, azurite, layouts):
    wrong = azurite.connection_string.replace(ACCOUNT_KEY, SECRET_KEY)
    dest = azurite.destination("layouts", "pg")
    body = f"type: azure\nstorageAccount: {ACCOUNT}\ncontainer: layouts\nconnectionString: '{wrong}'\n"
    message = assert_failed_cleanly(run_cli("plan", "--check-store", "-f", write(tmp_path, overlay_text(body, dest)),
                                            stdin=INPUT),
                                    f"--check-store: cannot inspect {dest}: access denied (AuthorizationFailure)")
    assert SECRET_KEY not in message

