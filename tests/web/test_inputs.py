"""Hostile input to the JSON API is a 4xx naming the field, on SQLite and on PostgreSQL.

Each case here was a 500 once: NUL bytes and over-long text (PostgreSQL refuses them), ids and
offsets past the integer columns, naive or far-future datetimes, NaN and Infinity (the 422 itself
could not be written as JSON), lone surrogates, and a model script failing under a person's step.
"""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from cases.api_tokens import issue_token
from cases.definitions import deploy_file
from cases.settings import Settings
from cases.users import create_user
from tests.conftest import DATA, T0, fresh_sqlite
from web.app import create_app

NEW_CASE = {"process_id": "dev_process", "channel": "phone",
            "customer": {"name": "Ada Byrne", "account_number": "C-1001"}}
BIG = 2**63  # past SQLite's INTEGER
PG_BIG = 2**31  # past PostgreSQL's integer


@pytest.fixture
def api(db_url):
    """A client with an agent's API token, on a migrated SQLite file or PostgreSQL schema."""
    app = create_app(Settings(database_url=db_url, secret_key="x" * 40))
    with Session(app.state.engine, expire_on_commit=False) as s:
        for name in ("deviations.bpmn", "scripts.bpmn"):
            deploy_file(s, (DATA / name).read_bytes(), filename=name, actor="designer", now=T0,
                        activate=True)
        agent = create_user(s, username="agent", password="correct horse battery", role="agent",
                            now=T0, teams=["Customer Care"])
        s.commit()
        _, secret = issue_token(s, user=agent, name="CRM", now=T0)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        yield client
    app.state.engine.dispose()


@pytest.fixture
def case(api) -> dict:
    answer = api.post("/api/cases", json=NEW_CASE)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _raw(api, path: str, body: str):
    """Post a body as written (NaN, Infinity and lone surrogates are not JSON a client makes)."""
    return api.post(path, content=body.encode(), headers={"Content-Type": "application/json"})


def _refused(answer, status: int, field: str) -> str:
    """Assert a documented refusal naming `field`; return what it says about it."""
    assert answer.status_code == status, answer.text
    detail = json.loads(answer.content)["detail"]  # strict JSON: it must have been serializable
    assert set(detail) <= {"message", "errors", "submitted", "element_id"}, detail
    assert field in detail["errors"], detail
    return detail["errors"][field]


CASE_BODIES = [  # (what, body as JSON text, field named, words in the message)
    ("NUL in a customer's name",
     '{"process_id": "dev_process", "channel": "phone", '
     '"customer": {"name": "Ada\\u0000", "account_number": "C-2"}}', "customer.name", "NUL"),
    ("name longer than its column",
     json.dumps({**NEW_CASE, "customer": {"name": "A" * 256, "account_number": "C-3"}}),
     "customer.name", "255"),
    ("NUL in the process id", '{"process_id": "dev\\u0000", "channel": "phone", "customer_id": 1}',
     "process_id", "NUL"),
    ("customer id past PostgreSQL's integer",
     json.dumps({"process_id": "dev_process", "channel": "phone", "customer_id": PG_BIG}),
     "customer_id", "2147483647"),
    ("customer id past SQLite's integer",
     json.dumps({"process_id": "dev_process", "channel": "phone", "customer_id": BIG}),
     "customer_id", "2147483647"),
    ("naive first contact",
     '{"process_id": "dev_process", "channel": "phone", "customer_id": 1, '
     '"contacted_at": "2026-03-02T09:00:00"}', "contacted_at", "timezone"),
    ("first contact in the year 9999",
     '{"process_id": "dev_process", "channel": "phone", "customer_id": 1, '
     '"contacted_at": "9999-12-31T23:59:59Z"}', "contacted_at", "2200"),
    ("NaN priority", '{"process_id": "dev_process", "channel": "phone", "customer_id": 1, '
                     '"priority": NaN}', "priority", "finite"),
    ("NaN in case data", '{"process_id": "dev_process", "channel": "phone", "customer_id": 1, '
                         '"data": {"credit": {"limit": NaN}}}', "data", "credit.limit"),
    ("Infinity in case data", '{"process_id": "dev_process", "channel": "phone", '
                              '"customer_id": 1, "data": {"x": [1, -Infinity]}}', "data", "x[1]"),
    ("lone surrogate in case data", '{"process_id": "dev_process", "channel": "phone", '
                                    '"customer_id": 1, "data": {"x": "\\ud800"}}', "data",
                                    "surrogate"),
    ("lone surrogate in a data key", '{"process_id": "dev_process", "channel": "phone", '
                                     '"customer_id": 1, "data": {"\\udfff": 1}}', "data", "key"),
    ("NUL in case data", '{"process_id": "dev_process", "channel": "phone", "customer_id": 1, '
                         '"data": {"note": "a\\u0000b"}}', "data", "NUL"),
    ("lone surrogate in the process id",
     '{"process_id": "\\ud800", "channel": "phone", "customer_id": 1}', "process_id", ""),
    ("case data nested too deep",
     json.dumps({"process_id": "dev_process", "channel": "phone", "customer_id": 1,
                 "data": json.loads('{"a":' * 40 + "1" + "}" * 40)}), "data", "levels"),
    ("case data too large",
     json.dumps({"process_id": "dev_process", "channel": "phone", "customer_id": 1,
                 "data": {"items": list(range(20_000))}}), "data", "values"),
    ("not JSON at all", '{"process_id": ', "body", "JSON"),
]


@pytest.mark.parametrize("what, body, field, words", CASE_BODIES, ids=[c[0] for c in CASE_BODIES])
def test_opening_a_case_refuses_bad_input_naming_the_field(api, case, what, body, field, words):
    message = _refused(_raw(api, "/api/cases", body), 422, field)
    assert words in message
    assert api.get("/api/cases").json()["count"] == 1, "nothing was stored"


def test_ids_past_the_integer_columns_are_not_found(api, case):
    for big in (PG_BIG, BIG, 10**30):
        assert api.get(f"/api/cases/{big}").status_code == 404
        assert api.get(f"/api/cases/{big}/events").status_code == 404
        item_url = f"/api/cases/{case['id']}/work-items/{big}/complete"
        answer = api.post(item_url, json={"expected_version": 1, "data": {}})
        assert _refused(answer, 404, "item_id") == "No such id"
    assert _refused(api.get("/api/cases/0"), 404, "case_id")


@pytest.mark.parametrize("query, field", [
    (f"offset={BIG}", "offset"), (f"offset={PG_BIG}", "offset"),
    (f"customer_id={BIG}", "customer_id"),
    (f"customer_id={PG_BIG}", "customer_id"), ("status=open%00", "status"),
    ("process_id=" + "p" * 256, "process_id"), ("limit=NaN", "limit"), ("offset=-1", "offset"),
])
def test_list_queries_out_of_range_are_refused_by_name(api, case, query, field):
    _refused(api.get(f"/api/cases?{query}"), 422, field)


def test_worklist_queries_out_of_range_are_refused_by_name(api, case):
    _refused(api.get(f"/api/work-items?offset={BIG}"), 422, "offset")
    _refused(api.get("/api/work-items?view=mine%00"), 422, "view")


def test_step_data_refuses_nan_infinity_and_versions_past_the_column(api, case):
    item = case["work_items"][0]
    url = f"/api/cases/{case['id']}/work-items/{item['id']}/complete"
    v = case["row_version"]
    assert "amount" in _refused(_raw(api, url, f'{{"expected_version": {v}, "data": '
                                                '{"amount": NaN}}'), 422, "data")
    assert "amount" in _refused(_raw(api, url, f'{{"expected_version": {v}, "data": '
                                                '{"amount": Infinity}}'), 422, "data")
    for big in (PG_BIG, BIG):
        _refused(api.post(url, json={"expected_version": big, "data": {"amount": 1}}), 422,
                 "expected_version")
    text = api.post(url, json={"expected_version": v, "data": {"amount": "a\x00"}})
    assert text.status_code == 422 and "data" in text.json()["detail"]["errors"]
    form = api.post(url, json={"expected_version": v, "data": {"amount": "lots"}})
    assert _refused(form, 422, "amount") == "Enter a whole number", "the step's form still checks"
    assert api.get(f"/api/cases/{case['id']}").json()["row_version"] == v, "nothing was stored"


DEVIATIONS = [  # (kind, extra fields, field named)
    ("hold", {"note": "gone\x00"}, "note"),
    ("hold", {"note": "n" * 4001}, "note"),
    ("hold", {"reason_code": "r" * 65}, "reason_code"),
    ("add_task", {"title": "Call back", "team": "t" * 256}, "team"),
    ("add_task", {"title": "T" * 256}, "title"),
    ("extend_deadline", {"due_at": "9999-12-31T23:59:59Z"}, "due_at"),
    ("extend_deadline", {"due_at": "2026-03-09T09:00:00"}, "due_at"),
    ("extend_deadline", {"due_at": "1800-01-01T00:00:00Z"}, "due_at"),
    ("reassign", {"work_item_id": BIG, "team": "Billing"}, "work_item_id"),
    ("reassign", {"work_item_id": 1, "assignee_id": PG_BIG}, "assignee_id"),
    ("go_back", {"element_id": "Capture\x00"}, "element_id"),
]


@pytest.mark.parametrize("kind, fields, field", DEVIATIONS,
                         ids=[f"{k}-{f}" for k, _, f in DEVIATIONS])
def test_deviation_fields_are_refused_by_name(api, case, kind, fields, field):
    body = {"expected_version": case["row_version"], "reason_code": "customer_away",
            "note": "Customer asked", **fields}
    _refused(api.post(f"/api/cases/{case['id']}/deviations/{kind}", json=body), 422, field)
    assert api.get(f"/api/cases/{case['id']}").json()["row_version"] == case["row_version"]


def test_message_names_and_payloads_are_checked(api, case):
    url = f"/api/cases/{case['id']}/messages"
    _refused(api.post(url, json={"name": "payment_received\x00"}), 422, "name")
    assert "amount" in _refused(_raw(api, url, '{"name": "payment_received", '
                                               '"payload": {"amount": NaN}}'), 422, "payload")
    assert api.post(url, json={"name": "payment_received", "payload": {"amount": 1.5}}
                    ).status_code == 200


def test_a_failing_model_script_is_a_409_naming_the_element(api):
    opened = api.post("/api/cases", json={**NEW_CASE, "process_id": "script_process"})
    assert opened.status_code == 201, opened.text
    case = opened.json()
    item = case["work_items"][0]
    url = f"/api/cases/{case['id']}/work-items/{item['id']}/complete"
    # sum() of a text fails inside the model's script task "Compute", after the person's step
    failed = api.post(url, json={"expected_version": case["row_version"],
                                 "data": {"items": "not a list", "spin": False}})
    assert failed.status_code == 409, failed.text
    detail = failed.json()["detail"]
    assert detail["element_id"] == "Compute" and "Compute" in detail["message"]
    after = api.get(f"/api/cases/{case['id']}").json()
    assert [i["element_id"] for i in after["work_items"]] == ["Enter"], "the step is still open"
    events = [e["type"] for e in api.get(f"/api/cases/{case['id']}/events").json()["data"]]
    assert "task_completed" not in events, "nothing of the step was stored"


def test_a_script_failure_that_reaches_the_web_is_a_409_naming_the_element(tmp_path):
    """Whatever path lets engine.errors.ScriptFailed through, the answer is a 409, not a 500."""
    from engine.errors import ScriptFailed

    url = fresh_sqlite(tmp_path / 'script.sqlite3')
    app = create_app(Settings(database_url=url, secret_key="x" * 40))

    def fail():
        raise ScriptFailed("division by zero", element_id="Compute")

    app.add_api_route("/api/test/script", fail)
    app.add_api_route("/test/script", fail)
    with TestClient(app, raise_server_exceptions=False) as client:
        api = client.get("/api/test/script")
        page = client.get("/test/script")
    assert api.status_code == 409 and api.json()["detail"]["element_id"] == "Compute"
    assert "Compute" in api.json()["detail"]["message"]
    assert page.status_code == 409 and "Compute" in page.text and "<html" in page.text
    app.state.engine.dispose()
