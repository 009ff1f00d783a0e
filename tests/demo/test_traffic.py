"""Tests of the seeded sample traffic."""

from __future__ import annotations

import csv
import json
import mailbox
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import getaddresses
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from chaperone.demo.district import FAMILY_ROLES, STAFF_ROLES, SampleDistrict, generate
from chaperone.demo.traffic import (
    PLANTED_KINDS,
    SMS_HEADER,
    TRACE_HEADER,
    SampleTraffic,
    generate_traffic,
)

RECORDS = 3000
NEW_YORK = ZoneInfo("America/New_York")
STUDENT_DOMAIN = "@students.example.k12.ny.us"


@dataclass(frozen=True)
class Mail:
    """One message as the trace or the mbox has it."""

    sender: str
    parties: frozenset[str]
    subject: str


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _e164(raw: str) -> str:
    number = phonenumbers.parse(raw, "US")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _local_day(raw: str) -> date:
    moment = datetime.fromisoformat(raw)
    return moment.astimezone(NEW_YORK).date() if moment.tzinfo else moment.date()


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> SampleDistrict:
    return generate(tmp_path_factory.mktemp("district"), seed=7, students=120, staff=20)


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory, district: SampleDistrict) -> SampleTraffic:
    return generate_traffic(district, tmp_path_factory.mktemp("traffic"), seed=7, records=RECORDS)


@pytest.fixture(scope="module")
def accounts(district: SampleDistrict, traffic: SampleTraffic) -> dict[str, set[str]]:
    """Addresses and numbers by what they are."""
    found: dict[str, set[str]] = defaultdict(set)
    roles = {row["userSourcedId"]: row["role"] for row in _rows(district.roster / "roles.csv")}
    for row in _rows(district.roster / "users.csv"):
        role = roles[row["sourcedId"]]
        kind = "staff" if role in STAFF_ROLES else "parent" if role in FAMILY_ROLES else role
        found[f"{kind}_email"].add(row["email"].lower())
        if kind == "parent":
            found["parent_phone"].add(_e164(row["phone"]))
    for row in _rows(district.contacts):
        owned = "district" if row["district_owned"] == "true" else "personal"
        if row["kind"] in ("email", "phone"):
            value = row["value"].lower() if row["kind"] == "email" else _e164(row["value"])
            found[f"staff_{owned}_{row['kind']}"].add(value)
    found["student_personal_email"] = {r["value"] for r in _rows(traffic.student_contacts)}
    return dict(found)


@pytest.fixture(scope="module")
def trace(traffic: SampleTraffic) -> dict[str, list[dict[str, str]]]:
    """Trace rows by MessageId."""
    messages: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _rows(traffic.trace):
        messages[row["MessageId"]].append(row)
    return dict(messages)


@pytest.fixture(scope="module")
def mbox(traffic: SampleTraffic) -> dict[str, Mail]:
    """The mbox's messages by Message-ID."""
    messages: dict[str, Mail] = {}
    for message in mailbox.mbox(traffic.mailbox):
        assert message["Date"] and message["From"] and message["To"]
        message_id = str(message["Message-ID"])
        assert message_id not in messages
        sender = getaddresses([str(message["From"])])[0][1].lower()
        heads = [str(message[h]) for h in ("From", "To", "Cc") if message[h]]
        parties = frozenset(a.lower() for _, a in getaddresses(heads))
        messages[message_id] = Mail(sender, parties, str(message["Subject"]))
    return messages


def _trace_mails(trace: dict[str, list[dict[str, str]]]) -> dict[str, Mail]:
    mails = {}
    for message_id, rows in trace.items():
        sender = rows[0]["SenderAddress"]
        parties = frozenset({sender, *(r["RecipientAddress"] for r in rows)})
        mails[message_id] = Mail(sender, parties, rows[0]["Subject"])
    return mails


def test_same_seed_gives_identical_bytes_and_other_seed_differs(
    tmp_path: Path, district: SampleDistrict
) -> None:
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        generate_traffic(district, tmp_path / name, seed=seed, records=RECORDS)
    first = _files(tmp_path / "a")
    assert first == _files(tmp_path / "b")
    assert first["trace.csv"] != _files(tmp_path / "c")["trace.csv"]
    assert {"trace.csv", "mailbox.mbox", "texts.csv", "student-contacts.csv"} <= set(first)


def test_counts_add_up_to_records_in_the_documented_shares(traffic: SampleTraffic) -> None:
    sources = {k: traffic.counts[k] for k in ("trace", "mailbox", "texts", "slack")}
    assert sum(sources.values()) == RECORDS
    for name, share in (("trace", 0.55), ("mailbox", 0.10), ("texts", 0.20), ("slack", 0.15)):
        assert abs(sources[name] / RECORDS - share) < 0.01
    assert 0 < traffic.counts["duplicates_planted"] <= 20
    assert 0 < traffic.counts["bad_rows_planted"] <= 20


def test_every_kind_is_planted_and_in_all_a_few_percent(traffic: SampleTraffic) -> None:
    assert set(traffic.planted) == set(PLANTED_KINDS)
    assert all(count > 0 for count in traffic.planted.values()), traffic.planted
    assert 0.03 <= sum(traffic.planted.values()) / RECORDS <= 0.05


def test_trace_rows_are_message_trace_rows_one_message_per_message_id(
    traffic: SampleTraffic, trace: dict[str, list[dict[str, str]]]
) -> None:
    first = traffic.trace.read_text(encoding="utf-8").splitlines()[0]
    assert first == ",".join(f'"{column}"' for column in TRACE_HEADER)
    assert len(trace) == traffic.counts["trace"]
    bad = 0
    for rows in trace.values():
        assert len({(r["Received"], r["SenderAddress"], r["Subject"]) for r in rows}) == 1
        assert len({r["RecipientAddress"] for r in rows}) == len(rows)
        datetime.strptime(rows[0]["Received"], "%m/%d/%Y %I:%M:%S %p")
        bad += not rows[0]["SenderAddress"]
    assert 0 < bad < traffic.counts["bad_rows_planted"]


def test_mbox_is_an_mbox_and_shares_only_the_planted_duplicates_with_the_trace(
    traffic: SampleTraffic, trace: dict[str, list[dict[str, str]]], mbox: dict[str, Mail]
) -> None:
    raw = traffic.mailbox.read_bytes()
    assert raw.startswith(b"From ")
    assert len(mbox) == traffic.counts["mailbox"]
    assert 0.03 < raw.count(b"Content-Type: image/png") / len(mbox) < 0.2
    shared = set(trace) & set(mbox)
    assert len(shared) == traffic.counts["duplicates_planted"]
    mails = _trace_mails(trace)
    assert all(mails[m] == mbox[m] for m in shared)


def test_planted_email_violations_are_what_they_claim(
    traffic: SampleTraffic,
    trace: dict[str, list[dict[str, str]]],
    mbox: dict[str, Mail],
    accounts: dict[str, set[str]],
) -> None:
    mails = list(_trace_mails(trace).values()) + [
        mail for message_id, mail in mbox.items() if message_id not in trace
    ]
    personal, students = accounts["staff_personal_email"], accounts["student_email"]
    found: Counter[str] = Counter()
    for mail in mails:
        if mail.parties & personal and mail.parties & students:
            found["personal_email_to_student"] += 1
        if mail.parties & personal and mail.parties & accounts["parent_email"]:
            found["personal_email_to_parent"] += 1
        if mail.parties & accounts["student_personal_email"]:
            found["student_personal_email"] += 1
        assert not (mail.parties & personal and mail.parties & accounts["staff_email"])
    for kind in ("personal_email_to_student", "personal_email_to_parent", "student_personal_email"):
        assert found[kind] == traffic.planted[kind], kind


def test_student_contacts_give_a_few_students_a_personal_gmail(
    traffic: SampleTraffic, district: SampleDistrict
) -> None:
    rows = _rows(traffic.student_contacts)
    assert list(rows[0]) == ["person_id", "kind", "value", "district_owned"]
    assert 1 <= len(rows) <= 5
    assert all(r["person_id"].startswith("S") and r["kind"] == "email" for r in rows)
    assert all(r["value"].endswith("@gmail.com") and r["district_owned"] == "false" for r in rows)


def test_texts_are_sms_csv_with_valid_numbers_and_the_planted_platform_rows(
    traffic: SampleTraffic, accounts: dict[str, set[str]]
) -> None:
    assert traffic.texts.read_text(encoding="utf-8").splitlines()[0] == ",".join(SMS_HEADER)
    rows = _rows(traffic.texts)
    assert len(rows) == traffic.counts["texts"]
    assert len({r["message_id"] for r in rows}) == len(rows)
    invalid = 0
    found: Counter[str] = Counter()
    for row in rows:
        day = _local_day(row["occurred_at"])
        assert row["type"] in ("text_message", "voicemail", "call")
        numbers = [row["from"], *row["to"].split(";")]
        valid = all(phonenumbers.is_valid_number(phonenumbers.parse(n, "US")) for n in numbers)
        invalid += not valid
        platform = row["platform"]
        if platform == "remind" and row["type"] == "voicemail":
            found["channel_not_approved"] += 1
        elif platform == "remind" and day > date(2026, 8, 1):
            found["expired_platform"] += 1
        found["denied_platform"] += platform == "whatsapp"
        found["pending_platform"] += platform == "classdojo"
        if valid and not platform and _e164(row["from"]) in accounts["staff_personal_phone"]:
            assert all(_e164(n) in accounts["parent_phone"] for n in row["to"].split(";"))
            found["personal_phone_to_parent"] += 1
    assert 0 < invalid < traffic.counts["bad_rows_planted"]
    for kind, count in found.items():
        assert count == traffic.planted[kind], kind
    assert len(found) == 5


def test_slack_export_is_well_formed_and_only_the_club_has_students(
    traffic: SampleTraffic,
) -> None:
    users = json.loads((traffic.slack / "users.json").read_text(encoding="utf-8"))
    channels = json.loads((traffic.slack / "channels.json").read_text(encoding="utf-8"))
    email = {u["id"]: u["profile"]["email"] for u in users}
    assert len({c["id"] for c in channels}) == len(channels)
    per_channel: Counter[str] = Counter()
    for channel in channels:
        students = [m for m in channel["members"] if email[m].endswith(STUDENT_DOMAIN)]
        assert bool(students) == (channel["name"] == "hs-robotics-club")
        stamps = set()
        for day in sorted((traffic.slack / channel["name"]).glob("*.json")):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.json", day.name)
            for message in json.loads(day.read_text(encoding="utf-8")):
                assert message["type"] == "message" and message["text"]
                assert message["user"] in channel["members"]
                assert re.fullmatch(r"\d{10}\.\d{6}", message["ts"])
                stamps.add(message["ts"])
                per_channel[channel["name"]] += 1
        assert len(stamps) == per_channel[channel["name"]]
    assert sum(per_channel.values()) == traffic.counts["slack"]
    assert per_channel["hs-robotics-club"] == traffic.planted["audience_not_approved"]


def test_refuses_too_few_records_and_a_backwards_range(
    tmp_path: Path, district: SampleDistrict
) -> None:
    with pytest.raises(ValueError, match="records"):
        generate_traffic(district, tmp_path, records=10)
    with pytest.raises(ValueError, match="end"):
        generate_traffic(district, tmp_path, start=date(2026, 9, 1), end=date(2026, 8, 1))
