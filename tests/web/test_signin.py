"""Sign-in, CSRF and the signed-in page, through FastAPI's TestClient on a real database."""
from __future__ import annotations

import base64
import itertools
import json
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.auth.sessions import UserSession
from cases.settings import Settings
from cases.users import User, set_password
from web.app import create_app

from .conftest import PASSWORD, csrf_from, sign_in
from .designer_helpers import signed_in


def test_pages_need_a_signed_in_user(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert client.get("/api/definitions").status_code == 401


def test_sign_in_lists_deployed_definitions(client):
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/work", "agents land on work"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/").text
    assert "dev_process" in page and "active" in page and "Deviation test" in page
    api = client.get("/api/definitions").json()
    assert api["count"] == 1 and api["data"][0]["process_id"] == "dev_process"


def test_wrong_password_keeps_the_username_and_says_why(client):
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "agent", "password": "nope-nope",
                                           "csrf_token": token})
    assert response.status_code == 400
    assert "do not match" in response.text and 'value="agent"' in response.text


def test_post_without_csrf_token_is_refused(client):
    client.get("/login")
    response = client.post("/login", data={"username": "agent", "password": PASSWORD})
    assert response.status_code == 403 and "expired" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303, "not signed in"


def test_logout_needs_csrf_and_ends_the_session(client):
    sign_in(client)
    assert client.post("/logout", data={}).status_code == 403
    token = csrf_from(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_next_parameter_cannot_redirect_off_site(client):
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "agent", "password": PASSWORD,
                                           "csrf_token": token, "next": "//evil.example/x"},
                           follow_redirects=False)
    assert response.headers["location"] == "/work", "their own home, not the other site"


def test_settings_refuse_a_placeholder_secret_outside_demo_mode():
    with pytest.raises(ValueError, match="CASEFLOW_SECRET_KEY"):
        Settings(secret_key="changeme", demo_mode=False)
    assert len(Settings(secret_key=None, demo_mode=True).secret_key) >= 32


def test_settings_refuse_session_and_throttle_limits_below_one():
    with pytest.raises(ValueError, match="signin_max_failures must be at least 1"):
        Settings(secret_key="x" * 40, signin_max_failures=0)
    with pytest.raises(ValueError, match="session_idle_minutes"):
        Settings(secret_key="x" * 40, session_idle_minutes=0)


def test_static_htmx_is_served_locally(client):
    response = client.get("/static/vendor/htmx/htmx.min.js")
    assert response.status_code == 200 and "htmx" in response.text[:2000]


def test_a_request_larger_than_any_upload_is_refused_before_it_is_read(client, app):
    limit = app.state.settings.max_upload_bytes
    too_big = b"x" * (limit + 300 * 1024)
    answer = client.post("/api/cases", content=too_big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "larger than" in answer.json()["detail"]
    page = client.post("/designer/upload", content=too_big,
                       headers={"Content-Type": "application/octet-stream"})
    assert page.status_code == 413 and "larger than" in page.text


def test_a_chunked_request_without_length_is_refused_once_it_passes_the_limit(client, app, session):
    limit = app.state.settings.max_upload_bytes

    def chunks():  # no Content-Length: httpx sends it chunked
        for _ in range(limit // (64 * 1024) + 40):
            yield b"x" * (64 * 1024)

    answer = client.post("/api/cases", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "larger than" in answer.json()["detail"]
    # a small chunked body still gets through to the route (here: refused there for no sign-in)
    small = client.post("/api/cases", content=iter([b"{}"]), headers={"Content-Type": "application/json"})
    assert small.status_code == 401

    token = signed_in(client, "designer")  # a page form that reads its body: the upload
    form = (b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            + token.encode() + b"\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; "
            b"filename=\"big.bpmn\"\r\nContent-Type: application/xml\r\n\r\n")
    page = client.post("/designer/upload", content=itertools.chain([form], chunks()),
                       headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert page.status_code == 413 and "larger than" in page.text


@pytest.mark.parametrize(("role", "home"), [("designer", "/designer"), ("supervisor", "/work")])
def test_each_role_lands_on_its_own_home(client, role, home):
    assert sign_in(client, role).headers["location"] == home


def test_a_malformed_address_gets_a_page_not_json(client):
    sign_in(client)
    page = client.get("/cases/abc")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "No such page" in page.text
    assert client.get("/api/cases/abc").headers["content-type"].startswith("application/json")
    bad_query = client.get("/work?page=two")
    assert bad_query.status_code == 400 and "page" in bad_query.text


# --- server-side sessions -------------------------------------------------------------------

def _cookie(client) -> str:
    return client.cookies.get("caseflow_session")


def _client_with(app, cookie: str) -> TestClient:
    other = TestClient(app)
    other.cookies.set("caseflow_session", cookie)
    return other


def test_the_cookie_carries_only_a_session_token(client):
    sign_in(client)
    payload = json.loads(base64.b64decode(_cookie(client).split(".")[0] + "=="))
    assert set(payload) <= {"sid", "csrf_token"} and "user_id" not in payload
    with Session(client.app.state.engine) as s:
        row = s.exec(select(UserSession)).one()
    assert row.id != payload["sid"], "the table keeps the token's digest, not the token"


def test_a_cookie_copied_before_sign_out_stops_working_at_once(client, app):
    sign_in(client)
    copied = _cookie(client)
    token = csrf_from(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    thief = _client_with(app, copied)
    answer = thief.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert thief.get("/api/definitions").status_code == 401


def test_a_password_change_signs_the_user_out_everywhere(client, app, clock):
    app.state.clock = clock
    sign_in(client)
    laptop = _client_with(app, _cookie(client))
    assert laptop.get("/", follow_redirects=False).status_code == 200
    with Session(app.state.engine) as s:
        agent = s.exec(select(User).where(User.username == "agent")).one()
        set_password(s, agent, "a brand new passphrase", now=clock())
        s.commit()
    assert client.get("/", follow_redirects=False).status_code == 303
    assert laptop.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client, password="a brand new passphrase").status_code == 303


def test_a_session_ends_after_the_idle_timeout_but_not_while_in_use(client, app, clock):
    app.state.clock = clock
    sign_in(client)
    for _ in range(3):  # 3 x 25 minutes with a request in between: still signed in
        clock.advance(minutes=25)
        assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(minutes=31)
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_session_ends_after_its_maximum_age_even_when_in_use(client, app, clock):
    app.state.clock = clock
    sign_in(client)
    for _ in range(8 * 3):  # a request every 20 minutes for 8 hours
        clock.advance(minutes=20)
        assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(minutes=1)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_deactivated_user_is_signed_out(client, app):
    sign_in(client)
    with Session(app.state.engine) as s:
        agent = s.exec(select(User).where(User.username == "agent")).one()
        agent.active = False
        s.add(agent)
        s.commit()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_signing_in_again_gives_a_new_session_and_a_new_csrf_token(client):
    first_token = csrf_from(client.get("/login").text)
    sign_in(client)
    assert csrf_from(client.get("/").text) != first_token, "no CSRF token survives sign-in"
    before = _cookie(client)
    sign_in(client)
    assert _cookie(client) != before


# --- sign-in throttling ---------------------------------------------------------------------

def _attempt(client, username="agent", password="wrong-password-x"):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token, "next": "/"}, follow_redirects=False)


def test_five_wrong_passwords_lock_the_account_until_the_window_passes(client, app, clock):
    app.state.clock = clock
    answers = [_attempt(client) for _ in range(5)]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429]
    locked = _attempt(client, password=PASSWORD)
    assert locked.status_code == 429, "the right password does not get past the lock"
    assert locked.headers["retry-after"] == str(15 * 60)
    assert ("Too many failed sign-ins for this account; try again in 15 minutes."
            in unescape(locked.text))
    clock.advance(minutes=10)
    assert "try again in 5 minutes" in _attempt(client, password=PASSWORD).text
    clock.advance(minutes=5)
    assert _attempt(client, password=PASSWORD).status_code == 303, "works after the window"
    assert _attempt(client, password="one more typo").status_code == 400, "the count started over"


def test_the_lock_holds_across_app_processes_on_one_database(app, clock):
    app.state.clock = clock
    second = create_app(app.state.settings)  # another server process on the same database
    second.state.clock = clock
    with TestClient(app) as one, TestClient(second) as two:
        for _ in range(3):
            _attempt(one)
        for _ in range(2):
            _attempt(two)
        assert _attempt(one, password=PASSWORD).status_code == 429
        assert "Too many failed sign-ins for this account" in _attempt(two, password=PASSWORD).text
    second.state.engine.dispose()


def test_many_failures_from_one_address_lock_that_address(client, app, clock):
    app.state.clock = clock
    for i in range(20):  # four tries each at five usernames: no account reaches its limit
        _attempt(client, username=f"guess{i % 5}")
    answer = _attempt(client, username="designer", password=PASSWORD)
    assert answer.status_code == 429
    assert "Too many failed sign-ins for this network address; try again in 15 minutes." \
        in unescape(answer.text)
    clock.advance(minutes=15)
    assert _attempt(client, username="designer", password=PASSWORD).status_code == 303


def test_a_good_sign_in_clears_the_accounts_count(client, app, clock):
    app.state.clock = clock
    for _ in range(4):
        _attempt(client)
    assert _attempt(client, password=PASSWORD).status_code == 303
    for _ in range(4):
        assert _attempt(client).status_code == 400
