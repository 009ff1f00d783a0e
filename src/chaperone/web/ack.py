"""The public acknowledgment page, ``/ack/{token}`` (Policy 9052 §D): no sign-in, the private
link is the credential.

Whoever holds a notice's link reads the policy version of its campaign and acknowledges it,
once. The page shows the person's given name and nothing else about them; a link that is
not (or no longer) valid answers 404 with a page that says only that. There is no session
to bind a CSRF token to, so the form carries an HMAC of the link's token under an
application secret instead. Every answer under ``/ack/`` has ``Referrer-Policy:
no-referrer`` and ``Cache-Control: no-store`` (see ``app.py``), and the request log shows
``/ack/…`` in place of the token, so the link leaves the browser only to this server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from chaperone.acknowledge import campaigns
from chaperone.acknowledge.campaigns import Landing
from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.policy.models import PackSpec
from chaperone.store.secrets import app_secret
from chaperone.web import auth
from chaperone.web.render import render
from chaperone.web.unit import store

PREFIX = "/ack/"
FORM_SECRET = "ack-form"
FORM_FIELD = "form_token"
LONGEST_TOKEN = 64  # tokens are 32 characters; anything much longer is not one
GONE = "This link is not valid"
GONE_DETAIL = (
    "The link may be mistyped, or it is no longer in use. "
    "Please contact your school office for a new one."
)
FORGED = "This form did not come from your link"
FORGED_DETAIL = "Please open the link from your message again and acknowledge from there."
NOT_READ = "Please tick the box to say that you have read the policy, then acknowledge."

router = APIRouter(include_in_schema=False)


class RedactLinks(logging.Filter):
    """Replaces the token of ``/ack/`` paths in log records (uvicorn's request log passes the
    path as an argument)."""

    PATTERN = re.compile(r"/ack/[^/?#\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.PATTERN.sub("/ack/…", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self.PATTERN.sub("/ack/…", record.msg)
        return True


REDACT = RedactLinks()


def form_value(key: bytes, token: str) -> str:
    """The anti-forgery value of the page a token opens."""
    return hmac.new(key, f"{FORM_SECRET}\x1f{token}".encode(), hashlib.sha256).hexdigest()


def _form_ok(db: Session, token: str, given: str) -> bool:
    return auth.tokens_equal(form_value(app_secret(db, FORM_SECRET), token), given)


def _landing(db: Session, token: str) -> Landing | None:
    if not token or len(token) > LONGEST_TOKEN:
        return None
    try:
        return campaigns.landing(db, token)
    except NotFoundError:
        return None


def _policy(db: Session, landing: Landing) -> PackSpec | None:
    """The policy version the campaign asks people to acknowledge."""
    pack = campaigns.pack_of(db, landing.campaign)
    return pack.spec if pack else None


def _state(landing: Landing) -> str:
    if landing.notice.acknowledged_at is not None:
        return "already"
    return "closed" if landing.campaign.closed_at is not None else "form"


def _page(
    request: Request,
    db: Session,
    landing: Landing,
    token: str,
    state: str,
    status: int = 200,
    error: str = "",
) -> HTMLResponse:
    return render(
        request,
        "ack.html",
        None,
        {
            "state": state,
            "campaign": landing.campaign,
            "notice": landing.notice,
            "given_name": landing.given_name,
            "policy": _policy(db, landing),
            "form_field": FORM_FIELD,
            "form_value": form_value(app_secret(db, FORM_SECRET), token) if state == "form" else "",
            "title": landing.campaign.name,
            "error": error,
        },
        status=status,
    )


def _refusal(request: Request, status: int, heading: str, detail: str) -> HTMLResponse:
    return render(
        request,
        "ack_refused.html",
        None,
        {"heading": heading, "detail": detail, "title": heading},
        status=status,
    )


def _client(request: Request) -> str:
    return auth.client(request)


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_page(request: Request, token: str) -> Response:
    with store(request).transaction() as db:
        found = _landing(db, token)
        if found is None:
            return _refusal(request, 404, GONE, GONE_DETAIL)
        return _page(request, db, found, token, _state(found))


@router.post("/ack/{token}", response_class=HTMLResponse)
def acknowledge(
    request: Request,
    token: str,
    form_token: Annotated[str, Form(max_length=LONGEST_TOKEN * 2)] = "",
    read: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    with store(request).transaction() as db:
        found = _landing(db, token)
        if found is None:
            return _refusal(request, 404, GONE, GONE_DETAIL)
        if not _form_ok(db, token, form_token):
            return _refusal(request, 403, FORGED, FORGED_DETAIL)
        state = _state(found)
        if state != "form":
            return _page(request, db, found, token, state, 409 if state == "closed" else 200)
        if read != "yes":  # the browser requires the box; a script must tick it too
            return _page(request, db, found, token, "form", 400, error=NOT_READ)
        try:
            campaigns.acknowledge_link(db, token, client=_client(request))
        except ChaperoneError:  # closed since the check above
            return _page(request, db, found, token, "closed", 409)
        return _page(request, db, found, token, "thanks")
