"""The whole API for a CRM or a custom front end (issue 16): work items, approvals, customers,
definitions and insights by token, with the pages' rules and one page envelope for lists."""
from __future__ import annotations

from sqlmodel import Session, select

from cases.users import User
from engine.store import DefinitionVersion
from tests.conftest import DATA
from tests.web.test_api import NEW_CASE


def _open(client, tokens) -> dict:
    """Open a dev_process case for customer C-1001 (added with the first case)."""
    known = client.get("/api/customers?q=C-1001", headers=tokens["agent"]).json()["items"]
    body = NEW_CASE if not known else {**{k: v for k, v in NEW_CASE.items() if k != "customer"},
                                       "customer_id": known[0]["id"]}
    answer = client.post("/api/cases", json=body, headers=tokens["agent"])
    assert answer.status_code == 201, answer.text
    return answer.json()


def _user_id(app, name: str) -> int:
    with Session(app.state.engine) as s:
        return s.exec(select(User.id).where(User.username == name)).one()


def test_claim_release_and_assign_follow_the_pages_rules(client, app, tokens):
    case = _open(client, tokens)
    item = case["work_items"][0]["id"]
    agent, supervisor = _user_id(app, "agent"), _user_id(app, "supervisor")
    claimed = client.post(f"/api/work-items/{item}/claim", headers=tokens["agent"])
    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["assignee_id"], claimed.json()["case_id"]) == (agent, case["id"])
    taken = client.post(f"/api/work-items/{item}/claim", headers=tokens["supervisor"])
    assert taken.status_code == 409 and "already claimed" in taken.json()["detail"]["message"]
    assert client.post(f"/api/work-items/{item}/release",
                       headers=tokens["designer"]).status_code == 403
    released = client.post(f"/api/work-items/{item}/release", headers=tokens["agent"])
    assert released.status_code == 200 and released.json()["assignee_id"] is None
    refused = client.post(f"/api/work-items/{item}/assign", json={"assignee_id": supervisor},
                          headers=tokens["agent"])
    assert refused.status_code == 403
    designer = client.post(f"/api/work-items/{item}/assign",
                           json={"assignee_id": _user_id(app, "designer")},
                           headers=tokens["supervisor"])
    assert designer.status_code == 422 and "assignee_id" in designer.json()["detail"]["errors"]
    handed = client.post(f"/api/work-items/{item}/assign", json={"assignee_id": agent},
                         headers=tokens["supervisor"])
    assert handed.status_code == 200 and handed.json()["assignee_id"] == agent
    assert client.post("/api/work-items/999999/claim", headers=tokens["agent"]).status_code == 404
    types = [e["type"] for e in client.get(f"/api/cases/{case['id']}/events",
                                           headers=tokens["agent"]).json()["data"]]
    assert [t for t in types if t.startswith("task_") and t != "task_opened"] == [
        "task_claimed", "task_released", "task_assigned"]


def _request_cancel(client, tokens) -> tuple[dict, int]:
    case = _open(client, tokens)
    answer = client.post(f"/api/cases/{case['id']}/deviations/cancel", headers=tokens["agent"],
                         json={"expected_version": case["row_version"],
                               "reason_code": "customer_withdrew", "note": "Rang to cancel"})
    assert answer.status_code == 202, answer.text
    return case, answer.json()["request_id"]


def test_approvals_listed_approved_and_rejected_with_four_eyes(client, tokens):
    case, first = _request_cancel(client, tokens)
    _, second = _request_cancel(client, tokens)
    mine = client.get("/api/approvals", headers=tokens["agent"]).json()
    assert ([r["id"] for r in mine["items"]], mine["total"]) == ([first, second], 2)
    assert mine["items"][0]["kind"] == "cancel" and mine["items"][0]["requested_by"] == "agent"
    queue = client.get("/api/approvals?view=decide&limit=1", headers=tokens["supervisor"]).json()
    assert ([r["id"] for r in queue["items"]], queue["total"], queue["limit"]) == ([first], 2, 1)
    assert client.get("/api/approvals?view=decide", headers=tokens["agent"]).status_code == 403
    assert client.post(f"/api/approvals/{first}/approve", json={},
                       headers=tokens["agent"]).status_code == 403
    no_note = client.post(f"/api/approvals/{second}/reject", json={},
                          headers=tokens["supervisor"])
    assert no_note.status_code == 422 and "note" in no_note.json()["detail"]["errors"]
    assert client.get(f"/api/approvals/{second}",
                      headers=tokens["agent"]).json()["status"] == "pending"
    rejected = client.post(f"/api/approvals/{second}/reject", json={"note": "Call them first"},
                           headers=tokens["supervisor"])
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["request"]["status"], rejected.json()["case"]["status"]) == (
        "rejected", "open")
    approved = client.post(f"/api/approvals/{first}/approve", json={"note": "Confirmed"},
                           headers=tokens["supervisor"])
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["request"]["status"], body["request"]["decided_by"]) == ("approved", "supervisor")
    assert (body["case"]["id"], body["case"]["status"]) == (case["id"], "cancelled")
    again = client.post(f"/api/approvals/{first}/approve", json={}, headers=tokens["supervisor"])
    assert again.status_code == 409
    decided = client.get("/api/approvals?status=any", headers=tokens["agent"]).json()
    assert sorted(r["status"] for r in decided["items"]) == ["approved", "rejected"]
    assert client.get("/api/approvals", headers=tokens["supervisor"]).json()["total"] == 0


def test_customers_search_create_and_their_cases_in_pages(client, tokens):
    for name, number in (("Bea Quinn", "C-2"), ("Cal Quinn", "C-3"), ("Dot Ryan", "C-4")):
        made = client.post("/api/customers", json={"name": name, "account_number": number},
                           headers=tokens["agent"])
        assert made.status_code == 201, made.text
    taken = client.post("/api/customers", json={"name": "X", "account_number": "C-2"},
                        headers=tokens["agent"])
    assert taken.status_code == 409 and "C-2" in taken.json()["detail"]["message"]
    blank = client.post("/api/customers", json={"name": "  ", "account_number": "C-9"},
                        headers=tokens["agent"])
    assert blank.status_code == 422 and set(blank.json()["detail"]["errors"]) == {"name"}
    found = client.get("/api/customers?q=quinn&limit=1&offset=1", headers=tokens["agent"]).json()
    assert found == {"items": [found["items"][0]], "total": 2, "limit": 1, "offset": 1}
    assert found["items"][0]["name"] == "Cal Quinn"
    assert client.get("/api/customers?limit=0", headers=tokens["agent"]).status_code == 422
    case = _open(client, tokens)
    customer = client.get(f"/api/customers/{case['customer_id']}", headers=tokens["agent"])
    assert customer.json()["account_number"] == NEW_CASE["customer"]["account_number"]
    cases = client.get(f"/api/customers/{case['customer_id']}/cases", headers=tokens["agent"])
    assert cases.status_code == 200
    assert [(c["id"], "work_items" in c) for c in cases.json()["items"]] == [(case["id"], False)]
    assert cases.json()["total"] == 1
    assert client.get("/api/customers/999999/cases", headers=tokens["agent"]).status_code == 404
    assert client.get("/api/customers", headers=tokens["designer"]).status_code == 403


def test_definitions_read_by_token_and_uploaded_as_drafts_with_every_problem(client, app,
                                                                              tokens):
    listed = client.get("/api/definitions", headers=tokens["designer"]).json()["data"]
    with Session(app.state.engine) as s:
        version = s.exec(select(DefinitionVersion)).one()
    one = client.get(f"/api/definitions/{version.id}", headers=tokens["agent"]).json()
    assert (one["process_id"], one["status"], one["cases"]) == ("dev_process", "active", 0)
    assert listed[0]["content_hash"] == one["content_hash"]
    xml = client.get(one["bpmn_url"], headers=tokens["agent"])
    assert xml.headers["content-type"].startswith("application/xml")
    assert xml.text == version.bpmn_xml
    good = (DATA / "parallel.bpmn").read_bytes()
    files = {"file": ("parallel.bpmn", good, "application/xml")}
    assert client.post("/api/definitions", files=files, headers=tokens["agent"]).status_code == 403
    stored = client.post("/api/definitions", files=files, headers=tokens["designer"])
    assert stored.status_code == 201, stored.text
    [draft] = stored.json()["versions"]
    assert (draft["status"], draft["uploaded_by"], stored.json()["new"]) == (
        "draft", "designer", [True])
    again = client.post("/api/definitions", files=files, headers=tokens["designer"]).json()
    assert again["new"] == [False] and again["versions"][0]["id"] == draft["id"]
    broken = (DATA / "deviations.bpmn").read_text().replace(
        'id="F2" sourceRef="Capture" targetRef="Check"',
        'id="F2" sourceRef="Capture" targetRef="Nowhere"')
    refused = client.post("/api/definitions", headers=tokens["designer"],
                          files={"file": ("deviations.bpmn", broken.encode(), "text/xml")})
    assert refused.status_code == 422
    problems = refused.json()["detail"]["problems"]
    flow = next(p for p in problems if p["element_id"] == "F2")
    assert "Nowhere" in flow["message"] and flow["line"] == 35 and flow["severity"] == "error"
    missing = client.post("/api/definitions", headers=tokens["designer"])
    assert missing.status_code == 422 and "file" in missing.json()["detail"]["errors"]
    with Session(app.state.engine) as s:
        assert len(s.exec(select(DefinitionVersion)).all()) == 2, "a refused upload stores nothing"


def test_insights_as_json_for_supervisors(client, app, tokens):
    with Session(app.state.engine) as s:
        version_id = s.exec(select(DefinitionVersion.id)).one()
    case = _open(client, tokens)
    item = case["work_items"][0]["id"]
    done = client.post(f"/api/cases/{case['id']}/work-items/{item}/complete",
                       json={"expected_version": case["row_version"], "data": {"amount": 7}},
                       headers=tokens["agent"])
    assert done.status_code == 200
    base = f"/api/insights/versions/{version_id}"
    assert client.get(f"{base}/report", headers=tokens["agent"]).status_code == 403
    report = client.get(f"{base}/report", headers=tokens["supervisor"]).json()
    assert (report["process_id"], report["cases"]) == ("dev_process", 1)
    capture = next(e for e in report["elements"] if e["element_id"] == "Capture")
    assert (capture["reached"], capture["items"], capture["rate"]) == (1, 1, 0.0)
    heat = client.get(f"{base}/heatmap?metric=rework", headers=tokens["supervisor"]).json()
    assert heat["metric"] == "rework" and heat["values"]["Capture"] == 0.0
    assert client.get(f"{base}/heatmap?metric=colour",
                      headers=tokens["supervisor"]).status_code == 422
    card = client.get(f"{base}/scorecard?channel=phone", headers=tokens["supervisor"]).json()
    assert (card["cases"], card["resolved"], card["filters"]["channel"]) == (1, 0, "phone")
    backwards = client.get(f"{base}/scorecard?since=2026-03-02&until=2026-03-01",
                           headers=tokens["supervisor"])
    assert backwards.status_code == 422 and "until" in backwards.json()["detail"]["errors"]
    assert client.get("/api/insights/versions/999999/report",
                      headers=tokens["supervisor"]).status_code == 404
