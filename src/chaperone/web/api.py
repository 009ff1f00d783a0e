"""The JSON API under /api/v1: everything the pages do, for scripts and other systems.

Authentication is the same session cookie as the pages (POST /api/v1/session signs in and
returns the CSRF token); every unsafe request carries that token in X-CSRF-Token.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from chaperone.audit_log import service as trail
from chaperone.cases import service as cases
from chaperone.common.problems import NotFoundError
from chaperone.registry.service import current as current_registry
from chaperone.review import audit_log as shown_log
from chaperone.review import findings as review
from chaperone.review import people
from chaperone.review.access import require
from chaperone.review.audit_log import ShownEntry
from chaperone.review.findings import FindingView, Party
from chaperone.review.people import ShownPerson
from chaperone.store.models import Case, Finding, Intervention
from chaperone.users.roles import Permission
from chaperone.web.schemas import (
    ERRORS,
    AssignIn,
    CaseEventOut,
    CaseIn,
    CaseOut,
    Changed,
    Clean,
    Count,
    DashboardOut,
    FindingDetail,
    FindingPage,
    FindingRow,
    Id,
    InterventionEdit,
    InterventionIn,
    InterventionOut,
    NoteIn,
    PartyOut,
    PersonDetail,
    PersonOut,
    RevealIn,
    ReviewIn,
    TrailOut,
    TransitionIn,
    VerifyOut,
)
from chaperone.web.unit import Unit, unit

router = APIRouter(prefix="/api/v1", tags=["v1"], responses=ERRORS)
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything in the store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _row(finding: Finding, status: str, subject: str) -> dict[str, object]:
    return {
        "finding_id": finding.finding_id,
        "rule_id": finding.rule_id,
        "citation": finding.citation,
        "severity": finding.severity,
        "occurred_at": _utc(finding.occurred_at),
        "local_date": finding.local_date,
        "channel_type": finding.channel_type,
        "platform": finding.platform,
        "school": finding.school,
        "subject": subject,
        "status": status,
    }


def _party(p: Party) -> PartyOut:
    return PartyOut(
        person_id=p.person_id or None,
        label=p.label,
        population=p.population,
        role=p.role,
        schools=list(p.schools),
        revealed=p.revealed,
    )


def _detail(v: FindingView) -> FindingDetail:
    f = v.finding
    return FindingDetail(
        **_row(f, v.status, v.subject.label),
        policy_version=f.policy_version,
        explanation=v.explanation,
        message_id=f.message_id,
        source_ref=f.source_ref,
        sender=v.sender,
        recipients=v.recipients,
        subject_party=_party(v.subject),
        counterparts=[_party(c) for c in v.counterparts],
        clause_title=v.clause_title,
        clause_text=v.clause_text,
        case_ids=v.case_ids,
    )


def _case(v: cases.CaseView) -> CaseOut:
    c = v.case
    return CaseOut(
        id=c.id,
        title=c.title,
        status=c.status,
        subject_person_id=v.subject_id,
        subject=v.subject,
        revealed=v.revealed,
        assignee=c.assignee,
        opened_by=c.opened_by,
        opened_at=_utc(c.opened_at),
        updated_at=_utc(c.updated_at),
        finding_ids=[f.finding_id for f in c.findings],
        events=[
            CaseEventOut(
                kind=e.kind,
                actor=e.actor,
                at=_utc(e.at),
                from_status=e.from_status,
                to_status=e.to_status,
                intervention_code=e.intervention_code,
                text=e.text,
            )
            for e in c.events
        ],
        next_statuses=list(cases.TRANSITIONS.get(c.status, ())),
    )


def _intervention(i: Intervention) -> InterventionOut:
    return InterventionOut(
        code=i.code,
        population=i.population,
        name=i.name,
        description=i.description,
        active=i.active,
    )


def _person(p: ShownPerson) -> PersonOut:
    return PersonOut(
        person_id=p.person_id,
        name=p.label,
        population=p.population,
        role=p.role,
        active=p.active,
        org_ids=list(p.org_ids),
    )


def _trail(e: ShownEntry) -> TrailOut:
    return TrailOut(
        seq=e.seq,
        at=_utc(e.at),
        actor=e.actor,
        action=e.action,
        object_type=e.object_type,
        object_id=e.object_id,
        person_ids=e.person_ids,
        detail=e.detail,
    )


@router.get("/dashboard", response_model=DashboardOut)
def dashboard(request: Request) -> DashboardOut:
    """The dashboard's figures within the caller's scope."""
    with unit(request) as u:
        d = review.dashboard(u.db, u.viewer)

        def counts(rows: list[tuple[str, int]]) -> list[Count]:
            return [Count(label=label, count=n) for label, n in rows]

        return DashboardOut(
            open_findings=d.open_findings,
            reviewed_share=d.reviewed_share,
            by_week=counts(d.by_week),
            by_school=counts(d.by_school),
            by_rule=counts(d.by_rule),
            by_channel=counts(d.by_channel),
            cases_by_status=d.cases_by_status,
        )


@router.get("/findings", response_model=FindingPage)
def findings(
    request: Request,
    status: Literal["open", "new", "triaged", "dismissed", "all"] = "open",
    rule_id: Annotated[Clean, Query(max_length=80)] = "",
    school: Annotated[Clean, Query(max_length=255)] = "",
    channel_type: Annotated[Clean, Query(max_length=20)] = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> FindingPage:
    """The review queue (a subject is pseudonymised except on the findings this session
    revealed them on)."""
    spec = review.QueueFilter(status, rule_id, school, channel_type, since, until)
    with unit(request) as u:
        q = review.queue(u.db, u.viewer, spec, page=page, per_page=per_page)
        return FindingPage(
            total=q.total,
            page=q.page,
            per_page=q.per_page,
            findings=[FindingRow(**_row(r.finding, r.status, r.subject_label)) for r in q.rows],
        )


@router.get(
    "/findings/{finding_id}",
    response_model=FindingDetail,
    responses={404: {"description": "no such finding in your scope"}},
)
def finding(request: Request, finding_id: Id) -> FindingDetail:
    """One finding with its explanation, record metadata and clause (the view is recorded)."""
    with unit(request) as u:
        return _detail(review.view(u.db, u.viewer, finding_id))


@router.post("/findings/review", response_model=Changed)
def review_findings(request: Request, body: ReviewIn) -> Changed:
    """Mark findings triaged, dismissed (with a note) or new."""
    with unit(request) as u:
        return Changed(
            changed=review.review(u.db, u.viewer, body.finding_ids, body.status, body.note)
        )


@router.post("/findings/{finding_id}/reveal", response_model=FindingDetail)
def reveal(request: Request, finding_id: Id, body: RevealIn) -> FindingDetail:
    """Reveal the names of a finding's people on this finding, for this session (recorded
    with the reason); they stay pseudonymised everywhere else."""
    with unit(request) as u:
        review.reveal(u.db, u.viewer, finding_id, body.reason)
        return _detail(review.view(u.db, u.viewer, finding_id))


@router.get("/cases", response_model=list[CaseOut])
def case_list(
    request: Request,
    status: Literal["", "new", "triage", "investigating", "resolved", "dismissed"] = "",
) -> list[CaseOut]:
    """Cases in the caller's scope."""
    with unit(request) as u:
        found = cases.listing(u.db, u.viewer, status=status)
        return [_case(v) for v in cases.views(u.db, u.viewer, found)]


@router.post("/cases", response_model=CaseOut, status_code=201)
def open_case(request: Request, body: CaseIn) -> CaseOut:
    """Open a case from findings."""
    with unit(request) as u:
        opened = cases.open_case(
            u.db,
            u.viewer,
            body.finding_ids,
            title=body.title,
            subject_person_id=body.subject_person_id,
        )
        return _shown_case(u, opened)


def _shown_case(u: Unit, case: Case) -> CaseOut:
    return _case(cases.views(u.db, u.viewer, [case])[0])


@router.get(
    "/cases/{case_id}",
    response_model=CaseOut,
    responses={404: {"description": "no such case in your scope"}},
)
def case(request: Request, case_id: CaseId) -> CaseOut:
    """One case with its timeline (the subject pseudonymised until revealed on this case)."""
    with unit(request) as u:
        return _case(cases.show(u.db, u.viewer, case_id))


@router.post(
    "/cases/{case_id}/reveal",
    response_model=CaseOut,
    responses={404: {"description": "no such case in your scope"}},
)
def case_reveal(request: Request, case_id: CaseId, body: RevealIn) -> CaseOut:
    """Reveal the subject's name on this case, for this session (recorded with the reason)."""
    with unit(request) as u:
        cases.reveal(u.db, u.viewer, case_id, body.reason)
        return _case(cases.show(u.db, u.viewer, case_id))


@router.post("/cases/{case_id}/transitions", response_model=CaseOut)
def transition(request: Request, case_id: CaseId, body: TransitionIn) -> CaseOut:
    """Move a case along new → triage → investigating → resolved | dismissed."""
    with unit(request) as u:
        return _shown_case(
            u, cases.transition(u.db, u.viewer, case_id, body.to_status, body.reason)
        )


@router.post("/cases/{case_id}/notes", response_model=CaseOut)
def note(request: Request, case_id: CaseId, body: NoteIn) -> CaseOut:
    """Add a note."""
    with unit(request) as u:
        return _shown_case(u, cases.add_note(u.db, u.viewer, case_id, body.text))


@router.post("/cases/{case_id}/assignee", response_model=CaseOut)
def assign(request: Request, case_id: CaseId, body: AssignIn) -> CaseOut:
    """Assign the case to a user."""
    with unit(request) as u:
        return _shown_case(u, cases.assign(u.db, u.viewer, case_id, body.username))


@router.post("/cases/{case_id}/interventions", response_model=CaseOut)
def intervention(request: Request, case_id: CaseId, body: InterventionIn) -> CaseOut:
    """Record an intervention from the catalogue, with why."""
    with unit(request) as u:
        return _shown_case(
            u, cases.record_intervention(u.db, u.viewer, case_id, body.code, body.reason)
        )


@router.get("/interventions", response_model=list[InterventionOut])
def catalogue(request: Request) -> list[InterventionOut]:
    """The intervention catalogue (active options)."""
    with unit(request) as u:
        require(u.viewer, Permission.VIEW_CASES)
        return [_intervention(i) for i in cases.interventions(u.db)]


@router.put("/interventions/{code}", response_model=InterventionOut)
def catalogue_edit(
    request: Request, code: Annotated[Clean, Path(max_length=80)], body: InterventionEdit
) -> InterventionOut:
    """Add or change a catalogue option."""
    with unit(request) as u:
        return _intervention(
            cases.upsert_intervention(
                u.db,
                u.viewer,
                code=code,
                population=body.population,
                name=body.name,
                description=body.description,
                active=body.active,
            )
        )


@router.get("/people", response_model=list[PersonOut])
def people_search(
    request: Request,
    q: Annotated[Clean, Query(max_length=255)] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PersonOut]:
    """People in scope matching a name, id or address."""
    with unit(request) as u:
        return [_person(p) for p in people.search(u.db, u.viewer, q, limit=limit)]


@router.get(
    "/people/{person_id}",
    response_model=PersonDetail,
    responses={404: {"description": "no such person in your scope"}},
)
def person(request: Request, person_id: Id) -> PersonDetail:
    """A person with accounts and family links (the view is recorded)."""
    with unit(request) as u:
        page = people.show(u.db, u.viewer, person_id)
        return PersonDetail(
            **_person(page.person).model_dump(),
            accounts=[{"kind": kind, "value": value} for kind, value in page.accounts],
            guardian_ids=[g.person_id for g in page.guardians],
            student_ids=[s.person_id for s in page.students],
            guardians_elsewhere=page.guardians_elsewhere,
            students_elsewhere=page.students_elsewhere,
        )


@router.get(
    "/people/{person_id}/access-log",
    response_model=list[TrailOut],
    responses={404: {"description": "no such person in your scope"}},
)
def access_log(request: Request, person_id: Id) -> list[TrailOut]:
    """Every recorded access to this person's data (FERPA record of access)."""
    with unit(request) as u:
        _, entries = people.access_record(u.db, u.viewer, person_id)
        return [_trail(e) for e in entries]


@router.get("/registry")
def registry(request: Request) -> dict[str, object]:
    """The registry in force (district, platforms, official social accounts)."""
    with unit(request) as u:
        require(u.viewer, Permission.VIEW_REGISTRY)
        view = current_registry(u.db)
        if view is None:
            raise NotFoundError("no registry imported yet")
        dumped: dict[str, object] = view.registry.model_dump(mode="json")
        return dumped


@router.get("/audit-log", response_model=list[TrailOut])
def audit_log(
    request: Request,
    person_id: Annotated[Clean, Query(max_length=255)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TrailOut]:
    """Audit log entries, newest first (people as the caller may see them: an auditor gets
    pseudonyms, and filters by one)."""
    with unit(request) as u:
        entries = shown_log.listing(u.db, u.viewer, person=person_id, before=before, limit=limit)
        return [_trail(e) for e in entries]


@router.get("/audit-log/verify", response_model=VerifyOut)
def audit_log_verify(request: Request) -> VerifyOut:
    """Recompute the hash chain and report any edit or deletion."""
    with unit(request) as u:
        require(u.viewer, Permission.VIEW_TRAIL)
        check = trail.verify(u.db)
        return VerifyOut(
            ok=check.ok,
            entries=check.entries,
            head_hash=check.head_hash,
            problems=list(check.problems),
        )
