"""The sample district's fixed facts, its schools, and the roster users generated for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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
SCHOOL_YEAR_START = date(2025, 9, 1)

STAFF_ROLES = ("teacher", "aide", "counselor", "principal", "districtAdministrator")
FAMILY_ROLES = ("parent", "guardian", "relative")

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
class School:
    """One school of the sample district."""

    org_id: str
    name: str
    slug: str
    grades: tuple[str, ...]


@dataclass
class User:
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


def build_schools(count: int) -> list[School]:
    """Return the schools: HS, MS, ES, then numbered elementary schools."""
    result = []
    for index in range(count):
        if index < len(_NAMED_SCHOOLS):
            org_id, name, level, slug = _NAMED_SCHOOLS[index]
        else:
            number = index - len(_NAMED_SCHOOLS) + 2
            org_id, name = f"ES{number}", f"Elementary School No. {number}"
            level, slug = "elementary", f"es{number}"
        result.append(School(org_id, name, slug, _GRADES[level]))
    return result


def district_lines() -> list[str]:
    """Return the ten district lines covered by the +1914555020* prefix."""
    return [f"{DISTRICT_LINE_PREFIX}{digit}" for digit in range(10)]
