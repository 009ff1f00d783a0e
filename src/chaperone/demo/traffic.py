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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import formataddr
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

import yaml

from chaperone.demo.district import (
    CONTACTS_HEADER,
    FAMILY_ROLES,
    STAFF_DOMAIN,
    STAFF_ROLES,
    SampleDistrict,
)

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
_CHANNEL_WEIGHTS = {"general": 2.0, "district-office": 1.0}  # the others: 3.0
# Registry platforms the traffic uses, with the status each must have.
TEXTING, EXPIRING, PENDING = "parentsquare", "remind", "classdojo"
DENIED, CHAT = "whatsapp", "slack"
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

_CALL_KINDS = ("text_message", "call", "voicemail")
_T = TypeVar("_T")


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


@dataclass(slots=True)
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
    duplicates, bad = max(3, records // 10_000), max(2, records // 40_000)
    ids = _Ids()
    trace, mailbox = _mails(_Mailer(rngs[1], people, clock, ids), sizes, targets, duplicates, bad)
    texts = _Texter(rngs[2], people, clock, ids, registry.expires_on).log(
        sizes["texts"], targets, bad
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
    if len(staff) < 2 or len(students) < 2 or not result.schools:
        raise ValueError("the district needs two active staff and students with parents")
    _read_contacts(district.contacts, result)
    for row in _rows(district.people):
        if row["population"] in ("vendor", "contractor") and row["email"]:
            name = f"{row['given_name']} {row['family_name']}"
            result.outsiders.append((row["email"].lower(), name))
    return result


def _group(people: Iterable[_Person], key: Callable[[_Person], str]) -> dict[str, list[_Person]]:
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
        noons = (datetime(d.year, d.month, d.day, 12) for d in self.days)
        self._offsets = [
            int((zone.utcoffset(noon) or timedelta()).total_seconds()) // 60 for noon in noons
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
        point = base + rng.random() * (self._cum[j - 1] - base)
        index = min(bisect.bisect_right(self._cum, point, i, j), j - 1)
        hour = _weighted(rng, _HOURS, _HOUR_CUM)
        minute, second = divmod(int(rng.random() * 3600), 60)
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


def _pick(rng: random.Random, items: Sequence[_T]) -> _T:
    """A random item; faster than Random.choice, which matters at 200,000 records."""
    return items[int(rng.random() * len(items))]


def _weighted(rng: random.Random, items: Sequence[_T], cum_weights: Sequence[float]) -> _T:
    """A random item by cumulative weights."""
    return items[bisect.bisect_right(cum_weights, rng.random() * cum_weights[-1])]


def _utc(when: _When) -> datetime:
    return _EPOCH + timedelta(seconds=when.epoch)


def _offset_text(minutes: int, colon: str) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{colon}{abs(minutes) % 60:02d}"


# --- e-mail --------------------------------------------------------------------------------


class _Ids:
    """Unique message ids in the style of the system that would assign them."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def email(self, rng: random.Random, sender: str) -> str:
        """A Message-ID as the sender's mail system writes it."""
        domain = sender.rpartition("@")[2]
        while True:
            if domain == "gmail.com":
                value = f"<CA{_token(rng, 40)}@mail.gmail.com>"
            elif domain.endswith(STAFF_DOMAIN) or domain == "outlook.com":
                number = int(rng.random() * 90_000)
                host = f"{_pick(rng, _HOSTS)}PR{10 + number % 10}MB{1000 + number // 10}"
                local = f"{host}{rng.getrandbits(64):016X}"
                value = f"<{local}@{host}.namprd{host[5:7]}.prod.outlook.com>"
            else:
                value = f"<{_guid(rng)}@{domain or 'localhost'}>"
            if value not in self._seen:
                self._seen.add(value)
                return value

    def other(self, rng: random.Random, prefix: str) -> str:
        """An id such as a texting platform or phone system gives a record."""
        while True:
            value = f"{prefix}{rng.getrandbits(128):032x}"
            if value not in self._seen:
                self._seen.add(value)
                return value


_HOSTS = ("BN6", "CY4", "DM6", "MN2", "SN6", "BL0")
_TOKEN = string.ascii_letters + string.digits + "-_"


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(_TOKEN, k=length))


def _guid(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


class _Mailer:
    """Draws e-mail messages: compliant or out-of-scope traffic, or a planted violation."""

    def __init__(self, rng: random.Random, people: _People, clock: _Clock, ids: _Ids) -> None:
        self.rng, self.people, self.clock, self.ids = rng, people, clock, ids
        categories = (
            (22, self._staff_student), (12, self._student_staff), (14, self._staff_parent),
            (10, self._parent_staff), (25, self._staff_staff), (7, self._student_student),
            (10, self._outside),
        )  # fmt: skip
        self._makers = [maker for _, maker in categories]
        self._cum = list(accumulate(weight for weight, _ in categories))
        self._planted = {
            "personal_email_to_student": self._personal_to_student,
            "personal_email_to_parent": self._personal_to_parent,
            "student_personal_email": self._student_personal,
        }
        self._staff_personal = sorted(people.personal_email)
        self._kids_personal = sorted(people.student_email)

    def can_plant(self, kind: str) -> bool:
        """Whether the district has the accounts this kind of violation needs."""
        return bool(
            self._kids_personal if kind == "student_personal_email" else self._staff_personal
        )

    def compliant(self) -> _Mail:
        """A message the policy allows or does not cover."""
        return self._mail(_weighted(self.rng, self._makers, self._cum)(), "")

    def staff_to_students(self) -> _Mail:
        """A compliant message from a staff member's district account to students."""
        return self._mail(self._staff_student(), "")

    def planted(self, kind: str) -> _Mail:
        """A planted violation of the kind."""
        return self._mail(self._planted[kind](), kind)

    def _mail(self, draft: _Draft, kind: str) -> _Mail:
        sender, to, cc, topic, reply = draft
        subject = _pick(self.rng, _SUBJECTS[topic])
        return _Mail(
            when=self.clock.pick(self.rng),
            sender=sender,
            to=to,
            cc=cc,
            subject=f"RE: {subject}" if reply else subject,
            body=_pick(self.rng, _BODIES[topic]),
            message_id=self.ids.email(self.rng, sender),
            image=self.rng.random() < 0.10,
            kind=kind,
        )

    def _families(self, staff: _Person, count: int) -> list[tuple[_Person, list[_Person]]]:
        """Students (with their parents) of the staff member's school."""
        families = self.people.families_at.get(staff.school)
        if families is None:
            families = self.people.families_at[_pick(self.rng, self.people.schools)]
        if count == 1:
            return [_pick(self.rng, families)]
        return self.rng.sample(families, min(count, len(families)))

    def _count(self) -> int:
        return _weighted(self.rng, (1, 2, 3, 4), (70, 85, 95, 100))

    def _colleagues(self, staff: _Person, count: int) -> list[_Person]:
        pool = self.people.staff_at.get(staff.school, [])
        if len(pool) <= count or self.rng.random() < 0.3:
            pool = self.people.staff
        picked = self.rng.sample(pool, min(count + 1, len(pool)))
        return [p for p in picked if p.id != staff.id][:count]

    def _staff_student(self) -> _Draft:
        staff = _pick(self.rng, self.people.staff)
        families = self._families(staff, self._count())
        copied = self.rng.random() < 0.1
        cc = tuple(p.email for p in families[0][1]) if copied else ()
        return staff.email, tuple(kid.email for kid, _ in families), cc, "student", False

    def _student_staff(self) -> _Draft:
        staff = _pick(self.rng, self.people.staff)
        kid = self._families(staff, 1)[0][0]
        return kid.email, (staff.email,), (), "student", True

    def _staff_parent(self) -> _Draft:
        staff = _pick(self.rng, self.people.staff)
        parents = self._families(staff, 1)[0][1]
        both = self.rng.random() < 0.4
        to = tuple(p.email for p in parents) if both else (_pick(self.rng, parents).email,)
        cc = tuple(p.email for p in self._colleagues(staff, 1)) if self.rng.random() < 0.1 else ()
        return staff.email, to, cc, "parent", False

    def _parent_staff(self) -> _Draft:
        staff = _pick(self.rng, self.people.staff)
        parent = _pick(self.rng, self._families(staff, 1)[0][1])
        return parent.email, (staff.email,), (), "parent", True

    def _staff_staff(self) -> _Draft:
        staff = _pick(self.rng, self.people.staff)
        to = tuple(p.email for p in self._colleagues(staff, self._count()))
        return staff.email, to, (), "staff", self.rng.random() < 0.3

    def _student_student(self) -> _Draft:
        families = self.people.families_at[_pick(self.rng, self.people.schools)]
        if len(families) < 2:
            families = [(kid, []) for kid in self.people.students]
        (one, _), (other, _) = self.rng.sample(families, 2)
        return one.email, (other.email,), (), "peer", self.rng.random() < 0.3

    def _outside(self) -> _Draft:
        address = _pick(self.rng, self.people.outsiders)[0]
        staff = self.rng.sample(self.people.staff, min(self._count(), len(self.people.staff)))
        return address, tuple(p.email for p in staff), (), "outside", False

    def _personal_to_student(self) -> _Draft:
        staff = self.people.by_id[_pick(self.rng, self._staff_personal)]
        address = self.people.personal_email[staff.id]
        kid = self._families(staff, 1)[0][0]
        if self.rng.random() < 0.3:
            return kid.email, (address,), (), "student", True
        return address, (kid.email,), (), "student", False

    def _personal_to_parent(self) -> _Draft:
        staff = self.people.by_id[_pick(self.rng, self._staff_personal)]
        address = self.people.personal_email[staff.id]
        parent = _pick(self.rng, self._families(staff, 1)[0][1])
        if self.rng.random() < 0.25:
            return parent.email, (address,), (), "parent", True
        return address, (parent.email,), (), "parent", False

    def _student_personal(self) -> _Draft:
        kid = self.people.by_id[_pick(self.rng, self._kids_personal)]
        address = self.people.student_email[kid.id]
        staff = _pick(self.rng, self.people.staff_at.get(kid.school) or self.people.staff)
        if self.rng.random() < 0.25:
            return address, (staff.email,), (), "student", True
        return staff.email, (address,), (), "student", False


def _mails(
    mailer: _Mailer, sizes: dict[str, int], targets: dict[str, int], duplicates: int, bad: int
) -> tuple[list[_Mail], list[_Mail]]:
    """The trace's and the mailbox's messages, with planted violations, duplicates, bad rows."""
    trace: list[_Mail] = []
    mailbox: list[_Mail] = []
    for kind, in_trace in (
        ("personal_email_to_student", 2 / 3),
        ("student_personal_email", 2 / 3),
        ("personal_email_to_parent", 0.0),  # personal to personal never passes the district
    ):
        if mailer.can_plant(kind):
            count = round(targets[kind] * in_trace)
            trace += [mailer.planted(kind) for _ in range(count)]
            mailbox += [mailer.planted(kind) for _ in range(targets[kind] - count)]
    for _ in range(bad):
        broken = mailer.staff_to_students()
        broken.sender, broken.to, broken.cc, broken.kind = "", broken.to[:1], (), "bad"
        trace.append(broken)
    copies = [mailer.staff_to_students() for _ in range(duplicates)]
    trace += copies
    mailbox += copies
    trace += [mailer.compliant() for _ in range(sizes["trace"] - len(trace))]
    mailbox += [mailer.compliant() for _ in range(sizes["mailbox"] - len(mailbox))]
    trace.sort(key=lambda m: (m.when.epoch, m.message_id), reverse=True)  # newest first
    mailbox.sort(key=lambda m: (m.when.epoch, m.message_id))
    return trace, mailbox


# --- texts, calls and voicemail ------------------------------------------------------------


class _Texter:
    """Draws sms-csv rows: compliant texts and calls, planted violations and bad rows."""

    def __init__(
        self, rng: random.Random, people: _People, clock: _Clock, ids: _Ids, expires_on: date
    ) -> None:
        self.rng, self.people, self.clock, self.ids = rng, people, clock, ids
        self._district = sorted(people.district_phone.items())
        self._personal = sorted(people.personal_phone.items())
        if not self._district:
            raise ValueError("the district needs staff with district phones")
        self._window = clock.span(last=expires_on)
        self._expired = clock.span(first=expires_on + timedelta(days=1))
        self._planted = {
            "personal_phone_to_parent": self._personal_phone,
            "denied_platform": self._denied,
            "pending_platform": self._pending,
            "expired_platform": self._expired_platform,
            "channel_not_approved": self._wrong_channel,
        }

    def log(self, size: int, targets: dict[str, int], bad: int) -> list[_Text]:
        """All rows of the log, in time order."""
        rows: list[_Text] = []
        for kind, make in self._planted.items():
            if self._can_plant(kind):
                rows += [make() for _ in range(targets[kind])]
        for index in range(bad):
            phone = _pick(self.rng, self._district)[1]
            when = self.clock.pick(self.rng)
            wrong = (_BAD_PHONES[index % len(_BAD_PHONES)],)
            rows.append(self._row(when, phone, wrong, "text_message", "", False, "bad"))
        rows += [self._compliant() for _ in range(size - len(rows))]
        rows.sort(key=lambda t: (t.when.epoch, t.message_id))
        return rows

    def _can_plant(self, kind: str) -> bool:
        if kind == "personal_phone_to_parent":
            return bool(self._personal)
        return kind != "expired_platform" or self._expired is not None

    def _row(
        self, when: _When, sender: str, to: tuple[str, ...], kind: str, platform: str,
        media: bool, planted: str,
    ) -> _Text:  # fmt: skip
        prefix = {"text_message": "SM", "call": "CA", "voicemail": "RE"}[kind]
        message_id = self.ids.other(self.rng, prefix)
        return _Text(when, sender, to, kind, platform, message_id, media, planted)

    def _parents(self, staff_id: str, families: int = 1) -> list[_Person]:
        """Parents of students at the staff member's school."""
        school = self.people.by_id[staff_id].school
        pool = self.people.families_at.get(school)
        if pool is None:
            pool = self.people.families_at[_pick(self.rng, self.people.schools)]
        picked = self.rng.sample(pool, min(families, len(pool)))
        return [parent for _, parents in picked for parent in parents]

    def _compliant(self) -> _Text:
        rng, draw = self.rng, self.rng.random()
        staff_id, phone = _pick(rng, self._district)
        parent = _pick(rng, self._parents(staff_id)).phone
        when = self.clock.pick(rng)
        if draw < 0.50:
            kind = _weighted(rng, _CALL_KINDS, (75, 92, 100))
            media = kind == "text_message" and rng.random() < 0.05
            return self._row(when, phone, (parent,), kind, "", media, "")
        if draw < 0.65:
            kind = "text_message" if rng.random() < 0.85 else "call"
            return self._row(when, parent, (phone,), kind, "", False, "")
        if draw < 0.70 and len(self._district) > 1:
            other = _pick(rng, [p for s, p in self._district if s != staff_id])
            return self._row(when, phone, (other,), "text_message", "", False, "")
        to = tuple(p.phone for p in self._parents(staff_id, _pick(rng, (1, 1, 2, 3))))
        if draw < 0.76 and self._window is not None:
            when = self.clock.pick(rng, self._window)
            return self._row(when, phone, to, "text_message", EXPIRING, rng.random() < 0.1, "")
        return self._row(when, phone, to, "text_message", TEXTING, rng.random() < 0.15, "")

    def _personal_phone(self) -> _Text:
        staff_id, phone = _pick(self.rng, self._personal)
        parent = _pick(self.rng, self._parents(staff_id)).phone
        kind = _weighted(self.rng, _CALL_KINDS, (70, 90, 100))
        when = self.clock.pick(self.rng)
        return self._row(when, phone, (parent,), kind, "", False, "personal_phone_to_parent")

    def _denied(self) -> _Text:
        staff_id, phone = _pick(self.rng, self._personal or self._district)
        parent = _pick(self.rng, self._parents(staff_id)).phone
        kind = "text_message" if self.rng.random() < 0.8 else "call"
        media = kind == "text_message" and self.rng.random() < 0.2
        when = self.clock.pick(self.rng)
        return self._row(when, phone, (parent,), kind, DENIED, media, "denied_platform")

    def _pending(self) -> _Text:
        staff_id, phone = _pick(self.rng, self._district + self._personal)
        parent = _pick(self.rng, self._parents(staff_id)).phone
        media = self.rng.random() < 0.35
        when = self.clock.pick(self.rng)
        return self._row(when, phone, (parent,), "text_message", PENDING, media, "pending_platform")

    def _expired_platform(self) -> _Text:
        staff_id, phone = _pick(self.rng, self._district)
        to = tuple(p.phone for p in self._parents(staff_id))
        when = self.clock.pick(self.rng, self._expired)
        media = self.rng.random() < 0.1
        return self._row(when, phone, to, "text_message", EXPIRING, media, "expired_platform")

    def _wrong_channel(self) -> _Text:
        staff_id, phone = _pick(self.rng, self._district)
        parent = _pick(self.rng, self._parents(staff_id)).phone
        when = self.clock.pick(self.rng, self._window)
        kind = "channel_not_approved"
        return self._row(when, phone, (parent,), "voicemail", EXPIRING, False, kind)


# --- Slack ---------------------------------------------------------------------------------


def _slack(
    rng: random.Random, people: _People, clock: _Clock, size: int, club_posts: int
) -> _Slack:
    """A Slack workspace of the staff, plus one club channel that students are members of."""
    used: set[str] = set()

    def new_id(prefix: str) -> str:
        while True:
            value = prefix + "".join(rng.choices(string.ascii_uppercase + string.digits, k=9))
            if value not in used:
                used.add(value)
                return value

    uids = {p.id: new_id("U0") for p in people.staff}
    club = _club(rng, people)
    for kid in club[1:]:
        uids[kid.id] = new_id("U0")
    members = _channel_members(rng, people, club)
    channel_ids = {name: new_id("C0") for name in members}
    names = [name for name in members if name != CLUB_CHANNEL]
    cum = list(accumulate(_CHANNEL_WEIGHTS.get(name, 3.0) for name in names))
    posts: list[_Post] = []
    club_count = club_posts if CLUB_CHANNEL in members else 0
    for index in range(size):
        name = CLUB_CHANNEL if index < club_count else _weighted(rng, names, cum)
        author = _pick(rng, members[name])
        planted = "audience_not_approved" if name == CLUB_CHANNEL else ""
        text = _pick(rng, _CLUB_CHAT if planted else _STAFF_CHAT)
        image = rng.random() < 0.03
        posts.append(_Post(clock.pick(rng), name, uids[author.id], text, image, planted))
    posts.sort(key=lambda p: (p.channel, p.when.epoch, p.user, p.text))
    users = sorted(
        (_slack_user(uids[p.id], p) for p in people.staff + club[1:]), key=lambda u: str(u["id"])
    )
    start = calendar.timegm(clock.days[0].timetuple())
    channels = [
        _slack_channel(channel_ids[name], name, sorted(uids[p.id] for p in group), start)
        for name, group in sorted(members.items())
    ]
    return _Slack(users, channels, posts)


def _club(rng: random.Random, people: _People) -> list[_Person]:
    """The robotics club: a high-school coach first, then up to ten students."""
    school = "HS" if "HS" in people.families_at else people.schools[0]
    colleagues = people.staff_at.get(school) or people.staff
    coach = _pick(rng, [p for p in colleagues if p.role == "teacher"] or colleagues)
    kids = [kid for kid, _ in people.families_at[school]]
    return [coach, *sorted(rng.sample(kids, min(10, len(kids))), key=lambda p: p.id)]


def _channel_members(
    rng: random.Random, people: _People, club: list[_Person]
) -> dict[str, list[_Person]]:
    """Members of every channel with at least two members."""
    office = [p for p in people.staff if p.role in ("principal", "districtAdministrator")]
    channels = {"general": people.staff, "district-office": office}
    for school in sorted(people.staff_at):
        if school in people.families_at:
            channels[f"{school.lower()}-staff"] = people.staff_at[school]
    helpers = rng.sample(people.staff, max(2, round(len(people.staff) * 0.4)))
    channels["tech-help"] = sorted(helpers, key=lambda p: p.id)
    if len(club) > 1:
        channels[CLUB_CHANNEL] = club
    return {name: group for name, group in channels.items() if len(group) >= 2}


def _slack_user(uid: str, person: _Person) -> dict[str, Any]:
    given = person.name.split(" ", 1)[0]
    return {
        "id": uid,
        "team_id": "T0DEMO9052",
        "name": person.email.partition("@")[0],
        "deleted": False,
        "real_name": person.name,
        "is_bot": False,
        "profile": {"real_name": person.name, "display_name": given, "email": person.email},
    }


def _slack_channel(cid: str, name: str, members: list[str], created: int) -> dict[str, Any]:
    purpose = "Robotics club practice and competitions" if name == CLUB_CHANNEL else ""
    return {
        "id": cid,
        "name": name,
        "created": created,
        "creator": members[0],
        "is_archived": False,
        "is_general": name == "general",
        "members": members,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": purpose, "creator": "", "last_set": 0},
    }


# --- writing -------------------------------------------------------------------------------


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write a UTF-8 CSV file without BOM."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _district_address(address: str) -> bool:
    return address.endswith(_DISTRICT_SUFFIXES)


_DISTRICT_SUFFIXES = ("@" + STAFF_DOMAIN, "." + STAFF_DOMAIN)


def _write_trace(rng: random.Random, path: Path, mails: list[_Mail]) -> None:
    """Write Get-MessageTrace rows as Export-Csv does: every value quoted, one row a recipient."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(TRACE_HEADER)
        for mail in mails:
            utc = _utc(mail.when)
            hour = utc.hour % 12 or 12
            noon = "AM" if utc.hour < 12 else "PM"
            received = (
                f"{utc.month}/{utc.day}/{utc.year} {hour}:{utc.minute:02d}:{utc.second:02d} {noon}"
            )
            inside = _district_address(mail.sender)
            host = 2 + int(rng.random() * 248)
            from_ip = f"10.20.{host % 40}.{host}" if inside else f"203.0.113.{host}"
            size = str(4_000 + int(rng.random() * 56_000) + (150_000 if mail.image else 0))
            trace_id = _guid(rng)
            for recipient in (*mail.to, *mail.cc):
                status = "Failed" if rng.random() < 0.003 else "Delivered"
                to_ip = "" if _district_address(recipient) else f"198.51.100.{host}"
                writer.writerow(
                    (received, mail.sender, recipient, mail.subject, status, size,
                     mail.message_id, trace_id, from_ip, to_ip)
                )  # fmt: skip


def _display_names(people: _People) -> dict[str, str]:
    """Every known address with its owner's name, as a header writes it."""
    names = dict(people.outsiders)
    for person in people.by_id.values():
        names[person.email] = person.name
    for owner, address in (*people.personal_email.items(), *people.student_email.items()):
        names[address] = people.by_id[owner].name
    return {address: formataddr((name, address)) for address, name in names.items()}


def _write_mbox(path: Path, mails: list[_Mail], people: _People) -> None:
    """Write the messages as a Google Takeout-like mbox."""
    display = _display_names(people)
    staff = {p.email for p in people.staff} | set(people.personal_email.values())
    outside = {address for address, _ in people.outsiders}
    with path.open("w", encoding="utf-8", newline="") as handle:
        for index, mail in enumerate(mails):
            utc = _utc(mail.when)
            thread = (mail.when.epoch << 20) | index
            labels = "Sent" if mail.sender in staff else "Inbox,Opened"
            if mail.sender in outside:
                labels = "Inbox,Category Updates"
            local = mail.when.local
            lines = [
                f"From {thread}@xxx {_WEEKDAYS[utc.weekday()]} {_MONTHS[utc.month - 1]} "
                f"{utc.day:2d} {utc:%H:%M:%S} {utc.year}",
                f"X-GM-THRID: {thread}",
                f"X-Gmail-Labels: {labels}",
                "MIME-Version: 1.0",
                f"Date: {_WEEKDAYS[local.weekday()]}, {local.day} {_MONTHS[local.month - 1]} "
                f"{local.year} {local:%H:%M:%S} {_offset_text(mail.when.offset, '')}",
                f"Message-ID: {mail.message_id}",
                f"Subject: {mail.subject}",
                f"From: {display.get(mail.sender, mail.sender)}",
                "To: " + ", ".join(display.get(a, a) for a in mail.to),
            ]
            if mail.cc:
                lines.append("Cc: " + ", ".join(display.get(a, a) for a in mail.cc))
            handle.write("\n".join(lines) + "\n" + _mime_body(mail, index) + "\n")


def _mime_body(mail: _Mail, index: int) -> str:
    """The content headers and body of a message, with a small PNG for some."""
    text = f"Hello,\n\n{mail.body}\n\nThank you\n"
    plain = 'Content-Type: text/plain; charset="UTF-8"\n'
    if not mail.image:
        return f"{plain}\n{text}"
    boundary = f"00000000000{index:017x}"
    return (
        f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
        f"--{boundary}\n{plain}\n{text}\n"
        f'--{boundary}\nContent-Type: image/png; name="photo.png"\n'
        f'Content-Disposition: attachment; filename="photo.png"\n'
        f"Content-Transfer-Encoding: base64\n\n{_PNG}\n--{boundary}--\n"
    )


def _styled(rng: random.Random, e164: str) -> str:
    """Write an E.164 NANP number in one of the notations people type."""
    if not (e164.startswith("+1") and len(e164) == 12):
        return e164
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    return _pick(
        rng,
        (e164, f"({area}) {exchange}-{line}", f"{area}-{exchange}-{line}",
         f"{area}.{exchange}.{line}", f"+1 {area} {exchange} {line}")
    )  # fmt: skip


def _sms_time(rng: random.Random, when: _When) -> str:
    """The time as a phone export writes it: mostly local without an offset."""
    draw = rng.random()
    if draw < 0.85:
        return when.local.isoformat(sep=" ")
    if draw < 0.95:
        return when.local.isoformat() + _offset_text(when.offset, ":")
    return _utc(when).isoformat() + "Z"


def _write_texts(rng: random.Random, path: Path, rows: list[_Text]) -> None:
    """Write the sms-csv log."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(SMS_HEADER)
        for row in rows:
            to = ";".join(_styled(rng, number) for number in row.to)
            media = "true" if row.media else _pick(rng, ("false", "false", ""))
            writer.writerow(
                (_sms_time(rng, row.when), _styled(rng, row.sender), to, row.type, row.platform,
                 row.message_id, media)
            )  # fmt: skip


def _write_slack(folder: Path, slack: _Slack) -> None:
    """Write the export: users.json, channels.json and one file per channel and day."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "users.json", slack.users)
    _write_json(folder / "channels.json", slack.channels)
    days: dict[tuple[str, date], list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for post in slack.posts:
        micros = post.when.epoch % 997 * 1000 + 100
        while (post.channel, ts := f"{post.when.epoch}.{micros:06d}") in seen:
            micros += 1
        seen.add((post.channel, ts))
        message: dict[str, Any] = {"type": "message", "user": post.user, "text": post.text}
        message["ts"] = ts
        if post.image:
            message["files"] = [
                {"id": f"F{ts.replace('.', '')}", "name": "photo.png", "mimetype": "image/png",
                 "filetype": "png"}
            ]  # fmt: skip
        days[post.channel, post.when.local.date()].append(message)
    for (channel, day), messages in sorted(days.items()):
        (folder / channel).mkdir(exist_ok=True)
        _write_json(folder / channel / f"{day.isoformat()}.json", messages)


def _write_json(path: Path, data: object) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        json.dump(data, handle, indent=4)
        handle.write("\n")
