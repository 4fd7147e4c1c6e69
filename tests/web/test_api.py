"""The JSON API for integrators: bearer tokens, the same rules and refusals as the pages."""
from __future__ import annotations

from sqlmodel import Session, select

from cases.api_tokens import issue_token, revoke_token
from cases.users import User
from tests.conftest import T0
from tests.web.conftest import csrf_from, sign_in

NEW_CASE = {"process_id": "dev_process", "channel": "phone",
            "customer": {"name": "Ada Byrne", "account_number": "C-1001"}}


def _open(client, tokens, who="agent") -> dict:
    answer = client.post("/api/cases", json=NEW_CASE, headers=tokens[who])
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_without_a_valid_token_the_api_answers_401(client, app, tokens):
    assert client.get("/api/cases").status_code == 401
    bad = client.get("/api/cases", headers={"Authorization": "Bearer cft_not-a-token"})
    assert bad.status_code == 401 and "unknown or revoked" in bad.json()["detail"]["message"]
    with Session(app.state.engine, expire_on_commit=False) as s:
        agent = s.exec(select(User).where(User.username == "agent")).one()
        token, secret = issue_token(s, user=agent, name="old CRM link", now=T0)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/cases", headers=headers).status_code == 200
    with Session(app.state.engine) as s:
        revoke_token(s, token_id=token.id, now=T0)
    assert client.get("/api/cases", headers=headers).status_code == 401
    assert client.get("/api/cases", headers=tokens["agent"]).status_code == 200


def test_an_integrator_opens_a_case_and_completes_its_first_step(client, tokens):
    case = _open(client, tokens)
    assert (case["status"], case["process_id"], case["version"]) == ("open", "dev_process", 1)
    [item] = case["work_items"]
    assert item["element_id"] == "Capture"
    assert [f["id"] for f in item["form"]] == ["amount"]
    url = f"/api/cases/{case['id']}/work-items/{item['id']}/complete"
    bad = client.post(url, json={"expected_version": case["row_version"], "data": {"amount": "lots"}},
                      headers=tokens["agent"])
    assert bad.status_code == 422
    assert "amount" in bad.json()["detail"]["errors"]
    assert bad.json()["detail"]["submitted"] == {"amount": "lots"}
    unchanged = client.get(f"/api/cases/{case['id']}", headers=tokens["agent"]).json()
    assert unchanged["row_version"] == case["row_version"], "a refused step changes nothing"
    done = client.post(url, json={"expected_version": case["row_version"], "data": {"amount": 7}},
                       headers=tokens["agent"])
    assert done.status_code == 200, done.text
    assert [i["element_id"] for i in done.json()["work_items"]] == ["Check"]
    stale = client.post(url, json={"expected_version": case["row_version"], "data": {"amount": 8}},
                        headers=tokens["agent"])
    assert stale.status_code == 409 and stale.json()["detail"]["submitted"] == {"amount": 8}
    types = [e["type"] for e in client.get(f"/api/cases/{case['id']}/events",
                                           headers=tokens["agent"]).json()["data"]]
    assert types[:2] == ["case_opened", "task_opened"] and "task_completed" in types


def test_an_agents_cancel_waits_for_a_supervisor(client, tokens):
    case = _open(client, tokens)
    body = {"expected_version": case["row_version"], "reason_code": "customer_withdrew",
            "note": "Customer rang to cancel"}
    waiting = client.post(f"/api/cases/{case['id']}/deviations/cancel", json=body,
                          headers=tokens["agent"])
    assert waiting.status_code == 202, waiting.text
    assert waiting.json()["case"]["status"] == "open"
    assert waiting.json()["case"]["pending_approvals"][0]["kind"] == "cancel"
    version = waiting.json()["case"]["row_version"]
    done = client.post(f"/api/cases/{case['id']}/deviations/cancel",
                       json={**body, "expected_version": version}, headers=tokens["supervisor"])
    assert done.status_code == 200 and done.json()["status"] == "cancelled"


def test_deviation_fields_are_checked_per_kind(client, tokens):
    case = _open(client, tokens)
    base = {"expected_version": case["row_version"], "reason_code": "wrong_data_captured",
            "note": "Typo in the amount"}
    missing = client.post(f"/api/cases/{case['id']}/deviations/go_back", json=base,
                          headers=tokens["agent"])
    assert missing.status_code == 422 and "element_id" in missing.json()["detail"]["errors"]
    extra = client.post(f"/api/cases/{case['id']}/deviations/hold",
                        json={**base, "title": "x"}, headers=tokens["agent"])
    assert extra.status_code == 422 and "title" in extra.json()["detail"]["errors"]
    unknown = client.post(f"/api/cases/{case['id']}/deviations/teleport", json=base,
                          headers=tokens["agent"])
    assert unknown.status_code == 404


def test_messages_and_worklist(client, tokens):
    case = _open(client, tokens)
    wrong = client.post(f"/api/cases/{case['id']}/messages", json={"name": "parcel_arrived"},
                        headers=tokens["agent"])
    assert wrong.status_code == 422 and "payment_received" in wrong.json()["detail"]["message"]
    kept = client.post(f"/api/cases/{case['id']}/messages", json={"name": "payment_received"},
                       headers=tokens["agent"])
    assert kept.status_code == 200 and kept.json()["caught"] is False
    team = client.get("/api/work-items?view=team", headers=tokens["agent"]).json()["data"]
    assert [i["case_id"] for i in team] == [case["id"]]
    assert client.get("/api/work-items?view=everything", headers=tokens["agent"]).status_code == 422


def test_a_designer_does_not_work_cases(client, tokens):
    answer = client.post("/api/cases", json=NEW_CASE, headers=tokens["designer"])
    assert answer.status_code == 403
    assert client.get("/api/cases", headers=tokens["designer"]).status_code == 403


def test_a_bad_process_or_channel_stores_no_customer(client, tokens):
    for body, status in (({**NEW_CASE, "process_id": "nope"}, 404),
                         ({**NEW_CASE, "channel": "pigeon"}, 422)):
        assert client.post("/api/cases", json=body, headers=tokens["agent"]).status_code == status
    assert _open(client, tokens)["customer_id"] == 1, "the first stored customer is the good one"


def test_a_browser_session_needs_its_csrf_token_to_change_anything(client):
    assert sign_in(client).status_code == 303
    assert client.get("/api/cases").status_code == 200
    refused = client.post("/api/cases", json=NEW_CASE)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]["message"]
    token = csrf_from(client.get("/").text)
    assert client.post("/api/cases", json=NEW_CASE,
                       headers={"X-CSRF-Token": token}).status_code == 201


def test_a_migrated_cases_events_read_exactly_as_before(app, client, tokens):
    """History keeps the names it was written with: moving a case to a version that renames its
    steps changes nothing in how the past reads, through the API too."""
    from cases import version_migration as vm
    from cases.definitions import deploy_file
    from tests.conftest import DATA

    case = _open(client, tokens)
    [item] = case["work_items"]
    done = client.post(f"/api/cases/{case['id']}/work-items/{item['id']}/complete",
                       json={"expected_version": case["row_version"], "data": {"amount": 7}},
                       headers=tokens["agent"])
    assert done.status_code == 200, done.text
    url = f"/api/cases/{case['id']}/events"
    before = client.get(url, headers=tokens["agent"]).json()["data"]
    assert any("“Capture order”" in e["text"] for e in before)
    renamed = (DATA / "deviations.bpmn").read_text().replace('name="Capture order"',
                                                            'name="Capture the order (rev 2)"')
    with Session(app.state.engine, expire_on_commit=False) as s:
        designer = s.exec(select(User).where(User.username == "designer")).one()
        v2 = deploy_file(s, renamed.encode(), filename="deviations.bpmn", actor="designer",
                         now=T0).versions[0]
        [moved] = vm.migrate(s, actor=designer, now=T0, from_id=1, to_id=v2.id)
        assert moved.moved, moved.reason
    after = client.get(url, headers=tokens["agent"]).json()["data"]
    assert after[:len(before)] == before
    assert [e["type"] for e in after[len(before):]] == ["process_migrated"]
    assert not any("rev 2" in e["text"] for e in after)
