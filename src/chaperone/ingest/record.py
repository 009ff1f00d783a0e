"""Helpers connectors use to build records (the record itself: ``chaperone.lake.schema``)."""

from __future__ import annotations

import datetime as dt

from chaperone.lake.schema import stable_id


def email_id(
    message_id: str | None,
    sender: str,
    recipients: tuple[str, ...],
    occurred_at: dt.datetime,
    subject: str | None,
    body_digest: str = "",
) -> str:
    """Id of an e-mail: its Message-ID when it has one, else its envelope, date and body.

    The body digest keeps two different messages with the same envelope apart, while
    the same message copied into two mailboxes (different trace headers) stays one.
    """
    if message_id:
        return stable_id("email", message_id)
    return stable_id(
        "email-content",
        sender,
        ",".join(sorted(recipients)),
        occurred_at.isoformat(),
        subject or "",
        body_digest,
    )


def utf8(text: str) -> str:
    """Text safe to store: undecodable bytes (surrogate escapes) become U+FFFD."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def clean_message_id(raw: str | None) -> str | None:
    """A Message-ID without angle brackets or surrounding space; None when empty."""
    if not raw:
        return None
    value = raw.strip().strip("<>").strip()
    return value or None
