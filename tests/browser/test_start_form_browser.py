"""An agent opens a case through a process's start form (a Camunda form on the start event):
choosing the process swaps the form in, the form-js radio is a keyboard radio group, help text
and the "EUR" adorner describe their fields, a bad decimal is refused next to its field with the
typed input kept, the fixed form opens the case, whose page shows what it was opened with and
whose review step has a decimal and a textarea."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from cases.case_models import Case
from cases.customers import create_customer
from cases.db import make_engine
from cases.definition_files import upload_set
from cases.definitions import activate
from cases.users import create_user
from engine.clock import utcnow
from tests.conftest import DATA

from .conftest import ARTIFACTS, PASSWORD, both_widths, running_server

pytestmark = pytest.mark.browser

SET = DATA / "refund_set"


def _setup(s: Session) -> None:
    now = utcnow()
    files = [(n, (SET / n).read_bytes()) for n in ("refund_request.bpmn", "refund_request.form")]
    result = upload_set(s, files, actor="designer", now=now)
    activate(s, actor="designer", now=now, definition_id=result.versions[0].id)
    create_user(s, username="ann", password=PASSWORD, role="agent", now=now,
                display_name="Ann Agent", teams=["Customer Care"])
    s.commit()
    create_customer(s, actor="ann", now=now, name="Ada Byrne", account_number="C-3001")


@pytest.fixture
def refund_server(tmp_path):
    db = tmp_path / "refund.sqlite3"
    with running_server(db, _setup) as base:
        yield base, db


def _cases(db) -> list[Case]:
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        found = list(s.exec(select(Case)).all())
    engine.dispose()
    return found




def _adorner_sits_left_of_its_input(page) -> None:
    adorner = page.locator("#start-refund_amount-prefix").bounding_box()
    field = page.get_by_label("Amount to refund (EUR)").bounding_box()
    assert abs(adorner["x"] + adorner["width"] - field["x"]) <= 1  # touching, on its left
    assert abs(adorner["y"] - field["y"]) <= 1 and abs(adorner["height"] - field["height"]) <= 1


def screenshot_path(name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_an_agent_opens_a_case_through_the_start_form(refund_server, page):
    base, db = refund_server
    page.goto(f"{base}/login?next=/cases/new")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/cases/new")
    page.get_by_label("Name or account number").fill("C-3001")
    page.get_by_role("link", name=re.compile("Ada Byrne")).first.click()
    page.wait_for_url(re.compile(r"/cases/new\?customer_id=\d+"))

    # Choosing the process swaps its start form in (htmx), labelled field by field.
    assert page.get_by_label("Invoice number").count() == 0
    page.get_by_label("Process").select_option("Process_RefundRequest")
    page.get_by_label("Invoice number").wait_for()
    page.get_by_label("How did they contact us?").select_option("phone")
    page.get_by_label("Invoice number").fill("INV-2026-0042")
    page.get_by_label("Amount to refund (EUR)").fill("42.505")
    assert page.get_by_label("Amount to refund (EUR)").get_attribute("step") == "0.01"
    # The long text is a textarea, typed into from the keyboard (Enter makes a new line).
    reason = page.get_by_label("What went wrong")
    assert reason.evaluate("el => el.tagName") == "TEXTAREA"
    reason.focus()
    page.keyboard.type("Billed twice for November.")
    page.keyboard.press("Enter")
    page.keyboard.type("Both invoices are on file.")
    page.keyboard.press("Tab")
    # The form-js radio is a radio group named by its legend; Tab enters it at the checked
    # default and the arrow keys move the choice, as in any radio group.
    group = page.get_by_role("radiogroup", name=re.compile("^Refund to"))
    assert page.evaluate("document.activeElement.id") == "start-refund_method-2"
    assert group.get_by_role("radio", name="Credit on the next invoice").is_checked()
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "start-refund_method-1"
    assert group.get_by_role("radio", name="Bank account").is_checked()
    # Help text under the field and the adorner beside the input are what they describe.
    expect(page.get_by_label("What went wrong")).to_have_accessible_description(
        "In the customer's words")
    expect(page.get_by_label("Amount to refund (EUR)")).to_have_accessible_description("EUR")
    _adorner_sits_left_of_its_input(page)
    page.locator(".start-form").screenshot(path=str(screenshot_path("start-form-words")))
    page.set_viewport_size({"width": 420, "height": 800})
    _adorner_sits_left_of_its_input(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    page.locator(".start-form").screenshot(path=str(screenshot_path("start-form-words-420")))
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Open the case").click()

    # Refused: the message sits at the field, the typed input is all still there.
    page.get_by_text("Enter at most 2 decimal places").wait_for()
    amount = page.get_by_label("Amount to refund (EUR)")
    assert amount.input_value() == "42.505"
    assert amount.get_attribute("aria-invalid") == "true"
    assert page.get_by_label("What went wrong").input_value() == (
        "Billed twice for November.\nBoth invoices are on file.")
    assert page.get_by_label("Invoice number").input_value() == "INV-2026-0042"
    assert _cases(db) == []
    assert both_widths(page, "start-form-refused") <= 420

    assert page.get_by_role("radio", name="Bank account").is_checked()  # the choice is kept
    expect(page.get_by_label("Amount to refund (EUR)")).to_have_accessible_description(
        "EUR Enter at most 2 decimal places")

    amount.fill("42.50")
    page.get_by_role("button", name="Open the case").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    [case] = _cases(db)
    assert page.url.endswith(f"/cases/{case.id}")
    # The case page says what the case was opened with, labelled as the form labels it.
    opened = page.get_by_role("region", name="Opened with")
    expect(opened).to_contain_text("Refund to")
    expect(opened.locator("dd", has_text="Bank account")).to_have_count(1)
    expect(opened.locator("dd.long")).to_have_text(
        "Billed twice for November.\nBoth invoices are on file.")
    approved = page.get_by_role("spinbutton", name=re.compile(r"^Approved amount \(EUR\) \(req"))
    approved.wait_for()
    assert approved.get_attribute("step") == "0.01"
    assert page.locator("textarea[name=review_note]").count() == 1
    assert page.get_by_role("textbox", name="Why this amount").first.evaluate(
        "el => el.tagName") == "TEXTAREA"
    both_widths(page, "start-form-case-opened")
