"""web/hot_routes.py answers GET a case and complete a step without FastAPI's routing: every
answer must be the one FastAPI's route gives. Two apps on two databases seeded alike, one with
the hot routes and one without, get the same requests; statuses, bodies and headers must match,
and the hot routes must really have answered (SQLite, and PostgreSQL when configured)."""
from __future__ import annotations

import re
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.api_tokens import issue_token
from cases.definitions import deploy_file
from cases.settings import Settings
from cases.users import User, create_user
from tests.conftest import DATA, DATABASES, T0, migrated_database
from web import hot_routes
from web.app import create_app
from web.hot_routes import HotRoutes

PASSWORD = "correct horse battery"
STAMP = re.compile(r'"\d{4}-\d\d-\d\dT[0-9:.+]+(Z|[+-]\d\d:\d\d)?"')
# The headers whose values are the request's own (the time, its id, the session's cookie).
OWN = {"date", "x-request-id", "set-cookie"}


def _app(url: str, hot: bool):
    app = create_app(Settings(database_url=url, secret_key="x" * 40))
    if not hot:  # before the first request builds the middleware stack
        app.user_middleware = [m for m in app.user_middleware if m.cls is not HotRoutes]
    with Session(app.state.engine, expire_on_commit=False) as s:
        deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                    actor="designer", now=T0, activate=True)
        for role in ("agent", "designer"):
            create_user(s, username=role, password=PASSWORD, role=role, now=T0,
                        teams=["Customer Care"])
        s.commit()
        headers = {}
        for user in s.exec(select(User).order_by(User.id)).all():
            _, secret = issue_token(s, user=user, name="twin", now=T0)
            headers[user.username] = {"Authorization": f"Bearer {secret}"}
    return app, headers


@pytest.fixture(params=DATABASES)
def twins(request, tmp_path):
    """(client, tokens) with the hot routes, and the same without them."""
    with ExitStack() as stack:
        pair = []
        for hot in (True, False):
            url = stack.enter_context(migrated_database(request.param,
                                                        tmp_path / ("hot" if hot else "plain")))
            app, headers = _app(url, hot)
            stack.callback(app.state.engine.dispose)
            pair.append((stack.enter_context(TestClient(app)), headers))
        yield pair


def _seen(answer) -> tuple:
    headers = {k: v for k, v in answer.headers.items() if k not in OWN}
    return answer.status_code, STAMP.sub('"<time>"', answer.text), headers


def test_every_answer_is_the_one_fastapi_gives(twins, monkeypatch):
    hot_calls = []
    real = hot_routes.api_call

    async def counted(request, *args):
        hot_calls.append(request.url.path)
        return await real(request, *args)

    monkeypatch.setattr(hot_routes, "api_call", counted)
    answers = []
    for client, tokens in twins:
        agent, seen = tokens["agent"], []
        opened = client.post("/api/cases", headers=agent, json={
            "process_id": "dev_process", "channel": "phone",
            "customer": {"name": "Ada Byrne", "account_number": "C-1001"}})
        assert opened.status_code == 201, opened.text
        case = opened.json()
        item, version = case["work_items"][0]["id"], case["row_version"]
        done = f"/api/cases/{case['id']}/work-items/{item}/complete"
        seen.append(client.get(f"/api/cases/{case['id']}", headers=agent))
        seen.append(client.get("/api/cases/999999", headers=agent))  # no such case: 404
        seen.append(client.get(f"/api/cases/{case['id']}",
                               headers={"Authorization": "Bearer cf_not_a_token"}))  # 401
        seen.append(client.get(f"/api/cases/{case['id']}"))  # nobody: 401
        seen.append(client.get(f"/api/cases/{case['id']}", headers=tokens["designer"]))  # 403
        seen.append(client.get("/api/cases/0", headers=agent))  # FastAPI's 422 (passed on)
        seen.append(client.get(f"/api/cases/0{case['id']}", headers=agent))  # leading zero
        seen.append(client.post(done, headers=agent, json={"expected_version": version + 5}))
        seen.append(client.post(f"/api/cases/{case['id']}/work-items/999999/complete",
                                headers=agent, json={"expected_version": version}))  # 404
        seen.append(client.post(done, headers=agent, json={}))  # no version: 422
        seen.append(client.post(done, headers=agent, json={"expected_version": version,
                                                           "extra": 1}))  # 422
        seen.append(client.post(done, headers=agent, json={"expected_version": "one"}))
        seen.append(client.post(done, headers={**agent, "Content-Type": "application/json"},
                                content=b"{not json"))
        seen.append(client.post(done, headers={**agent, "Content-Type": "text/plain"},
                                content=b'{"expected_version": 1}'))
        seen.append(client.post(done, headers=tokens["designer"],
                                json={"expected_version": version}))  # 403
        seen.append(client.post(done, headers=agent, json={"expected_version": version}))  # 200
        seen.append(client.post(done, headers=agent, json={"expected_version": version + 1}))
        seen.append(client.get(f"/api/cases/{case['id']}", headers=agent))
        answers.append([_seen(a) for a in seen])
    hot, plain = answers
    for number, (a, b) in enumerate(zip(hot, plain)):
        assert a == b, f"request {number} differs"
    statuses = [status for status, _, _ in hot]
    # (/api/cases/0 is refused as an unknown case; /api/cases/01 is case 1, as FastAPI reads it)
    assert statuses == [200, 404, 401, 401, 403, 404, 200, 409, 404, 422, 422, 422, 422, 422,
                        403, 200, 409, 200], statuses
    # The hot routes answered the well-formed requests (and passed the others on).
    assert len(hot_calls) == 11, hot_calls


def test_the_request_log_names_the_route(twins, caplog):
    (client, tokens), _ = twins
    with caplog.at_level("INFO", logger="caseflow.request"):
        assert client.get("/api/cases/424242", headers=tokens["agent"]).status_code == 404
    routes = [getattr(r, "route", None) for r in caplog.records]
    assert "/api/cases/{case_id}" in routes, routes
