"""Field values shared by connectors: district-local times and registry platform ids."""

from __future__ import annotations

import datetime as dt
import re

from chaperone.ingest.context import IngestContext

PLATFORM_ID = re.compile(r"^[a-z0-9-]+$")


def local_time(raw: str, context: IngestContext, *, field: str) -> dt.datetime:
    """An ISO 8601 date and time in UTC; without an offset it is the district's local time."""
    value = raw.strip()
    if not value:
        raise ValueError(f"{field}: empty")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        pass
    else:
        raise ValueError(f'{field}: "{value}" has a date but no time of day')
    try:
        return context.local_to_utc(dt.datetime.fromisoformat(value))
    except (ValueError, OverflowError) as exc:
        raise ValueError(f'{field}: "{value}" is not an ISO 8601 date and time') from exc


def platform_id(raw: str, field: str) -> str | None:
    """A registry platform id in lower case, None when empty."""
    value = raw.strip().lower()
    if not value:
        return None
    if not PLATFORM_ID.match(value):
        raise ValueError(f'{field}: "{raw}" is not a platform id (a-z, 0-9 and -)')
    return value
