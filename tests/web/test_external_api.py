"""External tasks over HTTP: the worker printed in the README runs against a real uvicorn server
and fetches, locks, completes, fails into an incident and throws a BPMN error the boundary catches;
stale workers get 409, bad bodies 422 naming the field, designers 403."""
from __future__ import annotations

import json
import re
import urllib.error

import httpx
import pytest
from sqlmodel import Session

from cases.api_tokens import issue_token
from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.users import create_user
from tests.browser.conftest import running_server
from tests.conftest import DATA, ROOT, T0

FILE = DATA / "external_tasks.bpmn"


def readme_worker() -> str:
    """The Python worker example of the README's external-task section, as printed there."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## External tasks"):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """A real server with three cases waiting at 'Provision the network'; tokens by role."""
    tokens: dict[str, str] = {}

    def setup(s: Session) -> None:
        deploy_file(s, FILE.read_bytes(), filename=FILE.name, actor="designer", now=T0,
                    activate=True)
        users = {role: create_user(s, username=role, password="worker pass 123 x", role=role,
                                   now=T0, teams=["Network Operations"])
                 for role in ("agent", "supervisor", "designer")}
        s.commit()
        for role, user in users.items():
            tokens[role] = issue_token(s, user=user, name=f"{role} robot", now=T0)[1]
        customer = create_customer(s, actor="agent", now=T0, name="Ada", account_number="C-7")
        for n in range(3):
            open_case(s, actor=users["agent"], now=T0, customer_id=customer.id,
                      process_id="external_tasks", channel="web", data={"order": n})

    with running_server(tmp_path_factory.mktemp("ext") / "caseflow.sqlite3", setup) as base:
        yield base + "/api", tokens


def worker_for(api, role="agent") -> dict:
    """Load the README's worker with this server's address and a token; return its namespace."""
    base, tokens = api
    namespace: dict = {}
    exec(compile(readme_worker(), "README.md", "exec"), namespace)
    namespace.update(BASE=base, TOKEN=tokens[role])
    return namespace


def refused(ns, path, body) -> tuple[int, dict]:
    with pytest.raises(urllib.error.HTTPError) as err:
        ns["call"](path, body)
    return err.value.code, json.loads(err.value.read())["detail"]


def test_the_readme_worker_completes_fails_and_throws_through_the_api(api):
    ns = worker_for(api)

    class PortsExhausted(Exception):
        pass

    outcomes = iter(["C-100", PortsExhausted("no free port"), RuntimeError("NMS timeout")])

    def provision(variables):
        assert "order" in variables
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    ns.update(provision=provision, PortsExhausted=PortsExhausted)
    tasks = ns["work_once"]("w-readme")
    assert len(tasks) == 3 and {t["topic"] for t in tasks} == {"network.provision"}
    listed = {t["id"]: t for t in ns["call"]("/external-tasks/fetch-and-lock", {
        "worker_id": "w-other", "max_tasks": 5,
        "topics": [{"name": "mail.send", "lock_duration_ms": 1000}]})}
    assert len(listed) == 1  # the completed case waits at its next topic
    [completed_case] = {t["case_id"] for t in listed.values()}
    assert tasks[0]["case_id"] == completed_case
    # the third task failed with retries left: fetchable again after the timeout, not now
    again = ns["call"]("/external-tasks/fetch-and-lock", {
        "worker_id": "w-other", "topics": [{"name": "network.provision",
                                            "lock_duration_ms": 1000}]})
    assert again == []
    events = _events(api, tasks[1]["case_id"])
    assert "external_task_bpmn_error" in events and "task_opened" in events


def _events(api, case_id) -> list[str]:
    base, tokens = api
    answer = httpx.get(f"{base}/cases/{case_id}/events",
                       headers={"Authorization": f"Bearer {tokens['supervisor']}"})
    return [e["type"] for e in answer.json()["data"]]


def test_a_failure_without_retries_is_an_incident_and_stale_workers_are_refused(api):
    ns = worker_for(api, "supervisor")
    base, tokens = api
    case = _open_one(api)
    [task] = [t for t in ns["call"]("/external-tasks/fetch-and-lock", {
        "worker_id": "w1", "max_tasks": 10,
        "topics": [{"name": "network.provision", "lock_duration_ms": 60_000}]})
        if t["case_id"] == case]
    status, detail = refused(ns, f"/external-tasks/{task['id']}/complete",
                             {"worker_id": "w2", "variables": {}})
    assert status == 409 and "does not hold the lock" in detail["message"]
    failed = ns["call"](f"/external-tasks/{task['id']}/failure", {
        "worker_id": "w1", "error_message": "NMS down", "retries": 0})
    assert failed["state"] == "incident" and failed["incident_id"]
    status, detail = refused(ns, f"/external-tasks/{task['id']}/complete",
                             {"worker_id": "w1", "variables": {}})
    assert status == 409
    incident = httpx.get(f"{base}/incidents/{failed['incident_id']}",
                         headers={"Authorization": f"Bearer {tokens['supervisor']}"}).json()
    assert incident["source"] == "external_task" and incident["retryable"]


def _open_one(api) -> int:
    base, tokens = api
    answer = httpx.post(f"{base}/cases", headers={"Authorization": f"Bearer {tokens['agent']}"},
                        json={"process_id": "external_tasks", "channel": "web",
                              "customer": {"name": "Bo", "account_number": "C-8"}})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_bad_bodies_name_the_field_and_designers_are_not_workers(api):
    ns = worker_for(api)
    status, detail = refused(ns, "/external-tasks/fetch-and-lock", {"worker_id": "w", "topics": []})
    assert status == 422 and "topics" in json.dumps(detail["errors"])
    status, detail = refused(ns, "/external-tasks/fetch-and-lock", {
        "worker_id": "w", "topics": [{"name": "x", "lock_duration_ms": 0}]})
    assert status == 422 and "lock_duration_ms" in json.dumps(detail["errors"])
    status, _ = refused(worker_for(api, "designer"), "/external-tasks/fetch-and-lock", {
        "worker_id": "w", "topics": [{"name": "x", "lock_duration_ms": 10}]})
    assert status == 403
    base, tokens = api
    answer = httpx.get(f"{base}/external-tasks", params={"topic": "network.provision"},
                       headers={"Authorization": f"Bearer {tokens['agent']}"}).json()
    assert answer["data"] and {t["topic"] for t in answer["data"]} == {"network.provision"}
    assert answer["count"] == len(answer["data"]) and "variables" not in answer["data"][0]
    # long polling with nothing to fetch answers an empty list once the wait is over
    assert ns["call"]("/external-tasks/fetch-and-lock", {
        "worker_id": "w", "topics": [{"name": "nothing.here", "lock_duration_ms": 10}],
        "async_response_timeout_ms": 300}) == []



def test_the_case_page_says_which_system_holds_the_step_and_how_it_went(app, client, tokens):
    """In-process app: the case page of a case waiting for a worker (signed-in agent)."""
    from tests.web.conftest import sign_in

    with Session(app.state.engine) as s:
        deploy_file(s, FILE.read_bytes(), filename=FILE.name, actor="designer", now=T0,
                    activate=True)
    case = client.post("/api/cases", headers=tokens["agent"], json={
        "process_id": "external_tasks", "channel": "web",
        "customer": {"name": "Ada", "account_number": "C-9"}}).json()
    assert case["work_items"] == []
    [task] = client.post("/api/external-tasks/fetch-and-lock", headers=tokens["agent"], json={
        "worker_id": "nms-7", "topics": [{"name": "network.provision",
                                          "lock_duration_ms": 600_000}]}).json()
    client.post(f"/api/external-tasks/{task['id']}/extend-lock", headers=tokens["agent"],
                json={"worker_id": "nms-7", "new_duration_ms": 3_600_000}).raise_for_status()
    assert sign_in(client).status_code == 303
    page = client.get(f"/cases/{case['id']}").text
    assert "Waiting for other systems" in page and "network.provision" in page
    assert "Locked by worker <code>nms-7</code>" in page
    client.post(f"/api/external-tasks/{task['id']}/failure", headers=tokens["agent"], json={
        "worker_id": "nms-7", "error_message": "NMS timeout", "retries": 2,
        "retry_timeout_ms": 60_000}).raise_for_status()
    page = client.get(f"/cases/{case['id']}").text
    assert "No worker holds it; it is tried again from" in page
    assert "1 failed attempt, 2 retries left; last error: NMS timeout" in page
