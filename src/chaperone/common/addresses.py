"""Address normalisation: the one place an account's stored form is decided.

The directory's importers, every ingest connector, the registry and the gateway call
these, so an address is compared in one form everywhere: e-mail addresses lose any
display name and are case-folded; phone numbers become E.164 using the district's
default region; social handles become ``platform:handle`` in lower case.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

ACCOUNT_KINDS = ("email", "phone", "social")
_PLATFORM = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_NEEDS_PARSING = re.compile(r'[\s<>"(),;:\[\]\\]')


def normalize_email(raw: str) -> str:
    """The bare, case-folded address of a mailbox such as ``"Dana" <Dana@X.org>``."""
    text = raw.strip()
    if not _NEEDS_PARSING.search(text):  # a bare address: parseaddr would return it unchanged
        return normalize_addr_spec(text)
    _name, address = parseaddr(text)
    return normalize_addr_spec(address or raw)


def normalize_addr_spec(address: str) -> str:
    """A bare address (already without display name) in its one stored form."""
    return address.strip().casefold()


def checked_email(raw: str) -> str:
    """A normalised address, or ValueError with the reason it is not one."""
    address = normalize_email(raw)
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise ValueError(f'invalid e-mail address "{raw}" ({reason})') from exc
    return address


@lru_cache(maxsize=65536)
def normalize_phone(raw: str, region: str) -> str:
    """E.164 form of a phone number written in any common notation, or ValueError."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f'invalid phone number "{raw}"') from exc
    # Possible (right length for its country), not "valid": numbering plans change faster
    # than the library, and a roster must not reject a real number for it.
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValueError(f'invalid phone number "{raw}"')
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalize_account(address: str, region: str) -> str:
    """Any account as it is stored: an e-mail address, ``platform:handle`` or a phone."""
    if "@" in address:
        return normalize_email(address)
    platform, sep, handle = address.partition(":")
    if sep and not platform.startswith("+") and not platform.isdigit():
        return normalize_social(platform, handle)
    return normalize_phone(address, region)


def normalize_social(platform: str, handle: str) -> str:
    """``platform:handle`` in lower case, without a leading @."""
    name = platform.strip().lower()
    if not _PLATFORM.match(name):
        raise ValueError(f'invalid social platform "{platform}"')
    bare = handle.strip().lstrip("@").lower()
    if not bare:
        raise ValueError("empty social handle")
    return f"{name}:{bare}"


def email_domain(address: str) -> str:
    """The domain part of a normalised address."""
    return address.rpartition("@")[2]


def phone_matches(number: str, patterns: tuple[str, ...]) -> bool:
    """Whether an E.164 number equals a pattern or starts with a ``prefix*`` pattern."""
    for pattern in patterns:
        if pattern.endswith("*"):
            if number.startswith(pattern[:-1]):
                return True
        elif number == pattern:
            return True
    return False
