"""Input and sessions hardened the same way everywhere (issue 14, item 4): each test is a
break found by trying the application as an attacker, on loopback; each failed before."""

from __future__ import annotations

import datetime as dt
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chaperone.acknowledge import tokens
from chaperone.directory.records import id_problem
from chaperone.settings import Settings
from chaperone.store.models import AppSecret, LoginFailure, Notice
from chaperone.web.app import create_app
from tests.conftest import Cli
from tests.web.site import PASSWORD, Web, World, link, new_campaign

pytestmark = pytest.mark.store  # run again on PostgreSQL by make test

FORM = re.compile(r'name="form_token" value="([0-9a-f]{64})"')
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def client_at(settings: Settings, address: str) -> Iterator[TestClient]:
    """A browser at this address (the peer the server sees)."""
    app = create_app(settings)
    try:
        with TestClient(app, base_url="https://testserver", client=(address, 50000)) as client:
            yield client
    finally:
        app.state.store.close()


def _session(client: TestClient, username: str, password: str = PASSWORD) -> int:
    return client.post(
        "/api/v1/session", json={"username": username, "password": password}
    ).status_code


# --- 1. JSON the validation error cannot echo ----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"1e999999",
        b"-1e999999",
        b'{"username": NaN, "password": "x"}',
        b'{"username": "a", "password": Infinity}',
        b'{"username": "\\ud800", "password": "x"}',
        b'{"username": "a", "password": "\\udfff tail"}',
        b'{"username": ["\\ud83d"], "password": "x"}',
        b"[1e400]",
    ],
    ids=["huge", "-huge", "NaN", "Infinity", "surrogate", "low surrogate", "nested", "list"],
)
def test_json_that_is_not_strict_json_is_refused_with_422_not_500(
    web: Callable[[str | None], Web], body: bytes
) -> None:
    client = web(None).client
    answer = client.post(
        "/api/v1/session", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body"]


def test_validation_errors_never_echo_the_input(web: Callable[[str | None], Web]) -> None:
    admin = web("admin")
    secret = "x" * 300 + "\u202e<script>"
    answer = admin.post("/api/v1/cases", json={"finding_ids": [secret], "title": "\x00"})
    assert answer.status_code == 422  # type: ignore[attr-defined]
    text = answer.text  # type: ignore[attr-defined]
    assert "x" * 100 not in text and "<script>" not in text and "input" not in text


# --- 2. tokens compared as bytes -----------------------------------------------------------


def test_a_non_ascii_sign_in_form_token_is_refused_not_a_500(
    web: Callable[[str | None], Web],
) -> None:
    client = web(None).client
    assert client.get("/login").status_code == 200  # sets the form's cookie
    answer = client.post(
        "/login",
        content=b"username=reviewer&password=x&csrf_token=%F0%9F%92%A9",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 401 and "the sign-in form expired" in answer.text


def test_a_non_ascii_csrf_header_or_form_token_is_refused(web: Callable[[str | None], Web]) -> None:
    admin = web("admin")
    answer = admin.client.post(
        "/logout",
        content=b"csrf_token=%C3%A9",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 403
    assert admin.client.get("/api/v1/me").status_code == 200  # still signed in


def test_a_non_ascii_acknowledgment_form_token_is_refused(
    web: Callable[[str | None], Web],
) -> None:
    anyone = web(None)
    token, _ = link(anyone, new_campaign(anyone))
    answer = anyone.client.post(
        f"/ack/{token}",
        content=b"form_token=%C3%A9&read=yes",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 403 and "did not come from your link" in answer.text


# --- 3. NUL, controls, surrogates, over-long values and ids ------------------------------

NUL_ROUTES = [
    ("GET", "/api/v1/findings?rule_id=a%00b"),
    ("GET", "/api/v1/findings?school=%00"),
    ("GET", "/api/v1/findings?channel_type=%01"),
    ("GET", "/api/v1/findings/F%00"),
    ("GET", "/api/v1/people?q=%00"),
    ("GET", "/api/v1/people/P%00"),
    ("GET", "/api/v1/people/P%00/access-log"),
    ("GET", "/api/v1/audit-log?person_id=%00"),
    ("GET", "/api/v1/campaigns/1/outstanding?school=%00"),
    ("GET", "/api/v1/campaigns/1/outstanding?population=%00"),
    ("GET", "/findings?rule_id=%00"),
    ("GET", "/findings?status=%00"),
    ("GET", "/findings/F%00"),
    ("GET", "/cases?status=%00"),
    ("GET", "/people?q=%00"),
    ("GET", "/people/P%00"),
    ("GET", "/people/P%00/access"),
    ("GET", "/audit-log?person_id=%00"),
    ("GET", "/campaigns/1/outstanding?school=%00"),
    ("GET", "/campaigns/1/outstanding.csv?school=%00"),
    ("GET", "/login/oidc/callback?code=%00"),
]


@pytest.mark.parametrize(("method", "path"), NUL_ROUTES, ids=[p for _m, p in NUL_ROUTES])
def test_nul_and_control_characters_in_addresses_are_refused(
    web: Callable[[str | None], Web], method: str, path: str
) -> None:
    admin = web("admin")
    answer = admin.client.request(method, path)
    assert answer.status_code in (400, 422), (path, answer.status_code)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/findings/review", {"finding_ids": ["F\x00"], "status": "triaged"}),
        ("/api/v1/findings/review", {"finding_ids": ["a"], "status": "triaged", "note": "\x00"}),
        ("/api/v1/cases", {"finding_ids": ["a"], "title": "t\x00"}),
        ("/api/v1/cases", {"finding_ids": ["a"], "subject_person_id": "\x00"}),
        ("/api/v1/campaigns", {"name": "n", "due_on": "2030-01-01", "schools": ["\x00"]}),
        ("/api/v1/campaigns", {"name": "n", "due_on": "2030-01-01", "policy": "9\x0052"}),
        ("/api/v1/campaigns/1/acknowledgments", {"person_ids": ["P\x00"]}),
        ("/api/v1/findings/F/reveal", {"reason": "why\x00"}),
    ],
)
def test_nul_in_api_documents_is_refused(
    web: Callable[[str | None], Web], path: str, body: dict[str, object]
) -> None:
    answer = web("admin").post(path, json=body)
    assert answer.status_code == 422, (path, answer.text)  # type: ignore[attr-defined]


def _case(admin: Web, world: World) -> int:
    made = admin.post("/api/v1/cases", json={"finding_ids": [world.finding_a]})
    return int(made.json()["id"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("text", "x" * 5001, "too long"),
        ("text", "note\x00", "NUL"),
        ("text", "bell\x07", "control"),
    ],
)
def test_forms_refuse_what_the_api_refuses(
    web: Callable[[str | None], Web], world: World, field: str, value: str, kind: str
) -> None:
    admin = web("admin")
    case_id = _case(admin, world)
    form = admin.client.post(
        f"/cases/{case_id}/note", data={field: value, "csrf_token": admin.csrf}
    )
    api = admin.post(f"/api/v1/cases/{case_id}/notes", json={field: value})
    assert form.status_code == 422, kind
    assert api.status_code == 422, kind  # type: ignore[attr-defined]
    assert form.headers["content-type"].startswith("text/html")
    assert '<nav aria-label="Main">' in form.text  # the site's error page, with navigation
    assert value not in form.text


def test_long_note_lines_and_tabs_are_still_text(
    web: Callable[[str | None], Web], world: World
) -> None:
    admin = web("admin")
    case_id = _case(admin, world)
    kept = admin.post(f"/api/v1/cases/{case_id}/notes", json={"text": "one\n\ttwo\r\nthree"})
    assert kept.status_code == 200  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path",
    [
        "/people/" + "x" * 60_000,  # (httpx refuses longer addresses)
        "/findings/" + "x" * 300,
        "/api/v1/people/" + "x" * 256,
        "/people/a%5Cb",
        "/people/%E2%80%AEevil",
        "/api/v1/people/%2E%2E",
        "/people/%20padded",
    ],
    ids=["60 KB id", "300 id", "256 id api", "backslash", "RTL override", "dotdot", "space"],
)
def test_page_and_api_routes_refuse_ids_outside_the_roster_grammar(
    web: Callable[[str | None], Web], path: str
) -> None:
    answer = web("admin").client.get(path)
    assert answer.status_code == 422, (path[:40], answer.status_code)
    assert len(answer.text) < 20_000  # no 50,000-pixel page


@pytest.mark.parametrize(
    ("value", "good"),
    [
        ("stu-0001", True),
        ("1f0e3dad-9990-4bd6-a2d4-6b0a8b8ccf0e", True),
        ("Élève 12", True),
        ("a/b", False),
        ("a\\b", False),
        ("..", False),
        (".", False),
        ("", False),
        ("x" * 256, False),
        (" lead", False),
        ("nul\x00", False),
        ("rtl\u202e", False),
        ("zero\u200bwidth", False),
    ],
)
def test_the_roster_id_grammar(value: str, good: bool) -> None:
    assert (id_problem(value) is None) is good


def test_the_roster_import_refuses_ids_with_a_slash(cli: Cli, tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    people = folder / "people.csv"
    people.write_text(
        "person_id,population,given_name,family_name,org_ids,email\n"
        "v/1,vendor,Ann,Bee,,ann@example.org\n",
        "utf-8",
    )
    result = cli("directory", "import", "people", str(people))
    assert result.code != 0 and "person_id holds a character ids may not hold" in (
        result.err + result.out
    )


# --- 4. the "I have read" box --------------------------------------------------------------


def test_an_acknowledgment_needs_the_i_have_read_box(web: Callable[[str | None], Web]) -> None:
    anyone = web(None)
    number = new_campaign(anyone)
    token, person_id = link(anyone, number)
    found = FORM.search(anyone.client.get(f"/ack/{token}").text)
    assert found
    answer = anyone.client.post(f"/ack/{token}", data={"form_token": found.group(1)})
    assert answer.status_code == 400 and "tick the box" in answer.text
    with anyone.app.state.store.transaction() as session:
        notice = session.scalar(
            select(Notice).where(Notice.campaign_id == number, Notice.person_id == person_id)
        )
        assert notice is not None and notice.acknowledged_at is None
    ticked = anyone.client.post(f"/ack/{token}", data={"form_token": found.group(1), "read": "yes"})
    assert ticked.status_code == 200 and 'id="ack-done"' in ticked.text


# --- 5. the acknowledgment link key outside the database -----------------------------------


def test_the_link_key_is_a_private_file_and_not_in_the_database(
    web: Callable[[str | None], Web], web_settings: Settings
) -> None:
    anyone = web(None)
    number = new_campaign(anyone)
    token, person_id = link(anyone, number)
    path = web_settings.ack_link_key_path
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    with anyone.app.state.store.transaction() as session:
        secrets = {s.name: bytes.fromhex(s.value) for s in session.scalars(select(AppSecret))}
        notice = session.scalar(
            select(Notice).where(Notice.campaign_id == number, Notice.person_id == person_id)
        )
        assert notice is not None
        assert "ack-links" not in secrets
        # whatever a copy of the database holds, no key in it rebuilds the link
        for key in secrets.values():
            rebuilt = tokens.derive(key, number, person_id, notice.nonce)
            assert tokens.digest(rebuilt) != notice.token_hash
    assert anyone.client.get(f"/ack/{token}").status_code == 200


def test_links_sent_before_the_key_file_keep_working(
    web: Callable[[str | None], Web], web_settings: Settings
) -> None:
    """Upgrade path: the key the store used to hold seeds the key file once, then goes."""
    anyone = web(None)
    number = new_campaign(anyone)
    old_key = web_settings.ack_link_key_path.read_text("ascii").strip()
    token, _ = link(anyone, number)
    web_settings.ack_link_key_path.unlink()  # as before the upgrade: the key in the store
    with anyone.app.state.store.transaction() as session:
        session.add(AppSecret(name="ack-links", value=old_key))
    assert link(anyone, number)[0] == token  # the next use of the key: the same links
    assert anyone.client.get(f"/ack/{token}").status_code == 200
    assert web_settings.ack_link_key_path.read_text("ascii").strip() == old_key
    with anyone.app.state.store.transaction() as session:
        assert session.get(AppSecret, "ack-links") is None


def test_a_lost_key_file_is_refused_rather_than_silently_replaced(
    web: Callable[[str | None], Web], web_settings: Settings
) -> None:
    anyone = web(None)
    number = new_campaign(anyone)
    web_settings.ack_link_key_path.unlink()
    from chaperone.common.problems import ChaperoneError

    with (
        pytest.raises(ChaperoneError, match="key file is missing"),
        anyone.app.state.store.transaction() as session,
    ):
        tokens.secret(session)
    assert number and not web_settings.ack_link_key_path.exists()


# --- 6. a password change ends every session -----------------------------------------------


def _cli_on(cli: Cli, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("CHAPERONE_HOME", str(settings.home))
    if settings.database_url:
        monkeypatch.setenv("CHAPERONE_DATABASE_URL", settings.database_url)
    return cli


def test_a_password_reset_ends_the_users_sessions(
    web: Callable[[str | None], Web],
    cli: Cli,
    web_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    browser, script = web("reviewer"), web("reviewer")
    other = web("auditor")
    monkeypatch.setenv("CHAPERONE_NEW_PASSWORD", "a brand new passphrase")
    _cli_on(cli, web_settings, monkeypatch).ok("users", "password", "reviewer")
    assert browser.client.get("/api/v1/me").status_code == 401
    assert script.client.get("/findings", follow_redirects=False).status_code == 303
    assert other.client.get("/api/v1/me").status_code == 200  # only that user's sessions
    assert _session(web(None).client, "reviewer", "a brand new passphrase") == 200


# --- 7. back-off, never a lock-out ---------------------------------------------------------


def _age_failures(settings: Settings, seconds: float) -> None:
    app = create_app(settings)
    with app.state.store.transaction() as session:
        for failure in session.scalars(select(LoginFailure)):
            failure.at = failure.at - dt.timedelta(seconds=seconds)
    app.state.store.close()


def test_wrong_passwords_slow_the_attacker_but_never_lock_the_user_out(
    web_settings: Settings,
) -> None:
    with client_at(web_settings, "203.0.113.7") as attacker:
        assert [_session(attacker, "reviewer", "guess") for _ in range(5)] == [401] * 5
        held = attacker.post("/api/v1/session", json={"username": "reviewer", "password": "g"})
        assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
    _age_failures(web_settings, 3)  # a few seconds later (the old code: 15 minutes)
    with client_at(web_settings, "198.51.100.2") as user:  # the real user, somewhere else
        assert _session(user, "reviewer") == 200


def test_the_delay_grows_with_each_failure(web_settings: Settings) -> None:
    waits = []
    with client_at(web_settings, "203.0.113.8") as attacker:
        for _ in range(4):
            assert _session(attacker, "auditor", "guess") == 401
        for _ in range(4):
            assert _session(attacker, "auditor", "guess") == 401
            held = attacker.post("/api/v1/session", json={"username": "auditor", "password": "g"})
            assert held.status_code == 429
            waits.append(int(held.headers["retry-after"]))
            _age_failures(web_settings, waits[-1] + 1)
    assert waits == sorted(waits) and waits[-1] > waits[0]


def test_a_browser_the_user_signed_in_with_is_not_held_back(web_settings: Settings) -> None:
    with client_at(web_settings, "198.51.100.3") as user:
        assert _session(user, "hr") == 200
        for address in ("203.0.113.9", "203.0.113.10", "203.0.113.11"):
            with client_at(web_settings, address) as attacker:
                for _ in range(5):
                    _session(attacker, "hr", "guess")
        with client_at(web_settings, "203.0.113.12") as fresh:
            assert _session(fresh, "hr") == 429  # the account is backing off
        assert _session(user, "hr") == 200  # but not for the user's own browser


def test_users_unlock_ends_the_back_off(
    web_settings: Settings, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    with client_at(web_settings, "203.0.113.20") as attacker:
        for _ in range(12):
            _session(attacker, "principal", "guess")
    with client_at(web_settings, "198.51.100.20") as user:
        assert _session(user, "principal") == 429
        said = _cli_on(cli, web_settings, monkeypatch).ok("users", "unlock", "principal").out
        assert "unlocked principal" in said
        assert _session(user, "principal") == 200
    assert cli("users", "unlock", "nobody").code == 1


# --- 8. X-Forwarded-For only from configured proxies ---------------------------------------


def _failure_clients(settings: Settings) -> list[str]:
    app = create_app(settings)
    with app.state.store.transaction() as session:
        found = list(session.scalars(select(LoginFailure.client)))
    app.state.store.close()
    return found


def test_x_forwarded_for_is_ignored_from_an_unconfigured_loopback_client(
    web_settings: Settings,
) -> None:
    with client_at(web_settings, "127.0.0.1") as local:
        local.post(
            "/api/v1/session",
            json={"username": "reviewer", "password": "guess"},
            headers={"X-Forwarded-For": "192.0.2.99"},
        )
    assert _failure_clients(web_settings) == ["127.0.0.1"]


def test_x_forwarded_for_is_honoured_from_a_configured_proxy(web_settings: Settings) -> None:
    settings = web_settings.model_copy(update={"trusted_proxies": ("127.0.0.0/8", "10.0.0.5")})
    with client_at(settings, "127.0.0.1") as proxy:
        proxy.post(
            "/api/v1/session",
            json={"username": "reviewer", "password": "guess"},
            headers={"X-Forwarded-For": "192.0.2.99, 198.51.100.1, 10.0.0.5"},
        )
    assert _failure_clients(settings) == ["198.51.100.1"]  # the last hop not a proxy


def test_serve_passes_forwarded_headers_only_from_configured_proxies(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    seen: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kw: seen.append(kw))
    cli.ok("serve")
    monkeypatch.setenv("CHAPERONE_TRUSTED_PROXIES", "10.1.2.3,192.168.0.0/16")
    cli.ok("serve")
    assert (seen[0]["proxy_headers"], seen[0]["forwarded_allow_ips"]) == (False, [])
    assert seen[1]["proxy_headers"] is True
    assert seen[1]["forwarded_allow_ips"] == ["10.1.2.3", "192.168.0.0/16"]


def test_a_bad_trusted_proxy_setting_stops_start_up() -> None:
    with pytest.raises(ValueError, match="not an address or network"):
        Settings.from_environment({"CHAPERONE_TRUSTED_PROXIES": "proxy.example.org"})


# --- 9. success banners from the session, never the URL ------------------------------------


def test_banners_are_not_taken_from_the_url(web: Callable[[str | None], Web], world: World) -> None:
    officer = web("compliance_officer")
    number = new_campaign(officer)
    page = officer.client.get(f"/campaigns/{number}?created=1617&no_address=0&closed=1").text
    assert "1,617" not in page and "1617" not in page and "closed</p>" not in page
    listed = officer.client.get(f"/campaigns/{number}/outstanding?recorded=1617&already=3").text
    assert "1617 recorded" not in listed and 'id="recorded"' not in listed


def test_a_banner_shows_once_after_the_action(web: Callable[[str | None], Web]) -> None:
    officer = web("compliance_officer")
    number = new_campaign(officer)
    with officer.app.state.store.transaction() as session:
        person_id = session.scalars(
            select(Notice.person_id).where(Notice.campaign_id == number)
        ).first()
    done = officer.client.post(
        f"/campaigns/{number}/record",
        data={"csrf_token": officer.csrf, "person_ids": [person_id]},
        follow_redirects=False,
    )
    assert done.status_code == 303 and "recorded" not in done.headers["location"]
    shown = officer.client.get(done.headers["location"]).text
    assert "1 recorded, 0 had already acknowledged" in shown
    assert "recorded," not in officer.client.get(done.headers["location"]).text


# --- 10. error pages with the navigation on page routes ------------------------------------


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        ("admin", "/no-such-page", 404),
        ("admin", "/cases/2000000000", 404),
        ("reviewer", "/campaigns", 403),
        ("admin", "/findings?since=not-a-date", 422),
    ],
)
def test_page_routes_answer_errors_with_the_sites_page(
    web: Callable[[str | None], Web], user: str, path: str, status: int
) -> None:
    answer = web(user).client.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert '<nav aria-label="Main">' in answer.text and "Sign out" in answer.text


def test_api_routes_keep_json_errors(web: Callable[[str | None], Web]) -> None:
    admin = web("admin")
    for path, status in (("/api/v1/no-such-thing", 404), ("/api/v1/findings?since=x", 422)):
        answer = admin.client.get(path)
        assert answer.status_code == status and answer.headers["content-type"] == (
            "application/json"
        )
        assert "detail" in answer.json()


def test_a_signed_out_error_page_has_no_navigation(web: Callable[[str | None], Web]) -> None:
    answer = web(None).client.get("/no-such-page")
    assert answer.status_code == 404 and "<nav" not in answer.text
