"""Browser sessions (random token in a cookie, only its hash stored), CSRF tokens, and the
signed-in viewer as a request dependency."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from chaperone.cases.scope import Viewer
from chaperone.store.models import User, WebSession, utcnow

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
        """The user as the services see them."""
        return Viewer(self.user.username, self.user.role, self.user.school_ids)

    @property
    def revealed(self) -> set[str]:
        """Person ids whose names this session has revealed."""
        return set(filter(None, self.session.revealed.split(";")))

    def reveal(self, person_ids: list[str]) -> None:
        """Remember revealed names for the rest of this session."""
        self.session.revealed = ";".join(sorted(self.revealed | set(person_ids)))


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


def csrf_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the one sent."""
    return bool(given) and hmac.compare_digest(expected, given or "")


def new_login_csrf() -> str:
    """A token for the sign-in form, paired with a cookie (double submit)."""
    return secrets.token_urlsafe(32)


def user_by_name(db: Session, username: str) -> User | None:
    """A user by username."""
    return db.scalar(select(User).where(User.username == username.strip().lower()))
