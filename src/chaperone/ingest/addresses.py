"""Address-list header values to the distinct, normalised addresses a record keeps.

``email.utils.getaddresses`` reads any list; a strict fast path reads the plain lists
almost every message has and gives exactly what ``getaddresses`` gives for them. The
standard parser recurses once for every group or comment opened inside another, so a
list nested deeper than ``MAX_NESTING`` (a real ``To:`` of 2,700 folded ``Team: a@b``
lines, never closed) is read by a flat scan instead, flagged ``AddressListTooDeep``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from email.utils import getaddresses

from chaperone.common.addresses import normalize_addr_spec
from chaperone.ingest.record import utf8

# A plain address list: comma-separated ``addr-spec`` or ``phrase <addr-spec>`` items,
# every phrase word RFC 5322 atext (dots allowed) or a quoted string of printable ASCII
# without backslash or line break ("Ito, Dana"), with folding white space around words
# and items. No comments, groups, routes, backslashes or non-ASCII.
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_DOT_ATOM = rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*"
_ADDR_SPEC = rf"{_DOT_ATOM}@{_DOT_ATOM}"
_FWS = r"[ \t\r\n]"
_WORD = rf'(?:[.{_ATEXT}]+|"[ \t!#-\[\]-~]*")'
_PLAIN_ITEM = re.compile(  # one item and the comma after it, or the end of the value
    rf"{_FWS}*(?:(?:(?:{_WORD}(?:{_FWS}+{_WORD})*{_FWS}*)?<({_ADDR_SPEC})>|({_ADDR_SPEC})){_FWS}*)?"
    r"(?:,|\Z)"
)


MAX_NESTING = 100  # groups and comments open at once that getaddresses is trusted with
TOO_DEEP = "AddressListTooDeep"
# What separates the words of a list once quoted strings and comments are gone.
_FLAT_SEPARATORS = re.compile(r"[\s,;:<>]+")


def normalized_addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    """The distinct addresses of address-list header values, normalised, in order.

    The addr-specs ``getaddresses`` finds (through ``plain_addr_specs`` when the values
    are plain, ``flat_addr_specs`` when they nest too deep for it), each as
    ``normalize_addr_spec`` leaves it; those without an ``@`` are dropped.
    """
    return _read(values)[0]


def address_defects(values: tuple[str, ...]) -> tuple[str, ...]:
    """The defects of reading the values: ``AddressListTooDeep`` when they nest too deep."""
    return (TOO_DEEP,) if _read(values)[1] else ()


@functools.lru_cache(maxsize=16384)
def _read(values: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """The normalised addresses, and whether the flat scan read them (cached: a mailbox
    repeats its correspondents' headers)."""
    specs = plain_addr_specs(values)
    flat = False
    if specs is None:
        flat = nesting(values) > MAX_NESTING
        specs = (
            flat_addr_specs(values)
            if flat
            else [address for _display, address in getaddresses(values)]
        )
    found: dict[str, None] = {}
    for address in specs:
        normalized = utf8(normalize_addr_spec(address))
        if "@" in normalized:
            found[normalized] = None
    return tuple(found), flat


def nesting(values: Sequence[str]) -> int:
    """The most groups and comments open at once in any value (quoted strings and
    angle brackets skipped), as the standard parser would nest them."""
    deepest = 0
    for value in values:
        groups = comments = 0
        quoted = angled = escaped = False
        for char in value:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif quoted:
                quoted = char != '"'
            elif char == "(":
                comments += 1
                deepest = max(deepest, groups + comments)
            elif comments:
                comments -= char == ")"
            elif angled:
                angled = char != ">"
            elif char == '"':
                quoted = True
            elif char == "<":
                angled = True
            elif char == ":":
                groups += 1
                deepest = max(deepest, groups)
            elif char == ";":
                groups = max(groups - 1, 0)
    return deepest


def flat_addr_specs(values: Sequence[str]) -> list[str]:
    """The addr-specs of address lists read without recursion: quoted strings and
    comments dropped, every remaining word with an ``@`` inside it (not a route)."""
    found: list[str] = []
    for value in values:
        kept: list[str] = []
        comments = 0
        quoted = escaped = False
        for char in value:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif quoted:
                quoted = char != '"'
            elif char == "(":
                comments += 1
            elif comments:
                comments -= char == ")"
            elif char == '"':
                quoted = True
                kept.append(" ")
            else:
                kept.append(char)
        words = _FLAT_SEPARATORS.split("".join(kept))
        found += [word for word in words if "@" in word[1:-1]]
    return found


def plain_addr_specs(values: Sequence[str]) -> list[str] | None:
    """The addr-specs of address-list header values, when every value is a plain list.

    Plain: comma-separated ``addr-spec`` or ``phrase <addr-spec>`` items, the phrase
    of RFC 5322 atext words (dots allowed) and simple quoted strings (no backslash or
    line break), folding white space around words and items, empty items allowed. For
    those this is what ``email.utils.getaddresses`` gives, less its empty entries.
    Anything else — comments, groups, routes, backslashes, non-ASCII, two addresses
    without a comma — gives None: ask ``getaddresses``.
    """
    found: list[str] = []
    for value in values:
        position = 0
        while True:
            match = _PLAIN_ITEM.match(value, position)
            if match is None:
                return None
            spec = match.group(1) or match.group(2)
            if spec:
                found.append(spec)
            position = match.end()
            if position >= len(value):  # after the last item (or an empty one after a comma)
                break
    return found
