"""Saved worklist filters: the service's pages and runs (SQLite and PostgreSQL) and the JSON API
(list, save, read, run, delete; a person's own filters only)."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from cases.case_service import open_case
from cases.errors import InvalidInput, NotFound
from cases.search import filters as saved
from cases.search.models import SavedFilter
from cases.worklist import worklist
from cases.users import User
from tests.conftest import T0
from tests.web.conftest import app, client, tokens  # noqa: F401  (fixtures)

from .test_pages import opened  # noqa: F401  (fixture)


def test_a_person_pages_and_runs_only_their_own_filters(session, install, people, customer):
    for name, query in (("b urgent", "view=team&priority=2"), ("a phone", "channel=phone"),
                        ("c web", "view=team&channel=web")):
        saved.save_filter(session, actor=people.ann, now=T0, name=name, query=query)
    bobs = saved.save_filter(session, actor=people.bob, now=T0, name="mine", query="view=mine")
    rows, total = saved.page_filters(session, actor=people.ann, limit=2, offset=0)
    assert ([r.name for r in rows], total) == (["a phone", "b urgent"], 3)
    rows, total = saved.page_filters(session, actor=people.ann, limit=2, offset=2)
    assert ([r.name for r in rows], total) == (["c web"], 3)
    with pytest.raises(NotFound):
        saved.get_filter(session, actor=people.ann, filter_id=bobs.id)
    with pytest.raises(NotFound):
        saved.delete_filter(session, actor=people.ann, filter_id=bobs.id)
    assert saved.get_filter(session, actor=people.bob, filter_id=bobs.id).name == "mine"

    for priority in (0, 2):
        open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                  process_id="install_service", channel="phone", priority=priority)
    [urgent] = [r for r in saved.list_filters(session, actor=people.ann) if r.name == "b urgent"]
    args = saved.worklist_args(urgent)
    assert args == {"view": "team", "process_id": None, "priority": 2, "channel": None,
                    "q": None}
    found = worklist(session, actor=people.ann, now=T0, **args)
    assert [e.case.priority for e in found] == [2]


@pytest.mark.parametrize("query, words", [("priority=high", "not a number"),
                                          ("view=everyone", "not one of"),
                                          ("channel=fax", "not one of")])
def test_a_filter_that_no_longer_makes_sense_is_refused_naming_the_query(session, people, query,
                                                                         words):
    row = SavedFilter(user_id=people.ann.id, name="old", query=query, created_at=T0)
    session.add(row)
    session.commit()
    with pytest.raises(InvalidInput, match=words) as err:
        saved.worklist_args(row)
    assert set(err.value.errors) == {"query"}


def test_saved_filters_through_the_api(app, client, tokens, opened):
    low, high = opened
    agent = tokens["agent"]
    made = client.post("/api/saved-filters", headers=agent,
                       json={"name": "Urgent", "query": "view=team&priority=2"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["filters"] == {"view": "team", "process": None, "priority": "2",
                               "channel": None, "q": None}
    again = client.post("/api/saved-filters", headers=agent,
                        json={"name": "Urgent", "query": "view=team&priority=2&channel=phone"})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert client.post("/api/saved-filters", headers=agent,
                       json={"name": "All", "query": "view=team"}).status_code == 201
    listed = client.get("/api/saved-filters", headers=agent, params={"limit": 1}).json()
    assert listed == {"items": [listed["items"][0]], "total": 2, "limit": 1, "offset": 0}
    assert listed["items"][0]["name"] == "All"

    run = client.get(f"/api/saved-filters/{body['id']}/work-items", headers=agent)
    assert run.status_code == 200, run.text
    assert run.json()["total"] == 1 and [i["case_id"] for i in run.json()["items"]] == [high]
    every = client.get(f"/api/saved-filters/{body['id'] + 1}/work-items", headers=agent).json()
    assert every["total"] == 2 and [i["case_id"] for i in every["items"]] == [high, low]

    bad = client.post("/api/saved-filters", headers=agent, json={"name": "x", "query": "sort=1"})
    assert bad.status_code == 422 and "query" in bad.json()["detail"]["errors"]
    blank = client.post("/api/saved-filters", headers=agent, json={"name": " ", "query": ""})
    assert blank.status_code == 422 and "name" in blank.json()["detail"]["errors"]
    assert client.get("/api/saved-filters", headers=tokens["designer"]).status_code == 403
    for method, tail in (("GET", ""), ("GET", "/work-items"), ("DELETE", "")):
        theirs = client.request(method, f"/api/saved-filters/{body['id']}{tail}",
                                headers=tokens["supervisor"])
        assert theirs.status_code == 404, (method, tail)
    assert client.get("/api/saved-filters", headers=tokens["supervisor"]).json()["total"] == 0

    gone = client.delete(f"/api/saved-filters/{body['id']}", headers=agent)
    assert gone.status_code == 200 and gone.json()["name"] == "Urgent"
    assert client.get(f"/api/saved-filters/{body['id']}", headers=agent).status_code == 404
    with Session(app.state.engine) as s:
        assert [r.name for r in s.exec(select(SavedFilter)).all()] == ["All"]
        agent_id = s.exec(select(User.id).where(User.username == "agent")).one()
        s.add(SavedFilter(user_id=agent_id, name="Stale", query="priority=high", created_at=T0))
        s.commit()
        stale = s.exec(select(SavedFilter.id).where(SavedFilter.name == "Stale")).one()
    refused = client.get(f"/api/saved-filters/{stale}/work-items", headers=agent)
    assert refused.status_code == 422 and "not a number" in refused.json()["detail"]["errors"][
        "query"]
