"""What the traffic needs from registry.yaml, and the platforms it must list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

# Registry platforms the traffic uses, with the status each must have.
TEXTING, EXPIRING, PENDING = "parentsquare", "remind", "classdojo"
DENIED, CHAT = "whatsapp", "slack"
_REQUIRED_PLATFORMS = {
    TEXTING: "approved", EXPIRING: "approved", PENDING: "pending", DENIED: "denied",
    CHAT: "approved",
}  # fmt: skip


@dataclass(frozen=True)
class Registry:
    """What the traffic needs from registry.yaml."""

    timezone: ZoneInfo
    lines: tuple[str, ...]
    expires_on: date

    def district_owned(self, e164: str) -> bool:
        """Whether a number is a district line (a trailing * is a prefix)."""
        return any(
            e164.startswith(line[:-1]) if line.endswith("*") else e164 == line
            for line in self.lines
        )


def read_registry(path: Path) -> Registry:
    """Read the time zone, the district lines and the expiring platform's last day."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    district = data.get("district") or {}
    platforms = {str(p.get("id")): p for p in data.get("platforms") or []}
    for platform_id, status in _REQUIRED_PLATFORMS.items():
        if platforms.get(platform_id, {}).get("status") != status:
            raise ValueError(f"registry: platform {platform_id} must be listed as {status}")
    expires = platforms[EXPIRING].get("expires_on")
    if not isinstance(expires, date):
        raise ValueError(f"registry: platform {EXPIRING} needs an expires_on date")
    return Registry(
        timezone=ZoneInfo(str(district.get("timezone") or "America/New_York")),
        lines=tuple(str(n) for n in district.get("phone_numbers") or ()),
        expires_on=expires,
    )
