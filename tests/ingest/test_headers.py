"""The header block: the fields and defects the standard library's header parse gives."""

from __future__ import annotations

from email.parser import BytesHeaderParser
from email.policy import default

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaperone.ingest.headers import Field, read_headers
from chaperone.ingest.mime import header_block
from tests.ingest.messages import message

EXAMPLES = settings(max_examples=1000, deadline=None)
STDLIB = BytesHeaderParser(policy=default)


def reference(block: bytes) -> tuple[list[Field], list[str]]:
    """What ``BytesHeaderParser(policy=default)`` reads: raw fields and defect names."""
    parsed = STDLIB.parsebytes(block)
    return [(k, str(v)) for k, v in parsed.raw_items()], [type(d).__name__ for d in parsed.defects]


@pytest.mark.parametrize(
    ("block", "fields", "defects"),
    [
        (b"From: a@x.org\r\nTo: b@y.org\r\n\r\n", [("From", "a@x.org"), ("To", "b@y.org")], []),
        (b"Subject: one\n two\n\tthree\n\n", [("Subject", "one\n two\n\tthree")], []),
        (b"Subject:   spaced  \n\n", [("Subject", "spaced  ")], []),
        (b"From x Mon Sep 14 2026\nTo: b@y\n\n", [("To", "b@y")], []),
        (b" folded\nTo: b@y\n\n", [("To", "b@y")], ["FirstHeaderLineIsContinuationDefect"]),
        (b"To: b@y\nFrom x\nCc: c@z\n\n", [("To", "b@y"), ("Cc", "c@z")],
         ["MisplacedEnvelopeHeaderDefect"]),
        (b"To: b@y\nFrom x\n\n", [("To", "b@y")], []),
        (b": nameless\nTo: b@y\n\n", [("To", "b@y")], ["InvalidHeaderDefect"]),
        (b"To: b@y\nbody text\nCc: c@z\n\n", [("To", "b@y")],
         ["MissingHeaderBodySeparatorDefect"]),
        (b"To: b@y\rCc: c@z\r\rX: y\n\n", [("To", "b@y"), ("Cc", "c@z")], []),
        (b"Subject: caf\xc3\xa9\n\n", [("Subject", "caf\udcc3\udca9")], []),
        (b"To: b@y", [("To", "b@y")], []),
        (b"\n\nTo: b@y\n", [], []),
    ],
)
def test_fields_and_defects(block: bytes, fields: list[Field], defects: list[str]) -> None:
    assert read_headers(block) == (fields, defects)
    assert reference(block) == (fields, defects)


def test_a_real_message_header_block() -> None:
    data = message(cc='"Ito, Dana" <d@x.org>', image=True)
    block = data[: header_block(data)[1]]
    assert read_headers(block) == reference(block)


# Lines from the pieces that matter to header syntax: names, colons, folding, envelopes.
piece = st.sampled_from(
    [b"From: a@x", b"To", b":", b" ", b"\t", b"\r\n", b"\n", b"\r", b"From ", b"X-Y", b"a",
     b"\xc3\xa9", b"\x7f", b"\x0b", b"\x0c", b"Subject: =?utf-8?q?x?=", b"@", b">From "]
)


# Lines of the usual block (LF ends, fields and their continuations, the blank line).
line = st.sampled_from(
    [b"From: a@x\n", b"To:\n", b"X-Y: \t v \n", b" cont\n", b"\t\n", b"  \n",
     b"Subject: caf\xc3\xa9 \n", b"A:b:c\n", b"\n", b"From x\n", b"x\n", b"To: b@y"]
)


@EXAMPLES
@given(block=st.one_of(st.lists(piece, max_size=40), st.lists(line, max_size=12)).map(b"".join))
def test_the_standard_librarys_reading_of_arbitrary_blocks(block: bytes) -> None:
    assert read_headers(block) == reference(block)


@EXAMPLES
@given(block=st.binary(max_size=300))
def test_the_standard_librarys_reading_of_arbitrary_bytes(block: bytes) -> None:
    assert read_headers(block) == reference(block)
