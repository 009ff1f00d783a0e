"""Acknowledgment campaigns: Policy 9052 §D reaches every population, and each person says so.

A campaign names a policy version, the populations it must reach (all six by default),
optionally some schools, and a due date. Every active person of those populations gets
a *notice*: the address it goes to, a private link, and whether and how they
acknowledged (by the link, or on paper as recorded by staff). ``sync`` keeps the
audience current as people join or leave; people who leave keep their notice,
withdrawn, so the record of who was asked stays whole.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, selectinload

from chaperone.acknowledge import tokens
from chaperone.audit_log import service as trail
from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.directory.populations import POPULATIONS
from chaperone.directory.service import district_owned
from chaperone.policy import service as policies
from chaperone.policy.models import Pack
from chaperone.registry import service as registry
from chaperone.registry.service import RegistryView
from chaperone.review.access import Forbidden
from chaperone.store.models import Campaign, Notice, Org, Person, utcnow

LINK = "link"
PAPER = "paper"
NO_SCHOOL = "(district)"


@dataclass(frozen=True)
class Synced:
    """What a sync changed: notices added, withdrawn (left the audience), restored."""

    added: int = 0
    withdrawn: int = 0
    restored: int = 0


@dataclass
class Tally:
    """Progress of one group of notices (a population, a school, or all)."""

    people: int = 0
    acknowledged: int = 0
    sent: int = 0
    no_address: int = 0

    @property
    def outstanding(self) -> int:
        """People asked who have not acknowledged yet."""
        return self.people - self.acknowledged

    @property
    def percent(self) -> float:
        """Share acknowledged, in percent (100 for an empty group: nobody is missing)."""
        return 100.0 if not self.people else round(100.0 * self.acknowledged / self.people, 1)

    def merge(self, other: Tally) -> None:
        """Add another group's counts to these."""
        self.people += other.people
        self.acknowledged += other.acknowledged
        self.sent += other.sent
        self.no_address += other.no_address

    def as_dict(self) -> dict[str, int | float]:
        """The tally as plain data."""
        return {
            "people": self.people,
            "acknowledged": self.acknowledged,
            "outstanding": self.outstanding,
            "percent": self.percent,
            "sent": self.sent,
            "no_address": self.no_address,
        }


@dataclass
class Status:
    """A campaign's progress, overall, per population and per school."""

    total: Tally = field(default_factory=Tally)
    populations: dict[str, Tally] = field(default_factory=dict)
    schools: dict[str, Tally] = field(default_factory=dict)
    withdrawn: int = 0


def populations_of(campaign: Campaign) -> list[str]:
    """The populations a campaign reaches."""
    return [p for p in campaign.populations.split(";") if p]


def schools_of(campaign: Campaign) -> list[str]:
    """The schools a campaign is limited to (none: the whole district)."""
    return [s for s in campaign.schools.split(";") if s]


def create(
    session: Session,
    *,
    name: str,
    due_on: dt.date,
    created_by: str,
    populations: Sequence[str] = (),
    schools: Sequence[str] = (),
    opens_on: dt.date | None = None,
    policy: str = "9052",
    policy_version: str | None = None,
) -> tuple[Campaign, Synced]:
    """A new campaign, with a notice for everyone it must reach."""
    opens_on = opens_on or dt.date.today()
    problems = _creation_problems(session, name, due_on, opens_on, populations, schools)
    if problems:
        raise ChaperoneError("; ".join(problems))
    version = policy_version or policies.in_force(session, opens_on, policy=policy).spec.version
    if not any(
        p.spec.policy == policy and p.spec.version == version for p in policies.versions(session)
    ):
        raise NotFoundError(f"no policy {policy} version {version}")
    campaign = Campaign(
        name=name.strip(),
        policy=policy,
        policy_version=version,
        populations=";".join(p for p in POPULATIONS if p in (populations or POPULATIONS)),
        schools=";".join(sorted(set(schools))),
        opens_on=opens_on,
        due_on=due_on,
        created_by=created_by,
    )
    session.add(campaign)
    session.flush()
    trail.record(
        session,
        actor=created_by,
        action="create",
        object_type="campaign",
        object_id=str(campaign.id),
        detail=f"{campaign.name}: policy {policy} {version}, {campaign.populations}, due {due_on}",
    )
    return campaign, sync(session, campaign)


def _creation_problems(
    session: Session,
    name: str,
    due_on: dt.date,
    opens_on: dt.date,
    populations: Sequence[str],
    schools: Sequence[str],
) -> list[str]:
    problems = [f'unknown population "{p}"' for p in populations if p not in POPULATIONS]
    known = set(session.scalars(select(Org.org_id)))
    problems += [f'unknown school "{s}"' for s in schools if s not in known]
    if not name.strip():
        problems.append("a campaign needs a name")
    elif any(unicodedata.category(c) == "Cc" for c in name):  # PostgreSQL refuses NUL
        problems.append("a campaign name must be printable text (no control characters)")
    if due_on < opens_on:
        problems.append(f"due date {due_on} is before the campaign opens ({opens_on})")
    return problems


def pack_of(session: Session, campaign: Campaign) -> Pack | None:
    """The policy version a campaign asks people to acknowledge (None if it was removed)."""
    wanted = (campaign.policy, campaign.policy_version)
    return next(
        (p for p in policies.versions(session) if (p.spec.policy, p.spec.version) == wanted),
        None,
    )


def get(session: Session, campaign_id: int) -> Campaign:
    """A campaign by number."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    return campaign


def every(session: Session) -> list[Campaign]:
    """Every campaign, newest first."""
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def sync(session: Session, campaign: Campaign) -> Synced:
    """Bring the notices in line with the directory: a notice for everyone the campaign
    reaches now, withdrawn for those who left it; addresses and schools as they are now
    (not for notices already acknowledged, which stay as they were)."""
    if campaign.closed_at is not None:
        raise ChaperoneError(f"campaign {campaign.id} is closed")
    view = registry.current(session)
    audience = {p.person_id: p for p in _audience(session, campaign)}
    notices = {n.person_id: n for n in _notices(session, campaign.id)}
    key = tokens.secret(session)
    added = withdrawn = restored = 0
    now = utcnow()
    for person_id, person in audience.items():
        notice = notices.get(person_id)
        if notice is None:
            nonce = secrets.token_hex(16)
            notice = Notice(
                campaign_id=campaign.id,
                person_id=person_id,
                population=person.population,
                nonce=nonce,
                token_hash=tokens.digest(tokens.derive(key, campaign.id, person_id, nonce)),
                added_at=now,
                send_count=0,
                last_error="",
            )
            session.add(notice)
            added += 1
        elif notice.withdrawn_at is not None:
            notice.withdrawn_at = None
            restored += 1
        if notice.acknowledged_at is None:
            notice.population = person.population
            notice.address = address_of(person, view)
            notice.school = school_of(person)
    for person_id, notice in notices.items():
        if person_id not in audience and notice.withdrawn_at is None:
            notice.withdrawn_at = now
            withdrawn += 1
    session.flush()
    return Synced(added, withdrawn, restored)


def _audience(session: Session, campaign: Campaign) -> list[Person]:
    query = (
        select(Person)
        .where(Person.active.is_(True), Person.population.in_(populations_of(campaign)))
        .options(selectinload(Person.accounts), selectinload(Person.orgs))
        .order_by(Person.person_id)
    )
    people = list(session.scalars(query))
    schools = set(schools_of(campaign))
    if schools:
        people = [p for p in people if schools & {o.org_id for o in p.orgs}]
    return people


def _notices(session: Session, campaign_id: int) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice).where(Notice.campaign_id == campaign_id).order_by(Notice.person_id)
        )
    )


def address_of(person: Person, view: RegistryView | None) -> str | None:
    """The e-mail address a person's notice goes to: a district account first (staff and
    students have one), else their own; None when the directory has no e-mail for them."""
    emails = [a for a in person.accounts if a.kind == "email"]
    emails.sort(key=lambda a: (not district_owned(a, view), a.value))
    return emails[0].value if emails else None


def school_of(person: Person) -> str | None:
    """The first school a person belongs to, by org id (None: the district as a whole)."""
    schools = sorted(o.org_id for o in person.orgs if o.type == "school")
    return schools[0] if schools else None


def status(session: Session, campaign: Campaign, *, schools: Iterable[str] | None = None) -> Status:
    """Progress, overall and per population and school (``schools`` limits it, for a
    principal), counted by the store."""
    withdrawn = Notice.withdrawn_at.is_not(None)
    query = (
        select(
            Notice.population,
            Notice.school,
            withdrawn.label("withdrawn"),
            func.count().label("people"),
            func.count(Notice.acknowledged_at).label("acknowledged"),
            func.count(Notice.sent_at).label("sent"),
            func.sum(case((Notice.address.is_(None), 1), else_=0)).label("no_address"),
        )
        .where(Notice.campaign_id == campaign.id)
        .group_by(Notice.population, Notice.school, withdrawn)
    )
    if schools is not None:
        query = query.where(Notice.school.in_(list(schools)))
    result = Status()
    for row in session.execute(query):
        if row.withdrawn:
            result.withdrawn += int(row.people)
            continue
        counts = Tally(int(row.people), int(row.acknowledged), int(row.sent), int(row.no_address))
        result.populations.setdefault(row.population, Tally()).merge(counts)
        result.schools.setdefault(row.school or NO_SCHOOL, Tally()).merge(counts)
        result.total.merge(counts)
    result.populations = {p: result.populations[p] for p in POPULATIONS if p in result.populations}
    result.schools = dict(sorted(result.schools.items()))
    return result


def outstanding(session: Session, campaign: Campaign) -> list[Notice]:
    """The notices still waiting for an acknowledgment (not withdrawn), by person id."""
    return outstanding_page(session, campaign)[0]


def _waiting(
    campaign: Campaign,
    *,
    schools: Iterable[str] | None = None,
    population: str = "",
    school: str = "",
) -> list[ColumnElement[bool]]:
    """Conditions for a campaign's notices still waiting: only ``schools`` (a principal's),
    of one ``population``, of one ``school`` (``NO_SCHOOL``: of none)."""
    conditions = [
        Notice.campaign_id == campaign.id,
        Notice.acknowledged_at.is_(None),
        Notice.withdrawn_at.is_(None),
    ]
    if schools is not None:
        conditions.append(Notice.school.in_(list(schools)))
    if population:
        conditions.append(Notice.population == population)
    if school:
        conditions.append(
            Notice.school.is_(None) if school == NO_SCHOOL else Notice.school == school
        )
    return conditions


def outstanding_page(
    session: Session,
    campaign: Campaign,
    *,
    schools: Iterable[str] | None = None,
    population: str = "",
    school: str = "",
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[Notice], int]:
    """One page of the notices still waiting (by person id), and how many there are in
    all, selected and counted by the store."""
    conditions = _waiting(campaign, schools=schools, population=population, school=school)
    total = session.scalar(select(func.count()).select_from(Notice).where(*conditions)) or 0
    query = select(Notice).where(*conditions).order_by(Notice.person_id).offset(offset)
    notices = list(session.scalars(query.limit(limit) if limit is not None else query))
    return notices, int(total)


def outstanding_groups(
    session: Session, campaign: Campaign, *, schools: Iterable[str] | None = None
) -> tuple[list[str], list[str]]:
    """The populations (in §D's order) and schools (``NO_SCHOOL`` for none) that have
    notices still waiting: the choices of a filter."""
    query = (
        select(Notice.population, Notice.school)
        .where(*_waiting(campaign, schools=schools))
        .distinct()
    )
    pairs = session.execute(query).all()
    present = {p for p, _s in pairs}
    return (
        [p for p in POPULATIONS if p in present] + sorted(present - set(POPULATIONS)),
        sorted({s or NO_SCHOOL for _p, s in pairs}),
    )


@dataclass(frozen=True)
class Landing:
    """What the acknowledgment page shows the holder of a link (nothing more)."""

    campaign: Campaign
    notice: Notice
    given_name: str


def landing(session: Session, token: str) -> Landing:
    """The notice a link opens; NotFoundError for a link that is not (or no longer) valid."""
    notice = session.scalar(select(Notice).where(Notice.token_hash == tokens.digest(token)))
    if notice is None or notice.withdrawn_at is not None:
        raise NotFoundError("this acknowledgment link is not valid")
    person = session.scalar(select(Person).where(Person.person_id == notice.person_id))
    campaign = get(session, notice.campaign_id)
    return Landing(campaign, notice, person.given_name if person else "")


def acknowledge_link(session: Session, token: str, *, client: str = "") -> Landing:
    """Record the acknowledgment a link holder gives (once; again changes nothing)."""
    found = landing(session, token)
    notice, campaign = found.notice, found.campaign
    if notice.acknowledged_at is not None:
        return found
    if campaign.closed_at is not None:
        raise ChaperoneError("this campaign is closed; please contact your school office")
    notice.acknowledged_at = utcnow()
    notice.acknowledged_via = LINK
    trail.record(
        session,
        actor=f"person:{notice.person_id}",
        action="acknowledge",
        object_type="campaign",
        object_id=str(campaign.id),
        person_ids=[notice.person_id],
        detail=f"by link{f' from {client}' if client else ''}",
    )
    return found


def record_paper(
    session: Session,
    campaign: Campaign,
    entries: Sequence[tuple[str, dt.date | None]],
    *,
    recorded_by: str,
    schools: Collection[str] | None = None,
) -> tuple[int, int]:
    """Record acknowledgments signed on paper (person id, day signed): how many were
    recorded and how many were already acknowledged. Every unknown person is reported
    at once and nothing is recorded then; so is any notice outside ``schools`` (a
    principal's), when given."""
    if campaign.closed_at is not None:
        raise ChaperoneError(f"campaign {campaign.id} is closed")
    notices = {n.person_id: n for n in _notices(session, campaign.id)}
    if schools is not None:
        mine = set(schools)
        others = {p for p, _day in entries if p in notices and notices[p].school not in mine}
        if others:
            raise Forbidden(
                f"{len(others)} of these people are not at your schools; nothing was recorded"
            )
    missing = [p for p, _day in entries if p not in notices or notices[p].withdrawn_at]
    if missing:
        raise NotFoundError(
            "; ".join(
                f'"{p}" is not asked to acknowledge in campaign {campaign.id}'
                for p in dict.fromkeys(missing)
            )
        )
    recorded = already = 0
    for person_id, day in entries:
        notice = notices[person_id]
        if notice.acknowledged_at is not None:
            already += 1
            continue
        notice.acknowledged_at = (
            dt.datetime.combine(day, dt.time(12), dt.UTC) if day is not None else utcnow()
        )
        notice.acknowledged_via = PAPER
        notice.recorded_by = recorded_by
        recorded += 1
    if recorded:
        trail.record(
            session,
            actor=recorded_by,
            action="record",
            object_type="campaign",
            object_id=str(campaign.id),
            person_ids=[p for p, _d in entries],
            detail=f"{recorded} paper acknowledgment(s)",
        )
    return recorded, already


def close(session: Session, campaign: Campaign, *, closed_by: str) -> None:
    """Close a campaign: its links stop taking acknowledgments; its record stays."""
    if campaign.closed_at is not None:
        return
    campaign.closed_at = utcnow()
    campaign.closed_by = closed_by
    trail.record(
        session,
        actor=closed_by,
        action="close",
        object_type="campaign",
        object_id=str(campaign.id),
        detail=campaign.name,
    )
