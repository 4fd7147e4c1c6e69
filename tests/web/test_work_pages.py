"""The agent's workspace through FastAPI's TestClient on a real SQLite file: pages, fragments, refusals."""
from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.case_models import Case, WorkItem
from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.events import CaseEvent
from cases.reason_codes import sync_reason_codes
from cases.settings import Settings
from cases.users import create_user
from engine.clock import utcnow
from tests.conftest import BPMN_DIR, fresh_sqlite
from web.app import create_app

PASSWORD = "correct horse battery"


@dataclass
class World:
    app: object
    case_id: int
    customer_id: int

    def session(self) -> Session:
        return Session(self.app.state.engine, expire_on_commit=False)

    def items(self, case_id: int | None = None, state: str = "open") -> list[WorkItem]:
        with self.session() as s:
            return list(s.exec(select(WorkItem).where(WorkItem.case_id == (case_id or self.case_id),
                                                      WorkItem.state == state)
                               .order_by(WorkItem.id)).all())

    def case(self) -> Case:
        with self.session() as s:
            return s.get(Case, self.case_id)

    def events(self) -> list[str]:
        with self.session() as s:
            return [e.type for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == self.case_id)
                                           .order_by(CaseEvent.seq)).all()]


@pytest.fixture
def world(tmp_path) -> World:
    url = fresh_sqlite(tmp_path / 'work.sqlite3')
    app = create_app(Settings(database_url=url, secret_key="w" * 40))
    now = utcnow()
    with Session(app.state.engine, expire_on_commit=False) as s:
        path = BPMN_DIR / "install_service.bpmn"
        deploy_file(s, path.read_bytes(), filename=path.name, actor="designer", now=now, activate=True)
        sync_reason_codes(s)
        agent = create_user(s, username="agent", password=PASSWORD, role="agent", now=now,
                            display_name="Ann Agent", teams=["Customer Care"])
        create_user(s, username="field", password=PASSWORD, role="agent", now=now,
                    display_name="Fran Field", teams=["Field Operations"])
        create_user(s, username="designer", password=PASSWORD, role="designer", now=now)
        create_user(s, username="supervisor", password=PASSWORD, role="supervisor", now=now,
                    display_name="Sam Supervisor", teams=["Customer Care"])
        s.commit()
        customer = create_customer(s, actor="agent", now=now, name="Ada Byrne",
                                   account_number="C-1001", phone="+353 1 555 0101")
        case = open_case(s, actor=agent, now=now, customer_id=customer.id,
                         process_id="install_service", channel="phone",
                         contacted_at=now - timedelta(hours=1))
        world = World(app, case.id, customer.id)
    yield world
    app.state.engine.dispose()


@pytest.fixture
def client(world):
    with TestClient(world.app) as c:
        yield c


def token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, username="agent") -> str:
    csrf = token(client.get("/login").text)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf,
                                    "next": "/"}, follow_redirects=False)
    assert r.status_code == 303
    return token(client.get("/").text)  # signing in starts a new session with a new token


def hx(csrf: str | None = None) -> dict:
    headers = {"HX-Request": "true"}
    if csrf:
        headers["X-CSRF-Token"] = csrf
    return headers


def section(html: str, start: str, end: str = "</details>") -> str:
    i = html.index(start)
    return html[i:html.index(end, i)]


# ---- worklist ------------------------------------------------------------------------------------


def test_worklist_whole_page_and_fragment(client, world):
    sign_in(client)
    page = client.get("/work?view=unassigned")
    assert page.status_code == 200
    assert "<html" in page.text and "Capture order" in page.text
    assert 'id="count-unassigned">1<' in page.text
    fragment = client.get("/work?view=unassigned", headers=hx())
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "Capture order" in fragment.text
    assert 'aria-current="page" class="tab active"' in fragment.text
    mine = client.get("/work?view=mine", headers=hx())
    assert "Capture order" not in mine.text and "Nothing here" in mine.text


@pytest.mark.parametrize("query, message", [
    ("view=everything", "Unknown worklist"), ("priority=high", "Priority must be one of"),
    ("channel=fax", "Channel must be one of"), ("page=0", "Page numbers run from 1")])
def test_worklist_refuses_bad_parameters_with_a_message(client, world, query, message):
    sign_in(client)
    r = client.get(f"/work?{query}")
    assert r.status_code == 400
    assert message in r.text


def test_worklist_filters_by_process_priority_and_channel(client, world):
    sign_in(client)
    assert "Capture order" in client.get("/work?view=team&process=install_service&channel=phone"
                                         "&priority=0").text
    for query in ("process=complaint", "channel=web", "priority=2"):
        r = client.get(f"/work?view=team&{query}")
        assert r.status_code == 200
        assert "Capture order" not in r.text and "with these filters" in r.text


def test_claim_with_htmx_swaps_the_row_and_updates_the_counts(client, world):
    csrf = sign_in(client)
    item = world.items()[0]
    r = client.post(f"/work/items/{item.id}/claim", headers=hx(csrf),
                    data={"back": "/work?view=unassigned"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith(f'<tr id="item-{item.id}"')
    assert ">You<" in r.text
    assert 'id="count-mine" hx-swap-oob="true">1<' in r.text
    assert 'id="count-unassigned" hx-swap-oob="true">0<' in r.text
    with world.session() as s:
        assert s.get(WorkItem, item.id).assignee_id is not None


def test_claim_without_javascript_redirects_back(client, world):
    csrf = sign_in(client)
    item = world.items()[0]
    r = client.post(f"/work/items/{item.id}/claim", follow_redirects=False,
                    data={"csrf_token": csrf, "back": "/work?view=mine"})
    assert r.status_code == 303 and r.headers["location"] == "/work?view=mine"
    r = client.post(f"/work/items/{item.id}/release", follow_redirects=False,
                    data={"csrf_token": csrf, "back": "https://evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/work"


def test_claiming_an_item_someone_holds_is_a_conflict_with_their_name(client, world):
    other = TestClient(world.app)
    other_csrf = sign_in(other, "supervisor")
    item = world.items()[0]
    assert other.post(f"/work/items/{item.id}/claim", headers=hx(other_csrf)).status_code == 200
    csrf = sign_in(client)
    r = client.post(f"/work/items/{item.id}/claim", headers=hx(csrf))
    assert r.status_code == 409
    assert "already claimed by Sam Supervisor" in r.text
    r = client.post(f"/work/items/{item.id}/claim", data={"csrf_token": csrf})
    assert r.status_code == 409 and "already claimed by Sam Supervisor" in r.text


# ---- the case page -------------------------------------------------------------------------------


def test_case_page_shows_customer_process_promise_diagram_and_form(client, world):
    sign_in(client)
    r = client.get(f"/cases/{world.case_id}")
    assert r.status_code == 200
    html = htmllib.unescape(r.text)
    assert "Install service" in html and "v1" in html and "Ada Byrne" in html
    assert "Promised to the customer" in html and "d 22 h left" in html  # P10D from 1 h ago
    assert f'data-bpmn-url="/cases/{world.case_id}/diagram.bpmn"' in html
    assert '"Task_CaptureOrder": ["current"]' in html
    assert 'name="customer_id"' in html and "(required)" in html
    product = section(html, 'name="product"', "</select>")
    assert 'value="fibre_broadband"' in product and "Fibre broadband" in product
    assert "Ann Agent opened the case (by phone)" in html


def test_diagram_xml_is_readable_by_any_signed_in_user(client, world):
    sign_in(client, "designer")
    r = client.get(f"/cases/{world.case_id}/diagram.bpmn")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert 'id="Task_CaptureOrder"' in r.text
    assert client.get("/cases/999/diagram.bpmn").status_code == 404


def _complete(client, world, csrf, item, data, version=None):
    version = world.case().row_version if version is None else version
    return client.post(f"/cases/{world.case_id}/items/{item.id}/complete", follow_redirects=False,
                       data={"csrf_token": csrf, "expected_version": str(version), **data})


CAPTURE = {"customer_id": "C-1001", "product": "fibre_broadband",
           "installation_address": "1 Main Street", "contact_phone": "+353 1 555 0101"}


def test_refused_form_comes_back_with_field_errors_and_typed_values(client, world):
    csrf = sign_in(client)
    item = world.items()[0]
    r = _complete(client, world, csrf, item, {**CAPTURE, "customer_id": "",
                                              "requested_date": "not a date"})
    assert r.status_code == 400
    assert "Some fields need attention; nothing was saved." in r.text
    field = section(r.text, f'id="i{item.id}-customer_id"', "</div>")
    assert 'aria-invalid="true"' in field and "This field is required" in field
    assert 'value="1 Main Street"' in r.text
    assert 'value="fibre_broadband" selected' in r.text
    assert [i.id for i in world.items()] == [item.id], "nothing was saved"


def test_stale_form_is_a_conflict_that_keeps_the_typed_values(client, world):
    csrf = sign_in(client)
    item = world.items()[0]
    r = _complete(client, world, csrf, item, CAPTURE, version=world.case().row_version - 1)
    assert r.status_code == 409
    assert "Someone else changed this case meanwhile" in r.text
    assert 'value="1 Main Street"' in r.text


def test_completing_a_step_opens_the_next(client, world):
    csrf = sign_in(client)
    item = world.items()[0]
    r = _complete(client, world, csrf, item, CAPTURE)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{world.case_id}"
    page = htmllib.unescape(client.get(r.headers["location"]).text)
    assert "Step completed." in page
    assert [i.element_id for i in world.items()] == ["Task_CheckEligibility"]
    assert "Ann Agent completed “Capture order”" in page
    assert '"Task_CaptureOrder": ["done"]' in page


def test_form_post_without_the_case_version_is_refused(client, world):
    csrf = sign_in(client)
    item = world.items()[0]
    r = client.post(f"/cases/{world.case_id}/items/{item.id}/complete",
                    data={"csrf_token": csrf, **CAPTURE})
    assert r.status_code == 400 and "lacks the case version" in r.text


def test_claim_and_release_on_the_case_page(client, world):
    csrf = sign_in(client)
    item = world.items()[0]
    r = client.post(f"/cases/{world.case_id}/items/{item.id}/claim", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert "The step is yours." in client.get(f"/cases/{world.case_id}").text
    r = client.post(f"/cases/{world.case_id}/items/{item.id}/release", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert world.items()[0].assignee_id is None
    assert client.post(f"/cases/{world.case_id}/items/999/claim",
                       data={"csrf_token": csrf}).status_code == 404


def test_notes_are_required_and_land_in_the_timeline(client, world):
    csrf = sign_in(client)
    r = client.post(f"/cases/{world.case_id}/notes", data={"csrf_token": csrf, "text": "   "})
    assert r.status_code == 400 and "Write the note first" in r.text
    r = client.post(f"/cases/{world.case_id}/notes", data={"csrf_token": csrf,
                                                             "text": "Prefers calls after 5pm"})
    assert r.status_code == 200  # followed the redirect
    assert "Ann Agent added a note: Prefers calls after 5pm" in r.text
    assert world.events()[-1] == "note_added"


# ---- deviations ----------------------------------------------------------------------------------


def _deviate(client, world, csrf, kind, **data):
    return client.post(f"/cases/{world.case_id}/deviations/{kind}", follow_redirects=False,
                       data={"csrf_token": csrf, "expected_version": str(world.case().row_version),
                             **data})


def test_reason_select_offers_only_codes_for_that_kind_and_process(client, world):
    sign_in(client)
    html = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    skip = section(html, 'id="dialog-skip"')
    assert 'value="customer_already_confirmed"' in skip
    assert 'value="customer_not_at_home"' not in skip  # a go-back / hold reason
    go_back = section(html, 'id="dialog-go_back"')
    assert 'value="customer_not_at_home"' in go_back
    assert "Request cancellation (needs a supervisor's approval)" in html


def test_deviation_without_reason_or_note_is_refused_with_the_input_kept(client, world):
    csrf = sign_in(client)
    item = world.items()[0]
    r = _deviate(client, world, csrf, "skip", work_item_id=str(item.id), reason_code="",
                 note="Typed note")
    assert r.status_code == 400
    dialog = section(r.text, 'id="dialog-skip"')
    assert " open>" in dialog.split("\n")[0]
    assert "Choose a reason for this change" in dialog and "Typed note" in dialog
    r = _deviate(client, world, csrf, "skip", work_item_id=str(item.id),
                 reason_code="customer_not_at_home", note="Typed note")
    assert r.status_code == 400 and "is not a reason to skip" in r.text
    assert world.items()[0].id == item.id
    assert _deviate(client, world, csrf, "teleport", reason_code="x", note="y").status_code == 404


def test_skip_then_go_back_show_in_the_timeline_and_markers(client, world):
    csrf = sign_in(client)
    _complete(client, world, csrf, world.items()[0], CAPTURE)
    check = world.items()[0]
    r = _deviate(client, world, csrf, "skip", work_item_id=str(check.id),
                 reason_code="customer_already_confirmed", note="Checked on the first call",
                 **{f"skip-{check.id}-address_serviceable": "true",
                    f"skip-{check.id}-credit_result": "passed"})
    assert r.status_code == 303
    assert [i.element_id for i in world.items()] == ["Task_AgreeAppointment"]  # never the decline
    page = client.get(f"/cases/{world.case_id}").text
    assert ("Ann Agent skipped “Check eligibility and credit” — reason: Customer already confirmed "
            "this in an earlier contact (customer driven): Checked on the first call") in page
    go_back = section(page, 'id="go_back-step"', "</select>")
    assert 'value="Task_CheckEligibility"' in go_back and 'value="Task_CaptureOrder"' in go_back
    r = _deviate(client, world, csrf, "go_back", element_id="Task_CheckEligibility",
                 reason_code="customer_gave_new_information", note="Moved house")
    assert r.status_code == 303
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    assert "Ann Agent went back to “Check eligibility and credit” — reason: Customer gave new" in page
    assert '"Task_CheckEligibility": ["current", "deviated"]' in page


def test_go_back_to_a_step_never_done_is_a_400(client, world):
    csrf = sign_in(client)
    r = _deviate(client, world, csrf, "go_back", element_id="Task_ActivationTest",
                 reason_code="customer_gave_new_information", note="Moved house")
    assert r.status_code == 400 and "has not been completed" in r.text


def test_add_task_hold_resume_and_extend(client, world):
    csrf = sign_in(client)
    r = _deviate(client, world, csrf, "add_task", title="Call the landlord", team="Customer Care",
                 due_at="", blocking="true", reason_code="handover_incomplete",
                 note="Landlord must agree")
    assert r.status_code == 303
    assert "Call the landlord" in [i.name for i in world.items()]
    r = _deviate(client, world, csrf, "extend_deadline", work_item_id="", due_at="2020-01-01T10:00",
                 reason_code="customer_away", note="Away")
    assert r.status_code == 400 and "Choose a time later than" in r.text
    r = _deviate(client, world, csrf, "hold", reason_code="customer_away", note="On holiday")
    assert r.status_code == 303 and world.case().status == "on_hold"
    page = client.get(f"/cases/{world.case_id}").text
    assert 'id="dialog-resume"' in page and 'id="dialog-skip"' not in page
    r = _deviate(client, world, csrf, "resume", reason_code="customer_other",
                 note="Customer is back from holiday")
    assert r.status_code == 303 and world.case().status == "open"


def test_an_agents_cancellation_waits_for_a_supervisor_who_approves_it(client, world):
    csrf = sign_in(client)
    r = _deviate(client, world, csrf, "cancel", reason_code="customer_withdrew",
                 note="Found another provider")
    assert r.status_code == 303
    page = client.get(f"/cases/{world.case_id}").text
    assert "Your request is waiting for a supervisor" in page
    assert "A supervisor must approve it" in page
    assert world.case().status == "open"
    assert client.get("/approvals").status_code == 403

    boss = TestClient(world.app)
    boss_csrf = sign_in(boss, "supervisor")
    queue = boss.get("/approvals")
    assert queue.status_code == 200 and "Found another provider" in queue.text
    request_id = int(re.search(r'action="/approvals/(\d+)/approve"', queue.text).group(1))
    r = boss.post(f"/approvals/{request_id}/reject", data={"csrf_token": boss_csrf, "note": ""})
    assert r.status_code == 400 and "Say why the request is rejected" in r.text
    r = boss.post(f"/approvals/{request_id}/approve", data={"csrf_token": boss_csrf, "note": "OK"},
                  follow_redirects=False)
    assert r.status_code == 303
    assert world.case().status == "cancelled"
    page = boss.get(f"/cases/{world.case_id}").text
    assert "Sam Supervisor approved the request to cancel" in page
    assert 'id="dialog-' not in page, "a closed case offers no changes"
    assert "promise kept" not in page, "a cancelled case kept no promise"
    assert re.search(r"approved the request to cancel the case asked by (?!agent\b)\w", page), \
        "the requester is named as a person, not by username"
    r = boss.post(f"/approvals/{request_id}/approve", data={"csrf_token": boss_csrf, "note": "OK"})
    assert r.status_code == 409


# ---- new cases and customers ----------------------------------------------------------------------


def test_find_a_customer_as_a_fragment_and_open_a_case(client, world):
    csrf = sign_in(client)
    r = client.get("/cases/new?q=byrne", headers=hx())
    assert r.status_code == 200 and "<html" not in r.text
    assert f"/cases/new?customer_id={world.customer_id}" in r.text
    page = client.get(f"/cases/new?customer_id={world.customer_id}").text
    assert 'name="contacted_at"' in page and 'type="datetime-local"' in page
    bad = client.post("/cases/new", data={
        "csrf_token": csrf, "customer_id": str(world.customer_id), "process_id": "install_service",
        "channel": "web", "priority": "1", "contacted_at": "2199-01-01T10:00"})
    assert bad.status_code == 400
    assert "cannot be in the future" in bad.text and 'value="2199-01-01T10:00"' in bad.text
    ok = client.post("/cases/new", follow_redirects=False, data={
        "csrf_token": csrf, "customer_id": str(world.customer_id), "process_id": "install_service",
        "channel": "web", "priority": "1", "contacted_at": "2026-01-05T08:30"})
    assert ok.status_code == 303
    case_id = int(ok.headers["location"].rsplit("/", 1)[1])
    with world.session() as s:
        case = s.get(Case, case_id)
        assert case.channel == "web" and case.priority == 1
        assert case.contacted_at.isoformat().startswith("2026-01-05T08:30")


def test_new_case_refuses_unknown_process_and_missing_customer(client, world):
    csrf = sign_in(client)
    r = client.post("/cases/new", data={"csrf_token": csrf, "customer_id": str(world.customer_id),
                                        "process_id": "nope", "channel": "web", "priority": "0",
                                        "contacted_at": "2026-01-05T08:30"})
    assert r.status_code == 400 and "No active definition for process" in r.text
    r = client.post("/cases/new", data={"csrf_token": csrf, "process_id": "install_service"})
    assert r.status_code == 400 and "Choose the customer first." in r.text
    assert client.get("/cases/new?customer_id=999").status_code == 404


def test_create_a_customer_then_see_all_their_cases(client, world):
    csrf = sign_in(client)
    r = client.post("/customers", data={"csrf_token": csrf, "name": "Ben Ode",
                                        "account_number": "C-1001", "next": "/cases/new"})
    assert r.status_code == 400 and "belongs to another customer" in r.text
    assert 'value="Ben Ode"' in r.text
    r = client.post("/customers", follow_redirects=False,
                    data={"csrf_token": csrf, "name": "Ben Ode", "account_number": "C-2002",
                          "next": "/cases/new"})
    assert r.status_code == 303 and r.headers["location"].startswith("/cases/new?customer_id=")
    found = client.get("/customers?q=c-20", headers=hx())
    assert "Ben Ode" in found.text and "<html" not in found.text
    page = client.get(f"/customers/{world.customer_id}")
    assert page.status_code == 200
    assert f'href="/cases/{world.case_id}"' in page.text and "Install service" in page.text
    assert client.get("/customers/999").status_code == 404


# ---- refusals ------------------------------------------------------------------------------------


def _routes(world):
    item = world.items()[0]
    c = world.case_id
    gets = ["/work", f"/cases/{c}", "/cases/new", "/customers", f"/customers/{world.customer_id}",
            "/approvals"]
    posts = [f"/work/items/{item.id}/claim", f"/work/items/{item.id}/release",
             f"/cases/{c}/items/{item.id}/claim", f"/cases/{c}/items/{item.id}/release",
             f"/cases/{c}/items/{item.id}/complete", f"/cases/{c}/notes",
             f"/cases/{c}/deviations/skip", f"/cases/{c}/deviations/cancel", "/cases/new",
             "/customers", "/approvals/1/approve", "/approvals/1/reject",
             f"/cases/{c}/escalations/{item.id}/resolve"]
    return gets, posts


def test_designer_is_refused_on_every_workspace_route(client, world):
    csrf = sign_in(client, "designer")
    gets, posts = _routes(world)
    for url in gets:
        r = client.get(url)
        assert r.status_code == 403, url
        assert "Your role does not allow this page." in r.text
    for url in posts:
        assert client.post(url, data={"csrf_token": csrf}).status_code == 403, url
    assert world.items()[0].assignee_id is None


def test_state_changing_routes_refuse_a_missing_csrf_token(client, world):
    sign_in(client, "supervisor")
    _, posts = _routes(world)
    for url in posts:
        r = client.post(url, data={"note": "x", "text": "x"})
        assert r.status_code == 403, url
        assert "did not come from Caseflow" in r.text
    assert world.events().count("note_added") == 0


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    r = client.get("/work", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_breached_step_shows_in_plain_words_and_a_supervisor_closes_its_escalation(client, world):
    from cases.sla_sweep import sweep

    with world.session() as s:
        sweep(s, now=utcnow() + timedelta(hours=2))  # Capture order's 30 minutes are long gone
    escalation = [i for i in world.items() if i.kind == "escalation"]
    assert len(escalation) == 1
    csrf = sign_in(client)
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    assert "The step “Capture order” missed its deadline; a supervisor was alerted" in page
    assert "a supervisor looks into it" in page
    r = client.post(f"/cases/{world.case_id}/escalations/{escalation[0].id}/resolve",
                    data={"csrf_token": csrf, "note": "Called"})
    assert r.status_code == 403

    boss = TestClient(world.app)
    boss_csrf = sign_in(boss, "supervisor")
    r = boss.post(f"/cases/{world.case_id}/escalations/{escalation[0].id}/resolve",
                  data={"csrf_token": boss_csrf, "note": ""})
    assert r.status_code == 400 and "Say what was done about the breach" in r.text
    r = boss.post(f"/cases/{world.case_id}/escalations/{escalation[0].id}/resolve",
                  data={"csrf_token": boss_csrf, "note": "Called the team lead"},
                  follow_redirects=False)
    assert r.status_code == 303
    page = htmllib.unescape(boss.get(f"/cases/{world.case_id}").text)
    assert "Sam Supervisor closed the escalation: Called the team lead" in page


def test_correcting_data_of_a_completed_step(client, world):
    csrf = sign_in(client)
    _complete(client, world, csrf, world.items()[0], CAPTURE)
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    field = section(page, 'id="edit_data-field"', "</select>")
    assert 'value="Task_CaptureOrder|installation_address"' in field and "now: 1 Main Street" in field
    r = _deviate(client, world, csrf, "edit_data", field="Task_CaptureOrder|product",
                 value="carrier_pigeon", reason_code="wrong_data_captured", note="Typo")
    assert r.status_code == 400
    dialog = section(htmllib.unescape(r.text), 'id="dialog-edit_data"')
    assert 'value="carrier_pigeon"' in dialog and "field-msg" in dialog
    r = _deviate(client, world, csrf, "edit_data", field="Task_CaptureOrder|installation_address",
                 value="2 Main Street", reason_code="wrong_data_captured", note="Typo in the number")
    assert r.status_code == 303
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    assert ("Ann Agent corrected “Capture order”: installation_address from '1 Main Street' to "
            "'2 Main Street' — reason: Data captured wrongly") in page


def test_an_agents_override_of_a_decision_is_a_request(client, world):
    csrf = sign_in(client)
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    assert "Request another branch (needs a supervisor's approval)" in page
    branch = section(page, 'id="override_decision-branch"', "</select>")
    assert 'value="Gateway_Eligible|Task_AgreeAppointment"' in branch
    r = _deviate(client, world, csrf, "override_decision",
                 branch="Gateway_Eligible|Task_AgreeAppointment",
                 reason_code="customer_gave_new_information", note="Coverage confirmed by phone")
    assert r.status_code == 303
    assert world.events()[-1] == "deviation_requested"
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    assert ("Ann Agent asked to take another branch at “Eligible?” (to “Agree installation "
            "appointment”) (a supervisor must approve) — reason: Customer gave new") in page
    assert "Waiting for approval" in page


def test_worklist_pages_and_unknown_cases(client, world, monkeypatch):
    import web.work

    with world.session() as s:
        from cases.users import User

        agent = s.exec(select(User).where(User.username == "agent")).one()
        open_case(s, actor=agent, now=utcnow(), customer_id=world.customer_id,
                  process_id="install_service", channel="web")
    monkeypatch.setattr(web.work, "PAGE_SIZE", 1)
    sign_in(client)
    first = client.get("/work?view=team")
    assert "Next →" in first.text and "← Previous" not in first.text
    second = client.get("/work?view=team&page=2")
    assert "← Previous" in second.text and "Next →" not in second.text
    assert first.text.count('<tr id="item-') == second.text.count('<tr id="item-') == 1
    r = client.get("/cases/999")
    assert r.status_code == 404 and "No case 999" in r.text


def test_a_note_added_with_htmx_returns_the_timeline_fragment(client, world):
    csrf = sign_in(client)
    _complete(client, world, csrf, world.items()[0], CAPTURE)
    r = client.post(f"/cases/{world.case_id}/notes", headers=hx(csrf), data={"text": "Call at 5"})
    assert r.status_code == 200
    html = htmllib.unescape(r.text)
    assert html.startswith('<section class="case-side"') and "<html" not in html
    assert "Ann Agent added a note: Call at 5" in html
    assert "Ann Agent completed “Capture order”" in html, "steps are named as in the process"
    r = client.post(f"/cases/{world.case_id}/notes", headers=hx(csrf), data={"text": ""})
    assert r.status_code == 400 and "Write the note first" in r.text and "<html" not in r.text


def test_jump_to_a_later_step_offered_in_the_dialog(client, world):
    csrf = sign_in(client)
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    later = section(page, 'id="jump_to-step"', "</select>")
    assert 'value="Task_AgreeAppointment"' in later and 'value="Task_CaptureOrder"' not in later
    r = _deviate(client, world, csrf, "jump_to", element_id="Task_AgreeAppointment",
                 reason_code="work_done_outside_the_system", note="Done in the CRM already")
    assert r.status_code == 303, r.text
    assert [i.element_id for i in world.items()] == ["Task_AgreeAppointment"]
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    assert "Ann Agent jumped ahead to “Agree installation appointment” — reason: Work already" in page


def test_reassign_a_step_to_a_person(client, world):
    csrf = sign_in(client)
    item = world.items()[0]
    with world.session() as s:
        from cases.users import User

        fran = s.exec(select(User).where(User.username == "field")).one()
    r = _deviate(client, world, csrf, "reassign", work_item_id=str(item.id), team="",
                 assignee_id="", reason_code="customer_other", note="Customer asked for Fran")
    assert r.status_code == 400 and "Choose a team or a person" in r.text
    r = _deviate(client, world, csrf, "reassign", work_item_id=str(item.id),
                 team="Field Operations", assignee_id=str(fran.id), reason_code="customer_other",
                 note="Customer asked for Fran by name")
    assert r.status_code == 303
    assert world.items()[0].assignee_id == fran.id and world.items()[0].team == "Field Operations"
    page = htmllib.unescape(client.get(f"/cases/{world.case_id}").text)
    assert "Ann Agent handed “Capture order” to Fran Field — reason: Other customer request" in page


def test_skipping_a_supervisors_step_says_it_waits_for_approval(client, world):
    """The policy asks for approval because of the step (not the kind): the page must say so."""
    from cases.case_service import complete_step
    from cases.users import User

    with Session(world.app.state.engine, expire_on_commit=False) as s:
        path = BPMN_DIR / "billing_inquiry.bpmn"
        deploy_file(s, path.read_bytes(), filename=path.name, actor="designer", now=utcnow(),
                    activate=True)
        sam = s.exec(select(User).where(User.username == "supervisor")).one()
        case = open_case(s, actor=sam, now=utcnow(), customer_id=world.customer_id,
                         process_id="billing_inquiry", channel="phone")
        for data in ({"invoice_number": "INV-1", "inquiry_type": "dispute", "disputed_amount": 240,
                      "customer_question": "Why TV?"},
                     {"invoice_wrong": True, "error_cause": "wrong_tariff",
                      "root_cause_in_billing": True},
                     {"adjustment_type": "rebill", "credit_amount": 240}):
            item = s.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                 WorkItem.state == "open")).one()
            case = complete_step(s, actor=sam, now=utcnow(), case_id=case.id, work_item_id=item.id,
                                 data=data, expected_version=case.row_version)
        item = s.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                             WorkItem.state == "open")).one()
        assert item.element_id == "Task_ApproveCredit"
    csrf = sign_in(client)
    r = client.post(f"/cases/{case.id}/deviations/skip", follow_redirects=False, data={
        "csrf_token": csrf, "expected_version": str(case.row_version), "work_item_id": str(item.id),
        f"skip-{item.id}-credit_approved": "true",  # "Approved?" reads it: a skip must say it
        "reason_code": "step_not_applicable", "note": "Customer agreed the amount already"})
    assert r.status_code == 303
    page = htmllib.unescape(client.get(r.headers["location"]).text)
    assert "waiting for a supervisor's approval" in page and "Done: skip" not in page


@pytest.mark.parametrize("text, said", [("Customer moved to case 86.", "Customer moved to case 86."),
                                        ("Customer moved to case 86", "Customer moved to case 86."),
                                        ("Really?  ", "Really?"), ("", "")])
def test_a_note_ends_a_sentence_with_one_full_stop(text, said):
    from web.work_common import sentence

    assert sentence(text) == said
