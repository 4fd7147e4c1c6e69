"""Notifications (SQLite and PostgreSQL): each kind reaches the right people in the transaction
of the action that caused it; e-mails go through a real SMTP server the test starts, sent by the
job executor once per notification and recipient, however often the job runs or is retried."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases import approvals, events
from cases import deviation_service as dev
from cases.case_models import WorkItem
from cases.case_service import complete_step, get_case, open_case
from cases.definitions import deploy_file
from cases.errors import InvalidInput, NotFound, ProcessFailed
from cases.jobs import service as jobs
from cases.jobs.executor import Executor
from cases.jobs.models import Job
from cases.notifications import service as notifications
from cases.notifications.derive import EMAIL_KIND
from cases.notifications.models import Notification
from cases.sla_sweep import sweep
from cases.work_items import assign, claim
from tests.conftest import DATA, T0, Clock
from tests.smtp_server import SmtpServer

NOTE = "Customer asked on the phone"


@pytest.fixture
def case(session, install, people, customer):
    return open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="install_service", channel="phone")


@pytest.fixture
def smtp(monkeypatch):
    server = SmtpServer().start()
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def _mine(session, user) -> list[tuple[str, str]]:
    rows, _ = notifications.list_for(session, user.id)
    return [(n.kind, notifications.text_of(n)) for n in rows]


def _item(session, case) -> WorkItem:
    [item] = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                                 WorkItem.state == "open")).all()
    return item


def test_a_step_given_to_someone_tells_them_and_nobody_else(session, case, people):
    item = _item(session, case)
    assign(session, actor=people.sam, now=T0, work_item_id=item.id, assignee_id=people.bob.id)
    assert _mine(session, people.bob) == [
        ("assigned", f"sam gave you “Capture order” on case {case.id}")]
    assert _mine(session, people.sam) == [] and _mine(session, people.ann) == []
    assert notifications.unread_count(session, people.bob.id) == 1


def test_a_step_handed_to_another_team_tells_its_members(session, case, people):
    item = _item(session, case)
    dev.reassign(session, actor=people.ann, now=T0, case_id=case.id,
                 expected_version=case.row_version, reason_code="wrong_team", note=NOTE,
                 work_item_id=item.id, team="Field Operations")
    assert _mine(session, people.fran) == [
        ("team_handover", f"ann handed “Capture order” on case {case.id} to Field Operations")]
    assert _mine(session, people.bob) == [], "Customer Care is not the new team"


def test_a_request_tells_the_supervisors_and_the_decision_tells_the_requester(session, case,
                                                                            people):
    dev.cancel(session, actor=people.ann, now=T0, case_id=case.id,
               expected_version=case.row_version, reason_code="customer_withdrew", note=NOTE)
    assert _mine(session, people.sam) == [
        ("approval_waiting", f"ann asks to cancel the case on case {case.id}: {NOTE}")]
    assert _mine(session, people.bob) == [], "agents do not approve"
    [request] = approvals.for_case(session, case.id)
    approvals.reject(session, actor=people.sam, now=T0 + timedelta(minutes=1),
                     request_id=request.id, note="Call the customer back first")
    assert _mine(session, people.ann) == [
        ("request_decided", f"sam turned down your request to cancel the case on case "
                            f"{case.id}: Call the customer back first")]


def test_a_step_of_yours_at_risk_then_breached(session, case, people):
    item = _item(session, case)
    claim(session, actor=people.bob, now=T0, work_item_id=item.id)
    sweep(session, now=T0 + timedelta(minutes=24))  # 80% of the step's 30 minutes
    sweep(session, now=T0 + timedelta(minutes=31))
    assert _mine(session, people.bob) == [
        ("step_breached", f"“Capture order” on case {case.id} missed its deadline; a supervisor "
                          "was alerted"),
        ("step_at_risk", f"“Capture order” on case {case.id} is at risk of missing its deadline")]
    assert _mine(session, people.ann) == [], "ann opened the case but does not hold the step"


def test_an_incident_tells_whoever_works_the_case(session, people, customer):
    deploy_file(session, (DATA / "scripts.bpmn").read_bytes(), filename="scripts.bpmn",
                actor="designer", now=T0, activate=True)
    case = open_case(session, actor=people.ann, now=T0, customer_id=customer.id,
                     process_id="script_process", channel="phone")
    item = _item(session, case)
    claim(session, actor=people.bob, now=T0, work_item_id=item.id)
    with pytest.raises(ProcessFailed):
        complete_step(session, actor=people.bob, now=T0, case_id=case.id, work_item_id=item.id,
                      data={"items": "not a list", "spin": False},
                      expected_version=get_case(session, case.id).row_version)
    [(kind, text)] = _mine(session, people.bob)
    assert kind == "incident" and text.startswith(f"The process failed at Compute on case {case.id}")
    assert _mine(session, people.ann) == []


def test_notifications_exist_only_if_their_action_committed(session, case, people):
    item = _item(session, case)
    events.record(session, get_case(session, case.id), "task_assigned", actor="sam", at=T0,
                  element_id=item.element_id, details={"work_item_id": item.id,
                                                       "assignee": "bob"})
    session.rollback()
    assert session.exec(select(Notification)).all() == []


def test_the_same_cause_cannot_notify_the_same_person_twice(session, case, people):
    assign(session, actor=people.sam, now=T0, work_item_id=_item(session, case).id,
           assignee_id=people.bob.id)
    [note] = session.exec(select(Notification)).all()
    session.add(Notification(user_id=note.user_id, kind=note.kind, key=note.key, actor="sam",
                             created_at=T0))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()
    session.rollback()


def test_read_marks_are_personal(session, case, people):
    assign(session, actor=people.sam, now=T0, work_item_id=_item(session, case).id,
           assignee_id=people.bob.id)
    [note] = session.exec(select(Notification)).all()
    with pytest.raises(NotFound):
        notifications.mark_read(session, user=people.ann, now=T0, notification_id=note.id)
    notifications.mark_read(session, user=people.bob, now=T0, notification_id=note.id)
    assert notifications.unread_count(session, people.bob.id) == 0
    assert notifications.mark_all_read(session, user=people.bob, now=T0) == 0


def test_preferences_are_checked(session, people):
    with pytest.raises(InvalidInput) as refused:
        notifications.set_preferences(session, user=people.ann, now=T0, email="ann at home",
                                      email_kinds=["assigned", "gossip"])
    assert set(refused.value.errors) == {"email", "email_kinds"}
    assert notifications.preferences(session, people.ann.id).email == ""
    saved = notifications.set_preferences(session, user=people.ann, now=T0,
                                          email="ann@example.com", email_kinds=["assigned"])
    assert (saved.email, saved.email_kinds) == ("ann@example.com", frozenset({"assigned"}))


def smtp_is_quiet(server) -> bool:
    return server.received == []


def _executor(session, clock):
    return Executor(session.get_bind(), clock=clock, kinds=(EMAIL_KIND,))


def test_an_email_is_sent_once_however_often_its_job_runs(session, case, people, smtp):
    notifications.set_preferences(session, user=people.bob, now=T0, email="bob@example.com",
                                  email_kinds=["assigned"])
    notifications.set_preferences(session, user=people.fran, now=T0, email="fran@example.com",
                                  email_kinds=["assigned"])  # not team_handover
    item = _item(session, case)
    assign(session, actor=people.sam, now=T0, work_item_id=item.id, assignee_id=people.bob.id)
    dev.reassign(session, actor=people.sam, now=T0, case_id=case.id,
                 expected_version=get_case(session, case.id).row_version,
                 reason_code="wrong_team", note=NOTE, work_item_id=item.id,
                 team="Field Operations")
    assert [n.kind for n in notifications.list_for(session, people.fran.id)[0]] == [
        "team_handover"]
    clock = Clock(T0)
    assert _executor(session, clock).run_until_idle().done == 1
    [(to, msg)] = smtp.received
    assert to == ["bob@example.com"] and msg["Subject"] == "[Caseflow] A step was given to you"
    assert f"sam gave you “Capture order” on case {case.id}" in msg.get_content()
    note = session.exec(select(Notification).where(Notification.user_id == people.bob.id)
                        .execution_options(populate_existing=True)).one()
    assert (note.email_state, note.emailed_at) == ("sent", T0)
    assert session.exec(select(Job).where(Job.kind == EMAIL_KIND)).all() == []

    # The job runs again (a retry, a worker that took over an expired lease): nothing is sent.
    jobs.schedule(session, kind=EMAIL_KIND, key="again", due_at=T0, now=T0,
                  payload={"user_id": people.bob.id, "key": note.key})
    session.commit()
    assert _executor(session, clock).run_until_idle().done == 1
    assert len(smtp.received) == 1
    assert session.exec(select(Job).where(Job.kind == EMAIL_KIND)).all() == []


def test_a_server_that_was_down_gets_the_email_once_when_it_is_back(session, case, people,
                                                                    monkeypatch):
    server = SmtpServer()
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)  # nothing listens on the port yet
    notifications.set_preferences(session, user=people.bob, now=T0, email="bob@example.com",
                                  email_kinds=["assigned"])
    assign(session, actor=people.sam, now=T0, work_item_id=_item(session, case).id,
           assignee_id=people.bob.id)
    clock = Clock(T0)
    _executor(session, clock).run_until_idle()
    assert smtp_is_quiet(server)
    job = session.exec(select(Job).where(Job.kind == EMAIL_KIND)
                       .execution_options(populate_existing=True)).one()
    assert job.attempts == 1 and "Connection" in job.last_error and job.due_at > T0
    server.start()
    try:
        clock.advance(minutes=5)
        _executor(session, clock).run_until_idle()
        _executor(session, clock).run_until_idle()
        assert [to for to, _ in server.received] == [["bob@example.com"]]
    finally:
        server.stop()
    note = session.exec(select(Notification).execution_options(populate_existing=True)).one()
    assert note.email_state == "sent"


def test_without_an_smtp_server_the_email_is_skipped(session, case, people, monkeypatch):
    monkeypatch.delenv("CASEFLOW_SMTP_HOST", raising=False)
    notifications.set_preferences(session, user=people.bob, now=T0, email="bob@example.com",
                                  email_kinds=["assigned"])
    assign(session, actor=people.sam, now=T0, work_item_id=_item(session, case).id,
           assignee_id=people.bob.id)
    _executor(session, Clock(T0)).run_until_idle()
    note = session.exec(select(Notification).execution_options(populate_existing=True)).one()
    assert note.email_state == "skipped"
    assert json.loads(note.details)["actor_name"] == "sam"
