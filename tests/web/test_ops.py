"""The operator's view of a running app: /api/health and /api/ready, /metrics, request ids in
answers, error pages, audit events and the request log. Real app, real SQLite file and
PostgreSQL, the real job executor; an unreachable database is a PostgreSQL address on port 1."""
from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from cases.api_tokens import issue_token
from cases.audit import check
from cases.definitions import deploy_file
from cases.events import CaseEvent
from cases.logs import JsonFormatter
from cases.settings import Settings
from cases.users import create_user
from tests.conftest import DATA, T0
from tests.web.conftest import PASSWORD, sign_in
from web.app import create_app

METRICS_TOKEN = "m" * 40
NEW_CASE = {"process_id": "dev_process", "channel": "phone",
            "customer": {"name": "Ada Byrne", "account_number": "C-1001"}}
UNREACHABLE = "postgresql://caseflow:hunter2@127.0.0.1:1/caseflow"


@pytest.fixture
def world(db_url):
    """The app on both databases: dev_process deployed, agent, supervisor, admin, their tokens."""
    app = create_app(Settings(database_url=db_url, secret_key="x" * 40,
                              metrics_token=METRICS_TOKEN))
    headers = {}
    with Session(app.state.engine, expire_on_commit=False) as s:
        deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                    actor="designer", now=T0, activate=True)
        for role in ("agent", "supervisor", "admin"):
            user = create_user(s, username=role, password=PASSWORD, role=role, now=T0,
                               teams=["Customer Care"])
            s.commit()
            _, secret = issue_token(s, user=user, name=f"{role} system", now=T0)
            headers[role] = {"Authorization": f"Bearer {secret}"}
    app.state.test_headers = headers
    yield app
    app.state.engine.dispose()


def _metrics(client, **headers) -> dict[tuple[str, tuple], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}",
                                             **headers})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def _value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# ---- probes ---------------------------------------------------------------------------------
def test_ready_checks_database_schema_and_the_job_executor(db_url):
    app = create_app(Settings(database_url=db_url, secret_key="x" * 40, run_jobs=True,
                              job_poll_seconds=60))
    with TestClient(app) as client:
        answer = client.get("/api/ready")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "ready" and body["failed"] == []
        assert body["checks"]["jobs"] == {"ok": True, "detail": "running"}
        assert body["checks"]["schema"]["ok"] and "at head" in body["checks"]["schema"]["detail"]
    # the lifespan ended: the executor of this process stopped
    stopped = TestClient(app).get("/api/ready")
    assert stopped.status_code == 503 and stopped.json()["failed"] == ["jobs"]
    app.state.engine.dispose()


def test_ready_without_jobs_in_this_process_says_where_they_run(db_url):
    app = create_app(Settings(database_url=db_url, secret_key="x" * 40, run_jobs=False))
    with TestClient(app) as client:
        jobs = client.get("/api/ready").json()["checks"]["jobs"]
    assert jobs["ok"] and "caseflow worker" in jobs["detail"]
    app.state.engine.dispose()


def test_requests_at_once_and_kept_connections_follow_the_pool_settings(db_url):
    """As many worker threads as the pool keeps connections: a burst waits for a thread rather
    than opening and closing a connection per extra request (PostgreSQL)."""
    from anyio import to_thread

    app = create_app(Settings(database_url=db_url, secret_key="x" * 40, run_jobs=False,
                              db_pool_size=3, db_pool_overflow=4))
    with TestClient(app) as client:
        threads = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
        assert client.get("/api/health").status_code == 200
    assert threads == 3
    if app.state.engine.dialect.name == "postgresql":
        assert (app.state.engine.pool.size(), app.state.engine.pool._max_overflow) == (3, 4)
    app.state.engine.dispose()


def test_an_unmigrated_database_is_not_ready_and_says_run_migrate(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                              secret_key="x" * 40))
    answer = TestClient(app).get("/api/ready")
    assert answer.status_code == 503
    assert answer.json()["failed"] == ["schema"]
    assert "no Caseflow tables" in answer.json()["checks"]["schema"]["detail"]
    assert "caseflow migrate" in answer.json()["checks"]["schema"]["detail"]
    app.state.engine.dispose()


def test_with_the_database_down_health_is_ok_and_ready_is_503():
    app = create_app(Settings(database_url=UNREACHABLE, secret_key="x" * 40))
    client = TestClient(app)
    assert client.get("/api/health").status_code == 200  # alive: touches no database
    answer = client.get("/api/ready")
    assert answer.status_code == 503
    assert answer.json()["failed"] == ["database", "schema"]
    assert "cannot reach the database" in answer.json()["checks"]["database"]["detail"]
    assert "hunter2" not in answer.text
    app.state.engine.dispose()


# ---- metrics --------------------------------------------------------------------------------
def test_metrics_are_for_the_metrics_token_and_admins_only(world):
    client = TestClient(world)
    headers = world.state.test_headers
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer " + "n" * 40}).status_code == 401
    assert client.get("/metrics", headers=headers["agent"]).status_code == 403
    assert client.get("/metrics", headers=headers["supervisor"]).status_code == 403
    assert client.get("/metrics", headers=headers["admin"]).status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
                      ).status_code == 200
    browser = TestClient(world)
    sign_in(browser, "admin")
    assert browser.get("/metrics").status_code == 200


def test_without_a_metrics_token_only_admins_read_metrics(tmp_path):
    from cases.db import upgrade

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, secret_key="x" * 40))
    answer = TestClient(app).get("/metrics", headers={"Authorization": "Bearer "})
    assert answer.status_code == 401
    app.state.engine.dispose()


def test_metrics_count_requests_by_route_template_and_actions_by_kind(world):
    client = TestClient(world)
    agent, supervisor = world.state.test_headers["agent"], world.state.test_headers["supervisor"]
    before = _metrics(client)
    case = client.post("/api/cases", json=NEW_CASE, headers=agent).json()
    [item] = case["work_items"]
    client.get(f"/api/cases/{case['id']}", headers=agent)
    client.get(f"/api/cases/{case['id'] + 1000}", headers=agent)  # a 404, same template
    done = client.post(f"/api/cases/{case['id']}/work-items/{item['id']}/complete",
                       json={"expected_version": case["row_version"], "data": {"amount": 7}},
                       headers=agent)
    assert done.status_code == 200, done.text
    hold = client.post(f"/api/cases/{case['id']}/deviations/hold",
                       json={"expected_version": done.json()["row_version"],
                             "reason_code": "customer_away", "note": "Customer abroad"},
                       headers=supervisor)
    after = _metrics(client)

    def grew(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    route = "/api/cases/{case_id}"
    assert grew("caseflow_http_requests_total", method="GET", route=route, status="200") == 1
    assert grew("caseflow_http_requests_total", method="GET", route=route, status="404") == 1
    assert grew("caseflow_http_request_duration_seconds_count", method="GET", route=route) == 2
    assert not [k for k in after if dict(k[1]).get("route", "").startswith("/api/cases/1")]
    assert grew("caseflow_case_events_total", type="case_opened") == 1
    assert grew("caseflow_case_events_total", type="task_completed") == 1
    assert hold.status_code == 200, hold.text
    assert grew("caseflow_deviations_total", kind="hold") == 1
    assert grew("caseflow_case_events_total", type="case_put_on_hold") == 1
    assert _value(after, "caseflow_db_pool_connections", state="in_use") >= 0
    assert ("caseflow_db_pool_size", ()) in after


def test_a_deviation_is_counted_once_it_committed(world):
    client = TestClient(world)
    agent, supervisor = world.state.test_headers["agent"], world.state.test_headers["supervisor"]
    case = client.post("/api/cases", json=NEW_CASE, headers=agent).json()
    before = _metrics(client)
    body = {"expected_version": case["row_version"], "reason_code": "customer_withdrew",
            "note": "Customer rang to cancel"}
    refused = client.post(f"/api/cases/{case['id']}/deviations/cancel",
                          json={**body, "expected_version": 999}, headers=supervisor)
    assert refused.status_code == 409
    done = client.post(f"/api/cases/{case['id']}/deviations/cancel", json=body, headers=supervisor)
    assert done.status_code == 200, done.text
    after = _metrics(client)
    assert (_value(after, "caseflow_deviations_total", kind="cancel")
            - _value(before, "caseflow_deviations_total", kind="cancel")) == 1


def test_metrics_read_the_job_queue_and_open_incidents_from_the_database(world):
    from cases.incidents.service import record_failure
    from cases.jobs import service as jobs

    client = TestClient(world)
    case = client.post("/api/cases", json=NEW_CASE, headers=world.state.test_headers["agent"]).json()
    with Session(world.state.engine) as s:
        jobs.ensure(s, kind="sla_sweep", key="overdue-sweep", due_at=T0, now=T0)
        s.commit()
        record_failure(s, case_id=case["id"], element_id="Check", source="timer",
                       error="ZeroDivisionError: division by zero", now=T0, job_id=None,
                       attempts=3)
    samples = _metrics(client)
    assert _value(samples, "caseflow_job_queue_depth") >= 1
    assert _value(samples, "caseflow_job_oldest_due_age_seconds") > 24 * 3600  # due since T0
    assert _value(samples, "caseflow_incidents_open") == 1


# ---- request ids and logs -------------------------------------------------------------------
def test_a_request_id_goes_back_onto_error_pages_and_into_the_audit_events(world):
    client = TestClient(world)
    agent = world.state.test_headers["agent"]
    answer = client.post("/api/cases", json=NEW_CASE, headers={**agent, "X-Request-ID": "crm-42"})
    assert answer.status_code == 201 and answer.headers["x-request-id"] == "crm-42"
    with Session(world.state.engine) as s:
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == answer.json()["id"])).all()
        assert events and {json.loads(e.details).get("request_id") for e in events} == {"crm-42"}
        assert check(s).findings == [], "the id is hashed into the chain like any detail"
    made_up = client.get("/no/such/page", headers={"X-Request-ID": "bad id\twith spaces"})
    request_id = made_up.headers["x-request-id"]
    assert made_up.status_code == 404 and request_id != "bad id\twith spaces"
    assert len(request_id) == 32 and f"Request id <code>{request_id}</code>" in made_up.text
    assert client.get("/api/health").headers["x-request-id"] != request_id


def test_an_unexpected_failure_is_a_500_naming_the_request_id_and_logged_under_it(world, caplog):
    def broken():
        raise RuntimeError("a bug")

    world.add_api_route("/broken-for-test", broken)
    caplog.set_level(logging.INFO)
    answer = TestClient(world, raise_server_exceptions=False).get(
        "/broken-for-test", headers={"X-Request-ID": "trace-500"})
    assert answer.status_code == 500 and answer.headers["x-request-id"] == "trace-500"
    assert "trace-500" in answer.text and "Something went wrong" in answer.text
    [failure] = [r for r in caplog.records if r.name == "caseflow.web"]
    assert failure.request_id == "trace-500" and failure.exc_info
    [line] = [r for r in caplog.records if r.name == "caseflow.request"]
    assert (line.status, line.request_id) == (500, "trace-500")


def test_one_json_log_line_per_request_with_route_status_duration_and_user(world, caplog):
    caplog.set_level(logging.INFO, logger="caseflow.request")
    client = TestClient(world)
    case = client.post("/api/cases", json=NEW_CASE, headers=world.state.test_headers["agent"])
    client.get(f"/api/cases/{case.json()['id']}", headers={
        **world.state.test_headers["agent"], "X-Request-ID": "look-1"})
    records = [r for r in caplog.records if r.name == "caseflow.request"]
    assert len(records) == 2
    line = json.loads(JsonFormatter().format(records[1]))
    assert line["request_id"] == "look-1" and line["level"] == "info"
    assert (line["method"], line["route"], line["status"], line["user"]) == (
        "GET", "/api/cases/{case_id}", 200, "agent")
    assert line["path"] == f"/api/cases/{case.json()['id']}"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["message"] == "GET /api/cases/{case_id} 200"


def test_the_app_logs_migrations_deploys_and_activations_at_info(tmp_path, caplog):
    from cases.db import upgrade
    from cases.definitions import activate

    caplog.set_level(logging.INFO, logger="caseflow")
    url = f"sqlite:///{tmp_path / 'logged.sqlite3'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, secret_key="x" * 40))
    with Session(app.state.engine, expire_on_commit=False) as s:
        first = deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                            actor="dana", now=T0, activate=False)
        activate(s, actor="dana", now=T0, definition_id=first.versions[0].id)
    app.state.engine.dispose()
    said = [(r.name, r.getMessage()) for r in caplog.records if r.name.startswith("caseflow")]
    assert any(name == "caseflow.db" and text.startswith("database schema upgraded from nothing")
               for name, text in said)
    assert ("caseflow.definitions",
            "deployed dev_process v1 from deviations.bpmn by dana: draft") in said
    assert ("caseflow.definitions", "activated dev_process v1 by dana") in said


CHILD = """
from fastapi.testclient import TestClient
from cases.settings import Settings
from web.app import create_app
app = create_app(Settings(database_url={url!r}, secret_key="x" * 40))
client = TestClient(app)
for _ in range({n}):
    assert client.get("/api/health").status_code == 200
"""


def test_with_a_multiprocess_folder_the_counts_of_all_workers_add_up(tmp_path, monkeypatch):
    """Several uvicorn workers share PROMETHEUS_MULTIPROC_DIR; any one answers for all."""
    import os
    import subprocess
    import sys

    from cases.db import upgrade
    from tests.conftest import ROOT

    url = f"sqlite:///{tmp_path / 'workers.sqlite3'}"
    upgrade(url)
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    for n in (3, 4):  # two worker processes, one after the other
        subprocess.run([sys.executable, "-c", CHILD.format(url=url, n=n)], env=env, cwd=ROOT,
                       check=True, timeout=300, capture_output=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    app = create_app(Settings(database_url=url, secret_key="x" * 40, metrics_token=METRICS_TOKEN))
    samples = _metrics(TestClient(app))
    assert _value(samples, "caseflow_http_requests_total", method="GET", route="/api/health",
                  status="200") == 7
    assert _value(samples, "caseflow_job_queue_depth") == 0  # read from the database as before
    app.state.engine.dispose()
