"""Changing a business calendar re-times the open steps computed from it: by a job, not in the
admin's request; logged on each case; never a due time a person set; holds the customer caused
still count (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import select

from cases import deviation_service as dev
from cases.audit import verify
from cases.calendars import retime
from cases.calendars import service as calendars
from cases.case_models import Case, WorkItem
from cases.case_view import describe
from cases.events import CaseEvent
from cases.jobs.executor import Executor
from cases.jobs.models import Job

from .test_calendars import HOURS_FORM, _complaint_logged_at, berlin


def _run_jobs(session, now):
    session.commit()
    return Executor(session.get_bind(), clock=lambda: now,
                    kinds=(calendars.RETIME_KIND,)).run_until_idle()


def _recomputed(session, case_id) -> list[dict]:
    return [json.loads(e.details) for e in session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id,
                                CaseEvent.type == "task_due_recomputed")
        .order_by(CaseEvent.seq)).all()]


def _due(session, item_id):
    session.expire_all()
    return session.get(WorkItem, item_id).due_at


def _save(session, now, *, calendar_id=None, hours=HOURS_FORM):
    return calendars.save_calendar(session, actor="admin", now=now, calendar_id=calendar_id,
                                   name="Berlin office", timezone="Europe/Berlin", country="DE",
                                   subdivision="BE", hours=hours, is_default=True)


def test_a_new_calendar_re_times_open_steps_but_not_a_deadline_set_by_hand(
        session, people, customer, monkeypatch):
    monkeypatch.setattr(retime, "BATCH", 1)  # one case a run: the job comes back for the rest
    friday_evening = berlin(2026, 12, 4, 18, 0)
    first, ack1 = _complaint_logged_at(session, people, customer, friday_evening)
    second, ack2 = _complaint_logged_at(session, people, customer, friday_evening)
    by_hand, ack3 = _complaint_logged_at(session, people, customer, friday_evening)
    assert ack1.due_at == friday_evening + timedelta(hours=24), "no calendar yet: every hour"
    agreed = berlin(2026, 12, 9, 12, 0)
    dev.extend_deadline(session, actor=people.sam, now=friday_evening, case_id=by_hand.id,
                        expected_version=by_hand.row_version, reason_code="customer_away",
                        note="Customer agreed Wednesday noon", work_item_id=ack3.id,
                        due_at=agreed)

    changed_at = berlin(2026, 12, 4, 19, 0)
    _save(session, changed_at)
    assert _due(session, ack1.id) == friday_evening + timedelta(hours=24), \
        "nothing moves in the admin's request"
    assert session.exec(select(Job).where(Job.kind == "calendar_retime")).one()

    _run_jobs(session, changed_at)
    monday_evening = berlin(2026, 12, 7, 18, 0)
    assert [_due(session, i.id) for i in (ack1, ack2, ack3)] == [monday_evening, monday_evening,
                                                                 agreed]
    for case in (first, second):
        [event] = _recomputed(session, case.id)
        assert event["work_item_id"] in (ack1.id, ack2.id)
        assert datetime.fromisoformat(event["to"]) == monday_evening
        assert event["calendar"] == "Berlin office"
        assert "Berlin office" in event["why"] and "admin" in event["why"]
        assert verify(session, case.id) == []
    assert _recomputed(session, by_hand.id) == []
    assert session.exec(select(Job).where(Job.kind == "calendar_retime")).all() == []
    text = describe("task_due_recomputed", _recomputed(session, first.id)[0], who="system",
                    step="Acknowledge the complaint", names={}, people={}, reasons={})
    assert "07 Dec 2026 17:00 UTC" in text and "Berlin office" in text

    # saving again with nothing changed moves nothing and logs nothing twice
    calendar = calendars.list_calendars(session)[0]
    _save(session, berlin(2026, 12, 4, 19, 30), calendar_id=calendar.id)
    _run_jobs(session, berlin(2026, 12, 4, 19, 30))
    assert len(_recomputed(session, first.id)) == 1 and len(_recomputed(session, second.id)) == 1


def test_a_changed_calendar_keeps_the_hold_the_customer_caused(session, people, customer):
    calendar = _save(session, berlin(2026, 12, 1))
    case, ack = _complaint_logged_at(session, people, customer, berlin(2026, 12, 3, 10, 0))
    case = dev.hold(session, actor=people.ann, now=berlin(2026, 12, 3, 16, 0), case_id=case.id,
                    expected_version=case.row_version, reason_code="customer_away",
                    note="Customer travelling, back on Monday")
    dev.resume(session, actor=people.ann, now=berlin(2026, 12, 7, 9, 0), case_id=case.id,
               expected_version=case.row_version, reason_code="customer_available_again",
               note="Customer is back")
    # held Thursday 16:00 -> Monday 09:00 on 08-18: 2 + 10 + 1 = 13 working hours after Fri 10:00
    assert _due(session, ack.id) == berlin(2026, 12, 7, 13, 0)

    shorter = {d: ("08:00", "16:00") for d in HOURS_FORM}
    _save(session, berlin(2026, 12, 7, 9, 30), calendar_id=calendar.id, hours=shorter)
    _run_jobs(session, berlin(2026, 12, 7, 9, 30))
    # on 08-16: due Friday 10:00 as before; the hold now held 0 + 8 + 1 = 9 working hours, so
    # Friday 10:00-16:00 (6 h) and Monday 08:00-11:00 (3 h)
    assert _due(session, ack.id) == berlin(2026, 12, 7, 11, 0)
    [event] = _recomputed(session, case.id)
    assert [datetime.fromisoformat(event[k]) for k in ("from", "to")] == [
        berlin(2026, 12, 7, 13, 0), berlin(2026, 12, 7, 11, 0)]


def test_a_team_moved_to_its_own_calendar_and_a_removed_calendar_re_time_too(session, people,
                                                                               customer):
    logged = berlin(2026, 12, 24, 18, 0)
    case, ack = _complaint_logged_at(session, people, customer, logged)
    own = calendars.save_calendar(session, actor="admin", now=logged, name="Relations",
                                  timezone="Europe/Berlin", country="DE", subdivision="BE",
                                  hours=HOURS_FORM)
    _run_jobs(session, logged)
    assert _due(session, ack.id) == logged + timedelta(hours=24), "not the team's calendar yet"
    calendars.assign_team(session, actor="admin", now=logged, team="Customer Relations",
                          calendar_id=own.id)
    _run_jobs(session, logged)
    assert _due(session, ack.id) == berlin(2026, 12, 28, 18, 0), "Christmas does not count"
    calendars.delete_calendar(session, actor="admin", now=logged, calendar_id=own.id)
    _run_jobs(session, logged)
    assert _due(session, ack.id) == logged + timedelta(hours=24), "back to every hour"
    assert [e["why"].split(" (by")[0] for e in _recomputed(session, case.id)] == [
        "Customer Relations moved to another calendar", "the calendar “Relations” was removed"]
    assert session.get(Case, case.id).status == "open"
