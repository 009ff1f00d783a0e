"""Sign-in: argon2id hashes, throttling, session cookies, CSRF on every form, sign-out."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from chaperone.settings import Settings
from chaperone.store.models import User
from tests.conftest import Cli
from tests.web.site import PASSWORD, Web

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test

FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_passwords_are_stored_as_argon2id_hashes(web: Callable[[str | None], Web]) -> None:
    client = web(None)
    with client.app.state.store.transaction() as session:
        hashes = session.scalars(select(User.password_hash)).all()
    assert hashes and all(h and h.startswith("$argon2id$") for h in hashes)
    assert not any(PASSWORD in (h or "") for h in hashes)


def test_the_sign_in_form_signs_in_and_sets_a_secure_session_cookie(
    web: Callable[[str | None], Web],
) -> None:
    client = web(None).client
    form = client.get("/login?next=/findings")
    token = FORM_TOKEN.search(form.text)
    assert token
    answer = client.post(
        "/login",
        data={
            "username": "Reviewer",
            "password": PASSWORD,
            "csrf_token": token[1],
            "next": "/findings",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/findings"
    cookie = answer.headers["set-cookie"].lower()
    assert (
        "chaperone_session=" in cookie
        and "httponly" in cookie
        and "secure" in cookie
        and "samesite=lax" in cookie
    )
    assert client.get("/findings").status_code == 200


@pytest.mark.parametrize(
    "target", ["//evil.example/", "/\\evil.example/", "https://evil.example/", "/\tevil"]
)
def test_sign_in_refuses_other_sites_as_the_next_page(
    web: Callable[[str | None], Web], target: str
) -> None:
    client = web(None).client
    token = FORM_TOKEN.search(client.get("/login").text)
    assert token
    answer = client.post(
        "/login",
        data={
            "username": "reviewer",
            "password": PASSWORD,
            "csrf_token": token[1],
            "next": target,
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_a_sign_in_form_without_its_token_is_refused(web: Callable[[str | None], Web]) -> None:
    client = web(None).client
    answer = client.post(
        "/login", data={"username": "reviewer", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert answer.status_code == 401 and "expired" in answer.text
    assert "chaperone_session" not in client.cookies


def test_wrong_passwords_are_throttled_after_five_attempts(
    web: Callable[[str | None], Web],
) -> None:
    client = web(None).client
    for _ in range(5):
        answer = client.post(
            "/api/v1/session", json={"username": "reviewer", "password": "not the password"}
        )
        assert answer.status_code == 401
        assert answer.json() == {"detail": "wrong username or password"}
    locked = client.post("/api/v1/session", json={"username": "reviewer", "password": PASSWORD})
    assert locked.status_code == 429
    unknown = client.post("/api/v1/session", json={"username": "nobody", "password": "x"})
    assert unknown.status_code == 429  # the same client is locked out too


def test_every_form_and_unsafe_api_call_needs_the_csrf_token(
    web: Callable[[str | None], Web], world: object
) -> None:
    user = web("compliance_officer")
    finding = user.client.get("/api/v1/findings?per_page=1").json()["findings"][0]["finding_id"]
    without = user.client.post(
        "/api/v1/findings/review", json={"finding_ids": [finding], "status": "triaged"}
    )
    assert without.status_code == 403
    forged = user.client.post(
        "/findings/review",
        data={"finding_ids": finding, "status": "triaged", "csrf_token": "x" * 43},
    )
    assert forged.status_code == 403
    assert user.client.get(f"/api/v1/findings/{finding}").json()["status"] == "new"
    good = user.post(
        "/api/v1/findings/review", json={"finding_ids": [finding], "status": "triaged"}
    )
    assert good.status_code == 200  # type: ignore[attr-defined]


def test_sign_out_ends_the_session_on_the_server(web: Callable[[str | None], Web]) -> None:
    user = web("auditor")
    stolen = user.client.cookies.get("chaperone_session")
    assert (
        user.client.delete("/api/v1/session", headers={"X-CSRF-Token": user.csrf}).status_code
        == 204
    )
    replay = web(None).client
    replay.cookies.set("chaperone_session", stolen or "")
    assert replay.get("/api/v1/me").status_code == 401


def test_the_first_administrator_is_created_from_the_command_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAPERONE_NEW_PASSWORD", "short")
    refused = cli("users", "create", "admin", "--role", "admin")
    assert refused.code == 1 and "at least 12 characters" in refused.err
    monkeypatch.setenv("CHAPERONE_NEW_PASSWORD", PASSWORD)
    assert cli("users", "create", "p1", "--role", "principal").code == 1  # needs --school
    cli.ok("users", "create", "admin", "--role", "admin", "--name", "IT Admin")
    listed = cli.ok("users", "list", "--format", "json").out
    assert '"username": "admin"' in listed and '"role": "admin"' in listed
    assert (
        cli("users", "create", "ADMIN", "--role", "admin").code == 1
    )  # usernames are case-insensitive
    assert PASSWORD not in listed
    monkeypatch.delenv("CHAPERONE_NEW_PASSWORD")
    cli.ok("users", "create", "dana.ito@example.k12.ny.us", "--role", "hr", "--sso-only")
    assert (
        '"username": "dana.ito@example.k12.ny.us"'
        in cli.ok("users", "list", "--format", "json").out
    )


def test_a_session_store_is_shared_by_every_server(web: Callable[[str | None], Web]) -> None:
    first = web("hr")
    second = web(None)
    second.client.cookies = first.client.cookies
    assert second.client.get("/api/v1/me").json()["role"] == "hr"


def test_a_disabled_user_is_signed_out_everywhere(
    web: Callable[[str | None], Web],
    cli: Cli,
    web_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = web("reviewer")
    assert user.client.get("/api/v1/me").status_code == 200
    monkeypatch.setenv("CHAPERONE_HOME", str(web_settings.home))
    if web_settings.database_url:
        monkeypatch.setenv("CHAPERONE_DATABASE_URL", web_settings.database_url)
    cli.ok("users", "disable", "reviewer")
    assert user.client.get("/api/v1/me").status_code == 401
    refused = user.client.post(
        "/api/v1/session", json={"username": "reviewer", "password": PASSWORD}
    )
    assert refused.status_code == 401
    cli.ok("users", "enable", "reviewer")
    assert web("reviewer").client.get("/api/v1/me").status_code == 200
