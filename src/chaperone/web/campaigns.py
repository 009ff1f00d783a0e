"""Acknowledgment campaigns for signed-in staff: progress pages and their JSON API, and
starting and closing a campaign (Policy 9052 §D), as ``chaperone campaigns create|close``.

Only counts are shown here, never who has or has not acknowledged (that list is in
outstanding.py, for users who may manage campaigns). A principal sees the rows and totals
of their own schools only, and not at all a campaign limited to other schools. Only the
district's compliance office (RUN_CAMPAIGNS) starts and closes campaigns; the service
writes both to the audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Annotated, cast

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.acknowledge import campaigns
from chaperone.acknowledge.campaigns import Status, Tally
from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.directory.populations import POPULATIONS
from chaperone.review.access import require
from chaperone.review.scope import Viewer
from chaperone.store.models import Campaign, Org
from chaperone.users.roles import Permission
from chaperone.web import auth
from chaperone.web.render import render
from chaperone.web.schemas import (
    ERRORS,
    CampaignDetail,
    CampaignIn,
    CampaignOut,
    Clean,
    GroupTally,
    Id,
    Population,
    TallyOut,
)
from chaperone.web.unit import Unit, unit

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["v1"], responses=ERRORS)
CampaignId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Csrf = auth.Csrf
Count = Annotated[int | None, Query(ge=0, le=100_000_000)]


class BadForm(ChaperoneError):
    """A campaign form filled in wrongly (shown on the form again, 400)."""


@dataclass(frozen=True)
class Draft:
    """The "New campaign" form's values, as typed (kept when the form comes back)."""

    name: str = ""
    due_on: str = ""
    opens_on: str = ""
    populations: tuple[str, ...] = POPULATIONS
    schools: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Progress:
    """A campaign with its progress as this viewer may see it."""

    campaign: Campaign
    status: Status


def visible(viewer: Viewer, campaign: Campaign) -> bool:
    """A principal does not see a campaign limited to schools other than theirs."""
    limited = set(campaigns.schools_of(campaign))
    return not (viewer.scoped and limited and not limited & set(viewer.school_ids))


def _progress(db: Session, viewer: Viewer, campaign: Campaign) -> Progress:
    schools = viewer.school_ids if viewer.scoped else None
    return Progress(campaign, campaigns.status(db, campaign, schools=schools))


def listing(db: Session, viewer: Viewer) -> list[Progress]:
    """Every campaign the viewer may see, newest first, with its progress."""
    require(viewer, Permission.VIEW_CAMPAIGNS)
    return [_progress(db, viewer, c) for c in campaigns.every(db) if visible(viewer, c)]


def one(db: Session, viewer: Viewer, campaign_id: int) -> Progress:
    """One campaign's progress (not found outside a principal's schools)."""
    require(viewer, Permission.VIEW_CAMPAIGNS)
    campaign = campaigns.get(db, campaign_id)
    if not visible(viewer, campaign):
        raise NotFoundError(f"no campaign {campaign_id}")
    return _progress(db, viewer, campaign)


def school_names(db: Session) -> dict[str, str]:
    """Org id → name, for the per-school rows."""
    return {row.org_id: row.name for row in db.execute(select(Org.org_id, Org.name))}


def district_schools(db: Session) -> list[Org]:
    """The schools a new campaign may be limited to, by name."""
    return list(db.scalars(select(Org).where(Org.type == "school").order_by(Org.name)))


def start(db: Session, viewer: Viewer, spec: CampaignIn) -> tuple[Campaign, campaigns.Synced]:
    """A new campaign started by this user (every problem with it in one error)."""
    require(viewer, Permission.RUN_CAMPAIGNS)
    return campaigns.create(
        db,
        name=spec.name,
        due_on=spec.due_on,
        created_by=viewer.username,
        populations=spec.populations,
        schools=spec.schools,
        opens_on=spec.opens_on,
        policy=spec.policy,
        policy_version=spec.policy_version,
    )


def close(db: Session, viewer: Viewer, campaign_id: int) -> Campaign:
    """Close a campaign (a closed one stays as it is)."""
    require(viewer, Permission.RUN_CAMPAIGNS)
    campaign = campaigns.get(db, campaign_id)
    campaigns.close(db, campaign, closed_by=viewer.username)
    return campaign


def _list_page(request: Request, u: Unit, draft: Draft, *, status: int = 200) -> HTMLResponse:
    return render(
        request,
        "campaigns.html",
        u.who,
        {
            "rows": listing(u.db, u.who.viewer),
            "draft": draft,
            "all_populations": POPULATIONS,
            "schools": district_schools(u.db),
            "today": dt.date.today(),
            "title": "Campaigns",
        },
        status=status,
    )


@pages.get("/campaigns", response_class=HTMLResponse)
def campaign_list(request: Request) -> Response:
    with unit(request) as u:
        return _list_page(request, u, Draft(opens_on=dt.date.today().isoformat()))


def _created(campaign_id: int, people: int, no_address: int) -> str:
    return (
        f"Campaign {campaign_id} created: {people:,} people, "
        f"{no_address:,} without an e-mail address"
    )


def _campaign_page(
    request: Request, u: Unit, campaign_id: int, *, message: str = "", error: str = ""
) -> HTMLResponse:
    shown = one(u.db, u.who.viewer, campaign_id)
    return render(
        request,
        "campaign.html",
        u.who,
        {
            "p": shown,
            "populations": campaigns.populations_of(shown.campaign),
            "limited_to": campaigns.schools_of(shown.campaign),
            "names": school_names(u.db),
            "no_school": campaigns.NO_SCHOOL,
            "message": message,
            "error": error,
            "today": dt.date.today(),
            "title": shown.campaign.name,
        },
        status=400 if error else 200,
    )


@pages.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, campaign_id: CampaignId) -> Response:
    with unit(request) as u:
        message = auth.take_flash(u.who.session)  # banners come from the session, not the URL
        return _campaign_page(request, u, campaign_id, message=message)


def _day(value: str, label: str, *, default: dt.date | None = None) -> dt.date:
    if not value.strip() and default is not None:
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadForm(f'{label} "{value}" is not a date (YYYY-MM-DD)') from exc


def _spec(draft: Draft) -> CampaignIn:
    """The form as the API's document; every problem of the form itself at once."""
    problems: list[str] = []
    days: list[dt.date] = []
    for value, label, default in (
        (draft.due_on, "due date", None),
        (draft.opens_on, "opens on", dt.date.today()),
    ):
        try:
            days.append(_day(value, label, default=default))
        except BadForm as problem:
            problems.append(str(problem))
    if not draft.populations:
        problems.append("tick at least one population")
    if problems:
        raise BadForm("; ".join(problems))
    return CampaignIn.model_construct(
        name=draft.name,
        due_on=days[0],
        opens_on=days[1],
        # unchecked here: the service names any unknown population with the other problems
        populations=cast("list[Population]", list(draft.populations)),
        schools=list(draft.schools),
        policy="9052",
        policy_version=None,
    )


@pages.post("/campaigns")
def create_form(
    request: Request,
    csrf_token: Csrf = "",
    name: Annotated[str, Form(max_length=255)] = "",
    due_on: Annotated[Clean, Form(max_length=40)] = "",
    opens_on: Annotated[Clean, Form(max_length=40)] = "",
    populations: Annotated[list[Clean] | None, Form(max_length=20)] = None,
    schools: Annotated[list[Id] | None, Form(max_length=500)] = None,
) -> Response:
    draft = Draft(name, due_on, opens_on, tuple(populations or ()), tuple(schools or ()))
    with unit(request, csrf=csrf_token) as u:
        require(u.who.viewer, Permission.RUN_CAMPAIGNS)
        try:
            campaign, _synced = start(u.db, u.who.viewer, _spec(draft))
        except ChaperoneError as problem:  # the service's rules and the form's, all at once
            shown = replace(draft, problems=str(problem).split("; "))
            return _list_page(request, u, shown, status=400)
        total = campaigns.status(u.db, campaign).total
        auth.flash(u.who.session, _created(campaign.id, total.people, total.no_address))
        number = campaign.id
    return RedirectResponse(f"/campaigns/{number}", status_code=303)


@pages.post("/campaigns/{campaign_id}/close")
def close_form(
    request: Request,
    campaign_id: CampaignId,
    csrf_token: Csrf = "",
    confirm: Annotated[Clean, Form(max_length=10)] = "",
) -> Response:
    with unit(request, csrf=csrf_token) as u:
        require(u.who.viewer, Permission.RUN_CAMPAIGNS)
        if not confirm:
            error = "Tick the box to confirm that the campaign should close."
            return _campaign_page(request, u, campaign_id, error=error)
        close(u.db, u.who.viewer, campaign_id)
        auth.flash(u.who.session, f"Campaign {campaign_id} closed")
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=dt.UTC)  # SQLite hands back naive datetimes


def _tally(tally: Tally) -> TallyOut:
    return TallyOut.model_validate(tally.as_dict())


def _groups(tallies: dict[str, Tally]) -> list[GroupTally]:
    return [GroupTally(group=name, **_tally(t).model_dump()) for name, t in tallies.items()]


def _out(p: Progress) -> CampaignOut:
    c = p.campaign
    return CampaignOut(
        id=c.id,
        name=c.name,
        policy=c.policy,
        policy_version=c.policy_version,
        populations=campaigns.populations_of(c),
        schools=campaigns.schools_of(c),
        opens_on=c.opens_on,
        due_on=c.due_on,
        closed_at=_utc(c.closed_at),
        total=_tally(p.status.total),
    )


@api.get("/campaigns", response_model=list[CampaignOut])
def campaign_list_api(request: Request) -> list[CampaignOut]:
    """Acknowledgment campaigns with their progress (a principal's: their schools only)."""
    with unit(request) as u:
        return [_out(p) for p in listing(u.db, u.who.viewer)]


@api.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignDetail,
    responses={404: {"description": "no such campaign in your scope"}},
)
def campaign_api(request: Request, campaign_id: CampaignId) -> CampaignDetail:
    """One campaign's progress per population and per school (counts only)."""
    with unit(request) as u:
        return _detail(one(u.db, u.who.viewer, campaign_id))


def _detail(shown: Progress) -> CampaignDetail:
    return CampaignDetail(
        **_out(shown).model_dump(),
        by_population=_groups(shown.status.populations),
        by_school=_groups(shown.status.schools),
        withdrawn=shown.status.withdrawn,
    )


@api.post(
    "/campaigns",
    response_model=CampaignDetail,
    status_code=201,
    responses={404: {"description": "no such policy version (or none in force when it opens)"}},
)
def create_api(request: Request, body: CampaignIn) -> CampaignDetail:
    """Start a campaign: a notice for everyone it must reach (400 lists every problem)."""
    with unit(request) as u:
        campaign, _synced = start(u.db, u.who.viewer, body)
        return _detail(_progress(u.db, u.who.viewer, campaign))


@api.post(
    "/campaigns/{campaign_id}/close",
    response_model=CampaignDetail,
    responses={404: {"description": "no such campaign"}},
)
def close_api(request: Request, campaign_id: CampaignId) -> CampaignDetail:
    """Close a campaign: its links stop taking acknowledgments (closing again changes nothing)."""
    with unit(request) as u:
        campaign = close(u.db, u.who.viewer, campaign_id)
        return _detail(_progress(u.db, u.who.viewer, campaign))
