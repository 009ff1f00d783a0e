"""``POST /api/v1/decide``: the gateway's answer for approved platforms and other systems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from chaperone.common.addresses import normalize_account
from chaperone.gateway.decide import Decider, postfix_action

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


def create_app(decider: Callable[[], Decider]) -> FastAPI:
    """The decision API; ``decider`` returns the Decider in force (it is swapped on reload)."""
    app = FastAPI(title="Chaperone gateway", version="1",
                  description="Policy 9052 decisions for approved platforms and other systems.")

    @app.post("/api/v1/decide", response_model=DecideResponse)
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
