"""Address extraction: the plain-list fast path gives what ``getaddresses`` gives."""

from __future__ import annotations

from email.utils import getaddresses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaperone.common.addresses import normalize_addr_spec
from chaperone.ingest.addresses import normalized_addresses, plain_addr_specs
from chaperone.ingest.record import utf8

EXAMPLES = settings(max_examples=500, deadline=None)


def reference_specs(values: list[str]) -> list[str]:
    """The addr-specs getaddresses finds, without its empty entries."""
    return [address for _name, address in getaddresses(values) if address]


def reference_normalized(values: list[str]) -> tuple[str, ...]:
    """The addresses a record keeps, as read_message always found them."""
    found: dict[str, None] = {}
    for _name, address in getaddresses(values):
        normalized = utf8(normalize_addr_spec(address))
        if "@" in normalized:
            found[normalized] = None
    return tuple(found)


@pytest.mark.parametrize(
    ("value", "specs"),
    [
        ("dana@example.org", ["dana@example.org"]),
        ("Dana Ito <Dana.Ito@Example.k12.ny.us>", ["Dana.Ito@Example.k12.ny.us"]),
        ("<kid@students.example.org>", ["kid@students.example.org"]),
        ("J. R. Smith <j@x.org>, kid@y.org", ["j@x.org", "kid@y.org"]),
        ("a@x.org,b@y.org , ,c@z.org,", ["a@x.org", "b@y.org", "c@z.org"]),
        ("Dana\r\n Ito <d@x.org>,\r\n\tKid <k@y.org>", ["d@x.org", "k@y.org"]),
        ("Name<n@x.org>", ["n@x.org"]),
        ("o'brien+tag@x.org", ["o'brien+tag@x.org"]),
        ("=?utf-8?q?Caf=C3=A9?= <cafe@x.org>", ["cafe@x.org"]),
        ("", []),
        ('"Ito, Dana" <d@x.org>, "" <e@y.org>', ["d@x.org", "e@y.org"]),
        ('"a" "b, <c>" J. <d@x.org>,"(Ito)"<e@y.org>', ["d@x.org", "e@y.org"]),
        # Not plain: getaddresses decides.
        ('"Ito, \\"Dana\\"" <d@x.org>', None),
        ('"Ito,\r\n Dana" <d@x.org>', None),
        ('"Ito"Dana <d@x.org>', None),
        ('"d"@x.org', None),
        ('"caf\u00e9" <d@x.org>', None),
        ("d@x.org (Dana Ito)", None),
        ("Team: a@x.org, b@x.org;", None),
        ("Undisclosed recipients:;", None),
        ("<@relay.example:d@x.org>", None),
        ("a@x.org b@y.org", None),
        ("Dana Ito", None),
        ("d..ito@x.org", None),
        ("d@x.org.", None),
        ("d@[127.0.0.1]", None),
        ("a\\b@x.org", None),
        ("caf\u00e9@x.org", None),
        ("<d@x.org >", None),
        ("a@b@c.org", None),
    ],
)
def test_plain_lists_and_what_is_left_to_getaddresses(value: str, specs: list[str] | None) -> None:
    assert plain_addr_specs([value]) == specs
    if specs is not None:
        assert specs == reference_specs([value])
    assert normalized_addresses((value,)) == reference_normalized([value])


def test_several_header_values_are_one_list() -> None:
    values = ["Dana <D@X.org>, kid@y.org", "", "Mom@Gmail.com, d@x.org"]
    assert plain_addr_specs(values) == reference_specs(values)
    assert normalized_addresses(tuple(values)) == ("d@x.org", "kid@y.org", "mom@gmail.com")


# Strings from the characters that matter to address syntax.
tricky = st.text(alphabet='aZ0.-_+=?@<>,;:"()[]\\ \t\r\n\u00e9', max_size=40)

atom = st.text(alphabet="abcXYZ019!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=6)
dot_atom = st.lists(atom, min_size=1, max_size=3).map(".".join)
addr_spec = st.builds(lambda local, domain: f"{local}@{domain}", dot_atom, dot_atom)
fws = st.sampled_from(["", " ", "  ", "\t", "\r\n ", "\n\t"])
word = st.one_of(
    st.text(alphabet="abcXYZ019.!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=6),
    st.text(alphabet="aZ0.,;:<>@()[] \t", max_size=6).map(lambda text: f'"{text}"'),
)
phrase = st.lists(st.tuples(word, fws.filter(bool)), min_size=1, max_size=3).map(
    lambda words: "".join(w + s for w, s in words)
)
mailbox = st.one_of(
    addr_spec,
    st.builds(lambda spec: f"<{spec}>", addr_spec),
    st.builds(lambda name, gap, spec: f"{name}{gap}<{spec}>", phrase, fws, addr_spec),
)
item = st.builds(lambda before, box, after: before + box + after, fws, st.one_of(mailbox, st.just("")), fws)
plain_value = st.lists(item, min_size=1, max_size=4).map(",".join)


@EXAMPLES
@given(values=st.lists(st.one_of(tricky, plain_value), min_size=1, max_size=3))
def test_the_fast_path_equals_getaddresses_whenever_it_answers(values: list[str]) -> None:
    specs = plain_addr_specs(values)
    if specs is not None:
        assert specs == reference_specs(values)
        assert normalized_addresses(tuple(values)) == reference_normalized(values)


@EXAMPLES
@given(values=st.lists(plain_value, min_size=1, max_size=3))
def test_plain_lists_take_the_fast_path(values: list[str]) -> None:
    specs = plain_addr_specs(values)
    assert specs is not None
    assert specs == reference_specs(values)


@EXAMPLES
@given(values=st.lists(st.one_of(tricky, plain_value), min_size=1, max_size=3))
def test_normalized_addresses_equals_getaddresses_and_normalize(values: list[str]) -> None:
    assert normalized_addresses(tuple(values)) == reference_normalized(values)


def test_a_long_value_that_is_nearly_plain_is_quick() -> None:
    value = "a " * 20_000 + '"'
    assert plain_addr_specs([value]) is None
