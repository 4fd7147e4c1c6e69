"""An admin sets up a business calendar and tries it out; an agent links two cases and reopens a
resolved one, in Chromium, at 1280 and 420 px, with labelled fields and the keyboard."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.reason_codes import sync_reason_codes
from cases.users import create_user
from engine.clock import utcnow
from tests.cases.test_case_service import resolve_install
from tests.conftest import BPMN_DIR

from .conftest import PASSWORD, running_server, screenshot

pytestmark = pytest.mark.browser


def _setup(s: Session) -> None:
    now = utcnow() - timedelta(hours=2)
    path = BPMN_DIR / "install_service.bpmn"
    deploy_file(s, path.read_bytes(), filename=path.name, actor="designer", now=now, activate=True)
    sync_reason_codes(s)
    ann = create_user(s, username="ann", password=PASSWORD, role="agent", now=now,
                      teams=["Customer Care"], display_name="Ann Agent")
    sam = create_user(s, username="sam", password=PASSWORD, role="supervisor", now=now,
                      teams=["Customer Care"])
    create_user(s, username="root", password=PASSWORD, role="admin", now=now)
    ada = create_customer(s, actor="ann", now=now, name="Ada Byrne", account_number="C-1")
    bea = create_customer(s, actor="ann", now=now, name="Bea Walsh", account_number="C-2")
    done = open_case(s, actor=sam, now=now, customer_id=ada.id, process_id="install_service",
                     channel="phone")
    done, now = resolve_install(s, done, actor_for=lambda item: sam, start=now,
                                step=timedelta(minutes=5))
    open_case(s, actor=ann, now=now, customer_id=bea.id, process_id="install_service",
              channel="web")
    open_case(s, actor=ann, now=now, customer_id=ada.id, process_id="install_service",
              channel="phone")  # Ada again, a day after: a repeat contact about case 1


@pytest.fixture(scope="module")
def links_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("calendars") / "caseflow.sqlite3", _setup) as base:
        yield base


def _sign_in(page, base, username, target):
    page.goto(f"{base}/login?next={target}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}{target}")


def test_admin_adds_a_calendar_and_sees_when_a_friday_evening_step_is_due(page, links_server):
    base = links_server
    _sign_in(page, base, "root", "/admin/calendars")
    page.get_by_label("Name").fill("Berlin office")
    page.get_by_label("Time zone").fill("Europe/Atlantis")
    page.get_by_label("Country for public holidays").fill("DE")
    page.get_by_label("Subdivision").fill("BE")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        page.get_by_label(f"{day} opens").fill("08:00")
        page.get_by_label(f"{day} closes").fill("18:00")
    page.get_by_label("Default calendar").check()
    page.get_by_label("Name").press("Enter")  # submits from the keyboard
    assert "Unknown time zone" in page.content()
    assert page.get_by_label("Time zone").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Name").input_value() == "Berlin office"
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_role("button", name="Add calendar").click()
    assert "saved" in page.get_by_role("status").first.inner_text()
    page.get_by_label("Opened at").fill("2026-12-04T18:00")
    page.get_by_label("Target").fill("PT24H")
    page.get_by_role("button", name="Work out the due time").click()
    result = page.locator("#check-result")
    assert "Mon 2026-12-07 18:00" in result.inner_text()
    screenshot(page, "calendars-1280")
    page.set_viewport_size({"width": 420, "height": 900})
    screenshot(page, "calendars-420")


def test_agent_links_cases_and_reopens_a_resolved_one(page, links_server):
    base = links_server
    _sign_in(page, base, "ann", "/cases/3")
    assert "Repeat contact about" in page.locator("section.links").inner_text()
    page.get_by_text("Link another case").click()
    page.get_by_label("This case is").select_option("related")
    page.get_by_label("Case number").fill("2")
    page.get_by_label("Why they belong together").fill("Same street, same outage")
    page.get_by_role("button", name="Link the cases").click()
    links = page.locator("section.links")
    assert "Related to case 2" in links.inner_text()
    screenshot(page, "links-1280")
    page.goto(f"{base}/cases/1")
    assert "Customer came back in case 3" in page.locator("section.links").inner_text()
    page.locator("#reopen-dialog summary").click()
    page.get_by_label("Go back to").select_option(label="Confirm with the customer that it works")
    dialog = page.locator("#reopen-dialog")
    dialog.get_by_label("Reason").select_option("customer_gave_new_information")
    dialog.get_by_label("Note").fill("The line drops every evening")
    page.set_viewport_size({"width": 420, "height": 900})
    screenshot(page, "reopen-420")
    page.get_by_role("button", name="Reopen the case").click()
    assert "Case reopened." in page.get_by_role("status").first.inner_text()
    assert "reopened the case at" in page.content()
    screenshot(page, "reopened-420")
