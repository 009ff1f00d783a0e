"""The API's session: sign in, sign out, and who is signed in (``/api/v1/session``, ``/me``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from chaperone.audit_log import service as trail
from chaperone.users.service import authenticate
from chaperone.web import auth
from chaperone.web.schemas import ERRORS, Credentials, Me, Problem
from chaperone.web.unit import store, unit

router = APIRouter(prefix="/api/v1", tags=["v1"], responses=ERRORS)


@router.post(
    "/session",
    response_model=Me,
    responses={
        401: {"description": "wrong username or password"},
        429: {"model": Problem, "description": "too many failed sign-ins"},
    },
)
def sign_in(request: Request, response: Response, body: Credentials) -> Me | Response:
    """Sign in; sets the session cookie and returns the CSRF token for unsafe requests."""
    settings = request.app.state.settings
    with store(request).transaction() as db:
        known = auth.known_browser(db, request, body.username)
        outcome = authenticate(
            db, body.username, body.password, auth.client(request), known_browser=known
        )
        if outcome.user is None:
            from fastapi.responses import JSONResponse

            return JSONResponse({"detail": outcome.reason}, status_code=401)
        user = outcome.user
        token, row = auth.start(db, user, settings.web_session_hours)
        trail.record(
            db, actor=user.username, action="sign-in", object_type="user", object_id=user.username
        )
        me = Me(
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            school_ids=list(user.school_ids),
            csrf_token=row.csrf_token,
        )
        auth.remember_browser(db, request, response, user.username)
    response.set_cookie(
        auth.COOKIE,
        token,
        httponly=True,
        secure=settings.web_secure_cookies,
        samesite="lax",
        max_age=int(settings.web_session_hours * 3600),
    )
    return me


@router.delete("/session", status_code=204)
def sign_out(request: Request, response: Response) -> None:
    """Sign out (ends the session)."""
    with unit(request) as u:
        auth.end(u.db, request.cookies.get(auth.COOKIE))
        trail.record(
            u.db,
            actor=u.who.user.username,
            action="sign-out",
            object_type="user",
            object_id=u.who.user.username,
        )
    response.delete_cookie(auth.COOKIE)


@router.get("/me", response_model=Me)
def me(request: Request) -> Me:
    """Who is signed in, with the CSRF token."""
    with unit(request) as u:
        user = u.who.user
        return Me(
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            school_ids=list(user.school_ids),
            csrf_token=u.who.session.csrf_token,
        )
