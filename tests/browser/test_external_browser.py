"""An agent sees which outside system a case waits for, in Chromium, at 1280 and 420 px."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.external_tasks import service as external
from cases.users import create_user
from engine.clock import utcnow
from tests.conftest import DATA

from .conftest import PASSWORD, running_server, screenshot

pytestmark = pytest.mark.browser


def _setup(s: Session) -> None:
    now = utcnow()
    deploy_file(s, (DATA / "external_tasks.bpmn").read_bytes(), filename="external_tasks.bpmn",
                actor="designer", now=now, activate=True)
    ann = create_user(s, username="ann", password=PASSWORD, role="agent", now=now,
                      display_name="Ann Agent", teams=["Customer Care"])
    customer = create_customer(s, actor="ann", now=now, name="Ada Byrne", account_number="C-1001")
    open_case(s, actor=ann, now=now, customer_id=customer.id, process_id="external_tasks",
              channel="phone")
    external.fetch_and_lock(s, actor=ann, now=now, worker_id="nms-provisioner-2",
                            topics={"network.provision": timedelta(hours=2)})


@pytest.fixture(scope="module")
def external_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("external") / "caseflow.sqlite3", _setup) as base:
        yield base


def test_the_case_page_names_the_worker_holding_the_step(page, external_server):
    base = external_server
    page.goto(f"{base}/login?next=/cases/1")
    page.get_by_label("Username").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/cases/1")
    section = page.get_by_role("region", name="Waiting for other systems")
    assert "nms-provisioner-2" in section.inner_text()
    assert "network.provision" in section.inner_text()
    screenshot(page, "case-external-1280")
    page.set_viewport_size({"width": 420, "height": 900})
    assert section.is_visible()
    screenshot(page, "case-external-420")
