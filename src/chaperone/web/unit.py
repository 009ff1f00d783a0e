"""One request's unit of work: a store transaction, the signed-in user, and the CSRF check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session

from chaperone.review.scope import Viewer
from chaperone.settings import Settings
from chaperone.store.db import Store
from chaperone.web import auth

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No live session: pages redirect to sign-in, the API answers 401."""


class CsrfRejected(Exception):
    """An unsafe request without the session's CSRF token."""


@dataclass
class Unit:
    """What a handler works with."""

    db: Session
    who: auth.SignedIn
    settings: Settings

    @property
    def viewer(self) -> Viewer:
        """The user as the services see them, with the session their reveals belong to."""
        user = self.who.user
        return Viewer(user.username, user.role, user.school_ids, self.who.session.token_hash)


def store(request: Request) -> Store:
    """The application's store."""
    opened: Store = request.app.state.store
    return opened


@contextmanager
def unit(request: Request, *, csrf: str | None = None) -> Iterator[Unit]:
    """Open a transaction for a signed-in request; unsafe methods must carry the CSRF token
    (form field or X-CSRF-Token header). Commits when the handler returns normally."""
    with store(request).transaction() as db:
        who = auth.lookup(db, request)
        if who is None:
            raise SignInRequired
        if request.method not in SAFE_METHODS:
            given = csrf or request.headers.get(auth.CSRF_HEADER)
            if not auth.csrf_ok(who.session.csrf_token, given):
                raise CsrfRejected
        yield Unit(db, who, request.app.state.settings)
