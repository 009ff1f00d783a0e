"""Importing OneRoster bundles: counts, idempotence, changes, bad rows, privacy."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from chaperone.demo.district import SampleDistrict
from chaperone.settings import Settings
from chaperone.store.db import Store
from tests.conftest import Cli, corpus

pytestmark = pytest.mark.store


def stats(cli: Cli) -> dict[str, int]:
    return dict(json.loads(cli.ok("directory", "stats", "--format", "json").out))


def load(cli: Cli, district: SampleDistrict) -> None:
    cli.ok("registry", "import", district.registry)
    cli.ok("directory", "import", "oneroster", district.roster)
    cli.ok("directory", "import", "people", district.people)
    cli.ok("directory", "import", "contacts", district.contacts)


def copy_roster(district: SampleDistrict, tmp_path: Path) -> Path:
    return Path(shutil.copytree(district.roster, tmp_path / "roster"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_stats_count_every_population_of_the_generated_district(
    cli: Cli, small_district: SampleDistrict
) -> None:
    load(cli, small_district)
    assert stats(cli) == small_district.counts
    text = cli.ok("directory", "stats").out
    assert "Hillcrest High School" in text and "Lincoln Middle School" in text


def test_importing_the_same_roster_twice_changes_nothing(
    cli: Cli, small_district: SampleDistrict
) -> None:
    load(cli, small_district)
    before = stats(cli)
    again = cli.ok("directory", "import", "oneroster", small_district.roster, "--format", "json")
    report = json.loads(again.out)
    assert report["changed"] is False
    assert report["people"]["added"] == report["people"]["updated"] == 0
    assert "no change" in cli.ok("directory", "import", "oneroster", small_district.roster).out
    assert stats(cli) == before


def rewrite(path: Path, change: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames or []), list(reader)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(change(rows))


def test_a_changed_roster_reports_added_updated_and_deactivated(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    roster = copy_roster(small_district, tmp_path)
    cli.ok("directory", "import", "oneroster", roster)

    def users(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        rows[1]["givenName"] = "Renamed"
        new = {**rows[0], "sourcedId": "T9999", "email": "new.teacher@example.k12.ny.us"}
        return [r for r in rows if r["sourcedId"] != "T0003"] + [new]

    def roles(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        new = {**rows[0], "sourcedId": "R-NEW", "userSourcedId": "T9999"}
        return [r for r in rows if r["userSourcedId"] != "T0003"] + [new]

    rewrite(roster / "users.csv", users)
    rewrite(roster / "roles.csv", roles)
    report = json.loads(cli.ok("directory", "import", "oneroster", roster, "--format", "json").out)
    people = report["people"]
    assert (people["added"], people["updated"], people["deactivated"]) == (1, 1, 1)
    shown = json.loads(cli.ok("directory", "show", "T0003", "--format", "json").out)
    assert shown["active"] is False  # no longer listed in a bulk file: deactivated, not deleted
    assert json.loads(cli.ok("directory", "show", "T0002", "--format", "json").out)[
        "name"
    ].startswith("Renamed")


def test_tobedeleted_deactivates_and_keeps_the_person(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    roster = copy_roster(small_district, tmp_path)
    cli.ok("directory", "import", "oneroster", roster)
    edit(roster / "users.csv", "T0002,active", "T0002,tobedeleted")
    report = json.loads(cli.ok("directory", "import", "oneroster", roster, "--format", "json").out)
    assert report["people"]["deactivated"] == 1
    shown = json.loads(cli.ok("directory", "show", "T0002", "--format", "json").out)
    assert shown["active"] is False and shown["accounts"]


def test_bad_rows_are_all_reported_and_nothing_changes(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    roster = copy_roster(small_district, tmp_path)
    edit(roster / "roles.csv", ",teacher,", ",techer,")
    edit(roster / "users.csv", "@students.example.k12.ny.us", "@@students")
    result = cli("directory", "import", "oneroster", roster)
    assert result.code == 1
    problem_lines = [line for line in result.err.splitlines() if not line.startswith("error:")]
    assert len(problem_lines) == 2
    assert any(
        line.startswith("roles.csv:") and 'unknown role "techer"' in line for line in problem_lines
    )
    assert any(
        line.startswith("users.csv:") and "invalid e-mail address" in line for line in problem_lines
    )
    assert all(v == 0 for v in stats(cli).values())


def test_skip_bad_rows_imports_the_rest(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    roster = copy_roster(small_district, tmp_path)
    edit(roster / "roles.csv", ",teacher,", ",techer,")
    result = cli.ok("directory", "import", "oneroster", roster, "--skip-bad-rows")
    assert 'unknown role "techer"' in result.err
    assert stats(cli)["staff"] == small_district.counts["staff"] - 1


def test_a_zipped_bundle_imports_like_the_folder(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    archive = tmp_path / "roster.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in small_district.roster.iterdir():
            out.write(file, f"export/{file.name}")
    cli.ok("directory", "import", "oneroster", archive)
    counts = stats(cli)
    assert counts["student"] == small_district.counts["student"]
    assert counts["parent"] == small_district.counts["parent"]


def test_no_password_or_demographic_reaches_the_store_or_the_data_folder(
    cli: Cli, small_district: SampleDistrict, settings: Settings, store: Store
) -> None:
    load(cli, small_district)
    cli.ok("directory", "show", "S000001")
    secrets = _column(small_district.roster / "users.csv", "password")
    secrets += _column(small_district.roster / "demographics.csv", "birthDate")
    assert len(secrets) > 100
    tables = MetaData()
    tables.reflect(store.engine)
    with store.engine.connect() as connection:
        rows = [str(r) for t in tables.sorted_tables for r in connection.execute(select(t))]
    stored = "\n".join(rows)
    assert "@students.example.k12.ny.us" in stored  # the check reads real content
    assert [s for s in secrets if s in stored] == []
    files = b"".join(p.read_bytes() for p in settings.home.rglob("*") if p.is_file())
    assert [s for s in secrets if s.encode() in files] == []


def _column(path: Path, column: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row[column] for row in csv.DictReader(handle) if row[column]]


def test_guardian_links_are_imported_both_ways(cli: Cli, small_district: SampleDistrict) -> None:
    load(cli, small_district)
    student = json.loads(cli.ok("directory", "show", "S000001", "--format", "json").out)
    assert student["guardians"]
    parent_id = student["guardians"][0]["person_id"]
    parent = json.loads(cli.ok("directory", "show", parent_id, "--format", "json").out)
    assert "S000001" in [s["person_id"] for s in parent["students"]]


# Every OneRoster bundle in the shared corpora imports, or fails with a full located report.
CORPUS_OUTCOMES = {
    "oneroster-catalyst/oneroster_test_data": {"student": 1},
    "oneroster-catalyst/Test_minimal_data_set": {"staff": 2, "student": 3, "parent": 1},
    "oneroster-oat/v1p1": {"student": 2},
}
CORPUS_FAILURES = {
    "oneroster-oat/v1p0": ["manifest.csv: missing; a OneRoster 1.1/1.2 bundle must carry one"],
}


@pytest.mark.parametrize("name", sorted(CORPUS_OUTCOMES))
def test_corpus_bundles_import(cli: Cli, name: str) -> None:
    cli.ok("directory", "import", "oneroster", corpus(name))
    counts = {k: v for k, v in stats(cli).items() if v}
    assert counts == CORPUS_OUTCOMES[name]


@pytest.mark.parametrize("name", sorted(CORPUS_FAILURES))
def test_corpus_bundles_that_fail_report_every_problem(cli: Cli, name: str) -> None:
    result = cli("directory", "import", "oneroster", corpus(name))
    assert result.code == 1
    problems = [line for line in result.err.splitlines() if not line.startswith("error:")]
    assert problems == CORPUS_FAILURES[name]
    assert all(v == 0 for v in stats(cli).values())


def test_a_file_with_the_wrong_header_is_refused_with_every_missing_column(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    roster = copy_roster(small_district, tmp_path)
    users = roster / "users.csv"
    text = users.read_text(encoding="utf-8")
    users.write_text(text.replace("givenName", "firstName").replace("familyName", "lastName", 1))
    result = cli("directory", "import", "oneroster", roster)
    assert result.code == 1
    assert result.err.splitlines() == [
        'users.csv:1: missing column "givenName"',
        'users.csv:1: missing column "familyName"',
        "error: 2 problem(s); nothing was changed",
    ]


def test_every_shape_problem_of_a_bundle_is_reported_at_once(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    roster = copy_roster(small_district, tmp_path)
    (roster / "manifest.csv").unlink()
    edit(roster / "users.csv", "givenName", "firstName")
    edit(roster / "roles.csv", "userSourcedId", "userId")
    (roster / "orgs.csv").unlink()
    result = cli("directory", "import", "oneroster", roster)
    assert result.code == 1
    assert result.err.splitlines() == [
        "manifest.csv: missing; a OneRoster 1.1/1.2 bundle must carry one",
        "orgs.csv: missing from the bundle",
        'roles.csv:1: missing column "userSourcedId"',
        'users.csv:1: missing column "givenName"',
        "error: 4 problem(s); nothing was changed",
    ]
    assert all(v == 0 for v in stats(cli).values())


def test_an_unsupported_version_is_reported_with_the_other_shape_problems(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    roster = copy_roster(small_district, tmp_path)
    edit(roster / "manifest.csv", "oneroster.version,1.2", "oneroster.version,1.0")
    edit(roster / "orgs.csv", ",type,", ",orgType,")
    result = cli("directory", "import", "oneroster", roster)
    assert result.code == 1
    assert result.err.splitlines()[:2] == [
        "manifest.csv: unsupported OneRoster version 1.0",
        'orgs.csv:1: missing column "type"',
    ]


# OneRoster 1.1 keeps the role in users.csv: every role the standard names, by population.
ROLES_11 = {
    "teacher": "staff",
    "aide": "staff",
    "proctor": "staff",
    "counselor": "staff",
    "principal": "staff",
    "siteAdministrator": "staff",
    "districtAdministrator": "staff",
    "systemAdministrator": "staff",
    "administrator": "staff",
    "student": "student",
    "parent": "parent",
    "guardian": "parent",
    "relative": "parent",
}


def bundle_11(folder: Path, roles: list[str]) -> Path:
    folder.mkdir()
    (folder / "manifest.csv").write_text(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.users,bulk\n"
    )
    (folder / "orgs.csv").write_text("sourcedId,status,name,type\nSCH,active,A School,school\n")
    rows = [f"U{i},active,SCH,{role},Given{i},Family{i}" for i, role in enumerate(roles)]
    (folder / "users.csv").write_text(
        "sourcedId,status,orgSourcedIds,role,givenName,familyName\n" + "\n".join(rows) + "\n"
    )
    return folder


def test_every_oneroster_11_role_maps_to_its_population(cli: Cli, tmp_path: Path) -> None:
    roles = list(ROLES_11)
    cli.ok("directory", "import", "oneroster", bundle_11(tmp_path / "roster", roles))
    for i, role in enumerate(roles):
        shown = json.loads(cli.ok("directory", "show", f"U{i}", "--format", "json").out)
        assert (shown["role"], shown["population"]) == (role, ROLES_11[role])


def test_an_unknown_role_in_a_11_bundle_names_its_users_csv_line(cli: Cli, tmp_path: Path) -> None:
    roster = bundle_11(tmp_path / "roster", ["teacher", "techer", "student", "janitor"])
    result = cli("directory", "import", "oneroster", roster)
    assert result.code == 1
    assert result.err.splitlines() == [
        'users.csv:3: unknown role "techer"',
        'users.csv:5: unknown role "janitor"',
        "error: 2 problem(s); nothing was changed",
    ]
    assert all(v == 0 for v in stats(cli).values())
