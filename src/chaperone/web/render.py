"""Server-side rendering with Jinja2: autoescaping everywhere, and bidi isolation for any text
that came from records or the roster (names, subjects, addresses)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from chaperone.users.roles import Permission
from chaperone.web.auth import SignedIn

TEMPLATES = Path(__file__).parent / "templates"


def isolate(value: object) -> Markup:
    """Escaped text in a <bdi>, so right-to-left overrides cannot reorder the page around it."""
    return Markup("<bdi>{}</bdi>").format("" if value is None else value)


def when(value: dt.datetime | dt.date | None) -> str:
    """A timestamp as ``2026-09-14 13:02 UTC``."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["u"] = isolate
ENV.filters["when"] = when
ENV.globals["Permission"] = Permission


def render(
    request: Request,
    template: str,
    who: SignedIn | None,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page, with the signed-in user, their CSRF token and what their role allows."""
    page = ENV.get_template(template).render(
        request=request,
        who=who,
        user=who.user if who else None,
        viewer=who.viewer if who else None,
        csrf=who.session.csrf_token if who else "",
        **context,
    )
    return HTMLResponse(page, status_code=status)


def render_error(
    request: Request, status: int, message: str, who: SignedIn | None = None
) -> HTMLResponse:
    """An error page, with the site's navigation when someone is signed in."""
    return render(
        request,
        "error.html",
        who,
        {"status": status, "message": message, "title": _ERROR_TITLES.get(status, "Error")},
        status=status,
    )


_ERROR_TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "That did not work",
    413: "Too large",
    422: "That did not work",
    429: "Too many attempts",
}
