"""Students and their parents: families of siblings, linked both ways as OneRoster agents."""

from __future__ import annotations

import random
from datetime import date, timedelta

from chaperone.demo.district.context import Context
from chaperone.demo.district.model import (
    FAMILY_ROLES,
    SCHOOL_YEAR_START,
    STUDENT_DOMAIN,
    School,
    User,
)
from chaperone.demo.district.names import FAMILY_NAMES, fold_ascii


def draw_households(
    ctx: Context, schools: list[School], students: int
) -> tuple[list[User], list[User]]:
    """Generate students and their parents, linked both ways."""
    numbers = list(range(1, students + 1))
    ctx.rng.shuffle(numbers)
    kids: list[User] = []
    parents: list[User] = []
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


def _family_sizes(rng: random.Random, students: int) -> list[int]:
    """Split the students into families; about 10% have two or more siblings."""
    sizes: list[int] = []
    left = students
    while left > 0:
        size = rng.choice((2, 2, 2, 3)) if rng.random() < 0.10 else 1
        sizes.append(min(size, left))
        left -= sizes[-1]
    return sizes


def _mark_deleted(rng: random.Random, kids: list[User]) -> None:
    """Mark about 1% of the students as tobedeleted."""
    count = max(1, round(len(kids) / 100)) if len(kids) >= 10 else 0
    for kid in rng.sample(kids, count):
        kid.status = "tobedeleted"


def _student(ctx: Context, schools: list[School], number: int, family: str) -> User:
    """Generate one student of a family."""
    rng = ctx.rng
    school = rng.choices(schools, weights=[len(s.grades) for s in schools])[0]
    given, _, sex = ctx.person_name()
    kid = User(f"S{number:06d}", "student", given, family, sex, [school.org_id], ctx.password())
    kid.middle = ctx.person_name()[0] if rng.random() < 0.4 else ""
    kid.email = ctx.email(f"{fold_ascii(given)}.{fold_ascii(family)}", STUDENT_DOMAIN)
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


def _parents(ctx: Context, first: int, family: str, kids: list[User]) -> list[User]:
    """Generate one or two parents for a family of students."""
    rng = ctx.rng
    orgs = list(dict.fromkeys(kid.orgs[0] for kid in kids))
    adults = []
    for offset in range(2 if rng.random() < 0.65 else 1):
        given, other_family, sex = ctx.person_name()
        surname = family if offset == 0 or rng.random() < 0.75 else other_family
        role = rng.choices(FAMILY_ROLES, weights=(91, 7, 2))[0]
        adult = User(f"P{first + offset:06d}", role, given, surname, sex, orgs, ctx.password())
        adult.email = ctx.personal_email(given, surname)
        adult.username = adult.email
        adult.phone = ctx.mobile()
        adults.append(adult)
    return adults
