"""The Slack connector: a workspace export (folder or zip) becomes chat records."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaperone.common.addresses import normalize_email
from chaperone.common.problems import InputError
from chaperone.ingest.connectors.slack import SYSTEM_SUBTYPES, SlackConnector
from chaperone.ingest.context import IngestContext
from chaperone.lake.schema import Item, Record, Rejected, stable_id, to_table
from tests.conftest import corpus

DAY = "2016-07-21"
TS = "1469127893.000002"  # 2016-07-21T19:04:53.000002Z

USERS = [
    {"id": "U01DANA", "name": "dana", "profile": {"email": " Dana.Teacher@Example.ORG "}},
    {"id": "U02ALEX", "name": "alex", "profile": {"email": "alex@example.org"}},
    {"id": "U03NOMAIL", "name": "guest", "profile": {"real_name": "A Guest"}},
    {"id": "U04BOT", "name": "helper", "is_bot": True, "profile": {}},
]
CHANNELS = [
    {"id": "C01GEN", "name": "general", "members": ["U01DANA", "U02ALEX", "U03NOMAIL"]},
    {"id": "C02QUIET", "name": "quiet", "members": []},
]


def message(**fields: Any) -> dict[str, Any]:
    """A plain message from Dana, with fields added or replaced."""
    base: dict[str, Any] = {"type": "message", "user": "U01DANA", "text": "hello", "ts": TS}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def layout(days: dict[str, Any], **lists: Any) -> dict[str, bytes]:
    """An export's files by name. ``days`` maps ``folder/date`` to messages (or raw bytes)."""
    files: dict[str, Any] = {"users.json": USERS, "channels.json": CHANNELS}
    files.update({f"{name}.json": value for name, value in lists.items()})
    files.update({f"{name}.json": value for name, value in days.items()})
    return {
        name: value if isinstance(value, bytes) else json.dumps(value).encode()
        for name, value in files.items()
        if value is not None
    }


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def write_zip(path: Path, files: dict[str, bytes], prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(prefix + name, data)
    return path


@pytest.fixture(params=["folder", "zip"])
def export(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Writes an export as a folder or as a zip (each test runs with both)."""

    def make(files: dict[str, bytes]) -> Path:
        if request.param == "folder":
            return write_folder(tmp_path / "export", files)
        return write_zip(tmp_path / "export.zip", files)

    return make


def read(source: Path, **context: Any) -> list[Item]:
    return list(SlackConnector(IngestContext(**context)).read(source))


def only(items: list[Item]) -> Item:
    assert len(items) == 1, items
    return items[0]


def records(items: list[Item]) -> list[Record]:
    return [i for i in items if isinstance(i, Record)]


# --- what becomes a record ---------------------------------------------------------------


def test_a_channel_message_is_a_chat_record_from_its_author_to_the_other_members(
    export: Any,
) -> None:
    source = export(layout({f"general/{DAY}": [message()]}))

    record = only(read(source))

    assert isinstance(record, Record)
    assert record.channel_type == "chat"
    assert (
        record.sender == normalize_email(" Dana.Teacher@Example.ORG ") == "dana.teacher@example.org"
    )
    assert record.recipients == ("alex@example.org", "slack:u03nomail")
    assert record.occurred_at == dt.datetime(2016, 7, 21, 19, 4, 53, 2, tzinfo=dt.UTC)
    assert record.record_id == stable_id("slack", "C01GEN", TS)
    assert record.message_id == f"C01GEN/{TS}"
    assert record.platform == "slack"
    assert record.subject is None
    assert (record.has_media, record.attachment_count) == (False, 0)
    assert record.source_kind == "slack"
    assert record.source_ref == f"slack:{source.name}#general/{DAY}.json#1"
    assert record.defects == ()


def test_the_platform_is_the_registry_platform_when_the_run_names_one(tmp_path: Path) -> None:
    source = write_folder(tmp_path, layout({f"general/{DAY}": [message()]}))

    record = only(read(source, platform="district-slack"))

    assert isinstance(record, Record) and record.platform == "district-slack"


def test_a_user_without_an_email_address_is_their_slack_id_in_lower_case(tmp_path: Path) -> None:
    source = write_folder(tmp_path, layout({f"general/{DAY}": [message(user="U03NOMAIL")]}))

    record = only(read(source))

    assert isinstance(record, Record)
    assert record.sender == "slack:u03nomail"
    assert record.recipients == ("dana.teacher@example.org", "alex@example.org")


def test_an_author_the_export_does_not_list_is_kept_with_a_defect(tmp_path: Path) -> None:
    source = write_folder(tmp_path, layout({f"general/{DAY}": [message(user="U99GONE")]}))

    record = only(read(source))

    assert isinstance(record, Record)
    assert record.sender == "slack:u99gone"
    assert record.defects == ("UnknownUser",)


def test_an_image_file_makes_the_record_media_and_every_file_is_counted(export: Any) -> None:
    files = [{"id": "F1", "mimetype": "image/png"}, {"id": "F2", "mimetype": "application/pdf"}]
    days = {
        f"general/{DAY}": [
            message(subtype="file_share", files=files),
            message(ts="1469127894.000001", files=[{"id": "F3", "mimetype": "text/plain"}]),
            message(ts="1469127895.000001", subtype="file_share", file={"mimetype": "image/jpeg"}),
        ]
    }
    source = export(layout(days))

    shared = [(r.has_media, r.attachment_count) for r in records(read(source))]

    assert shared == [(True, 2), (False, 1), (True, 1)]


def test_a_comment_on_a_file_is_from_the_commenter_and_attaches_nothing(tmp_path: Path) -> None:
    comment = message(
        user=None,
        subtype="file_comment",
        file={"id": "F1", "mimetype": "image/png"},
        comment={"id": "Fc1", "user": "U02ALEX", "comment": "nice"},
    )
    source = write_folder(tmp_path, layout({f"general/{DAY}": [comment]}))

    record = only(read(source))

    assert isinstance(record, Record)
    assert record.sender == "alex@example.org"
    assert (record.has_media, record.attachment_count) == (False, 0)


def test_a_bot_message_without_a_user_is_from_the_bot_id(tmp_path: Path) -> None:
    bot = message(user=None, subtype="bot_message", bot_id="B0HELPER", username="helper")
    source = write_folder(tmp_path, layout({f"general/{DAY}": [bot]}))

    record = only(read(source))

    assert isinstance(record, Record)
    assert record.sender == "slack:b0helper"
    assert record.recipients == ("dana.teacher@example.org", "alex@example.org", "slack:u03nomail")


def test_a_bot_message_with_a_user_is_from_that_user(tmp_path: Path) -> None:
    bot = message(user="U04BOT", subtype="bot_message", bot_id="B0HELPER")
    source = write_folder(tmp_path, layout({f"general/{DAY}": [bot]}))

    record = only(read(source))

    assert isinstance(record, Record) and record.sender == "slack:u04bot"


# --- what is skipped ---------------------------------------------------------------------


@pytest.mark.parametrize("subtype", ["channel_join", "channel_purpose", "pinned_item", "bot_add"])
def test_system_events_are_not_items_at_all(tmp_path: Path, subtype: str) -> None:
    event = message(subtype=subtype, ts="1469127800.000001")
    source = write_folder(tmp_path, layout({f"general/{DAY}": [event, message()]}))

    items = read(source)

    assert [i.source_ref for i in records(items)] == [f"slack:{tmp_path.name}#general/{DAY}.json#2"]
    assert len(items) == 1


def test_files_that_are_not_day_files_are_not_read(tmp_path: Path) -> None:
    files = layout({f"general/{DAY}": [message()]})
    files["integration_logs.json"] = b"[]"
    files["general/notes.txt"] = b"not a day file"
    files["general/canvas.json"] = b"{not json"

    assert len(read(write_folder(tmp_path, files))) == 1


# --- what goes to quarantine -------------------------------------------------------------


def test_a_malformed_day_file_is_one_rejected_item_and_the_others_are_read(export: Any) -> None:
    days = {
        "general/2016-01-01": b'[{"ts": "1451606400.000001", "user": ',
        f"general/{DAY}": [message()],
    }
    source = export(layout(days))

    rejected, record = read(source)

    assert isinstance(rejected, Rejected)
    assert rejected.position == f"slack:{source.name}#general/2016-01-01.json"
    assert rejected.reason.startswith("malformed JSON")
    assert rejected.size > 0 and rejected.digest
    assert isinstance(record, Record)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8 text"),
        (b'{"not": "a list"}', "not a JSON array of messages"),
    ],
)
def test_a_day_file_that_is_not_a_list_of_messages_is_rejected(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    source = write_folder(tmp_path, layout({f"general/{DAY}": content}))

    rejected = only(read(source))

    assert isinstance(rejected, Rejected) and rejected.reason == reason


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (message(ts=None), "no ts"),
        (message(ts="yesterday"), "unreadable ts"),
        (message(ts=1469127893), "unreadable ts"),
        (message(user=None), "no author (user or bot_id)"),
        ("just text", "not a message (a JSON object)"),
    ],
)
def test_a_message_without_ts_or_author_is_rejected_at_its_place(
    tmp_path: Path, bad: Any, reason: str
) -> None:
    source = write_folder(tmp_path, layout({f"general/{DAY}": [message(ts="1469127800.1"), bad]}))

    record, rejected = read(source)

    assert isinstance(record, Record)
    assert rejected == Rejected(f"slack:{tmp_path.name}#general/{DAY}.json#2", reason)


def test_a_zip_member_larger_than_four_messages_is_refused(tmp_path: Path) -> None:
    big = [message(ts=f"1469127{n:03d}.000001", text="x" * 200) for n in range(10)]
    source = write_zip(
        tmp_path / "export.zip", layout({f"general/{DAY}": big, "quiet/2016-07-22": [message()]})
    )

    rejected, record = read(source, max_message_bytes=500)

    assert isinstance(rejected, Rejected)
    assert rejected.position == f"slack:export.zip#general/{DAY}.json"
    assert rejected.reason == "larger than 2000 bytes"
    assert isinstance(record, Record)


# --- conversations -----------------------------------------------------------------------


def test_private_channels_group_dms_and_dms_are_read_when_exported(export: Any) -> None:
    lists = {
        "groups": [{"id": "G01STAFF", "name": "staff-room", "members": ["U01DANA", "U02ALEX"]}],
        "mpims": [
            {
                "id": "G02MPIM",
                "name": "mpdm-dana--alex--guest-1",
                "members": ["U01DANA", "U02ALEX", "U03NOMAIL"],
            }
        ],
        "dms": [{"id": "D01DM", "members": ["U01DANA", "U03NOMAIL"]}],
    }
    days = {
        f"staff-room/{DAY}": [message()],
        f"G02MPIM/{DAY}": [message(user="U03NOMAIL")],
        f"D01DM/{DAY}": [message()],
    }
    source = export(layout(days, **lists))

    found = {r.record_id: (r.sender, r.recipients) for r in records(read(source))}

    assert found == {
        stable_id("slack", "G01STAFF", TS): ("dana.teacher@example.org", ("alex@example.org",)),
        stable_id("slack", "G02MPIM", TS): (
            "slack:u03nomail",
            ("dana.teacher@example.org", "alex@example.org"),
        ),
        stable_id("slack", "D01DM", TS): ("dana.teacher@example.org", ("slack:u03nomail",)),
    }


def test_a_folder_no_conversation_names_gives_records_without_recipients(tmp_path: Path) -> None:
    source = write_folder(tmp_path, layout({f"lost-and-found/{DAY}": [message()]}))

    record = only(read(source))

    assert isinstance(record, Record)
    assert record.recipients == ()
    assert record.defects == ("UnknownChannel",)
    assert record.record_id == stable_id("slack", "lost-and-found", TS)


def test_a_zip_holding_the_export_in_one_folder_is_read(tmp_path: Path) -> None:
    source = write_zip(
        tmp_path / "export.zip", layout({f"general/{DAY}": [message()]}), "Workspace Export/"
    )

    record = only(read(source))

    assert isinstance(record, Record) and record.recipients[0] == "alex@example.org"


def test_the_export_is_one_source() -> None:
    connector = SlackConnector(IngestContext())

    assert connector.sources(Path("export")) == [Path("export")]


# --- source-level problems ---------------------------------------------------------------


def test_an_export_without_users_json_fails_as_a_whole(export: Any) -> None:
    files = layout({f"general/{DAY}": [message()]})
    del files["users.json"]

    with pytest.raises(InputError, match=r"no users\.json"):
        read(export(files))


def test_a_malformed_users_json_fails_the_export(tmp_path: Path) -> None:
    files = layout({f"general/{DAY}": [message()]})
    files["users.json"] = b"[{"

    with pytest.raises(InputError, match=r"users\.json: malformed JSON"):
        read(write_folder(tmp_path, files))


def test_a_file_that_is_neither_a_folder_nor_a_zip_is_not_an_export(tmp_path: Path) -> None:
    source = tmp_path / "export.json"
    source.write_text("[]")

    with pytest.raises(InputError, match="not a Slack export"):
        read(source)


# --- the real export (public community workspace) ----------------------------------------


def test_the_real_houston_datavis_export_reads_cleanly() -> None:
    source = corpus("slack-houstondatavis")
    messages = [
        (day.parent.name, item.get("ts"))
        for day in sorted(source.glob("*/*.json"))
        for item in json.loads(day.read_bytes())
        if item.get("subtype") not in SYSTEM_SUBTYPES
    ]

    items = read(source)

    assert all(isinstance(i, Record | Rejected) for i in items)
    assert len(items) == len(messages) > 900
    found = records(items)
    assert len({r.record_id for r in found}) == len(set(messages)) == len(found)
    for record in found:
        channel_id, ts = (record.message_id or "").rsplit("/", 1)
        assert record.record_id == stable_id("slack", channel_id, ts)
        assert record.channel_type == "chat" and record.occurred_at.tzinfo is dt.UTC
    assert any(r.has_media for r in found)
    to_table(found)  # storable as is


# --- property: no day file makes read raise ----------------------------------------------

NASTY = st.sampled_from(["", "\ud800", "image/png", "U01DANA", TS, "channel_join", "bot_message"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | NASTY,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text() | NASTY, children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(["ts", "user", "subtype", "files", "file", "bot_id", "comment", "mimetype"])
MESSAGES = st.lists(st.dictionaries(KEYS, JSON | NASTY, max_size=6), max_size=5)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(day=JSON | MESSAGES)
def test_any_json_as_a_day_file_never_makes_read_raise(tmp_path: Path, day: Any) -> None:
    source = write_folder(tmp_path, layout({f"general/{DAY}": day}))

    items = read(source)

    assert all(isinstance(i, Record | Rejected) for i in items)
    to_table(records(items))
