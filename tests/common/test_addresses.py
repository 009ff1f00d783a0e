"""Account normalisation: the one definition every importer and connector uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaperone.common.addresses import (
    checked_email,
    normalize_email,
    normalize_phone,
    normalize_social,
    phone_matches,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Dana.Ito@Example.K12.NY.US", "dana.ito@example.k12.ny.us"),
        ('"Ito, Dana" <Dana.Ito@example.k12.ny.us>', "dana.ito@example.k12.ny.us"),
        ("  coach@gmail.com ", "coach@gmail.com"),
        ("STRASSE@Example.org", "strasse@example.org"),
    ],
)
def test_email(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected
    assert checked_email(raw) == expected


@pytest.mark.parametrize("raw", ["not-an-address", "a@@b.org", "@example.org", "a@b"])
def test_bad_email_says_why(raw: str) -> None:
    with pytest.raises(ValueError, match="invalid e-mail address"):
        checked_email(raw)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(914) 555-0142", "US", "+19145550142"),
        ("914.555.0142", "US", "+19145550142"),
        ("+1 914 555 0142", "US", "+19145550142"),
        ("1-914-555-0142", "US", "+19145550142"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "US", "+442079460958"),
    ],
)
def test_phone_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["555-0142", "12", "phone", "603121567"])
def test_bad_phone(raw: str) -> None:
    with pytest.raises(ValueError, match="invalid phone number"):
        normalize_phone(raw, "US")


def test_social_handles_and_number_prefixes() -> None:
    assert normalize_social("Instagram", "@CoachHS") == "instagram:coachhs"
    assert phone_matches("+19145550207", ("+1914555020*",))
    assert not phone_matches("+19145550300", ("+1914555020*", "+19145550100"))


@given(st.text(max_size=60) | st.emails())
def test_the_fast_path_for_bare_addresses_equals_parseaddr(raw: str) -> None:
    from email.utils import parseaddr

    from chaperone.common.addresses import normalize_addr_spec

    text = raw.strip()
    assert normalize_email(raw) == normalize_addr_spec(parseaddr(text)[1] or raw)
