"""Who still has to acknowledge a campaign, and paper acknowledgments recorded by staff.

The web side of ``chaperone campaigns outstanding`` and ``record`` (Policy 9052 §D), for
users who may manage campaigns. A principal lists and records only notices of their own
schools. Every listing is written to the audit log with the people it showed (``view``),
every download with the people it held (``export``), as the CLI does.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from chaperone.acknowledge import campaigns
from chaperone.acknowledge.export import outstanding_row, write_csv
from chaperone.audit_log import service as trail
from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.review.access import require
from chaperone.review.identity import Identities, mask
from chaperone.review.scope import Viewer
from chaperone.store.models import Campaign, Notice, Person
from chaperone.users.roles import Permission
from chaperone.web import auth
from chaperone.web.campaigns import school_names, visible
from chaperone.web.render import render
from chaperone.web.schemas import (
    ERRORS,
    AcknowledgmentsIn,
    Clean,
    Id,
    OutstandingOut,
    OutstandingPage,
    Problem,
    RecordedOut,
)
from chaperone.web.unit import Unit, unit

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["v1"], responses=ERRORS)
CampaignId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Csrf = auth.Csrf
PER_PAGE = 50


class Closed(ChaperoneError):
    """The campaign is closed: it takes no more acknowledgments (HTTP 409)."""


class BadEntry(ChaperoneError):
    """The paper form is filled in wrongly (shown on the form again)."""


@dataclass(frozen=True)
class Filter:
    """Which outstanding notices to show: a population, a school (or NO_SCHOOL), or all."""

    population: str = ""
    school: str = ""

    def query(self, **more: object) -> str:
        """The filter (and anything more) as a query string."""
        values = {"population": self.population, "school": self.school, **more}
        return urlencode({k: v for k, v in values.items() if v})


@dataclass(frozen=True)
class Row:
    """One person still to acknowledge as the viewer may see them (through the identity
    service: ``person`` is None unless the viewer may see who it is), and whether the
    viewer may open their page."""

    notice: Notice
    person: Person | None
    linked: bool
    label: str  # the name, or the pseudonym
    shown_id: str  # the district id, or the pseudonym

    def as_dict(self) -> dict[str, object]:
        """The row in the CLI's columns (no name, id or address the viewer may not see)."""
        row = outstanding_row(self.notice, self.person)
        if self.shown_id != self.notice.person_id:
            address = self.notice.address
            row |= {"person_id": self.shown_id, "address": mask(address) if address else ""}
        return row


@dataclass(frozen=True)
class Outstanding:
    """A page of the people still to acknowledge, with the filter's choices."""

    campaign: Campaign
    rows: list[Row]
    total: int
    page: int
    per_page: int
    populations: list[str]
    schools: list[str]

    @property
    def pages(self) -> int:
        """How many pages the list has (at least one)."""
        return max(1, -(-self.total // self.per_page))


def _campaign(db: Session, viewer: Viewer, campaign_id: int) -> Campaign:
    require(viewer, Permission.MANAGE_CAMPAIGNS)
    campaign = campaigns.get(db, campaign_id)
    if not visible(viewer, campaign):
        raise NotFoundError(f"no campaign {campaign_id}")
    return campaign


def _scope(viewer: Viewer) -> list[str] | None:
    """A principal's schools; None: every school."""
    return list(viewer.school_ids) if viewer.scoped else None


def _rows(db: Session, viewer: Viewer, notices: list[Notice]) -> list[Row]:
    ids = Identities.directory(db, viewer)
    ids.load(n.person_id for n in notices)
    may_open = viewer.can(Permission.VIEW_PEOPLE)
    rows = []
    for n in notices:
        pid = n.person_id
        person = ids.person(pid) if ids.may_see(pid) else None
        linked = may_open and ids.person(pid) is not None and ids.in_scope(pid)
        rows.append(Row(n, person, linked, ids.label(pid), ids.shown_id(pid)))
    return rows


def _log(db: Session, viewer: Viewer, campaign: Campaign, action: str, rows: list[Row]) -> None:
    trail.record(
        db,
        actor=viewer.username,
        action=action,
        object_type="campaign",
        object_id=str(campaign.id),
        person_ids=[r.notice.person_id for r in rows],
        detail=f"outstanding list, {len(rows)} people",
    )


def listing(
    db: Session,
    viewer: Viewer,
    campaign_id: int,
    spec: Filter,
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Outstanding:
    """A page of the people in scope still to acknowledge (the view is recorded)."""
    campaign = _campaign(db, viewer, campaign_id)
    scope = _scope(viewer)

    def one_page(number: int, size: int) -> tuple[list[Notice], int]:
        return campaigns.outstanding_page(
            db,
            campaign,
            schools=scope,
            population=spec.population,
            school=spec.school,
            offset=(number - 1) * size,
            limit=size,
        )

    _none, total = one_page(1, 0)  # the count alone, to keep the page within range
    page = min(max(1, page), max(1, -(-total // per_page)))
    chosen, total = one_page(page, per_page)
    rows = _rows(db, viewer, chosen)
    _log(db, viewer, campaign, "view", rows)
    populations, schools = campaigns.outstanding_groups(db, campaign, schools=scope)
    return Outstanding(campaign, rows, total, page, per_page, populations, schools)


def export(db: Session, viewer: Viewer, campaign_id: int, spec: Filter) -> list[Row]:
    """Everyone in scope and the filter still to acknowledge (the export is recorded)."""
    campaign = _campaign(db, viewer, campaign_id)
    chosen, _total = campaigns.outstanding_page(
        db, campaign, schools=_scope(viewer), population=spec.population, school=spec.school
    )
    rows = _rows(db, viewer, chosen)
    _log(db, viewer, campaign, "export", rows)
    return rows


def signed_on_problem(campaign: Campaign, day: dt.date, today: dt.date) -> str:
    """Why a paper acknowledgment cannot carry this date ("" when it can)."""
    if day > today:
        return f"The signing date {day} is in the future; use the day the form was signed."
    if day < campaign.opens_on:
        return f"The signing date {day} is before the campaign opened ({campaign.opens_on})."
    return ""


def record(
    db: Session, viewer: Viewer, campaign_id: int, person_ids: list[str], signed_on: dt.date
) -> tuple[int, int]:
    """Record paper acknowledgments: how many recorded and how many had already acknowledged.
    A principal may record only for notices of their schools; else nothing is recorded."""
    campaign = _campaign(db, viewer, campaign_id)
    if campaign.closed_at is not None:
        raise Closed(f"campaign {campaign.id} is closed; it takes no more acknowledgments")
    problem = signed_on_problem(campaign, signed_on, dt.date.today())
    if problem:
        raise BadEntry(problem)
    ids = Identities.directory(db, viewer)  # the boxes carry what the list showed
    chosen = list(dict.fromkeys(ids.resolve(p) or p.strip() for p in person_ids if p.strip()))
    if not chosen:
        raise BadEntry("Choose at least one person who signed.")
    return campaigns.record_paper(
        db,
        campaign,
        [(p, signed_on) for p in chosen],
        recorded_by=viewer.username,
        schools=_scope(viewer),
    )


def _csv(rows: list[Row]) -> str:
    out = io.StringIO()
    write_csv(out, (r.as_dict() for r in rows))
    return out.getvalue()


def _page(
    request: Request,
    u: Unit,
    campaign_id: int,
    spec: Filter,
    page: int,
    *,
    done: str = "",
    error: str = "",
    signed_on: str = "",
) -> HTMLResponse:
    shown = listing(u.db, u.who.viewer, campaign_id, spec, page=page)
    return render(
        request,
        "outstanding.html",
        u.who,
        {
            "o": shown,
            "spec": spec,
            "query": spec.query(),
            "names": school_names(u.db),
            "done": done,
            "error": error,
            "signed_on": signed_on or dt.date.today().isoformat(),
            "today": dt.date.today(),
            "title": f"Outstanding: {shown.campaign.name}",
        },
        status=400 if error else 200,
    )


@pages.get("/campaigns/{campaign_id}/outstanding", response_class=HTMLResponse)
def outstanding_page(
    request: Request,
    campaign_id: CampaignId,
    population: Annotated[Clean, Query(max_length=20)] = "",
    school: Annotated[Clean, Query(max_length=255)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    with unit(request) as u:
        done = auth.take_flash(u.who.session)  # the banner comes from the session, never the URL
        return _page(request, u, campaign_id, Filter(population, school), page, done=done)


@pages.get("/campaigns/{campaign_id}/outstanding.csv")
def outstanding_csv(
    request: Request,
    campaign_id: CampaignId,
    population: Annotated[Clean, Query(max_length=20)] = "",
    school: Annotated[Clean, Query(max_length=255)] = "",
) -> Response:
    with unit(request) as u:
        rows = export(u.db, u.who.viewer, campaign_id, Filter(population, school))
        text = _csv(rows)
    name = f"campaign-{campaign_id}-outstanding.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@pages.post("/campaigns/{campaign_id}/record")
def record_form(
    request: Request,
    campaign_id: CampaignId,
    csrf_token: Csrf = "",
    person_ids: Annotated[list[Id] | None, Form(max_length=500)] = None,
    signed_on: Annotated[Clean, Form(max_length=40)] = "",
    population: Annotated[Clean, Form(max_length=20)] = "",
    school: Annotated[Clean, Form(max_length=255)] = "",
    page: Annotated[int, Form(ge=1, le=1_000_000)] = 1,
) -> Response:
    spec = Filter(population, school)
    with unit(request, csrf=csrf_token) as u:
        try:
            day = _form_day(signed_on)
            recorded, already = record(u.db, u.who.viewer, campaign_id, person_ids or [], day)
        except BadEntry as problem:
            return _page(
                request, u, campaign_id, spec, page, error=str(problem), signed_on=signed_on
            )
        auth.flash(u.who.session, f"{recorded} recorded, {already} had already acknowledged")
    back = spec.query()
    return RedirectResponse(f"/campaigns/{campaign_id}/outstanding?{back}", status_code=303)


def _form_day(value: str) -> dt.date:
    if not value.strip():
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadEntry(f'"{value}" is not a date; give the signing date as YYYY-MM-DD.') from exc


@api.get(
    "/campaigns/{campaign_id}/outstanding",
    response_model=OutstandingPage,
    responses={404: {"description": "no such campaign in your scope"}},
)
def outstanding_api(
    request: Request,
    campaign_id: CampaignId,
    population: Annotated[Clean, Query(max_length=20)] = "",
    school: Annotated[Clean, Query(max_length=255)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = PER_PAGE,
) -> OutstandingPage:
    """People in scope who have not acknowledged yet (the view is recorded with their ids)."""
    with unit(request) as u:
        shown = listing(
            u.db,
            u.who.viewer,
            campaign_id,
            Filter(population, school),
            page=page,
            per_page=per_page,
        )
        return OutstandingPage(
            total=shown.total,
            page=shown.page,
            per_page=shown.per_page,
            people=[OutstandingOut.model_validate(r.as_dict()) for r in shown.rows],
        )


@api.post(
    "/campaigns/{campaign_id}/acknowledgments",
    response_model=RecordedOut,
    responses={
        404: {"description": "no such campaign in your scope, or a person it does not ask"},
        409: {"model": Problem, "description": "the campaign is closed"},
    },
)
def record_api(request: Request, campaign_id: CampaignId, body: AcknowledgmentsIn) -> RecordedOut:
    """Record acknowledgments signed on paper (a principal: their schools' notices only)."""
    with unit(request) as u:
        day = body.signed_on or dt.date.today()
        recorded, already = record(u.db, u.who.viewer, campaign_id, body.person_ids, day)
        return RecordedOut(recorded=recorded, already=already)
