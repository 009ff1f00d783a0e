"""A header block read as ``BytesHeaderParser(policy=email.policy.default)`` reads it.

For a header-only parse the standard library's feed parser builds a message object,
a line buffer and one policy call per header, to give what is only a list of
(name, raw value) pairs and a few defects. ``read_headers`` gives the same pairs and
defect names straight from the lines, the feed parser's rules step for step
(``email.feedparser.FeedParser._parsegen`` and ``_parse_headers``,
``EmailPolicy.header_source_parse``); the tests hold it to the standard library's
answer on arbitrary bytes.
"""

from __future__ import annotations

import io
import re

# feedparser.headerRE: an envelope line, a field name and its colon, or a continuation.
_HEADER_LINE = re.compile(r"From |[\041-\071\073-\176]*:|[\t ]")
# The usual block, where the rules below come to one pattern: LF line ends only (no CR
# anywhere, so "." is any character but LF), every line a named field or a continuation
# of one, then the blank line (or the end); and in it, a field and its continuations.
_PLAIN_BLOCK = re.compile(r"(?:[\041-\071\073-\176]+:.*\n(?:[ \t].*\n)*)*\n?")
_PLAIN_FIELD = re.compile(r"^([\041-\071\073-\176]+):[ \t]*(.*(?:\n[ \t].*)*)", re.MULTILINE)

Field = tuple[str, str]


def read_headers(block: bytes) -> tuple[list[Field], list[str]]:
    """The (name, raw value) fields and the defect names of a message's header block.

    ``block`` is the message up to and including the blank line after its headers
    (or all of it). A line is ended by CRLF, CR or LF, as the feed parser splits; the
    headers end at the first line that is neither a field, a continuation nor a
    ``From `` line. Values keep their folding line breaks, without the last one.
    """
    text = block.decode("ascii", "surrogateescape")
    if "\r" not in text and _PLAIN_BLOCK.fullmatch(text):
        return _PLAIN_FIELD.findall(text), []
    lines = io.StringIO(text, newline="").readlines()
    defects: list[str] = []
    count = 0
    for line in lines:
        if _HEADER_LINE.match(line) is None:
            if line[0] not in "\r\n":  # not the blank line: a body line, too soon
                defects.append("MissingHeaderBodySeparatorDefect")
            break
        count += 1
    return _fields(lines, count, defects), defects


def _fields(lines: list[str], count: int, defects: list[str]) -> list[Field]:
    """The fields of the first ``count`` lines (each one a header line)."""
    fields: list[Field] = []
    current: list[str] = []  # the lines of the field being read
    for number in range(count):
        line = lines[number]
        if line[0] in " \t":
            if current:
                current.append(line)
            else:
                defects.append("FirstHeaderLineIsContinuationDefect")
            continue
        if current:
            fields.append(_field(current))
            current = []
        if line.startswith("From "):
            if number == 0:  # the Unix envelope line
                continue
            if number == count - 1:  # probably the first body line: not a header
                break
            defects.append("MisplacedEnvelopeHeaderDefect")
            continue
        if line[0] == ":":
            defects.append("InvalidHeaderDefect")  # "Missing header name."
            continue
        current = [line]
    if current:
        fields.append(_field(current))
    return fields


def _field(lines: list[str]) -> Field:
    """``EmailPolicy.header_source_parse``: the name, and the value with its folding."""
    name, value = lines[0].split(":", 1)
    return name, (value.lstrip(" \t") + "".join(lines[1:])).rstrip("\r\n")
