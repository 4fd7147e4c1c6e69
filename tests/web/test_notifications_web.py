"""Notifications through the pages and the JSON API (TestClient, a real SQLite file): the bell's
count, the list with mark read (page and htmx), e-mail preferences, each person only their own."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.api_tokens import issue_token
from cases.case_models import WorkItem
from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.settings import Settings
from cases.users import create_user
from cases.work_items import assign
from tests.conftest import DATA, T0, fresh_sqlite
from tests.web.conftest import PASSWORD, csrf_from, sign_in
from web.app import create_app


@pytest.fixture
def app(tmp_path):
    url = fresh_sqlite(tmp_path / 'web.sqlite3')
    app = create_app(Settings(database_url=url, secret_key="x" * 40))
    with Session(app.state.engine, expire_on_commit=False) as s:
        deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                    actor="designer", now=T0, activate=True)
        agent = create_user(s, username="agent", password=PASSWORD, role="agent", now=T0,
                            teams=["Customer Care"])
        sup = create_user(s, username="sup", password=PASSWORD, role="supervisor", now=T0,
                          display_name="Sam Supervisor")
        s.commit()
        customer = create_customer(s, actor="agent", now=T0, name="Ada", account_number="C-1")
        case = open_case(s, actor=agent, now=T0, customer_id=customer.id,
                         process_id="dev_process", channel="phone")
        item = s.exec(select(WorkItem).where(WorkItem.case_id == case.id)).one()
        assign(s, actor=sup, now=T0, work_item_id=item.id, assignee_id=agent.id)
        app.state.case_id = case.id
        _, app.state.agent_token = issue_token(s, user=agent, name="CRM", now=T0)
        _, app.state.sup_token = issue_token(s, user=sup, name="CRM", now=T0)
    yield app
    app.state.engine.dispose()



def _bell(html: str) -> str:
    return re.search(r'id="bell"[^>]*aria-label="([^"]+)"', html).group(1)


def test_the_bell_counts_and_the_list_marks_read(client, app):
    sign_in(client)
    page = client.get("/work").text
    assert _bell(page) == "Notifications: 1 unread"
    assert 'class="bell-count" aria-hidden="true">1<' in page
    listing = client.get("/notifications").text
    text = f"Sam Supervisor gave you “Capture order” on case {app.state.case_id}"
    assert text in listing and f'href="/cases/{app.state.case_id}"' in listing
    note_id = int(re.search(r'action="/notifications/(\d+)/read"', listing).group(1))
    csrf = csrf_from(listing)
    fragment = client.post(f"/notifications/{note_id}/read", headers={"HX-Request": "true"},
                           data={"csrf_token": csrf, "unread": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Nothing unread." in fragment.text
    assert _bell(client.get("/work").text) == "Notifications: none unread"
    bell = client.get("/notifications/bell").text
    assert bell.lstrip().startswith("<a") and "none unread" in bell
    again = client.post(f"/notifications/{note_id}/read", data={"csrf_token": csrf},
                        follow_redirects=False)
    assert again.status_code == 303, "reading twice is fine"


def test_nobody_reads_someone_elses_notifications(client, app):
    with TestClient(app) as agent:
        sign_in(agent)
        note_id = int(re.search(r'action="/notifications/(\d+)/read"',
                                agent.get("/notifications").text).group(1))
    sign_in(client, "sup")
    assert "No notifications yet." in client.get("/notifications").text
    csrf = csrf_from(client.get("/notifications").text)
    assert client.post(f"/notifications/{note_id}/read",
                       data={"csrf_token": csrf}).status_code == 404
    assert client.post(f"/notifications/{note_id}/read").status_code == 403, "CSRF is checked"


def test_read_all_and_preferences(client, app):
    sign_in(client)
    csrf = csrf_from(client.get("/notifications").text)
    done = client.post("/notifications/read-all", data={"csrf_token": csrf})
    assert "Marked 1 notification read." in done.text
    prefs = client.get("/notifications/preferences").text
    assert 'id="kind-assigned" name="kinds" value="assigned" checked' in prefs
    bad = client.post("/notifications/preferences", data={"csrf_token": csrf, "email": "ann",
                                                          "kinds": ["assigned"]})
    assert bad.status_code == 400 and "Enter an e-mail address like" in bad.text
    assert 'aria-invalid="true"' in bad.text and 'value="ann"' in bad.text
    saved = client.post("/notifications/preferences", follow_redirects=False, data={
        "csrf_token": csrf, "email": "ann@example.com", "kinds": ["assigned", "incident"]})
    assert saved.status_code == 303
    page = client.get("/notifications/preferences").text
    assert 'value="ann@example.com"' in page and "Your e-mail preferences are saved." in page
    assert 'value="incident" checked' in page and 'value="request_decided" checked' not in page


def test_the_api_lists_and_marks_only_ones_own(client, app):
    agent = {"Authorization": f"Bearer {app.state.agent_token}"}
    sup = {"Authorization": f"Bearer {app.state.sup_token}"}
    body = client.get("/api/notifications", headers=agent).json()
    assert (body["count"], body["unread"]) == (1, 1)
    [note] = body["data"]
    assert note["kind"] == "assigned" and note["case_id"] == app.state.case_id
    assert note["text"].startswith("Sam Supervisor gave you")
    assert client.post(f"/api/notifications/{note['id']}/read", headers=sup).status_code == 404
    read = client.post(f"/api/notifications/{note['id']}/read", headers=agent).json()
    assert read["read_at"] is not None
    assert client.get("/api/notifications", params={"unread": "true"},
                      headers=agent).json()["count"] == 0
    assert client.post("/api/notifications/read-all", headers=agent).json() == {"marked": 0}
    refused = client.post("/api/notification-preferences", headers=agent,
                          json={"email": "x", "email_kinds": ["nope"]})
    assert refused.status_code == 422
    assert set(refused.json()["detail"]["errors"]) == {"email", "email_kinds"}
    ok = client.post("/api/notification-preferences", headers=agent,
                     json={"email": "ann@example.com", "email_kinds": ["assigned"]})
    assert ok.json() == {"email": "ann@example.com", "email_kinds": ["assigned"]}
    assert client.get("/api/notification-preferences", headers=agent).json() == ok.json()
