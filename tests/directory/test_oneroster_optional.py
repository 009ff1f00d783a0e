"""A bad optional cell drops that value with a warning; a bad required one still refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli, corpus

pytestmark = pytest.mark.store

USERS = "sourcedId,status,orgSourcedIds,role,givenName,familyName,middleName,sms,phone,grades"
GOOD = [
    "T1,active,SCH,teacher,Dana,Ito,,+1 914 555 0101,,",
    "S1,active,SCH,student,Kim,Lee,,,,09",
]


def bundle(folder: Path, rows: list[str]) -> Path:
    folder.mkdir()
    (folder / "manifest.csv").write_text(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.users,bulk\n"
    )
    (folder / "orgs.csv").write_text("sourcedId,status,name,type\nSCH,active,A School,school\n")
    (folder / "users.csv").write_text("\n".join([USERS, *GOOD, *rows]) + "\n")
    return folder


def shown(cli: Cli, person_id: str) -> dict[str, object]:
    return dict(json.loads(cli.ok("directory", "show", person_id, "--format", "json").out))


def warnings(err: str) -> list[str]:
    return [line.removeprefix("warning: ") for line in err.splitlines()]


@pytest.mark.parametrize(
    ("row", "warning", "kept"),
    [
        (
            "S2,active,SCH,student,Ann,Roe,,603121567,+19145550102,10",
            'users.csv:4: invalid phone number "603121567" in sms; dropped',
            {"grade": "10", "phones": ["+19145550102"]},
        ),
        (
            "S2,active,SCH,student,Ann,Roe,,,60312323567,10",
            'users.csv:4: invalid phone number "60312323567" in phone; dropped',
            {"grade": "10", "phones": []},
        ),
        (
            "S2,active,SCH,student,Ann,Roe,,,,Grade ten of the upper school",
            'users.csv:4: invalid grade "Grade ten of the upper school" in grades; dropped',
            {"grade": None, "phones": []},
        ),
    ],
    ids=["sms", "phone", "grade"],
)
def test_an_invalid_optional_value_is_dropped_with_a_warning_and_the_row_imported(
    cli: Cli, tmp_path: Path, row: str, warning: str, kept: dict[str, object]
) -> None:
    result = cli.ok("directory", "import", "oneroster", bundle(tmp_path / "roster", [row]))
    assert warnings(result.err) == [warning]
    person = shown(cli, "S2")
    phones = [a["value"] for a in person["accounts"] if a["kind"] == "phone"]  # type: ignore[attr-defined]
    assert {"grade": person["grade"], "phones": phones} == kept
    assert shown(cli, "T1")["accounts"]  # the rest of the roster is in


def test_a_middle_name_is_never_read_so_it_never_refuses_a_row(cli: Cli, tmp_path: Path) -> None:
    row = f"S2,active,SCH,student,Ann,Roe,{'x' * 300}\x01,,,10"
    result = cli.ok("directory", "import", "oneroster", bundle(tmp_path / "roster", [row]))
    assert result.err == ""
    assert shown(cli, "S2")["grade"] == "10"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("S/2,active,SCH,student,Ann,Roe,,,,10", "users.csv:4: sourcedId holds a character"),
        ("S2,active,SCH,techer,Ann,Roe,,,,10", 'users.csv:4: unknown role "techer"'),
        ("S2,active,NOPE,student,Ann,Roe,,,,10", 'users.csv:4: unknown org "NOPE"'),
    ],
    ids=["sourcedId", "role", "org reference"],
)
def test_an_invalid_required_value_still_refuses_unless_skip_bad_rows(
    cli: Cli, tmp_path: Path, row: str, problem: str
) -> None:
    roster = bundle(tmp_path / "roster", [row])
    refused = cli("directory", "import", "oneroster", roster)
    assert refused.code == 1
    assert refused.err.splitlines()[0].startswith(problem)
    assert cli("directory", "show", "T1").code != 0  # nothing was imported
    skipped = cli.ok("directory", "import", "oneroster", roster, "--skip-bad-rows")
    assert problem in skipped.err
    assert shown(cli, "T1")["accounts"] and shown(cli, "S1")["grade"] == "09"


# The catalyst full bundles (1.1 and 1.2) each carry one student with an sms and a phone
# of too few digits: the student is imported without them, the district with them all.
CATALYST_FULL = {
    "oneroster-catalyst/Test_full_data_set": {"staff": 2, "student": 3, "parent": 1},
    "oneroster-catalyst/v1p2_full_dataset": {"staff": 3, "student": 3},
}


@pytest.mark.parametrize("name", sorted(CATALYST_FULL))
def test_the_catalyst_full_bundles_import_with_warning_lines(cli: Cli, name: str) -> None:
    result = cli.ok("directory", "import", "oneroster", corpus(name), "--format", "json")
    report = json.loads(result.out)
    assert report["warnings"][:2] == [
        'users.csv:6: invalid phone number "603121567" in sms; dropped',
        'users.csv:6: invalid phone number "60312323567" in phone; dropped',
    ]
    assert report["skipped"] == []
    stats = json.loads(cli.ok("directory", "stats", "--format", "json").out)
    assert {k: v for k, v in stats.items() if v} == CATALYST_FULL[name]
    student = shown(cli, "usr-222-1234561232")
    assert [a["kind"] for a in student["accounts"]] == ["email"]  # type: ignore[attr-defined]


# ---- staff who are parents: the family link is kept whatever the guardian's other roles ----


def related(cli: Cli, person_id: str, relation: str) -> list[str]:
    return [p["person_id"] for p in shown(cli, person_id)[relation]]  # type: ignore[attr-defined]


def test_a_teacher_who_is_a_students_agent_in_11_keeps_the_link_and_stays_staff(
    cli: Cli, tmp_path: Path
) -> None:
    roster = tmp_path / "roster"
    bundle(roster, [])
    (roster / "users.csv").write_text(
        "sourcedId,status,orgSourcedIds,role,givenName,familyName,agentSourcedIds\n"
        "T1,active,SCH,teacher,Dana,Ito,\n"
        "T2,active,SCH,teacher,Sam,Reyes,T1\n"
        "S1,active,SCH,student,Kim,Ito,T1\n"
    )
    result = cli.ok("directory", "import", "oneroster", roster)
    assert related(cli, "S1", "guardians") == ["T1"]
    assert related(cli, "T1", "students") == ["S1"]
    assert shown(cli, "T1")["population"] == "staff"
    assert warnings(result.err) == [  # two colleagues are not a family link
        'users.csv:3: agent "T1" of "T2" is not a guardian-student pair (staff and staff); '
        "link ignored"
    ]


def test_a_teacher_with_a_second_guardian_role_in_12_keeps_the_link(
    cli: Cli, tmp_path: Path
) -> None:
    roster = tmp_path / "roster"
    roster.mkdir()
    (roster / "manifest.csv").write_text("propertyName,value\noneroster.version,1.2\n")
    (roster / "orgs.csv").write_text("sourcedId,status,name,type\nSCH,active,A School,school\n")
    (roster / "users.csv").write_text(
        "sourcedId,status,givenName,familyName,agentSourcedIds\n"
        "T1,active,Dana,Ito,S1\n"
        "S1,active,Kim,Ito,\n"
    )
    (roster / "roles.csv").write_text(
        "sourcedId,status,userSourcedId,roleType,role,orgSourcedId\n"
        "R1,active,T1,primary,teacher,SCH\n"
        "R2,active,T1,secondary,guardian,SCH\n"
        "R3,active,S1,primary,student,SCH\n"
    )
    cli.ok("directory", "import", "oneroster", roster)
    assert (shown(cli, "T1")["population"], shown(cli, "T1")["role"]) == ("staff", "teacher")
    assert related(cli, "T1", "students") == ["S1"]
    assert related(cli, "S1", "guardians") == ["T1"]


@pytest.mark.parametrize("name", sorted(CATALYST_FULL))
def test_the_catalyst_teacher_who_is_a_students_agent_is_their_guardian(
    cli: Cli, name: str
) -> None:
    cli.ok("directory", "import", "oneroster", corpus(name))
    # usr-222-123456 (a teacher; in 1.2 also a guardian) is the agent of two students
    assert related(cli, "usr-222-123456", "students") == ["usr-222-1234561232", "usr-222-66778899"]
    assert sorted(related(cli, "usr-222-66778899", "guardians")) == [
        "usr-222-123456",
        "usr-222-1234561",
    ]
