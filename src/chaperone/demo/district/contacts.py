"""contacts.csv: staff members' personal e-mails and phones, district phones and handles."""

from __future__ import annotations

import random

from chaperone.demo.district.context import Context
from chaperone.demo.district.model import School, User, district_lines
from chaperone.demo.district.names import fold_ascii
from chaperone.demo.district.registry import SocialAccount, social_accounts

CONTACTS_HEADER = ("person_id", "kind", "value", "district_owned")


def draw_contacts(
    ctx: Context, employees: list[User], schools: list[School]
) -> tuple[list[list[str]], list[SocialAccount]]:
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
    return rows, social_accounts(employees, schools, handles)


def _district_phone_rows(rng: random.Random, employees: list[User]) -> list[list[str]]:
    """Issue the unused district lines to about 10% of the staff."""
    taken = {u.phone for u in employees}
    free = [line for line in district_lines() if line not in taken]
    candidates = sorted(u.sourced_id for u in employees if not u.phone)
    count = min(len(free), len(candidates), round(len(employees) * 0.10))
    chosen = sorted(rng.sample(candidates, count))
    pairs = zip(chosen, free[:count], strict=True)
    return [[person_id, "phone", line, "true"] for person_id, line in pairs]


def _social_handles(ctx: Context, employees: list[User]) -> list[tuple[str, str]]:
    """Return (owner, handle) of a few teachers' personal Instagram accounts."""
    teachers = [u for u in employees if u.role == "teacher"]
    owners = ctx.rng.sample(teachers, min(4, len(teachers)))
    handles = []
    for user in owners:
        g, f = fold_ascii(user.given), fold_ascii(user.family)
        handles.append((user.sourced_id, f"{g}_{f}{ctx.rng.randrange(10, 100)}"))
    return handles
