"""The app runs the job executor by itself: a real timer of one second fires with nobody
clicking, and the SLA sweep is scheduled, on the real clock."""
from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from cases.case_models import WorkItem
from cases.case_service import open_case
from cases.customers import create_customer
from cases.definitions import deploy_file
from cases.jobs.models import Job
from cases.settings import Settings
from cases.users import create_user
from engine.clock import utcnow
from tests.conftest import DATA, fresh_sqlite
from web.app import create_app

ONE_SECOND = (DATA / "timer_script.bpmn").read_bytes().replace(b"PT1H", b"PT1S")


def _wait_for(check, seconds: float = 20.0):
    """Poll a condition on the real clock (the executor works in its own thread)."""
    deadline, tick = time.monotonic() + seconds, threading.Event()
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        tick.wait(0.05)
    return check()


def test_serve_fires_a_real_timer_and_schedules_the_sla_sweep(tmp_path):
    url = fresh_sqlite(tmp_path / 'jobs.sqlite3')
    app = create_app(Settings(database_url=url, secret_key="x" * 40, run_jobs=True,
                              job_poll_seconds=0.05))
    with Session(app.state.engine) as s:
        now = utcnow()
        deploy_file(s, ONE_SECOND, filename="timer_script.bpmn", actor="designer", now=now,
                    activate=True)
        agent = create_user(s, username="ann", password="a long enough passphrase 81", role="agent",
                            now=now, teams=["Customer Care"])
        customer = create_customer(s, actor="ann", now=now, name="Ada", account_number="C-1")
        case_id = open_case(s, actor=agent, now=now, customer_id=customer.id,
                            process_id="timer_script", channel="phone", data={"divisor": 4}).id
    with TestClient(app):
        def review_opened():
            with Session(app.state.engine) as s:
                return s.exec(select(WorkItem).where(WorkItem.case_id == case_id,
                                                     WorkItem.element_id == "Review")).first()

        assert _wait_for(review_opened) is not None, "the timer fired with nobody clicking"
        with Session(app.state.engine) as s:
            sweep = s.exec(select(Job).where(Job.kind == "sla_sweep")).one()
            assert sweep.due_at > now, "the SLA sweep ran once and comes back by itself"
    assert app.state.executor._thread is not None and not app.state.executor._thread.is_alive()


def test_jobs_can_be_left_to_separate_workers(tmp_path):
    url = fresh_sqlite(tmp_path / 'nojobs.sqlite3')
    app = create_app(Settings(database_url=url, secret_key="x" * 40, run_jobs=False))
    with TestClient(app):
        assert app.state.executor is None
