"""A small district and its communications, written as files the CLI imports and ingests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.conftest import Cli

REGISTRY = """\
district:
  name: Test District
  timezone: America/New_York
  email_domains: [district.k12.us, students.district.k12.us]
  phone_numbers: ["+1914555020*"]
platforms:
  - id: parentsquare
    name: ParentSquare
    status: approved
    channel_types: [email, text_message, voicemail, image_sharing, chat]
    audiences: [staff-student, staff-parent, staff-staff]
    identifiers: {email_domains: [parentsquare.com]}
    approved_on: 2023-08-01
  - id: remind
    name: Remind
    status: approved
    channel_types: [text_message, chat]
    audiences: [staff-student, staff-parent]
    approved_on: 2022-01-15
    expires_on: 2026-08-01
  - id: whatsapp
    name: WhatsApp
    status: denied
    channel_types: [text_message, chat]
    audiences: [staff-parent]
  - id: classdojo
    name: ClassDojo
    status: pending
    channel_types: [chat, image_sharing]
    audiences: [staff-parent]
  - id: slack
    name: Slack
    status: approved
    channel_types: [chat]
    audiences: [staff-staff]
"""

ORGS = "HS"
PEOPLE = """\
person_id,population,given_name,family_name,org_ids,email,phone
T1,staff,Dana,Ito,HS,t1@district.k12.us,
T2,staff,Sam,Reyes,HS,t2@district.k12.us,
S1,student,Ana,Lee,HS,s1@students.district.k12.us,
S2,student,Ben,Ortiz,HS,s2@students.district.k12.us,
P1,parent,Maria,Lee,HS,p1@gmail.com,+1 914 555 8001
V1,vendor,Bus,Company,HS,v1@busco.example,
"""
CONTACTS = """\
person_id,kind,value,district_owned
T1,email,t1home@gmail.com,false
T1,phone,(914) 555-7001,false
T1,phone,914-555-0201,false
S1,email,s1@gmail.com,false
"""
ROSTER_ORGS = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n" \
    "DIST,active,,Test District,district,,\nHS,active,,Hillcrest High School,school,,DIST\n"

# message_id, occurred_at, channel, platform, sender, recipients -> expected (rule, subject)
CASES: list[tuple[str, str, str, str | None, str, list[str], set[tuple[str, str]]]] = [
    ("district-to-student", "2026-09-14T13:00:00Z", "email", None,
     "t1@district.k12.us", ["s1@students.district.k12.us"], set()),
    ("personal-to-student", "2026-09-14T13:00:00Z", "email", None,
     "t1home@gmail.com", ["s1@students.district.k12.us"], {("9052-A-direct", "T1")}),
    ("to-student-personal", "2026-09-14T13:00:00Z", "email", None,
     "t1@district.k12.us", ["s1@gmail.com"], {("9052-A-direct", "T1")}),
    ("student-personal-two-staff", "2026-09-14T13:00:00Z", "email", None,
     "t1@district.k12.us", ["s1@gmail.com", "t2@district.k12.us"],
     {("9052-A-direct", "T1"), ("9052-A-direct", "T2")}),
    ("staff-problem-only-to-that-staff", "2026-09-14T13:00:00Z", "email", None,
     "t1home@gmail.com", ["s1@gmail.com", "t2@district.k12.us"], {("9052-A-direct", "T1")}),
    ("district-to-parent", "2026-09-14T13:00:00Z", "email", None,
     "t1@district.k12.us", ["p1@gmail.com"], set()),
    ("personal-phone-to-parent", "2026-09-14T13:00:00Z", "text_message", None,
     "+19145557001", ["+19145558001"], {("9052-A-direct", "T1")}),
    ("district-phone-to-parent", "2026-09-14T13:00:00Z", "text_message", None,
     "+19145550201", ["+19145558001"], set()),
    ("parent-to-personal-phone", "2026-09-14T13:00:00Z", "text_message", None,
     "+19145558001", ["+19145557001"], {("9052-A-direct", "T1")}),
    ("denied-platform", "2026-09-14T13:00:00Z", "text_message", "whatsapp",
     "+19145550201", ["+19145558001"], {("9052-A-platform", "T1")}),
    ("pending-platform", "2026-09-14T13:00:00Z", "chat", "classdojo",
     "t1@district.k12.us", ["p1@gmail.com"], {("9052-A-platform", "T1")}),
    ("remind-before-expiry", "2026-07-31T13:00:00Z", "text_message", "remind",
     "t1@district.k12.us", ["p1@gmail.com"], set()),
    ("remind-last-day-local", "2026-08-02T03:30:00Z", "text_message", "remind",
     "t1@district.k12.us", ["p1@gmail.com"], set()),
    ("remind-after-expiry", "2026-08-02T13:00:00Z", "text_message", "remind",
     "t1@district.k12.us", ["p1@gmail.com"], {("9052-A-platform", "T1")}),
    ("remind-wrong-channel", "2026-07-01T13:00:00Z", "voicemail", "remind",
     "t1@district.k12.us", ["p1@gmail.com"], {("9052-A-platform", "T1")}),
    ("slack-with-student", "2026-09-14T13:00:00Z", "chat", "slack",
     "t1@district.k12.us", ["s1@students.district.k12.us"], {("9052-A-platform", "T1")}),
    ("slack-staff-only", "2026-09-14T13:00:00Z", "chat", "slack",
     "t1@district.k12.us", ["t2@district.k12.us"], set()),
    ("slack-two-staff-and-student", "2026-09-14T13:00:00Z", "chat", "slack",
     "t1@district.k12.us", ["t2@district.k12.us", "s2@students.district.k12.us"],
     {("9052-A-platform", "T1"), ("9052-A-platform", "T2")}),
    ("unknown-platform", "2026-09-14T13:00:00Z", "chat", "telegram",
     "t1@district.k12.us", ["p1@gmail.com"], {("9052-A-platform", "T1")}),
    ("platform-by-identifier", "2026-09-14T13:00:00Z", "email", None,
     "t1home@gmail.com", ["class-1@parentsquare.com", "s1@students.district.k12.us"], set()),
    ("student-to-student", "2026-09-14T13:00:00Z", "email", None,
     "s1@gmail.com", ["s2@students.district.k12.us"], set()),
    ("newsletter", "2026-09-14T13:00:00Z", "email", None,
     "news@list.example", ["t1home@gmail.com"], set()),
    ("staff-to-vendor", "2026-09-14T13:00:00Z", "email", None,
     "t1home@gmail.com", ["v1@busco.example"], set()),
    ("personal-staff-to-staff", "2026-09-14T13:00:00Z", "email", None,
     "t1home@gmail.com", ["t2@district.k12.us"], {("9052-A-direct", "T1")}),
]


def write_world(folder: Path) -> dict[str, Path]:
    """The registry, people, contacts and records files of the test district."""
    folder.mkdir(parents=True, exist_ok=True)
    roster = folder / "roster"
    roster.mkdir(exist_ok=True)
    (roster / "manifest.csv").write_text("propertyName,value\noneroster.version,1.2\n")
    (roster / "orgs.csv").write_text(ROSTER_ORGS)
    (roster / "users.csv").write_text("sourcedId,givenName,familyName\n")
    (roster / "roles.csv").write_text("userSourcedId,role,orgSourcedId\n")
    files = {"registry": folder / "registry.yaml", "people": folder / "people.csv",
             "contacts": folder / "contacts.csv", "records": folder / "records.jsonl",
             "roster": roster}
    files["registry"].write_text(REGISTRY)
    files["people"].write_text(PEOPLE)
    files["contacts"].write_text(CONTACTS)
    lines = [
        json.dumps({"message_id": mid, "occurred_at": when, "channel_type": channel,
                    "platform": platform, "sender": sender, "recipients": recipients,
                    "subject": None, "has_media": False})
        for mid, when, channel, platform, sender, recipients, _expected in CASES
    ]
    files["records"].write_text("\n".join(lines) + "\n")
    return files


def load_world(cli: Cli, folder: Path) -> None:
    """Import the world's registry and people and ingest its records through the CLI."""
    files = write_world(folder)
    cli.ok("registry", "import", files["registry"])
    cli.ok("directory", "import", "oneroster", files["roster"])
    cli.ok("directory", "import", "people", files["people"])
    cli.ok("directory", "import", "contacts", files["contacts"])
    cli.ok("ingest", "jsonl", files["records"])
