"""Questions the registry answers, and importing a new version of it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zoneinfo
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.common import yamlfile
from chaperone.common.addresses import email_domain, normalize_social, phone_matches
from chaperone.common.csvfile import decode
from chaperone.common.problems import InputError, NotFoundError, Problem
from chaperone.common.yamlfile import LocatedYaml
from chaperone.registry.models import AUDIENCE_POPULATIONS, Platform, Registry, audience
from chaperone.store.models import RegistrySnapshot


@dataclass(frozen=True)
class Approval:
    """Whether a use of a platform is approved, and why (a sentence)."""

    approved: bool
    reason: str


class RegistryView:
    """The registry in force, answering approval and ownership questions."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.zone = zoneinfo.ZoneInfo(registry.district.timezone)

    @cached_property
    def platforms(self) -> dict[str, Platform]:
        """Platforms by id."""
        return {p.id: p for p in self.registry.platforms}

    @cached_property
    def district_domains(self) -> frozenset[str]:
        """The district's own mail domains."""
        return frozenset(self.registry.district.email_domains)

    @cached_property
    def professional_handles(self) -> frozenset[str]:
        """Registered professional social accounts as ``platform:handle``."""
        return frozenset(
            normalize_social(a.platform, a.handle)
            for a in self.registry.social_accounts
            if a.kind == "professional"
        )

    def local_date(self, instant: dt.datetime) -> dt.date:
        """The calendar date of an instant in the district's time zone."""
        return instant.astimezone(self.zone).date()

    def owns(self, kind: str, value: str) -> bool:
        """Whether the registry makes an account district-owned."""
        if kind == "email":
            return email_domain(value) in self.district_domains
        if kind == "phone":
            return phone_matches(value, tuple(self.registry.district.phone_numbers))
        return kind == "social" and value in self.professional_handles

    def approval(
        self, platform_id: str, channel_type: str, between: tuple[str, str], on: dt.date
    ) -> Approval:
        """Is platform P approved for channel type T between populations X and Y on date D?"""
        platform = self.platforms.get(platform_id)
        if platform is None:
            return Approval(False, f'"{platform_id}" is not in the registry')
        known = all(population in AUDIENCE_POPULATIONS for population in between)
        # Audiences pair staff, students and parents; any other population is in none.
        pair = audience(*between) if known else "-".join(between)
        checks = [
            (platform.status == "approved", f"{platform.name} is {platform.status}"),
            (
                channel_type in platform.channel_types,
                f"{platform.name} is not approved for {channel_type}",
            ),
            (pair in platform.audiences, f"{platform.name} is not approved for {pair}"),
            (
                platform.approved_on is None or on >= platform.approved_on,
                f"{platform.name} was not yet approved on {on}",
            ),
            (
                platform.expires_on is None or on <= platform.expires_on,
                f"{platform.name}'s approval expired after {platform.expires_on}",
            ),
        ]
        for ok, why_not in checks:
            if not ok:
                return Approval(False, why_not)
        return Approval(True, f"{platform.name} is approved for {channel_type} ({pair}) on {on}")


def parse(text: str, *, source: str) -> Registry:
    """Validate registry YAML, reporting every problem at once with its line."""
    doc = yamlfile.load(text, source=source)
    if not isinstance(doc.data, dict):
        raise InputError([Problem(source, 1, "a registry is a mapping with a district key")])
    problems = _duplicate_platforms(doc)
    try:
        registry = Registry.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(doc.problems_from(exc) + problems) from exc
    if problems:
        raise InputError(problems)
    return registry


def _duplicate_platforms(doc: LocatedYaml) -> list[Problem]:
    """Platform ids used twice, read from the YAML as it is so other errors do not hide them."""
    platforms = doc.data.get("platforms")
    seen: set[object] = set()
    problems = []
    for i, platform in enumerate(platforms if isinstance(platforms, list) else []):
        platform_id = platform.get("id") if isinstance(platform, dict) else None
        if isinstance(platform_id, str) and platform_id in seen:
            problems.append(
                doc.problem(("platforms", i, "id"), f'duplicate platform "{platform_id}"')
            )
        seen.add(platform_id)
    return problems


def current(session: Session) -> RegistryView | None:
    """The registry in force (the newest import), if any."""
    snapshot = session.scalars(
        select(RegistrySnapshot).order_by(RegistrySnapshot.id.desc()).limit(1)
    ).first()
    if snapshot is None:
        return None
    return RegistryView(Registry.model_validate_json(snapshot.document))


def require_current(session: Session) -> RegistryView:
    """The registry in force, or a NotFoundError telling the user to import one."""
    view = current(session)
    if view is None:
        raise NotFoundError("no registry yet: run `chaperone registry import registry.yaml`")
    return view


def import_file(session: Session, path: Path) -> bool:
    """Store a new registry version from a file; False when it equals the one in force."""
    registry = parse(decode(path.read_bytes(), source=path.name), source=path.name)
    document = json.dumps(registry.model_dump(mode="json"), sort_keys=True)
    digest = hashlib.sha256(document.encode()).hexdigest()
    latest = session.scalars(
        select(RegistrySnapshot).order_by(RegistrySnapshot.id.desc()).limit(1)
    ).first()
    if latest is not None and latest.sha256 == digest:
        return False
    session.add(RegistrySnapshot(source_name=path.name, sha256=digest, document=document))
    return True
