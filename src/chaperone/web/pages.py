"""The server-rendered pages. Every handler works through the same services as the API;
forms post, then redirect (so a reload never repeats an action)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chaperone.audit_log import service as trail
from chaperone.cases import service as cases
from chaperone.common.problems import ChaperoneError
from chaperone.registry.service import current as current_registry
from chaperone.review import audit_log as shown_log
from chaperone.review import findings as review
from chaperone.review import people
from chaperone.review.access import require
from chaperone.review.identity import sees_directory
from chaperone.users.roles import Permission
from chaperone.web import auth
from chaperone.web.render import render
from chaperone.web.schemas import Clean, CleanText, Id
from chaperone.web.sign_in import safe_next
from chaperone.web.unit import unit

router = APIRouter(include_in_schema=False)
Csrf = auth.Csrf
CaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    with unit(request) as u:
        figures = review.dashboard(u.db, u.viewer)
        return render(request, "dashboard.html", u.who, {"d": figures, "title": "Dashboard"})


@router.get("/findings", response_class=HTMLResponse)
def findings(
    request: Request,
    status: Annotated[Clean, Query(max_length=20)] = "open",
    rule_id: Annotated[Clean, Query(max_length=80)] = "",
    school: Annotated[Clean, Query(max_length=255)] = "",
    channel_type: Annotated[Clean, Query(max_length=20)] = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    spec = review.QueueFilter(status, rule_id, school, channel_type, since, until)
    with unit(request) as u:
        result = review.queue(u.db, u.viewer, spec, page=page)
        facets = review.facets(u.db, u.viewer)
        query = {
            k: v
            for k, v in {
                "status": status,
                "rule_id": rule_id,
                "school": school,
                "channel_type": channel_type,
                "since": since.isoformat() if since else "",
                "until": until.isoformat() if until else "",
            }.items()
            if v
        }
        return render(
            request,
            "findings.html",
            u.who,
            {
                "q": result,
                "spec": spec,
                "facets": facets,
                "statuses": review.QUEUE_STATUSES,
                "query": urlencode(query),
                "title": "Review queue",
            },
        )


@router.post("/findings/review")
def review_findings(
    request: Request,
    status: Annotated[Clean, Form(max_length=20)],
    csrf_token: Csrf = "",
    finding_ids: Annotated[list[Id] | None, Form(max_length=500)] = None,
    note: Annotated[CleanText, Form(max_length=2000)] = "",
    back: Annotated[CleanText, Form(max_length=2000)] = "/findings",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        if not finding_ids:
            raise ChaperoneError("choose at least one finding")
        review.review(u.db, u.viewer, finding_ids, status, note)
    return _see_other(safe_next(back))


@router.get("/findings/{finding_id}", response_class=HTMLResponse)
def finding(request: Request, finding_id: Id) -> Response:
    with unit(request) as u:
        shown = review.view(u.db, u.viewer, finding_id)
        return render(
            request, "finding.html", u.who, {"f": shown, "title": f"Finding {finding_id}"}
        )


@router.post("/findings/{finding_id}/reveal")
def reveal(
    request: Request,
    finding_id: Id,
    reason: Annotated[CleanText, Form(max_length=500)] = "",
    csrf_token: Csrf = "",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        review.reveal(u.db, u.viewer, finding_id, reason)
    return _see_other(f"/findings/{finding_id}")


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, status: Annotated[Clean, Query(max_length=20)] = "") -> Response:
    with unit(request) as u:
        rows = cases.views(u.db, u.viewer, cases.listing(u.db, u.viewer, status=status))
        return render(
            request,
            "cases.html",
            u.who,
            {"cases": rows, "status": status, "statuses": cases.STATUSES, "title": "Cases"},
        )


@router.post("/cases")
def open_case(
    request: Request,
    csrf_token: Csrf = "",
    finding_ids: Annotated[list[Id] | None, Form(max_length=500)] = None,
    title: Annotated[Clean, Form(max_length=255)] = "",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        case = cases.open_case(u.db, u.viewer, finding_ids or [], title=title)
        case_id = case.id
    return _see_other(f"/cases/{case_id}")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(request: Request, case_id: CaseId) -> Response:
    with unit(request) as u:
        shown = cases.show(u.db, u.viewer, case_id)
        population = cases.catalogue_population(shown.population)
        options = cases.interventions(u.db, population)
        names = {i.code: i.name for i in cases.interventions(u.db)}
        found = shown.case
        return render(
            request,
            "case.html",
            u.who,
            {
                "case": found,
                "shown": shown,
                "subject": shown.subject,
                "options": options,
                "names": names,
                "next_states": cases.TRANSITIONS[found.status],
                "population": population,
                "title": f"Case {case_id}",
            },
        )


@router.post("/cases/{case_id}/reveal")
def case_reveal(
    request: Request,
    case_id: CaseId,
    reason: Annotated[CleanText, Form(max_length=500)] = "",
    csrf_token: Csrf = "",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        cases.reveal(u.db, u.viewer, case_id, reason)
    return _see_other(f"/cases/{case_id}")


@router.post("/cases/{case_id}/transition")
def case_transition(
    request: Request,
    case_id: CaseId,
    to_status: Annotated[Clean, Form(max_length=20)],
    reason: Annotated[CleanText, Form(max_length=2000)] = "",
    csrf_token: Csrf = "",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        cases.transition(u.db, u.viewer, case_id, to_status, reason)
    return _see_other(f"/cases/{case_id}")


@router.post("/cases/{case_id}/note")
def case_note(
    request: Request,
    case_id: CaseId,
    text: Annotated[CleanText, Form(max_length=5000)] = "",
    csrf_token: Csrf = "",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        cases.add_note(u.db, u.viewer, case_id, text)
    return _see_other(f"/cases/{case_id}")


@router.post("/cases/{case_id}/assign")
def case_assign(
    request: Request,
    case_id: CaseId,
    assignee: Annotated[Clean, Form(max_length=255)] = "",
    csrf_token: Csrf = "",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        cases.assign(u.db, u.viewer, case_id, assignee)
    return _see_other(f"/cases/{case_id}")


@router.post("/cases/{case_id}/intervention")
def case_intervention(
    request: Request,
    case_id: CaseId,
    code: Annotated[Clean, Form(max_length=80)] = "",
    reason: Annotated[CleanText, Form(max_length=2000)] = "",
    csrf_token: Csrf = "",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        cases.record_intervention(u.db, u.viewer, case_id, code, reason)
    return _see_other(f"/cases/{case_id}")


@router.get("/people", response_class=HTMLResponse)
def people_list(request: Request, q: Annotated[Clean, Query(max_length=255)] = "") -> Response:
    with unit(request) as u:
        found = people.search(u.db, u.viewer, q)
        return render(
            request,
            "people.html",
            u.who,
            {"people": found, "q": q, "names": sees_directory(u.viewer), "title": "Directory"},
        )


@router.get("/people/{person_id}", response_class=HTMLResponse)
def person(request: Request, person_id: Id) -> Response:
    with unit(request) as u:
        page = people.show(u.db, u.viewer, person_id)
        return render(request, "person.html", u.who, {"p": page, "title": page.person.label})


@router.get("/people/{person_id}/access", response_class=HTMLResponse)
def access_report(request: Request, person_id: Id) -> Response:
    with unit(request) as u:
        who, entries = people.access_record(u.db, u.viewer, person_id)
        return render(
            request,
            "access.html",
            u.who,
            {"person": who, "entries": entries, "title": "Record of access"},
        )


@router.get("/registry", response_class=HTMLResponse)
def registry(request: Request) -> Response:
    with unit(request) as u:
        require(u.viewer, Permission.VIEW_REGISTRY)
        view = current_registry(u.db)
        return render(
            request,
            "registry.html",
            u.who,
            {"registry": view.registry if view else None, "title": "Registry"},
        )


@router.get("/interventions", response_class=HTMLResponse)
def catalogue(request: Request) -> Response:
    with unit(request) as u:
        require(u.viewer, Permission.VIEW_CASES)
        return render(
            request,
            "interventions.html",
            u.who,
            {"options": cases.interventions(u.db), "title": "Interventions"},
        )


@router.post("/interventions")
def catalogue_edit(
    request: Request,
    code: Annotated[Clean, Form(max_length=80)],
    population: Annotated[Clean, Form(max_length=20)],
    name: Annotated[Clean, Form(max_length=255)],
    description: Annotated[CleanText, Form(max_length=2000)] = "",
    active: Annotated[Clean, Form(max_length=10)] = "",
    csrf_token: Csrf = "",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        cases.upsert_intervention(
            u.db,
            u.viewer,
            code=code,
            population=population,
            name=name,
            description=description,
            active=bool(active),
        )
    return _see_other("/interventions")


@router.get("/audit-log", response_class=HTMLResponse)
def audit_log(
    request: Request,
    person_id: Annotated[Clean, Query(max_length=255)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    with unit(request) as u:
        rows = shown_log.listing(u.db, u.viewer, person=person_id, before=before, limit=100)
        check = trail.verify(u.db)
        return render(
            request,
            "audit_log.html",
            u.who,
            {
                "entries": rows,
                "check": check,
                "person_id": person_id,
                "names": sees_directory(u.viewer),
                "title": "Audit log",
            },
        )
