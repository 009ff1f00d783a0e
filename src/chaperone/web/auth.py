"""Browser sessions (random token in a cookie, only its hash stored), CSRF tokens, and the
signed-in viewer as a request dependency."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Form, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from chaperone.review.scope import Viewer
from chaperone.store.models import User, WebSession, utcnow
from chaperone.store.secrets import app_secret
from chaperone.web.schemas import Clean

COOKIE = "chaperone_session"
LOGIN_CSRF_COOKIE = "chaperone_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SignedIn:
    """The request's user and session."""

    user: User
    session: WebSession

    @property
    def viewer(self) -> Viewer:
        """The user as the services see them (their reveals belong to this session)."""
        return Viewer(
            self.user.username, self.user.role, self.user.school_ids, self.session.token_hash
        )


def start(db: Session, user: User, hours: float) -> tuple[str, WebSession]:
    """A new session for the user; returns the cookie token (never stored in clear)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.execute(delete(WebSession).where(WebSession.expires_at < now))
    row = WebSession(
        token_hash=_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + dt.timedelta(hours=hours),
    )
    db.add(row)
    return token, row


def end(db: Session, token: str | None) -> None:
    """Forget a session (sign out)."""
    if token:
        db.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def lookup(db: Session, request: Request) -> SignedIn | None:
    """The signed-in user for this request's cookie, if the session is live and the user active."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    row = db.get(WebSession, _hash(token))
    if row is None or _aware(row.expires_at) < utcnow():
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return SignedIn(user, row)


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def tokens_equal(expected: str | bytes, given: str | bytes | None) -> bool:
    """Constant-time comparison of a secret with what was sent, as UTF-8 bytes: every token
    comparison goes through here (compare_digest refuses non-ASCII str, with a 500)."""
    if not given or not expected:
        return False

    def raw(value: str | bytes) -> bytes:
        return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")

    return hmac.compare_digest(raw(expected), raw(given))


def csrf_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the one sent."""
    return tokens_equal(expected, given)


def client_address(request: Request, trusted: tuple[str, ...]) -> str:
    """The client's address: the peer's, or, when the peer is a configured proxy, the last
    address in X-Forwarded-For that is not itself a trusted proxy."""
    peer = request.client.host if request.client else ""
    if not trusted or not _within(peer, trusted):
        return peer or "unknown"
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _valid_ip(hop):
            break  # a proxy never writes this: stop at the last address it vouches for
        if not _within(hop, trusted):
            return hop
        peer = hop
    return peer or "unknown"


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _within(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def flash(row: WebSession, message: str) -> None:
    """A message for the next page this session shows (success banners)."""
    row.flash = message[:500]


def take_flash(row: WebSession) -> str:
    """The session's pending message, once."""
    message, row.flash = row.flash or "", ""
    return message


def new_login_csrf() -> str:
    """A token for the sign-in form, paired with a cookie (double submit)."""
    return secrets.token_urlsafe(32)


def user_by_name(db: Session, username: str) -> User | None:
    """A user by username."""
    return db.scalar(select(User).where(User.username == username.strip().lower()))


KNOWN_COOKIE = "chaperone_known"
KNOWN_DAYS = 365
KNOWN_SECRET = "known-browsers"


def _known_mac(key: bytes, username: str) -> str:
    return hmac.new(key, f"known\x1f{username}".encode(), hashlib.sha256).hexdigest()


def known_browser(db: Session, request: Request, username: str) -> bool:
    """Whether this browser signed in as ``username`` before (a cookie only this server can
    make): such a browser is not held back by failures of other clients on the account."""
    values = (request.cookies.get(KNOWN_COOKIE) or "").split(",")
    expected = _known_mac(app_secret(db, KNOWN_SECRET), username.strip().lower())
    return any(tokens_equal(expected, v.strip()) for v in values if v.strip())


def remember_browser(db: Session, request: Request, response: Response, username: str) -> None:
    """Mark this browser as one the user signs in with (kept for a year, up to 5 users)."""
    mine = _known_mac(app_secret(db, KNOWN_SECRET), username)
    values = [v for v in (request.cookies.get(KNOWN_COOKIE) or "").split(",") if v and v != mine]
    response.set_cookie(
        KNOWN_COOKIE,
        ",".join([mine, *values[:4]]),
        httponly=True,
        secure=request.app.state.settings.web_secure_cookies,
        samesite="strict",
        max_age=KNOWN_DAYS * 86400,
    )


def client(request: Request) -> str:
    """The client address, believing X-Forwarded-For only from the configured proxies."""
    return client_address(request, request.app.state.settings.trusted_proxies)


Csrf = Annotated[Clean, Form(alias=CSRF_FIELD, max_length=128)]
"""The CSRF token field of every signed-in form."""
