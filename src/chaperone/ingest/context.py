"""What a connector needs to know about the district and the limits of a run."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from chaperone.common.addresses import normalize_phone


@dataclass(frozen=True)
class IngestContext:
    """District conventions and safety limits, fixed for one run."""

    region: str = "US"
    timezone: str = "UTC"
    max_message_bytes: int = 50 * 1024 * 1024
    max_nesting: int = 20
    max_parts: int = 1000
    platform: str | None = None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The district's time zone."""
        return zoneinfo.ZoneInfo(self.timezone)

    def local_to_utc(self, value: dt.datetime) -> dt.datetime:
        """A time without an offset is the district's local time; the result is UTC."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return value.astimezone(dt.UTC)

    def phone(self, raw: str) -> str:
        """A phone number normalised exactly as the directory does."""
        return normalize_phone(raw.strip(), self.region)
