"""An admin subscribes a URL to case events and reads the delivery log, in Chromium, at 1280 and
420 px, with the keyboard and labelled fields."""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.outbox.models import OutboxEvent
from cases.users import create_user
from cases.webhooks.models import WebhookDelivery
from cases.webhooks.service import add_subscription
from engine.clock import utcnow
from tests.conftest import DATA

from .conftest import PASSWORD, running_server, screenshot

pytestmark = pytest.mark.browser


def _setup(s: Session) -> None:
    now = utcnow()
    deploy_file(s, (DATA / "deviations.bpmn").read_bytes(), filename="deviations.bpmn",
                actor="designer", now=now, activate=True)
    ann = create_user(s, username="ann", password=PASSWORD, role="agent", now=now,
                      teams=["Customer Care"])
    create_user(s, username="root", password=PASSWORD, role="admin", now=now,
                display_name="Ada Admin")
    customer = create_customer(s, actor="ann", now=now, name="Ada Byrne", account_number="C-1")
    open_case(s, actor=ann, now=now, customer_id=customer.id, process_id="dev_process",
              channel="phone")
    sub, _ = add_subscription(s, actor="root", now=now, url="https://93.184.216.34/crm/caseflow",
                              events="case_opened,task_opened")
    event = s.exec(select(OutboxEvent)).first()
    s.add(WebhookDelivery(subscription_id=sub.id, outbox_id=event.id, case_id=event.case_id,
                          event_type=event.type, status="failed", attempts=8,
                          last_status_code=503, last_error="answered 503", last_duration_ms=41,
                          created_at=now, updated_at=now))


@pytest.fixture(scope="module")
def hooks_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("webhooks") / "caseflow.sqlite3", _setup) as base:
        yield base


def test_admin_adds_a_webhook_and_sees_its_secret_once(page, hooks_server):
    base = hooks_server
    page.goto(f"{base}/login?next=/admin/webhooks")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url(f"{base}/admin/webhooks")
    screenshot(page, "webhooks-1280")
    page.get_by_label("URL").fill("http://169.254.169.254/latest/meta-data")
    page.get_by_label("Event types").fill("case_opened")
    page.get_by_label("Event types").press("Enter")  # submits the form from the keyboard
    assert "link-local" in page.get_by_role("alert").inner_text() + page.content()
    assert page.get_by_label("URL").get_attribute("aria-invalid") == "true"
    page.get_by_label("URL").fill("https://93.184.216.34/erp/hooks")
    page.get_by_role("button", name="Add webhook").click()
    secret = page.get_by_role("textbox", name="Secret").input_value()
    assert secret.startswith("whsec_")
    page.set_viewport_size({"width": 420, "height": 900})
    screenshot(page, "webhooks-added-420")
    page.get_by_role("link", name="Show only failed deliveries").click()
    assert "answered 503" in page.get_by_role("table").last.inner_text()
    assert secret not in page.content()
    screenshot(page, "webhooks-failed-420")
    page.get_by_role("button", name="Send delivery 1 again").click()
    assert "will be sent again" in page.get_by_role("status").inner_text()
