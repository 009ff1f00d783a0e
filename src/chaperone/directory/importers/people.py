"""people.csv: vendors, volunteers, contractors and staff the roster does not carry.

Columns ``person_id,population,given_name,family_name,org_ids,email,phone``; the
file is a complete list, so people it no longer lists are deactivated.
"""

from __future__ import annotations

from pathlib import Path

from chaperone.common.addresses import checked_email, normalize_phone
from chaperone.common.csvfile import CsvTable, Row
from chaperone.common.problems import Problem
from chaperone.directory.populations import POPULATIONS
from chaperone.directory.records import Batch, PersonRecord, bad_ids, oversized

COLUMNS = ("person_id", "population", "given_name", "family_name", "org_ids", "email", "phone")


class PeopleImporter:
    """Reads people.csv into a Batch."""

    source = "people"

    def __init__(self, path: Path, *, region: str) -> None:
        self.table = CsvTable.read(path)
        self.region = region
        self.batch = Batch(source=self.source, file=str(path))

    def read(self) -> Batch:
        """Parse every row, collecting problems in the batch."""
        self.table.require(COLUMNS[:4])
        seen: set[str] = set()
        for row in self.table.rows():
            record = self._record(row)
            if record is None:
                self.batch.kept.add(row.get("person_id"))
            elif record.person_id in seen:
                self._problem(row, f'duplicate person "{record.person_id}"')
            else:
                seen.add(record.person_id)
                self.batch.people.append(record)
        return self.batch

    def _problem(self, row: Row, message: str) -> None:
        self.batch.problems.append(Problem(self.table.source, row.line, message))

    def _record(self, row: Row) -> PersonRecord | None:
        before = len(self.batch.problems)
        person_id, population = row.get("person_id"), row.get("population").lower()
        if not person_id:
            self._problem(row, "empty person_id")
        if population not in POPULATIONS:
            self._problem(row, f'unknown population "{row.get("population")}"')
        for reason in oversized(
            person_id=person_id,
            given_name=row.get("given_name"),
            family_name=row.get("family_name"),
        ):
            self._problem(row, reason)
        for reason in bad_ids(person_id=person_id):
            self._problem(row, reason)
        accounts = self._accounts(row)
        if len(self.batch.problems) > before:
            return None
        org_ids = tuple(sorted({o.strip() for o in row.get("org_ids").split(";") if o.strip()}))
        return PersonRecord(
            person_id=person_id,
            population=population,
            role=population,
            given_name=row.get("given_name"),
            family_name=row.get("family_name"),
            org_ids=org_ids,
            accounts=accounts,
            line=row.line,
        )

    def _accounts(self, row: Row) -> tuple[tuple[str, str], ...]:
        accounts = []
        if row.get("email"):
            try:
                accounts.append(("email", checked_email(row.get("email"))))
            except ValueError as exc:
                self._problem(row, str(exc))
        if row.get("phone"):
            try:
                accounts.append(("phone", normalize_phone(row.get("phone"), self.region)))
            except ValueError as exc:
                self._problem(row, str(exc))
        return tuple(sorted(accounts))
