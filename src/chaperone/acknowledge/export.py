"""The list of people still to acknowledge, as the CLI and the web application export it."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from typing import TextIO

from chaperone.store.models import Notice, Person

OUTSTANDING_COLUMNS = [
    "person_id",
    "given_name",
    "family_name",
    "population",
    "school",
    "address",
    "sent_at",
    "send_count",
    "last_error",
]
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def outstanding_row(notice: Notice, person: Person | None) -> dict[str, object]:
    """One person still to acknowledge, in the export's columns (no link, ever)."""
    return {
        "person_id": notice.person_id,
        "given_name": person.given_name if person else "",
        "family_name": person.family_name if person else "",
        "population": notice.population,
        "school": notice.school or "",
        "address": notice.address or "",
        "sent_at": _utc(notice.sent_at).isoformat() if notice.sent_at else "",
        "send_count": notice.send_count,
        "last_error": notice.last_error,
    }


def _utc(moment: dt.datetime) -> dt.datetime:
    """SQLite gives naive times back; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, quoted so it shows as text.

    The list is made for school offices that open it in Excel, and names and relay
    replies come from outside (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(handle: TextIO, rows: Iterable[dict[str, object]]) -> None:
    """The rows as CSV with a header, every text cell spreadsheet-safe."""
    writer = csv.DictWriter(handle, fieldnames=OUTSTANDING_COLUMNS)
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
