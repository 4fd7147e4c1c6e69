"""What GET-a-case and complete-a-step cost the database (statements counted, never timed):
bench/http.py measures the time; this keeps the count from creeping back up."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from tests.web.test_api import _open


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


def test_reading_a_case_writes_nothing_and_does_not_rebuild_the_workflow(app, client, tokens):
    case = _open(client, tokens)
    client.get(f"/api/cases/{case['id']}", headers=tokens["agent"])  # the token's use is noted
    with statements(app) as sent:
        got = client.get(f"/api/cases/{case['id']}", headers=tokens["agent"])
    assert got.status_code == 200
    assert [f["id"] for f in got.json()["work_items"][0]["form"]] == ["amount"]  # forms still there
    assert sent["commits"] == 0
    assert not [s for s in sent["sql"] if not s.startswith("SELECT")], sent["sql"]
    assert not [s for s in sent["sql"] if "workflow_instance" in s], "the workflow was loaded"
    assert len(sent["sql"]) <= 4, sent["sql"]  # token, case + version, work items, approvals


def test_completing_a_step_loads_the_workflow_once_and_commits_once(app, client, tokens):
    case = _open(client, tokens)
    item = case["work_items"][0]
    client.get(f"/api/cases/{case['id']}", headers=tokens["agent"])
    with statements(app) as sent:
        done = client.post(f"/api/cases/{case['id']}/work-items/{item['id']}/complete",
                           json={"expected_version": case["row_version"], "data": {"amount": 7}},
                           headers=tokens["agent"])
    assert done.status_code == 200, done.text
    assert [i["element_id"] for i in done.json()["work_items"]] == ["Check"]
    assert sent["commits"] == 1
    loads = [s for s in sent["sql"] if s.startswith("SELECT workflow_instance")]
    assert len(loads) == 1, sent["sql"]
    assert not [s for s in sent["sql"] if s.startswith("UPDATE api_token")]
    assert not [s for s in sent["sql"] if s.startswith("SELECT definition_version")], sent["sql"]
    assert len([s for s in sent["sql"] if s.startswith("UPDATE case_record")]) == 2  # lock, chain
    # This step also re-arms a timer job and a message subscription (4 statements); one INSERT per
    # table on PostgreSQL, where SQLite returns ids row by row (one per event and outbox row).
    # The case's search document (cases/search) is rebuilt before the commit: 3 more statements.
    assert len(sent["sql"]) <= 22, "\n".join(sent["sql"])
