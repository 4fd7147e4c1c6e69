"""Security headers and a strict CSP on every response; templates without inline code."""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cases.settings import Settings
from web.app import create_app

from .conftest import sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
REQUIRED = ["default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
            "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"]


def _policy(response) -> dict[str, str]:
    directives = [d.strip() for d in response.headers["content-security-policy"].split(";")]
    return {d.split(" ", 1)[0]: d for d in directives if d}


def _assert_secured(response):
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    policy = _policy(response)
    for directive in REQUIRED:
        assert policy[directive.split(" ", 1)[0]] == directive, policy
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "unsafe-eval" not in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/login", "/", "/work", "/designer", "/cases/abc",
                                  "/api/definitions", "/api/cases/abc", "/static/css/caseflow.css",
                                  "/static/js/diagram.js", "/no/such/page"])
def test_every_response_carries_the_headers(client, path):
    sign_in(client)
    _assert_secured(client.get(path))


def test_refusals_and_redirects_carry_them_too(client, app):
    _assert_secured(client.get("/", follow_redirects=False))  # 303 to sign-in
    _assert_secured(client.post("/login", data={}))  # 403 without CSRF token
    too_big = b"x" * (app.state.settings.max_upload_bytes + 300 * 1024)
    _assert_secured(client.post("/api/cases", content=too_big))  # 413 before any route


def test_api_docs_allow_their_cdn_and_only_their_own_inline_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    policy = _policy(response)
    inline = re.findall(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", response.text, re.S)
    assert inline, "FastAPI's Swagger page starts with one inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert response.headers["x-frame-options"] == "DENY"


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script_handler_style_or_safe_filter(path):
    text = path.read_text()
    assert "|safe" not in text.replace(" ", ""), "data from models reaches pages escaped"
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", text), "event handler attribute"
    assert not re.search(r"\sstyle\s*=", text), "inline style attribute"
    assert "javascript:" not in text.lower()
    assert "hx-on" not in text and not re.search(r"=\s*['\"]\s*(js|javascript):", text), \
        "htmx code in attributes needs eval"


def test_htmx_injects_no_style_element(client):
    page = client.get("/login").text
    assert '<meta name="htmx-config"' in page and '"includeIndicatorStyles": false' in page


def test_hsts_only_when_cookies_are_secure(client, app):
    assert "strict-transport-security" not in client.get("/login").headers
    secure = create_app(Settings(database_url=app.state.settings.database_url, secret_key="x" * 40,
                                 secure_cookies=True))
    with TestClient(secure, base_url="https://testserver") as https:
        assert https.get("/login").headers["strict-transport-security"] == "max-age=31536000"
    secure.state.engine.dispose()
