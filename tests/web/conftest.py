"""A web app on a real SQLite file with one deployed process and a user per role."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.definitions import deploy_file
from cases.settings import Settings
from cases.users import create_user
from tests.conftest import DATA, T0, fresh_sqlite
from web.app import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path):
    url = fresh_sqlite(tmp_path / 'web.sqlite3')
    app = create_app(Settings(database_url=url, secret_key="x" * 40))
    with Session(app.state.engine) as s:
        deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                    actor="designer", now=T0, activate=True)
        for role in ("agent", "designer", "supervisor"):
            create_user(s, username=role, password=PASSWORD, role=role, now=T0, teams=["Customer Care"])
        s.commit()
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, username="agent", password=PASSWORD):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": "/"}, follow_redirects=False)


@pytest.fixture
def tokens(app):
    """A token per user: name -> Authorization header."""
    from cases.api_tokens import issue_token
    from cases.users import User

    found = {}
    with Session(app.state.engine, expire_on_commit=False) as s:
        for user in s.exec(select(User)).all():
            _, secret = issue_token(s, user=user, name=f"{user.username} system", now=T0)
            found[user.username] = {"Authorization": f"Bearer {secret}"}
    return found
