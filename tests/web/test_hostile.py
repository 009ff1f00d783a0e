"""Hostile text from records and rosters renders escaped everywhere: script tags, markup,
right-to-left overrides and very long strings in names, schools, addresses, ids, case
titles and notes - our own, and real subjects and display names from the mail corpora."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, update

from chaperone.store.models import Finding, Org, Person
from tests.conftest import CORPORA
from tests.web.site import Web, World

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test

OURS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "Dana\u202egnp.exe",
    "</bdi></td></tr></table><h1>owned</h1>",
    "{{ 7*7 }} {% raw %}",
    "x" * 5000,
]
MARKUP = ("<script>alert(1)", "<img src=x", "<h1>owned", "onerror=alert(2)>")


def corpus_strings(limit: int = 40) -> list[str]:
    """Subjects and From display names from the corpora that carry markup or bidi controls."""
    found: list[str] = []
    for folder in ("spamassassin", "mail-parser", "flanker", "cpython-test-email"):
        root = CORPORA / folder
        if not root.is_dir():
            continue
        for path in sorted(
            p for p in root.rglob("*") if p.is_file() and p.stat().st_size < 200_000
        ):
            try:
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                values = [str(message.get("subject", "")), str(message.get("from", ""))]
            except Exception:
                continue
            found += [v for v in values if any(c in v for c in "<>&\"'\u202e\u202d")]
            if len(found) >= limit:
                return found[:limit]
    return found


def _poison(web: Web, world: World, strings: list[str]) -> None:
    with web.app.state.store.transaction() as session:
        finding = session.get(Finding, world.finding_a)
        assert finding is not None
        subject = session.scalar(
            select(Person).where(Person.person_id == finding.subject_person_id)
        )
        assert subject is not None
        subject.given_name, subject.family_name = strings[0][:255], strings[1 % len(strings)][:255]
        others = session.scalars(
            select(Person).where(Person.population == "student").limit(len(strings))
        ).all()
        for person, text in zip(others, strings, strict=False):
            person.given_name = text[:255]  # the column's size (PostgreSQL enforces it)
        finding.school = strings[2 % len(strings)][:255]
        finding.source_ref = strings[3 % len(strings)]
        finding.message_id = strings[4 % len(strings)]
        finding.sender = (strings[0] + "@example.org")[-320:]
        finding.recipients = ";".join(strings[:3])
        finding.explanation = " ".join(strings)
        session.execute(
            update(Org).where(Org.type == "school").values(name=strings[1 % len(strings)][:255])
        )


def _pages(web: Web, world: World, case_id: int) -> list[str]:
    return [
        "/",
        "/findings",
        "/findings?status=all",
        f"/findings/{world.finding_a}",
        "/cases",
        f"/cases/{case_id}",
        "/people",
        f"/people/{world.student_a}",
        f"/people/{world.student_a}/access",
        "/registry",
        "/interventions",
        "/audit-log",
    ]


def _check(web: Callable[[str | None], Web], world: World, strings: list[str]) -> Web:
    admin = web("admin")
    _poison(admin, world, strings)
    admin.post(f"/api/v1/findings/{world.finding_a}/reveal", json={"reason": strings[0][:400]})
    case = admin.post(
        "/api/v1/cases", json={"finding_ids": [world.finding_a], "title": strings[1][:255]}
    )
    case_id = case.json()["id"]  # type: ignore[attr-defined]
    admin.post(f"/api/v1/cases/{case_id}/notes", json={"text": strings[0]})
    admin.client.put(
        "/api/v1/interventions/hostile",
        json={"population": "staff", "name": strings[0][:255], "description": strings[-1][:2000]},
        headers={"X-CSRF-Token": admin.csrf},
    )
    for path in _pages(admin, world, case_id):
        page = admin.client.get(path)
        assert page.status_code == 200, path
        for bad in MARKUP:
            assert bad not in page.text, (path, bad)
        assert page.headers["content-type"].startswith("text/html")
    finding_page = admin.client.get(f"/findings/{world.finding_a}").text
    for text in strings:
        if "\u202e" in text:
            assert "<bdi>" in finding_page
            assert finding_page.count("\u202e") == len(
                [
                    1
                    for chunk in finding_page.split("<bdi>")[1:]
                    if "\u202e" in chunk.split("</bdi>")[0]
                ]
            )
    return admin


def test_our_hostile_strings_render_escaped_on_every_page(
    web: Callable[[str | None], Web], world: World
) -> None:
    admin = _check(web, world, OURS)
    page = admin.client.get(f"/findings/{world.finding_a}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_hostile_subjects_and_names_from_the_corpora_render_escaped(
    web: Callable[[str | None], Web], world: World
) -> None:
    if not Path(CORPORA).is_dir():
        pytest.skip(f"corpora not present at {CORPORA}")
    strings = corpus_strings()
    if len(strings) < 5:
        pytest.skip("the corpora hold too few subjects or names with markup")
    _check(web, world, strings + OURS[:1])
