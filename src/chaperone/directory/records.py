"""What an importer hands the directory: the desired state of the people in one file."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from chaperone.common.problems import Problem

TEXT_LIMIT = 255
"""Ids and names longer than this are refused at import (the store's columns hold 255)."""
ID_FORBIDDEN = frozenset("/\\")
"""Characters no district id may hold: an id is one segment of a page's address."""


def id_problem(value: str) -> str | None:
    """Why ``value`` is not a district id, or None: the roster's id grammar, shared by the
    importers and every web form, query and address that names a person, org or finding.

    An id is 1 to 255 characters of printable text (no control or format characters, so
    no NUL and no right-to-left override), without surrounding spaces, without ``/`` or
    ``\\``, and not ``.`` or ``..``.
    """
    if not value:
        return "is empty"
    if len(value) > TEXT_LIMIT:
        return f"is longer than {TEXT_LIMIT} characters"
    if value != value.strip() or value in (".", ".."):
        return "is not an id (surrounding spaces, or . or ..)"
    if any(c in ID_FORBIDDEN or unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in value):
        return "holds a character ids may not hold (/, \\, a control or format character)"
    return None


def bad_ids(**values: str) -> list[str]:
    """A reason for each non-empty value that breaks the id grammar, by its column's name."""
    return [
        f"{name} {reason}"
        for name, value in values.items()
        if value and len(value) <= TEXT_LIMIT and (reason := id_problem(value))
    ]


def oversized(**values: str) -> list[str]:
    """A reason for each value longer than the store keeps, by its column's name."""
    return [
        f"{name} is longer than {TEXT_LIMIT} characters"
        for name, value in values.items()
        if len(value) > TEXT_LIMIT
    ]


@dataclass(frozen=True)
class OrgRecord:
    """An org as the roster describes it."""

    org_id: str
    name: str
    type: str
    parent_org_id: str | None
    active: bool = True


@dataclass(frozen=True)
class PersonRecord:
    """A person as one source describes them; accounts are (kind, normalised value)."""

    person_id: str
    population: str
    role: str
    given_name: str
    family_name: str
    grade: str | None = None
    org_ids: tuple[str, ...] = ()
    accounts: tuple[tuple[str, str], ...] = ()
    active: bool = True
    line: int | None = None


@dataclass
class Batch:
    """Everything one import file says, plus the problems found reading it.

    ``bulk`` batches are complete lists: people of the same source that they no
    longer list are deactivated (never deleted). ``kept`` names people whose rows
    were bad and skipped, so they are left as they are.
    """

    source: str
    file: str
    bulk: bool = True
    orgs: list[OrgRecord] = field(default_factory=list)
    people: list[PersonRecord] = field(default_factory=list)
    links: set[tuple[str, str]] = field(default_factory=set)
    kept: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
