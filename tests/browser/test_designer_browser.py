"""A designer uploads a broken file and sees its errors marked, uploads the fixed file, compares it with
the active version, deploys it, dry-runs and runs a migration of the open cases."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from cases.case_models import Case
from cases.case_service import open_case
from cases.customers import create_customer
from cases.db import make_engine
from cases.definitions import deploy_file
from cases.users import create_user
from tests.conftest import BPMN_DIR, T0

from .conftest import PASSWORD, running_server, screenshot

pytestmark = pytest.mark.browser

V1 = (BPMN_DIR / "billing_inquiry.bpmn").read_text()
FIXED = (V1.replace('name="Review the invoice"', 'name="Review the invoice and usage"')
         .replace('<camunda:property name="caseflow.sla" value="P2D" />',
                  '<camunda:property name="caseflow.sla" value="P1D" />')
         .replace("credit_amount &gt; 100", "credit_amount &gt; 250")
         .replace('name="Above 100 EUR?"', 'name="Above 250 EUR?"'))
BROKEN = (FIXED.replace('<camunda:property name="caseflow.sla" value="P1D" />',
                        '<camunda:property name="caseflow.sla" value="one day" />', 1)
          .replace("credit_amount &gt; 250", "credit_amount &gt;&gt; (250"))


def _setup(s: Session) -> None:
    deploy_file(s, V1.encode(), filename="billing_inquiry.bpmn", actor="designer", now=T0,
                activate=True)
    create_user(s, username="designer", password=PASSWORD, role="designer", now=T0,
                display_name="Dana Designer")
    agent = create_user(s, username="agent", password=PASSWORD, role="agent", now=T0,
                        teams=["Customer Care", "Billing"])
    customer = create_customer(s, actor="agent", now=T0, name="Ada Byrne", account_number="C-1001",
                               email="ada@example.com", phone="+353 1 555 0101")
    for _ in range(2):
        open_case(s, actor=agent, now=T0, customer_id=customer.id, process_id="billing_inquiry",
                  channel="phone", data={})


@pytest.fixture
def designer_server(tmp_path):
    db = tmp_path / "designer.sqlite3"
    with running_server(db, _setup) as base:
        yield base, db


def _sign_in(page, base, username="designer"):
    page.goto(f"{base}/login?next=/designer")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/designer")


def _upload(page, tmp_path, xml: str):
    path = tmp_path / "billing_inquiry.bpmn"
    path.write_text(xml)
    page.get_by_label("BPMN file", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()


def test_designer_upload_compare_deploy_migrate(designer_server, page, tmp_path):
    base, db = designer_server
    _sign_in(page, base)
    assert "billing_inquiry" in page.locator("main").inner_text()
    screenshot(page, "designer-index")

    # A broken file: every problem listed with its element, and marked on the preview.
    _upload(page, tmp_path, BROKEN)
    page.wait_for_selector("figure.diagram.diagram-ready")
    problems = page.locator("tr.problem")
    assert problems.count() >= 2
    text = page.locator("table.problems").inner_text()
    assert "Task_ReviewInvoice" in text and "Flow_NeedsApproval" in text
    assert page.locator('.djs-element.fault[data-element-id="Task_ReviewInvoice"]').count() == 1
    assert page.locator('.djs-element.fault[data-element-id="Flow_NeedsApproval"]').count() == 1
    screenshot(page, "designer-upload-broken")

    # The fixed file becomes a draft version.
    _upload(page, tmp_path, FIXED)
    page.wait_for_url(f"{base}/designer/versions/2")
    assert "uploaded as draft billing_inquiry v2" in page.get_by_role("status").inner_text()
    page.wait_for_selector("figure.diagram.diagram-ready")
    assert "Review the invoice and usage" in page.locator("table.steps").inner_text()
    screenshot(page, "designer-version-draft")

    # Compare with the active version: the changes listed and marked on both sides.
    page.get_by_role("link", name="Compare with active v1").click()
    page.wait_for_url(f"{base}/designer/compare?left=1&right=2")
    page.locator("figure.diagram.diagram-ready").nth(1).wait_for()  # both drawn (no eval: CSP)
    changed = page.locator("tr.diff-changed")
    assert changed.count() >= 3
    listing = page.locator("table.diffs").inner_text()
    assert "Review the invoice → Review the invoice and usage" in listing
    assert "credit_amount > 100 → credit_amount > 250" in listing
    for figure in (0, 1):
        marked = page.locator("figure.diagram").nth(figure).locator(
            '.djs-element.changed[data-element-id="Task_ReviewInvoice"]')
        assert marked.count() == 1
    screenshot(page, "designer-compare")

    # Deploy it: the running cases stay on v1.
    page.get_by_role("button", name="Deploy v2 (make active)").click()
    page.wait_for_url(f"{base}/designer/versions/2")
    assert "is now active" in page.get_by_role("status").inner_text()

    # Dry run, then move the open cases.
    page.get_by_role("link", name="dry run: move them to v2").click()
    page.wait_for_url(f"{base}/designer/migrate?from=1&to=2")
    assert page.locator("tr.can-move").count() == 2
    screenshot(page, "designer-migrate-dry-run")
    page.get_by_role("button", name="Move 2 cases to v2").click()
    assert "2 of 2 cases moved to v2" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("tr.moved").count() == 2
    screenshot(page, "designer-migrate-result")

    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        assert {c.definition_id for c in s.exec(select(Case)).all()} == {2}
    engine.dispose()


def test_narrow_screens_and_read_only_view(designer_server, browser, tmp_path):
    base, _db = designer_server
    context = browser.new_context(viewport={"width": 420, "height": 800})
    page = context.new_page()
    try:
        _sign_in(page, base)
        screenshot(page, "designer-index-420")
        page.goto(f"{base}/designer/versions/1")
        page.wait_for_selector("figure.diagram.diagram-ready")
        screenshot(page, "designer-version-420")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 440, f"the page scrolls sideways ({width}px)"
        page.goto(f"{base}/designer")
        _upload(page, tmp_path, FIXED)
        page.wait_for_url(f"{base}/designer/versions/2")
        page.goto(f"{base}/designer/compare?left=1&right=2")
        page.locator("figure.diagram.diagram-ready").nth(1).wait_for()  # both drawn (no eval: CSP)
        screenshot(page, "designer-compare-420")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 440, f"the compare page scrolls sideways ({width}px)"
        page.get_by_role("button", name="Sign out").click()
        page.goto(f"{base}/login?next=/designer/versions/1")
        page.get_by_label("Username").fill("agent")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/designer/versions/1")
        assert page.get_by_role("button", name="Retire v1").count() == 0
        assert page.get_by_role("link", name="Download BPMN").is_visible()
    finally:
        context.close()
