"""An agent is told by the bell that a step was given to them, attaches a file to the case with
the keyboard-usable upload form and downloads it again, in Chromium, at 1280 and 420 px."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from cases.case_models import WorkItem
from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.users import create_user
from cases.work_items import assign
from engine.clock import utcnow
from tests.conftest import DATA

from .conftest import ARTIFACTS, PASSWORD, running_server

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 4000 + b"%%EOF\n"


def _setup(s: Session) -> None:
    now = utcnow()
    deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                actor="designer", now=now, activate=True)
    ann = create_user(s, username="ann", password=PASSWORD, role="agent", now=now,
                      display_name="Ann Agent", teams=["Customer Care"])
    sam = create_user(s, username="sam", password=PASSWORD, role="supervisor", now=now,
                      display_name="Sam Supervisor", teams=["Supervisors"])
    customer = create_customer(s, actor="ann", now=now, name="Ada Byrne", account_number="C-1001")
    case = open_case(s, actor=ann, now=now, customer_id=customer.id, process_id="dev_process",
                     channel="phone")
    s.commit()
    item = s.exec(select(WorkItem).where(WorkItem.case_id == case.id)).one()
    assign(s, actor=sam, now=now, work_item_id=item.id, assignee_id=ann.id)


@pytest.fixture(scope="module")
def attach_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attachments")
    before = os.environ.get("CASEFLOW_ATTACHMENT_DIR")
    os.environ["CASEFLOW_ATTACHMENT_DIR"] = str(folder / "files")  # the server reads its env
    try:
        with running_server(folder / "caseflow.sqlite3", _setup) as base:
            yield base, folder / "files"
    finally:
        if before is None:
            os.environ.pop("CASEFLOW_ATTACHMENT_DIR", None)
        else:
            os.environ["CASEFLOW_ATTACHMENT_DIR"] = before


def screenshot(page, name: str) -> None:
    """A full-page screenshot that leaves the inputs alone: hiding their caret would give them a
    style attribute, which htmx then copies when it swaps the section (and the CSP refuses)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, caret="initial")


def _sign_in(page, base: str) -> None:
    page.goto(f"{base}/login?next=/work")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/work")


def test_bell_upload_and_download(page, attach_server, tmp_path):
    base, files = attach_server
    _sign_in(page, base)
    bell = page.get_by_role("link", name="Notifications: 1 unread")
    expect(bell).to_be_visible()
    page.goto(f"{base}/cases/1")
    section = page.locator("#attachments")
    expect(section.get_by_text("No files yet.")).to_be_visible()

    page.get_by_label("File to attach").set_input_files(
        {"name": "Signed order.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_label("Description (optional)").fill("Order form the customer signed")
    page.get_by_label("Description (optional)").press("Enter")  # the keyboard submits it
    expect(section.get_by_role("status")).to_have_text("Attached Signed order.pdf.")
    link = section.get_by_role("link", name="Signed order.pdf")
    expect(link).to_be_visible()
    expect(section).to_contain_text("added by Ann Agent")
    expect(section).to_contain_text("Order form the customer signed")
    assert len([p for p in files.rglob("*") if p.is_file()]) == 1
    screenshot(page, "attachments-1280")

    with page.expect_download() as download:
        link.click()
    saved = Path(tmp_path / "got.pdf")
    download.value.save_as(saved)
    assert download.value.suggested_filename == "Signed order.pdf"
    assert saved.read_bytes() == PDF

    # A file whose content is not allowed is refused with words, at 420 px.
    page.set_viewport_size({"width": 420, "height": 900})
    page.get_by_label("File to attach").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": b"MZ\x90\x00" + b"\x00" * 64})
    page.get_by_role("button", name="Attach file").click()
    expect(section.get_by_role("alert")).to_contain_text("This kind of file cannot be attached")
    expect(page.get_by_label("File to attach")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "attachments-420")

    page.get_by_role("link", name="Notifications: 1 unread").click()
    page.wait_for_url(f"{base}/notifications")
    expect(page.get_by_text("Sam Supervisor gave you “Capture order” on case 1",
                            exact=True)).to_be_visible()
    screenshot(page, "notifications-420")
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(page, "notifications-1280")
    page.get_by_role("button", name="Mark read").click()
    expect(page.get_by_role("link", name="Notifications: none unread")).to_be_visible()
    expect(page.get_by_text("new", exact=True)).to_have_count(0)
