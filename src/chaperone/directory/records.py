"""What an importer hands the directory: the desired state of the people in one file."""

from __future__ import annotations

from dataclasses import dataclass, field

from chaperone.common.problems import Problem

TEXT_LIMIT = 255
"""Ids and names longer than this are refused at import (the store's columns hold 255)."""


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
