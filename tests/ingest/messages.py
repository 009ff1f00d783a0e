"""Small RFC 5322 messages for tests, built in code (no third-party data copied)."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP


def message(
    *,
    sender: str = "Dana Ito <Dana.Ito@Example.k12.ny.us>",
    to: str = "kid@students.example.k12.ny.us",
    cc: str | None = None,
    date: str | None = "Mon, 14 Sep 2026 09:02:11 -0400",
    message_id: str | None = "<abc123@example.k12.ny.us>",
    subject: str = "Field trip",
    image: bool = False,
    pdf: bool = False,
    extra: dict[str, str] | None = None,
) -> bytes:
    """A message with optional attachments, as bytes with CRLF line endings."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if date:
        msg["Date"] = date
    if message_id:
        msg["Message-ID"] = message_id
    msg["Subject"] = subject
    for name, value in (extra or {}).items():
        msg[name] = value
    msg.set_content("The bus leaves at 8.")
    if image:
        msg.add_attachment(
            b"\x89PNG\r\n\x1a\nfake", maintype="image", subtype="png", filename="team.png"
        )
    if pdf:
        msg.add_attachment(
            b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="permission.pdf"
        )
    return msg.as_bytes(policy=SMTP)


def mbox(*messages: bytes) -> bytes:
    """An mbox (mboxrd) holding the messages."""
    out = b""
    for data in messages:
        body = data.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
        out += b"From MAILER-DAEMON Mon Sep 14 13:02:11 2026\n" + body.rstrip(b"\n") + b"\n\n"
    return out
