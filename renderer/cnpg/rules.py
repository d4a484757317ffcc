"""CloudNativePG's rules for the values it is given, each written once.

The overlay refuses a value at the line the user wrote it (`renderer.overlay.model`,
`renderer.overlay.checks`, `renderer.providers`) and `cnpg-render validate` reports it
at the field of a rendered object (`renderer.validate`); both ask here, so they cannot
disagree (they once did: a PITR time without a zone passed validate and failed the
overlay). A rule returns None when the value is fine, else what is wrong and what to
write instead. Importing this costs a regex module: datetime and the cron parser are
loaded by the rules that need them.

Sources: CNPG `pkg/utils` ParseTargetTime (lib/pq ParseTimestamp, then RFC 3339, then
`2006-01-02T15:04:05` without a zone, read as UTC), barman-cloud ParsePolicy
(RECOVERY WINDOW OF n DAYS|WEEKS|MONTHS), PostgreSQL's pg_lsn and recovery_target_*
input, robfig/cron v1.2.0 with seconds (`renderer.cron`), the barman-cloud credential
checks of the webhook."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from renderer.records import record

# --------------------------------------------------------------------------- PITR targets
# Patterns are kept as text: `re` compiles one the first time it is used (and caches
# it), so a render that checks no PITR time does not pay for these.

# lib/pq ParseTimestamp, which CNPG tries first: date [time[.frac][Z|±hh[:mm[:ss]]]] [ BC]
_PG_TIMESTAMP = (r"(?P<date>\d{4}-\d\d-\d\d)(?: (?P<time>\d\d:\d\d:\d\d)(?P<fraction>\.\d+)?"
                 r"(?P<zone>Z|[+-]\d\d(?::\d\d){0,2})?)?(?P<bc> BC)?")
# Go's time.Parse with RFC 3339 (a fraction is accepted after the seconds), and the same
# without a zone. Go wants an upper-case T and Z.
_RFC3339 = (r"(?P<date>\d{4}-\d\d-\d\d)T(?P<time>\d\d:\d\d:\d\d)(?P<fraction>\.\d+)?"
            r"(?P<zone>Z|[+-]\d\d:\d\d)?")
TIME_EXAMPLES = "RFC 3339 (2026-05-01T10:00:00Z, 2026-05-01T10:00:00+02:00) or a PostgreSQL timestamp " \
                "(2026-05-01 10:00:00+02)"


def target_time(value: object) -> str | None:
    """recoveryTarget.targetTime: a time CNPG parses, with a real date and time."""
    match = (re.fullmatch(_RFC3339, value) or re.fullmatch(_PG_TIMESTAMP, value)) if isinstance(value, str) else None
    if match is None:
        return f"{show(value)} is not a time CNPG reads: write {TIME_EXAMPLES}"
    from datetime import datetime

    try:
        datetime.strptime(f"{match['date']} {match['time'] or '00:00:00'}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return f"{show(value)} is not a real date and time (PostgreSQL would refuse it): write {TIME_EXAMPLES}"
    return None


def has_zone(value: str) -> bool:
    """Whether a time `target_time` accepts names its zone (without one CNPG reads UTC)."""
    match = re.fullmatch(_RFC3339, value) or re.fullmatch(_PG_TIMESTAMP, value)
    return bool(match and match["zone"])


def instant(value: str):
    """The instant CNPG hands PostgreSQL for a time `target_time` accepts, as an aware
    datetime (no zone: UTC; a BC time is before every backup)."""
    from datetime import UTC, datetime, timedelta, timezone

    match = re.fullmatch(_RFC3339, value) or re.fullmatch(_PG_TIMESTAMP, value)
    if match is None or target_time(value):
        raise ValueError(target_time(value) or f"{show(value)} is not a time CNPG reads")
    if match.groupdict().get("bc"):
        return datetime.min.replace(tzinfo=UTC)
    moment = datetime.strptime(f"{match['date']} {match['time'] or '00:00:00'}", "%Y-%m-%d %H:%M:%S")
    micros = int(((match["fraction"] or ".")[1:] + "000000")[:6])  # PostgreSQL keeps microseconds
    return moment.replace(microsecond=micros, tzinfo=timezone(_offset(match["zone"], timedelta)))


def _offset(zone: str | None, timedelta):
    """`+02`, `-05:30`, `+02:00:30` or `Z`/none (UTC) as a timedelta."""
    if not zone or zone == "Z":
        return timedelta(0)
    hours, minutes, seconds = ([int(part) for part in zone[1:].split(":")] + [0, 0])[:3]
    return timedelta(hours=hours, minutes=minutes, seconds=seconds) * (1 if zone[0] == "+" else -1)


_LSN = r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}"
LSN_PATTERN = f"^{_LSN}$"


def lsn(value: object) -> str | None:
    """pg_lsn input: two hex numbers of up to 8 digits (CNPG's parser allows more; PostgreSQL does not)."""
    if isinstance(value, str) and re.fullmatch(_LSN, value):
        return None
    return f"{show(value)} is not a WAL location: write two hex numbers of up to 8 digits, e.g. 0/3000060"


def xid(value: object) -> str | None:
    """A transaction id: an unsigned 32-bit integer, written as digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < 2 ** 32:
        return None
    return f"{show(value)} is not a transaction id: write an integer from 0 to 4294967295"


def restore_point(value: object) -> str | None:
    """A restore point name (pg_create_restore_point): 1 to 63 bytes, no control characters."""
    if isinstance(value, str) and value and len(value.encode("utf-8", "replace")) < 64 and \
            not any(ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) < 0xE000 for ch in value):
        return None
    return f"{show(value)} is not a restore point name: write 1 to 63 bytes without control characters"


TIMELINE_PATTERN = r"^(latest|\+?0*[1-9][0-9]*)$"


def timeline(value: object) -> str | None:
    """targetTLI: 'latest' or a timeline number of 1 or more (Go's Atoi: a sign is allowed)."""
    if value == "latest" or (isinstance(value, str) and re.fullmatch(r"[-+]?\d+", value) and int(value) >= 1):
        return None
    return f"{show(value)} is not a timeline: write latest or a timeline number of 1 or more"


# --------------------------------------------------------------------------- backups

_RETENTION = r"[1-9][0-9]*[dwm]"
RETENTION_PATTERN = f"^{_RETENTION}$"
_SPELLED = r"(?i)\s*\+?(\d+)\s*(d|days?|w|weeks?|m|mo|months?|y|years?)\s*"


def retention(value: object) -> str | None:
    """Barman's RECOVERY WINDOW: a positive count of days, weeks or months (`m` is months)."""
    if isinstance(value, str) and re.fullmatch(_RETENTION, value):
        return None
    return f"{show(value)} is not a retention policy: write {_retention_advice(value)}"


def _retention_advice(value: object) -> str:
    """`10days` -> `10d`; `1 year` -> `12m`; otherwise the form with examples."""
    spelled = re.fullmatch(_SPELLED, str(value)) if isinstance(value, (str, int)) else None
    if spelled is not None:
        count, unit = int(spelled[1]), spelled[2][0].lower()
        count, unit = (count * 12, "m") if unit == "y" else (count, unit)
        if count >= 1:
            return f"{count}{unit}"
    digits = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if digits.isdigit() and int(digits) >= 1:  # a bare number (read as written, or as YAML's integer)
        return f"{int(digits)}d (days), {int(digits)}w (weeks) or {int(digits)}m (months)"
    return "a number of days, weeks or months such as 30d, 4w or 6m (m is months)"


def schedule(value: str) -> str | None:
    """A ScheduledBackup schedule as CNPG parses it (robfig/cron, seconds first). A
    5-field Unix schedule parses too, at other times than meant (`0 0 * * *` runs every
    hour), so it is refused with the 6-field form."""
    from renderer import cron

    six = cron.six_field_form(value)
    try:
        cron.parse(value)
    except cron.CronError as err:
        unix = f"; as Unix cron write {six!r}" if six and _parses(six) else ""
        return (f"{show(value)} is not a CNPG cron schedule (sec min hour day month weekday, or a descriptor "
                f"such as @daily): {err}{unix}")
    if six is None:
        return None
    sec, minute, hour, day, month = value.split()
    meaning = f"sec={sec} min={minute} hour={hour} day={day} month={month}" + (" (every hour)" if hour == "*" else "")
    fix = f"write {six!r}" if _parses(six) else f"its Unix-cron meaning {six!r} does not parse either"
    return f"{show(value)} has 5 fields, but CNPG's cron reads 6 with seconds first, so this means {meaning}; {fix}"


def _parses(spec: str) -> bool:
    from renderer import cron

    try:
        cron.parse(spec)
    except cron.CronError:
        return False
    return True


def archivers(plugins: object) -> list[str]:
    """Names of the enabled WAL archivers in a spec.plugins list (`isWALArchiver: true`,
    `enabled` not false); CNPG allows one, and none beside an in-tree barmanObjectStore."""
    items = plugins if isinstance(plugins, list) else []
    return [str(p.get("name")) for p in items if isinstance(p, dict)
            and p.get("enabled", True) is not False and p.get("isWALArchiver") is True]


# --------------------------------------------------------------------------- credentials


@record(frozen=True)
class Ways:
    """How one provider may authenticate, as barman-cloud's webhook checks a credentials
    block: exactly one of `ways` (each a group of keys given together), or `alone`,
    which excludes every other key; some keys `need` another beside them."""

    block: str
    ways: tuple[tuple[str, ...], ...]
    alone: str | None = None
    needs: tuple[tuple[str, str], ...] = ()


CREDENTIALS = {
    "s3": Ways("s3Credentials", (("accessKeyId", "secretAccessKey"), ("inheritFromIAMRole",))),
    "azure": Ways("azureCredentials", (("storageKey",), ("storageSasToken",), ("inheritFromAzureAD",),
                                       ("useDefaultAzureCredentials",)),
                  alone="connectionString",
                  needs=(("storageKey", "storageAccount"), ("storageSasToken", "storageAccount"))),
    "google": Ways("googleCredentials", (("applicationCredentials",), ("gkeEnvironment",))),
}
# Credential keys that count only when true.
FLAGS = frozenset({"inheritFromIAMRole", "inheritFromAzureAD", "useDefaultAzureCredentials", "gkeEnvironment"})


def credential_problems(ways: Ways, present: Iterable[str],
                        name: Callable[[str], str] = str) -> list[tuple[str | None, str]]:
    """(key the problem is at, None for the block; what is wrong) for the keys `present`
    in a credentials block. `name` spells a key in the caller's words (the overlay says
    accessKey where CNPG says accessKeyId)."""
    given = set(present)
    if ways.alone is not None and ways.alone in given:
        in_ways = [key for way in ways.ways for key in way if key in given]
        others = in_ways + sorted(given - {ways.alone}.union(*ways.ways))
        return [(others[0], f"cannot be combined with {name(ways.alone)}: with it, every other field must be "
                            "left out")] if others else []
    problems: list[tuple[str | None, str]] = []
    for way in ways.ways:
        missing = [key for key in way if key not in given]
        if missing and len(missing) < len(way):
            problems.append((missing[0], f"is required with {name(next(k for k in way if k in given))}: "
                                         f"{' and '.join(map(name, way))} go together"))
    used = [way for way in ways.ways if any(key in given for key in way)]
    if len(used) != 1:
        options = ([name(ways.alone)] if ways.alone else []) + ["+".join(map(name, way)) for way in ways.ways]
        got = f" (got {' and '.join('+'.join(map(name, w)) for w in used)})" if used else ""
        problems.append((used[1][0] if used else None,
                         f"needs exactly one of {', '.join(options[:-1])} or {options[-1]}{got}"))
    problems += [(needed, f"is required with {name(key)}") for key, needed in ways.needs
                 if key in given and needed not in given]
    return problems


def show(value: object) -> str:
    """A short rendering of a scalar; containers are named, not dumped."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
