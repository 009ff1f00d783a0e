"""A fast, bounded look at a MIME structure: attachments, images, nesting (RFC 2045/2046).

Only structure is read — part headers and boundaries — never bodies. A message
nested deeper, or split into more parts, than the limits raises TooComplex so it
can go to quarantine (nesting and "endless" multipart bombs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PARAM = re.compile(r';\s*([A-Za-z0-9*_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')
_SEPARATOR = re.compile(rb"\r?\n\r?\n")


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


def split_headers(data: bytes) -> tuple[dict[str, str], bytes]:
    """Headers (lower-case names, last wins, unfolded) and the body after the blank line."""
    if data.startswith((b"\n", b"\r\n")):
        return {}, data.split(b"\n", 1)[1]
    match = _SEPARATOR.search(data)
    head, body = (data[: match.start()], data[match.end() :]) if match else (data, b"")
    headers: dict[str, str] = {}
    name = ""
    for line in head.decode("latin-1").splitlines():
        if line[:1] in (" ", "\t") and name:
            headers[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers[name] = value.strip()
    return headers, body


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
        parts = _parts(body, boundary.encode("latin-1"), found)
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
    named = "filename" in params(disposition) or "name" in params(content_type)
    main = mime.split("/", 1)[0]
    if disposition.lower().startswith("attachment") or named or main not in ("text", ""):
        found.attachments += 1
        found.has_image = found.has_image or main == "image"


def _parts(body: bytes, boundary: bytes, found: Structure) -> list[bytes]:
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?=\r?\n|$)")
    parts: list[bytes] = []
    start: int | None = None
    closed = False
    for match in delimiter.finditer(body):
        if start is not None:
            parts.append(_after_line_end(body[start : match.start()]))
        if match.group(1):
            closed = True
            break
        start = match.end()
    if start is None:
        found.defects.append("StartBoundaryNotFound")
    elif not closed:
        found.defects.append("CloseBoundaryNotFound")
        parts.append(_after_line_end(body[start:]))
    return parts


def _after_line_end(part: bytes) -> bytes:
    """A part without the line ending that closed its delimiter line."""
    if part.startswith(b"\r\n"):
        return part[2:]
    return part[1:] if part.startswith(b"\n") else part
