"""Business calendars: how a target counts working time (across weekends and public holidays),
and the calendar used by new steps, the SLA sweep and a paused clock (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import select

from cases import deviation_service as dev
from cases.calendars import service as calendars
from cases.calendars.clock import WorkingClock, parse_hours
from cases.calendars.models import BusinessCalendar, TeamCalendar
from cases.calendars.service import _public_holidays
from cases.case_models import Case, WorkItem
from cases.case_service import complete_step, open_case
from cases.errors import InvalidInput
from cases.events import CaseEvent
from cases.sla_sweep import sweep

from .conftest import deploy_shipped

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_8_TO_18 = parse_hours("08:00-18:00," * 5 + ",")
HOURS_FORM = {d: ("08:00", "18:00") for d in ("mon", "tue", "wed", "thu", "fri")}


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture(scope="module")
def clock() -> WorkingClock:
    """Monday-Friday 08:00-18:00 in Berlin, closed on Berlin's public holidays."""
    return WorkingClock(BERLIN, WEEKDAYS_8_TO_18, _public_holidays("DE", "BE"))


# ---- the rule, without a database -------------------------------------------------------------

@pytest.mark.parametrize("opened", [
    berlin(2026, 12, 4, 18, 0),   # Friday at closing time
    berlin(2026, 12, 4, 21, 30),  # Friday evening
    berlin(2026, 12, 5, 11, 0),   # Saturday
    berlin(2026, 12, 7, 6, 0),    # Monday before opening
])
def test_a_day_opened_on_friday_evening_is_due_on_monday_evening(clock, opened):
    assert clock.add(opened, timedelta(hours=24)) == berlin(2026, 12, 7, 18, 0)
    assert clock.add(opened, timedelta(days=1)) == berlin(2026, 12, 7, 18, 0), "P1D = PT24H"


def test_whole_days_keep_the_time_of_day_and_hours_count_working_hours(clock):
    friday_10 = berlin(2026, 12, 4, 10, 0)
    assert clock.add(friday_10, timedelta(hours=24)) == berlin(2026, 12, 7, 10, 0)
    assert clock.add(friday_10, timedelta(days=3)) == berlin(2026, 12, 9, 10, 0)
    assert clock.add(berlin(2026, 12, 4, 17, 0), timedelta(hours=4)) == berlin(2026, 12, 7, 11, 0)
    assert clock.add(berlin(2026, 12, 4, 18, 0), timedelta(hours=4)) == berlin(2026, 12, 7, 12, 0)
    assert clock.add(berlin(2026, 12, 7, 9, 0), timedelta(minutes=30)) == berlin(2026, 12, 7, 9, 30)
    # a day and a half: one working day, then five working hours
    assert clock.add(friday_10, timedelta(hours=29)) == berlin(2026, 12, 7, 15, 0)


def test_public_holidays_do_not_count(clock):
    # Christmas Day (Friday) and St Stephen's Day (Saturday) are public holidays in Germany
    assert clock.add(berlin(2026, 12, 24, 18, 0), timedelta(hours=24)) == berlin(2026, 12, 28, 18, 0)
    # New Year's Day, a Friday
    assert clock.add(berlin(2026, 12, 31, 12, 0), timedelta(hours=24)) == berlin(2027, 1, 4, 12, 0)
    # International Women's Day (Monday 8 March 2027) is a holiday in Berlin only
    friday = berlin(2027, 3, 5, 18, 0)
    assert clock.add(friday, timedelta(hours=24)) == berlin(2027, 3, 9, 18, 0)
    elsewhere = WorkingClock(BERLIN, WEEKDAYS_8_TO_18, _public_holidays("DE", "BY"))
    assert elsewhere.add(friday, timedelta(hours=24)) == berlin(2027, 3, 8, 18, 0)


def test_working_time_between_two_moments_skips_nights_weekends_and_holidays(clock):
    assert clock.working_between(berlin(2026, 12, 4, 17, 0), berlin(2026, 12, 7, 9, 0)) \
        == timedelta(hours=2)
    assert clock.working_between(berlin(2026, 12, 24, 8, 0), berlin(2026, 12, 29, 8, 0)) \
        == timedelta(hours=20)  # Thursday 24th and Monday 28th
    assert clock.working_between(berlin(2026, 12, 5, 9, 0), berlin(2026, 12, 6, 9, 0)) == timedelta(0)


def test_at_risk_is_a_share_of_the_working_time(clock):
    opened = berlin(2026, 12, 4, 8, 0)
    due = clock.add(opened, timedelta(hours=11))  # ten hours on Friday, one on Monday
    assert due == berlin(2026, 12, 7, 9, 0)
    assert clock.at_risk_at(opened, due, 0.8) == berlin(2026, 12, 4, 16, 48)
    friday_evening = berlin(2026, 12, 4, 18, 0)
    due = clock.add(friday_evening, timedelta(hours=24))
    assert clock.at_risk_at(friday_evening, due, 0.8) == berlin(2026, 12, 7, 16, 0)
    assert clock.state_at(friday_evening, due, berlin(2026, 12, 6, 12, 0), 0.8) == "on_time"
    assert clock.state_at(friday_evening, due, berlin(2026, 12, 7, 16, 0), 0.8) == "at_risk"
    assert clock.state_at(friday_evening, due, berlin(2026, 12, 7, 18, 0), 0.8) == "breached"


def test_a_day_that_changes_to_summer_time_has_its_true_length():
    # 29 March 2026, a Sunday open 00:00-06:00 local: the clocks jump from 02:00 to 03:00
    hours = parse_hours(",,,,,,00:00-06:00")
    sunday = WorkingClock(BERLIN, hours)
    assert sunday.working_between(berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 29, 6, 0)) \
        == timedelta(hours=5)


@pytest.mark.parametrize("text, message", [
    ("08:00-18:00", "seven entries"),
    ("18:00-08:00,,,,,,", "after the opening"),
    ("8h-18h,,,,,,", "08:00-18:00"),
    (",,,,,,", "at least one working day"),
])
def test_stored_hours_that_make_no_sense_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_hours(text)


# ---- stored calendars ------------------------------------------------------------------------

def _berlin_calendar(session, *, name="Berlin office", default=True, **kwargs):
    values = {"timezone": "Europe/Berlin", "country": "DE", "subdivision": "BE",
              "hours": HOURS_FORM, "is_default": default, **kwargs}
    return calendars.save_calendar(session, actor="admin", now=datetime(2026, 12, 1, tzinfo=timezone.utc),
                                   name=name, **values)


@pytest.mark.parametrize("changes, field", [
    ({"timezone": "Europe/Atlantis"}, "timezone"),
    ({"country": "XX"}, "country"),
    ({"subdivision": "ZZ"}, "subdivision"),
    ({"hours": {"mon": ("18:00", "08:00")}}, "mon_open"),
    ({"hours": {"tue": ("08:00", "")}}, "tue_open"),
    ({"hours": {"wed": ("8 o'clock", "18:00")}}, "wed_open"),
    ({"hours": {}}, "mon_open"),
    ({"name": " "}, "name"),
])
def test_a_calendar_with_bad_fields_is_refused_naming_the_field(session, changes, field):
    values = {"name": "Berlin office", **changes}
    with pytest.raises(InvalidInput) as err:
        _berlin_calendar(session, **values)
    assert field in err.value.errors
    assert session.exec(select(sa.func.count()).select_from(BusinessCalendar)).one() == 0


def test_one_default_calendar_and_teams_with_their_own(session):
    berlin_cal = _berlin_calendar(session)
    assert berlin_cal.hours == "08:00-18:00,08:00-18:00,08:00-18:00,08:00-18:00,08:00-18:00,,"
    with pytest.raises(InvalidInput, match="exists already"):
        _berlin_calendar(session)
    field = _berlin_calendar(session, name="Field crews", timezone="Europe/Dublin", country="IE",
                             subdivision="", hours={**HOURS_FORM, "sat": ("09:00", "13:00")})
    assert [c.name for c in calendars.list_calendars(session) if c.is_default] == ["Field crews"]
    calendars.assign_team(session, actor="admin", now=datetime.now(timezone.utc),
                          team="  Customer   Relations ", calendar_id=berlin_cal.id)
    assert calendars.calendar_for_team(session, "Customer Relations").id == berlin_cal.id
    assert calendars.calendar_for_team(session, "Anyone else").id == field.id
    assert calendars.calendar_for_team(session, None).id == field.id
    calendars.delete_calendar(session, actor="admin", now=datetime.now(timezone.utc),
                              calendar_id=berlin_cal.id)
    assert session.exec(select(TeamCalendar)).all() == []
    assert calendars.calendar_for_team(session, "Customer Relations").id == field.id


# ---- steps timed on the calendar --------------------------------------------------------------

COMPLAINT_PROMISE = timedelta(days=14)  # the complaint process's caseflow.sla
LOGGED = {"complaint_about": "about_staff", "complaint_channel": "ch_phone",
          "complaint_summary": "Nobody called back"}


def _complaint_logged_at(session, people, customer, logged_at: datetime) -> tuple[Case, WorkItem]:
    """A complaint whose 'Acknowledge the complaint' step (Customer Relations, PT24H) opens at
    `logged_at`."""
    deploy_shipped(session, "complaint")
    opened = logged_at - timedelta(minutes=10)
    case = open_case(session, actor=people.ann, now=opened, customer_id=customer.id,
                     process_id="complaint", channel="phone", contacted_at=opened)
    [log] = session.exec(select(WorkItem).where(WorkItem.case_id == case.id)).all()
    case = complete_step(session, actor=people.ann, now=logged_at, case_id=case.id,
                         work_item_id=log.id, data=LOGGED, expected_version=case.row_version)
    ack = session.exec(select(WorkItem).where(WorkItem.case_id == case.id,
                                              WorkItem.element_id == "Task_AcknowledgeComplaint")).one()
    return case, ack


def test_a_step_opened_on_friday_evening_is_due_on_monday_evening(session, people, customer):
    _berlin_calendar(session)
    case, ack = _complaint_logged_at(session, people, customer, berlin(2026, 12, 4, 18, 0))
    assert ack.team == "Customer Relations"
    assert ack.due_at == berlin(2026, 12, 7, 18, 0)
    opened = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                  CaseEvent.type == "task_opened",
                                                  CaseEvent.element_id == ack.element_id)).one()
    assert json.loads(opened.details)["due_at"] == ack.due_at.isoformat()
    # the customer's clock is not a business clock: the promise counts every hour
    assert case.promised_at == case.contacted_at + COMPLAINT_PROMISE


def test_over_christmas_and_for_a_team_with_its_own_calendar(session, people, customer):
    berlin_cal = _berlin_calendar(session, default=False)
    _, ack = _complaint_logged_at(session, people, customer, berlin(2026, 12, 24, 18, 0))
    assert ack.due_at == berlin(2026, 12, 24, 18, 0) + timedelta(hours=24), "no calendar: every hour"
    calendars.assign_team(session, actor="admin", now=berlin(2026, 12, 1), team="Customer Relations",
                          calendar_id=berlin_cal.id)
    _, ack = _complaint_logged_at(session, people, customer, berlin(2026, 12, 24, 18, 0))
    assert ack.due_at == berlin(2026, 12, 28, 18, 0), "Christmas and the weekend do not count"


def test_the_sweep_counts_working_time_across_the_weekend(session, people, customer):
    _berlin_calendar(session)
    case, ack = _complaint_logged_at(session, people, customer, berlin(2026, 12, 4, 18, 0))
    # In plain hours 80% of Friday 18:00 -> Monday 18:00 is used on Sunday morning; in working
    # time nothing is used before Monday 08:00 and 80% at Monday 16:00.
    for moment in (berlin(2026, 12, 6, 9, 0), berlin(2026, 12, 7, 15, 59)):
        assert sweep(session, now=moment).at_risk == 0, moment
    assert sweep(session, now=berlin(2026, 12, 7, 16, 0)).at_risk == 1
    assert sweep(session, now=berlin(2026, 12, 7, 17, 59)).breached == 0
    assert sweep(session, now=berlin(2026, 12, 7, 18, 0)).breached == 1
    flags = [e.type for e in session.exec(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.type.in_(("sla_at_risk", "sla_breached")),
        CaseEvent.element_id == ack.element_id)).all()]
    assert flags == ["sla_at_risk", "sla_breached"]


def test_a_customer_caused_hold_moves_the_target_by_the_working_time_held(session, people, customer):
    _berlin_calendar(session)
    case, ack = _complaint_logged_at(session, people, customer, berlin(2026, 12, 3, 10, 0))
    assert ack.due_at == berlin(2026, 12, 4, 10, 0)
    case = dev.hold(session, actor=people.ann, now=berlin(2026, 12, 3, 16, 0), case_id=case.id,
                    expected_version=case.row_version, reason_code="customer_away",
                    note="Customer travelling, back on Monday")
    # held Thursday 16:00 -> Monday 10:00: 2 + 10 + 2 = 14 working hours
    dev.resume(session, actor=people.ann, now=berlin(2026, 12, 7, 10, 0), case_id=case.id,
               expected_version=case.row_version, reason_code="customer_available_again",
               note="Customer is back")
    session.expire_all()
    assert session.get(WorkItem, ack.id).due_at == berlin(2026, 12, 7, 14, 0)  # Fri 10:00 + 14 h


def test_a_hold_over_a_weekend_only_moves_no_target(session, people, customer):
    _berlin_calendar(session)
    case, ack = _complaint_logged_at(session, people, customer, berlin(2026, 12, 4, 18, 0))
    case = dev.hold(session, actor=people.ann, now=berlin(2026, 12, 5, 10, 0), case_id=case.id,
                    expected_version=case.row_version, reason_code="customer_away",
                    note="Customer away for the weekend")
    dev.resume(session, actor=people.ann, now=berlin(2026, 12, 6, 20, 0), case_id=case.id,
               expected_version=case.row_version, reason_code="customer_available_again",
               note="Customer is back")
    session.expire_all()
    assert session.get(WorkItem, ack.id).due_at == berlin(2026, 12, 7, 18, 0)
