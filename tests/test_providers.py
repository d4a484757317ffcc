"""Provider credentials, endpointCA, PITR targets and `defaults:` as overlay errors:
each names file:line and the key path, and never a secret value."""

from __future__ import annotations

import textwrap

import pytest

from renderer import overlay, providers
from renderer.errors import RenderError

SECRETS = ("AKIAEXAMPLE", "topsecret", "azureKEY", "SASTOKEN", "CONNSTRING", "GCPJSON")


def parse(text: str):
    return overlay.parse([("o.yaml", textwrap.dedent(text))])


def error_of(text: str) -> str:
    with pytest.raises(RenderError) as info:
        parse(text)
    message = str(info.value)
    assert not [s for s in SECRETS if s in message], message
    return message


def credential(body: str) -> str:
    """An overlay with one credential `c` whose fields are `body` (one per line)."""
    return "credentials:\n  c:\n" + textwrap.indent(textwrap.dedent(body), "    ")


AZURE = "type: azure\nstorageAccount: acct\ncontainer: box\n"


@pytest.mark.parametrize("body,line,path,what", [
    # one provider per credential: another provider's field is refused where it is written
    ("type: s3\nbucket: b\ninheritFromIAMRole: true\nstorageKey: azureKEY\n", 6, "credentials.c.storageKey",
     "is for type azure, but this credential is type s3"),
    ("type: google\nbucket: b\ngkeEnvironment: true\nregion: eu\n", 6, "credentials.c.region", "is for type s3"),
    ("type: google\nbucket: b\ngkeEnvironment: true\nexistingSecret: {name: x}\n", 6,
     "credentials.c.existingSecret", "is for type s3"),
    # s3: keys XOR existingSecret XOR IAM role; both keys
    ("type: s3\nbucket: b\n", 3, "credentials.c",
     "needs exactly one of accessKey+secretKey, existingSecret or inheritFromIAMRole"),
    ("type: s3\nbucket: b\naccessKey: AKIAEXAMPLE\nsecretKey: topsecret\ninheritFromIAMRole: true\n", 7,
     "credentials.c.inheritFromIAMRole", "(got accessKey and inheritFromIAMRole)"),
    ("type: s3\nbucket: b\naccessKey: AKIAEXAMPLE\n", 3, "credentials.c.secretKey", "is required with inline keys"),
    ("type: s3\ninheritFromIAMRole: true\n", 3, "credentials.c.bucket", "is required for type s3"),
    # azure: connection string alone; otherwise exactly one way; account and container
    (AZURE, 3, "credentials.c", "needs exactly one of connectionString, storageKey, storageSasToken"),
    (AZURE + "storageKey: azureKEY\nstorageSasToken: SASTOKEN\n", 7, "credentials.c.storageSasToken",
     "(got storageKey and storageSasToken)"),
    (AZURE + "inheritFromAzureAD: true\nuseDefaultAzureCredentials: true\n", 7,
     "credentials.c.useDefaultAzureCredentials", "needs exactly one of"),
    (AZURE + "connectionString: CONNSTRING\nstorageKey: azureKEY\n", 7, "credentials.c.storageKey",
     "cannot be combined with connectionString"),
    ("type: azure\ncontainer: box\nstorageKey: azureKEY\n", 3, "credentials.c.storageAccount",
     "is required for type azure"),
    ("type: azure\nstorageAccount: acct\nuseDefaultAzureCredentials: true\n", 3, "credentials.c.container",
     "is required for type azure"),
    # google: gkeEnvironment XOR applicationCredentials
    ("type: google\nbucket: b\n", 3, "credentials.c", "needs exactly one of applicationCredentials or gkeEnvironment"),
    ("type: google\nbucket: b\napplicationCredentials: GCPJSON\ngkeEnvironment: true\n", 6,
     "credentials.c.gkeEnvironment", "(got applicationCredentials and gkeEnvironment)"),
    ("type: gcs\nbucket: b\n", 3, "credentials.c.type", "must be one of s3, azure, google"),
])
def test_provider_rules_are_overlay_errors(body, line, path, what):
    message = error_of(credential(body))
    assert message.startswith(f"o.yaml:{line}: {path}: "), message
    assert what in message


@pytest.mark.parametrize("ca,what", [
    ("endpointCA: not a pem\n", "must be a PEM certificate"),
    ("endpointCA: {key: ca.crt}\n", "must be an inline PEM certificate or {name"),
    ("customCA: x\n", "write endpointCA: with the same PEM"),
    ("customCASecretRef: {name: x, key: y}\n", "write endpointCA: {name, key}"),
])
def test_endpoint_ca_forms_and_truecharts_names(ca, what):
    message = error_of(credential("type: s3\nbucket: b\ninheritFromIAMRole: true\n" + ca))
    assert message.startswith("o.yaml:6: credentials.c.")
    assert what in message


def test_endpoint_ca_reference_defaults_its_key():
    loaded = parse(credential("type: s3\nbucket: b\ninheritFromIAMRole: true\nendpointCA: {name: corp}\n"))
    assert (loaded.credentials["c"].endpoint_ca.name, loaded.credentials["c"].endpoint_ca.key) == ("corp", "ca.crt")


@pytest.mark.parametrize("body,expected", [
    ("type: s3\nbucket: /b/\npath: /x//y/\ninheritFromIAMRole: true\n", "s3://b/x/y/rel/cnpg"),
    ("type: google\nbucket: b\ngkeEnvironment: true\n", "gs://b/rel/cnpg"),
    (AZURE + "path: p\ninheritFromAzureAD: true\n", "https://acct.blob.core.windows.net/box/p/rel/cnpg"),
])
def test_destination_path_per_provider(body, expected):
    assert providers.destination_path(parse(credential(body)).credentials["c"], "rel") == expected


@pytest.mark.parametrize("body,block,data", [
    (AZURE + "connectionString: CONNSTRING\n", {"connectionString": {"name": "S", "key": "AZURE_CONNECTION_STRING"}},
     {"AZURE_CONNECTION_STRING": "CONNSTRING"}),
    (AZURE + "storageSasToken: SASTOKEN\n",
     {"storageAccount": {"name": "S", "key": "AZURE_STORAGE_ACCOUNT"},
      "storageSasToken": {"name": "S", "key": "AZURE_STORAGE_SAS_TOKEN"}},
     {"AZURE_STORAGE_ACCOUNT": "acct", "AZURE_STORAGE_SAS_TOKEN": "SASTOKEN"}),
    (AZURE + "inheritFromAzureAD: true\n", {"inheritFromAzureAD": True}, {}),
    ("type: google\nbucket: b\napplicationCredentials: GCPJSON\n",
     {"applicationCredentials": {"name": "S", "key": "APPLICATION_CREDENTIALS"}},
     {"APPLICATION_CREDENTIALS": "GCPJSON"}),
])
def test_credentials_reference_the_cnpg_chart_secret_keys(body, block, data):
    cred = parse(credential(body)).credentials["c"]
    assert list(providers.credentials(cred, "S").values()) == [block]
    assert providers.secret_data(cred) == data


PITR = ("cnpg:\n  main:\n    mode: recovery\n    recovery:\n"
        "      method: backup\n      backupName: b\n      pitrTarget:\n")


@pytest.mark.parametrize("target,line,path,what", [
    ("time: '2024-05-01 10:00:00'\nlsn: 0/1\n", 9, "lsn", "recovery targets are mutually exclusive (got time and lsn)"),
    ("immediate: true\n", 8, "backupID", "is required with immediate"),
    ("xid: 42\n", 8, "backupID", "is required with xid"),
    ("name: before\n", 8, "backupID", "is required with name"),
    ("time: '2024-13-01 10:00:00'\n", 8, "time", "is not a real date and time"),
    ("time: yesterday\n", 8, "time", "is not a time CNPG reads: write RFC 3339"),
    ("time: '2024-05-01t10:00:00z'\n", 8, "time", "is not a time CNPG reads"),  # Go wants T and Z upper case
    ("lsn: 12345\n", 8, "lsn", "is not a WAL location: write two hex numbers"),
    ("lsn: 000000001/0\n", 8, "lsn", "is not a WAL location"),  # 9 digits: PostgreSQL refuses
    ("xid: -1\n", 8, "xid", "is not a transaction id: write an integer from 0 to 4294967295"),
    ("tli: 0\n", 8, "tli", "is not a timeline: write latest or a timeline number of 1 or more"),
    ("name: " + "x" * 64 + "\nbackupID: b\n", 8, "name", "1 to 63 bytes"),
])
def test_pitr_rules_are_overlay_errors(target, line, path, what):
    message = error_of(PITR + textwrap.indent(target, "        "))
    assert message.startswith(f"o.yaml:{line}: cnpg.main.recovery.pitrTarget.{path}: "), message
    assert what in message


def test_pitr_accepts_postgres_and_rfc3339_times_and_label_targets_with_backup_id():
    for target in ("time: '2024-05-01 10:00:00.123456+02:30'", "time: '2024-05-01T10:00:00Z'",
                   "xid: '4242'\nbackupID: 20240501T100000\ntli: 2", "immediate: true\nbackupID: x\nexclusive: false"):
        parse(PITR + textwrap.indent(target + "\n", "        "))


DEFAULTS_CRED = credential("type: s3\nbucket: b\ninheritFromIAMRole: true\n")


def test_defaults_fill_every_entry_and_entries_win_key_by_key():
    loaded = parse(DEFAULTS_CRED + textwrap.dedent("""\
        defaults:
          engine: plugin
          skipEmptyWalArchiveCheck: true
          backups: {enabled: true, credentials: c, jobs: 4, scheduledBackups: [{name: a, schedule: "@daily"}]}
        cnpg:
          one: {}
          two:
            engine: barmanObjectStore
            backups: {jobs: 8, scheduledBackups: []}
        """))
    one, two = loaded.cnpg["one"], loaded.cnpg["two"]
    assert (one.engine, one.skip_empty_wal_archive_check, one.backups.jobs, len(one.backups.scheduled_backups)) == \
        ("plugin", True, 4, 1)
    assert (two.engine, two.backups.enabled, two.backups.jobs, two.backups.scheduled_backups) == \
        ("barmanObjectStore", True, 8, [])


def test_an_error_in_a_default_points_at_the_defaults_line():
    message = error_of(DEFAULTS_CRED + "defaults:\n  backups:\n    jobs: many\ncnpg:\n  main: {}\n")
    assert message.startswith("o.yaml:8: defaults.backups.jobs: must be an integer"), message
    message = error_of(DEFAULTS_CRED + "defaults:\n  backups: {enabled: true, credentials: nope}\ncnpg:\n  main: {}\n")
    assert message.startswith("o.yaml:7: cnpg.main.backups.credentials: credentials 'nope' is not defined"), message


def test_match_cannot_be_a_default():
    message = error_of("defaults:\n  match: {name: '*'}\ncnpg:\n  main: {}\n")
    assert message.startswith("o.yaml:2: defaults.match: match is per entry")
