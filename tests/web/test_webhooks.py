"""Webhooks on the admin page and in the JSON API: admins only, fields named when refused, the
secret shown once, the delivery log readable and a delivery sent again (real receiver)."""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session

from cases.api_tokens import issue_token
from cases.jobs.executor import Executor
from cases.users import create_user
from tests.conftest import T0
from tests.receiver import Receiver, readme_verify
from tests.web.conftest import PASSWORD, csrf_from, sign_in


@pytest.fixture
def admin(app):
    with Session(app.state.engine, expire_on_commit=False) as s:
        user = create_user(s, username="root", password=PASSWORD, role="admin", now=T0)
        s.commit()
        _, secret = issue_token(s, user=user, name="ops", now=T0)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("CASEFLOW_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32")
    found = Receiver().start()
    yield found
    found.stop()


def test_the_admin_page_adds_lists_replays_and_removes(client, app, admin, tokens, receiver):
    assert sign_in(client, "root").status_code == 303
    page = client.get("/admin/webhooks")
    assert page.status_code == 200
    for label in ('for="wh-url"', 'for="wh-events"', 'for="wh-processes"'):
        assert label in page.text
    csrf = csrf_from(page.text)
    refused = client.post("/admin/webhooks", data={"url": "http://169.254.169.254/latest",
                                                   "events": "case_exploded", "csrf_token": csrf})
    assert refused.status_code == 422
    assert 'id="wh-url" name="url" value="http://169.254.169.254/latest"' in refused.text
    assert "link-local" in refused.text and "case_exploded" in refused.text
    assert refused.text.count('aria-invalid="true"') == 2
    no_csrf = client.post("/admin/webhooks", data={"url": receiver.url, "events": "*"})
    assert no_csrf.status_code == 403
    added = client.post("/admin/webhooks", data={"url": receiver.url, "events": "case_opened",
                                                 "csrf_token": csrf})
    assert added.status_code == 201
    secret = added.text.split('id="secret" readonly value="', 1)[1].split('"', 1)[0]
    assert secret.startswith("whsec_")
    again = client.get("/admin/webhooks").text
    assert receiver.url.replace("&", "&amp;") in again and secret not in again
    new_case = {"process_id": "dev_process", "channel": "phone",
                "customer": {"name": "Ada Byrne", "account_number": "C-1001"}}
    assert client.post("/api/cases", json=new_case, headers=tokens["agent"]).status_code == 201
    executor = Executor(app.state.engine)
    executor.ensure_periodic()
    executor.run_until_idle()
    [got] = receiver.got
    assert readme_verify()(secret, got.headers["Caseflow-Signature"], got.body)
    log = client.get("/admin/webhooks").text
    assert "case_opened" in log and "delivered" in log
    [delivery] = client.get("/api/webhook-deliveries", headers=admin).json()["data"]
    replayed = client.post(f"/admin/webhooks/deliveries/{delivery['id']}/replay",
                           data={"csrf_token": csrf}, follow_redirects=False)
    assert replayed.status_code == 303
    executor.run_until_idle()
    assert len(receiver.got) == 2 and receiver.got[1].body == got.body
    removed = client.post(f"/admin/webhooks/{delivery['subscription_id']}/remove",
                          data={"csrf_token": csrf}, follow_redirects=True)
    assert "removed" in removed.text and "No webhooks yet." in removed.text


def test_the_api_is_for_admins_and_shows_the_secret_once(client, admin, tokens):
    body = {"url": "https://93.184.216.34/hook", "events": ["task_opened", "case_resolved"],
            "processes": ["dev_process"]}
    assert client.post("/api/webhooks", json=body, headers=tokens["supervisor"]).status_code == 403
    made = client.post("/api/webhooks", json=body, headers=admin)
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["secret"].startswith("whsec_") and sub["events"] == ["case_resolved", "task_opened"]
    listed = client.get("/api/webhooks", headers=admin).json()
    assert listed["count"] == 1 and "secret" not in listed["data"][0]
    refused = client.post("/api/webhooks", headers=admin, json={
        "url": "http://10.1.2.3/", "events": ["nope"], "processes": []})
    assert refused.status_code == 422
    assert set(refused.json()["detail"]["errors"]) == {"url", "events"}
    extra = client.post("/api/webhooks", headers=admin, json={**body, "secret": "mine"})
    assert extra.status_code == 422
    assert client.get("/api/webhook-deliveries?failed=true", headers=admin).json()["count"] == 0
    missing = client.post("/api/webhook-deliveries/99/replay", headers=admin)
    assert missing.status_code == 404 and "No webhook delivery 99" in missing.text
    assert client.delete(f"/api/webhooks/{sub['id']}", headers=admin).json()["removed"] is True
    assert client.delete(f"/api/webhooks/{sub['id']}", headers=admin).status_code == 404
    assert json.loads(client.get("/api/webhooks", headers=admin).text)["count"] == 0
