"""The overlay is read once into typed objects; every error names file, line and key."""

from __future__ import annotations

import pytest

from renderer import overlay
from renderer.errors import RenderError
from tests.helpers import REAL

CRED = "credentials:\n  s3: {type: s3, bucket: b, accessKey: AKIAEXAMPLE, secretKey: topsecret}\n"


def parse(*texts: str):
    return overlay.parse([(f"o{i}.yaml", t) for i, t in enumerate(texts)])


def error_of(*texts: str) -> str:
    with pytest.raises(RenderError) as info:
        parse(*texts)
    message = str(info.value)
    assert "topsecret" not in message and "AKIAEXAMPLE" not in message
    return message


def test_truecharts_values_load_as_an_overlay():
    loaded = parse((REAL / "truecharts-seed-values.yaml").read_text())
    entry = loaded.cnpg["main"]
    assert (entry.mode, entry.backups.revision, entry.recovery.credentials) == ("recovery", "1", "s3")
    assert loaded.credentials["s3"].name == "s3"


def test_defaults_follow_truecharts():
    backups = parse(CRED + "cnpg:\n  main:\n    backups: {enabled: true, credentials: s3}\n").cnpg["main"].backups
    assert (backups.retention_policy, backups.jobs, backups.compression, backups.encryption) == (None, 2, "gzip", None)
    [daily] = backups.scheduled_backups
    assert (daily.name, daily.schedule, daily.backup_owner_reference, daily.immediate) == (
        "daily-backup", "0 0 0 * * *", "none", True)


def test_only_main_gets_truecharts_retention_default():
    """TrueCharts' values.yaml gives defaults to cnpg.main alone: other entries keep
    every backup unless the overlay says otherwise ("" keeps every backup for main too)."""
    text = CRED + ("cnpg:\n  main: {}\n  other: {}\n  pruned: {backups: {retentionPolicy: 4w}}\n"
                   "  kept: {backups: {retentionPolicy: ''}}\n")
    loaded = parse(text).cnpg
    assert {name: entry.retention for name, entry in loaded.items()} == \
        {"main": "30d", "other": None, "pruned": "4w", "kept": None}


def test_integer_revision_becomes_its_decimal_string():
    assert parse("cnpg:\n  main:\n    backups: {revision: 1}\n").cnpg["main"].backups.revision == "1"


def test_unset_and_empty_revision_differ():
    loaded = parse("cnpg:\n  a: {backups: {revision: ''}}\n  b: {}\n")
    assert (loaded.cnpg["a"].backups.revision, loaded.cnpg["b"].backups.revision) == ("", None)


def test_unknown_key_suggests_the_known_one():
    assert error_of("cnpg:\n  main:\n    recovery:\n      revison: '1'\n") == \
        "o0.yaml:4: cnpg.main.recovery.revison: unknown key; did you mean 'revision'?"


def test_lowercase_servername_gets_a_pointed_message():
    assert "dead default" in error_of("cnpg:\n  main:\n    backups:\n      servername: x\n")


def test_restore_mode_points_to_recovery():
    assert "write 'recovery'" in error_of("cnpg:\n  main:\n    mode: restore\n")


def test_unknown_credential_lists_known_ones():
    message = error_of(CRED + "cnpg:\n  main:\n    backups: {enabled: true, credentials: s4}\n")
    assert message.startswith("o0.yaml:5: cnpg.main.backups.credentials") and "known: s3" in message


def test_enabled_backups_need_credentials():
    assert "needs backups.credentials" in error_of("cnpg:\n  main:\n    backups: {enabled: true}\n")


def test_credential_needs_exactly_one_way_to_authenticate():
    message = error_of("credentials:\n"
                       "  s3: {type: s3, bucket: b, inheritFromIAMRole: true, existingSecret: {name: x}}\n")
    assert "existingSecret and inheritFromIAMRole" in message


def test_recovery_from_backup_needs_backup_name():
    assert "cnpg.main.recovery.backupName: is required" in error_of(
        "cnpg:\n  main:\n    mode: recovery\n    recovery: {method: backup}\n")


def test_compression_accepts_truecharts_toggle():
    backups = parse("cnpg:\n  main:\n    backups: {compression: {enabled: false}, encryption: {enabled: true}}\n"
                    ).cnpg["main"].backups
    assert (backups.compression, backups.encryption) == (None, "AES256")
    enabled = parse("cnpg:\n  main:\n    backups: {compression: {enabled: true}}\n").cnpg["main"].backups
    assert enabled.compression == "bzip2"  # what {enabled: true} means in TrueCharts' templates


@pytest.mark.parametrize("value", ["{a: 1}", "[recovery]"])
def test_a_mapping_or_list_where_a_choice_goes_is_refused_with_the_choices(value):
    """It once met the pointed-values table as a dict key: an internal error (unhashable)."""
    assert "cnpg.main.mode: must be one of standalone, recovery" in error_of(f"cnpg:\n  main:\n    mode: {value}\n")


def test_empty_compression_is_refused():
    assert "compression must be one of" in error_of("cnpg:\n  main:\n    backups: {compression: ''}\n")


@pytest.mark.parametrize("written, advice", [
    ("30 days", "write 30d"), ("10days", "write 10d"), ("2 weeks", "write 2w"), ("1 year", "write 12m"),
    ("6 months", "write 6m"), ("30", "write 30d (days), 30w (weeks) or 30m (months)"),
    ("0d", "write a number of days, weeks or months such as 30d, 4w or 6m"), ("'fortnight'", "such as 30d"),
])
def test_retention_policy_says_what_to_write(written, advice):
    """Not the raw regex: the value as the policy it was meant to be."""
    message = error_of(f"cnpg:\n  main:\n    backups: {{retentionPolicy: {written}}}\n")
    assert "is not a retention policy" in message and advice in message and "^" not in message


def test_wrong_type_names_the_key():
    assert error_of("cnpg:\n  main:\n    backups: {enabled: 'yes please'}\n").endswith(
        "cnpg.main.backups.enabled: must be true or false")


def test_duplicate_key_is_an_error():
    assert "duplicate key" in error_of("cnpg:\n  main: {}\n  main: {}\n")


def test_invalid_yaml_names_the_line():
    assert error_of("cnpg:\n  main: [\n").startswith("o0.yaml:3: invalid YAML")


def test_later_file_overrides_and_errors_point_at_it():
    message = error_of("cnpg:\n  main:\n    mode: standalone\n", "# second\ncnpg:\n  main:\n    mode: replica\n")
    assert message.startswith("o1.yaml:4: cnpg.main.mode")


def test_lists_are_replaced_not_merged():
    first = ("cnpg:\n  main:\n    backups:\n"
             "      scheduledBackups: [{name: a, schedule: '@daily'}, {name: b, schedule: '@hourly'}]\n")
    second = "cnpg:\n  main:\n    backups:\n      scheduledBackups: [{name: c, schedule: '@weekly'}]\n"
    assert [s.name for s in parse(first, second).cnpg["main"].backups.scheduled_backups] == ["c"]


def test_duplicate_schedule_names_are_refused():
    text = CRED + ("cnpg:\n  main:\n    backups:\n      enabled: true\n      credentials: s3\n"
                   "      scheduledBackups: [{name: a, schedule: '@daily'}, {name: a, schedule: '@hourly'}]\n")
    assert "duplicate scheduled backup name 'a'" in error_of(text)


def test_secret_values_are_masked_in_repr():
    loaded = parse(CRED)
    assert "topsecret" not in repr(loaded) and "AKIAEXAMPLE" not in repr(loaded)
    assert loaded.credentials["s3"].secret_key.reveal() == "topsecret"


def test_missing_overlay_file_is_an_error(tmp_path):
    with pytest.raises(RenderError, match="cannot read overlay"):
        overlay.load([str(tmp_path / "nope.yaml")])


@pytest.mark.parametrize("key", ["user", "password", "pgVersion", "instances"])
def test_truecharts_chart_settings_in_an_entry_get_a_pointed_message(key):
    assert "TrueCharts chart setting" in error_of(f"cnpg:\n  main:\n    {key}: x\n")


@pytest.mark.parametrize("text,hint", [("cnpg:\n  main:\n    hibernate: true\n", "cnpg-render reads"),
                                       ("cnpg:\n  main:\n    cluster: {skipEmptyWalArchiveCheck: true}\n",
                                        "skipEmptyWalArchiveCheck: true (dangerous)"),
                                       ("credentials:\n  s3: {type: s3, customCA: x}\n", "same Secret"),
                                       ("cnpg:\n  main:\n    recovery: {clusterName: x}\n", "dead default"),
                                       ("cnpg:\n  main:\n    recovery: {endpointURL: x}\n", "credentials.<name>.url")])
def test_truecharts_keys_we_do_not_read_are_explained(text, hint):
    assert hint in error_of(text)


def test_a_url_with_credentials_is_not_echoed_in_errors():
    message = error_of("credentials:\n"
                       "  s3: {type: s3, bucket: b, url: 'ftp://me:topsecret@host', inheritFromIAMRole: true}\n")
    assert "credentials.s3.url: must start with https:// or http://" in message and "topsecret" not in message


def test_truecharts_empty_defaults_are_unset():
    """TrueCharts' values.yaml writes "" for what is unset, and its templates skip it: the
    same block pasted here means the same (no target, no recovery target, no path)."""
    text = (CRED + "cnpg:\n  main:\n    mode: recovery\n"
            "    backups: {enabled: true, credentials: s3, target: '', destinationPath: ''}\n"
            "    recovery: {credentials: s3, destinationPath: '', backupName: '', pitrTarget: {time: ''}}\n")
    entry = parse(text).cnpg["main"]
    assert (entry.backups.target, entry.recovery.pitr_target.time) == (None, None)
    assert not entry.backups.destination_path and not entry.recovery.destination_path
