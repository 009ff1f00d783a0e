"""registry.yaml as validated data (format: docs/formats/registry.md)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chaperone.common.validation import known_region, known_zone

AUDIENCE_POPULATIONS = ("staff", "student", "parent")
PLATFORM_STATUSES = ("approved", "pending", "denied", "retired")

ChannelType = Literal[
    "email",
    "text_message",
    "voicemail",
    "image_sharing",
    "chat",
    "call",
    "social_post",
    "social_message",
]
PlatformStatus = Literal["approved", "pending", "denied", "retired"]

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_NUMBER = re.compile(r"^\+[1-9]\d{1,14}\*?$")


def audience(a: str, b: str) -> str:
    """The canonical name of an unordered pair of populations, e.g. ``staff-student``."""
    first, second = sorted((a, b), key=AUDIENCE_POPULATIONS.index)
    return f"{first}-{second}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _domains(values: list[str]) -> list[str]:
    out = []
    for value in values:
        domain = str(value).strip().lower()
        if not _DOMAIN.match(domain):
            raise ValueError(f'"{value}" is not a domain name')
        out.append(domain)
    return out


def _numbers(values: list[str]) -> list[str]:
    for value in values:
        if not _NUMBER.match(str(value)):
            raise ValueError(f'"{value}" is not an E.164 number or "+prefix*"')
    return [str(v) for v in values]


class District(_Strict):
    """The district itself: its time zone, phone region, mail domains and phone lines."""

    name: str = Field(min_length=1)
    timezone: str
    default_region: str = "US"
    email_domains: list[str] = Field(min_length=1)
    phone_numbers: list[str] = []

    _zone = field_validator("timezone")(known_zone)
    _region = field_validator("default_region")(known_region)

    _email_domains = field_validator("email_domains")(_domains)
    _phone_numbers = field_validator("phone_numbers")(_numbers)


class Identifiers(_Strict):
    """How records of a platform are recognised."""

    email_domains: list[str] = []
    phone_numbers: list[str] = []

    _email_domains = field_validator("email_domains")(_domains)
    _phone_numbers = field_validator("phone_numbers")(_numbers)


class Platform(_Strict):
    """A communication platform and its approval for channel types and audiences."""

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str = Field(min_length=1)
    status: PlatformStatus
    channel_types: list[ChannelType] = []
    audiences: list[str] = []
    identifiers: Identifiers = Identifiers()
    approved_on: dt.date | None = None
    expires_on: dt.date | None = None

    @field_validator("audiences")
    @classmethod
    def _audiences(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            parts = str(value).split("-")
            if len(parts) != 2 or not all(p in AUDIENCE_POPULATIONS for p in parts):
                raise ValueError(
                    f'unknown audience "{value}" (expected a pair such as staff-student)'
                )
            out.append(audience(*parts))
        return out

    @model_validator(mode="after")
    def _window(self) -> Platform:
        if self.approved_on and self.expires_on and self.expires_on < self.approved_on:
            raise ValueError("expires_on is before approved_on")
        return self


class SocialAccount(_Strict):
    """An official (§C.1 professional) or declared personal (§C.2) social-media account."""

    platform: str = Field(pattern=r"^[a-z0-9-]+$")
    handle: str = Field(min_length=1)
    kind: Literal["professional", "personal"]
    owner: str | None = None
    org: str | None = None
    approved_on: dt.date | None = None


class Registry(_Strict):
    """The whole registry file."""

    district: District
    platforms: list[Platform] = []
    social_accounts: list[SocialAccount] = []
