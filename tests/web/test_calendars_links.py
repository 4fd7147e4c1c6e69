"""The calendars admin page and API, and linking and reopening cases on the case page and API."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from cases.api_tokens import issue_token
from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.links.models import CaseLink
from cases.users import User, create_user
from tests.cases.test_case_service import resolve_install
from tests.conftest import BPMN_DIR, T0
from tests.web.conftest import PASSWORD, csrf_from, sign_in

GOOD = {"name": "Berlin office", "timezone": "Europe/Berlin", "country": "DE", "subdivision": "BE",
        **{f"{d}_open": "08:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        **{f"{d}_close": "18:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        "is_default": "on"}


@pytest.fixture
def admin(app):
    with Session(app.state.engine) as s:
        create_user(s, username="admin", password=PASSWORD, role="admin", now=T0)
        s.commit()


def _post(client, url, form):
    """Post a form with the CSRF token of the page it is on (the case page, or the calendars)."""
    page = ("/admin/calendars" if url.startswith("/admin/") else
            "/cases/" + url.split("/")[2] if url.startswith("/cases/") else url.rsplit("/", 1)[0])
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**form, "csrf_token": token}, follow_redirects=False)


def test_an_admin_keeps_calendars_and_tries_one_out(client, admin):
    sign_in(client, "admin")
    page = client.get("/admin/calendars")
    assert page.status_code == 200 and "No calendars yet" in page.text
    bad = _post(client, "/admin/calendars", {**GOOD, "timezone": "Europe/Atlantis",
                                             "wed_close": "07:00"})
    assert bad.status_code == 422
    assert "Unknown time zone" in bad.text and "Wednesday: closing time must be after" in bad.text
    assert 'value="Berlin office"' in bad.text, "what was typed is kept"
    done = _post(client, "/admin/calendars", GOOD)
    assert done.status_code == 303 and done.headers["location"] == "/admin/calendars"
    page = client.get("/admin/calendars")
    assert "Berlin office" in page.text and "default" in page.text
    assert "in the background (deadlines set by hand stay)" in page.text
    assert 'id="retime-pending"' in page.text, "the re-timing job waits for the executor"
    assert "Christmas Day" in page.text or "Neujahr" in page.text or "New Year" in page.text \
        or "Weihnachtstag" in page.text
    assigned = _post(client, "/admin/calendars/teams", {"team": "Customer Care", "calendar_id": ""})
    assert assigned.status_code == 303
    check = client.get("/admin/calendars/check", params={"start": "2026-12-04T18:00",
                                                          "duration": "PT24H"})
    assert check.status_code == 200
    assert "Mon 2026-12-07 18:00" in check.text and "Europe/Berlin" in check.text
    wrong = client.get("/admin/calendars/check", params={"start": "Friday", "duration": "soon"})
    assert wrong.status_code == 422 and "ISO-8601 duration" in wrong.text


def test_the_calendars_api(app, client, admin):
    with Session(app.state.engine) as s:
        user = s.exec(select(User).where(User.username == "admin")).one()
        _, secret = issue_token(s, user=user, name="ops", now=T0)
    auth = {"Authorization": f"Bearer {secret}"}
    body = {"name": "Dublin", "timezone": "Europe/Dublin", "country": "IE",
            "hours": {d: {"opens": "09:00", "closes": "17:30"} for d in ("mon", "tue", "wed")}}
    made = client.post("/api/calendars", json=body, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["hours"]["mon"] == {"opens": "09:00", "closes": "17:30"}
    refused = client.post("/api/calendars", json={**body, "name": "X", "hours": {"fry": {
        "opens": "09:00", "closes": "17:00"}}}, headers=auth)
    assert refused.status_code == 422 and "fry" in refused.json()["detail"]["errors"]["hours"]
    changed = client.put(f"/api/calendars/{made.json()['id']}", json={**body, "is_default": True},
                         headers=auth)
    assert changed.status_code == 200 and changed.json()["is_default"] is True
    team = client.put("/api/calendar-teams", json={"team": "Field Crew", "calendar_id":
                                                   made.json()["id"]}, headers=auth)
    assert team.status_code == 200
    listed = client.get("/api/calendars", headers=auth).json()
    assert listed["count"] == 1 and listed["data"][0]["teams"] == ["Field Crew"]
    assert client.delete(f"/api/calendars/{made.json()['id']}", headers=auth).status_code == 200
    assert client.get("/api/calendars", headers=auth).json()["count"] == 0


def _two_cases(app):
    with Session(app.state.engine, expire_on_commit=False) as s:
        agent = s.exec(select(User).where(User.username == "agent")).one()
        ids = []
        for n in (1, 2):
            customer = create_customer(s, actor="agent", now=T0, name=f"Customer {n}",
                                       account_number=f"C-{n}")
            ids.append(open_case(s, actor=agent, now=T0, customer_id=customer.id,
                                 process_id="dev_process", channel="phone").id)
    return ids


def test_linking_cases_on_the_case_page_shows_on_both(app, client):
    first, second = _two_cases(app)
    sign_in(client)
    bad = _post(client, f"/cases/{first}/links", {"other_case_id": str(first), "kind": "related",
                                                  "reason": "Same outage on the street"})
    assert bad.status_code == 422 and "cannot be linked to itself" in bad.text
    assert "Same outage on the street" in bad.text, "the reason typed is kept"
    done = _post(client, f"/cases/{first}/links", {"other_case_id": f"#{second}",
                                                   "kind": "duplicate", "reason": "Rang twice"})
    assert done.status_code == 303
    assert f"Duplicate of <a href=\"/cases/{second}\">case {second}</a>" in client.get(
        f"/cases/{first}").text
    other = client.get(f"/cases/{second}").text
    assert f"Has a duplicate: <a href=\"/cases/{first}\">case {first}</a>" in other
    assert "Rang twice" in other


def test_links_and_reopen_through_the_api(app, client, tokens):
    first, second = _two_cases(app)
    made = client.post(f"/api/cases/{first}/links", headers=tokens["agent"],
                       json={"other_case_id": second, "kind": "parent", "reason": "Area outage"})
    assert made.status_code == 201 and made.json()["data"][0]["words"] == "Parent of"
    seen = client.get(f"/api/cases/{second}/links", headers=tokens["agent"]).json()
    assert seen["data"][0]["words"] == "Child of" and seen["data"][0]["outgoing"] is False
    again = client.post(f"/api/cases/{second}/links", headers=tokens["agent"],
                        json={"other_case_id": first, "kind": "related", "reason": "x"})
    assert again.status_code == 422 and "already linked" in again.json()["detail"]["errors"][
        "other_case_id"]
    not_resolved = client.post(f"/api/cases/{first}/reopen", headers=tokens["agent"],
                               json={"expected_version": 1, "element_id": "Capture",
                                     "reason_code": "customer_other", "note": "Again"})
    assert not_resolved.status_code == 409
    assert "Only a resolved case" in not_resolved.json()["detail"]["message"]
    with Session(app.state.engine) as s:
        assert len(s.exec(select(CaseLink)).all()) == 1


def test_reopening_a_resolved_case_on_the_case_page(app, client):
    with Session(app.state.engine, expire_on_commit=False) as s:
        path = BPMN_DIR / "install_service.bpmn"
        deploy_file(s, path.read_bytes(), filename=path.name, actor="designer", now=T0,
                    activate=True)
        boss = s.exec(select(User).where(User.username == "supervisor")).one()
        customer = create_customer(s, actor="agent", now=T0, name="Ada", account_number="C-9")
        case = open_case(s, actor=boss, now=T0, customer_id=customer.id,
                         process_id="install_service", channel="phone")
        case, _ = resolve_install(s, case, actor_for=lambda item: boss, start=T0,
                                  step=timedelta(minutes=5))
    assert case.status == "resolved"
    sign_in(client)
    page = client.get(f"/cases/{case.id}").text
    assert "Reopen the case" in page
    refused = _post(client, f"/cases/{case.id}/reopen", {
        "expected_version": str(case.row_version), "element_id": "Task_ConfirmWorking",
        "reason_code": "", "note": "Line drops every evening"})
    assert refused.status_code == 422 and "Line drops every evening" in refused.text
    done = _post(client, f"/cases/{case.id}/reopen", {
        "expected_version": str(case.row_version), "element_id": "Task_ConfirmWorking",
        "reason_code": "customer_gave_new_information", "note": "Line drops every evening"})
    assert done.status_code == 303
    page = client.get(f"/cases/{case.id}").text
    assert "Case reopened." in page and "reopened the case at" in page
    assert "Confirm the service works" in page or "Task_ConfirmWorking" in page or "Confirm" in page


def test_a_link_is_removed_on_the_case_page_with_a_reason(app, client):
    first, second = _two_cases(app)
    sign_in(client)
    assert _post(client, f"/cases/{first}/links", {"other_case_id": str(second),
                                                   "kind": "duplicate",
                                                   "reason": "Rang twice"}).status_code == 303
    with Session(app.state.engine) as s:
        link_id = s.exec(select(CaseLink.id)).one()
    page = client.get(f"/cases/{second}").text
    assert f'action="/cases/{second}/links/{link_id}/delete"' in page
    no_token = client.post(f"/cases/{second}/links/{link_id}/delete",
                           data={"reason": "Typo"}, follow_redirects=False)
    assert no_token.status_code == 403
    refused = _post(client, f"/cases/{second}/links/{link_id}/delete", {"reason": "  "})
    assert refused.status_code == 422 and "Say why the link goes" in refused.text
    assert f'id="unlink-{link_id}" open' in refused.text, "the refused form stays open"
    done = _post(client, f"/cases/{second}/links/{link_id}/delete",
                 {"reason": "Typed the wrong case number"})
    assert done.status_code == 303 and done.headers["location"] == f"/cases/{second}#links-h"
    for case_id in (first, second):
        page = client.get(f"/cases/{case_id}").text
        assert "No linked cases." in page
        assert "removed the link" in page and "Typed the wrong case number" in page
    with Session(app.state.engine) as s:
        assert s.exec(select(CaseLink)).all() == []


def test_links_are_removed_through_the_api_but_not_the_ones_caseflow_made(app, client, tokens):
    first, second = _two_cases(app)
    made = client.post(f"/api/cases/{first}/links", headers=tokens["agent"],
                       json={"other_case_id": second, "kind": "parent", "reason": "Area outage"})
    [link] = made.json()["data"]
    assert link["removable"] is True
    url = f"/api/cases/{second}/links/{link['id']}"
    assert client.delete(url, headers=tokens["designer"]).status_code == 403
    blank = client.delete(url, headers=tokens["agent"])
    assert blank.status_code == 422 and "reason" in blank.json()["detail"]["errors"]
    gone = client.delete(url, headers=tokens["agent"], params={"reason": "Different area"})
    assert gone.status_code == 200 and gone.json() == {"data": [], "count": 0}
    assert client.delete(url, headers=tokens["agent"],
                         params={"reason": "again"}).status_code == 404
    with Session(app.state.engine) as s:  # the system's link: a message's case, say
        s.add(CaseLink(case_id=first, other_case_id=second, kind="parent",
                       reason="Its message 'outage' opened the case", created_by="system",
                       created_at=T0))
        s.commit()
        system_id = s.exec(select(CaseLink.id)).one()
    [seen] = client.get(f"/api/cases/{first}/links", headers=tokens["supervisor"]).json()["data"]
    assert seen["removable"] is False
    refused = client.delete(f"/api/cases/{first}/links/{system_id}", headers=tokens["supervisor"],
                            params={"reason": "Not related"})
    assert refused.status_code == 409 and "Caseflow made this link" in refused.json()[
        "detail"]["message"]
