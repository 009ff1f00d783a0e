"""The JSON API's request and response documents (what the OpenAPI document describes)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from chaperone.directory.records import id_problem

# The one definition of what text the web accepts, used by the API's documents and by the
# pages' forms, queries and addresses alike: no NUL, no lone surrogate (neither can be
# stored or encoded), no control character but the line breaks and tabs of multi-line
# text, and a length limit on every value. Ids follow the roster's id grammar.
LINE_BREAKS = frozenset("\t\n\r")


def _printable(value: str, *, lines: bool) -> str:
    for c in value:
        if unicodedata.category(c) in ("Cc", "Cs") and not (lines and c in LINE_BREAKS):
            raise ValueError("text may not hold control characters, NUL or lone surrogates")
    return value


def one_line(value: str) -> str:
    """Refuses control characters (NUL among them) and lone surrogates."""
    return _printable(value, lines=False)


def many_lines(value: str) -> str:
    """As one_line, but tabs and line breaks are allowed."""
    return _printable(value, lines=True)


def district_id(value: str) -> str:
    """An id by the roster's grammar (see chaperone.directory.records.id_problem)."""
    problem = id_problem(value)
    if problem:
        raise ValueError(f"the id {problem}")
    return value


# What JSON Schema says of the same rules, so generated clients and fuzzers know them.
PRINTABLE = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
ONE_LINE = r"^[^\u0000-\u001f\u007f-\u009f]*$"
_NOT_IN_ID = r"/\\\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff"
_NOT_AT_ENDS = r"/\\\s\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff"
ID_PATTERN = rf"^[^{_NOT_AT_ENDS}]([^{_NOT_IN_ID}]*[^{_NOT_AT_ENDS}])?$"

Clean = Annotated[str, StringConstraints(pattern=ONE_LINE), AfterValidator(one_line)]
"""One line of text: give it a length with Field, Query or Form(max_length=...)."""
CleanText = Annotated[str, StringConstraints(pattern=PRINTABLE), AfterValidator(many_lines)]
"""Text that may span lines: give it a length too."""
Line = Annotated[Clean, Field(max_length=255)]
Text = Annotated[CleanText, Field(max_length=2000)]
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=ID_PATTERN),
    AfterValidator(district_id),
]
"""A person, org or finding id (the roster's id grammar)."""


Population = Literal["staff", "student", "parent", "vendor", "volunteer", "contractor"]


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "the request breaks a rule (the detail says which)"},
    401: {"model": Problem, "description": "not signed in"},
    403: {
        "model": Problem,
        "description": "your role may not do this, or the CSRF token is missing",
    },
    404: {"model": Problem, "description": "no such thing within your scope"},
}


class Credentials(BaseModel):
    username: Annotated[Clean, Field(max_length=255)]
    password: Annotated[CleanText, Field(max_length=1024)]


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    school_ids: list[str]
    csrf_token: str


class FindingRow(BaseModel):
    finding_id: str
    rule_id: str
    citation: str
    severity: str
    occurred_at: dt.datetime
    local_date: dt.date
    channel_type: str
    platform: str | None
    school: str | None
    subject: str
    status: str


class FindingPage(BaseModel):
    total: int
    page: int
    per_page: int
    findings: list[FindingRow]


class PartyOut(BaseModel):
    person_id: str | None
    label: str
    population: str
    role: str
    schools: list[str]
    revealed: bool


class FindingDetail(FindingRow):
    policy_version: str
    explanation: str
    message_id: str | None
    source_ref: str
    sender: str
    recipients: list[str]
    subject_party: PartyOut
    counterparts: list[PartyOut]
    clause_title: str
    clause_text: str
    case_ids: list[int]


class ReviewIn(BaseModel):
    finding_ids: Annotated[list[Id], Field(min_length=1, max_length=500)]
    status: Literal["new", "triaged", "dismissed"]
    note: Text = ""


class Changed(BaseModel):
    changed: int


class RevealIn(BaseModel):
    reason: Annotated[CleanText, Field(min_length=1, max_length=500)]


class CaseIn(BaseModel):
    finding_ids: Annotated[list[Id], Field(min_length=1, max_length=500)]
    title: Annotated[Clean, Field(max_length=255)] = ""
    subject_person_id: Annotated[Clean, Field(max_length=255)] = ""


class CaseEventOut(BaseModel):
    kind: str
    actor: str
    at: dt.datetime
    from_status: str | None
    to_status: str | None
    intervention_code: str | None
    text: str


class CaseOut(BaseModel):
    id: int
    title: str
    status: str
    subject_person_id: str = Field(
        description="the district id once revealed on this case, else the pseudonym"
    )
    subject: str = Field(description="the name once revealed on this case, else the pseudonym")
    revealed: bool
    assignee: str | None
    opened_by: str
    opened_at: dt.datetime
    updated_at: dt.datetime
    finding_ids: list[str]
    events: list[CaseEventOut]
    next_statuses: list[str]


class TransitionIn(BaseModel):
    to_status: Literal["triage", "investigating", "resolved", "dismissed"]
    reason: Text = ""


class NoteIn(BaseModel):
    text: Annotated[CleanText, Field(min_length=1, max_length=5000)]


class AssignIn(BaseModel):
    username: Annotated[Clean, Field(min_length=1, max_length=255)]


class InterventionIn(BaseModel):
    code: Annotated[Clean, Field(min_length=1, max_length=80)]
    reason: Annotated[CleanText, Field(min_length=1, max_length=2000)]


class InterventionOut(BaseModel):
    code: str
    population: str
    name: str
    description: str
    active: bool


class InterventionEdit(BaseModel):
    population: Literal["student", "staff"]
    name: Annotated[Clean, Field(min_length=1, max_length=255)]
    description: Text = ""
    active: bool = True


class PersonOut(BaseModel):
    person_id: str = Field(description="the district id, or the pseudonym if you may not see ids")
    name: str = Field(description="the name, or the pseudonym if you may not see names")
    population: str
    role: str
    active: bool
    org_ids: list[str]


class PersonDetail(PersonOut):
    accounts: list[dict[str, str]]
    guardian_ids: list[str]
    student_ids: list[str]
    guardians_elsewhere: int = Field(description="guardians outside your scope (a count only)")
    students_elsewhere: int = Field(description="students outside your scope (a count only)")


class TrailOut(BaseModel):
    seq: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    person_ids: list[str]
    detail: str


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    problems: list[str]


class Count(BaseModel):
    label: str
    count: int


class DashboardOut(BaseModel):
    open_findings: int
    reviewed_share: float
    by_week: list[Count]
    by_school: list[Count]
    by_rule: list[Count]
    by_channel: list[Count]
    cases_by_status: dict[str, int]


class TallyOut(BaseModel):
    """Progress of a group of notices: counts only, never who."""

    people: int
    acknowledged: int
    outstanding: int
    percent: float
    sent: int
    no_address: int


class GroupTally(TallyOut):
    group: str


class CampaignOut(BaseModel):
    id: int
    name: str
    policy: str
    policy_version: str
    populations: list[str]
    schools: list[str]
    opens_on: dt.date
    due_on: dt.date
    closed_at: dt.datetime | None
    total: TallyOut


class CampaignDetail(CampaignOut):
    by_population: list[GroupTally]
    by_school: list[GroupTally]
    withdrawn: int


class CampaignIn(BaseModel):
    """A new campaign: populations default to all six, schools to the whole district,
    opens_on to today, the policy version to the one in force when it opens."""

    name: Annotated[Clean, Field(min_length=1, max_length=255)]
    due_on: dt.date
    opens_on: dt.date | None = None
    populations: Annotated[list[Population], Field(max_length=6)] = []
    schools: Annotated[list[Id], Field(max_length=500)] = []
    policy: Annotated[Clean, Field(min_length=1, max_length=80)] = "9052"
    policy_version: Annotated[Clean, Field(min_length=1, max_length=40)] | None = None


class OutstandingOut(BaseModel):
    """Someone asked to acknowledge who has not yet (the CLI's outstanding columns)."""

    person_id: str
    given_name: str
    family_name: str
    population: str
    school: str
    address: str
    sent_at: str
    send_count: int
    last_error: str


class OutstandingPage(BaseModel):
    total: int
    page: int
    per_page: int
    people: list[OutstandingOut]


class AcknowledgmentsIn(BaseModel):
    """People who signed the policy on paper, and the day they signed (default today)."""

    person_ids: Annotated[list[Id], Field(min_length=1, max_length=500)]
    signed_on: dt.date | None = None


class RecordedOut(BaseModel):
    recorded: int
    already: int
