"""What every request to Chaperone's HTTP applications (the web application and the
gateway's decision API) passes before a handler sees it, and how refusals are told.

``StrictInput`` is an ASGI middleware in front of the whole application. It refuses, with a
4xx and before any route runs:

- a body larger than ``MAX_BODY`` (413);
- a JSON body that is not strict JSON: ``NaN``, ``Infinity``, a number too large for a
  float (``1e999999``), or a string holding a lone surrogate, which no UTF-8 text can
  carry (422). Python's ``json`` reads all of these by default.

``problems`` turns a validation error into what may be shown: where and what, never the
input itself (pydantic's errors carry it, and it may be unencodable or a megabyte long).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 2 * 1024 * 1024  # forms and API documents are small; 1 MB strings still reach 422
MAX_LOCATION = 8  # parts of an error's location shown
MAX_LABEL = 80  # characters of one part


class NotStrictJson(ValueError):
    """The body is JSON only to Python's lenient reader."""


def _constant(name: str) -> object:
    raise NotStrictJson(f"{name} is not JSON")


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotStrictJson("a number too large for the API")
    return value


def _check_strings(value: object) -> None:
    if isinstance(value, str):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise NotStrictJson("a string holds a lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def strict_json(body: bytes) -> object:
    """The document, or NotStrictJson (json.JSONDecodeError for plain syntax errors)."""
    document = json.loads(body, parse_constant=_constant, parse_float=_number)
    _check_strings(document)
    return document


class StrictInput:
    """The middleware described in the module docstring."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                detail = f"the request is larger than {MAX_BODY:,} bytes"
                await _refuse(send, 413, detail, page=not scope["path"].startswith("/api/"))
                return
        if body and _is_json(scope):
            try:
                strict_json(body)
            except NotStrictJson as exc:
                await _refuse(send, 422, f"the body is not valid JSON: {exc}", json_error=True)
                return
            except ValueError:
                pass  # plain syntax errors: FastAPI reports them where they are
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            kind = bytes(value).split(b";")[0].strip().lower()
            return kind == b"application/json" or kind.endswith(b"+json")
    return False


PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too large · Chaperone'
    '</title><link rel="stylesheet" href="/static/chaperone.css"></head><body><main>'
    '<h1>Too large</h1><p class="error" role="alert">{}</p><p><a href="/">Return to the '
    "dashboard</a>.</p></main></body></html>"
)


async def _refuse(
    send: Send, status: int, detail: str, *, json_error: bool = False, page: bool = False
) -> None:
    error: object = (
        [{"type": "json_invalid", "loc": ["body"], "msg": detail}] if json_error else detail
    )
    if page:  # before routing, so no template: a fixed page
        payload, kind = PAGE.format(detail).encode(), b"text/html; charset=utf-8"
    else:
        payload, kind = json.dumps({"detail": error}).encode(), b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def safe(text: object, limit: int = MAX_LABEL) -> str:
    """Text that can always be encoded and shown: unencodable characters escaped, cut short."""
    value = str(text)
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    value = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def problems(errors: Sequence[Any]) -> list[dict[str, object]]:
    """Validation errors as they may be shown: location, message and type, no input."""
    shown: list[dict[str, object]] = []
    for error in errors[:20]:
        known: dict[str, Any] = error if isinstance(error, dict) else {}
        location = tuple(known.get("loc", ()))[:MAX_LOCATION]
        shown.append(
            {
                "type": safe(known.get("type", "invalid")),
                "loc": [part if isinstance(part, int) else safe(part) for part in location],
                "msg": safe(known.get("msg", ""), 200),
            }
        )
    return shown


def sentence(errors: Sequence[Any]) -> str:
    """The validation errors as one line for a page."""
    parts = []
    for p in problems(errors):
        location = p["loc"] if isinstance(p["loc"], list) else []
        place = " ".join(str(x) for x in location if x not in ("body", "query", "path", "form"))
        parts.append(f"{place}: {p['msg']}" if place else str(p["msg"]))
    return "; ".join(parts) or "the request is not valid"
