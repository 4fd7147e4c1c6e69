"""Sign-in, CSRF and the signed-in page, through FastAPI's TestClient on a real database."""
from __future__ import annotations

import itertools

import pytest

from cases.settings import Settings

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
