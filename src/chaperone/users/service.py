"""Create users, check passwords (argon2id) and throttle repeated failed sign-ins."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from chaperone.common.problems import ChaperoneError
from chaperone.store.models import LoginFailure, Org, User, UserSchool, utcnow
from chaperone.users.roles import SCOPED_ROLES, Role

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD = 12
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = HASHER.hash("chaperone-timing-equaliser")


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
    """Too many failed sign-ins for this username or client; try again later."""


@dataclass(frozen=True)
class SignIn:
    """Outcome of a password check."""

    user: User | None
    reason: str = ""


def authenticate(session: Session, username: str, password: str, client: str) -> SignIn:
    """Check a password; record failures; refuse while too many recent failures exist."""
    username = username.strip().lower()
    since = utcnow() - FAILURE_WINDOW
    recent = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.at >= since)
        .where((LoginFailure.username == username) | (LoginFailure.client == client))
    )
    if (recent or 0) >= MAX_FAILURES:
        raise Throttled("too many failed sign-ins; wait 15 minutes and try again")
    user = session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None and user.active else None
    try:
        HASHER.verify(stored or _DUMMY_HASH, password)
        valid = stored is not None
    except (VerificationError, InvalidHashError):
        valid = False
    if not valid or user is None:
        session.add(LoginFailure(username=username, client=client[:64]))
        return SignIn(None, "wrong username or password")
    session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    if HASHER.check_needs_rehash(stored or ""):
        user.password_hash = HASHER.hash(password)
    return SignIn(user)


def set_password(session: Session, username: str, password: str) -> User:
    """Replace a user's password."""
    if len(password) < MIN_PASSWORD:
        raise ChaperoneError(f"the password must have at least {MIN_PASSWORD} characters")
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise ChaperoneError(f'no user "{username}"')
    user.password_hash = HASHER.hash(password)
    return user
