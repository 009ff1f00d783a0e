"""The sign-in pages: the password form, single sign-on and signing out (the pages of
``pages.py`` need a session these start)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chaperone.audit_log import service as trail
from chaperone.common.problems import NotFoundError
from chaperone.store.secrets import app_secret
from chaperone.users.service import authenticate
from chaperone.web import auth, oidc
from chaperone.web.render import render
from chaperone.web.schemas import Clean, CleanText
from chaperone.web.unit import store, unit

router = APIRouter(include_in_schema=False)
Csrf = auth.Csrf
NextPage = Annotated[CleanText, Query(max_length=2000)]  # safe_next judges the rest


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str) -> str:
    """Only same-site paths; anything else goes to the dashboard."""
    same_site = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if same_site and target.isprintable() else "/"


def _client(request: Request) -> str:
    return auth.client(request)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: NextPage = "/") -> Response:
    token = auth.new_login_csrf()
    response = render(
        request,
        "login.html",
        None,
        {"next": safe_next(next), "login_csrf": token, "error": "", "sso": _sso(request)},
    )
    _login_cookie(request, response, token)
    return response


def _sso(request: Request) -> str:
    """The single sign-on provider's name, when one is configured."""
    client: oidc.OidcClient | None = request.app.state.oidc
    return client.provider.name if client else ""


def _login_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        secure=request.app.state.settings.web_secure_cookies,
        samesite="strict",
        max_age=3600,
    )


@router.get("/login/oidc")
def oidc_start(request: Request, next: NextPage = "/") -> Response:
    client = _oidc(request)
    url, pending = client.start(str(request.url_for("oidc_callback")), safe_next(next))
    with store(request).transaction() as db:
        sealed = oidc.seal(pending, app_secret(db, "sign-in-key"))
    response = _see_other(url)
    response.set_cookie(
        oidc.PENDING_COOKIE,
        sealed,
        httponly=True,
        secure=request.app.state.settings.web_secure_cookies,
        samesite="lax",
        max_age=oidc.PENDING_SECONDS,
        path="/login/oidc",
    )
    return response


@router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(
    request: Request,
    code: Annotated[Clean, Query(max_length=2000)] = "",
    state: Annotated[Clean, Query(max_length=255)] = "",
    error: Annotated[Clean, Query(max_length=255)] = "",
) -> Response:
    client = _oidc(request)
    settings = request.app.state.settings
    if error or not code:
        raise oidc.SignInRefused(
            f"the identity provider did not sign you in ({error or 'no code'})"
        )
    with store(request).transaction() as db:
        pending = oidc.unseal(
            request.cookies.get(oidc.PENDING_COOKIE, ""), app_secret(db, "sign-in-key")
        )
        if not auth.tokens_equal(pending.state, state):
            raise oidc.SignInRefused(
                "the sign-in does not match the one this browser started; start again"
            )
        claims = client.finish(code, str(request.url_for("oidc_callback")), pending)
        user = client.user(db, claims)
        token, _ = auth.start(db, user, settings.web_session_hours)
        trail.record(
            db,
            actor=user.username,
            action="sign-in",
            object_type="user",
            object_id=user.username,
            detail=f"via {client.provider.name}",
        )
    response = _see_other(pending.next)
    _session_cookie(request, response, token)
    response.delete_cookie(oidc.PENDING_COOKIE, path="/login/oidc")
    return response


def _oidc(request: Request) -> oidc.OidcClient:
    client: oidc.OidcClient | None = request.app.state.oidc
    if client is None:
        raise NotFoundError("single sign-on is not configured")
    return client


def _session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        auth.COOKIE,
        token,
        httponly=True,
        secure=settings.web_secure_cookies,
        samesite="lax",
        max_age=int(settings.web_session_hours * 3600),
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[Clean, Form(max_length=255)],
    password: Annotated[CleanText, Form(max_length=1024)],
    csrf_token: Csrf = "",
    next: Annotated[CleanText, Form(max_length=2000)] = "/",
) -> Response:
    settings = request.app.state.settings
    expected = request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")
    if not expected or not auth.csrf_ok(expected, csrf_token):
        error = "the sign-in form expired; try again"
        user = None
    else:
        with store(request).transaction() as db:
            known = auth.known_browser(db, request, username)
            outcome = authenticate(db, username, password, _client(request), known_browser=known)
            user, error = outcome.user, outcome.reason
            if user is not None:
                token, _ = auth.start(db, user, settings.web_session_hours)
                response = _see_other(safe_next(next))
                auth.remember_browser(db, request, response, user.username)
                trail.record(
                    db,
                    actor=user.username,
                    action="sign-in",
                    object_type="user",
                    object_id=user.username,
                )
    if user is None:
        fresh = auth.new_login_csrf()
        refused = render(
            request,
            "login.html",
            None,
            {
                "next": safe_next(next),
                "login_csrf": fresh,
                "error": error,
                "username": username,
                "sso": _sso(request),
            },
            status=401,
        )
        _login_cookie(request, refused, fresh)
        return refused
    _session_cookie(request, response, token)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Csrf = "") -> Response:
    with unit(request, csrf=csrf_token) as u:
        auth.end(u.db, request.cookies.get(auth.COOKIE))
        trail.record(
            u.db,
            actor=u.who.user.username,
            action="sign-out",
            object_type="user",
            object_id=u.who.user.username,
        )
    response = _see_other("/login")
    response.delete_cookie(auth.COOKIE)
    return response
