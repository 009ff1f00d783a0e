"""The policy library: the built-in packs and a district's own, and which is in force when."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.common.problems import ChaperoneError, NotFoundError
from chaperone.policy import loader
from chaperone.policy.models import Pack
from chaperone.store.models import PolicyPackVersion


def versions(session: Session) -> list[Pack]:
    """Every pack version, built-in and imported, oldest effective date first."""
    stored = [
        loader.parse(row.document, source=f"{row.pack_id}@{row.version}")
        for row in session.scalars(select(PolicyPackVersion))
    ]
    by_key = {(p.spec.policy, p.spec.version): p for p in [*loader.builtin(), *stored]}
    return sorted(by_key.values(), key=lambda p: (p.spec.effective_on, p.spec.version))


def in_force(session: Session, on: dt.date, *, policy: str = "9052") -> Pack:
    """The version of a policy in force on a date (the latest effective on or before it)."""
    candidates = [
        p for p in versions(session) if p.spec.policy == policy and p.spec.effective_on <= on
    ]
    if not candidates:
        raise NotFoundError(f"no version of policy {policy} was in force on {on}")
    return candidates[-1]


def import_file(session: Session, path: Path) -> bool:
    """Add a district's pack version; False when that exact version is already there."""
    pack = loader.load_file(path)
    digest = hashlib.sha256(pack.text.encode()).hexdigest()
    for existing in versions(session):
        if (existing.spec.policy, existing.spec.version) == (pack.spec.policy, pack.spec.version):
            if hashlib.sha256(existing.text.encode()).hexdigest() == digest:
                return False
            raise ChaperoneError(
                f"{path.name}: policy {pack.spec.policy} version {pack.spec.version} already "
                "exists with different content; give the new text a new version"
            )
    session.add(
        PolicyPackVersion(
            pack_id=pack.spec.policy,
            version=pack.spec.version,
            effective_on=pack.spec.effective_on,
            sha256=digest,
            document=pack.text,
        )
    )
    return True
