"""Postfix SMTP access policy delegation protocol (https://www.postfix.org/SMTPD_POLICY_README.html).

A request is ``name=value`` lines ended by an empty line; unknown attributes are
ignored; the answer is one ``action=…`` line and an empty line. Reply constants
live here; every request gets exactly one answer.
"""

from __future__ import annotations

from itertools import repeat
from typing import NamedTuple

DUNNO = "DUNNO"
MAX_REQUEST_BYTES = 64 * 1024
MAX_ATTRIBUTES = 256
NOT_SEPARATORS = bytes(b for b in range(256) if b not in b"=\n")
ALTERNATING = b"=\n" * MAX_ATTRIBUTES  # the separators of well-formed lines, in order


class BadRequest(ValueError):
    """A request that cannot be parsed; it still gets the fail-safe answer."""


class PolicyRequest(NamedTuple):
    """The attributes Chaperone reads from a policy request (a tuple: cheap to build)."""

    state: str  # protocol_state: RCPT, END-OF-MESSAGE, …
    sender: str
    recipient: str
    instance: str
    recipient_count: int
    queue_id: str
    client_address: str = ""
    client_name: str = ""
    sasl_username: str = ""


def parse(block: bytes) -> PolicyRequest:
    """A request from its attribute lines (without the empty line that ended it)."""
    text = block.decode("utf-8", "replace")
    if "\r" in text:  # a client that ends lines with CRLF
        text = text.replace("\r\n", "\n").removesuffix("\r")
    separators = block.translate(None, NOT_SEPARATORS)  # its "=" and line ends, in order
    if len(separators) % 2 and separators == ALTERNATING[: len(separators)]:
        # One "=" on each line, as Postfix writes them: all lines cut at once.
        cells = iter(text.replace("\n", "=").split("="))
        values = dict(zip(cells, cells, strict=False))  # even, as the separators showed
    else:
        values = _attributes(text.split("\n") if text else [])
    if "" in values:
        raise BadRequest(f"not a name=value line: {'=' + values['']!r}")
    if "request" not in values:  # names as Postfix writes them, else as some client did
        values = {name.strip().lower(): value for name, value in values.items()}
    if values.get("request") != "smtpd_access_policy":
        raise BadRequest("request=smtpd_access_policy missing")
    count = values.get("recipient_count", "0")
    get = values.get
    return PolicyRequest(  # positional: cheaper than by name, in the order of the fields
        get("protocol_state", "").upper(), get("sender", ""), get("recipient", ""),
        get("instance", ""), int(count) if count.isdigit() else 0, get("queue_id", ""),
        get("client_address", ""), get("client_name", ""), get("sasl_username", ""),
    )


def _attributes(lines: list[str]) -> dict[str, str]:
    """The attributes of lines that hold a value with "=" in it (or a line without)."""
    if len(lines) > MAX_ATTRIBUTES:
        raise BadRequest(f"more than {MAX_ATTRIBUTES} attributes")
    try:  # each line cut by C code, with no Python frame per line
        return dict(map(str.split, lines, repeat("="), repeat(1)))
    except ValueError:
        bad = next(line for line in lines if "=" not in line)
        raise BadRequest(f"not a name=value line: {bad[:80]!r}") from None


DUNNO_ANSWER = b"action=DUNNO\n\n"


def answer(action: str) -> bytes:
    """The response for one action (newlines in the action text are removed)."""
    if action == DUNNO:  # most answers
        return DUNNO_ANSWER
    clean = " ".join(action.split())
    return f"action={clean}\n\n".encode()
