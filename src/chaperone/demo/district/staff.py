"""The district's staff: who works where, their district accounts and district lines."""

from __future__ import annotations

import random

from chaperone.demo.district.context import Context
from chaperone.demo.district.model import (
    DISTRICT_ID,
    STAFF_DOMAIN,
    School,
    User,
    district_lines,
)
from chaperone.demo.district.names import fold_ascii


def draw_staff(ctx: Context, schools: list[School], kids: list[User], staff: int) -> list[User]:
    """Generate the staff with district e-mail addresses and a few district phones."""
    employees = []
    for number, (role, org) in enumerate(_staff_plan(ctx.rng, schools, kids, staff), start=1):
        given, family, sex = ctx.person_name()
        member = User(f"T{number:04d}", role, given, family, sex, [org], ctx.password())
        member.middle = ctx.person_name()[0] if ctx.rng.random() < 0.3 else ""
        member.email = ctx.email(f"{fold_ascii(given)}.{fold_ascii(family)}", STAFF_DOMAIN)
        member.username = member.email.split("@")[0]
        member.identifier = f"E{20_000 + number}"
        employees.append(member)
    _roster_phones(employees, schools)
    return employees


def _staff_plan(
    rng: random.Random, schools: list[School], kids: list[User], staff: int
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


def _roster_phones(employees: list[User], schools: list[School]) -> None:
    """Give principals (school order) and the first administrator a district line."""
    order = {school.org_id: index for index, school in enumerate(schools)}
    principals = sorted(
        (u for u in employees if u.role == "principal"), key=lambda u: order[u.orgs[0]]
    )
    admins = [u for u in employees if u.role == "districtAdministrator"][:1]
    for member, line in zip([*principals, *admins], district_lines(), strict=False):
        member.phone = line
