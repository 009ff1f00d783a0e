"""The HTTP decision endpoint gives the same answers as the policy service, to callers with
its API key only."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chaperone.common.problems import ChaperoneError
from chaperone.gateway.decide import Decider
from chaperone.gateway.http import create_app, decide_api_key
from chaperone.gateway.service import build_decider
from chaperone.settings import Settings
from tests.audit.world import load_world
from tests.conftest import Cli

KEY = "k" * 40


@pytest.fixture
def decider(cli: Cli, tmp_path: Path, settings: Settings) -> Decider:
    load_world(cli, tmp_path / "world")
    return build_decider(settings)


@pytest.fixture
def client(decider: Decider) -> TestClient:
    return TestClient(
        create_app(lambda: decider, KEY.encode()), headers={"Authorization": f"Bearer {KEY}"}
    )


@pytest.mark.parametrize(
    ("body", "action", "rule"),
    [
        ({"sender": "T1Home@Gmail.com", "recipients": ["s1@students.district.k12.us"]},
         "REJECT", "9052-A-direct"),
        ({"sender": "t1@district.k12.us", "recipients": ["s1@students.district.k12.us"]},
         "DUNNO", None),
        ({"sender": "(914) 555-7001", "recipients": ["+1 914 555 8001"],
          "channel_type": "text_message"}, "REJECT", "9052-A-direct"),
        ({"sender": "+19145550201", "recipients": ["+19145558001"],
          "channel_type": "text_message", "platform": "whatsapp"}, "REJECT", "9052-A-platform"),
        ({"sender": "t1@district.k12.us", "recipients": ["p1@gmail.com"],
          "channel_type": "text_message", "platform": "remind",
          "occurred_at": "2026-08-02T13:00:00Z"}, "REJECT", "9052-A-platform"),
        ({"sender": "t1@district.k12.us", "recipients": ["p1@gmail.com"],
          "channel_type": "text_message", "platform": "remind",
          "occurred_at": "2026-07-31T13:00:00Z"}, "DUNNO", None),
    ],
    ids=["personal email", "district email", "personal phone", "denied platform",
         "expired platform", "before expiry"],
)
def test_decisions(client: TestClient, body: dict[str, object], action: str,
                   rule: str | None) -> None:
    reply = client.post("/api/v1/decide", json=body)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert (data["action"], data["rule_id"]) == (action, rule)
    if action == "REJECT":
        assert data["postfix_action"].startswith("550 5.7.1 Policy 9052 §A")


@pytest.mark.parametrize(
    "body",
    [{}, {"sender": "a@b.org", "recipients": []},
     {"sender": "a@b.org", "recipients": ["x"], "channel_type": "fax"},
     {"sender": "a@b.org", "recipients": ["not a phone"]},
     {"sender": "a@b.org", "recipients": ["c@d.org"], "occurred_at": "2026-08-02T13:00:00"}],
    ids=["empty", "no recipients", "bad channel", "bad address", "naive time"],
)
def test_bad_requests_are_422_with_a_reason(client: TestClient, body: dict[str, object]) -> None:
    reply = client.post("/api/v1/decide", json=body)
    assert reply.status_code == 422
    assert reply.json()["detail"]


def test_the_openapi_document_describes_the_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/decide" in spec["paths"]


BODY = {"sender": "T1Home@Gmail.com", "recipients": ["s1@students.district.k12.us"]}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"},
     {"Authorization": "Bearer " + "é" * 40}, {"Authorization": f"Bearer {KEY}x"}],
    ids=["none", "wrong", "basic", "non-ascii", "longer"],
)
def test_without_the_api_key_nobody_is_answered(decider: Decider,
                                                headers: dict[str, str]) -> None:
    anyone = TestClient(create_app(lambda: decider, KEY.encode()))
    reply = anyone.post("/api/v1/decide", json=BODY,
                        headers={k: v.encode() for k, v in headers.items()})
    assert reply.status_code == 401
    assert "action" not in reply.json()


def test_without_a_configured_key_the_endpoint_refuses(decider: Decider) -> None:
    unset = TestClient(create_app(lambda: decider))
    reply = unset.post("/api/v1/decide", json=BODY, headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 503


def test_the_key_file_must_be_private_and_long_enough(tmp_path: Path,
                                                      settings: Settings) -> None:
    assert decide_api_key(settings) is None
    path = tmp_path / "decide.key"
    path.write_text(KEY + "\n")
    path.chmod(0o644)
    keyed = settings.model_copy(update={"decide_api_key_file": path})
    with pytest.raises(ChaperoneError, match="chmod 600"):
        decide_api_key(keyed)
    path.chmod(0o600)
    assert decide_api_key(keyed) == KEY.encode()
    path.write_text("short\n")
    with pytest.raises(ChaperoneError, match="32"):
        decide_api_key(keyed)


def test_gateway_http_without_a_key_does_not_start(cli: Cli, tmp_path: Path) -> None:
    load_world(cli, tmp_path / "world")
    refused = cli("gateway", "--listen", f"unix:{tmp_path / 'p.sock'}",
                  "--http", "127.0.0.1:1")
    assert refused.code != 0 and "decide_api_key_file" in refused.err


@pytest.mark.parametrize(
    "body",
    [b"1e999999", b'{"sender": NaN, "recipients": ["a@b.org"]}',
     b'{"sender": "\\ud800", "recipients": ["a@b.org"]}',
     b'{"sender": "a@b.org", "recipients": ["\\u0000"]}'],
    ids=["huge", "NaN", "surrogate", "NUL"],
)
def test_json_that_is_not_strict_json_is_refused_not_a_500(client: TestClient,
                                                         body: bytes) -> None:
    reply = client.post("/api/v1/decide", content=body,
                        headers={"content-type": "application/json"})
    assert 400 <= reply.status_code < 500, reply.text
