"""contacts.csv and people.csv: extra accounts, people outside the roster, ownership."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaperone.demo.district import SampleDistrict
from tests.conftest import Cli

pytestmark = pytest.mark.store

REGISTRY = """\
district:
  name: Test District
  timezone: America/New_York
  email_domains: [example.k12.ny.us]
  phone_numbers: ["+1914555020*"]
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def show(cli: Cli, key: str) -> dict[str, object]:
    return dict(json.loads(cli.ok("directory", "show", key, "--format", "json").out))


def accounts(cli: Cli, key: str) -> dict[str, bool]:
    person = show(cli, key)
    return {a["value"]: a["district_owned"] for a in person["accounts"]}  # type: ignore[attr-defined]


def test_contacts_add_accounts_with_ownership(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    cli.ok("registry", "import", write(tmp_path / "registry.yaml", REGISTRY))
    cli.ok("directory", "import", "oneroster", small_district.roster)
    contacts = write(
        tmp_path / "contacts.csv",
        "person_id,kind,value,district_owned\n"
        "T0002,email,Coach.Personal@Gmail.com,false\n"
        "T0002,phone,(914) 555-7788,false\n"
        "T0002,phone,914-555-0205,false\n"
        "T0002,social:Instagram,@CoachHS,false\n",
    )
    cli.ok("directory", "import", "contacts", contacts)
    owned = accounts(cli, "T0002")
    assert owned["coach.personal@gmail.com"] is False  # case-folded, personal
    assert owned["+19145557788"] is False  # E.164
    assert owned["+19145550205"] is True  # a district line by the registry's prefix
    assert owned["instagram:coachhs"] is False
    assert show(cli, "COACH.personal@gmail.com")["person_id"] == "T0002"
    assert show(cli, "+1 914 555 7788")["person_id"] == "T0002"
    assert show(cli, "instagram:coachhs")["person_id"] == "T0002"
    assert "no change" in cli.ok("directory", "import", "contacts", contacts).out


def test_district_ownership_follows_the_registry_imported_later(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    cli.ok("directory", "import", "oneroster", small_district.roster)
    email = next(v for v in accounts(cli, "T0002") if "@" in v)
    assert accounts(cli, "T0002")[email] is False  # no registry yet: no district domains known
    cli.ok("registry", "import", write(tmp_path / "registry.yaml", REGISTRY))
    assert accounts(cli, "T0002")[email] is True


def test_contacts_for_unknown_people_and_bad_values_are_all_reported(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    cli.ok("directory", "import", "oneroster", small_district.roster)
    contacts = write(
        tmp_path / "contacts.csv",
        "person_id,kind,value,district_owned\n"
        "NOBODY,email,a@b.org,false\n"
        "T0002,fax,123,false\n"
        "T0002,phone,12,false\n"
        "T0002,email,x@y.org,maybe\n",
    )
    result = cli("directory", "import", "contacts", contacts)
    assert result.code == 1
    assert result.err.splitlines()[:4] == [
        'contacts.csv:2: unknown person "NOBODY"',
        'contacts.csv:3: unknown kind "fax" (expected email, phone or social:<platform>)',
        'contacts.csv:4: invalid phone number "12"',
        'contacts.csv:5: district_owned must be true or false, not "maybe"',
    ]


def test_people_file_adds_vendors_and_deactivates_those_it_drops(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    cli.ok("directory", "import", "oneroster", small_district.roster)
    header = "person_id,population,given_name,family_name,org_ids,email,phone\n"
    people = write(
        tmp_path / "people.csv",
        header + "V1,vendor,Ada,Bus,HS,ada@busco.example,9145551111\n"
        "VOL1,volunteer,Bo,Helper,HS;MS,,\n",
    )
    cli.ok("directory", "import", "people", people)
    counts = json.loads(cli.ok("directory", "stats", "--format", "json").out)
    assert (counts["vendor"], counts["volunteer"]) == (1, 1)
    write(people, header + "V1,vendor,Ada,Bus,HS,ada@busco.example,9145551111\n")
    report = json.loads(cli.ok("directory", "import", "people", people, "--format", "json").out)
    assert report["people"]["deactivated"] == 1
    assert show(cli, "VOL1")["active"] is False


def test_people_file_cannot_overwrite_roster_people_or_name_unknown_orgs(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    cli.ok("directory", "import", "oneroster", small_district.roster)
    people = write(
        tmp_path / "people.csv",
        "person_id,population,given_name,family_name,org_ids,email,phone\n"
        "T0002,staff,Mal,Icious,HS,,\n"
        "C1,contractor,Cy,Build,NOPE,,\n"
        "C2,plumber,Cy,Build,HS,,\n",
    )
    result = cli("directory", "import", "people", people)
    assert result.code == 1
    assert result.err.splitlines()[:3] == [
        'people.csv:2: person "T0002" comes from oneroster',
        'people.csv:3: unknown org "NOPE"',
        'people.csv:4: unknown population "plumber"',
    ]


def test_show_reports_unknown_people_in_one_line(cli: Cli) -> None:
    result = cli("directory", "show", "nobody@nowhere.example")
    assert result.code == 1
    assert result.err.strip() == 'error: no person with id or address "nobody@nowhere.example"'


def test_viewing_a_student_is_recorded(
    cli: Cli, small_district: SampleDistrict, store: object
) -> None:
    from sqlalchemy import select

    from chaperone.store.db import Store
    from chaperone.store.models import TrailEntry

    cli.ok("directory", "import", "oneroster", small_district.roster)
    cli.ok("directory", "show", "S000002", "--as", "principal.hs")
    cli.ok("directory", "show", "T0002")
    assert isinstance(store, Store)
    with store.transaction() as session:
        events = session.scalars(select(TrailEntry)).all()
        assert [(e.actor, e.action, e.person_ids) for e in events] == [
            ("principal.hs", "view", "S000002"),
            ("cli", "view", "T0002"),
        ]


def test_names_and_ids_longer_than_the_store_keeps_are_reported_not_crashed_on(
    cli: Cli, small_district: SampleDistrict, tmp_path: Path
) -> None:
    cli.ok("directory", "import", "oneroster", small_district.roster)
    people = write(
        tmp_path / "people.csv",
        "person_id,population,given_name,family_name,org_ids,email,phone\n"
        f"V1,vendor,{'A' * 256},Bus,HS,,\n"
        f"{'V' * 300},vendor,Ada,Bus,HS,,\n",
    )
    result = cli("directory", "import", "people", people)
    assert result.code == 1
    assert result.err.splitlines()[:2] == [
        "people.csv:2: given_name is longer than 255 characters",
        "people.csv:3: person_id is longer than 255 characters",
    ]
