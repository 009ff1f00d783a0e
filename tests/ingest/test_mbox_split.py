"""Splitting an mbox at its From_ lines and reading their dates, as the regex and strptime did."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaperone.ingest.connectors.mbox import from_lines
from chaperone.ingest.email_message import from_line_date

EXAMPLES = settings(max_examples=400, deadline=None)
SEPARATOR = re.compile(rb"^From [^\n]*\n", re.MULTILINE)


def reference_lines(data: bytes) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in SEPARATOR.finditer(data)]


def reference_date(line: bytes) -> dt.datetime | None:
    """The envelope date as strptime (then parsedate) read it."""
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 3:
        return None
    try:
        value = dt.datetime.strptime(" ".join(parts[2].split()[-5:]), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        try:
            return parsedate_to_datetime(parts[2]).astimezone(dt.UTC)
        except (TypeError, ValueError, IndexError):
            return None
    return value.replace(tzinfo=dt.UTC)


def test_from_lines() -> None:
    data = b"From a Mon Sep 14 13:02:11 2026\nX: 1\n\n>From b\nbody From c\nFrom d\nFrom e\n\nFrom f"
    assert from_lines(data) == reference_lines(data) == [(0, 32), (58, 65), (65, 72)]
    assert from_lines(b"") == from_lines(b"no mbox\n") == []


@EXAMPLES
@given(
    data=st.lists(
        st.sampled_from([b"From ", b"From", b">From ", b"\n", b"\r\n", b"\r", b"x", b" "]),
        max_size=30,
    ).map(b"".join)
)
def test_from_lines_equals_the_regex(data: bytes) -> None:
    assert from_lines(data) == reference_lines(data)


@pytest.mark.parametrize(
    "line",
    [
        b"From MAILER-DAEMON Mon Sep 14 13:02:11 2026\n",
        b"From a@x.org  Tue Sep  1 03:02:11 2026\r\n",
        b"From a@x.org Tue Sep 01 03:02:11 2026\n",
        b"From a@x.org tue sep 14 13:02:11 2026\n",  # lower case: strptime reads it too
        b"From a@x.org Thursday Sep 14 13:02:11 2026\n",
        b"From a@x.org Mon Sep 14 3:02:11 2026\n",
        b"From a@x.org Mon Feb 30 13:02:11 2026\n",
        b"From a@x.org Mon Sep 14 24:02:11 2026\n",
        b"From a@x.org Mon Sep 14 13:02:60 2026\n",
        b"From a@x.org Mon, 14 Sep 2026 13:02:11 -0400\n",
        b"From Mon Sep 14 13:02:11 2026\n",
        b"From a@x.org Mon Sep 14 13:02:11 26\n",
        b"From a@x.org\n",
        b"From \n",
        b"From a@x.org Mon Sep 14 13:02:11 2026 remote from x\n",
    ],
)
def test_from_line_dates(line: bytes) -> None:
    assert from_line_date(line) == reference_date(line)


words = st.sampled_from(
    ["Mon", "mon", "Sep", "SEP", "14", "1", "001", "13:02:11", "3:02:11", "13:2:11", "24:00:00",
     "2026", "26", "12026", "-0400", "+0000", "Mon,", "a@x.org", "", "\u00e9"]
)


@EXAMPLES
@given(tail=st.lists(words, max_size=8), gap=st.sampled_from([" ", "  ", "\t"]))
def test_from_line_date_equals_strptime(tail: list[str], gap: str) -> None:
    line = ("From sender" + gap + gap.join(tail) + "\n").encode("latin-1")
    assert from_line_date(line) == reference_date(line)
