"""Validators shared by settings and the registry: time zones and phone regions."""

from __future__ import annotations

import zoneinfo

import phonenumbers


def known_zone(value: str) -> str:
    """An IANA time zone name, or ValueError naming it."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f'unknown time zone "{value}"') from exc
    return value


def known_region(value: str) -> str:
    """A phone region (ISO 3166 code) in upper case, or ValueError naming it."""
    region = value.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f'unknown phone region "{value}"')
    return region
