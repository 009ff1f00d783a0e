"""Refusals shared by the review and case services."""

from __future__ import annotations

from chaperone.common.problems import ChaperoneError
from chaperone.review.scope import Viewer
from chaperone.users.roles import Permission


class Forbidden(ChaperoneError):
    """The viewer's role does not allow this."""


def require(viewer: Viewer, permission: Permission) -> None:
    """Raise Forbidden unless the viewer's role grants the permission."""
    if not viewer.can(permission):
        raise Forbidden(f"your role ({viewer.role}) may not {permission.value.replace('_', ' ')}")
