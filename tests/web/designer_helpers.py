"""Helpers for the designer page tests: sign in as a role, upload through the form."""
from __future__ import annotations

from sqlmodel import Session, select

from engine.store import DefinitionVersion
from tests.web.conftest import csrf_from, sign_in


def signed_in(client, role: str) -> str:
    """Sign in as the user named after the role; return a CSRF token of the session."""
    assert sign_in(client, role).status_code == 303
    return csrf_from(client.get("/designer").text)


def upload(client, token: str, name: str, data: bytes, **kwargs):
    return client.post("/designer/upload", data={"csrf_token": token},
                       files={"file": (name, data, "application/xml")}, follow_redirects=False,
                       **kwargs)


def versions(app) -> list[DefinitionVersion]:
    with Session(app.state.engine) as s:
        return list(s.exec(select(DefinitionVersion).order_by(DefinitionVersion.id)).all())
