"""The FastAPI application: pages, the JSON API, static assets, error handling and headers."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from chaperone.common import strict_input as guard
from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.review.access import Forbidden
from chaperone.settings import Settings
from chaperone.store.db import Store, open_store
from chaperone.users.service import Throttled
from chaperone.web import ack, api, auth, campaigns, oidc, outstanding, pages, session_api, sign_in
from chaperone.web.render import render_error
from chaperone.web.unit import CsrfRejected, SignInRequired

log = logging.getLogger("chaperone.web")
STATIC = Path(__file__).parent / "static"
STORE_BUSY = "the store is busy; try again in a moment"
STORE_AWAY = "the store is not available; the administrator can see why in the server log"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


# Every route of the application (pages first, then the API), in the order they are tried.
ROUTERS = (
    sign_in.router,
    pages.router,
    campaigns.pages,
    outstanding.pages,
    ack.router,
    session_api.router,
    api.router,
    campaigns.api,
    outstanding.api,
)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _signed_in(request: Request) -> auth.SignedIn | None:
    """Who is signed in, for the navigation of an error page (None when it cannot be told)."""
    if _is_api(request) or request.url.path.startswith((ack.PREFIX, "/static/")):
        return None
    try:
        with request.app.state.store.transaction() as db:
            who = auth.lookup(db, request)
            if who is not None:
                db.expunge_all()
            return who
    except Exception:  # an error page must render even when the store does not answer
        return None


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The web application over this store (opened from the settings when not given)."""
    app = FastAPI(
        title="Chaperone",
        version="1",
        summary="Board Policy 9052 review, cases and audit trail",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.store = store or open_store(settings)
    provider = oidc.Provider.from_settings(settings)
    app.state.oidc = oidc.OidcClient(provider) if provider else None
    app.add_middleware(guard.StrictInput)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    # `serve --access-log` must not write down the private links of acknowledgment notices
    logging.getLogger("uvicorn.access").addFilter(ack.REDACT)

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        public_link = request.url.path.startswith(ack.PREFIX)  # the path is a credential
        response.headers["Referrer-Policy"] = "no-referrer" if public_link else "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def failure(request: Request, status: int, message: str) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": guard.safe(message, 500)}, status_code=status)
        return render_error(request, status, guard.safe(message, 500), _signed_in(request))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": guard.problems(exc.errors())}, status_code=422)
        return render_error(request, 422, guard.sentence(exc.errors()), _signed_in(request))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = {404: "there is no such page", 405: "that page does not take this request"}
        shown = message.get(exc.status_code, str(exc.detail))
        answer = failure(request, exc.status_code, shown if not _is_api(request) else exc.detail)
        for name, value in (exc.headers or {}).items():
            answer.headers[name] = value
        return answer

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _exc: SignInRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf(request: Request, _exc: CsrfRejected) -> Response:
        return failure(
            request, 403, "the form expired or did not come from Chaperone; reload and try again"
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return failure(request, 403, str(exc))

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return failure(request, 404, str(exc))

    @app.exception_handler(oidc.SignInRefused)
    async def sso_refused(request: Request, exc: oidc.SignInRefused) -> Response:
        return failure(request, 403, str(exc))

    @app.exception_handler(Throttled)
    async def throttled(request: Request, exc: Throttled) -> Response:
        answer = failure(request, 429, str(exc))
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer

    @app.exception_handler(outstanding.Closed)
    async def closed(request: Request, exc: outstanding.Closed) -> Response:
        return failure(request, 409, str(exc))

    @app.exception_handler(OperationalError)
    async def store_failed(request: Request, exc: OperationalError) -> Response:
        # one line for the operator (never the statement or its parameters), 503 for the user
        reason = (str(exc.orig).strip().splitlines() or ["no reason given"])[0]
        busy = "locked" in reason or "busy" in reason
        log.error("store %s: %s", "busy" if busy else "unavailable", reason[:200])
        shown = STORE_BUSY if busy else STORE_AWAY
        answer = (JSONResponse({"detail": shown}, status_code=503) if _is_api(request)
                  else render_error(request, 503, shown, None))  # no store: no navigation
        answer.headers["Retry-After"] = "5"
        return answer

    @app.exception_handler(ChaperoneError)
    async def refused(request: Request, exc: ChaperoneError) -> Response:
        return failure(request, 400, str(exc))

    return app


def from_environment() -> FastAPI:
    """The application from CHAPERONE_* variables (what each `serve --workers N` process runs)."""
    return create_app(Settings.from_environment(os.environ))
