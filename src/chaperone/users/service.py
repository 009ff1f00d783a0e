"""Create users, check passwords (argon2id) and slow down repeated failed sign-ins (a back-off
per client address and per account, never a lock-out)."""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from chaperone.common.problems import ChaperoneError
from chaperone.store.models import LoginFailure, Org, User, UserSchool, WebSession, utcnow
from chaperone.users.roles import SCOPED_ROLES, Role

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD = 12
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
# Verifying against this keeps an unknown username as slow as a wrong password.
@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when there is no user, so both cost the same time
    (made on first use: an argon2 hash takes a fifth of a second to make)."""
    return HASHER.hash("chaperone-timing-equaliser")


def create_user(
    session: Session,
    *,
    username: str,
    password: str | None,
    role: str,
    display_name: str | None = None,
    school_ids: tuple[str, ...] = (),
) -> User:
    """Add a user; a principal needs at least one school, which must be a known org."""
    username = username.strip().lower()
    if not username:
        raise ChaperoneError("a username is required")
    try:
        chosen = Role(role)
    except ValueError:
        raise ChaperoneError(
            f'unknown role "{role}" (one of {", ".join(r.value for r in Role)})'
        ) from None
    if chosen in SCOPED_ROLES and not school_ids:
        raise ChaperoneError(f"a {chosen.value} needs at least one --school")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ChaperoneError(f"the password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ChaperoneError(f'user "{username}" already exists')
    known = set(session.scalars(select(Org.org_id).where(Org.org_id.in_(school_ids))))
    unknown = [s for s in school_ids if s not in known]
    if unknown:
        raise ChaperoneError(f"unknown school {', '.join(unknown)} (import the roster first)")
    user = User(
        username=username,
        display_name=display_name or username,
        role=chosen.value,
        password_hash=HASHER.hash(password) if password is not None else None,
        schools=[UserSchool(org_id=s) for s in dict.fromkeys(school_ids)],
    )
    session.add(user)
    session.flush()
    return user


class Throttled(ChaperoneError):
    """Too many recent failed sign-ins for this username or client: wait, then try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignIn:
    """Outcome of a password check."""

    user: User | None
    reason: str = ""


@dataclass(frozen=True)
class BackOff:
    """Failures allowed freely in the window, then a delay that doubles with each failure
    after the last one, up to a ceiling. Nothing is ever locked: once the delay since the
    last failure has passed, the next attempt is checked."""

    free: int
    first_delay: float
    ceiling: float

    def wait(self, failures: int) -> float:
        """Seconds to wait after the last of ``failures`` failures (0 while still free)."""
        if failures < self.free:
            return 0.0
        return min(self.first_delay * 2.0 ** (failures - self.free), self.ceiling)


# Per client address: an attacker's own address slows down the most.
PER_CLIENT = BackOff(free=MAX_FAILURES, first_delay=4.0, ceiling=FAILURE_WINDOW.total_seconds())
# Per account, from anywhere: short enough that the real user, from any address, gets in
# within minutes, and a browser they signed in with before is not held back at all.
PER_ACCOUNT = BackOff(free=MAX_FAILURES, first_delay=2.0, ceiling=300.0)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _held(session: Session, rule: BackOff, where: ColumnElement[bool], now: dt.datetime) -> float:
    """Seconds still to wait under one back-off rule (0: go ahead)."""
    count, last = session.execute(
        select(func.count(), func.max(LoginFailure.at))
        .where(LoginFailure.at >= now - FAILURE_WINDOW)
        .where(where)
    ).one()
    if not count or last is None:
        return 0.0
    return max(0.0, (_aware(last) + dt.timedelta(seconds=rule.wait(count)) - now).total_seconds())


def check_throttle(
    session: Session, username: str, client: str, *, known_browser: bool = False
) -> None:
    """Throttled (with the seconds to wait) while this client or this account must wait.

    A browser that signed in as this user before (``known_browser``) is not held back:
    someone else's failures cannot keep the real user out of their own browser.
    """
    if known_browser:
        return
    now = utcnow()
    wait = max(
        _held(session, PER_CLIENT, LoginFailure.client == client[:64], now),
        _held(session, PER_ACCOUNT, LoginFailure.username == username, now),
    )
    if wait > 0:
        seconds = math.ceil(wait)
        raise Throttled(f"too many failed sign-ins; wait {seconds} seconds and try again", seconds)


def authenticate(
    session: Session, username: str, password: str, client: str, *, known_browser: bool = False
) -> SignIn:
    """Check a password; record failures; refuse while a back-off is running."""
    username = username.strip().lower()
    check_throttle(session, username, client, known_browser=known_browser)
    user = session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None and user.active else None
    try:
        HASHER.verify(stored or _dummy_hash(), password)
        valid = stored is not None
    except (VerificationError, InvalidHashError):
        valid = False
    if not valid or user is None:
        session.add(LoginFailure(username=username[:255], client=client[:64]))
        return SignIn(None, "wrong username or password")
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    if HASHER.check_needs_rehash(stored or ""):
        user.password_hash = HASHER.hash(password)
    return SignIn(user)


def unlock(session: Session, username: str) -> int:
    """Forget a user's failed sign-ins (their back-off ends now); how many there were."""
    name = username.strip().lower()
    if session.scalar(select(User.id).where(User.username == name)) is None:
        raise ChaperoneError(f'no user "{username}"')
    failures = session.scalar(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.username == name)
    )
    session.execute(delete(LoginFailure).where(LoginFailure.username == name))
    return failures or 0


def set_password(session: Session, username: str, password: str) -> User:
    """Replace a user's password and end every session they have open."""
    if len(password) < MIN_PASSWORD:
        raise ChaperoneError(f"the password must have at least {MIN_PASSWORD} characters")
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise ChaperoneError(f'no user "{username}"')
    user.password_hash = HASHER.hash(password)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user
