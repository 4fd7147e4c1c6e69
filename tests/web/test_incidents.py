"""Incidents in the browser pages and the JSON API; signals and correlated messages by API."""
from __future__ import annotations

import pytest
from sqlmodel import Session

from cases.definitions import deploy_file
from tests.conftest import DATA, T0
from tests.web.conftest import csrf_from, sign_in

NEW_CASE = {"process_id": "script_process", "channel": "phone",
            "customer": {"name": "Ada Byrne", "account_number": "C-1001"}}


@pytest.fixture
def scripts(app):
    with Session(app.state.engine) as s:
        deploy_file(s, (DATA / "scripts.bpmn").read_bytes(), filename="scripts.bpmn",
                    actor="designer", now=T0, activate=True)


@pytest.fixture
def failed(client, tokens, scripts):
    """A case whose step ran into a failing script: the agent got a 409 naming the element."""
    case = client.post("/api/cases", json=NEW_CASE, headers=tokens["agent"]).json()
    item = case["work_items"][0]
    answer = client.post(f"/api/cases/{case['id']}/work-items/{item['id']}/complete",
                         json={"expected_version": case["row_version"],
                               "data": {"items": "not a list", "spin": False}},
                         headers=tokens["agent"])
    assert answer.status_code == 409, answer.text
    assert "Compute" in answer.json()["detail"]["message"]
    [incident] = client.get("/api/incidents", headers=tokens["supervisor"]).json()["data"]
    return case, incident


def test_the_api_lists_and_resolves_incidents_for_supervisors_only(client, tokens, failed):
    case, incident = failed
    assert (incident["case_id"], incident["element_id"], incident["source"]) == (
        case["id"], "Compute", "action")
    assert incident["retryable"] is False
    assert client.get("/api/incidents", headers=tokens["agent"]).status_code == 403
    retry = client.post(f"/api/incidents/{incident['id']}/retry", json={}, headers=tokens["supervisor"])
    assert retry.status_code == 409, "a person's action is done again by the person, not retried"
    empty = client.post(f"/api/incidents/{incident['id']}/resolve", json={"note": " "},
                        headers=tokens["supervisor"])
    assert empty.status_code in (400, 422) and "note" in str(empty.json()["detail"])
    done = client.post(f"/api/incidents/{incident['id']}/resolve",
                       json={"note": "Told the designer; the agent re-entered a list"},
                       headers=tokens["supervisor"])
    assert done.status_code == 200 and done.json()["state"] == "resolved"
    assert client.get("/api/incidents", headers=tokens["supervisor"]).json()["count"] == 0
    events = client.get(f"/api/cases/{case['id']}/events", headers=tokens["agent"]).json()
    assert [e["type"] for e in events["data"]][-2:] == ["incident_opened", "incident_resolved"]


def test_the_incidents_page_and_the_case_page(client, tokens, failed):
    case, incident = failed
    assert sign_in(client, "agent").status_code == 303
    assert client.get("/incidents").status_code == 403
    page = client.get(f"/cases/{case['id']}")
    assert "The process failed here" in page.text and "A supervisor has been told" in page.text
    client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert sign_in(client, "supervisor").status_code == 303
    listing = client.get("/incidents")
    assert listing.status_code == 200 and f"Incident {incident['id']} at Compute" in listing.text
    assert "Retry now" not in listing.text, "only jobs can be retried"
    token = csrf_from(listing.text)
    refused = client.post(f"/incidents/{incident['id']}/resolve",
                          data={"csrf_token": token, "note": ""})
    assert refused.status_code == 400 and "Say what was done" in refused.text
    resolved = client.post(f"/incidents/{incident['id']}/resolve",
                           data={"csrf_token": token, "note": "fixed"}, follow_redirects=False)
    assert resolved.status_code == 303
    assert "No incidents are open" in client.get("/incidents").text
    assert "resolved" in client.get("/incidents?state=resolved").text.lower()
    assert client.post(f"/incidents/{incident['id']}/resolve",
                       data={"note": "no token"}).status_code == 403


def test_signals_and_correlated_messages_by_api(client, tokens):
    assert client.post("/api/signals", json={"name": "mass_outage_cleared"},
                       headers=tokens["agent"]).status_code == 403
    sent = client.post("/api/signals", json={"name": "mass_outage_cleared", "payload": {"area": 4}},
                       headers=tokens["supervisor"])
    assert sent.status_code == 202 and sent.json() == {
        "signal": "mass_outage_cleared", "cases": [], "count": 0}
    lost = client.post("/api/messages", json={"name": "customer_replied",
                                              "correlation": {"order_id": "PO-1"}},
                       headers=tokens["agent"])
    assert lost.status_code == 404 and "No open case waits" in lost.json()["detail"]["message"]
    bad = client.post("/api/messages", json={"name": "x", "business_key": "abc"},
                      headers=tokens["agent"])
    assert bad.status_code in (400, 422)
