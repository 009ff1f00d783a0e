"""Cases: opened from findings, moved through one transition table, with notes,
assignments and interventions from the district's catalogue - each recorded with who,
when and why, in the case's timeline and in the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.audit_log import service as trail
from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.review import findings as review
from chaperone.review import reveals
from chaperone.review.access import Forbidden, require
from chaperone.review.identity import Identities
from chaperone.review.scope import Viewer, cases_filter
from chaperone.store.models import (
    Case,
    CaseEvent,
    CaseFinding,
    Finding,
    FindingReview,
    Intervention,
    Person,
    User,
    utcnow,
)
from chaperone.users.roles import Permission, Role

STATUSES = ("new", "triage", "investigating", "resolved", "dismissed")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("triage", "dismissed"),
    "triage": ("investigating", "dismissed"),
    "investigating": ("resolved", "dismissed"),
    "resolved": (),
    "dismissed": (),
}
"""The one table of case states: where each state may go next."""
CLOSING = ("resolved", "dismissed")


def _population(session: Session, person_id: str) -> str:
    return session.scalar(select(Person.population).where(Person.person_id == person_id)) or ""


def catalogue_population(population: str) -> str:
    """Students get the Code of Conduct's options; everyone else HR's steps."""
    return "student" if population == "student" else "staff"


def _record(session: Session, case: Case, viewer: Viewer, action: str, detail: str) -> None:
    trail.record(
        session,
        actor=viewer.username,
        action=action,
        object_type="case",
        object_id=str(case.id),
        person_ids=[case.subject_person_id],
        detail=detail,
    )


def get(session: Session, viewer: Viewer, case_id: int) -> Case:
    """A case in the viewer's scope (out of scope is indistinguishable from absent)."""
    require(viewer, Permission.VIEW_CASES)
    case = session.scalar(select(Case).where(Case.id == case_id).where(cases_filter(viewer)))
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    return case


def listing(session: Session, viewer: Viewer, *, status: str = "") -> list[Case]:
    """The viewer's cases, open ones first, newest first."""
    require(viewer, Permission.VIEW_CASES)
    query = select(Case).where(cases_filter(viewer)).order_by(Case.updated_at.desc())
    if status:
        query = query.where(Case.status == status)
    return list(session.scalars(query.limit(500)))


@dataclass(frozen=True)
class CaseView:
    """A case with its subject as this viewer may see them (named once revealed on it)."""

    case: Case
    subject: str  # the name, or the pseudonym
    subject_id: str  # the district id, or the same pseudonym
    population: str
    revealed: bool


def views(session: Session, viewer: Viewer, found: Sequence[Case]) -> list[CaseView]:
    """Cases as this viewer may see them (each named only as far as revealed on it)."""
    labels = Identities(session, viewer)
    labels.load(c.subject_person_id for c in found)
    shown = reveals.revealed_on(session, viewer, "case", (str(c.id) for c in found))
    out = []
    for case in found:
        here = labels.within(shown.get(str(case.id), ()))
        person = here.person(case.subject_person_id)
        out.append(
            CaseView(
                case,
                here.label(case.subject_person_id),
                here.shown_id(case.subject_person_id),
                person.population if person else "",
                here.may_see(case.subject_person_id),
            )
        )
    return out


def show(session: Session, viewer: Viewer, case_id: int) -> CaseView:
    """One case for its page or the API; the view is written to the audit log."""
    case = get(session, viewer, case_id)
    _record(session, case, viewer, "view", "")
    return views(session, viewer, [case])[0]


def reveal(session: Session, viewer: Viewer, case_id: int, reason: str) -> list[str]:
    """Reveal the subject's name on this case only (recorded with the reason)."""
    require(viewer, Permission.REVEAL_NAMES)
    case = get(session, viewer, case_id)
    return reveals.record(
        session,
        viewer,
        object_type="case",
        object_id=str(case.id),
        person_ids=[case.subject_person_id],
        reason=reason,
    )


def _may_manage(session: Session, viewer: Viewer, subject_person_id: str) -> None:
    require(viewer, Permission.MANAGE_CASES)
    if viewer.role == Role.HR and _population(session, subject_person_id) != "staff":
        raise Forbidden("HR manages cases about staff; student cases belong to the school")
    if viewer.scoped and not Identities(session, viewer).in_scope(subject_person_id):
        raise Forbidden("the case's subject is not one of your schools' people")


def _subject(session: Session, viewer: Viewer, found: Sequence[Finding], chosen: str) -> str:
    """The case's subject: the findings' one subject, or the person of the findings chosen
    (by district id or by the pseudonym the viewer was shown)."""
    if not chosen.strip():
        subjects = {f.subject_person_id for f in found}
        if len(subjects) != 1:
            raise ChaperoneError("the findings have different subjects; choose the case's subject")
        return subjects.pop()
    labels = Identities(session, viewer)
    for person_id in dict.fromkeys(p for f in found for p in review.involved(f)):
        if chosen.strip() in (person_id, labels.pseudonym(person_id)):
            return person_id
    raise ChaperoneError("the case's subject must be a person of its findings")


def open_case(
    session: Session,
    viewer: Viewer,
    finding_ids: Sequence[str],
    *,
    title: str = "",
    subject_person_id: str = "",
) -> Case:
    """Open a case from findings in scope; the subject defaults to the findings' subject."""
    require(viewer, Permission.MANAGE_CASES)
    if not finding_ids:
        raise ChaperoneError("choose at least one finding")
    found = [review.get(session, viewer, f)[0] for f in dict.fromkeys(finding_ids)]
    subject_person_id = _subject(session, viewer, found, subject_person_id)
    _may_manage(session, viewer, subject_person_id)
    case = Case(
        title=(title.strip() or f"Policy 9052 {found[0].citation}")[:255],
        status="new",
        subject_person_id=subject_person_id,
        opened_by=viewer.username,
        findings=[CaseFinding(finding_id=f.finding_id) for f in found],
    )
    session.add(case)
    session.flush()
    case.events.append(CaseEvent(kind="opened", actor=viewer.username, to_status="new"))
    for finding in found:
        if session.get(FindingReview, finding.finding_id) is None:
            session.add(
                FindingReview(
                    finding_id=finding.finding_id,
                    status="triaged",
                    reviewed_by=viewer.username,
                    note=f"case {case.id}",
                )
            )
    _record(
        session, case, viewer, "case-open", f"findings {', '.join(f.finding_id for f in found)}"
    )
    return case


def transition(
    session: Session, viewer: Viewer, case_id: int, to_status: str, reason: str = ""
) -> Case:
    """Move a case along the transition table; closing it needs a reason."""
    case = get(session, viewer, case_id)
    _may_manage(session, viewer, case.subject_person_id)
    if to_status not in TRANSITIONS.get(case.status, ()):
        allowed = ", ".join(TRANSITIONS.get(case.status, ())) or "nothing (it is closed)"
        raise ChaperoneError(f"a {case.status} case can move to {allowed}, not {to_status}")
    if to_status in CLOSING and not reason.strip():
        raise ChaperoneError(f"say why the case is {to_status}")
    case.events.append(
        CaseEvent(
            kind="transition",
            actor=viewer.username,
            from_status=case.status,
            to_status=to_status,
            text=reason.strip(),
        )
    )
    _record(session, case, viewer, "case-transition", f"{case.status} -> {to_status}")
    case.status, case.updated_at = to_status, utcnow()
    return case


def _open(case: Case) -> None:
    if case.status in CLOSING:
        raise ChaperoneError(f"case {case.id} is {case.status}")


def add_note(session: Session, viewer: Viewer, case_id: int, text: str) -> Case:
    """Add a note to an open case."""
    case = get(session, viewer, case_id)
    _may_manage(session, viewer, case.subject_person_id)
    _open(case)
    if not text.strip():
        raise ChaperoneError("the note is empty")
    case.events.append(CaseEvent(kind="note", actor=viewer.username, text=text.strip()))
    case.updated_at = utcnow()
    _record(session, case, viewer, "case-note", "note added")
    return case


def assign(session: Session, viewer: Viewer, case_id: int, assignee: str) -> Case:
    """Give an open case to a user (by username)."""
    case = get(session, viewer, case_id)
    _may_manage(session, viewer, case.subject_person_id)
    _open(case)
    username = assignee.strip().lower()
    user = session.scalar(select(User).where(User.username == username, User.active))
    if user is None:
        raise ChaperoneError(f'no active user "{assignee}"')
    theirs = Viewer(user.username, user.role, user.school_ids)
    if not theirs.can(Permission.VIEW_CASES) or (
        session.scalar(select(Case.id).where(Case.id == case.id, cases_filter(theirs))) is None
    ):
        raise ChaperoneError(f"{username} may not see this case; choose someone who may")
    case.events.append(CaseEvent(kind="assigned", actor=viewer.username, text=username))
    case.assignee, case.updated_at = username, utcnow()
    _record(session, case, viewer, "case-assign", f"assigned to {username}")
    return case


def interventions(session: Session, population: str | None = None) -> list[Intervention]:
    """The active catalogue, optionally for one population (student or staff)."""
    query = select(Intervention).where(Intervention.active).order_by(Intervention.position)
    if population:
        query = query.where(Intervention.population == population)
    return list(session.scalars(query))


def record_intervention(
    session: Session, viewer: Viewer, case_id: int, code: str, reason: str
) -> Case:
    """Record an intervention from the catalogue that fits the case's subject, with why."""
    case = get(session, viewer, case_id)
    _may_manage(session, viewer, case.subject_person_id)
    _open(case)
    wanted = catalogue_population(_population(session, case.subject_person_id))
    option = session.get(Intervention, code)
    if option is None or not option.active or option.population != wanted:
        raise ChaperoneError(f'"{code}" is not an intervention for a {wanted} in the catalogue')
    if not reason.strip():
        raise ChaperoneError("say why this intervention was chosen")
    case.events.append(
        CaseEvent(
            kind="intervention", actor=viewer.username, intervention_code=code, text=reason.strip()
        )
    )
    case.updated_at = utcnow()
    _record(session, case, viewer, "case-intervention", code)
    return case


def upsert_intervention(
    session: Session,
    viewer: Viewer,
    *,
    code: str,
    population: str,
    name: str,
    description: str = "",
    active: bool = True,
) -> Intervention:
    """Add or change a catalogue entry (the district edits its own catalogue)."""
    require(viewer, Permission.EDIT_CATALOGUE)
    code = code.strip().lower()
    if not code or not all(c.isalnum() or c == "-" for c in code):
        raise ChaperoneError("an intervention code is letters, digits and dashes")
    if population not in ("student", "staff"):
        raise ChaperoneError("an intervention is for a student or for staff")
    if not name.strip():
        raise ChaperoneError("an intervention needs a name")
    option = session.get(Intervention, code)
    if option is None:
        last = max((i.position for i in interventions(session)), default=0)
        option = Intervention(code=code, position=last + 1)
        session.add(option)
    option.population, option.name = population, name.strip()
    option.description, option.active = description.strip(), active
    trail.record(
        session,
        actor=viewer.username,
        action="catalogue-change",
        object_type="intervention",
        object_id=code,
        detail=f"{population}: {name.strip()} ({'active' if active else 'inactive'})",
    )
    return option
