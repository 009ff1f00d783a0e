"""Seeded sample school district written as roster, registry, contacts and people files."""

from __future__ import annotations

import csv
import random
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

DISTRICT_ID = "DIST"
DISTRICT_NAME = "Example Central School District"
STAFF_DOMAIN = "example.k12.ny.us"
STUDENT_DOMAIN = "students.example.k12.ny.us"
PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com")
VENDOR_DOMAINS = (
    "busco-example.com",
    "lunchworks-example.com",
    "yearbookpro-example.com",
    "edtechsupply-example.com",
)
CONTRACTOR_DOMAINS = ("buildright-example.com", "safeguard-example.com", "hvacpros-example.com")
MAIN_LINE = "+19145550100"
DISTRICT_LINE_PREFIX = "+1914555020"
MODIFIED = "2025-08-15T12:00:00.000Z"
ROLE_BEGIN = "2025-07-01"
ROLE_END = "2026-06-30"
SCHOOL_YEAR_START = date(2025, 9, 1)

STAFF_ROLES = ("teacher", "aide", "counselor", "principal", "districtAdministrator")
FAMILY_ROLES = ("parent", "guardian", "relative")

FEMALE_NAMES = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn",
    "Abigail", "Emily", "Elizabeth", "Sofia", "Camila", "Aria", "Scarlett", "Valentina",
    "Lucía", "Ximena", "Priya", "Ananya", "Aaliyah", "Imani", "Nia", "Zainab", "Fatima",
    "Aisha", "Mei", "Yuna", "Hana", "Leilani", "Maya", "Chloe", "Grace", "Naomi", "Esther",
    "Keisha", "Guadalupe", "Siobhan", "Ingrid",
)  # fmt: skip
MALE_NAMES = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Theodore", "Mateo", "Santiago", "Diego", "José", "Carlos", "Luis", "Arjun", "Rohan",
    "Vikram", "Malik", "Jamal", "Darnell", "Kwame", "Omar", "Yusuf", "Ibrahim", "Wei",
    "Hiroshi", "Minjun", "Kai", "Ethan", "Daniel", "Samuel", "David", "Gabriel", "Andre",
    "Sean", "Patrick", "Dmitri", "Tomás",
)  # fmt: skip
FAMILY_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
    "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
    "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Patel", "Shah", "Kim", "Park", "Chen", "Wang",
    "Singh", "Khan", "Ali", "Okafor", "Adeyemi", "Mensah", "Haddad", "Cohen", "Goldberg",
    "Kowalski", "Novak", "O'Brien", "Murphy", "Sullivan", "Rossi", "Esposito", "Schmidt",
    "Müller", "Yamamoto", "Tanaka", "Nakamura", "Santos", "Oliveira", "Díaz", "Begay",
    "Yazzie",
)  # fmt: skip

MANIFEST_FILES = (
    "academicSessions", "categories", "classes", "classResources", "courses",
    "courseResources", "demographics", "enrollments", "lineItemLearningObjectiveIds",
    "lineItems", "lineItemScoreScales", "orgs", "resources", "resultLearningObjectiveIds",
    "results", "resultScoreScales", "roles", "scoreScales", "userProfiles", "userResources",
    "users",
)  # fmt: skip
ORGS_HEADER = (
    "sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId",
)  # fmt: skip
USERS_HEADER = (
    "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
    "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
    "agentSourcedIds", "grades", "password", "userMasterIdentifier", "preferredGivenName",
    "preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns",
)  # fmt: skip
ROLES_HEADER = (
    "sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role",
    "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId",
)  # fmt: skip
DEMOGRAPHICS_HEADER = (
    "sourcedId", "status", "dateLastModified", "birthDate", "sex",
    "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander", "white", "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity", "countryOfBirthCode", "stateOfBirthAbbreviation",
    "cityOfBirth", "publicSchoolResidenceStatus",
)  # fmt: skip
CONTACTS_HEADER = ("person_id", "kind", "value", "district_owned")
PEOPLE_HEADER = (
    "person_id", "population", "given_name", "family_name", "org_ids", "email", "phone",
)  # fmt: skip

_NAMED_SCHOOLS = (
    ("HS", "Hillcrest High School", "high", "hillcresths"),
    ("MS", "Lincoln Middle School", "middle", "lincolnms"),
    ("ES", "Maple Elementary School", "elementary", "maplees"),
)
_GRADES = {
    "high": ("09", "10", "11", "12"),
    "middle": ("06", "07", "08"),
    "elementary": ("KG", "01", "02", "03", "04", "05"),
}


@dataclass(frozen=True)
class SampleDistrict:
    """Paths of the generated files and the active people per population."""

    roster: Path
    registry: Path
    contacts: Path
    people: Path
    counts: dict[str, int]


@dataclass(frozen=True)
class _School:
    """One school of the sample district."""

    org_id: str
    name: str
    slug: str
    grades: tuple[str, ...]


@dataclass
class _User:
    """One roster user before it is written to users.csv and roles.csv."""

    sourced_id: str
    role: str
    given: str
    family: str
    sex: str
    orgs: list[str]
    password: str
    email: str = ""
    username: str = ""
    identifier: str = ""
    middle: str = ""
    phone: str = ""
    grade: str = ""
    birth_date: str = ""
    status: str = "active"
    agents: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Platform:
    """One platform entry of registry.yaml."""

    id: str
    name: str
    status: str
    channels: tuple[str, ...]
    audiences: tuple[str, ...]
    domains: tuple[str, ...]
    phones: tuple[str, ...] = ()
    approved_on: str = ""
    expires_on: str = ""


@dataclass(frozen=True)
class _SocialAccount:
    """One social_accounts entry of registry.yaml."""

    platform: str
    handle: str
    kind: str
    owner: str
    org: str
    approved_on: str = ""


_PLATFORMS = (
    _Platform(
        "parentsquare", "ParentSquare", "approved",
        ("email", "text_message", "voicemail", "image_sharing", "chat", "call", "social_message"),
        ("staff-student", "staff-parent", "staff-staff"),
        ("parentsquare.com",), ("+18885550123",), "2023-08-01",
    ),
    _Platform(
        "remind", "Remind", "approved", ("text_message", "chat", "image_sharing"),
        ("staff-student", "staff-parent"), ("remind.com",), ("+18885550190",),
        "2022-01-15", "2026-08-01",
    ),
    _Platform(
        "google-classroom", "Google Classroom", "approved", ("email", "chat", "image_sharing"),
        ("staff-student", "staff-staff"), ("classroom.google.com",), (), "2021-09-01",
    ),
    _Platform(
        "classdojo", "ClassDojo", "pending", ("chat", "image_sharing"), ("staff-parent",),
        ("classdojo.com",),
    ),
    _Platform(
        "whatsapp", "WhatsApp", "denied",
        ("text_message", "voicemail", "image_sharing", "call", "chat"),
        ("staff-student", "staff-parent", "staff-staff"), ("whatsapp.com",),
    ),
    _Platform(
        "slack", "Slack", "approved", ("chat",), ("staff-staff",), ("slack.com",), (),
        "2024-01-01",
    ),
)  # fmt: skip


class _PhonePool:
    """Unique fictional 914 mobile numbers: 555-1000…9999 first, then 220…299 exchanges."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._free = [n for n in range(1000, 10000) if n != 1212]
        rng.shuffle(self._free)
        self._used: set[int] = set()

    def take(self) -> str:
        """Return a number in E.164 that was not handed out before."""
        if self._free:
            return f"+1914555{self._free.pop():04d}"
        while True:
            number = self._rng.randrange(2_200_000, 3_000_000)
            if number not in self._used:
                self._used.add(number)
                return f"+1914{number:07d}"


class _Context:
    """Random source plus the registries that keep e-mails and phones unique."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.phones = _PhonePool(self.rng)
        self._emails: set[str] = set()

    def person_name(self) -> tuple[str, str, str]:
        """Return a random given name, family name and sex."""
        sex = self.rng.choice(("female", "male"))
        given = self.rng.choice(FEMALE_NAMES if sex == "female" else MALE_NAMES)
        return given, self.rng.choice(FAMILY_NAMES), sex

    def email(self, local: str, domain: str) -> str:
        """Return local@domain, adding a digit when the address is already taken."""
        address, suffix = f"{local}@{domain}", 2
        while address in self._emails:
            address, suffix = f"{local}{suffix}@{domain}", suffix + 1
        self._emails.add(address)
        return address

    def personal_email(self, given: str, family: str) -> str:
        """Return a unique personal address at a consumer mail provider."""
        local = _personal_local(self.rng, given, family)
        return self.email(local, self.rng.choice(PERSONAL_DOMAINS))

    def password(self) -> str:
        """Return a random throw-away password."""
        return "Pw-" + "".join(self.rng.choices(string.ascii_letters + string.digits, k=10))

    def mobile(self) -> str:
        """Return a unique personal mobile number in a common notation."""
        return _styled(self.rng, self.phones.take())


def generate(
    out: Path, *, seed: int = 9052, schools: int = 3, students: int = 2000, staff: int = 150
) -> SampleDistrict:
    """Write a seeded sample district under out and describe what was written."""
    if schools < 1 or students < 1:
        raise ValueError("a sample district needs at least one school and one student")
    ctx = _Context(seed)
    school_list = _schools(schools)
    kids, parents = _households(ctx, school_list, students)
    employees = _staff(ctx, school_list, kids, staff)
    contacts, accounts = _contacts(ctx, employees, school_list)
    outsiders = _outsiders(ctx, school_list)
    roster = out / "roster"
    roster.mkdir(parents=True, exist_ok=True)
    _write_roster(roster, school_list, [*employees, *kids, *parents])
    _write_csv(out / "contacts.csv", CONTACTS_HEADER, contacts)
    _write_csv(out / "people.csv", PEOPLE_HEADER, outsiders)
    _write_text(out / "registry.yaml", _registry_text(accounts))
    return SampleDistrict(
        roster=roster,
        registry=out / "registry.yaml",
        contacts=out / "contacts.csv",
        people=out / "people.csv",
        counts=_counts(employees, kids, parents, outsiders),
    )


def _counts(
    employees: list[_User], kids: list[_User], parents: list[_User], outsiders: list[list[str]]
) -> dict[str, int]:
    """Count the active people of every population."""
    counts = {
        "staff": sum(u.status == "active" for u in employees),
        "student": sum(u.status == "active" for u in kids),
        "parent": sum(u.status == "active" for u in parents),
    }
    for population in ("vendor", "volunteer", "contractor"):
        counts[population] = sum(row[1] == population for row in outsiders)
    return counts


def _ascii(name: str) -> str:
    """Fold a name to lower-case ASCII letters for an address."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed.lower() if c in string.ascii_lowercase)


def _personal_local(rng: random.Random, given: str, family: str) -> str:
    """Return a plausible local part of a personal e-mail address."""
    g, f = _ascii(given), _ascii(family)
    pattern = rng.randrange(4)
    if pattern == 0:
        return f"{g}.{f}"
    if pattern == 1:
        return f"{g}{f}{rng.randrange(1, 100)}"
    if pattern == 2:
        return f"{g[0]}{f}{rng.randrange(60, 100)}"
    return f"{f}.{g}"


def _styled(rng: random.Random, e164: str) -> str:
    """Write an E.164 NANP number in one of the notations people type."""
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    return rng.choice(
        (
            e164,
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"+1 {area} {exchange} {line}",
        )
    )


def _schools(count: int) -> list[_School]:
    """Return the schools: HS, MS, ES, then numbered elementary schools."""
    result = []
    for index in range(count):
        if index < len(_NAMED_SCHOOLS):
            org_id, name, level, slug = _NAMED_SCHOOLS[index]
        else:
            number = index - len(_NAMED_SCHOOLS) + 2
            org_id, name = f"ES{number}", f"Elementary School No. {number}"
            level, slug = "elementary", f"es{number}"
        result.append(_School(org_id, name, slug, _GRADES[level]))
    return result


def _family_sizes(rng: random.Random, students: int) -> list[int]:
    """Split the students into families; about 10% have two or more siblings."""
    sizes: list[int] = []
    left = students
    while left > 0:
        size = rng.choice((2, 2, 2, 3)) if rng.random() < 0.10 else 1
        sizes.append(min(size, left))
        left -= sizes[-1]
    return sizes


def _households(
    ctx: _Context, schools: list[_School], students: int
) -> tuple[list[_User], list[_User]]:
    """Generate students and their parents, linked both ways."""
    numbers = list(range(1, students + 1))
    ctx.rng.shuffle(numbers)
    kids: list[_User] = []
    parents: list[_User] = []
    for size in _family_sizes(ctx.rng, students):
        family = ctx.rng.choice(FAMILY_NAMES)
        siblings = [_student(ctx, schools, numbers[len(kids) + k], family) for k in range(size)]
        siblings.sort(key=lambda user: user.sourced_id)
        adults = _parents(ctx, len(parents) + 1, family, siblings)
        for kid in siblings:
            kid.agents = [adult.sourced_id for adult in adults]
        for adult in adults:
            adult.agents = [kid.sourced_id for kid in siblings]
        kids.extend(siblings)
        parents.extend(adults)
    kids.sort(key=lambda user: user.sourced_id)
    _mark_deleted(ctx.rng, kids)
    return kids, parents


def _mark_deleted(rng: random.Random, kids: list[_User]) -> None:
    """Mark about 1% of the students as tobedeleted."""
    count = max(1, round(len(kids) / 100)) if len(kids) >= 10 else 0
    for kid in rng.sample(kids, count):
        kid.status = "tobedeleted"


def _student(ctx: _Context, schools: list[_School], number: int, family: str) -> _User:
    """Generate one student of a family."""
    rng = ctx.rng
    school = rng.choices(schools, weights=[len(s.grades) for s in schools])[0]
    given, _, sex = ctx.person_name()
    kid = _User(f"S{number:06d}", "student", given, family, sex, [school.org_id], ctx.password())
    kid.middle = ctx.person_name()[0] if rng.random() < 0.4 else ""
    kid.email = ctx.email(f"{_ascii(given)}.{_ascii(family)}", STUDENT_DOMAIN)
    kid.username = kid.email.split("@")[0]
    kid.identifier = str(100_000_000 + number)
    kid.grade = rng.choice(school.grades)
    kid.birth_date = _birth_date(rng, kid.grade).isoformat()
    return kid


def _birth_date(rng: random.Random, grade: str) -> date:
    """Return a birth date that fits the grade in the 2025-26 school year."""
    level = 0 if grade == "KG" else int(grade)
    earliest = SCHOOL_YEAR_START.replace(year=SCHOOL_YEAR_START.year - 6 - level)
    return earliest + timedelta(days=1 + rng.randrange(365))


def _parents(ctx: _Context, first: int, family: str, kids: list[_User]) -> list[_User]:
    """Generate one or two parents for a family of students."""
    rng = ctx.rng
    orgs = list(dict.fromkeys(kid.orgs[0] for kid in kids))
    adults = []
    for offset in range(2 if rng.random() < 0.65 else 1):
        given, other_family, sex = ctx.person_name()
        surname = family if offset == 0 or rng.random() < 0.75 else other_family
        role = rng.choices(FAMILY_ROLES, weights=(91, 7, 2))[0]
        adult = _User(f"P{first + offset:06d}", role, given, surname, sex, orgs, ctx.password())
        adult.email = ctx.personal_email(given, surname)
        adult.username = adult.email
        adult.phone = ctx.mobile()
        adults.append(adult)
    return adults


def _staff_plan(
    rng: random.Random, schools: list[_School], kids: list[_User], staff: int
) -> list[tuple[str, str]]:
    """Return (role, org) for every staff member, in random order."""
    admins = min(3, max(1, staff // 50))
    plan = [("principal", s.org_id) for s in schools]
    plan += [("districtAdministrator", DISTRICT_ID)] * admins
    if staff < len(plan) + 1:
        raise ValueError(f"staff must be at least {len(plan) + 1} for {len(schools)} schools")
    rest = staff - len(plan)
    counselors = min(rest // 20, 2 * len(schools))
    aides = rest * 12 // 100
    plan += [("counselor", schools[i % len(schools)].org_id) for i in range(counselors)]
    weights = [1 + sum(kid.orgs[0] == s.org_id for kid in kids) for s in schools]
    for role in ["aide"] * aides + ["teacher"] * (rest - counselors - aides):
        plan.append((role, rng.choices(schools, weights=weights)[0].org_id))
    rng.shuffle(plan)
    return plan


def _staff(ctx: _Context, schools: list[_School], kids: list[_User], staff: int) -> list[_User]:
    """Generate the staff with district e-mail addresses and a few district phones."""
    employees = []
    for number, (role, org) in enumerate(_staff_plan(ctx.rng, schools, kids, staff), start=1):
        given, family, sex = ctx.person_name()
        member = _User(f"T{number:04d}", role, given, family, sex, [org], ctx.password())
        member.middle = ctx.person_name()[0] if ctx.rng.random() < 0.3 else ""
        member.email = ctx.email(f"{_ascii(given)}.{_ascii(family)}", STAFF_DOMAIN)
        member.username = member.email.split("@")[0]
        member.identifier = f"E{20_000 + number}"
        employees.append(member)
    _roster_phones(employees, schools)
    return employees


def _district_lines() -> list[str]:
    """Return the ten district lines covered by the +1914555020* prefix."""
    return [f"{DISTRICT_LINE_PREFIX}{digit}" for digit in range(10)]


def _roster_phones(employees: list[_User], schools: list[_School]) -> None:
    """Give principals (school order) and the first administrator a district line."""
    order = {school.org_id: index for index, school in enumerate(schools)}
    principals = sorted(
        (u for u in employees if u.role == "principal"), key=lambda u: order[u.orgs[0]]
    )
    admins = [u for u in employees if u.role == "districtAdministrator"][:1]
    for member, line in zip([*principals, *admins], _district_lines(), strict=False):
        member.phone = line


def _contacts(
    ctx: _Context, employees: list[_User], schools: list[_School]
) -> tuple[list[list[str]], list[_SocialAccount]]:
    """Return contacts.csv rows for staff and the registry's social accounts."""
    rng, ids = ctx.rng, [u.sourced_id for u in employees]
    by_id = {u.sourced_id: u for u in employees}
    rows: list[list[str]] = []
    for person_id in sorted(rng.sample(ids, round(len(ids) * 0.30))):
        user = by_id[person_id]
        rows.append([person_id, "email", ctx.personal_email(user.given, user.family), "false"])
    for person_id in sorted(rng.sample(ids, round(len(ids) * 0.25))):
        rows.append([person_id, "phone", ctx.mobile(), "false"])
    rows += _district_phone_rows(rng, employees)
    handles = _social_handles(ctx, employees)
    rows += [[owner, "social:instagram", handle, "false"] for owner, handle in handles]
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    return rows, _social_accounts(employees, schools, handles)


def _district_phone_rows(rng: random.Random, employees: list[_User]) -> list[list[str]]:
    """Issue the unused district lines to about 10% of the staff."""
    taken = {u.phone for u in employees}
    free = [line for line in _district_lines() if line not in taken]
    candidates = sorted(u.sourced_id for u in employees if not u.phone)
    count = min(len(free), len(candidates), round(len(employees) * 0.10))
    chosen = sorted(rng.sample(candidates, count))
    pairs = zip(chosen, free[:count], strict=True)
    return [[person_id, "phone", line, "true"] for person_id, line in pairs]


def _social_handles(ctx: _Context, employees: list[_User]) -> list[tuple[str, str]]:
    """Return (owner, handle) of a few teachers' personal Instagram accounts."""
    teachers = [u for u in employees if u.role == "teacher"]
    owners = ctx.rng.sample(teachers, min(4, len(teachers)))
    handles = []
    for user in owners:
        g, f = _ascii(user.given), _ascii(user.family)
        handles.append((user.sourced_id, f"{g}_{f}{ctx.rng.randrange(10, 100)}"))
    return handles


def _social_accounts(
    employees: list[_User], schools: list[_School], handles: list[tuple[str, str]]
) -> list[_SocialAccount]:
    """Return two professional accounts (HS principal, a teacher) and one personal."""
    hs = schools[0]
    principal = next(u for u in employees if u.role == "principal" and u.orgs[0] == hs.org_id)
    teachers = [u for u in employees if u.role == "teacher"]
    preferred = schools[1].org_id if len(schools) > 1 else hs.org_id
    teacher = next((u for u in teachers if u.orgs[0] == preferred), teachers[0])
    school = next(s for s in schools if s.org_id == teacher.orgs[0])
    accounts = [
        _SocialAccount(
            "instagram", f"{hs.slug}athletics", "professional", principal.sourced_id,
            hs.org_id, "2024-01-10",
        ),
        _SocialAccount(
            "facebook", f"{school.slug}music", "professional", teacher.sourced_id,
            school.org_id, "2024-03-04",
        ),
    ]  # fmt: skip
    if handles:
        owner = next(u for u in employees if u.sourced_id == handles[0][0])
        accounts.append(
            _SocialAccount("instagram", handles[0][1], "personal", owner.sourced_id, owner.orgs[0])
        )
    return accounts


def _outsiders(ctx: _Context, schools: list[_School]) -> list[list[str]]:
    """Return people.csv rows for vendors, volunteers and contractors."""
    rows = [
        _outsider(ctx, schools, f"V{n:03d}", "vendor", VENDOR_DOMAINS, 0.5) for n in range(1, 9)
    ]
    rows += [_outsider(ctx, schools, f"VOL{n:03d}", "volunteer", (), 0.6) for n in range(1, 11)]
    rows += [
        _outsider(ctx, schools, f"C{n:03d}", "contractor", CONTRACTOR_DOMAINS, 0.4)
        for n in range(1, 6)
    ]
    return rows


def _outsider(
    ctx: _Context,
    schools: list[_School],
    person_id: str,
    population: str,
    domains: Sequence[str],
    phone_share: float,
) -> list[str]:
    """Return one people.csv row; without company domains the e-mail is personal."""
    rng = ctx.rng
    given, family, _ = ctx.person_name()
    if domains:
        email = ctx.email(f"{_ascii(given)}.{_ascii(family)}", rng.choice(domains))
    else:
        email = ctx.personal_email(given, family)
    picked = rng.sample(schools, min(len(schools), rng.choice((1, 1, 2))))
    org_ids = ";".join(s.org_id for s in schools if s in picked)
    phone = ctx.mobile() if rng.random() < phone_share else ""
    return [person_id, population, given, family, org_ids, email, phone]


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write a UTF-8 CSV file without BOM."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file with LF line ends."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _write_roster(folder: Path, schools: list[_School], users: list[_User]) -> None:
    """Write the OneRoster 1.2 CSV bundle."""
    present = ("orgs", "users", "roles", "demographics")
    manifest = [["manifest.version", "1.0"], ["oneroster.version", "1.2"]]
    for name in MANIFEST_FILES:
        manifest.append([f"file.{name}", "bulk" if name in present else "absent"])
    manifest += [["source.systemName", "Chaperone demo"], ["source.systemCode", "chaperone-demo"]]
    _write_csv(folder / "manifest.csv", ("propertyName", "value"), manifest)
    _write_csv(folder / "orgs.csv", ORGS_HEADER, _org_rows(schools))
    _write_csv(folder / "users.csv", USERS_HEADER, [_user_row(u) for u in users])
    _write_csv(folder / "roles.csv", ROLES_HEADER, [r for u in users for r in _role_rows(u)])
    students = [u for u in users if u.role == "student"]
    _write_csv(folder / "demographics.csv", DEMOGRAPHICS_HEADER, map(_demographics_row, students))


def _org_rows(schools: list[_School]) -> list[list[str]]:
    """Return orgs.csv rows: the district, then its schools."""
    rows = [[DISTRICT_ID, "active", MODIFIED, DISTRICT_NAME, "district", DISTRICT_ID, ""]]
    for school in schools:
        rows.append(
            [school.org_id, "active", MODIFIED, school.name, "school", school.org_id, DISTRICT_ID]
        )
    return rows


def _user_row(user: _User) -> list[str]:
    """Return the users.csv row of a user."""
    enabled = "true" if user.status == "active" else "false"
    return [
        user.sourced_id, user.status, MODIFIED, enabled, user.username, "", user.given,
        user.family, user.middle, user.identifier, user.email, "", user.phone,
        ",".join(user.agents), user.grade, user.password, "", "", "", "", user.orgs[0], "",
    ]  # fmt: skip


def _role_rows(user: _User) -> list[list[str]]:
    """Return the roles.csv rows of a user, one per org."""
    return [
        [
            f"{user.sourced_id}-{org}", user.status, MODIFIED, user.sourced_id,
            "primary" if index == 0 else "secondary", user.role, ROLE_BEGIN, ROLE_END, org, "",
        ]
        for index, org in enumerate(user.orgs)
    ]  # fmt: skip


def _demographics_row(user: _User) -> list[str]:
    """Return the demographics.csv row of a student."""
    return [user.sourced_id, user.status, MODIFIED, user.birth_date, user.sex] + [""] * 11


def _flow(items: Sequence[str], *, quote: bool = False) -> str:
    """Return a YAML flow sequence."""
    return "[" + ", ".join(f'"{item}"' if quote else item for item in items) + "]"


def _registry_text(accounts: list[_SocialAccount]) -> str:
    """Return registry.yaml as text."""
    lines = [
        "# Sample registry generated by `chaperone demo`; the district is fictional.",
        "district:",
        f"  name: {DISTRICT_NAME}",
        "  timezone: America/New_York",
        "  default_region: US",
        f"  email_domains: {_flow([STAFF_DOMAIN, STUDENT_DOMAIN])}",
        f"  phone_numbers: {_flow([MAIN_LINE, DISTRICT_LINE_PREFIX + '*'], quote=True)}",
        "platforms:",
    ]
    for platform in _PLATFORMS:
        lines += _platform_lines(platform)
    lines.append("social_accounts:")
    for account in accounts:
        lines += _account_lines(account)
    return "\n".join(lines) + "\n"


def _platform_lines(platform: _Platform) -> list[str]:
    """Return the registry.yaml lines of one platform."""
    lines = [
        f"  - id: {platform.id}",
        f"    name: {platform.name}",
        f"    status: {platform.status}",
        f"    channel_types: {_flow(platform.channels)}",
        f"    audiences: {_flow(platform.audiences)}",
        "    identifiers:",
        f"      email_domains: {_flow(platform.domains)}",
    ]
    if platform.phones:
        lines.append(f"      phone_numbers: {_flow(platform.phones, quote=True)}")
    if platform.approved_on:
        lines.append(f"    approved_on: {platform.approved_on}")
    if platform.expires_on:
        lines.append(f"    expires_on: {platform.expires_on}")
    return lines


def _account_lines(account: _SocialAccount) -> list[str]:
    """Return the registry.yaml lines of one social account."""
    lines = [
        f"  - platform: {account.platform}",
        f"    handle: {account.handle}",
        f"    kind: {account.kind}",
        f"    owner: {account.owner}",
        f"    org: {account.org}",
    ]
    if account.approved_on:
        lines.append(f"    approved_on: {account.approved_on}")
    return lines
