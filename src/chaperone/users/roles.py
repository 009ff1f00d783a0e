"""Roles and what each may do: one table, read by every page and API route."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The roles a user can hold (one each)."""

    ADMIN = "admin"
    COMPLIANCE_OFFICER = "compliance_officer"
    HR = "hr"
    PRINCIPAL = "principal"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


class Permission(StrEnum):
    """Everything the web application lets someone do."""

    VIEW_FINDINGS = "view_findings"
    REVIEW_FINDINGS = "review_findings"
    REVEAL_NAMES = "reveal_names"
    VIEW_CASES = "view_cases"
    MANAGE_CASES = "manage_cases"
    VIEW_PEOPLE = "view_people"
    VIEW_REGISTRY = "view_registry"
    VIEW_TRAIL = "view_trail"
    EDIT_CATALOGUE = "edit_catalogue"
    ACCESS_REPORT = "access_report"
    VIEW_CAMPAIGNS = "view_campaigns"
    MANAGE_CAMPAIGNS = "manage_campaigns"
    RUN_CAMPAIGNS = "run_campaigns"


_ALL = frozenset(Permission)
_READ = frozenset(
    {
        Permission.VIEW_FINDINGS,
        Permission.VIEW_CASES,
        Permission.VIEW_PEOPLE,
        Permission.VIEW_REGISTRY,
        Permission.VIEW_CAMPAIGNS,
    }
)

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: _ALL,
    Role.COMPLIANCE_OFFICER: _ALL,
    Role.HR: _READ | {Permission.REVEAL_NAMES, Permission.MANAGE_CASES},
    Role.PRINCIPAL: _READ
    | {
        Permission.REVIEW_FINDINGS,
        Permission.REVEAL_NAMES,
        Permission.MANAGE_CASES,
        Permission.ACCESS_REPORT,
        Permission.MANAGE_CAMPAIGNS,
    },
    Role.REVIEWER: frozenset(
        {
            Permission.VIEW_FINDINGS,
            Permission.REVIEW_FINDINGS,
            Permission.REVEAL_NAMES,
            Permission.VIEW_REGISTRY,
        }
    ),
    Role.AUDITOR: _READ | {Permission.VIEW_TRAIL, Permission.ACCESS_REPORT},
}

SCOPED_ROLES = frozenset({Role.PRINCIPAL})
"""Roles that see only the people, findings, cases and campaign progress of their own
schools (and list or record acknowledgments only for notices of those schools)."""


def allows(role: str, permission: Permission) -> bool:
    """Whether a user of this role may do this."""
    try:
        return permission in GRANTS[Role(role)]
    except ValueError:
        return False
