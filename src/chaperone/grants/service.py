"""Granting, revoking and applying exceptions (the audit and the gateway both honour them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.audit_log import service as trail
from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.lake.schema import CHANNEL_TYPES
from chaperone.store.models import Person, PolicyException, utcnow


@dataclass(frozen=True)
class Grant:
    """An exception as the rules see it."""

    id: int
    person_id: str
    counterpart_person_id: str | None
    counterpart_population: str | None
    channel_types: frozenset[str]
    rule_id: str | None
    starts_on: dt.date
    ends_on: dt.date

    def covers(
        self,
        *,
        rule_id: str,
        subject: str,
        counterparts: Iterable[str],
        populations: Mapping[str, str],
        channel: str,
        day: dt.date,
    ) -> bool:
        """Whether this exception permits a finding of these facts."""
        if subject != self.person_id or not self.starts_on <= day <= self.ends_on:
            return False
        if self.rule_id not in (None, rule_id) or (
            self.channel_types and channel not in self.channel_types
        ):
            return False
        return all(self._allows(c, populations.get(c)) for c in counterparts)

    def _allows(self, counterpart: str, population: str | None) -> bool:
        if self.counterpart_person_id is not None:
            return counterpart == self.counterpart_person_id
        if self.counterpart_population is not None:
            return population == self.counterpart_population
        return True


def active(session: Session) -> list[Grant]:
    """Every exception not revoked (their dates are checked per record)."""
    rows = session.scalars(select(PolicyException).where(PolicyException.revoked_at.is_(None)))
    return [
        Grant(
            r.id,
            r.person_id,
            r.counterpart_person_id,
            r.counterpart_population,
            frozenset(c for c in r.channel_types.split(";") if c),
            r.rule_id,
            r.starts_on,
            r.ends_on,
        )
        for r in rows
    ]


def grant(
    session: Session,
    *,
    person_id: str,
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str,
    granted_by: str,
    counterpart: str | None = None,
    population: str | None = None,
    channels: Iterable[str] = (),
    rule_id: str | None = None,
) -> PolicyException:
    """Record a new exception (and the grant in the access log)."""
    _check(session, person_id, counterpart, population, channels, starts_on, ends_on, reason)
    row = PolicyException(
        person_id=person_id,
        counterpart_person_id=counterpart,
        counterpart_population=population,
        channel_types=";".join(sorted(channels)),
        rule_id=rule_id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason.strip(),
        granted_by=granted_by,
    )
    session.add(row)
    session.flush()
    trail.record(
        session,
        actor=granted_by,
        action="grant-exception",
        object_type="exception",
        object_id=str(row.id),
        person_ids=[person_id],
        detail=reason.strip(),
    )
    return row


def revoke(session: Session, exception_id: int, *, revoked_by: str) -> PolicyException:
    """End an exception now (it stays on record)."""
    row = session.get(PolicyException, exception_id)
    if row is None or row.revoked_at is not None:
        raise NotFoundError(f"no active exception {exception_id}")
    row.revoked_at, row.revoked_by = utcnow(), revoked_by
    trail.record(
        session,
        actor=revoked_by,
        action="revoke-exception",
        object_type="exception",
        object_id=str(row.id),
        person_ids=[row.person_id],
    )
    return row


def _check(
    session: Session,
    person_id: str,
    counterpart: str | None,
    population: str | None,
    channels: Iterable[str],
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str,
) -> None:
    for pid in filter(None, (person_id, counterpart)):
        if session.scalars(select(Person.id).where(Person.person_id == pid)).first() is None:
            raise NotFoundError(f'no person "{pid}"')
    if counterpart and population:
        raise ChaperoneError("name a counterpart or a population, not both")
    if population not in (None, "staff", "student", "parent"):
        raise ChaperoneError(f'unknown population "{population}"')
    unknown = sorted(set(channels) - set(CHANNEL_TYPES))
    if unknown:
        raise ChaperoneError(f'unknown channel type "{unknown[0]}"')
    if ends_on < starts_on:
        raise ChaperoneError("an exception must end on or after its first day")
    if not reason.strip():
        raise ChaperoneError("an exception needs a reason")
