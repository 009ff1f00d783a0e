"""registry.yaml: validation with every error at once, and the approval service."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from chaperone.common.problems import InputError
from chaperone.registry.service import Approval, RegistryView, parse
from tests.conftest import Cli

REGISTRY = """\
district:
  name: Example Central School District
  timezone: America/New_York
  default_region: US
  email_domains: [example.k12.ny.us, students.example.k12.ny.us]
  phone_numbers: ["+19145550100", "+1914555020*"]
platforms:
  - id: parentsquare
    name: ParentSquare
    status: approved
    channel_types: [email, text_message, voicemail, image_sharing, chat]
    audiences: [staff-student, parent-staff, staff-staff]
    identifiers:
      email_domains: [parentsquare.com]
      phone_numbers: ["+18885550123"]
    approved_on: 2023-08-01
    expires_on: 2026-08-01
  - id: classdojo
    name: ClassDojo
    status: pending
    channel_types: [chat]
    audiences: [staff-parent]
social_accounts:
  - platform: instagram
    handle: ExampleHSAthletics
    kind: professional
    owner: T0042
    org: HS
"""


@pytest.fixture
def view() -> RegistryView:
    return RegistryView(parse(REGISTRY, source="registry.yaml"))


APPROVALS = [
    # platform, channel, between, date, approved
    ("parentsquare", "text_message", ("staff", "student"), "2024-01-01", True),
    ("parentsquare", "text_message", ("student", "staff"), "2024-01-01", True),
    ("parentsquare", "email", ("staff", "parent"), "2023-08-01", True),  # first approved day
    ("parentsquare", "email", ("staff", "parent"), "2026-08-01", True),  # expires_on is the last
    ("parentsquare", "email", ("staff", "parent"), "2026-08-02", False),
    ("parentsquare", "email", ("staff", "parent"), "2023-07-31", False),
    ("parentsquare", "call", ("staff", "parent"), "2024-01-01", False),  # channel not approved
    ("parentsquare", "chat", ("student", "parent"), "2024-01-01", False),  # audience not approved
    ("classdojo", "chat", ("staff", "parent"), "2024-01-01", False),  # pending
    ("whatsapp", "chat", ("staff", "parent"), "2024-01-01", False),  # not in the registry
]


@pytest.mark.parametrize(("platform", "channel", "between", "day", "approved"), APPROVALS)
def test_approval(
    view: RegistryView,
    platform: str,
    channel: str,
    between: tuple[str, str],
    day: str,
    approved: bool,
) -> None:
    answer = view.approval(platform, channel, between, dt.date.fromisoformat(day))
    assert answer.approved is approved, answer.reason


def test_the_local_date_is_the_districts(view: RegistryView) -> None:
    late_evening = dt.datetime(2026, 8, 2, 3, 30, tzinfo=dt.UTC)  # 23:30 on 1 August in NY
    assert view.local_date(late_evening) == dt.date(2026, 8, 1)


@pytest.mark.parametrize(
    ("kind", "value", "owned"),
    [
        ("email", "jdoe@example.k12.ny.us", True),
        ("email", "kid@students.example.k12.ny.us", True),
        ("email", "jdoe@gmail.com", False),
        ("phone", "+19145550100", True),
        ("phone", "+19145550207", True),
        ("phone", "+19145550300", False),
        ("social", "instagram:examplehsathletics", True),
        ("social", "instagram:someone", False),
    ],
)
def test_ownership(view: RegistryView, kind: str, value: str, owned: bool) -> None:
    assert view.owns(kind, value) is owned


def problems_of(text: str) -> list[str]:
    with pytest.raises(InputError) as raised:
        parse(text, source="registry.yaml")
    return [str(p) for p in raised.value.problems]


def test_every_error_is_reported_with_its_line() -> None:
    broken = (
        REGISTRY.replace("status: pending", "status: aproved")
        .replace("timezone: America/New_York", "timezone: Mars/Olympus")
        .replace("[staff-parent]", "[staff-janitor]")
        .replace("channel_types: [chat]", "channel_types: [chat, fax]")
    )
    assert problems_of(broken) == [
        'registry.yaml:3: district.timezone: unknown time zone "Mars/Olympus"',
        'registry.yaml:20: platforms.1.status: unknown value "aproved" '
        "(expected 'approved', 'pending', 'denied' or 'retired')",
        'registry.yaml:21: platforms.1.channel_types.1: unknown value "fax" '
        "(expected 'email', 'text_message', 'voicemail', 'image_sharing', 'chat', 'call', "
        "'social_post' or 'social_message')",
        'registry.yaml:22: platforms.1.audiences: unknown audience "staff-janitor" '
        "(expected a pair such as staff-student)",
    ]


def test_duplicate_platforms_unknown_fields_and_bad_yaml() -> None:
    duplicate = REGISTRY.replace("id: classdojo", "id: parentsquare")
    assert problems_of(duplicate) == ['registry.yaml:18: duplicate platform "parentsquare"']
    unknown = REGISTRY.replace("    name: ClassDojo", "    name: ClassDojo\n    colour: blue")
    assert problems_of(unknown) == ['registry.yaml:20: unknown field "colour"']
    assert problems_of("district: [unclosed\n") == [
        "registry.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_a_duplicate_platform_is_reported_with_the_other_errors() -> None:
    broken = REGISTRY.replace("id: classdojo", "id: parentsquare").replace(
        "status: pending", "status: aproved"
    )
    assert problems_of(broken) == [
        'registry.yaml:18: duplicate platform "parentsquare"',
        'registry.yaml:20: platforms.1.status: unknown value "aproved" '
        "(expected 'approved', 'pending', 'denied' or 'retired')",
    ]


@pytest.mark.parametrize("other", ["vendor", "volunteer", "contractor"])
def test_populations_outside_the_audiences_are_never_approved(
    view: RegistryView, other: str
) -> None:
    answer = view.approval("parentsquare", "email", ("staff", other), dt.date(2024, 1, 1))
    assert answer == Approval(False, f"ParentSquare is not approved for staff-{other}")


@pytest.mark.store
def test_import_show_and_check_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    assert "imported" in cli.ok("registry", "import", path).out
    assert "no change" in cli.ok("registry", "import", path).out
    shown = json.loads(cli.ok("registry", "show", "--format", "json").out)
    assert [p["id"] for p in shown["platforms"]] == ["parentsquare", "classdojo"]
    assert "ParentSquare" in cli.ok("registry", "show").out
    check = ["registry", "check", "parentsquare", "--channel", "text_message"]
    ok = cli(*check, "--between", "staff", "student", "--on", "2025-03-01")
    assert (ok.code, ok.out.split(":")[0]) == (0, "approved")
    expired = cli(*check, "--between", "staff", "student", "--on", "2026-09-01")
    assert expired.code == 3 and "expired" in expired.out


@pytest.mark.store
def test_a_bad_registry_leaves_the_one_in_force(cli: Cli, tmp_path: Path) -> None:
    good, bad = tmp_path / "registry.yaml", tmp_path / "bad.yaml"
    good.write_text(REGISTRY, encoding="utf-8")
    bad.write_text(REGISTRY.replace("status: approved", "status: maybe"), encoding="utf-8")
    cli.ok("registry", "import", good)
    result = cli("registry", "import", bad)
    assert result.code == 1 and "bad.yaml:10:" in result.err
    assert (
        json.loads(cli.ok("registry", "show", "--format", "json").out)["platforms"][0]["status"]
        == "approved"
    )


@pytest.mark.store
def test_show_without_a_registry_says_what_to_do(cli: Cli) -> None:
    result = cli("registry", "show")
    assert result.code == 1
    assert "chaperone registry import" in result.err
