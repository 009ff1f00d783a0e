"""The HTTP decision endpoint gives the same answers as the policy service."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chaperone.gateway.http import create_app
from chaperone.gateway.service import build_decider
from chaperone.settings import Settings
from tests.audit.world import load_world
from tests.conftest import Cli


@pytest.fixture
def client(cli: Cli, tmp_path: Path, settings: Settings) -> TestClient:
    load_world(cli, tmp_path / "world")
    decider = build_decider(settings)
    return TestClient(create_app(lambda: decider))


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
