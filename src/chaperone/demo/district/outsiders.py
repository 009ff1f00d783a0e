"""people.csv: the vendors, volunteers and contractors who are not in the roster."""

from __future__ import annotations

from collections.abc import Sequence

from chaperone.demo.district.context import Context
from chaperone.demo.district.model import CONTRACTOR_DOMAINS, VENDOR_DOMAINS, School
from chaperone.demo.district.names import fold_ascii

PEOPLE_HEADER = (
    "person_id", "population", "given_name", "family_name", "org_ids", "email", "phone",
)  # fmt: skip


def draw_outsiders(ctx: Context, schools: list[School]) -> list[list[str]]:
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
    ctx: Context,
    schools: list[School],
    person_id: str,
    population: str,
    domains: Sequence[str],
    phone_share: float,
) -> list[str]:
    """Return one people.csv row; without company domains the e-mail is personal."""
    rng = ctx.rng
    given, family, _ = ctx.person_name()
    if domains:
        email = ctx.email(f"{fold_ascii(given)}.{fold_ascii(family)}", rng.choice(domains))
    else:
        email = ctx.personal_email(given, family)
    picked = rng.sample(schools, min(len(schools), rng.choice((1, 1, 2))))
    org_ids = ";".join(s.org_id for s in schools if s in picked)
    phone = ctx.mobile() if rng.random() < phone_share else ""
    return [person_id, population, given, family, org_ids, email, phone]
