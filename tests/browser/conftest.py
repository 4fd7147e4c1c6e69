"""Playwright driving Debian's chromium against uvicorn on 127.0.0.1 with a temporary SQLite file."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from cases.db import make_engine
from cases.definitions import deploy_file
from cases.users import create_user
from tests.conftest import DATA, IN_CI, ROOT, T0, fresh_sqlite

CHROMIUM = os.environ.get("CASEFLOW_BROWSER", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "browser-pass-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(db_path: Path, setup=None):
    """Migrate a fresh SQLite file, let `setup(session)` fill it, serve it under uvicorn; yield the base URL.

    Without `setup`: deviations.bpmn deployed and active, one user per role (password PASSWORD).
    """
    url = fresh_sqlite(db_path)
    engine = make_engine(url)
    with Session(engine) as s:
        (setup or _default_setup)(s)
        s.commit()
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "CASEFLOW_DATABASE_URL": url, "CASEFLOW_SECRET_KEY": "b" * 40}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "web.app:app_from_env", "--factory",
                             "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{base}/api/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError(proc.stderr.read().decode())
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _default_setup(s: Session) -> None:
    deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                actor="designer", now=T0, activate=True)
    for role in ("agent", "designer", "supervisor"):
        create_user(s, username=role, password=PASSWORD, role=role, now=T0)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The real app under uvicorn with one process deployed and a user per role."""
    with running_server(tmp_path_factory.mktemp("browser") / "caseflow.sqlite3") as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


# Runs before any page script and outside the page's policy: reports every CSP violation.
REPORT_CSP = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
                + " at " + e.sourceFile + ":" + e.lineNumber);
});"""


@pytest.fixture
def page(browser):
    """A 1280 px page; the test fails on any Content-Security-Policy violation it caused."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(REPORT_CSP)
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if _is_csp(m.text) else None)
    yield page
    context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"


def _is_csp(text: str) -> bool:
    return "CSP violation" in text or "Content Security Policy" in text


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def both_widths(page, name: str) -> int:
    """Screenshots at 1280 and 420 px (`name`, `name-420`); the page's width at 420 px (more than
    420 means it scrolls sideways)."""
    screenshot(page, name)
    page.set_viewport_size({"width": 420, "height": 800})
    screenshot(page, f"{name}-420")
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1280, "height": 800})
    return width
