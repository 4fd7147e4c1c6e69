"""The agent's workspace through FastAPI's TestClient on a real SQLite file: pages, fragments, refusals."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.case_models import Case, WorkItem
from cases.case_service import open_case
from cases.customers import create_customer
from cases.db import upgrade
from cases.definitions import deploy_file
from cases.events import CaseEvent
from cases.reason_codes import sync_reason_codes
from cases.settings import Settings
from cases.users import create_user
from engine.clock import utcnow
from tests.conftest import BPMN_DIR
from web.app import create_app

PASSWORD = "correct horse battery"


@dataclass
class World:
    app: object
    case_id: int
    customer_id: int

    def session(self) -> Session:
        return Session(self.app.state.engine, expire_on_commit=False)

    def items(self, case_id: int | None = None, state: str = "open") -> list[WorkItem]:
        with self.session() as s:
            return list(s.exec(select(WorkItem).where(WorkItem.case_id == (case_id or self.case_id),
                                                      WorkItem.state == state)
                               .order_by(WorkItem.id)).all())

    def case(self) -> Case:
        with self.session() as s:
            return s.get(Case, self.case_id)

    def events(self) -> list[str]:
        with self.session() as s:
            return [e.type for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == self.case_id)
                                           .order_by(CaseEvent.seq)).all()]


@pytest.fixture
def world(tmp_path) -> World:
    url = f"sqlite:///{tmp_path / 'work.sqlite3'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, secret_key="w" * 40))
    now = utcnow()
    with Session(app.state.engine, expire_on_commit=False) as s:
        path = BPMN_DIR / "install_service.bpmn"
        deploy_file(s, path.read_bytes(), filename=path.name, actor="designer", now=now, activate=True)
        sync_reason_codes(s)
        agent = create_user(s, username="agent", password=PASSWORD, role="agent", now=now,
                            display_name="Ann Agent", teams=["Customer Care"])
        create_user(s, username="field", password=PASSWORD, role="agent", now=now,
                    display_name="Fran Field", teams=["Field Operations"])
        create_user(s, username="designer", password=PASSWORD, role="designer", now=now)
        create_user(s, username="supervisor", password=PASSWORD, role="supervisor", now=now,
                    display_name="Sam Supervisor", teams=["Customer Care"])
        s.commit()
        customer = create_customer(s, actor="agent", now=now, name="Ada Byrne",
                                   account_number="C-1001", phone="+353 1 555 0101")
        case = open_case(s, actor=agent, now=now, customer_id=customer.id,
                         process_id="install_service", channel="phone",
                         contacted_at=now - timedelta(hours=1))
        world = World(app, case.id, customer.id)
    yield world
    app.state.engine.dispose()


@pytest.fixture
def client(world):
    with TestClient(world.app) as c:
        yield c


def token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, username="agent") -> str:
    csrf = token(client.get("/login").text)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf,
                                    "next": "/"}, follow_redirects=False)
    assert r.status_code == 303
    return csrf


def test_smoke(client, world):
    sign_in(client)
    r = client.get("/work?view=unassigned")
    assert r.status_code == 200, r.text
    assert "Capture order" in r.text
    r = client.get(f"/cases/{world.case_id}")
    assert r.status_code == 200, r.text
    print(r.text[:200])
