"""What GET-a-case and complete-a-step cost the database (statements counted, never timed):
bench/http.py measures the time; this keeps the count from creeping back up, on SQLite and on
PostgreSQL (with CASEFLOW_TEST_DATABASE_URL)."""
from __future__ import annotations

from contextlib import contextmanager
from itertools import count

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.api_tokens import issue_token
from cases.definitions import deploy_file
from cases.search.index import document
from cases.search.models import CaseSearch
from cases.settings import Settings
from cases.users import User, create_user
from tests.conftest import DATA, DATABASES, T0, migrated_database
from tests.web.test_api import NEW_CASE
from web.app import create_app


NUMBERS = count(1001)


@pytest.fixture(scope="module", params=DATABASES)
def app(request, tmp_path_factory):
    """One app per database with two processes: deviations.bpmn (a timer and a message on the
    way) and linear.bpmn (three user tasks in a row, like bench/http.py's process)."""
    with migrated_database(request.param, tmp_path_factory.mktemp("hot")) as url:
        app = create_app(Settings(database_url=url, secret_key="x" * 40))
        with Session(app.state.engine) as s:
            for name in ("deviations.bpmn", "linear.bpmn"):
                deploy_file(s, (DATA / name).read_bytes(), filename=name, actor="designer",
                            now=T0, activate=True)
            create_user(s, username="agent", password="correct horse battery", role="agent",
                        now=T0, teams=["Customer Care"])
            s.commit()
        yield app
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def tokens(app):
    with Session(app.state.engine, expire_on_commit=False) as s:
        agent = s.exec(select(User).where(User.username == "agent")).one()
        _, secret = issue_token(s, user=agent, name="hot path", now=T0)
    return {"agent": {"Authorization": f"Bearer {secret}"}}


def _open(client, tokens, process_id="dev_process") -> dict:
    customer = {"name": "Ada Byrne", "account_number": f"C-{next(NUMBERS)}"}
    answer = client.post("/api/cases", json={**NEW_CASE, "process_id": process_id,
                                             "customer": customer}, headers=tokens["agent"])
    assert answer.status_code == 201, answer.text
    client.get(f"/api/cases/{answer.json()['id']}", headers=tokens["agent"])  # token use noted
    return answer.json()


@contextmanager
def statements(app):
    """Collect the SQL statements and commits the app sends while the block runs."""
    sent = {"sql": [], "commits": 0}

    def on_sql(_conn, _cursor, statement, *_args):
        sent["sql"].append(" ".join(statement.split())[:60])

    def on_commit(_conn):
        sent["commits"] += 1

    sa.event.listen(app.state.engine, "before_cursor_execute", on_sql)
    sa.event.listen(app.state.engine, "commit", on_commit)
    try:
        yield sent
    finally:
        sa.event.remove(app.state.engine, "before_cursor_execute", on_sql)
        sa.event.remove(app.state.engine, "commit", on_commit)


def _kinds(sql: list[str]) -> list[str]:
    """Each statement as verb and table: 'SELECT work_item', 'UPDATE case_record', ..."""
    found = []
    for s in sql:
        words = s.replace(",", " ").split()
        if words[0] == "SELECT":
            table = words[1].split(".")[0]
        elif words[0] in ("INSERT", "DELETE"):
            table = words[2]
        else:
            table = words[1]
        found.append(f"{words[0]} {table}")
    return found


def _complete(client, tokens, case: dict, data: dict) -> dict:
    item = case["work_items"][0]
    done = client.post(f"/api/cases/{case['id']}/work-items/{item['id']}/complete",
                       json={"expected_version": case["row_version"], "data": data},
                       headers=tokens["agent"])
    assert done.status_code == 200, done.text
    return done.json()


def test_reading_a_case_writes_nothing_and_does_not_rebuild_the_workflow(app, client, tokens):
    case = _open(client, tokens)
    with statements(app) as sent:
        got = client.get(f"/api/cases/{case['id']}", headers=tokens["agent"])
    assert got.status_code == 200
    assert [f["id"] for f in got.json()["work_items"][0]["form"]] == ["amount"]  # forms still there
    # PostgreSQL: a transaction that only read commits rather than rolls back (see below)
    assert sent["commits"] == (app.state.engine.dialect.name == "postgresql")
    # The case's read counts its pending approval requests: with none, they are not read.
    assert _kinds(sent["sql"]) == ["SELECT api_token", "SELECT case_record", "SELECT work_item"], \
        sent["sql"]
    assert got.json()["pending_approvals"] == []


def test_reading_cases_keeps_the_connections_prepared_statements(app, client, tokens):
    """On PostgreSQL a GET's transaction ends in a COMMIT, not a ROLLBACK: on each ROLLBACK
    psycopg drops the connection's prepared statements (DEALLOCATE ALL), and the statements it
    prepares after five runs were parsed and planned anew on every request. (SQLite's driver
    opens no transaction to read, and there a GET commits nothing.)"""
    case = _open(client, tokens)
    with statements(app) as sent:
        for _ in range(8):
            assert client.get(f"/api/cases/{case['id']}", headers=tokens["agent"]).status_code \
                == 200
    assert not [sql for sql in sent["sql"] if not sql.startswith("SELECT")], sent["sql"]
    if app.state.engine.dialect.name != "postgresql":
        assert sent["commits"] == 0
        return
    assert sent["commits"] == 8
    for _ in range(6):  # a route on FastAPI's own session dependency (web.security.get_db)
        assert client.get("/api/cases?status=open", headers=tokens["agent"]).status_code == 200
    with app.state.engine.connect() as conn:  # the pool's one idle connection: the GETs' own
        prepared = [s for (s,) in conn.execute(sa.text(
            "SELECT statement FROM pg_prepared_statements")).all()]
    assert any("FROM case_record" in s and "row_version" in s for s in prepared), prepared
    assert any("ORDER BY case_record.opened_at DESC" in s for s in prepared), prepared


def test_completing_a_step_lists_the_cases_pending_approvals(app, client, tokens):
    """The lock counts the case's pending requests; on SQLite (whose RETURNING drops table
    names) the count once compared the requests' own ids with their case ids, so the answer
    left them out unless the two numbers happened to be equal."""
    for _ in range(3):  # request ids and case ids apart
        other = _open(client, tokens)
    case = _open(client, tokens)
    for asked in (other, case):
        waiting = client.post(f"/api/cases/{asked['id']}/deviations/cancel",
                              headers=tokens["agent"],
                              json={"expected_version": asked["row_version"],
                                    "reason_code": "customer_withdrew", "note": "Rang to cancel"})
        assert waiting.status_code == 202, waiting.text
    seen = waiting.json()["case"]
    done = _complete(client, tokens, seen, {"amount": 7})
    assert done["pending_approvals"] == seen["pending_approvals"] != []


def test_a_case_with_a_pending_approval_lists_it(app, client, tokens):
    case = _open(client, tokens)
    waiting = client.post(f"/api/cases/{case['id']}/deviations/cancel", headers=tokens["agent"],
                          json={"expected_version": case["row_version"],
                                "reason_code": "customer_withdrew", "note": "Rang to cancel"})
    assert waiting.status_code == 202, waiting.text
    with statements(app) as sent:
        got = client.get(f"/api/cases/{case['id']}", headers=tokens["agent"])
    assert [r["kind"] for r in got.json()["pending_approvals"]] == ["cancel"]
    assert got.json()["pending_approvals"] == waiting.json()["case"]["pending_approvals"]
    assert _kinds(sent["sql"]) == ["SELECT api_token", "SELECT case_record", "SELECT work_item",
                                   "SELECT approval_request"], sent["sql"]


# One transaction, one commit, the workflow loaded once and nothing read twice: the caller,
# the case (locked, with a count of its pending approvals), the workflow, the case's open items
# (the step, what the projection compares with and what the answer lists); then the writes: the
# step done (at once, not in the flush), the workflow, the new step, and in the one flush at
# commit the case's chain head, then the events and the outbox rows (one executemany each).
TEN = ["SELECT api_token", "UPDATE case_record", "SELECT workflow_instance", "SELECT work_item",
       "UPDATE work_item", "UPDATE workflow_instance", "INSERT work_item", "UPDATE case_record",
       "INSERT case_event", "INSERT outbox_event"]


def test_completing_a_plain_step_takes_ten_statements(app, client, tokens):
    case = _open(client, tokens, "linear")
    with statements(app) as sent:
        done = _complete(client, tokens, case, {})
    assert [i["element_id"] for i in done["work_items"]] == ["T2"]
    assert sent["commits"] == 1
    # No data changed, so the search document is left as it is; every event and every outbox
    # row of the action go in one INSERT each, on SQLite too.
    assert _kinds(sent["sql"]) == TEN, "\n".join(sent["sql"])


def test_completing_a_step_with_data_rewrites_only_the_documents_data(app, client, tokens):
    case = _open(client, tokens)
    with statements(app) as sent:
        done = _complete(client, tokens, case, {"amount": 7})
    assert [i["element_id"] for i in done["work_items"]] == ["Check"]
    assert done["pending_approvals"] == []
    assert sent["commits"] == 1
    # This step also re-arms a timer job and a message subscription (4 statements), and makes
    # any message thrown by another case for that name and still without a receiver due now
    # (cases/relay: 1 statement).
    assert _kinds(sent["sql"]) == TEN + ["SELECT job", "INSERT job", "DELETE subscription",
                                         "INSERT subscription", "UPDATE job",
                                         "UPDATE case_search"], \
        "\n".join(sent["sql"])
    with Session(app.state.engine) as s:  # the tail rewritten in place is the whole document
        stored = s.get(CaseSearch, case["id"])
        assert stored.body == document(s, case["id"]) and "\n7" in stored.body


def test_a_step_reads_its_loaded_state_again_only_without_a_digest(app, client, tokens,
                                                                   monkeypatch):
    """The search index compares the digest of the loaded state's data values (kept in its row)
    with the saved state's, whose values the save computed: no state is parsed for it again. A
    row written before digests were kept is read as before, and its changes still indexed."""
    from cases.search import index
    from engine.store import WorkflowInstance

    case = _open(client, tokens, "linear")  # (a new case's document is built whole)
    parsed = []
    real = index._data_values
    monkeypatch.setattr(index, "_data_values", lambda state: parsed.append(1) or real(state))
    case = _complete(client, tokens, case, {})
    assert parsed == []
    with Session(app.state.engine) as s:  # as if written before migration 0017
        instance_id = s.execute(sa.text("SELECT instance_id FROM case_record WHERE id = :id"),
                                {"id": case["id"]}).scalar_one()
        s.execute(sa.update(WorkflowInstance).where(WorkflowInstance.id == instance_id)
                  .values(data_digest=None))
        s.commit()
    _complete(client, tokens, case, {"note": "router swapped at the kerb"})
    assert parsed == [1]  # the loaded state, once
    with Session(app.state.engine) as s:
        stored = s.get(CaseSearch, case["id"])
        assert stored.body == document(s, case["id"]) and "router swapped" in stored.body
        assert s.get(WorkflowInstance, instance_id).data_digest is not None


def test_the_hot_routes_answer_the_bytes_fastapi_would_send_for_case_out(app, client, tokens):
    """GET a case and complete a step serialize their answer themselves (web/api.py
    case_answer): it must be CaseOut's own JSON, field for field and byte for byte."""
    from web.api_models import CaseOut

    case = _open(client, tokens)
    got = client.get(f"/api/cases/{case['id']}", headers=tokens["agent"])
    item = got.json()["work_items"][0]
    done = client.post(f"/api/cases/{case['id']}/work-items/{item['id']}/complete",
                       json={"expected_version": got.json()["row_version"], "data": {"amount": 7}},
                       headers=tokens["agent"])
    for answer in (got, done):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.content == CaseOut.model_validate_json(answer.content) \
            .model_dump_json(exclude_unset=True).encode()
    assert got.json()["work_items"][0]["form"][0]["id"] == "amount"
    assert done.json()["pending_approvals"] == [] and done.json()["work_items"]
