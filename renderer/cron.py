"""The ScheduledBackup cron dialect: robfig/cron v1.2.0 with a leading seconds field.

CNPG parses `ScheduledBackup.spec.schedule` with `cron.Parse` from robfig/cron v1.2.0
(parser options Second | Minute | Hour | Dom | Month | DowOptional | Descriptor). That
is not Unix cron: a 5-field value is accepted but read seconds-first, so `0 0 * * *`
means "second 0 of minute 0 of every hour". This module reproduces the parser closely
enough to say *exactly* what the operator will accept, and offers the 6-field form a
5-field value was meant to be, so callers can reject or convert it.
"""

from __future__ import annotations

import re

from renderer.records import record

__all__ = ["CronError", "parse", "six_field_form"]


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
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
_FIELDS = (
    _Bounds("second", 0, 59),
    _Bounds("minute", 0, 59),
    _Bounds("hour", 0, 23),
    _Bounds("day of month", 1, 31),
    _Bounds("month", 1, 12, _MONTHS),
    _Bounds("day of week", 0, 6, _DAYS),
)
_DESCRIPTORS = frozenset(
    ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"])
# Go's time.ParseDuration: an optional sign, then one or more decimal numbers with units.
_GO_DURATION = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|[-+]?0")
_GO_ATOI = re.compile(r"[-+]?\d+")


def parse(spec: str) -> None:
    """Raise CronError when robfig/cron v1.2.0 `cron.Parse` would reject `spec`.

    Returns nothing on success: callers only need the verdict, the operator computes
    the times. Error texts follow robfig's so they match what `kubectl apply` shows.
    """
    if not spec:
        raise CronError("Empty spec string")
    if spec.startswith("@"):
        _parse_descriptor(spec)
        return
    fields = spec.split()
    if not 5 <= len(fields) <= 6:
        raise CronError(f"Expected 5 to 6 fields, found {len(fields)}: {spec}")
    for text, bounds in zip(fields, _FIELDS, strict=False):  # day of week is optional
        for expr in filter(None, text.split(",")):
            _parse_range(expr, bounds)


def six_field_form(spec: str) -> str | None:
    """The seconds-first form of a 5-field Unix cron value, or None if not 5 fields.

    Only the shape is converted (a `0` seconds field is prepended); whether the result
    parses is for `parse` to say.
    """
    fields = spec.split()
    if spec.startswith("@") or len(fields) != 5:
        return None
    return " ".join(["0", *fields])


def _parse_descriptor(spec: str) -> None:
    """Accept the fixed descriptors and `@every <Go duration>`, as robfig v1.2.0 does."""
    if spec in _DESCRIPTORS:
        return
    if spec.startswith("@every "):
        duration = spec[len("@every "):]
        if not _GO_DURATION.fullmatch(duration):
            raise CronError(f"Failed to parse duration {spec}: time: invalid duration {duration!r}")
        return
    raise CronError(f"Unrecognized descriptor: {spec}")


def _parse_range(expr: str, bounds: _Bounds) -> None:
    """Check one `a`, `a-b`, `a/step`, `a-b/step`, `*` or `?` term against its field."""
    range_and_step = expr.split("/")
    if len(range_and_step) > 2:
        raise CronError(f"Too many slashes: {expr}")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = bounds.low, bounds.high
    else:
        if len(low_and_high) > 2:
            raise CronError(f"Too many hyphens: {expr}")
        start = _int_or_name(low_and_high[0], bounds)
        end = _int_or_name(low_and_high[-1], bounds)
    if len(range_and_step) == 2:
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = bounds.high
        if _int(range_and_step[1]) == 0:
            raise CronError(f"Step of range should be a positive number: {expr}")
    if start < bounds.low:
        raise CronError(f"Beginning of range ({start}) below minimum ({bounds.low}): {expr}"
                        f" [{bounds.name}]")
    if end > bounds.high:
        raise CronError(f"End of range ({end}) above maximum ({bounds.high}): {expr}"
                        f" [{bounds.name}]")
    if start > end:
        raise CronError(f"Beginning of range ({start}) beyond end of range ({end}): {expr}")


def _int_or_name(text: str, bounds: _Bounds) -> int:
    if bounds.names and text.lower() in bounds.names:
        return bounds.names[text.lower()]
    return _int(text)


def _int(text: str) -> int:
    """Go's strconv.Atoi plus robfig's refusal of negatives."""
    if not _GO_ATOI.fullmatch(text):
        raise CronError(f"Failed to parse int from {text}")
    value = int(text)
    if value < 0:
        raise CronError(f"Negative number ({value}) not allowed: {text}")
    return value
