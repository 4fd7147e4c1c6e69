"""Timer start events: what a compiled process declares, the pure schedule function, and starting
an instance through a timer start (plain and after save/restore against the stored spec)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine import runtime
from engine.definitions import compile_processes, process_from_spec_json
from engine.errors import StepNotFound, TimerInvalid
from engine.timer_starts import TimerStart, next_start_time
from tests.conftest import T0

from .helpers import DATA, Runner, complete, ready_ids

UTC = timezone.utc
ACTIVATED = datetime(2026, 11, 30, 17, 45, tzinfo=UTC)


@pytest.fixture(scope="module")
def processes():
    return compile_processes((DATA / "timer_start.bpmn").read_bytes(), "timer_start.bpmn")


@pytest.fixture(params=[False, True], ids=["plain", "roundtrip"])
def roundtrip(request):
    return request.param


def _process(processes, pid, roundtrip):
    process = processes[pid]
    return process_from_spec_json(pid, process.spec_json()) if roundtrip else process


def test_compiled_process_lists_its_timer_starts(processes, roundtrip):
    meter = _process(processes, "meter_check", roundtrip)
    assert meter.timer_starts == [TimerStart("Daily", "Every day at eight", "cycle",
                                             "R/2026-12-01T08:00Z/P1D")]
    campaign = _process(processes, "campaign", roundtrip)
    assert campaign.timer_starts == [TimerStart("Launch", "Campaign launch", "date",
                                                "2026-12-01T08:00:00+00:00")]


def test_event_subprocess_timer_is_not_a_timer_start():
    processes = compile_processes((DATA / "event_subprocesses.bpmn").read_bytes())
    assert processes["esp_timer"].timer_starts == []


@pytest.mark.parametrize("expression,fired,expected", [
    ("2026-12-01T08:00Z", 0, datetime(2026, 12, 1, 8, tzinfo=UTC)),
    ("2026-12-01T08:00Z", 1, None),
    ("'2026-12-01T09:00:00+01:00'", 0, datetime(2026, 12, 1, 8, tzinfo=UTC)),
    ("PT1H", 0, ACTIVATED + timedelta(hours=1)),
    ("PT1H", 1, None),
    ('"P1M"', 0, datetime(2026, 12, 30, 17, 45, tzinfo=UTC)),
    ("R3/PT1H", 0, ACTIVATED + timedelta(hours=1)),
    ("R3/PT1H", 2, ACTIVATED + timedelta(hours=3)),
    ("R3/PT1H", 3, None),
    ("R/2026-12-01T08:00Z/P1D", 0, datetime(2026, 12, 1, 8, tzinfo=UTC)),
    ("R/2026-12-01T08:00Z/P1D", 40, datetime(2027, 1, 10, 8, tzinfo=UTC)),
    ("R2/2027-01-15T00:00Z/P1M", 1, datetime(2027, 2, 15, tzinfo=UTC)),
    # SpiffWorkflow's month: the length of the month it starts in (as for every timer in a case)
    ("R2/2027-01-31T00:00Z/P1M", 1, datetime(2027, 3, 3, tzinfo=UTC)),
    ("R2/PT12H/2026-12-03T00:00Z", 0, datetime(2026, 12, 2, 12, tzinfo=UTC)),
])
def test_next_start_time(expression, fired, expected):
    due = next_start_time(expression, ACTIVATED, fired)
    assert due == expected and (due is None or type(due) is datetime)


@pytest.mark.parametrize("expression", ["0 8 * * *", "now + 1", "R3/PX1"])
def test_next_start_time_refuses_what_it_cannot_schedule(expression):
    with pytest.raises(TimerInvalid, match="Timer start expression"):
        next_start_time(expression, ACTIVATED, 0)


def test_start_through_a_timer_start_event_passes_it_at_once(processes, roundtrip):
    process = _process(processes, "meter_check", roundtrip)
    run = Runner(process, roundtrip)
    for now in (T0, datetime(2026, 12, 5, 8, tzinfo=UTC)):  # before and long after the cycle start
        inst = run.again(runtime.start(process, {"meter": 12}, now=now, start_event="Daily"))
        assert ready_ids(inst) == ["Read"], "one step, however many periods have passed"
        assert inst.next_timer_due() is None and inst.data["meter"] == 12
        complete(inst, "Read", now=now)
        assert inst.is_completed


def test_process_with_a_timer_start_still_starts_by_hand(processes, roundtrip):
    process = _process(processes, "meter_check", roundtrip)
    run = Runner(process, roundtrip)
    inst = run.start(now=T0)
    assert ready_ids(inst) == ["Read"] and inst.next_timer_due() is None
    complete(inst, "Read", now=T0)
    assert inst.is_completed


def test_timer_only_process_starts_through_its_timer(processes, roundtrip):
    process = _process(processes, "campaign", roundtrip)
    inst = Runner(process, roundtrip).again(runtime.start(process, now=T0, start_event="Launch"))
    assert ready_ids(inst) == ["Call"]


def test_unknown_start_event_is_refused(processes):
    with pytest.raises(StepNotFound, match="no start event 'Nightly' .*ByHand, Daily"):
        runtime.start(processes["meter_check"], now=T0, start_event="Nightly")
