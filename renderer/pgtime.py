"""Recovery target times as CNPG accepts them.

The webhook parses `recoveryTarget.targetTime` as RFC 3339 or as a PostgreSQL
timestamp (`YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM]]`, lib/pq `ParseTimestamp`). A time
without a zone is read as UTC, which is rarely what someone typing a local time means,
so callers want to know whether the zone was given."""

from __future__ import annotations

import re
from datetime import datetime

_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_POSTGRES = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d{1,6})?([+-]\d{2}(?::\d{2}){0,2})?$")


def has_zone(text: str) -> bool:
    """Whether `text` names a zone; ValueError when CNPG would not parse it."""
    m = _RFC3339.match(text) or _POSTGRES.match(text)
    if not m:
        raise ValueError(f"{text!r} is neither RFC 3339 (2024-05-01T10:00:00+02:00) nor a PostgreSQL "
                         "timestamp (2024-05-01 10:00:00+02)")
    try:
        datetime.strptime(f"{m.group(1)} {m.group(2)}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"{text!r} is not a real date and time") from None
    return m.group(4) is not None


def parse(text: str) -> datetime:
    """The instant CNPG hands PostgreSQL for `text` (a time without a zone is UTC)."""
    from datetime import timezone

    has_zone(text)  # the same acceptance rule, and its message
    normal = text.replace("t", "T").replace("z", "Z").replace(" ", "T", 1).replace("Z", "+00:00")
    zone = re.search(r"[+-]\d{2}(?::?\d{2}){0,2}$", normal)
    if zone and ":" not in zone.group(0) and len(zone.group(0)) == 3:
        normal += ":00"  # PostgreSQL's "+02" is "+02:00"
    parsed = datetime.fromisoformat(normal)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
