"""``POST /api/v1/decide``: the gateway's answer for approved platforms and other systems.

The answer tells whether an address belongs to a student, so only callers holding the API
key (``decide_api_key_file``) are answered: ``Authorization: Bearer <key>``, compared as
bytes in constant time. Without the header, or with another key, the answer is 401; with no
key configured the endpoint is not started (``gateway --http`` refuses), and an app built
without one answers 503. The Postfix policy protocol is not affected: Postfix connects to
its own socket, which only the mail system can reach.
"""

from __future__ import annotations

import datetime as dt
import hmac
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from chaperone.common import strict_input
from chaperone.common.addresses import normalize_account
from chaperone.common.problems import ChaperoneError
from chaperone.gateway.decide import Decider, postfix_action
from chaperone.settings import Settings

SHORTEST_KEY = 32  # characters of the key file (e.g. `openssl rand -hex 32` gives 64)
BEARER = HTTPBearer(auto_error=False, description="The key in decide_api_key_file")

ChannelType = Literal["email", "text_message", "voicemail", "image_sharing", "chat", "call",
                      "social_post", "social_message"]


class DecideRequest(BaseModel):
    """A communication about to be sent."""

    sender: str = Field(min_length=1, max_length=320)
    recipients: list[str] = Field(min_length=1, max_length=500)
    channel_type: ChannelType = "email"
    platform: str | None = Field(default=None, pattern=r"^[a-z0-9-]+$")
    occurred_at: dt.datetime | None = None


class DecideResponse(BaseModel):
    """The decision, the rule behind it, and the text to show the sender."""

    action: Literal["REJECT", "HOLD", "PREPEND", "WARN", "DUNNO"]
    rule_id: str | None
    reason: str
    postfix_action: str


def decide_api_key(settings: Settings) -> bytes | None:
    """The decision API's key from its file, or None when ``decide_api_key_file`` is unset."""
    path = settings.decide_api_key_file
    if path is None:
        return None
    return read_key(path)


def read_key(path: Path) -> bytes:
    """A key file's key: one line of at least SHORTEST_KEY characters, readable by its owner
    only."""
    try:
        mode = path.stat().st_mode
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ChaperoneError(f"{path}: cannot read the decision API key ({exc.strerror})") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ChaperoneError(f"{path}: other users may read the key file; chmod 600 it")
    if len(key) < SHORTEST_KEY or b"\n" in key:
        raise ChaperoneError(f"{path}: the key must be one line of {SHORTEST_KEY}+ characters")
    return key


def create_app(decider: Callable[[], Decider], api_key: bytes | None = None) -> FastAPI:
    """The decision API; ``decider`` returns the Decider in force (it is swapped on reload);
    only requests carrying ``api_key`` are answered."""
    app = FastAPI(title="Chaperone gateway", version="1",
                  description="Policy 9052 decisions for approved platforms and other systems.")
    app.add_middleware(strict_input.StrictInput)  # NaN, 1e999999, lone surrogates: 422

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": strict_input.problems(exc.errors())}, status_code=422)

    def caller(
        given: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> None:
        if api_key is None:
            raise HTTPException(status_code=503, detail="no decide_api_key_file is configured")
        sent = given.credentials.encode("utf-8", "surrogateescape") if given else b""
        if not sent or not hmac.compare_digest(sent, api_key):
            raise HTTPException(status_code=401, detail="the API key is missing or wrong",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.post("/api/v1/decide", response_model=DecideResponse,
              responses={401: {"description": "the API key is missing or wrong"}},
              dependencies=[Depends(caller)])
    def decide(request: DecideRequest) -> DecideResponse:
        current = decider()
        try:
            sender = normalize_account(request.sender, current.inputs.region)
            recipients = [normalize_account(r, current.inputs.region)
                          for r in request.recipients]
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        when = request.occurred_at
        if when is not None and when.tzinfo is None:
            raise HTTPException(status_code=422, detail="occurred_at needs a time zone offset")
        decision = current.decide_record(sender, recipients, channel_type=request.channel_type,
                                         platform=request.platform, now=when)
        return DecideResponse(action=decision.action,
                              rule_id=decision.rule_id, reason=decision.reason,
                              postfix_action=postfix_action(decision))

    return app
