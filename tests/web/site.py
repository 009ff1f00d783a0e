"""A small demo district with findings, users of every role, and a signed-in web client.

Built once per test session (the demo's real generate → import → ingest → audit path) and
copied for each test, so every test starts from the same store and may change it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, select, text

from chaperone.acknowledge import campaigns, tokens
from chaperone.demo import flow
from chaperone.settings import Settings
from chaperone.store.db import create_store
from chaperone.store.models import Finding, Notice, Org, Person, PersonOrg
from chaperone.users.service import create_user
from chaperone.web.app import create_app

PASSWORD = "correct horse battery staple"
ROLES = ("admin", "compliance_officer", "hr", "principal", "reviewer", "auditor")


@dataclass(frozen=True)
class World:
    """What the tests need to know about the built district."""

    home: Path
    database_url: str | None  # a PostgreSQL template database, or None for SQLite
    school_a: str  # org id of the principal's school
    school_b: str  # another school
    finding_a: str  # a finding about a staff member of school A only
    finding_b: str  # a finding about a staff member of school B only
    student_a: str
    student_b: str


def _only_at(session: object, finding_school: str, other: str) -> str:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    in_other = (
        select(PersonOrg.person_pk).join(Org, Org.id == PersonOrg.org_pk).where(Org.org_id == other)
    )
    subjects = select(Person.person_id).where(Person.id.not_in(in_other))
    return (
        session.scalars(
            select(Finding.finding_id)
            .join(Person, Person.person_id == Finding.subject_person_id)
            .join(PersonOrg, PersonOrg.person_pk == Person.id)
            .join(Org, Org.id == PersonOrg.org_pk)
            .where(Org.org_id == finding_school, Finding.subject_person_id.in_(subjects))
            .order_by(Finding.finding_id)
        ).first()
        or ""
    )


def build(home: Path, database_url: str | None = None) -> World:
    """Run the demo into HOME (and the database, when given), add one user per role."""
    settings = Settings(home=home, database_url=database_url)
    store = create_store(settings)
    flow.run(settings, store, seed=5, students=150, staff=24, records=3000, say=lambda _m: None)
    with store.transaction() as session:
        counts: dict[str, int] = {}
        for finding in session.scalars(select(Finding)):
            person = session.scalar(
                select(Person).where(Person.person_id == finding.subject_person_id)
            )
            for org in person.orgs if person else []:
                if org.type == "school":
                    counts[org.org_id] = counts.get(org.org_id, 0) + 1
        school_a, school_b = sorted(counts, key=lambda k: (-counts[k], k))[:2]
        for role in ROLES:
            create_user(
                session,
                username=role,
                password=PASSWORD,
                role=role,
                display_name=f"The {role}",
                school_ids=(school_a,) if role == "principal" else (),
            )
        create_user(
            session,
            username="principal_b",
            password=PASSWORD,
            role="principal",
            display_name="The other principal",
            school_ids=(school_b,),
        )

        def student(school: str) -> str:
            return (
                session.scalars(
                    select(Person.person_id)
                    .join(PersonOrg, PersonOrg.person_pk == Person.id)
                    .join(Org, Org.id == PersonOrg.org_pk)
                    .where(Org.org_id == school, Person.population == "student")
                    .order_by(Person.person_id)
                ).first()
                or ""
            )

        world = World(
            home,
            database_url,
            school_a,
            school_b,
            _only_at(session, school_a, school_b),
            _only_at(session, school_b, school_a),
            student(school_a),
            student(school_b),
        )
    store.close()
    assert all([world.finding_a, world.finding_b, world.student_a, world.student_b]), world
    return world


def copy_home(world: World, target: Path) -> Settings:
    """A private copy of the built store for one test (PostgreSQL: a database made from the
    built one as its template)."""
    target.mkdir(parents=True, exist_ok=True)
    for kept in ("audit-log.key", "audit-log.checkpoints", "ack-links.key"):  # keys outside the store
        if (world.home / kept).exists():
            shutil.copy2(world.home / kept, target / kept)
    if world.database_url is None:
        for name in ("chaperone.db", "chaperone.db-wal"):  # the log holds committed work
            if (world.home / name).exists():
                shutil.copy2(world.home / name, target / name)
        return Settings(home=target)
    server, template = world.database_url.rsplit("/", 1)
    name = f"w_{uuid.uuid4().hex[:12]}"
    with _admin(server) as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return Settings(home=target, database_url=f"{server}/{name}")


@contextmanager
def _admin(server: str) -> Iterator[Connection]:
    engine = create_engine(
        f"{server.replace('postgresql://', 'postgresql+psycopg://')}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def new_database(server: str, name: str) -> str:
    """An empty PostgreSQL database on the test server."""
    with _admin(server.rsplit("/", 1)[0]) as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return f"{server.rsplit('/', 1)[0]}/{name}"


def drop_database(url: str) -> None:
    """Drop a database made by these helpers."""
    server, name = url.rsplit("/", 1)
    with _admin(server) as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Web:
    """A client of the application as one signed-in user (API calls carry the CSRF token)."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.client = TestClient(self.app, base_url="https://testserver")
        self.csrf = ""

    def sign_in(self, username: str, password: str = PASSWORD) -> Web:
        answer = self.client.post(
            "/api/v1/session", json={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        self.csrf = answer.json()["csrf_token"]
        return self

    def get(self, path: str, **kwargs: object) -> object:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> object:
        headers = {"X-CSRF-Token": self.csrf}
        return self.client.post(path, headers=headers, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.client.close()
        self.app.state.store.close()


def new_campaign(web: Web, name: str = "Policy 9052, 2026-27", **options: object) -> int:
    """An acknowledgment campaign made through the service, due in a month; its number."""
    with web.app.state.store.transaction() as session:
        campaign, _ = campaigns.create(
            session,
            name=name,
            due_on=dt.date.today() + dt.timedelta(days=30),
            created_by="compliance_officer",
            **options,  # type: ignore[arg-type]
        )
        return campaign.id


def link(web: Web, campaign_id: int, population: str = "staff") -> tuple[str, str]:
    """The private link token of one person's notice in a campaign, and their person id."""
    with web.app.state.store.transaction() as session:
        notice = session.scalars(
            select(Notice)
            .where(Notice.campaign_id == campaign_id, Notice.population == population)
            .order_by(Notice.person_id)
        ).first()
        assert notice is not None
        key = tokens.secret(session)
        return tokens.derive(key, campaign_id, notice.person_id, notice.nonce), notice.person_id
