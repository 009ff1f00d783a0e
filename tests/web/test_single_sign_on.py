"""OpenID Connect sign-in against a provider on loopback: the code flow with PKCE signs in
an existing user; every untrustworthy answer is refused."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chaperone.settings import Settings
from chaperone.store.models import User
from chaperone.web.app import create_app
from tests.web.identity_provider import CLIENT_ID, CLIENT_SECRET, IdentityProvider, running

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    with running() as started:
        yield started


@pytest.fixture
def client(web_settings: Settings, provider: IdentityProvider) -> Iterator[TestClient]:
    settings = web_settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_name": "Example ID",
        }
    )
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client
    app.state.store.close()


def _round_trip(client: TestClient, next_page: str = "/findings") -> httpx.Response:
    leave = client.get(f"/login/oidc?next={next_page}", follow_redirects=False)
    assert leave.status_code == 303
    assert "code_challenge_method=S256" in leave.headers["location"]
    at_provider = httpx.get(leave.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)


def test_the_sign_in_page_offers_single_sign_on(client: TestClient) -> None:
    assert "Sign in with Example ID" in client.get("/login").text


def test_a_known_user_signs_in_through_the_provider(client: TestClient) -> None:
    answer = _round_trip(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/findings"
    assert client.get("/api/v1/me").json()["role"] == "compliance_officer"
    entries = client.get("/api/v1/audit-log?limit=1").json()
    assert entries[0]["action"] == "sign-in" and entries[0]["detail"] == "via Example ID"


def test_an_unknown_user_is_not_created(client: TestClient, provider: IdentityProvider) -> None:
    provider.email = "stranger@example.org"
    answer = _round_trip(client)
    assert answer.status_code == 403 and "has no Chaperone account" in answer.text
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    ("knob", "reason"),
    [
        ("wrong_nonce", "not issued for this sign-in"),
        ("expired", "not valid"),
        ("foreign_key", "not valid"),
        ("audience", "not valid"),
        ("email_verified", "not verified"),
    ],
)
def test_untrustworthy_identity_tokens_are_refused(
    client: TestClient, provider: IdentityProvider, knob: str, reason: str
) -> None:
    if knob == "audience":
        provider.audience = "someone-else"
    elif knob == "email_verified":
        provider.email_verified = False
    else:
        setattr(provider, knob, True)
    answer = _round_trip(client)
    assert answer.status_code == 403 and reason in answer.text
    assert client.get("/api/v1/me").status_code == 401


def test_a_callback_from_another_browser_is_refused(
    client: TestClient, web_settings: Settings
) -> None:
    leave = client.get("/login/oidc", follow_redirects=False)
    at_provider = httpx.get(leave.headers["location"], follow_redirects=False)
    back = urlsplit(at_provider.headers["location"])
    other = TestClient(client.app, base_url="https://testserver")  # no pending-sign-in cookie
    answer = other.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert answer.status_code == 403 and "start again" in answer.text
    forged = client.get(
        f"{back.path}?{back.query.replace('state=', 'state=x')}", follow_redirects=False
    )
    assert forged.status_code == 403


def test_without_settings_there_is_no_single_sign_on(web_settings: Settings) -> None:
    app = create_app(web_settings)
    plain = TestClient(app, base_url="https://testserver")
    assert plain.get("/login/oidc", follow_redirects=False).status_code == 404
    assert "Sign in with" not in plain.get("/login").text
    app.state.store.close()


def test_an_email_the_provider_does_not_say_it_verified_is_refused(
    client: TestClient, provider: IdentityProvider
) -> None:
    provider.email_verified = None  # the claim left out (before: accepted)
    answer = _round_trip(client)
    assert answer.status_code == 403 and "not verified" in answer.text
    assert client.get("/api/v1/me").status_code == 401


def test_another_verified_claim_can_be_required(
    web_settings: Settings, provider: IdentityProvider
) -> None:
    settings = web_settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_verified_claim": "staff_verified",
        }
    )
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as other:
        answer = _round_trip(other)
        assert answer.status_code == 403 and "staff_verified is not true" in answer.text
    app.state.store.close()


def _linked_subject(web_settings: Settings, username: str) -> str | None:
    app = create_app(web_settings)
    with app.state.store.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        linked = user.oidc_subject if user else None
    app.state.store.close()
    return linked


def test_the_first_sign_in_links_the_account_to_the_providers_subject(
    client: TestClient, provider: IdentityProvider, web_settings: Settings
) -> None:
    assert _round_trip(client).status_code == 303
    assert _linked_subject(web_settings, "compliance_officer") == f"{provider.issuer}|248289761001"
    client.cookies.clear()
    provider.email = "renamed.officer@example.org"  # the address changed, the subject did not
    assert _round_trip(client).status_code == 303
    assert client.get("/api/v1/me").json()["username"] == "compliance_officer"


def test_another_subject_with_a_linked_users_address_is_refused(
    client: TestClient, provider: IdentityProvider
) -> None:
    assert _round_trip(client).status_code == 303
    client.cookies.clear()
    provider.subject = "someone-else-with-that-address"
    answer = _round_trip(client)
    assert answer.status_code == 403 and "linked to another" in answer.text
    assert client.get("/api/v1/me").status_code == 401
