"""Acknowledgment campaigns for signed-in staff: progress pages and their JSON API.

Only counts are shown here, never who has or has not acknowledged (that list is in
outstanding.py, for users who may manage campaigns). A principal sees the rows and totals
of their own schools only, and not at all a campaign limited to other schools.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.acknowledge import campaigns
from chaperone.acknowledge.campaigns import Status, Tally
from chaperone.cases.access import require
from chaperone.cases.scope import Viewer
from chaperone.common.problems import NotFoundError
from chaperone.store.models import Campaign, Org
from chaperone.users.roles import Permission
from chaperone.web.render import render
from chaperone.web.schemas import ERRORS, CampaignDetail, CampaignOut, GroupTally, TallyOut
from chaperone.web.unit import unit

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["v1"], responses=ERRORS)
CampaignId = Annotated[int, Path(ge=1, le=2_147_483_647)]


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


@pages.get("/campaigns", response_class=HTMLResponse)
def campaign_list(request: Request) -> Response:
    with unit(request) as u:
        rows = listing(u.db, u.who.viewer)
        return render(
            request,
            "campaigns.html",
            u.who,
            {"rows": rows, "today": dt.date.today(), "title": "Campaigns"},
        )


@pages.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, campaign_id: CampaignId) -> Response:
    with unit(request) as u:
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
                "today": dt.date.today(),
                "title": shown.campaign.name,
            },
        )


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
        shown = one(u.db, u.who.viewer, campaign_id)
        return CampaignDetail(
            **_out(shown).model_dump(),
            by_population=_groups(shown.status.populations),
            by_school=_groups(shown.status.schools),
            withdrawn=shown.status.withdrawn,
        )
