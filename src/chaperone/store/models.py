"""SQLAlchemy models of the store. Person and org ids users see are the district's own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current time in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)


class Org(Base):
    """A district, school or other organisation from the roster."""

    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(40))
    parent_org_id: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(40))


class PersonOrg(Base):
    """Membership of a person in an org."""

    __tablename__ = "person_orgs"

    person_pk: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    org_pk: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)


class Person(Base):
    """Someone Policy 9052 reaches: staff, student, parent, vendor, volunteer or contractor."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(String(255), unique=True)
    population: Mapped[str] = mapped_column(String(20), index=True)
    role: Mapped[str] = mapped_column(String(40))
    given_name: Mapped[str] = mapped_column(String(255))
    family_name: Mapped[str] = mapped_column(String(255))
    grade: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    source: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    orgs: Mapped[list[Org]] = relationship(secondary="person_orgs", order_by=Org.org_id)
    accounts: Mapped[list[Account]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="Account.value"
    )

    @property
    def display_name(self) -> str:
        """Given and family name."""
        return f"{self.given_name} {self.family_name}".strip()


class Account(Base):
    """An e-mail address, phone number or social handle, normalised at import."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("person_pk", "kind", "value", "source", name="uq_accounts_identity"),
        Index("ix_accounts_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_pk: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(320))
    declared_district_owned: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(40))

    person: Mapped[Person] = relationship(back_populates="accounts")


class GuardianLink(Base):
    """A parent or guardian of a student."""

    __tablename__ = "guardian_links"

    guardian_pk: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    student_pk: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(40))


class RegistrySnapshot(Base):
    """One imported version of registry.yaml; the newest is in force."""

    __tablename__ = "registry_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)


class PolicyPackVersion(Base):
    """A district's policy pack at one version, in force from its effective date."""

    __tablename__ = "policy_packs"
    __table_args__ = (UniqueConstraint("pack_id", "version", name="uq_policy_packs_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(40))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    sha256: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportRun(Base):
    """What one import did, for the record and for 'nothing changed' answers."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    source_name: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deactivated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)


class Finding(Base):
    """A communication that breaks a rule, about one subject person (stable across re-audits)."""

    __tablename__ = "findings"

    finding_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(80), index=True)
    citation: Mapped[str] = mapped_column(String(40))
    policy_version: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    local_date: Mapped[dt.date] = mapped_column(Date, index=True)
    channel_type: Mapped[str] = mapped_column(String(20))
    platform: Mapped[str | None] = mapped_column(String(80))
    message_id: Mapped[str | None] = mapped_column(Text)
    record_id: Mapped[str] = mapped_column(String(32), index=True)
    source_ref: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[str] = mapped_column(Text)
    subject_person_id: Mapped[str] = mapped_column(String(255), index=True)
    counterpart_person_ids: Mapped[str] = mapped_column(Text)
    school: Mapped[str | None] = mapped_column(String(255))
    verdict: Mapped[str] = mapped_column(Text, nullable=True)  # judge.verdicts.Verdict, JSON
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditRun(Base):
    """One audit: the engine, the window and what it found."""

    __tablename__ = "audit_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    engine: Mapped[str] = mapped_column(String(20))
    since: Mapped[dt.date | None] = mapped_column(Date)
    until: Mapped[dt.date | None] = mapped_column(Date)
    registry_sha256: Mapped[str] = mapped_column(String(64))
    findings: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)


class PolicyException(Base):
    """A time-limited exception a compliance officer grants, honoured by audit and gateway."""

    __tablename__ = "policy_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(String(255), index=True)
    counterpart_person_id: Mapped[str | None] = mapped_column(String(255))
    counterpart_population: Mapped[str | None] = mapped_column(String(20))
    channel_types: Mapped[str] = mapped_column(String(255), default="")
    rule_id: Mapped[str | None] = mapped_column(String(80))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(255))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class User(Base):
    """Someone who signs in to the web application, with one role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # "issuer|sub" of the single sign-on identity linked on first sign-in (migration 0009)
    oidc_subject: Mapped[str | None] = mapped_column(String(600), unique=True, index=True)

    schools: Mapped[list[UserSchool]] = relationship(
        cascade="all, delete-orphan", order_by="UserSchool.org_id", lazy="selectin"
    )

    @property
    def school_ids(self) -> tuple[str, ...]:
        """The district org ids of the schools a principal is scoped to."""
        return tuple(s.org_id for s in self.schools)


class UserSchool(Base):
    """One school a (principal) user is scoped to, by the district's org id."""

    __tablename__ = "user_schools"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class WebSession(Base):
    """A signed-in browser: only the token's hash is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    flash: Mapped[str] = mapped_column(Text, default="", server_default="")


class Reveal(Base):
    """A person whose name one web session revealed on one finding or case (the reveal and
    its reason are in the audit log); it unmasks them there only, until the session ends."""

    __tablename__ = "reveals"
    __table_args__ = (
        UniqueConstraint(
            "session_hash", "object_type", "object_id", "person_id", name="uq_reveals_scope"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(
        ForeignKey("web_sessions.token_hash", ondelete="CASCADE"), index=True
    )
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str] = mapped_column(String(255))
    person_id: Mapped[str] = mapped_column(String(255))
    revealed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginFailure(Base):
    """A failed sign-in, kept for throttling."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(255), index=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class TrailEntry(Base):
    """One entry of the append-only, hash-chained audit log."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(255))
    person_ids: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class TrailPerson(Base):
    """Index of the audit log by the person whose data an entry touched."""

    __tablename__ = "audit_log_people"

    seq: Mapped[int] = mapped_column(
        ForeignKey("audit_log.seq", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class TrailHead(Base):
    """The newest entry of the audit log (one row), so a deleted tail is detected."""

    __tablename__ = "audit_log_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AppSecret(Base):
    """Secrets the application generates once (e.g. the pseudonym key), shared by servers."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FindingReview(Base):
    """A reviewer's decision on a finding: triaged (needs action) or dismissed."""

    __tablename__ = "finding_reviews"

    finding_id: Mapped[str] = mapped_column(
        ForeignKey("findings.finding_id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20))
    reviewed_by: Mapped[str] = mapped_column(String(255))
    reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class Intervention(Base):
    """One option of the district-editable catalogue: Code of Conduct or HR step."""

    __tablename__ = "interventions"

    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    population: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Case(Base):
    """A case opened from one or more findings about one subject person."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), index=True)
    subject_person_id: Mapped[str] = mapped_column(String(255), index=True)
    assignee: Mapped[str | None] = mapped_column(String(255))
    opened_by: Mapped[str] = mapped_column(String(255))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    findings: Mapped[list[CaseFinding]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        cascade="all, delete-orphan", order_by="CaseEvent.id", lazy="selectin"
    )


class CaseFinding(Base):
    """A finding that belongs to a case."""

    __tablename__ = "case_findings"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    finding_id: Mapped[str] = mapped_column(
        ForeignKey("findings.finding_id", ondelete="CASCADE"), primary_key=True
    )


class CaseEvent(Base):
    """The case's timeline: opened, transitions, notes, assignments and interventions."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    intervention_code: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text, default="")


class Campaign(Base):
    """An acknowledgment campaign: one policy version, the populations it must reach (§D)."""

    __tablename__ = "ack_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(80))
    policy_version: Mapped[str] = mapped_column(String(40))
    populations: Mapped[str] = mapped_column(String(255))  # ";"-separated
    schools: Mapped[str] = mapped_column(Text, default="")  # ";"-separated org ids; "" = all
    opens_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(255))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Notice(Base):
    """One person's notice in a campaign: where it went and whether they acknowledged.

    The link's token is never stored: it is derived from an application secret and
    ``nonce`` when a notice is sent, and found again by its SHA-256 (``token_hash``).
    """

    __tablename__ = "ack_notices"
    __table_args__ = (
        UniqueConstraint("campaign_id", "person_id", name="uq_ack_notices_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("ack_campaigns.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[str] = mapped_column(String(255), index=True)
    population: Mapped[str] = mapped_column(String(20))
    school: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(320))
    nonce: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    send_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_via: Mapped[str | None] = mapped_column(String(20))
    recorded_by: Mapped[str | None] = mapped_column(String(255))
