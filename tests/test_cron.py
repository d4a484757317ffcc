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
    ("0 0 \u0663 * * *", "Failed to parse int from \u0663"),  # an Arabic-Indic 3: Go's Atoi reads ASCII digits only
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


# --------------------------------------------------------------------------- next activation
# robfig/cron@v1.2.0 spec_test.go TestNext and TestActivation, the cases without a DST
# change (the operator runs in UTC), plus descriptors and @every (constantdelay_test.go).

def _t(text: str):
    from datetime import UTC, datetime

    for form in ("%a %b %d %H:%M %Y", "%a %b %d %H:%M:%S %Y"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(text)


@pytest.mark.parametrize("now, spec, expected", [
    ("Mon Jul 9 14:45 2012", "0 0/15 * * *", "Mon Jul 9 15:00 2012"),
    ("Mon Jul 9 14:59 2012", "0 0/15 * * *", "Mon Jul 9 15:00 2012"),
    ("Mon Jul 9 14:59:59 2012", "0 0/15 * * *", "Mon Jul 9 15:00 2012"),
    ("Mon Jul 9 15:45 2012", "0 20-35/15 * * *", "Mon Jul 9 16:20 2012"),
    ("Mon Jul 9 23:46 2012", "0 */15 * * *", "Tue Jul 10 00:00 2012"),
    ("Mon Jul 9 23:45 2012", "0 20-35/15 * * *", "Tue Jul 10 00:20 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 * * *", "Tue Jul 10 00:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 1/2 * *", "Tue Jul 10 01:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 10-12 * *", "Tue Jul 10 10:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 1/2 */2 * *", "Thu Jul 11 01:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 * 9-20 * *", "Wed Jul 10 00:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 * 9-20 Jul *", "Wed Jul 10 00:20:15 2012"),
    ("Mon Jul 9 23:35 2012", "0 0 0 9 Apr-Oct ?", "Thu Aug 9 00:00 2012"),
    ("Mon Jul 9 23:35 2012", "0 0 0 */5 Apr,Aug,Oct Mon", "Mon Aug 6 00:00 2012"),
    ("Mon Jul 9 23:35 2012", "0 0 0 */5 Oct Mon", "Mon Oct 1 00:00 2012"),
    ("Mon Jul 9 23:35 2012", "0 0 0 * Feb Mon", "Mon Feb 4 00:00 2013"),
    ("Mon Jul 9 23:35 2012", "0 0 0 * Feb Mon/2", "Fri Feb 1 00:00 2013"),
    ("Mon Dec 31 23:59:45 2012", "0 * * * * *", "Tue Jan 1 00:00:00 2013"),
    ("Mon Jul 9 23:35 2012", "0 0 0 29 Feb ?", "Mon Feb 29 00:00 2016"),
    # CNPG's default schedule and descriptors (parser.go parseDescriptor)
    ("Mon Jul 9 23:35 2012", "0 0 0 * * *", "Tue Jul 10 00:00 2012"),
    ("Tue Jul 10 00:00 2012", "0 0 0 * * *", "Wed Jul 11 00:00 2012"),  # strictly after
    ("Mon Jul 9 23:35 2012", "@daily", "Tue Jul 10 00:00 2012"),
    ("Mon Jul 9 23:35 2012", "@hourly", "Tue Jul 10 00:00 2012"),
    ("Mon Jul 9 15:04 2012", "@hourly", "Mon Jul 9 16:00 2012"),
    ("Mon Jul 9 23:35 2012", "@weekly", "Sun Jul 15 00:00 2012"),
    ("Mon Jul 9 23:35 2012", "@monthly", "Wed Aug 1 00:00 2012"),
    ("Mon Jul 9 23:35 2012", "@yearly", "Tue Jan 1 00:00 2013"),
    # five fields are read seconds first: `0 0 * * *` fires every hour
    ("Mon Jul 9 23:35 2012", "0 0 * * *", "Tue Jul 10 00:00 2012"),
    ("Tue Jul 10 00:00 2012", "0 0 * * *", "Tue Jul 10 01:00 2012"),
])
def test_next_activation_is_robfigs(now, spec, expected):
    assert cron.parse(spec).next(_t(now)) == _t(expected)


@pytest.mark.parametrize("spec", ["0 0 0 30 Feb ?", "0 0 0 31 Apr ?"])
def test_a_schedule_that_never_fires_has_no_next_activation(spec):
    assert cron.parse(spec).next(_t("Mon Jul 9 23:35 2012")) is None


@pytest.mark.parametrize("when, spec, fires", [
    ("Mon Jul 9 15:00 2012", "0 0/15 * * *", True),
    ("Mon Jul 9 15:45 2012", "0 0/15 * * *", True),
    ("Mon Jul 9 15:40 2012", "0 0/15 * * *", False),
    ("Mon Jul 9 15:05 2012", "0 5/15 * * *", True),
    ("Sun Jul 15 15:00 2012", "0 0/15 * * Jul", True),
    ("Sun Jul 15 15:00 2012", "0 0/15 * * Jun", False),
    ("Sun Jul 15 08:30 2012", "0 30 08 ? Jul Sun", True),
    ("Sun Jul 15 08:30 2012", "0 30 08 15 Jul ?", True),
    ("Mon Jul 16 08:30 2012", "0 30 08 ? Jul Sun", False),
    ("Mon Jul 16 08:30 2012", "0 30 08 15 Jul ?", False),
    ("Mon Jul 9 00:00 2012", "@weekly", False),
    ("Sun Jul 8 00:00 2012", "@weekly", True),
    ("Sun Jul 1 00:00 2012", "@monthly", True),
    # both day fields given: either matches; one of them a star: both must
    ("Sun Jul 15 00:00 2012", "0 * * 1,15 * Sun", True),
    ("Fri Jun 15 00:00 2012", "0 * * 1,15 * Sun", True),
    ("Wed Aug 1 00:00 2012", "0 * * 1,15 * Sun", True),
    ("Sun Jul 15 00:00 2012", "0 * * * * Mon", False),
    ("Sun Jul 15 00:00 2012", "0 * * */10 * Sun", False),
    ("Mon Jul 9 00:00 2012", "0 * * 1,15 * *", False),
    ("Sun Jul 15 00:00 2012", "0 * * 1,15 * *", True),
    ("Sun Jul 15 00:00 2012", "0 * * */2 * Sun", True),
])
def test_activation_is_robfigs(when, spec, fires):
    from datetime import timedelta

    at = _t(when)
    assert (cron.parse(spec).next(at - timedelta(seconds=1)) == at) is fires


@pytest.mark.parametrize("spec, after, expected", [
    ("@every 1h30m", "Mon Jul 9 14:45 2012", "Mon Jul 9 16:15 2012"),
    ("@every 90s", "Mon Jul 9 14:45 2012", "Mon Jul 9 14:46:30 2012"),
    ("@every 1.5s", "Mon Jul 9 14:45 2012", "Mon Jul 9 14:45:01 2012"),  # whole seconds
    ("@every 10ms", "Mon Jul 9 14:45 2012", "Mon Jul 9 14:45:01 2012"),  # at least one second
])
def test_every_waits_its_whole_seconds(spec, after, expected):
    assert cron.parse(spec).next(_t(after)) == _t(expected)


def test_every_rounds_onto_the_second():
    from datetime import timedelta

    assert cron.parse("@every 1m").next(_t("Mon Jul 9 14:45 2012") + timedelta(microseconds=500)) == \
        _t("Mon Jul 9 14:46 2012")


@pytest.mark.parametrize("text, seconds", [
    ("0", 0), ("90s", 90), ("1h30m", 5400), ("1.5h", 5400), (".5m", 30), ("2m0.5s", 120.5), ("+10m", 600),
    ("-1m", -60), ("1500ms", 1.5), ("300us", 0.0003),
])
def test_durations_read_as_go_reads_them(text, seconds):
    assert cron.parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "1", "1d", "h", "1h 30m", "--1s", "1.2.3s", "\u0663s"])
def test_durations_go_refuses(text):
    with pytest.raises(ValueError, match="invalid duration"):
        cron.parse_duration(text)


@pytest.mark.parametrize("specs,hours", [(["0 0 0 * * *"], 24), (["@weekly"], 7 * 24), (["@every 90m"], 1.5),
                                         (["0 0 0 * * *", "0 0 6 * * *"], 18), (["0 0 0 1 * *"], 31 * 24),
                                         (["@yearly"], 366 * 24)])
def test_longest_gap_between_activations(specs, hours):
    from datetime import UTC, datetime, timedelta

    from renderer import cron

    assert cron.longest_gap(specs, datetime(2026, 1, 1, tzinfo=UTC)) == timedelta(hours=hours)


def test_a_schedule_that_never_fires_twice_has_no_gap():
    from datetime import UTC, datetime

    from renderer import cron

    assert cron.longest_gap(["0 0 0 30 2 *"], datetime(2026, 1, 1, tzinfo=UTC)) is None
