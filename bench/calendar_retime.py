"""Benchmark: re-timing open steps after a business calendar changed (cases/calendars/retime.py).

N complaint cases on a SQLite file, each with its "Acknowledge the complaint" step (PT24H) open,
timed in plain hours. An admin then adds a default Berlin calendar (Monday-Friday 08:00-18:00,
Berlin's public holidays). Prints, measured in one run: the admin's request (save plus scheduling
the job), the job's run (every step moved, one transaction and one event per case), a second run
after saving the calendar unchanged (nothing moves), and the run's cost per step against
completing a step.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its http.py would hide the standard library's
os.environ.setdefault("CASEFLOW_AUDIT_KEY", "bench-only-audit-key-" + "x" * 32)

from sqlmodel import Session, select  # noqa: E402

from cases.calendars import service as calendars  # noqa: E402
from cases.case_models import WorkItem  # noqa: E402
from cases.case_service import complete_step, open_case  # noqa: E402
from cases.customers import create_customer  # noqa: E402
from cases.db import make_engine, upgrade  # noqa: E402
from cases.definitions import deploy_file  # noqa: E402
from cases.events import CaseEvent  # noqa: E402
from cases.jobs.executor import Executor  # noqa: E402
from cases.users import create_user  # noqa: E402

T0 = datetime(2026, 12, 4, 17, 0, tzinfo=timezone.utc)  # Friday evening in Berlin
CASES = int(os.environ.get("CASEFLOW_BENCH_CASES", "300"))
LOGGED = {"complaint_about": "about_staff", "complaint_channel": "ch_phone",
          "complaint_summary": "Nobody called back"}
HOURS = {d: ("08:00", "18:00") for d in ("mon", "tue", "wed", "thu", "fri")}


def _cases(s: Session) -> float:
    """Open CASES complaints and log each; return milliseconds per completed step."""
    path = ROOT / "bpmn" / "complaint.bpmn"
    deploy_file(s, path.read_bytes(), filename=path.name, actor="designer", now=T0, activate=True)
    agent = create_user(s, username="ann", password="correct horse battery", role="agent", now=T0,
                        teams=["Customer Care", "Customer Relations"])
    s.commit()
    spent = 0.0
    for n in range(CASES):
        customer = create_customer(s, actor="ann", now=T0, name=f"Customer {n}",
                                   account_number=f"C-{n}")
        case = open_case(s, actor=agent, now=T0, customer_id=customer.id,
                         process_id="complaint", channel="phone")
        [item] = s.exec(select(WorkItem).where(WorkItem.case_id == case.id)).all()
        began = time.perf_counter()
        complete_step(s, actor=agent, now=T0, case_id=case.id, work_item_id=item.id,
                      data=LOGGED, expected_version=case.row_version)
        spent += time.perf_counter() - began
    return spent * 1000 / CASES


def _save(s: Session, calendar_id=None) -> float:
    began = time.perf_counter()
    calendars.save_calendar(s, actor="admin", now=T0 + timedelta(hours=1), calendar_id=calendar_id,
                            name="Berlin office", timezone="Europe/Berlin", country="DE",
                            subdivision="BE", hours=HOURS, is_default=True)
    return (time.perf_counter() - began) * 1000


def _run(engine) -> float:
    began = time.perf_counter()
    result = Executor(engine, clock=lambda: T0 + timedelta(hours=1),
                      kinds=(calendars.RETIME_KIND,)).run_until_idle(max_rounds=10_000)
    assert result.failed == 0, result
    return time.perf_counter() - began


def _moved(s: Session) -> int:
    return len(s.exec(select(CaseEvent.id).where(CaseEvent.type == "task_due_recomputed")).all())


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as s:
            per_step = _cases(s)
            request_ms = _save(s)
            first = _run(engine)
            moved = _moved(s)
            calendar_id = calendars.list_calendars(s)[0].id
            again_ms = _save(s, calendar_id)
            second = _run(engine)
            assert _moved(s) == moved, "a second run moved something again"
        print(f"{CASES} open steps; completing a step takes {per_step:.1f} ms")
        print(f"admin's request (save the calendar, schedule the job): {request_ms:.1f} ms; "
              f"saved again: {again_ms:.1f} ms")
        print(f"job run moving {moved} due times: {first:.2f} s, {first * 1000 / max(moved, 1):.1f} "
              f"ms a step ({first * 1000 / max(moved, 1) / per_step:.2f}x a completed step)")
        print(f"job run with nothing to move: {second:.2f} s "
              f"({second * 1000 / CASES:.2f} ms a step, {second / first:.2f}x the first run)")


if __name__ == "__main__":
    main()
