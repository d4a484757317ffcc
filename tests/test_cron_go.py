"""The cron dialect's numbers beside Go's: robfig/cron reads schedule fields with
strconv.Atoi and `@every` with time.ParseDuration, and `verify --wait` takes durations
written the same way. tests/golang.py asks Go itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from renderer import cron
from tests.golang import ask, go_stdlib  # noqa: F401  go_stdlib is a fixture

pytestmark = pytest.mark.e2e

DURATIONS = ["0", "-0", "+0", "", "1", "90s", "1h30m", "1.5h", "-1.5h", ".5s", "1.s", ".s", "1d", "h", "1h 30m",
             "--1s", "1.2.3s", "300ms", "1us", "1µs", "1μs", "2ns", "1.0000005s", "0.0000001s", "1.999999999s",
             "2562047h", "2562048h", "9223372036854775807ns", "9223372036854775808ns", "99999999999999999999h",
             "\u0663s", "1H", " 1s", "1s ", "+1m", "1m1m", "0.1234567890123456789s"]
FIELDS = ["0", "7", "+7", "-7", "07", "", "+", "-", "x", "7x", "\u0663", "99999999999999999999", " 7", "0x10"]


def test_durations_read_as_go_reads_them(go_stdlib):
    go = ask(go_stdlib, "duration", [(text, "") for text in DURATIONS])
    for text, answer in zip(DURATIONS, go):
        try:
            ours = cron.parse_duration(text) // timedelta(microseconds=1)
        except ValueError:
            ours = None
        assert ours == (None if answer["error"] else answer["number"]), (text, answer)


def test_schedule_numbers_read_as_go_reads_them(go_stdlib):
    """Atoi, then robfig's refusal of negatives."""
    go = ask(go_stdlib, "atoi", [(text, "") for text in FIELDS])
    for text, answer in zip(FIELDS, go):
        try:
            ours = cron._int(text)
        except cron.CronError:
            ours = None
        assert ours == (None if answer["error"] or answer["number"] < 0 else answer["number"]), (text, answer)
