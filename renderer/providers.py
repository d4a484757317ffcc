"""The three object-store providers: which overlay fields each takes, the rules CNPG's
webhook applies to them, where their archive lives and how a store references its
credentials.

The webhook (barman-cloud `ValidateBackupConfiguration`) only checks the write side at
apply time, and only when the Cluster is applied; the same rules are checked here, for
both sides, when the overlay is read, so a mistake is reported at its overlay line.
Secret key names are the CNPG cluster chart's, so a chart-made Secret and ours agree."""

from __future__ import annotations

from collections.abc import Callable

from renderer.cnpg import rules
from renderer.errors import RenderError
from renderer.overlay.fields import yaml_key
from renderer.overlay.model import Credential, ExistingSecret
from renderer.records import Field, fields, record
from renderer.sensitive import Sensitive

# (CNPG credentials field, Secret key, value) for each value kept in the Secret.
SecretValue = tuple[str, str, "str | Sensitive"]


@record(frozen=True)
class Provider:
    """One object-store provider: its credential fields, Secret keys and destinationPath
    rule. How it may authenticate is CNPG's rule (`rules.CREDENTIALS`), shared with validate."""

    ways: rules.Ways  # the credentials block (s3Credentials, ...) and its authentication rule
    own: tuple[str, ...]  # Credential fields only this provider takes
    location: tuple[str, ...]  # fields the default destinationPath is made of
    flags: tuple[tuple[str, str], ...]  # (Credential field, CNPG boolean)
    base_url: Callable[[Credential], str]  # destinationPath before [/<path>]/<release>/cnpg
    values: Callable[[Credential], list[SecretValue]]
    check: Callable[[Credential], None]  # rules only the overlay has (s3: existingSecret)

    @property
    def block(self) -> str:
        return self.ways.block


def _s3_values(cred: Credential) -> list[SecretValue]:
    if cred.access_key is None:
        return []
    assert cred.secret_key is not None  # checked at load: inline keys come in pairs (_check_s3)
    out: list[SecretValue] = [("accessKeyId", "ACCESS_KEY_ID", cred.access_key),
                              ("secretAccessKey", "ACCESS_SECRET_KEY", cred.secret_key)]
    return out + ([("region", "REGION", cred.region)] if cred.region else [])


def _azure_values(cred: Credential) -> list[SecretValue]:
    """A connection string stands alone; a key or SAS token needs the account beside it."""
    if cred.connection_string is not None:
        return [("connectionString", "AZURE_CONNECTION_STRING", cred.connection_string)]
    secret = [(field, key, value) for field, key, value in (
        ("storageKey", "AZURE_STORAGE_KEY", cred.storage_key),
        ("storageSasToken", "AZURE_STORAGE_SAS_TOKEN", cred.storage_sas_token)) if value is not None]
    if not secret:
        return []
    assert cred.storage_account is not None  # checked at load: azure's location (check)
    return [("storageAccount", "AZURE_STORAGE_ACCOUNT", cred.storage_account), *secret]


def _google_values(cred: Credential) -> list[SecretValue]:
    if cred.application_credentials is None:
        return []
    return [("applicationCredentials", "APPLICATION_CREDENTIALS", cred.application_credentials)]


def _bucket_url(scheme: str) -> Callable[[Credential], str]:
    def base_url(cred: Credential) -> str:
        assert cred.bucket is not None  # checked at load: the bucket is the location (check)
        return f"{scheme}://{cred.bucket.strip('/')}"
    return base_url


def _azure_url(cred: Credential) -> str:
    assert cred.container is not None  # checked at load: azure's location (check)
    return f"https://{cred.storage_account}.blob.core.windows.net/{cred.container.strip('/')}"


def _one_way(cred: Credential, ways: dict[str, bool], what: str) -> None:
    """Exactly one authentication way; the error points at the second one given."""
    used = [key for key, on in ways.items() if on]
    if len(used) == 1:
        return
    where = cred.where(_field_of(used[1])) if used else cred.where()
    got = f" (got {' and '.join(used)})" if used else ""
    raise RenderError(where, f"type {cred.type} needs exactly one of {what}{got}")


def _check_s3(cred: Credential) -> None:
    inline = cred.access_key is not None or cred.secret_key is not None
    _one_way(cred, {"accessKey": inline, "existingSecret": cred.existing_secret is not None,
                    "inheritFromIAMRole": cred.inherit_from_iam_role},
             "accessKey+secretKey, existingSecret or inheritFromIAMRole")
    if inline and (cred.access_key is None or cred.secret_key is None):
        missing = "secretKey" if cred.secret_key is None else "accessKey"
        raise RenderError(cred.where(_field_of(missing)), "is required with inline keys "
                                                          "(CNPG needs both accessKeyId and secretAccessKey)")


def _nothing_more(cred: Credential) -> None:
    """azure and google: CNPG's rule says all (`_check_ways`)."""


# The CNPG credentials key each authentication field of the overlay becomes; the overlay
# spells two of them differently.
_CNPG_KEYS = {"access_key": ("accessKeyId",), "secret_key": ("secretAccessKey",),
              "existing_secret": ("accessKeyId", "secretAccessKey"), "inherit_from_iam_role": ("inheritFromIAMRole",),
              "connection_string": ("connectionString",), "storage_key": ("storageKey",),
              "storage_sas_token": ("storageSasToken",), "inherit_from_azure_ad": ("inheritFromAzureAD",),
              "use_default_azure_credentials": ("useDefaultAzureCredentials",),
              "application_credentials": ("applicationCredentials",), "gke_environment": ("gkeEnvironment",)}
_OVERLAY_SPELLING = {"accessKeyId": "accessKey", "secretAccessKey": "secretKey"}


def _check_ways(cred: Credential, provider: Provider) -> None:
    """CNPG's authentication rule on the keys this credential gives it, reported at the
    overlay field in the overlay's words."""
    given = {key for field, keys in _CNPG_KEYS.items() if getattr(cred, field) not in (None, False) for key in keys}
    if given & {"storageKey", "storageSasToken"} and "connectionString" not in given:
        given.add("storageAccount")  # the overlay requires it; CNPG is given it beside a key (_azure_values)
    for key, problem in rules.credential_problems(provider.ways, given, lambda k: _OVERLAY_SPELLING.get(k, k)):
        if key is None:
            raise RenderError(cred.where(), f"type {cred.type} {problem}")
        raise RenderError(cred.where(_field_of(_OVERLAY_SPELLING.get(key, key))), problem)


PROVIDERS: dict[str, Provider] = {
    "s3": Provider(rules.CREDENTIALS["s3"],
                   ("bucket", "region", "access_key", "secret_key", "existing_secret", "inherit_from_iam_role"),
                   ("bucket",), (("inherit_from_iam_role", "inheritFromIAMRole"),),
                   _bucket_url("s3"), _s3_values, _check_s3),
    "azure": Provider(rules.CREDENTIALS["azure"],
                      ("container", "storage_account", "connection_string", "storage_key", "storage_sas_token",
                       "inherit_from_azure_ad", "use_default_azure_credentials"),
                      ("storage_account", "container"),
                      (("inherit_from_azure_ad", "inheritFromAzureAD"),
                       ("use_default_azure_credentials", "useDefaultAzureCredentials")),
                      _azure_url, _azure_values, _nothing_more),
    "google": Provider(rules.CREDENTIALS["google"], ("bucket", "application_credentials", "gke_environment"),
                       ("bucket",), (("gke_environment", "gkeEnvironment"),),
                       _bucket_url("gs"), _google_values, _nothing_more),
}


def _field_of(key: str) -> str:
    """The Credential field behind a YAML key (`inheritFromIAMRole` -> `inherit_from_iam_role`)."""
    return next(f.name for f in fields(Credential) if yaml_key(f) == key)


def _is_set(cred: Credential, field: Field) -> bool:
    return getattr(cred, field.name) != field.default


def check(cred: Credential) -> None:
    """Fields of one provider only, the location fields present, then its own rules."""
    provider = PROVIDERS[cred.type]
    foreign = {name for other in PROVIDERS.values() for name in other.own} - set(provider.own)
    for field in fields(Credential):
        if field.name in foreign and _is_set(cred, field):
            owners = " and ".join(t for t, p in PROVIDERS.items() if field.name in p.own)
            raise RenderError(cred.where(field.name), f"is for type {owners}, but this credential is type "
                                                      f"{cred.type} (one provider per credential)")
    for name in provider.location:
        if not getattr(cred, name):
            raise RenderError(cred.where(name), f"is required for type {cred.type}")
    provider.check(cred)
    _check_ways(cred, provider)


def destination_path(cred: Credential, release: str) -> str:
    """`<base>[/<path>]/<release>/cnpg`, never with a double slash; base is
    s3://<bucket>, gs://<bucket> or https://<account>.blob.core.windows.net/<container>."""
    parts = [PROVIDERS[cred.type].base_url(cred), *filter(None, cred.path.split("/")), release, "cnpg"]
    return "/".join(parts)


def credentials(cred: Credential, secret: str) -> dict:
    """`{s3Credentials|azureCredentials|googleCredentials: ...}` for a store: flags,
    an existing Secret, or references into the generated Secret `secret`."""
    provider = PROVIDERS[cred.type]
    block: dict = {cnpg: True for field, cnpg in provider.flags if getattr(cred, field)}
    if cred.existing_secret is not None:
        block.update(_existing(cred.existing_secret))
    block.update({field: {"name": secret, "key": key} for field, key, _ in provider.values(cred)})
    return {provider.block: block}


def _existing(existing: ExistingSecret) -> dict:
    out = {"accessKeyId": {"name": existing.name, "key": existing.access_key_id_key},
           "secretAccessKey": {"name": existing.name, "key": existing.secret_access_key_key}}
    if existing.region_key:
        out["region"] = {"name": existing.name, "key": existing.region_key}
    return out


def secret_data(cred: Credential) -> dict[str, str]:
    """What the generated Secret holds (empty: no Secret is needed)."""
    return {key: value.reveal() if isinstance(value, Sensitive) else value
            for _, key, value in PROVIDERS[cred.type].values(cred)}
