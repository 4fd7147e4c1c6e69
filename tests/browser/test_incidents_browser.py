"""A supervisor finds where the process failed and resolves it, in Chromium, at 1280 and 420 px."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from cases.case_models import WorkItem
from cases.case_service import complete_step, open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.errors import ProcessFailed
from cases.users import create_user
from engine.clock import utcnow
from tests.conftest import DATA

from .conftest import PASSWORD, running_server, screenshot

pytestmark = pytest.mark.browser


def _setup(s: Session) -> None:
    now = utcnow()
    deploy_file(s, (DATA / "scripts.bpmn").read_bytes(), filename="scripts.bpmn",
                actor="designer", now=now, activate=True)
    ann = create_user(s, username="ann", password=PASSWORD, role="agent", now=now,
                      display_name="Ann Agent", teams=["Customer Care"])
    create_user(s, username="sam", password=PASSWORD, role="supervisor", now=now,
                display_name="Sam Supervisor", teams=["Supervisors"])
    customer = create_customer(s, actor="ann", now=now, name="Ada Byrne", account_number="C-1001")
    case = open_case(s, actor=ann, now=now, customer_id=customer.id, process_id="script_process",
                     channel="phone")
    item = s.exec(select(WorkItem).where(WorkItem.case_id == case.id)).one()
    with pytest.raises(ProcessFailed):
        complete_step(s, actor=ann, now=now, case_id=case.id, work_item_id=item.id,
                      data={"items": "not a list", "spin": False}, expected_version=case.row_version)


@pytest.fixture(scope="module")
def incident_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("incidents") / "caseflow.sqlite3", _setup) as base:
        yield base


def test_supervisor_resolves_an_incident(page, incident_server):
    base = incident_server
    page.goto(f"{base}/login?next=/incidents")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Incidents").first.click()
    page.wait_for_url(f"{base}/incidents")
    card = page.get_by_role("article").first
    assert "Compute" in card.inner_text()
    screenshot(page, "incidents-1280")
    page.set_viewport_size({"width": 420, "height": 900})
    screenshot(page, "incidents-420")
    page.get_by_role("link", name="case 1").click()
    assert page.get_by_role("heading", name="The process failed here").is_visible()
    screenshot(page, "case-incident-420")
    page.get_by_role("link", name="Retry or resolve incident 1").click()
    page.get_by_label("Note (required to resolve)").fill("Asked the agent to enter the items as a list")
    page.get_by_role("button", name="Resolve with this note").click()
    assert page.get_by_role("status").inner_text() == "Incident 1 resolved."
    assert "No incidents are open" in page.content()
