"""Policy requests are read line by line as the protocol says, however they are cut."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chaperone.gateway.protocol import BadRequest, PolicyRequest, parse

NAMES = ["request", "protocol_state", "sender", "recipient", "instance", "queue_id",
         "recipient_count", "client_address", "sasl_username", "ccert_subject", "Sender"]
cells = st.text(st.sampled_from("ab=@.\r é\x00"), max_size=6)
lines = st.one_of(
    st.builds(lambda n, v: f"{n}={v}", st.sampled_from(NAMES), cells),
    st.just("request=smtpd_access_policy"),
    cells,  # often no "=" at all, or one where the name should be
)


def line_by_line(block: bytes) -> PolicyRequest | str:
    """What the protocol says a block means, read one line at a time (or why it is bad)."""
    text = block.decode("utf-8", "replace").replace("\r\n", "\n").removesuffix("\r")
    values: dict[str, str] = {}
    for line in text.split("\n") if text else []:
        name, equals, value = line.partition("=")
        if not equals or not name:
            return "bad"
        values[name] = value
    if "request" not in values:
        values = {name.strip().lower(): value for name, value in values.items()}
    if values.get("request") != "smtpd_access_policy":
        return "bad"
    count = values.get("recipient_count", "0")
    return PolicyRequest(
        values.get("protocol_state", "").upper(), values.get("sender", ""),
        values.get("recipient", ""), values.get("instance", ""),
        int(count) if count.isdigit() else 0, values.get("queue_id", ""),
        values.get("client_address", ""), values.get("client_name", ""),
        values.get("sasl_username", ""))


@given(st.lists(lines, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_any_block_reads_as_its_lines_say(block_lines: list[str], end: str) -> None:
    block = end.join(block_lines).encode()
    expected = line_by_line(block)
    try:
        assert parse(block) == expected
    except BadRequest:
        assert expected == "bad"


def test_values_with_equals_signs_and_lines_without_one() -> None:
    request = parse(b"request=smtpd_access_policy\nsender=a=b@example.org\nrecipient=c@x.org")
    assert (request.sender, request.recipient) == ("a=b@example.org", "c@x.org")
    try:
        parse(b"request=smtpd_access_policy\nsender=a=b@example.org\nnonsense")
    except BadRequest as exc:
        assert "nonsense" in str(exc)
    else:
        raise AssertionError("a line without = was read")
