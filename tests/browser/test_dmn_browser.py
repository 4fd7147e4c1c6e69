"""A designer uploads a Camunda Modeler set (BPMN + DMN + two form-js forms), reads the decision
table, deploys it; an agent runs a case through the form and the decision (issue 18)."""
from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from cases.case_models import Case
from cases.case_service import open_case
from cases.customers import create_customer
from cases.db import make_engine
from cases.reason_codes import sync_reason_codes
from cases.users import User, create_user
from engine.clock import utcnow
from tests.conftest import DATA

from .conftest import PASSWORD, both_widths, running_server

pytestmark = pytest.mark.browser

SET = DATA / "camunda_set"
FILES = ("credit_check.bpmn", "credit_limit.dmn", "application.form", "confirm_offer.form")


def _setup(s: Session) -> None:
    now = utcnow()
    sync_reason_codes(s)
    create_user(s, username="designer", password=PASSWORD, role="designer", now=now,
                display_name="Dana Designer")
    create_user(s, username="ann", password=PASSWORD, role="agent", now=now,
                display_name="Ann Agent", teams=["Customer Care"])


@pytest.fixture
def dmn_server(tmp_path):
    db = tmp_path / "dmn.sqlite3"
    with running_server(db, _setup) as base:
        yield base, db


def _sign_in(page, base, username, landing):
    page.goto(f"{base}/login?next={landing}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}{landing}")




def _open_case(db) -> int:
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine, expire_on_commit=False) as s:
        ann = s.exec(select(User).where(User.username == "ann")).one()
        customer = create_customer(s, actor="ann", now=utcnow(), name="Ada Byrne",
                                   account_number="C-2001", phone="+353 1 555 0101")
        case = open_case(s, actor=ann, now=utcnow(), customer_id=customer.id,
                         process_id="Process_CreditCheck", channel="phone")
    engine.dispose()
    return case.id


def test_designer_uploads_a_camunda_set_and_an_agent_runs_it(dmn_server, browser):
    base, db = dmn_server
    page = browser.new_page(viewport={"width": 1280, "height": 800})

    # The designer uploads the four files at once: one draft with its table and forms pinned.
    _sign_in(page, base, "designer", "/designer")
    page.get_by_label("BPMN file", exact=True).set_input_files([str(SET / n) for n in FILES])
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r"/designer/versions/\d+$"))
    status = page.get_by_role("status").inner_text()
    assert "uploaded as draft Process_CreditCheck v1" in status
    assert "decision Decision_CreditLimit v1" in status and "form Form_Application v1" in status
    page.locator("figure.diagram.diagram-ready").wait_for()
    assert "Applicant's name" in page.locator("table.steps").inner_text()
    assert both_widths(page, "dmn-version") <= 440

    # The decision table, read-only: as an HTML table and drawn by dmn-js.
    page.get_by_role("link", name="Decision table Decision_CreditLimit v1").click()
    page.wait_for_url(re.compile(r"/designer/files/\d+$"))
    page.locator("figure.decision-view[data-ready]").wait_for()
    rules = page.locator("table.decision-rules")
    assert "Existing customers get more" in rules.inner_text()
    assert page.locator("figure.decision-view .tjs-table").count() == 1
    assert both_widths(page, "dmn-decision-table") <= 440
    page.go_back()
    page.get_by_role("button", name="Deploy v1 (make active)").click()
    assert "is now active" in page.get_by_role("status").inner_text()
    page.context.clear_cookies()

    # The agent fills the Camunda form: a wrong value is refused inline with the input kept.
    case_id = _open_case(db)
    _sign_in(page, base, "ann", "/work")
    page.goto(f"{base}/cases/{case_id}")
    page.get_by_label("Applicant's name").fill("Ada Byrne")
    score = page.get_by_role("spinbutton", name="Credit score (required)")
    score.fill("1200")
    page.get_by_label("Channel").select_option(label="Shop")
    page.get_by_role("button", name="Complete “Enter the application”").click()
    assert "Must be at most 1000" in page.locator(".field-msg").first.inner_text()
    assert page.get_by_label("Applicant's name").input_value() == "Ada Byrne"
    assert page.get_by_label("Channel").input_value() == "shop"
    both_widths(page, "dmn-form-error")
    score.fill("720")
    page.get_by_role("checkbox", name="Existing customer").check()
    page.get_by_role("button", name="Complete “Enter the application”").click()
    page.get_by_role("status").filter(has_text="Step completed").wait_for()

    # The decision ran: the case moved on and the timeline says what it decided from what.
    assert page.get_by_role("heading", name="Confirm the offer").is_visible()
    timeline = page.locator("main").inner_text()
    assert "Caseflow decided “Decide the credit limit”" in timeline
    assert "credit_limit = 2000" in timeline and "rule 2" in timeline
    both_widths(page, "dmn-case-decided")
    # A form-js radio is a radio group, its legend the field's label.
    page.get_by_role("radiogroup", name="Offer accepted by the customer").get_by_role(
        "radio", name="Yes").check()
    page.get_by_label("First payment date").fill("2027-01-15")
    page.get_by_role("button", name="Complete “Confirm the offer”").click()
    page.get_by_role("status").filter(has_text="Step completed").wait_for()
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        assert s.get(Case, case_id).status == "resolved"
    engine.dispose()
