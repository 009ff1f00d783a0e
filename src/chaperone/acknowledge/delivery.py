"""Sending notices by e-mail through the district's own mail relay (SMTP).

Each notice is committed as sent right after the relay accepts it, so a run that is
interrupted (a crash, a relay that goes away) resumes where it stopped and nobody gets
the same notice twice, except at most the one message in flight. A recipient the relay
refuses is noted on its notice (``last_error``) and the run goes on. Bodies are never
logged: a notice carries a private link.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.acknowledge import campaigns, tokens
from chaperone.audit_log import service as trail
from chaperone.common.problems import ChaperoneError
from chaperone.policy.models import Pack
from chaperone.settings import Settings
from chaperone.store.db import Store
from chaperone.store.models import Campaign, Notice, Person, utcnow

log = logging.getLogger(__name__)
TIMEOUT = 60.0


@dataclass
class Sent:
    """What a send run did."""

    sent: int = 0
    refused: int = 0
    no_address: int = 0
    waiting: int = 0  # reminders not due yet


@dataclass(frozen=True)
class Letter:
    """One notice, ready to send."""

    notice_id: int
    to: str
    message: EmailMessage


def link(settings: Settings, token: str) -> str:
    """The acknowledgment page of a token."""
    return f"{_public_url(settings)}/ack/{token}"


def _public_url(settings: Settings) -> str:
    if not settings.public_url:
        raise ChaperoneError(
            "set CHAPERONE_PUBLIC_URL to the address people reach Chaperone's web "
            "application at (for the links in notices)"
        )
    return settings.public_url


def check(settings: Settings) -> None:
    """Every setting sending needs, or one error naming all that are missing."""
    missing = [
        f"CHAPERONE_{name.upper()}"
        for name in ("public_url", "mail_from", "smtp_host")
        if not getattr(settings, name)
    ]
    if missing:
        raise ChaperoneError(f"sending notices needs {', '.join(missing)} (see docs/settings.md)")


def send(
    store: Store,
    settings: Settings,
    campaign_id: int,
    *,
    remind: bool = False,
    limit: int | None = None,
    actor: str = "cli",
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Sent:
    """Send each notice not sent yet (with ``remind``: also again to those who have not
    acknowledged ``ack_remind_days`` after their last notice)."""
    check(settings)
    now = now or utcnow()
    result = Sent()
    with store.transaction() as session:
        campaign = campaigns.get(session, campaign_id)
        campaigns.sync(session, campaign)
        due = _due(session, campaign, remind, now - dt.timedelta(days=settings.ack_remind_days))
        result.no_address = sum(1 for n in due if n.address is None)
        result.waiting = _waiting(session, campaign, remind)
        chosen = [n.id for n in due if n.address is not None][:limit]
        pack = campaigns.pack_of(session, campaign)
        batch = _Batch(tokens.secret(session), campaign, pack, remind)
    with _relay(settings) as relay:
        for notice_id in chosen:
            with store.transaction() as session:
                letter = _letter(session, settings, batch, notice_id)
                if letter is None:  # acknowledged meanwhile
                    continue
                notice = session.get(Notice, notice_id)
                assert notice is not None
                try:
                    relay.send_message(letter.message, settings.mail_from, [letter.to])
                except smtplib.SMTPRecipientsRefused as exc:
                    notice.last_error = _refusal(exc)
                    result.refused += 1
                    log.warning("notice %s: the relay refused the recipient", notice_id)
                    continue
                notice.sent_at = utcnow()
                notice.send_count += 1
                notice.last_error = ""
                result.sent += 1
            if progress is not None:
                progress(1)
    if result.sent:
        with store.transaction() as session:
            trail.record(
                session,
                actor=actor,
                action="remind" if remind else "send",
                object_type="campaign",
                object_id=str(campaign_id),
                detail=f"{result.sent} notice(s) sent, {result.refused} refused",
            )
    return result


def _due(session: Session, campaign: Campaign, remind: bool, before: dt.datetime) -> list[Notice]:
    waiting = campaigns.outstanding(session, campaign)
    if not remind:
        return [n for n in waiting if n.sent_at is None]
    return [n for n in waiting if n.sent_at is None or _utc(n.sent_at) <= before]


def _waiting(session: Session, campaign: Campaign, remind: bool) -> int:
    if not remind:
        return 0
    return sum(1 for n in campaigns.outstanding(session, campaign) if n.sent_at is not None)


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite gives naive times back; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _refusal(exc: smtplib.SMTPRecipientsRefused) -> str:
    codes = [f"{code} {reply.decode(errors='replace')}" for code, reply in exc.recipients.values()]
    return "; ".join(codes)[:500]


@contextmanager
def _relay(settings: Settings) -> Iterator[smtplib.SMTP]:
    """A connection to the relay, signed in when a user name is set."""
    host, port = str(settings.smtp_host), settings.smtp_port
    try:
        relay: smtplib.SMTP
        if settings.smtp_security == "tls":
            relay = smtplib.SMTP_SSL(
                host, port, timeout=TIMEOUT, context=ssl.create_default_context()
            )
        else:
            relay = smtplib.SMTP(host, port, timeout=TIMEOUT)
        with relay:
            if settings.smtp_security == "starttls":
                relay.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                relay.login(settings.smtp_username, settings.smtp_password or "")
            yield relay
    except (OSError, smtplib.SMTPException) as exc:
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            raise
        raise ChaperoneError(
            f"mail relay {host}:{port}: {exc.__class__.__name__}: {exc}; "
            "notices sent before this are recorded, run the command again to go on"
        ) from exc


@dataclass(frozen=True)
class _Batch:
    """What every notice of one run shares, read once."""

    key: bytes
    campaign: Campaign
    pack: Pack | None
    remind: bool


def _letter(session: Session, settings: Settings, batch: _Batch, notice_id: int) -> Letter | None:
    notice = session.get(Notice, notice_id)
    if notice is None or notice.acknowledged_at is not None or notice.address is None:
        return None
    person = session.scalar(select(Person).where(Person.person_id == notice.person_id))
    token = tokens.derive(batch.key, batch.campaign.id, notice.person_id, notice.nonce)
    return Letter(
        notice.id,
        notice.address,
        compose(
            settings,
            batch.campaign,
            batch.pack,
            notice.address,
            given_name=person.given_name if person else "",
            url=link(settings, token),
            remind=batch.remind and notice.sent_at is not None,
        ),
    )


def compose(
    settings: Settings,
    campaign: Campaign,
    pack: Pack | None,
    to: str,
    *,
    given_name: str,
    url: str,
    remind: bool = False,
) -> EmailMessage:
    """The notice: what the policy is, the link to acknowledge it, and by when."""
    title = pack.spec.title if pack else f"Policy {campaign.policy}"
    message = EmailMessage()
    message["From"] = str(settings.mail_from)
    message["To"] = to
    message["Subject"] = (
        f"{'Reminder: p' if remind else 'P'}lease acknowledge Board Policy {campaign.policy}"
        f" ({title})"
    )
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=str(settings.mail_from).rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    greeting = f"Dear {given_name}," if given_name else "Hello,"
    summary = _section_text(pack, "A")
    message.set_content(
        "\n".join(
            [
                greeting,
                "",
                f"The district asks everyone it works with to read Board Policy "
                f'{campaign.policy}, "{title}" (version {campaign.policy_version}), and '
                f"to confirm that they have, by {campaign.due_on:%d %B %Y}.",
                "",
                *([summary, ""] if summary else []),
                "Read the policy and acknowledge it here (the link is yours alone):",
                url,
                "",
                f"{campaign.name}",
            ]
        )
    )
    return message


def _section_text(pack: Pack | None, section: str) -> str:
    """A section's text, or nothing when the pack has no such section."""
    if pack is None:
        return ""
    try:
        return pack.section(section).text.strip()
    except KeyError:
        return ""
