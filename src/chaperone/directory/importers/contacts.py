"""contacts.csv: accounts the roster does not carry (``person_id,kind,value,district_owned``).

Typical use: HR's list of staff personal e-mail addresses and phone numbers, and
district-issued phones. ``kind`` is ``email``, ``phone`` or ``social:<platform>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chaperone.common.addresses import checked_email, normalize_phone, normalize_social
from chaperone.common.csvfile import CsvTable, Row
from chaperone.common.problems import Problem

COLUMNS = ("person_id", "kind", "value", "district_owned")
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True)
class ContactRecord:
    """One extra account of a person, with whether the district owns it."""

    person_id: str
    kind: str
    value: str
    district_owned: bool
    line: int


@dataclass
class ContactBatch:
    """The accounts of a contacts file and the problems found reading it."""

    file: str
    contacts: list[ContactRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class ContactsImporter:
    """Reads contacts.csv into a ContactBatch."""

    source = "contacts"

    def __init__(self, path: Path, *, region: str) -> None:
        self.table = CsvTable.read(path)
        self.region = region
        self.batch = ContactBatch(file=str(path))

    def read(self) -> ContactBatch:
        """Parse every row, collecting problems in the batch."""
        self.table.require(COLUMNS)
        for row in self.table.rows():
            try:
                self.batch.contacts.append(self._record(row))
            except ValueError as exc:
                self.batch.problems.append(Problem(self.table.source, row.line, str(exc)))
        return self.batch

    def _record(self, row: Row) -> ContactRecord:
        person_id, kind = row.get("person_id"), row.get("kind").lower()
        if not person_id:
            raise ValueError("empty person_id")
        owned = BOOLEANS.get(row.get("district_owned").lower())
        if owned is None:
            raise ValueError(
                f'district_owned must be true or false, not "{row.get("district_owned")}"'
            )
        value = row.get("value")
        if kind == "email":
            return ContactRecord(person_id, "email", checked_email(value), owned, row.line)
        if kind == "phone":
            return ContactRecord(
                person_id, "phone", normalize_phone(value, self.region), owned, row.line
            )
        if kind.startswith("social:"):
            social = normalize_social(kind.removeprefix("social:"), value)
            return ContactRecord(person_id, "social", social, owned, row.line)
        raise ValueError(
            f'unknown kind "{row.get("kind")}" (expected email, phone or social:<platform>)'
        )
