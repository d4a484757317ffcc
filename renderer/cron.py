"""The ScheduledBackup cron dialect: robfig/cron v1.2.0 with a leading seconds field.

CNPG parses `ScheduledBackup.spec.schedule` with `cron.Parse` from robfig/cron v1.2.0
(parser options Second | Minute | Hour | Dom | Month | DowOptional | Descriptor). That
is not Unix cron: a 5-field value is accepted but read seconds-first, so `0 0 * * *`
means "second 0 of minute 0 of every hour". This module reproduces the parser closely
enough to say *exactly* what the operator will accept, offers the 6-field form a
5-field value was meant to be, so callers can reject or convert it, and computes when
a schedule fires next (robfig's `Schedule.Next`), so `verify` can say when a base
backup is due.

Times are UTC: the operator calls `schedule.Next(time.Now())` in its own time zone,
which is UTC in CNPG's images, and v1.2.0 has no `TZ=`/`CRON_TZ=` prefix. Sources:
robfig/cron@v1.2.0 `parser.go`, `spec.go`, `constantdelay.go`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from renderer.records import record

__all__ = ["CronError", "Every", "SpecSchedule", "parse", "parse_duration", "six_field_form"]


class CronError(ValueError):
    """The schedule would be refused by the operator's parser."""


@record(frozen=True)
class _Bounds:
    """One cron field: its name, range and the names it accepts."""

    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_FIELDS = (
    _Bounds("second", 0, 59),
    _Bounds("minute", 0, 59),
    _Bounds("hour", 0, 23),
    _Bounds("day of month", 1, 31),
    _Bounds("month", 1, 12, _MONTHS),
    _Bounds("day of week", 0, 6, _DAYS),
)
_STAR = 1 << 63  # robfig's starBit: the field was `*` or `?` (day matching depends on it)
# Go's time.ParseDuration: an optional sign, then one or more decimal numbers with units
# (ASCII digits: Go reads no others). Kept as text: `re` compiles it on the first
# `@every`, not on every render that checks a schedule.
_DURATION_TERM = r"([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)"
_NANOSECONDS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
                "h": 3600 * 10**9}
_SECOND = timedelta(seconds=1)
_INT64_LIMIT = (1 << 63) - 1  # Go's int and time.Duration (nanoseconds) on 64-bit machines


def _bits(low: int, high: int, step: int = 1) -> int:
    return sum(1 << i for i in range(low, high + 1, step))


@record(frozen=True)
class SpecSchedule:
    """A parsed crontab schedule as robfig keeps it: one bit set per field."""

    second: int
    minute: int
    hour: int
    dom: int
    month: int
    dow: int

    def next(self, after: datetime) -> datetime | None:
        """The first activation strictly after `after` (UTC, whole seconds), as
        robfig's `SpecSchedule.Next` finds it; None when none comes within five years
        (`0 0 0 30 Feb *`), where the operator reports "No time satisfying the schedule".

        robfig walks month, day, hour, minute, second, incrementing the first field
        that does not match and starting over on a wrap; starting over after every
        increment is the same walk, since an increment that does not wrap leaves the
        earlier fields as they were."""
        t = after.astimezone(UTC).replace(microsecond=0) + _SECOND
        limit, added = t.year + 5, False
        while t.year <= limit:
            if not self.month >> t.month & 1:
                t, added = (t, added) if added else (t.replace(day=1, hour=0, minute=0, second=0), True)
                t = t.replace(year=t.year + t.month // 12, month=t.month % 12 + 1)
            elif not self._day_matches(t):
                t, added = (t, added) if added else (t.replace(hour=0, minute=0, second=0), True)
                t += timedelta(days=1)
            elif not self.hour >> t.hour & 1:
                t, added = (t, added) if added else (t.replace(minute=0, second=0), True)
                t += timedelta(hours=1)
            elif not self.minute >> t.minute & 1:
                t, added = (t, added) if added else (t.replace(second=0), True)
                t += timedelta(minutes=1)
            elif not self.second >> t.second & 1:
                added = True
                t += _SECOND
            else:
                return t
        return None

    def _day_matches(self, t: datetime) -> bool:
        """robfig's dayMatches: with a `*` in either day field both must match, else either."""
        dom = bool(self.dom >> t.day & 1)
        dow = bool(self.dow >> (t.weekday() + 1) % 7 & 1)  # Go counts weekdays from Sunday
        return dom and dow if (self.dom | self.dow) & _STAR else dom or dow


@record(frozen=True)
class Every:
    """`@every <duration>`: robfig's ConstantDelaySchedule, whole seconds, at least one."""

    delay: timedelta

    def next(self, after: datetime) -> datetime:
        return after.astimezone(UTC) + self.delay - timedelta(microseconds=after.microsecond)


Schedule = SpecSchedule | Every

_DESCRIPTORS = {
    "@yearly": ("0", "0", "0", "1", "1", "*"),
    "@annually": ("0", "0", "0", "1", "1", "*"),
    "@monthly": ("0", "0", "0", "1", "*", "*"),
    "@weekly": ("0", "0", "0", "*", "*", "0"),
    "@daily": ("0", "0", "0", "*", "*", "*"),
    "@midnight": ("0", "0", "0", "*", "*", "*"),
    "@hourly": ("0", "0", "*", "*", "*", "*"),
}


def parse(spec: str) -> Schedule:
    """The schedule robfig/cron v1.2.0 `cron.Parse` makes of `spec`; CronError (with
    robfig's text, as `kubectl apply` shows it) when it would refuse it."""
    if not spec:
        raise CronError("Empty spec string")
    if spec.startswith("@"):
        return _parse_descriptor(spec)
    fields = spec.split()
    if not 5 <= len(fields) <= 6:
        raise CronError(f"Expected 5 to 6 fields, found {len(fields)}: {spec}")
    fields += ["*"] * (6 - len(fields))  # day of week is optional
    return SpecSchedule(*(_parse_field(text, bounds) for text, bounds in zip(fields, _FIELDS, strict=True)))


def six_field_form(spec: str) -> str | None:
    """The seconds-first form of a 5-field Unix cron value, or None if not 5 fields.

    Only the shape is converted (a `0` seconds field is prepended); whether the result
    parses is for `parse` to say.
    """
    fields = spec.split()
    if spec.startswith("@") or len(fields) != 5:
        return None
    return " ".join(["0", *fields])


def parse_duration(text: str) -> timedelta:
    """Go's `time.ParseDuration` (`90s`, `1h30m`, `1.5h`, `0`), to the microsecond;
    ValueError with Go's text otherwise. robfig reads `@every` with it, and the CLI's
    durations (`verify --wait`) are written the same way, as kubectl's are."""
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.removeprefix("+"))
    terms = re.findall(_DURATION_TERM, body)
    if body == "0":
        return timedelta(0)
    if not terms or "".join(number + unit for number, unit in terms) != body:
        raise ValueError(f'time: invalid duration "{text}"')
    nanoseconds = 0
    for number, unit in terms:
        whole, _, fraction = number.partition(".")
        scale = _NANOSECONDS[unit]
        nanoseconds += int(whole or 0) * scale + (int(fraction) * scale // 10 ** len(fraction) if fraction else 0)
        if nanoseconds > _INT64_LIMIT + (sign < 0):  # Go's Duration is an int64 of nanoseconds
            raise ValueError(f'time: invalid duration "{text}"')
    return sign * timedelta(microseconds=nanoseconds // 1000)


def _parse_descriptor(spec: str) -> Schedule:
    """The fixed descriptors and `@every <Go duration>`, as robfig v1.2.0 reads them."""
    if spec in _DESCRIPTORS:
        return SpecSchedule(*(_parse_field(text, bounds) for text, bounds in zip(_DESCRIPTORS[spec], _FIELDS)))
    if spec.startswith("@every "):
        try:
            duration = parse_duration(spec[len("@every "):])
        except ValueError as exc:
            raise CronError(f"Failed to parse duration {spec}: {exc}") from None
        return Every(max(_SECOND, duration - duration % _SECOND))
    raise CronError(f"Unrecognized descriptor: {spec}")


def _parse_field(text: str, bounds: _Bounds) -> int:
    """A comma-separated list of ranges as one bit set (empty terms are skipped, as Go's FieldsFunc does)."""
    bits = 0
    for expr in filter(None, text.split(",")):
        bits |= _parse_range(expr, bounds)
    return bits


def _parse_range(expr: str, bounds: _Bounds) -> int:
    """One `a`, `a-b`, `a/step`, `a-b/step`, `*` or `?` term: its bits, checked
    against the field in robfig's order."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    star = low_and_high[0] in ("*", "?")
    if star:
        start, end = bounds.low, bounds.high
    else:
        start = _int_or_name(low_and_high[0], bounds)
        if len(low_and_high) > 2:
            raise CronError(f"Too many hyphens: {expr}")
        end = _int_or_name(low_and_high[-1], bounds)
    if len(range_and_step) > 2:
        raise CronError(f"Too many slashes: {expr}")
    step = _int(range_and_step[1]) if len(range_and_step) == 2 else 1
    if len(range_and_step) == 2 and len(low_and_high) == 1:  # "N/step" means "N-max/step"
        end = bounds.high
    if start < bounds.low:
        raise CronError(f"Beginning of range ({start}) below minimum ({bounds.low}): {expr} [{bounds.name}]")
    if end > bounds.high:
        raise CronError(f"End of range ({end}) above maximum ({bounds.high}): {expr} [{bounds.name}]")
    if start > end:
        raise CronError(f"Beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"Step of range should be a positive number: {expr}")
    return _bits(start, end, step) | (_STAR if star else 0)


def _int_or_name(text: str, bounds: _Bounds) -> int:
    if bounds.names and text.lower() in bounds.names:
        return bounds.names[text.lower()]
    return _int(text)


def _int(text: str) -> int:
    """Go's strconv.Atoi (a sign, then ASCII digits) plus robfig's refusal of negatives."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (digits.isascii() and digits.isdigit()) or int(digits) > _INT64_LIMIT:
        raise CronError(f"Failed to parse int from {text}")
    value = int(text)
    if value < 0:
        raise CronError(f"Negative number ({value}) not allowed: {text}")
    return value


def longest_gap(specs: list[str], start: datetime, horizon: timedelta = timedelta(days=1500),
                steps: int = 2_000) -> timedelta | None:
    """The longest time between two consecutive activations of any of `specs` (a backup
    is taken at each), looked for over `horizon` from `start` and at most `steps`
    activations; None when fewer than two come. Four years of horizon hold a leap year
    for `@yearly`; schedules repeat, so a frequent one has shown its gaps long before
    `steps`."""
    import heapq

    schedules = [parse(spec) for spec in specs]
    pending = [(t, i) for i, s in enumerate(schedules) if (t := s.next(start)) is not None]
    heapq.heapify(pending)
    end, last, longest = start + horizon, None, None
    for _ in range(steps):
        if not pending or pending[0][0] > end:
            break
        t, i = heapq.heappop(pending)
        if last is not None and t > last:
            longest = max(longest or timedelta(0), t - last)
        last = t
        following = schedules[i].next(t)
        if following is not None:
            heapq.heappush(pending, (following, i))
    return longest
