"""Finding work through the pages and the JSON API (TestClient on a real SQLite file)."""
from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from cases.case_models import Case, WorkItem
from cases.case_service import open_case
from cases.customers import create_customer
from cases.reason_codes import sync_reason_codes
from cases.users import User
from tests.conftest import T0
from tests.web.conftest import app, client, csrf_from, sign_in, tokens  # noqa: F401  (fixtures)


@pytest.fixture
def opened(app):
    """Two dev_process cases for Ada Byrne (C-1001), each with a Customer Care step."""
    with Session(app.state.engine, expire_on_commit=False) as s:
        sync_reason_codes(s)
        agent = s.exec(select(User).where(User.username == "agent")).one()
        ada = create_customer(s, actor="agent", now=T0, name="Ada Byrne", account_number="C-1001")
        return [open_case(s, actor=agent, now=T0, customer_id=ada.id, process_id="dev_process",
                          channel="phone", priority=p).id for p in (0, 2)]


def _items(app, case_id) -> list[WorkItem]:
    with Session(app.state.engine) as s:
        return list(s.exec(select(WorkItem).where(WorkItem.case_id == case_id)).all())


def test_api_search_next_work_and_bulk(client, tokens, opened, app):
    low, high = opened
    found = client.get("/api/cases/search", params={"q": "byrne"}, headers=tokens["agent"])
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["count"] == 2 and {c["id"] for c in body["data"]} == {low, high}
    assert body["data"][0]["customer_name"] == "Ada Byrne"
    bad = client.get("/api/cases/search", params={"q": "!!!"}, headers=tokens["agent"])
    assert bad.status_code == 422 and "q" in bad.json()["detail"]["errors"]

    first = client.post("/api/work/next", headers=tokens["agent"]).json()
    assert first["item"]["case_id"] == high and first["item"]["name"] == "Capture order"
    second = client.post("/api/work/next", headers=tokens["agent"]).json()
    assert second["item"]["case_id"] == low
    assert client.post("/api/work/next", headers=tokens["agent"]).json()["item"] is None

    hold = {"case_ids": [low, high], "reason_code": "crm_down", "note": "CRM down"}
    refused = client.post("/api/bulk/hold", json=hold, headers=tokens["agent"])
    assert refused.status_code == 403 and refused.json()["detail"]["message"]
    done = client.post("/api/bulk/hold", json=hold, headers=tokens["supervisor"]).json()
    assert sorted(o["case_id"] for o in done["done"]) == [low, high] and done["failed"] == []
    again = client.post("/api/bulk/hold", json=hold, headers=tokens["supervisor"]).json()
    assert [o["message"] for o in again["failed"]] == ["The case is on hold"] * 2
    assert client.post("/api/bulk/skip", json=hold, headers=tokens["supervisor"]).status_code == 404


def test_agent_gets_next_work_searches_and_saves_a_filter(client, opened, app):
    low, high = opened
    sign_in(client, "agent")
    page = client.get("/work").text
    assert "Get next work" in page and 'name="q"' in page and 'type="checkbox"' not in page
    token = csrf_from(page)
    taken = client.post("/work/next", data={"csrf_token": token}, follow_redirects=False)
    item = [i for i in _items(app, high) if i.state == "open"][0]
    assert taken.headers["location"] == f"/cases/{high}#item-form-{item.id}"
    assert "is yours now" in client.get(f"/cases/{high}").text

    results = client.get("/work/search", params={"q": "C-1001"}).text
    assert f"/cases/{low}" in results and "2 cases found" in results
    assert client.get("/work/search", params={"q": "-only"}).status_code == 400
    mine = client.get("/work", params={"view": "team", "q": "byrne"}).text
    assert "Capture order" in mine and client.get("/work", params={"q": "zebra"}).status_code == 200

    saved = client.post("/work/filters", data={"csrf_token": token, "name": "Ada's cases",
                                               "query": "view=team&q=byrne&page=3"},
                        follow_redirects=False)
    assert saved.headers["location"] == "/work?view=team&q=byrne"
    page = client.get("/work").text
    assert 'href="/work?view=team&amp;q=byrne">Ada&#39;s cases</a>' in page
    bad = client.post("/work/filters", data={"csrf_token": token, "name": "x",
                                             "query": "view=team&evil=1"})
    assert bad.status_code == 400 and "evil" in bad.text
    filter_id = re.search(r'/work/filters/(\d+)/delete', page).group(1)
    client.post(f"/work/filters/{filter_id}/delete", data={"csrf_token": token})
    assert "Ada&#39;s cases" not in client.get("/work").text


def test_supervisor_bulk_holds_selected_steps_and_sees_each_outcome(client, opened, app):
    low, high = opened
    sign_in(client, "supervisor")
    page = client.get("/work", params={"view": "team"}).text
    assert page.count('form="bulk-form"') == 2 and 'id="bulk-form"' in page
    items = [i.id for c in (low, high) for i in _items(app, c)]
    answer = client.post("/work/bulk", data={
        "csrf_token": csrf_from(page), "kind": "hold", "item": items, "reason_code": "crm_down",
        "note": "CRM down since nine", "team": "Billing", "due_at": "", "back": "/work?view=team"})
    assert answer.status_code == 200, answer.text
    assert "Put on hold: 2 done, 0 not done" in answer.text
    with Session(app.state.engine) as s:
        assert {s.get(Case, c).status for c in (low, high)} == {"on_hold"}
    refused = client.post("/work/bulk", data={
        "csrf_token": csrf_from(page), "kind": "extend_deadline", "item": items,
        "reason_code": "crm_down", "note": "n", "due_at": ""})
    assert refused.status_code == 400 and "Nothing was changed" in refused.text


def test_supervisor_holds_cases_picked_from_a_search(client, opened, app):
    low, high = opened
    sign_in(client, "supervisor")
    page = client.get("/work/search", params={"q": "byrne"}).text
    assert page.count('name="case"') == 2 and "Put the selected cases on hold" in page
    answer = client.post("/work/bulk", data={
        "csrf_token": csrf_from(page), "kind": "hold", "case": [str(high)],
        "reason_code": "crm_down", "note": "CRM down", "back": "/work/search?q=byrne"})
    assert "Put on hold: 1 done, 0 not done" in answer.text
    assert 'href="/work/search?q=byrne"' in answer.text
    page = client.get("/work/search", params={"q": "byrne"}).text
    assert page.count('name="case"') == 1  # an on-hold case is not offered again
    sign_in(client, "agent")
    assert 'name="case"' not in client.get("/work/search", params={"q": "byrne"}).text
