"""Finding work in Chromium: search, a saved filter, Get next work, and a supervisor's bulk hold."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.reason_codes import sync_reason_codes
from cases.users import create_user
from engine.clock import utcnow
from tests.conftest import BPMN_DIR

from .conftest import PASSWORD, REPORT_CSP, both_widths, running_server, screenshot

pytestmark = pytest.mark.browser


def _setup(s: Session) -> None:
    now = utcnow()
    path = BPMN_DIR / "install_service.bpmn"
    deploy_file(s, path.read_bytes(), filename=path.name, actor="designer", now=now, activate=True)
    sync_reason_codes(s)
    ann = create_user(s, username="ann", password=PASSWORD, role="agent", now=now,
                      display_name="Ann Agent", teams=["Customer Care"])
    create_user(s, username="sam", password=PASSWORD, role="supervisor", now=now,
                display_name="Sam Supervisor", teams=["Customer Care", "Supervisors"])
    s.commit()
    ada = create_customer(s, actor="ann", now=now, name="Ada Byrne", account_number="C-1001")
    ben = create_customer(s, actor="ann", now=now, name="Ben Walsh", account_number="W-2002")
    for customer, priority in ((ada, 0), (ada, 2), (ben, 1)):
        open_case(s, actor=ann, now=now, customer_id=customer.id, process_id="install_service",
                  channel="phone", priority=priority, contacted_at=now - timedelta(hours=1))


@pytest.fixture(scope="module")
def find_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("findwork") / "caseflow.sqlite3", _setup) as base:
        yield base


def _page(browser, violations):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(REPORT_CSP)
    page = context.new_page()
    page.on("console", lambda m: violations.append(m.text) if "CSP" in m.text else None)
    return context, page


def _sign_in(page, base, username):
    page.goto(f"{base}/login?next=/work")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/work")




def test_agent_searches_saves_a_filter_and_gets_next_work(find_server, browser):
    violations: list[str] = []
    context, page = _page(browser, violations)
    _sign_in(page, find_server, "ann")

    page.locator("#worklist-tabs").get_by_role("link", name=re.compile("^My teams")).click()
    page.wait_for_url(re.compile("view=team"))
    page.get_by_label("Search cases").fill("Byrne")
    page.get_by_label("Search cases").press("Enter")
    page.wait_for_url(re.compile("q=Byrne"))
    expect(page.locator("table.worklist tbody tr")).to_have_count(2)
    page.get_by_label("Save these filters as").fill("Ada's installs")
    page.get_by_role("button", name="Save filter").click()
    expect(page.get_by_role("link", name="Ada's installs")).to_be_visible()
    both_widths(page, "findwork-worklist-agent")

    page.get_by_role("button", name="Get next work").click()
    page.wait_for_url(re.compile(r"/cases/2#item-form-\d+"))  # priority 2: the most urgent
    expect(page.get_by_role("status")).to_contain_text("is yours now")
    screenshot(page, "findwork-next-work")

    page.goto(f"{find_server}/work/search")
    search = page.get_by_label(re.compile("^Case number, customer name"))
    expect(search).to_be_focused()
    search.fill('"ben walsh" or C-1001')
    search.press("Enter")
    expect(page.locator("caption")).to_have_text("3 cases found, best match first.")
    both_widths(page, "findwork-search")
    context.close()
    assert not violations


def test_supervisor_holds_selected_cases_with_the_keyboard(find_server, browser):
    violations: list[str] = []
    context, page = _page(browser, violations)
    _sign_in(page, find_server, "sam")
    page.goto(f"{find_server}/work?view=team")
    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(3)
    for n in (0, 1):
        boxes.nth(n).focus()
        page.keyboard.press("Space")
    expect(boxes.nth(0)).to_be_checked()
    page.get_by_label("Change", exact=True).select_option("hold")
    page.get_by_label("Reason").select_option(label="CRM down")
    page.get_by_label("Note").fill("CRM down since nine; calling customers back tomorrow")
    both_widths(page, "findwork-bulk-form")
    page.get_by_role("button", name="Apply to the selected steps").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Put on hold: 2 done, 0 not done")
    both_widths(page, "findwork-bulk-result")

    page.goto(f"{find_server}/work/search?q=install")  # the third case, picked from a search
    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(1)
    boxes.first.focus()
    page.keyboard.press("Space")
    page.get_by_label("Reason").select_option(label="CRM down")
    page.get_by_label("Note", exact=True).fill("CRM down since nine")
    both_widths(page, "findwork-search-hold")
    page.get_by_role("button", name="Put the selected cases on hold").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Put on hold: 1 done, 0 not done")
    context.close()
    assert not violations
