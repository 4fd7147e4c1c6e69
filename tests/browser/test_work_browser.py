"""An agent works an install_service case in Chromium; a supervisor approves a cancellation."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session

from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.reason_codes import sync_reason_codes
from cases.users import create_user
from engine.clock import utcnow
from tests.conftest import BPMN_DIR

from .conftest import PASSWORD, running_server, screenshot

pytestmark = pytest.mark.browser


def _setup(s: Session) -> None:
    now = utcnow()
    path = BPMN_DIR / "install_service.bpmn"
    deploy_file(s, path.read_bytes(), filename=path.name, actor="designer", now=now, activate=True)
    sync_reason_codes(s)
    ann = create_user(s, username="ann", password=PASSWORD, role="agent", now=now,
                      display_name="Ann Agent", teams=["Customer Care"])
    create_user(s, username="sam", password=PASSWORD, role="supervisor", now=now,
                display_name="Sam Supervisor", teams=["Supervisors"])
    s.commit()
    customer = create_customer(s, actor="ann", now=now, name="Ada Byrne", account_number="C-1001",
                               phone="+353 1 555 0101")
    open_case(s, actor=ann, now=now, customer_id=customer.id, process_id="install_service",
              channel="phone", contacted_at=now - timedelta(hours=2))


@pytest.fixture(scope="module")
def work_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("work") / "caseflow.sqlite3", _setup) as base:
        yield base


def _sign_in(page, base, username):
    page.goto(f"{base}/login?next=/work")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/work")


def _classes(page, element_id: str) -> list[str]:
    return page.locator(f'g.djs-element[data-element-id="{element_id}"]').first.get_attribute(
        "class").split()


def test_agent_works_a_case_and_a_supervisor_approves_its_cancellation(work_server, browser):
    base = work_server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(page, base, "ann")

    # Worklist: the first step waits unassigned; claim it in one click (htmx, no reload).
    page.locator("#worklist-tabs").get_by_role("link", name=re.compile("^Unassigned")).click()
    page.wait_for_url(re.compile("view=unassigned"))
    row = page.locator("tr", has_text="Capture order")
    assert "Nobody yet" in row.inner_text()
    assert page.locator("#count-mine").inner_text() == "0"
    page.evaluate("window.__marker = 1")
    row.get_by_role("button", name=re.compile("^Claim Capture order")).click()
    page.locator("tr", has_text="Capture order").get_by_text("You", exact=True).wait_for()
    assert page.locator("#count-mine").inner_text() == "1", "the tab counts update"
    assert page.evaluate("window.__marker") == 1, "claiming did not reload the page"
    assert page.locator("tr", has_text="Capture order").locator(".badge").inner_text() == "On time"
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Work on Capture order on case 1", "keyboard focus lands on the new row"
    screenshot(page, "work-worklist")
    page.set_viewport_size({"width": 420, "height": 800})
    screenshot(page, "work-worklist-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Case page: submit once with an error, see it inline with the typed values kept.
    page.get_by_role("link", name="Capture order", exact=True).click()
    page.wait_for_url(re.compile(r"/cases/\d+"))
    case_url = page.url.split("#")[0]
    customer_number = page.get_by_label(re.compile("^Customer number"))
    assert customer_number.input_value() == "C-1001", "prefilled from the customer record"
    customer_number.fill("")
    page.get_by_label("Product ordered").select_option(label="Fibre broadband")
    page.get_by_label("Installation address").fill("1 Main Street, Dublin")
    page.get_by_label("Contact phone number").fill("+353 1 555 0101")
    page.get_by_role("button", name="Complete “Capture order”").click()
    error = page.locator(".field-msg").first
    assert "required" in error.inner_text()
    assert page.get_by_label("Installation address").input_value() == "1 Main Street, Dublin"
    assert page.get_by_label("Product ordered").input_value() == "fibre_broadband"
    assert page.get_by_label(re.compile("^Customer number")).get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.name") == "customer_id", "focus on the first error"
    screenshot(page, "work-case-form-error")
    page.get_by_label(re.compile("^Customer number")).fill("C-1001")
    page.get_by_role("button", name="Complete “Capture order”").click()
    page.get_by_role("status").filter(has_text="Step completed").wait_for()
    assert page.get_by_role("heading", name="Check eligibility and credit").is_visible()

    # Skip the next step with a reason.
    page.locator("#dialog-skip summary").click()
    page.locator("#skip-reason").select_option("customer_already_confirmed")
    page.locator("#skip-note").fill("Checked on the first call")
    dialog = page.locator("#dialog-skip")
    assert "read by Eligible?" in dialog.locator("fieldset.skip-needs").inner_text()
    dialog.locator("select[name$='-address_serviceable']").select_option("true")
    dialog.locator("select[name$='-credit_result']").select_option("passed")
    dialog.get_by_role("button", name="Show where it leads").click()
    preview = page.locator("#preview-skip")
    preview.wait_for()
    assert "Next: Agree installation appointment." in preview.inner_text()
    page.locator("figure.diagram.diagram-ready").wait_for()
    assert "preview" in _classes(page, "Task_AgreeAppointment")
    preview.scroll_into_view_if_needed()
    screenshot(page, "work-case-skip-preview")
    page.set_viewport_size({"width": 420, "height": 900})
    screenshot(page, "work-case-skip-preview-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})
    assert page.locator("#skip-note").input_value() == "Checked on the first call", "kept"
    page.locator("#dialog-skip").get_by_role("button", name="Skip a step").click()
    page.get_by_role("status").filter(has_text="Done").wait_for()
    timeline = page.locator("ol.timeline")
    assert ("Ann Agent skipped “Check eligibility and credit” — reason: Customer already confirmed "
            "this in an earlier contact (customer driven): Checked on the first call"
            in timeline.inner_text())

    # Go back to it.
    page.locator("#dialog-go_back summary").click()
    page.locator("#go_back-step").select_option(label="Check eligibility and credit")
    page.locator("#go_back-reason").select_option("customer_gave_new_information")
    page.locator("#go_back-note").fill("Customer moved address")
    page.locator("#dialog-go_back").get_by_role("button", name="Go back to an earlier step").click()
    page.get_by_role("status").filter(has_text="Done").wait_for()
    text = page.locator("ol.timeline").inner_text()
    assert "Ann Agent went back to “Check eligibility and credit” — reason: Customer gave new" in text
    assert "skipped “Check eligibility and credit”" in text
    assert page.get_by_role("heading", name="Check eligibility and credit").is_visible()

    page.evaluate("window.__marker = 2")
    page.get_by_label("Add a note").fill("Customer prefers calls after 5pm")
    page.get_by_role("button", name="Add note").click()
    page.locator("ol.timeline").get_by_text("Ann Agent added a note: Customer prefers calls").wait_for()
    assert page.evaluate("window.__marker") == 2, "the note went in without a reload"

    page.locator("figure.diagram.diagram-ready").wait_for()
    assert "done" in _classes(page, "Task_CaptureOrder")
    eligibility = _classes(page, "Task_CheckEligibility")
    assert "current" in eligibility and "deviated" in eligibility
    assert "current" not in _classes(page, "Task_ExplainDecline")
    screenshot(page, "work-case")

    # An agent's cancellation waits for a supervisor.
    summary = page.locator("#dialog-cancel summary")
    assert summary.inner_text() == "Request cancellation (needs a supervisor's approval)"
    summary.click()
    page.locator("#cancel-reason").select_option("customer_withdrew")
    page.locator("#cancel-note").fill("Customer found another provider")
    page.locator("#dialog-cancel").get_by_role("button", name="Request cancellation").click()
    page.get_by_role("status").filter(has_text="waiting for a supervisor").wait_for()
    assert "A supervisor must approve it" in page.locator(".pending").inner_text()
    assert "open" in page.locator(".case-meta .status").inner_text()

    page.set_viewport_size({"width": 420, "height": 900})
    screenshot(page, "work-case-narrow")
    context.close()

    # The supervisor approves it with a note.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(page, base, "sam")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
    card = page.locator("article", has_text="Cancel the case")
    assert "Ann Agent" in card.inner_text() and "Customer found another provider" in card.inner_text()
    card.get_by_label(re.compile("Your note")).fill("Agreed")
    screenshot(page, "work-approvals")
    card.get_by_role("button", name=re.compile("^Approve")).click()
    page.get_by_role("status").filter(has_text="approved").wait_for()
    page.goto(case_url)
    assert "cancelled" in page.locator(".case-meta .status").inner_text()
    text = page.locator("ol.timeline").inner_text()
    assert "Sam Supervisor approved the request to cancel" in text
    assert "Ann Agent cancelled the case — reason: Customer withdrew" in text
    context.close()

