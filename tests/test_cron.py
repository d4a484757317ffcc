"""robfig/cron v1.2.0 as CNPG runs it: seconds first, day-of-week optional, descriptors."""

import re

import pytest

from renderer import cron


@pytest.mark.parametrize("spec", [
    "0 0 0 * * *",
    "*/30 15 2-4 1,15 jan-mar MON-FRI",
    "0 0 0 ? * sun",
    "0 5/10 * * * *",
    "0 0 * * *",  # 5 fields parse: the shifted meaning is for the validator to flag
])
def test_six_and_five_field_specs_that_robfig_accepts_parse(spec):
    cron.parse(spec)


@pytest.mark.parametrize("spec", [
    "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
    "@every 1h30m", "@every 90s", "@every 1.5h",
])
def test_descriptors_parse(spec):
    cron.parse(spec)


@pytest.mark.parametrize("spec, error", [
    ("", "Empty spec string"),
    ("0 0 0 * *  * *", "Expected 5 to 6 fields, found 7"),
    ("* * * *", "Expected 5 to 6 fields, found 4"),
    ("0 1 * * 0", "Beginning of range (0) below minimum (1)"),  # Unix "Sundays 01:00", shifted
    ("60 * * * * *", "End of range (60) above maximum (59)"),
    ("0 0 5-2 * * *", "beyond end of range"),
    ("0 0 */0 * * *", "Step of range should be a positive number"),
    ("0 0 1/2/3 * * *", "Too many slashes"),
    ("0 0 1-2-3 * * *", "Too many hyphens"),
    ("0 0 x * * *", "Failed to parse int from x"),
    ("0 0 0 L * *", "Failed to parse int from L"),
    ("@fortnightly", "Unrecognized descriptor"),
    ("@every 1d", "Failed to parse duration"),
    ("@every", "Unrecognized descriptor"),
])
def test_specs_robfig_refuses_raise_with_its_message(spec, error):
    with pytest.raises(cron.CronError, match=re.escape(error)):
        cron.parse(spec)


def test_six_field_form_prepends_a_zero_seconds_field_to_five_field_specs():
    assert cron.six_field_form("0 2 * * 0") == "0 0 2 * * 0"
    assert cron.six_field_form("0 0 0 * * *") is None
    assert cron.six_field_form("@daily") is None
