"""A fast, bounded look at a MIME structure: attachments, images, nesting (RFC 2045/2046).

Only structure is read — part headers and boundaries — never bodies. A message
nested deeper, or split into more parts, than the limits raises TooComplex so it
can go to quarantine (nesting and "endless" multipart bombs).

Boundaries are found with ``bytes.find`` (a literal search, fast over base64), never
with a regular expression compiled per boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PARAM = re.compile(r';\s*([A-Za-z0-9*_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')
_LF, _CR = 10, 13
_BLANK = (32, 9)  # space, tab: allowed after a boundary on its delimiter line


class TooComplex(Exception):
    """The MIME structure nests deeper, or has more parts, than the configured limits."""


@dataclass(frozen=True)
class Limits:
    """How deep a structure may nest and how many parts it may have."""

    depth: int = 20
    parts: int = 1000


@dataclass
class Structure:
    """What the scan found."""

    attachments: int = 0
    has_image: bool = False
    parts: int = 0
    defects: list[str] = field(default_factory=list)


def header_block(data: bytes) -> tuple[int, int]:
    """Where the header block ends and where the body starts.

    The block ends at the first blank line (``\\r?\\n\\r?\\n``): ``data[:end]`` is the
    header lines without the line ending before the blank line, ``data[start:]`` the
    body. Data that starts with a blank line has no headers; data without one is all
    headers.
    """
    if data.startswith((b"\n", b"\r\n")):
        return 0, data.index(b"\n") + 1
    # Whichever blank line comes first; the one the first line's ending suggests is looked
    # for first, so that the other search stops there instead of running through the body.
    first = data.find(b"\n")
    if first > 0 and data[first - 1] == _CR:
        crlf = data.find(b"\n\r\n")
        lf = data.find(b"\n\n", 0, len(data) if crlf < 0 else crlf + 1)
    else:
        lf = data.find(b"\n\n")
        crlf = data.find(b"\n\r\n", 0, len(data) if lf < 0 else lf + 2)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        newline, start = lf, lf + 2
    elif crlf >= 0:
        newline, start = crlf, crlf + 3
    else:
        return len(data), len(data)
    return (newline - 1 if data[newline - 1] == _CR else newline), start


def split_headers(data: bytes) -> tuple[dict[str, str], bytes]:
    """Headers (lower-case names, last wins, unfolded) and the body after the blank line."""
    end, start = header_block(data)
    headers: dict[str, str] = {}
    name = ""
    for line in data[:end].decode("latin-1").splitlines():
        if line[:1] in (" ", "\t") and name:
            headers[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers[name] = value.strip()
    return headers, data[start:]


def params(value: str) -> dict[str, str]:
    """The parameters of a Content-Type or Content-Disposition value, names lower-case."""
    return {key.lower().rstrip("*"): raw.strip('"') for key, raw in _PARAM.findall(value)}


def scan(content_type: str, body: bytes, *, limits: Limits) -> Structure:
    """Count attachments and images below a part of the given Content-Type."""
    found = Structure()
    _scan(content_type, body, found, limits, 0)
    return found


def _scan(content_type: str, body: bytes, found: Structure, limits: Limits, depth: int) -> None:
    if depth > limits.depth:
        raise TooComplex(f"MIME nesting deeper than {limits.depth} levels")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime.startswith("multipart/"):
        boundary = params(content_type).get("boundary")
        if not boundary:
            found.defects.append("NoBoundaryInMultipart")
            return
        default = "message/rfc822" if mime == "multipart/digest" else "text/plain"
        parts = split_parts(
            body, boundary.encode("latin-1"), found.defects, limit=limits.parts - found.parts
        )
        found.parts += len(parts)
        if found.parts > limits.parts:
            raise TooComplex(f"more than {limits.parts} MIME parts")
        for part in parts:
            headers, part_body = split_headers(part)
            _part(headers, part_body, default, found, limits, depth + 1)
    elif mime == "message/rfc822":
        headers, inner = split_headers(body)
        _scan(headers.get("content-type", "text/plain"), inner, found, limits, depth + 1)


def _part(
    headers: dict[str, str], body: bytes, default: str, found: Structure, limits: Limits, depth: int
) -> None:
    content_type = headers.get("content-type", default)
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime.startswith("multipart/") or mime == "message/rfc822":
        _scan(content_type, body, found, limits, depth)
        return
    disposition = headers.get("content-disposition", "")
    main = mime.split("/", 1)[0]
    if (
        main not in ("text", "")
        or disposition.lower().startswith("attachment")
        or _has_param(disposition, "filename")
        or _has_param(content_type, "name")
    ):
        found.attachments += 1
        found.has_image = found.has_image or main == "image"


def _has_param(value: str, key: str) -> bool:
    """Whether a header value has a ``name`` or ``filename`` parameter (most have neither)."""
    return "name" in value.lower() and key in params(value)


def split_parts(
    body: bytes, boundary: bytes, defects: list[str], *, limit: int | None = None
) -> list[bytes]:
    """The parts of a multipart body between its ``--boundary`` delimiter lines (RFC 2046 §5.1.1).

    A delimiter line starts the body or follows a line break, reads ``--boundary``,
    then ``--`` for the close delimiter, then optional spaces or tabs, then a line
    break or the end of the body. The line break before a delimiter belongs to it,
    not to the part; the preamble and the epilogue are dropped. A missing start or
    close delimiter is noted in ``defects`` (the parts up to the end still count).
    Stops early, returning ``limit + 1`` parts, once there are more than ``limit``.
    """
    dash = b"--" + boundary
    size = len(body)
    parts: list[bytes] = []
    start: int | None = None  # where the current part starts (after its delimiter line)
    bound = 0  # the end of the previous delimiter: the next one's line break comes after it
    position = 0
    while (found := body.find(dash, position)) >= 0:
        position = found + 1
        if found == 0:
            line = 0
        elif found - 1 >= bound and body[found - 1] == _LF:
            line = found - 2 if found - 2 >= bound and body[found - 2] == _CR else found - 1
        else:
            continue
        after = found + len(dash)
        close = body.startswith(b"--", after)
        end = _delimiter_end(body, after + 2 if close else after, size)
        if end is None:
            continue
        if start is not None:
            parts.append(_after_line_end(body[start:line]))
            if limit is not None and len(parts) > limit:
                return parts
        if close:
            if start is None:
                defects.append("StartBoundaryNotFound")
            return parts
        start = bound = position = end
    if start is None:
        defects.append("StartBoundaryNotFound")
    else:
        defects.append("CloseBoundaryNotFound")
        parts.append(_after_line_end(body[start:]))
    return parts


def _delimiter_end(body: bytes, position: int, size: int) -> int | None:
    """Past the spaces and tabs at ``position``, if a line break or the end comes next."""
    while position < size and body[position] in _BLANK:
        position += 1
    if position == size or body[position] == _LF:
        return position
    if body[position] == _CR and position + 1 < size and body[position + 1] == _LF:
        return position
    return None


def _after_line_end(part: bytes) -> bytes:
    """A part without the line ending that closed its delimiter line."""
    if part.startswith(b"\r\n"):
        return part[2:]
    return part[1:] if part.startswith(b"\n") else part
