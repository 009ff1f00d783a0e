"""Every input, whatever its shape or size, ends as a record or a quarantine entry, and
one source that cannot be read never stops the sources after it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaperone.ingest.addresses import TOO_DEEP, flat_addr_specs, nesting, normalized_addresses
from chaperone.ingest.connectors.eml import EmlConnector
from chaperone.ingest.context import IngestContext
from chaperone.ingest.email_message import read_message
from chaperone.lake.schema import Item, Record, Rejected
from tests.conftest import Cli
from tests.ingest.messages import mbox, message

HEAD = (
    "From: Dana Ito <dana@example.k12.ny.us>\r\n"
    "Date: Mon, 14 Sep 2026 09:02:11 -0400\r\n"
    "Message-ID: <{id}@example.k12.ny.us>\r\n"
)


def raw(message_id: str, headers: str = "", body: str = "Hello\r\n") -> bytes:
    return (HEAD.format(id=message_id) + headers + "\r\n" + body).encode()


def read(data: bytes) -> Item:
    return read_message(data, context=IngestContext(), kind="eml", ref="eml:x.eml#1")


# A To: of 2,700 folded lines, each a group that is never closed: the standard library's
# parser opens one group inside another per line and recurses past Python's limit.
UNCLOSED_GROUPS = ",\r\n ".join(f"Team {i}: p{i}@example.org" for i in range(2700))
NESTED_COMMENTS = "kid@example.org " + "\r\n (" * 2700 + "x" + ")" * 2700


@pytest.mark.parametrize(
    ("to", "recipients"),
    [
        (UNCLOSED_GROUPS, tuple(f"p{i}@example.org" for i in range(2700))),
        (NESTED_COMMENTS, ("kid@example.org",)),
    ],
    ids=["2700 unclosed groups", "2700 nested comments"],
)
def test_a_to_header_of_2700_folded_lines_is_a_record_flagged_too_deep(
    to: str, recipients: tuple[str, ...]
) -> None:
    record = read(raw("deep", f"To: {to}\r\n"))
    assert isinstance(record, Record)
    assert record.recipients == recipients
    assert TOO_DEEP in record.defects


@pytest.mark.parametrize(
    ("value", "specs"),
    [
        ('"Ito, Dana" <d@x.org>, (a@b.org) k@y.org', ["d@x.org", "k@y.org"]),
        ("Team: a@x.org, b@x.org;, c@x.org", ["a@x.org", "b@x.org", "c@x.org"]),
        ("<@route.org:d@x.org>", ["d@x.org"]),
        ('"a@b.org" <d@x.org>', ["d@x.org"]),
        ("@mailman.org, d@", []),
    ],
)
def test_the_flat_reader_finds_the_addr_specs(value: str, specs: list[str]) -> None:
    assert flat_addr_specs([value]) == specs


def test_nesting_counts_open_groups_and_comments_outside_quotes() -> None:
    assert nesting(["a: b: c@x.org"]) == 2
    assert nesting(['"a: b: c" <c@x.org>, (x (y)) d@x.org']) == 2
    assert nesting(["a: b@x.org;, c: d@x.org;"]) == 1


def test_a_shallow_list_is_still_read_by_the_standard_library() -> None:
    assert normalized_addresses(("Team: A@X.org, (c) b@x.org;",)) == ("a@x.org", "b@x.org")


def test_a_50_mb_message_is_a_record() -> None:
    attachment = (
        "--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + ("QUJD" * 19 + "\r\n") * (50_000_000 // 78)
    )
    body = "--b\r\nContent-Type: text/plain\r\n\r\nHi\r\n" + attachment + "--b--\r\n"
    data = raw("big", 'To: kid@example.org\r\nContent-Type: multipart/mixed; boundary="b"\r\n', body)
    assert len(data) >= 50_000_000
    record = read(data)
    assert isinstance(record, Record)
    assert record.has_media and record.attachment_count == 1


def test_10000_nested_parts_are_quarantined_with_the_reason() -> None:
    count = 10_000
    opening = "".join(
        f'--b{i - 1}\r\nContent-Type: multipart/mixed; boundary="b{i}"\r\n\r\n'
        for i in range(1, count)
    )
    closing = "".join(f"--b{i}--\r\n" for i in reversed(range(count)))
    body = opening + f"--b{count - 1}\r\nContent-Type: text/plain\r\n\r\nhi\r\n" + closing
    data = raw("nested", 'To: kid@example.org\r\nContent-Type: multipart/mixed; boundary="b0"\r\n', body)
    rejected = read(data)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "MIME nesting deeper than 20 levels"
    assert rejected.size == len(data) and rejected.digest


def test_a_message_the_reader_fails_on_is_quarantined_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise ValueError("a bug in the reader")

    monkeypatch.setattr("chaperone.ingest.email_message.scan", fail)
    data = raw("any", 'To: kid@example.org\r\nContent-Type: multipart/mixed; boundary="b"\r\n')
    rejected = read(data)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "could not be read (ValueError: a bug in the reader)"


def test_an_mbox_with_a_2700_line_to_header_is_read_to_the_end(
    cli: Cli, tmp_path: Path
) -> None:
    deep = raw("deep", f"To: {UNCLOSED_GROUPS}\r\nSubject: everyone\r\n")
    box = tmp_path / "inbox.mbox"
    box.write_bytes(mbox(message(message_id="<1@x>"), deep, message(message_id="<2@x>")))
    result = cli("ingest", "mbox", box, "--format", "json")
    assert result.code == 0, result.err
    (source,) = json.loads(result.out)["sources"]
    assert (source["read"], source["stored"], source["quarantined"]) == (3, 3, 0)


def test_a_source_that_fails_part_way_is_reported_and_the_later_sources_are_read(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.eml").write_bytes(message(message_id=f"<{name}@x>"))
    original = EmlConnector.read

    def read_failing_on_b(self: EmlConnector, source: Path) -> Iterator[Item]:
        if source.name == "b.eml":
            raise OSError(5, "Input/output error")
        return original(self, source)

    monkeypatch.setattr(EmlConnector, "read", read_failing_on_b)
    result = cli("ingest", "eml", folder, "--format", "json")
    assert result.code == 1  # a failed source is a failure of the run, reported
    sources = {Path(s["source"]).name: s for s in json.loads(result.out)["sources"]}
    assert sources["b.eml"]["status"] == "failed"
    assert "could not be read (OSError: [Errno 5] Input/output error)" in sources["b.eml"]["error"]
    assert (sources["a.eml"]["stored"], sources["c.eml"]["stored"]) == (1, 1)
    assert all(s["read"] == s["stored"] + s["merged"] + s["duplicates"] + s["quarantined"]
               for s in sources.values())
