"""gmail-log: Google Workspace Gmail log events (BigQuery JSON export) become e-mail records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaperone.ingest.connectors.gmail_log import GmailLogConnector
from chaperone.ingest.context import IngestContext
from chaperone.ingest.record import email_id
from chaperone.lake.schema import Item, Record, Rejected, stable_id

CONTEXT = IngestContext(region="US", timezone="America/New_York")
USEC = 1789390931_000000  # 2026-09-14T13:02:11Z
SENT: dict[str, Any] = {
    "event_info": {"timestamp_usec": str(USEC), "mail_event_type": 1, "success": True},
    "message_info": {
        "rfc2822_message_id": "<abc123@example.k12.ny.us>",
        "subject": "Field trip",
        "source": {"address": "Dana.Ito@Example.k12.ny.us", "service": "gmail-ui"},
        "destination": [
            {"address": "Kid@Students.example.k12.ny.us", "service": "gmail-smtp-out"},
            {"address": "parent@gmail.com"},
        ],
        "num_message_attachments": "1",
        "attachment": [{"file_name": "team.png", "file_extension_type": "png", "sha256": "00"}],
    },
}


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def event(event_info: dict[str, Any] | None = None, **message_info: Any) -> dict[str, Any]:
    """The sent event above with some fields replaced (None removes a field)."""
    info = {**SENT["event_info"], **(event_info or {})}
    message = {k: v for k, v in {**SENT["message_info"], **message_info}.items() if v is not None}
    return {"event_info": {k: v for k, v in info.items() if v is not None}, "message_info": message}


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys, as some exports write them (lists stay lists)."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            flat.update(flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def read(path: Path, lines: list[str], context: IngestContext = CONTEXT) -> list[Item]:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list(GmailLogConnector(context).read(path))


def records(items: list[Item]) -> list[Record]:
    assert all(isinstance(i, Record) for i in items), items
    return [i for i in items if isinstance(i, Record)]


def test_a_sent_event_becomes_an_email_record(tmp_path: Path) -> None:
    [record] = records(read(tmp_path / "gmail.json", [json.dumps(SENT)]))
    assert record == Record(
        record_id=stable_id("email", "abc123@example.k12.ny.us"),
        message_id="abc123@example.k12.ny.us",
        occurred_at=utc(2026, 9, 14, 13, 2, 11),
        channel_type="email",
        platform=None,
        sender="dana.ito@example.k12.ny.us",
        recipients=("kid@students.example.k12.ny.us", "parent@gmail.com"),
        subject="Field trip",
        has_media=True,
        attachment_count=1,
        source_kind="gmail-log",
        source_ref="gmail-log:gmail.json#line 1",
    )


@pytest.mark.parametrize(
    ("shape", "value"),
    [
        ("nested", SENT),
        ("flattened", flatten(SENT)),
        (
            "half flattened",
            {"event_info.timestamp_usec": USEC, "message_info": flatten(SENT["message_info"])},
        ),
        ("workspace logs", {"gmail": SENT}),
        ("timestamp as int", event({"timestamp_usec": USEC})),
        ("timestamp as float", event({"timestamp_usec": float(USEC)})),
    ],
)
def test_every_export_shape_reads_alike(tmp_path: Path, shape: str, value: dict[str, Any]) -> None:
    [expected] = records(read(tmp_path / "nested.json", [json.dumps(SENT)]))
    [record] = records(read(tmp_path / "nested.json", [json.dumps(value)]))
    assert record == expected


def test_flattened_destination_addresses(tmp_path: Path) -> None:
    flat = {
        **flatten(event(destination=None)),
        "message_info.destination.address": ["A@x.org", "b@x.org"],
    }
    [record] = records(read(tmp_path / "gmail.json", [json.dumps(flat)]))
    assert record.recipients == ("a@x.org", "b@x.org")


def test_every_event_of_a_message_gets_the_message_record_id(tmp_path: Path) -> None:
    received = [
        event(
            {"mail_event_type": 2, "timestamp_usec": str(USEC + 2_000_000)},
            destination=[{"address": a}],
        )
        for a in ("kid@students.example.k12.ny.us", "parent@gmail.com")
    ]
    found = records(read(tmp_path / "gmail.json", [json.dumps(e) for e in (SENT, *received)]))
    assert len(found) == 3  # each event is a record; the lake stores the message once
    assert {r.record_id for r in found} == {stable_id("email", "abc123@example.k12.ny.us")}
    assert [r.recipients for r in found[1:]] == [
        ("kid@students.example.k12.ny.us",),
        ("parent@gmail.com",),
    ]


def test_without_message_id_the_envelope_is_the_identity(tmp_path: Path) -> None:
    [record] = records(read(tmp_path / "gmail.json", [json.dumps(event(rfc2822_message_id=" "))]))
    assert record.message_id is None
    assert record.record_id == email_id(
        None, record.sender, record.recipients, record.occurred_at, "Field trip"
    )


@pytest.mark.parametrize(
    ("attachments", "count", "has_media", "attachment_count"),
    [
        ([{"file_extension_type": "JPG"}], None, True, 1),
        ([{"file_name": "IMG_0042.HEIC"}], None, True, 1),
        ([{"content_type": "image/webp"}], None, True, 1),
        ([{"file_extension_type": "pdf", "file_name": "permission.pdf"}], None, False, 1),
        ([{"file_extension_type": "pdf"}, {"file_extension": ".png"}], 2, True, 2),
        ([], 0, False, 0),
        (None, None, False, 0),
        (None, "3", False, 3),  # counted by Gmail though not listed
    ],
)
def test_images_and_attachment_count(
    tmp_path: Path, attachments: Any, count: Any, has_media: bool, attachment_count: int
) -> None:
    value = event(attachment=attachments, num_message_attachments=count)
    [record] = records(read(tmp_path / "gmail.json", [json.dumps(value)]))
    assert (record.has_media, record.attachment_count) == (has_media, attachment_count)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (json.dumps(event(source=None)), "no sender (message_info.source.address)"),
        (json.dumps(event(source={"address": " "})), "no sender (message_info.source.address)"),
        (json.dumps(event(source={"address": 7})), "no sender (message_info.source.address)"),
        (json.dumps({"event_info": SENT["event_info"]}), "no sender (message_info.source.address)"),
        (json.dumps(event({"timestamp_usec": None})), "no time (event_info.timestamp_usec)"),
        (
            json.dumps(event({"timestamp_usec": "soon"})),
            'event_info.timestamp_usec: "soon" is not microseconds',
        ),
        (
            json.dumps(event({"timestamp_usec": True})),
            "event_info.timestamp_usec: true is not microseconds",
        ),
        (
            json.dumps(event({"timestamp_usec": 10**19})),
            "event_info.timestamp_usec: 10000000000000000000 is out of range",
        ),
        ("not json", "not JSON (Expecting value at column 1)"),
        ("[]", "not a JSON object but a list"),
    ],
)
def test_bad_events_are_rejected_with_line_and_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    items = read(tmp_path / "gmail.json", [json.dumps(SENT), "", text, json.dumps(SENT)])
    assert [type(i).__name__ for i in items] == ["Record", "Rejected", "Record"]
    rejected = items[1]
    assert isinstance(rejected, Rejected)
    assert (rejected.position, rejected.reason) == ("line 3", reason)


LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "event_info": st.fixed_dictionaries(
            {}, optional={"timestamp_usec": st.integers() | st.text(max_size=12) | JSON_VALUES}
        )
        | JSON_VALUES,
        "message_info": st.fixed_dictionaries(
            {},
            optional={
                "source": st.fixed_dictionaries({}, optional={"address": JSON_VALUES})
                | JSON_VALUES,
                "destination": st.lists(
                    st.fixed_dictionaries({}, optional={"address": JSON_VALUES}) | JSON_VALUES,
                    max_size=3,
                ),
                "rfc2822_message_id": JSON_VALUES,
                "subject": JSON_VALUES,
                "num_message_attachments": JSON_VALUES,
                "attachment": st.lists(
                    st.dictionaries(
                        st.sampled_from(["file_name", "file_extension_type", "content_type"]),
                        JSON_VALUES,
                    ),
                    max_size=3,
                )
                | JSON_VALUES,
            },
        )
        | JSON_VALUES,
        "message_info.source.address": JSON_VALUES,
        "gmail": JSON_VALUES,
    },
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st.text(max_size=40) | EVENTS.map(json.dumps), max_size=8))
def test_arbitrary_lines_are_each_a_record_or_rejected(tmp_path: Path, lines: list[str]) -> None:
    items = read(tmp_path / "fuzz.json", lines)
    assert all(isinstance(i, Record | Rejected) for i in items)
    positions = [i.position for i in items if isinstance(i, Rejected)]
    assert len(positions) == len(set(positions))  # the quarantine keys on position
