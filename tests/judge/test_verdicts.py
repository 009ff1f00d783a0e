"""Verdicts and their sentences: the suggestion is approved for exactly the communication,
a district's own rule speaks its own words, and no sentence is stored."""

from __future__ import annotations

import datetime as dt

import pytest

from chaperone.audit import findings
from chaperone.gateway.decide import Decider
from chaperone.judge import approval
from chaperone.judge.records import matched_rows
from chaperone.judge.render import Wording, render
from chaperone.judge.rules import rule_windows
from chaperone.judge.verdicts import Verdict
from chaperone.judge.world import Party, PersonInfo, World
from chaperone.policy.loader import builtin, parse
from chaperone.registry.models import Platform

DAY = dt.date(2026, 9, 14)
WHEN = dt.datetime(2026, 9, 14, 14, tzinfo=dt.UTC)
REMIND = Platform(id="remind", name="Remind", status="approved", channel_types=["text_message"],
                  audiences=["staff-student", "staff-parent"])
ZULIP = Platform(id="zulip", name="Zulip", status="approved", channel_types=["text_message"],
                 audiences=["staff-staff"])
WHATSAPP = Platform(id="whatsapp", name="WhatsApp", status="denied",
                    channel_types=["text_message"], audiences=["staff-parent"])


def world(*platforms: Platform) -> World:
    """Two teachers, a student and a parent; WhatsApp's numbers are +1999…."""
    inputs = World(timezone="America/New_York", district_domains=["district.k12.us"])
    for person_id, population, name, address in (
        ("T1", "staff", "Dana Ito", "+19145550101"), ("T2", "staff", "Sam Roe", "+19145550102"),
        ("S1", "student", "Kai Lee", "+19145550103"), ("P1", "parent", "Ana Lee", "+19145550104"),
    ):
        inputs.people[person_id] = PersonInfo(name, population, "teacher", ("Hillcrest HS",))
        inputs.accounts[address] = [Party(person_id, population, False)]
    for platform in (WHATSAPP, *platforms):
        inputs.platforms[platform.id] = platform
    inputs.platform_prefixes = [("+1999", "whatsapp")]
    return inputs


def record(sender: str, *recipients: str) -> dict[str, object]:
    return {"record_id": "r1", "message_id": "m1", "occurred_at": WHEN,
            "channel_type": "text_message", "platform": "whatsapp", "sender": sender,
            "recipients": list(recipients), "has_media": False, "source_ref": "t#1"}


WINDOWS = rule_windows(builtin())


def verdicts(inputs: World, rec: dict[str, object]) -> list[Verdict]:
    return [f.verdict for f in findings.build(WINDOWS, matched_rows([rec], inputs, WINDOWS),
                                              inputs)]


def sentence(inputs: World, verdict: Verdict) -> str:
    wording = Wording(describe=lambda p: inputs.people[p].name, platforms=inputs.platforms,
                      packs={p.spec.version: p for p in builtin()})
    return render(verdict, wording)


def test_a_staff_to_staff_text_never_suggests_a_platform_not_approved_for_staff() -> None:
    inputs = world(REMIND)
    found = verdicts(inputs, record("+19145550101", "+19145550102"))
    assert {(v.rule_id, v.subject, v.failed, v.failed_detail) for v in found} == {
        ("9052-A-platform", "T1", "status", "denied"),
        ("9052-A-platform", "T2", "status", "denied")}
    assert all(v.alternative is None for v in found)
    said = sentence(inputs, found[0])
    assert "Remind" not in said and said.endswith(
        "§A requires district accounts or a district-approved platform.")
    decision = Decider(inputs, WINDOWS, {}).decide_record(
        "+19145550101", ["+19145550102"], channel_type="text_message", platform="whatsapp",
        now=WHEN)
    assert decision.action == "REJECT" and "Remind" not in decision.reason


def test_the_suggestion_is_the_platform_approved_for_that_audience() -> None:
    inputs = world(REMIND, ZULIP)
    to_colleague = verdicts(inputs, record("+19145550101", "+19145550102"))
    to_parent = verdicts(inputs, record("+19145550101", "+19145550104"))
    assert {v.alternative for v in to_colleague} == {"zulip"}
    assert [v.alternative for v in to_parent] == ["remind"]
    assert "such as Zulip." in sentence(inputs, to_colleague[0])
    assert "such as Remind." in sentence(inputs, to_parent[0])
    # a staff member, a student and a colleague: no platform is approved for both pairs
    assert {v.alternative for v in verdicts(
        inputs, record("+19145550101", "+19145550102", "+19145550103"))} == {None}


@pytest.mark.parametrize(("platform", "day", "failed"), [
    (None, DAY, ("unknown", None)),
    (WHATSAPP, DAY, ("status", "denied")),
    (REMIND.model_copy(update={"channel_types": ["chat"]}), DAY, ("channel", "text_message")),
    (REMIND, DAY, ("audience", "staff-staff")),
    (ZULIP.model_copy(update={"approved_on": dt.date(2026, 10, 1)}), DAY, ("window", "before")),
    (ZULIP.model_copy(update={"expires_on": dt.date(2026, 9, 13)}), DAY, ("window", "expired")),
    (ZULIP, DAY, (None, None)),
])
def test_the_approval_function_names_the_first_check_that_failed(
    platform: Platform | None, day: dt.date, failed: tuple[str | None, str | None]
) -> None:
    found = approval.approve(platform, "text_message", {"staff-staff"}, day)
    assert (found.failed, found.detail) == failed


DISTRICT_PACK = """\
policy: "9052"
title: Electronic Communication and Social Media Policy
version: "2026.1"
adopted_on: 2026-06-01
effective_on: 2026-07-01
sections:
  - {id: A, title: Purpose, text: All communication must use district accounts.}
rules:
  - id: district-apps
    title: Apps the board has not approved
    citation: 9052 §A
    severity: high
    explanation: "{subject} used {platform}, which our board has not approved ({reason})."
    when:
      all:
        - {field: record.in_scope, op: is_true}
        - {field: platform.status, op: ne, value: approved}
  - id: district-plain
    title: Plain words
    citation: 9052 §A
    severity: low
    explanation: used an app the board reviews each spring.
    when: {field: record.in_scope, op: is_true}
"""


def test_a_district_rule_with_its_own_id_speaks_its_own_explanation() -> None:
    pack = parse(DISTRICT_PACK, source="district.yaml")
    windows = rule_windows([pack])
    inputs = world()
    rows = matched_rows([record("+19145550101", "+19145550104")], inputs, windows)
    found = {f.rule_id: f.verdict for f in findings.build(windows, rows, inputs)}
    wording = Wording(describe=lambda p: inputs.people[p].name, platforms=inputs.platforms,
                      packs={"2026.1": pack})
    assert render(found["district-apps"], wording) == (
        "Dana Ito used WhatsApp, which our board has not approved "
        "(on WhatsApp, which the district has denied).")
    assert render(found["district-plain"], wording) == (
        "Dana Ito used an app the board reviews each spring.")


def test_an_unknown_placeholder_is_refused_with_its_line() -> None:
    with pytest.raises(Exception, match=r"district.yaml:\d+: unknown placeholder \"\{name\}\""):
        parse(DISTRICT_PACK.replace("{platform}", "{name}"), source="district.yaml")


def test_a_verdict_holds_no_name_or_address() -> None:
    inputs = world(REMIND)
    stored = verdicts(inputs, record("+19145550101", "+19145550104"))[0].to_json()
    for person in inputs.people.values():
        assert person.name not in stored
    assert "+1914555" not in stored
    assert Verdict.from_json(stored) == verdicts(inputs, record("+19145550101", "+19145550104"))[0]
