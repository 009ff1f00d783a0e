"""The review queue, a finding in detail (pseudonymised until revealed), and review decisions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from chaperone.audit_log import service as trail
from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.judge.reading import verdict_of, wording
from chaperone.judge.render import person_phrase, render
from chaperone.policy import service as policy_service
from chaperone.review import reveals
from chaperone.review.access import require
from chaperone.review.identity import Identities
from chaperone.review.scope import Viewer, cases_filter, findings_filter
from chaperone.store.models import Case, CaseFinding, Finding, FindingReview, utcnow
from chaperone.users.roles import Permission

REVIEW_STATUSES = ("new", "triaged", "dismissed")
QUEUE_STATUSES = ("open", "new", "triaged", "dismissed", "all")


@dataclass(frozen=True)
class QueueFilter:
    """What the reviewer narrowed the queue to; empty values mean no filter."""

    status: str = "open"
    rule_id: str = ""
    school: str = ""
    channel_type: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    def __post_init__(self) -> None:
        if self.status not in QUEUE_STATUSES:
            raise ChaperoneError(
                f'unknown status "{self.status}" (one of {", ".join(QUEUE_STATUSES)})'
            )


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue."""

    finding: Finding
    status: str
    subject_label: str


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue and the total behind it."""

    rows: list[QueueRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the queue has."""
        return max(1, -(-self.total // self.per_page))


_STATUS = func.coalesce(FindingReview.status, "new")


def _scoped(viewer: Viewer) -> Select[Finding, str]:
    return (
        select(Finding, _STATUS)
        .outerjoin(FindingReview, FindingReview.finding_id == Finding.finding_id)
        .where(Finding.active)
        .where(findings_filter(viewer))
    )


def _filters(spec: QueueFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if spec.status == "open":
        clauses.append(_STATUS != "dismissed")
    elif spec.status != "all":
        clauses.append(_STATUS.__eq__(spec.status))
    if spec.rule_id:
        clauses.append(Finding.rule_id == spec.rule_id)
    if spec.school:
        clauses.append(Finding.school == spec.school)
    if spec.channel_type:
        clauses.append(Finding.channel_type == spec.channel_type)
    if spec.since:
        clauses.append(Finding.local_date >= spec.since)
    if spec.until:
        clauses.append(Finding.local_date <= spec.until)
    return clauses


def queue(
    session: Session,
    viewer: Viewer,
    spec: QueueFilter,
    *,
    page: int = 1,
    per_page: int = 50,
) -> QueuePage:
    """The findings this viewer may review, newest first; a subject is named only on the
    rows of findings this session revealed them on."""
    require(viewer, Permission.VIEW_FINDINGS)
    page, per_page = max(1, page), min(max(1, per_page), 500)
    base = _scoped(viewer).where(*_filters(spec))
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(
        base.order_by(Finding.occurred_at.desc(), Finding.finding_id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    labels = Identities(session, viewer)
    labels.load(f.subject_person_id for f, _ in rows)
    shown = reveals.revealed_on(session, viewer, "finding", (f.finding_id for f, _ in rows))
    return QueuePage(
        [
            QueueRow(
                f,
                status,
                labels.within(shown.get(f.finding_id, ())).label(f.subject_person_id),
            )
            for f, status in rows
        ],
        total,
        page,
        per_page,
    )


def get(session: Session, viewer: Viewer, finding_id: str) -> tuple[Finding, str]:
    """One finding in the viewer's scope; out of scope is indistinguishable from absent."""
    require(viewer, Permission.VIEW_FINDINGS)
    row = session.execute(_scoped(viewer).where(Finding.finding_id == finding_id)).first()
    if row is None:
        raise NotFoundError(f"no finding {finding_id}")
    return row[0], row[1]


@dataclass(frozen=True)
class Party:
    """A person of a finding as the viewer sees them."""

    person_id: str
    label: str
    population: str
    role: str
    schools: tuple[str, ...]
    revealed: bool


@dataclass(frozen=True)
class FindingView:
    """A finding with everything the detail page and the API show."""

    finding: Finding
    status: str
    subject: Party
    counterparts: list[Party]
    explanation: str
    sender: str
    recipients: list[str]
    clause_title: str
    clause_text: str
    case_ids: list[int] = field(default_factory=list)
    revealed: bool = False


def _party(labels: Identities, person_id: str) -> Party:
    person = labels.person(person_id)
    seen = labels.may_see(person_id)
    return Party(
        person_id=labels.shown_id(person_id) if seen else "",
        label=labels.label(person_id),
        population=person.population if person else "unknown",
        role=person.role if person else "",
        schools=tuple(o.name for o in person.orgs if o.type == "school") if person else (),
        revealed=seen,
    )


def involved(finding: Finding) -> list[str]:
    """The person ids a finding shows: the subject, then the counterparts."""
    return [finding.subject_person_id, *filter(None, finding.counterpart_person_ids.split(";"))]


def view(session: Session, viewer: Viewer, finding_id: str) -> FindingView:
    """The finding in detail, named as far as this session revealed it; the view is written
    to the audit log with everyone it shows."""
    finding, status = get(session, viewer, finding_id)
    people = involved(finding)
    labels = Identities.on(session, viewer, "finding", finding.finding_id)
    labels.load(people)
    shown = {p for p in people if labels.may_see(p)}
    subject = _party(labels, finding.subject_person_id)
    counterparts = [_party(labels, p) for p in people[1:]]
    explanation = render(verdict_of(finding), wording(session, _describer(labels)))
    recipients = [r for r in finding.recipients.split(";") if r]
    everyone_shown = shown == set(people)
    sender = labels.address(finding.sender, people)
    recipients = [labels.address(r, people) for r in recipients]
    title, text = _clause(session, finding)
    case_ids = list(
        session.scalars(
            select(CaseFinding.case_id).where(CaseFinding.finding_id == finding.finding_id)
        )
    )
    trail.record(
        session,
        actor=viewer.username,
        action="view",
        object_type="finding",
        object_id=finding.finding_id,
        person_ids=people,
        detail="names shown" if shown else "pseudonymised",
    )
    return FindingView(
        finding,
        status,
        subject,
        counterparts,
        explanation,
        sender,
        recipients,
        title,
        text,
        case_ids,
        everyone_shown,
    )


def _describer(labels: Identities) -> Callable[[str], str]:
    """A person for a sentence as this viewer may see them: name or pseudonym, with their
    role and school (``Staff 7KQ2M (teacher, Hillcrest High School)``)."""

    def describe(person_id: str) -> str:
        person = labels.person(person_id)
        if person is None:
            return labels.label(person_id)
        schools = tuple(o.name for o in person.orgs if o.type == "school")
        return person_phrase(labels.label(person_id), person.role, schools)

    return describe


def _clause(session: Session, finding: Finding) -> tuple[str, str]:
    for pack in policy_service.versions(session):
        if pack.spec.version != finding.policy_version:
            continue
        for rule in pack.rules:
            if rule.id == finding.rule_id:
                try:
                    section = pack.section(rule.section)
                except KeyError:
                    break
                return f"§{section.id} {section.title}".strip(), section.text
    return finding.citation, ""


def reveal(session: Session, viewer: Viewer, finding_id: str, reason: str) -> list[str]:
    """Reveal the names of a finding's people on this finding only (recorded with the
    reason); returns their ids."""
    require(viewer, Permission.REVEAL_NAMES)
    finding, _ = get(session, viewer, finding_id)
    return reveals.record(
        session,
        viewer,
        object_type="finding",
        object_id=finding.finding_id,
        person_ids=involved(finding),
        reason=reason,
    )


def review(
    session: Session, viewer: Viewer, finding_ids: Sequence[str], status: str, note: str = ""
) -> int:
    """Mark findings triaged, dismissed or new again; returns how many changed."""
    require(viewer, Permission.REVIEW_FINDINGS)
    if status not in REVIEW_STATUSES:
        raise ChaperoneError(
            f'unknown review status "{status}" (one of {", ".join(REVIEW_STATUSES)})'
        )
    if status == "dismissed" and not note.strip():
        raise ChaperoneError("say why the finding is dismissed")
    changed = 0
    for finding_id in dict.fromkeys(finding_ids):
        finding, current = get(session, viewer, finding_id)
        if current == status:
            continue
        existing = session.get(FindingReview, finding_id)
        if existing is None:
            session.add(
                FindingReview(
                    finding_id=finding_id, status=status, reviewed_by=viewer.username, note=note
                )
            )
        else:
            existing.status, existing.reviewed_by = status, viewer.username
            existing.reviewed_at, existing.note = utcnow(), note
        trail.record(
            session,
            actor=viewer.username,
            action="review",
            object_type="finding",
            object_id=finding_id,
            person_ids=[finding.subject_person_id],
            detail=f"{current} -> {status}" + (f": {note.strip()[:500]}" if note.strip() else ""),
        )
        changed += 1
    return changed


@dataclass(frozen=True)
class Dashboard:
    """The figures on the dashboard, within the viewer's scope."""

    open_findings: int
    reviewed_share: float
    by_week: list[tuple[str, int]]
    by_school: list[tuple[str, int]]
    by_rule: list[tuple[str, int]]
    by_channel: list[tuple[str, int]]
    cases_by_status: dict[str, int]


def dashboard(session: Session, viewer: Viewer, *, weeks: int = 12) -> Dashboard:
    """Open findings and their trend, review coverage, cases by status."""
    require(viewer, Permission.VIEW_FINDINGS)
    open_base = _scoped(viewer).where(_STATUS != "dismissed").subquery()
    total_active = session.scalar(select(func.count()).select_from(_scoped(viewer).subquery())) or 0
    reviewed = (
        session.scalar(
            select(func.count()).select_from(_scoped(viewer).where(_STATUS != "new").subquery())
        )
        or 0
    )

    def grouped(column: str) -> list[tuple[str, int]]:
        col = open_base.c[column]
        rows = session.execute(
            select(col, func.count()).group_by(col).order_by(func.count().desc(), col)
        ).all()
        return [(str(k) if k is not None else "(none)", int(n)) for k, n in rows]

    dates = session.execute(select(open_base.c.local_date)).scalars().all()
    start = utcnow().date() - dt.timedelta(weeks=weeks)
    if dates:
        start = min(max(dates) - dt.timedelta(weeks=weeks - 1), max(dates))
    monday = start - dt.timedelta(days=start.weekday())
    counts = {monday + dt.timedelta(weeks=i): 0 for i in range(weeks)}
    for day in dates:
        week = day - dt.timedelta(days=day.weekday())
        if week in counts:
            counts[week] += 1
    cases: dict[str, int] = {}
    if viewer.can(Permission.VIEW_CASES):
        cases = {
            status: int(n)
            for status, n in session.execute(
                select(Case.status, func.count()).where(cases_filter(viewer)).group_by(Case.status)
            ).all()
        }
    return Dashboard(
        open_findings=len(dates),
        reviewed_share=reviewed / total_active if total_active else 0.0,
        by_week=[(w.isoformat(), n) for w, n in counts.items()],
        by_school=grouped("school"),
        by_rule=grouped("rule_id"),
        by_channel=grouped("channel_type"),
        cases_by_status=cases,
    )


def facets(session: Session, viewer: Viewer) -> dict[str, list[str]]:
    """The values the queue's filters offer (within scope)."""
    base = _scoped(viewer).subquery()
    return {
        name: [
            v for v in session.scalars(select(base.c[name]).distinct().order_by(base.c[name])) if v
        ]
        for name in ("rule_id", "school", "channel_type")
    }
