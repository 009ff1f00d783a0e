"""Seeded sample communication traffic for the sample district (`chaperone.demo.district`).

`generate_traffic` reads a generated district and writes what its silos would export over
a few months: an Exchange message trace (`m365-trace`), an mbox of staff mailboxes, a log
of texts, calls and voicemails (`sms-csv`) and a Slack export. Most records are compliant
with Board Policy 9052 §A or out of its scope; a few percent are planted violations of
every kind in the §A decision table, counted in `SampleTraffic.planted`. A handful of
messages are in both the trace and the mbox, and a few rows are broken, so de-duplication
and quarantine have something to do.
"""

from __future__ import annotations

import base64
import bisect
import calendar
import csv
import json
import random
import string
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import formataddr
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import yaml

from chaperone.demo.district import CONTACTS_HEADER, FAMILY_ROLES, STAFF_ROLES, SampleDistrict

TRACE_HEADER = (
    "Received", "SenderAddress", "RecipientAddress", "Subject", "Status", "Size", "MessageId",
    "MessageTraceId", "FromIP", "ToIP",
)  # fmt: skip
SMS_HEADER = ("occurred_at", "from", "to", "type", "platform", "message_id", "has_media")
SOURCE_SHARES = (("trace", 0.55), ("mailbox", 0.10), ("texts", 0.20))  # slack: the rest
# Share of all records planted as each kind of §A violation (about 3.8% in all).
PLANTED_RATES: dict[str, float] = {
    "personal_email_to_student": 0.006,
    "personal_email_to_parent": 0.004,
    "student_personal_email": 0.004,
    "personal_phone_to_parent": 0.006,
    "denied_platform": 0.004,
    "pending_platform": 0.004,
    "expired_platform": 0.004,
    "channel_not_approved": 0.002,
    "audience_not_approved": 0.004,
}
PLANTED_KINDS = tuple(PLANTED_RATES)
MIN_RECORDS = 500
STUDENT_EMAIL_SHARE = 0.02
CLUB_CHANNEL = "hs-robotics-club"
# Registry platforms the traffic uses, with the status each must have.
TEXTING, EXPIRING, PENDING, DENIED, CHAT = "parentsquare", "remind", "classdojo", "whatsapp", "slack"
_REQUIRED_PLATFORMS = {
    TEXTING: "approved", EXPIRING: "approved", PENDING: "pending", DENIED: "denied",
    CHAT: "approved",
}  # fmt: skip

_HOURS = tuple(range(6, 23))
_HOUR_CUM = tuple(accumulate((1, 4, 9, 10, 10, 9, 8, 8, 9, 9, 7, 4, 3, 3, 2, 2, 1)))
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = datetime(1970, 1, 1)
_HOLIDAYS = {(6, 19), (7, 3), (7, 4), (9, 7), (10, 12), (11, 3), (11, 11), (11, 26), (11, 27)}
# A 1x1 transparent PNG.
_PNG = base64.encodebytes(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
    )
).decode("ascii")

_SUBJECTS = {
    "student": (
        "Homework for this week", "Missing assignment", "Lab report feedback", "Reading list",
        "Project groups", "Quiz on Friday", "Extra help hours", "Club meeting",
        "Essay draft comments", "Make-up test",
    ),
    "parent": (
        "Progress update", "Parent-teacher conference", "Field trip permission",
        "Attendance question", "Picture day", "Bus schedule change", "Thank you",
        "Report card question", "Volunteer sign-up", "Schedule a call",
    ),
    "staff": (
        "Staff meeting agenda", "Duty schedule", "Room change", "Professional development day",
        "Testing schedule", "Sub plans", "Budget request", "Department meeting notes",
        "Fire drill Tuesday", "Coverage request",
    ),
    "peer": ("Group project", "Notes from class", "Study session", "Club poster", "Science fair"),
    "outside": (
        "Monthly newsletter", "Upcoming webinar", "New classroom resources", "Your weekly digest",
        "Conference registration is open", "Product update",
    ),
}  # fmt: skip
_BODIES = {
    "student": (
        "Please finish the worksheet before class.", "I posted the rubric, take a look.",
        "You can come by during lunch for extra help.", "Nice work on the last draft.",
    ),
    "parent": (
        "Thank you for your note, I will follow up this week.",
        "Could we find a time to talk next week?", "Just a quick update on this week.",
        "The permission form is due on Friday.",
    ),
    "staff": (
        "Please see the notes below.", "Can you cover this one? Thanks.",
        "Agenda attached in the shared folder.", "Reminder for tomorrow.",
    ),
    "peer": ("Can we meet after school?", "Here are my notes.", "See you at practice."),
    "outside": ("Read this month's issue online.", "Register now, seats are limited."),
}  # fmt: skip
_STAFF_CHAT = (
    "Reminder: staff meeting at 3:15 in the library.", "Can someone cover my duty Thursday?",
    "The copier on the second floor is fixed.", "Coffee in the lounge, help yourselves.",
    "Updated bus list is in the shared drive.", "Who has the spare projector?",
    "Great assembly today, thanks everyone.", "Fire drill at 10:30 tomorrow.",
)  # fmt: skip
_CLUB_CHAT = (
    "Practice moved to Wednesday.", "Who can bring the spare battery?",
    "The drive base works now!", "Competition forms are due Friday.",
    "Great job at the scrimmage.", "Room 214 after school today.",
)  # fmt: skip
_OUTSIDE_SENDERS = (
    ("news@edweek-example.org", "Education Week Update"),
    ("hello@bookclub-example.com", "Book Club"),
    ("digest@teachtools-example.com", "TeachTools Digest"),
    ("events@sciencemuseum-example.org", "Science Museum Events"),
    ("info@pta-example.org", "PTA Council"),
)
_BAD_PHONES = ("555-01", "72975", "+1 914 55", "unknown")


@dataclass(frozen=True)
class SampleTraffic:
    """Paths of the generated sources, records written per source, and planted violations.

    `counts` holds the records written per source (`trace` counts messages, not rows; every
    count includes the source's bad rows), plus `duplicates_planted` (messages in both the
    trace and the mbox) and `bad_rows_planted` (rows that must go to quarantine).
    """

    trace: Path
    mailbox: Path
    texts: Path
    slack: Path
    student_contacts: Path
    counts: dict[str, int]
    planted: dict[str, int]


class _When(NamedTuple):
    """A moment: epoch seconds (UTC), district-local wall time, and its UTC offset in minutes."""

    epoch: int
    local: datetime
    offset: int


@dataclass(frozen=True)
class _Person:
    """An active roster person."""

    id: str
    population: str
    role: str
    name: str
    email: str
    school: str
    phone: str
    agents: tuple[str, ...]


@dataclass
class _People:
    """The district's active people and their accounts, as the traffic needs them."""

    staff: list[_Person]
    students: list[_Person]
    by_id: dict[str, _Person]
    schools: list[str]
    staff_at: dict[str, list[_Person]]
    families_at: dict[str, list[tuple[_Person, list[_Person]]]]
    personal_email: dict[str, str]
    personal_phone: dict[str, str]
    district_phone: dict[str, str]
    outsiders: list[tuple[str, str]]
    student_email: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Registry:
    """What the traffic needs from registry.yaml."""

    timezone: ZoneInfo
    lines: tuple[str, ...]
    expires_on: date

    def district_owned(self, e164: str) -> bool:
        """Whether a number is a district line (a trailing * is a prefix)."""
        return any(
            e164.startswith(line[:-1]) if line.endswith("*") else e164 == line
            for line in self.lines
        )


@dataclass
class _Mail:
    """One e-mail message."""

    when: _When
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    message_id: str
    image: bool
    kind: str = ""


class _Text(NamedTuple):
    """One sms-csv row."""

    when: _When
    sender: str
    to: tuple[str, ...]
    type: str
    platform: str
    message_id: str
    media: bool
    kind: str


class _Post(NamedTuple):
    """One Slack message."""

    when: _When
    channel: str
    user: str
    text: str
    image: bool
    kind: str


@dataclass
class _Slack:
    """A Slack export before it is written."""

    users: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    posts: list[_Post]


_Draft = tuple[str, tuple[str, ...], tuple[str, ...], str, bool]  # sender, to, cc, topic, reply


def generate_traffic(
    district: SampleDistrict,
    out: Path,
    *,
    seed: int = 9052,
    records: int = 200_000,
    start: date = date(2026, 6, 1),
    end: date = date(2026, 11, 15),
) -> SampleTraffic:
    """Write seeded sample traffic of the district under out and describe what was written."""
    if records < MIN_RECORDS:
        raise ValueError(f"records must be at least {MIN_RECORDS}")
    if end < start:
        raise ValueError("end must not be before start")
    master = random.Random(seed)
    rngs = [random.Random(master.getrandbits(64)) for _ in range(5)]
    registry = _read_registry(district.registry)
    people = _read_people(district, registry)
    out.mkdir(parents=True, exist_ok=True)
    student_contacts = out / "student-contacts.csv"
    _write_csv(student_contacts, CONTACTS_HEADER, _student_emails(rngs[0], people))
    clock = _Clock(start, end, registry.timezone)
    sizes = _sizes(records)
    targets = {kind: max(3, round(records * rate)) for kind, rate in PLANTED_RATES.items()}
    handful = max(3, records // 4000)
    ids = _Ids()
    trace, mailbox = _mails(rngs[1], _Mailer(rngs[1], people, clock, ids), sizes, targets, handful)
    texts = _Texter(rngs[2], people, clock, ids, registry.expires_on).log(
        sizes["texts"], targets, max(2, records // 40000)
    )
    slack = _slack(rngs[3], people, clock, sizes["slack"], targets["audience_not_approved"])
    paths = {
        "trace": out / "trace.csv",
        "mailbox": out / "mailbox.mbox",
        "texts": out / "texts.csv",
        "slack": out / "slack",
    }
    _write_trace(rngs[4], paths["trace"], trace)
    _write_mbox(paths["mailbox"], mailbox, people)
    _write_texts(rngs[4], paths["texts"], texts)
    _write_slack(paths["slack"], slack)
    kinds = [m.kind for m in trace] + [m.kind for m in mailbox]
    kinds += [t.kind for t in texts] + [p.kind for p in slack.posts]
    trace_ids = {m.message_id for m in trace}
    counts = {
        "trace": len(trace),
        "mailbox": len(mailbox),
        "texts": len(texts),
        "slack": len(slack.posts),
        "duplicates_planted": sum(m.message_id in trace_ids for m in mailbox),
        "bad_rows_planted": sum(not m.sender for m in trace) + sum(t.kind == "bad" for t in texts),
    }
    return SampleTraffic(
        trace=paths["trace"],
        mailbox=paths["mailbox"],
        texts=paths["texts"],
        slack=paths["slack"],
        student_contacts=student_contacts,
        counts=counts,
        planted={kind: kinds.count(kind) for kind in PLANTED_KINDS},
    )


def _sizes(records: int) -> dict[str, int]:
    """Split the records over the sources."""
    sizes = {name: round(records * share) for name, share in SOURCE_SHARES}
    sizes["slack"] = records - sum(sizes.values())
    return sizes


# --- reading the district ------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    """Read a CSV file as dictionaries."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _read_registry(path: Path) -> _Registry:
    """Read the time zone, the district lines and the expiring platform's last day."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    district = data.get("district") or {}
    platforms = {str(p.get("id")): p for p in data.get("platforms") or []}
    for platform_id, status in _REQUIRED_PLATFORMS.items():
        if platforms.get(platform_id, {}).get("status") != status:
            raise ValueError(f"registry: platform {platform_id} must be listed as {status}")
    expires = platforms[EXPIRING].get("expires_on")
    if not isinstance(expires, date):
        raise ValueError(f"registry: platform {EXPIRING} needs an expires_on date")
    return _Registry(
        timezone=ZoneInfo(str(district.get("timezone") or "America/New_York")),
        lines=tuple(str(n) for n in district.get("phone_numbers") or ()),
        expires_on=expires,
    )


def _population(roles: set[str]) -> str:
    """The population of a roster user from their roles."""
    if roles and roles <= set(STAFF_ROLES):
        return "staff"
    if roles == {"student"}:
        return "student"
    return "parent" if roles and roles <= set(FAMILY_ROLES) else ""


def _read_people(district: SampleDistrict, registry: _Registry) -> _People:
    """Read the active roster people, staff contacts and outside senders."""
    roles: dict[str, set[str]] = defaultdict(set)
    for row in _rows(district.roster / "roles.csv"):
        roles[row["userSourcedId"]].add(row["role"])
    by_id: dict[str, _Person] = {}
    for row in _rows(district.roster / "users.csv"):
        population = _population(roles[row["sourcedId"]])
        if row["status"] != "active" or not population or not row["email"]:
            continue
        by_id[row["sourcedId"]] = _Person(
            id=row["sourcedId"],
            population=population,
            role=min(roles[row["sourcedId"]]),
            name=f"{row['givenName']} {row['familyName']}",
            email=row["email"].lower(),
            school=row["primaryOrgSourcedId"],
            phone=_e164(row["phone"] or row["sms"]),
            agents=tuple(a for a in row["agentSourcedIds"].split(",") if a),
        )
    people = sorted(by_id.values(), key=lambda p: p.id)
    staff = [p for p in people if p.population == "staff"]
    students = [p for p in people if p.population == "student"]
    result = _People(
        staff=staff,
        students=students,
        by_id=by_id,
        schools=[],
        staff_at=_group(staff, lambda p: p.school),
        families_at=_families(students, by_id),
        personal_email={},
        personal_phone={},
        district_phone={p.id: p.phone for p in staff if registry.district_owned(p.phone)},
        outsiders=list(_OUTSIDE_SENDERS),
    )
    result.schools = sorted(result.families_at)
    if len(staff) < 2 or not result.schools:
        raise ValueError("the district needs two active staff and students with parents")
    _read_contacts(district.contacts, result)
    for row in _rows(district.people):
        if row["population"] in ("vendor", "contractor") and row["email"]:
            name = f"{row['given_name']} {row['family_name']}"
            result.outsiders.append((row["email"].lower(), name))
    return result


def _group(people: Iterable[_Person], key: Any) -> dict[str, list[_Person]]:
    """Group people by a key function."""
    groups: dict[str, list[_Person]] = defaultdict(list)
    for person in people:
        groups[key(person)].append(person)
    return dict(groups)


def _families(
    students: list[_Person], by_id: dict[str, _Person]
) -> dict[str, list[tuple[_Person, list[_Person]]]]:
    """Students with their active parents, by school."""
    families: dict[str, list[tuple[_Person, list[_Person]]]] = defaultdict(list)
    for kid in students:
        parents = [by_id[a] for a in kid.agents if a in by_id and by_id[a].phone]
        if parents:
            families[kid.school].append((kid, parents))
    return dict(families)


def _read_contacts(path: Path, people: _People) -> None:
    """Add staff personal e-mails, personal phones and district-issued phones."""
    for row in _rows(path):
        person = people.by_id.get(row["person_id"])
        if person is None or person.population != "staff":
            continue
        owned = row["district_owned"].strip().lower() == "true"
        if row["kind"] == "email" and not owned:
            people.personal_email.setdefault(person.id, row["value"].lower())
        elif row["kind"] == "phone":
            phones = people.district_phone if owned else people.personal_phone
            phones.setdefault(person.id, _e164(row["value"]))


def _e164(raw: str) -> str:
    """A NANP number in any common notation as E.164; empty when empty."""
    digits = "".join(c for c in raw if c.isdigit())
    if len(digits) == 10:
        return "+1" + digits
    return "+" + digits if digits else ""


def _ascii(name: str) -> str:
    """Fold a name to lower-case ASCII letters for an address."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed.lower() if c in string.ascii_lowercase)


def _student_emails(rng: random.Random, people: _People) -> list[list[str]]:
    """Give about 2% of the students a personal gmail; return the contacts rows."""
    taken = {p.email for p in people.by_id.values()} | set(people.personal_email.values())
    count = max(1, round(len(people.students) * STUDENT_EMAIL_SHARE))
    for kid in sorted(rng.sample(people.students, count), key=lambda p: p.id):
        given, family = kid.name.split(" ", 1)
        address = f"{_ascii(given)}.{_ascii(family)}{rng.randrange(10, 100)}@gmail.com"
        while address in taken:
            address = f"{_ascii(given)}{rng.randrange(100, 1000)}@gmail.com"
        taken.add(address)
        people.student_email[kid.id] = address
    return [[pid, "email", value, "false"] for pid, value in people.student_email.items()]


# --- time ----------------------------------------------------------------------------------


class _Clock:
    """Random moments in the range, mostly school days and working hours, in local time."""

    def __init__(self, start: date, end: date, zone: ZoneInfo) -> None:
        self.days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        self._cum = list(accumulate(_day_weight(day) for day in self.days))
        self._offsets = [
            int((zone.utcoffset(datetime(d.year, d.month, d.day, 12)) or timedelta()).total_seconds())
            // 60
            for d in self.days
        ]
        self._midnights = [calendar.timegm(d.timetuple()) for d in self.days]

    def span(self, first: date | None = None, last: date | None = None) -> tuple[int, int] | None:
        """The day indexes [i, j) from first to last inclusive, None when no day is left."""
        i = 0 if first is None else bisect.bisect_left(self.days, first)
        j = len(self.days) if last is None else bisect.bisect_right(self.days, last)
        return (i, j) if i < j else None

    def pick(self, rng: random.Random, span: tuple[int, int] | None = None) -> _When:
        """A random moment, within the span of days when one is given."""
        i, j = span or (0, len(self.days))
        base = self._cum[i - 1] if i else 0.0
        index = min(bisect.bisect_right(self._cum, base + rng.random() * (self._cum[j - 1] - base), i, j), j - 1)
        hour = rng.choices(_HOURS, cum_weights=_HOUR_CUM)[0]
        minute, second = rng.randrange(60), rng.randrange(60)
        day, offset = self.days[index], self._offsets[index]
        local = datetime(day.year, day.month, day.day, hour, minute, second)
        epoch = self._midnights[index] + hour * 3600 + minute * 60 + second - offset * 60
        return _When(epoch, local, offset)


def _day_weight(day: date) -> float:
    """How busy a day is: school days most, summer and holidays little, weekends least."""
    if day.weekday() >= 5:
        return 0.08
    if (day.month, day.day) in _HOLIDAYS:
        return 0.1
    summer = date(day.year, 6, 26) <= day <= date(day.year, 9, 8)
    return 0.25 if summer else 1.0


def _utc(when: _When) -> datetime:
    return _EPOCH + timedelta(seconds=when.epoch)


def _offset_text(minutes: int, colon: str) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{colon}{abs(minutes) % 60:02d}"
