"""Tests of the seeded sample district."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import phonenumbers
import pytest
import yaml

from chaperone.demo.district import (
    DEMOGRAPHICS_HEADER,
    ROLES_HEADER,
    USERS_HEADER,
    SampleDistrict,
    generate,
)

STAFF_ROLES = {"teacher", "aide", "counselor", "principal", "districtAdministrator"}
FAMILY_ROLES = {"parent", "guardian", "relative"}


def _rows(path: Path) -> list[dict[str, str]]:
    """Read a generated CSV file as dictionaries."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _files(root: Path) -> dict[str, bytes]:
    """Return every generated file's bytes by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> SampleDistrict:
    """Generate the default district once for the module."""
    return generate(tmp_path_factory.mktemp("district"))


@pytest.fixture(scope="module")
def users(district: SampleDistrict) -> dict[str, dict[str, str]]:
    """Return users.csv rows by sourcedId."""
    return {row["sourcedId"]: row for row in _rows(district.roster / "users.csv")}


@pytest.fixture(scope="module")
def roles(district: SampleDistrict) -> dict[str, set[str]]:
    """Return the set of roles of every user."""
    result: dict[str, set[str]] = defaultdict(set)
    for row in _rows(district.roster / "roles.csv"):
        result[row["userSourcedId"]].add(row["role"])
    return result


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    args = {"students": 300, "staff": 40}
    generate(tmp_path / "a", seed=7, **args)
    generate(tmp_path / "b", seed=7, **args)
    generate(tmp_path / "c", seed=8, **args)
    first = _files(tmp_path / "a")
    assert len(first) == 8
    assert first == _files(tmp_path / "b")
    assert first["roster/users.csv"] != _files(tmp_path / "c")["roster/users.csv"]


def test_files_are_utf8_without_bom_and_headers_are_exact(district: SampleDistrict) -> None:
    for name, header in (
        ("users.csv", USERS_HEADER),
        ("roles.csv", ROLES_HEADER),
        ("demographics.csv", DEMOGRAPHICS_HEADER),
    ):
        raw = (district.roster / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert raw.decode("utf-8").splitlines()[0] == ",".join(header)
    manifest = {r["propertyName"]: r["value"] for r in _rows(district.roster / "manifest.csv")}
    assert manifest["oneroster.version"] == "1.2"
    present = {k.removeprefix("file.") for k, v in manifest.items() if v == "bulk"}
    assert present == {"orgs", "users", "roles", "demographics"}
    assert all((district.roster / f"{name}.csv").exists() for name in present)


def test_counts_match_rows(
    district: SampleDistrict, users: dict[str, dict[str, str]], roles: dict[str, set[str]]
) -> None:
    found: dict[str, int] = defaultdict(int)
    for user_id, row in users.items():
        if row["status"] == "tobedeleted":
            continue
        if roles[user_id] <= STAFF_ROLES:
            found["staff"] += 1
        elif roles[user_id] == {"student"}:
            found["student"] += 1
        else:
            assert roles[user_id] <= FAMILY_ROLES
            found["parent"] += 1
    for row in _rows(district.people):
        found[row["population"]] += 1
    assert dict(found) == district.counts
    assert district.counts["staff"] == 150
    assert district.counts["vendor"] == 8
    deleted = sum(row["status"] == "tobedeleted" for row in users.values())
    assert district.counts["student"] + deleted == 2000
    assert 10 <= deleted <= 30


def test_agent_links_are_reciprocal_and_every_student_has_a_parent(
    users: dict[str, dict[str, str]], roles: dict[str, set[str]]
) -> None:
    for user_id, row in users.items():
        agents = [a for a in row["agentSourcedIds"].split(",") if a]
        for agent in agents:
            assert user_id in users[agent]["agentSourcedIds"].split(",")
        if roles[user_id] == {"student"}:
            assert agents, f"{user_id} has no parent"
            assert all(roles[a] <= FAMILY_ROLES for a in agents)


def test_some_families_share_siblings(users: dict[str, dict[str, str]]) -> None:
    parents = [row for row in users.values() if row["sourcedId"].startswith("P")]
    with_siblings = {r["agentSourcedIds"] for r in parents if "," in r["agentSourcedIds"]}
    families = {r["agentSourcedIds"] for r in parents}
    assert 0.05 < len(with_siblings) / len(families) < 0.15


def test_grades_fit_the_school(
    users: dict[str, dict[str, str]], roles: dict[str, set[str]]
) -> None:
    allowed = {
        "HS": {"09", "10", "11", "12"},
        "MS": {"06", "07", "08"},
        "ES": {"KG", "01", "02", "03", "04", "05"},
    }
    for user_id, row in users.items():
        if roles[user_id] == {"student"}:
            assert row["grades"] in allowed[row["primaryOrgSourcedId"]]
            assert row["email"].endswith("@students.example.k12.ny.us")
            assert not row["phone"]


def test_every_phone_is_a_valid_us_number(district: SampleDistrict) -> None:
    phones = [row["phone"] for row in _rows(district.roster / "users.csv")]
    phones += [row["sms"] for row in _rows(district.roster / "users.csv")]
    phones += [row["value"] for row in _rows(district.contacts) if row["kind"] == "phone"]
    phones += [row["phone"] for row in _rows(district.people)]
    checked = [p for p in phones if p]
    assert len(checked) > 3000
    for phone in checked:
        number = phonenumbers.parse(phone, "US")
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == "US"


def test_emails_and_phones_belong_to_one_person(district: SampleDistrict) -> None:
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in _rows(district.roster / "users.csv"):
        owners["email", row["email"].lower()].add(row["sourcedId"])
        if row["phone"]:
            owners["phone", _e164(row["phone"])].add(row["sourcedId"])
    for row in _rows(district.contacts):
        if row["kind"] in ("email", "phone"):
            key = _e164(row["value"]) if row["kind"] == "phone" else row["value"].lower()
            owners[row["kind"], key].add(row["person_id"])
    for row in _rows(district.people):
        owners["email", row["email"].lower()].add(row["person_id"])
        if row["phone"]:
            owners["phone", _e164(row["phone"])].add(row["person_id"])
    shared = {key: ids for key, ids in owners.items() if len(ids) > 1}
    assert not shared


def _e164(phone: str) -> str:
    """Normalize a phone number to E.164."""
    number = phonenumbers.parse(phone, "US")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def test_district_phones_are_flagged_and_in_the_district_range(district: SampleDistrict) -> None:
    issued = [row for row in _rows(district.contacts) if row["district_owned"] == "true"]
    assert issued
    assert all(row["value"].startswith("+1914555020") for row in issued)
    personal = [row for row in _rows(district.contacts) if row["district_owned"] == "false"]
    assert not any(
        _e164(r["value"]).startswith("+1914555020") for r in personal if r["kind"] == "phone"
    )


def test_every_user_has_a_password_and_demographics_exist(district: SampleDistrict) -> None:
    rows = _rows(district.roster / "users.csv")
    assert all(row["password"].startswith("Pw-") and len(row["password"]) == 13 for row in rows)
    demographics = _rows(district.roster / "demographics.csv")
    assert demographics and all(row["birthDate"] and row["sex"] for row in demographics)


def test_registry_is_valid_yaml_matching_the_roster(
    district: SampleDistrict, users: dict[str, dict[str, str]], roles: dict[str, set[str]]
) -> None:
    registry = yaml.safe_load(district.registry.read_text(encoding="utf-8"))
    assert registry["district"]["phone_numbers"] == ["+19145550100", "+1914555020*"]
    platforms = {p["id"]: p for p in registry["platforms"]}
    assert sorted(platforms) == [
        "classdojo", "google-classroom", "parentsquare", "remind", "slack", "whatsapp",
    ]  # fmt: skip
    assert "social_post" not in platforms["parentsquare"]["channel_types"]
    assert str(platforms["remind"]["expires_on"]) == "2026-08-01"
    accounts = registry["social_accounts"]
    assert [a["kind"] for a in accounts] == ["professional", "professional", "personal"]
    assert roles[accounts[0]["owner"]] == {"principal"}
    assert users[accounts[0]["owner"]]["primaryOrgSourcedId"] == accounts[0]["org"] == "HS"
    assert roles[accounts[1]["owner"]] == {"teacher"}


def test_more_schools_are_numbered(tmp_path: Path) -> None:
    sample = generate(tmp_path, schools=5, students=200, staff=30)
    orgs = _rows(sample.roster / "orgs.csv")
    assert [o["sourcedId"] for o in orgs] == ["DIST", "HS", "MS", "ES", "ES2", "ES3"]
    assert all(o["parentSourcedId"] == "DIST" for o in orgs[1:])
    assert sample.counts["staff"] == 30


def test_too_few_staff_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="staff"):
        generate(tmp_path, schools=3, staff=3)
