"""Benchmark: insights on 100,000 cases and 1,000,000 events (SQLite file).

BENCHMARK ONLY: the history is bulk-inserted with SQLAlchemy Core (no services, no engine, fake
hashes) because building a million events through the real services would take hours; this
measures reading. Real histories come from the services (`caseflow simulate` builds one).

Shape of the data, install_service (v1 with Agree appointment, v2 without it, 70% / 30% of cases):
each case has 6-9 steps as work items (done, some skipped or gone back to, the last cases still
open), case_opened, a task_completed event per finished step and case_resolved (~10 events a case), a
deviation row and event where agents deviated (skip 30% at Agree appointment in v1, go-back 15%
at Install on site, overrides at the activation decision), due times from the model with ~8%
breaches. Prints the time of each insight (median of 5 runs) and checks the two goals:
exception report and heatmap data each under 1 s.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository first, not bench/: bench/http.py would hide the standard library's http.
sys.path[0] = str(ROOT)

import sqlalchemy as sa
from sqlmodel import Session

from cases import insights
from cases.case_models import Case, WorkItem, minutes_between
from cases.customers import create_customer
from cases.db import make_engine, upgrade
from cases.definitions import deploy_file
from cases.deviations import Deviation
from cases.events import CaseEvent
from cases.reason_codes import sync_reason_codes
from cases.simulate import without_step
from engine.store import WorkflowInstance

CASES = 100_000
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
NOW = START + timedelta(days=120)
STEPS = [  # element, team, SLA hours
    ("Task_CaptureOrder", "Customer Care", 0.5), ("Task_CheckEligibility", "Customer Care", 1),
    ("Task_AgreeAppointment", "Customer Care", 24), ("Task_ProvisionNetwork", "Network Operations", 72),
    ("Task_InstallOnSite", "Field Operations", 4), ("Task_ActivationTest", "Field Operations", 1),
    ("Task_ConfirmWorking", "Customer Care", 24)]
CHANNELS = ["phone", "web", "store", "email", "social"]
AGENTS = [f"agent{i}" for i in range(40)]
BATCH = 20_000


class Rows:
    """Collects rows per table and flushes them in batches (executemany)."""

    def __init__(self, conn):
        self.conn, self.rows = conn, {Case: [], WorkItem: [], CaseEvent: [], Deviation: []}
        self.counts = dict.fromkeys(self.rows, 0)

    def add(self, model, row):
        self.rows[model].append(row)

    def case_done(self):
        """Flush at a case boundary once a batch is full, so every row's case is written too."""
        if any(len(rows) >= BATCH for rows in self.rows.values()):
            self.flush()

    def flush(self):
        """Write every pending row, cases first (work items, events and deviations refer to them)."""
        for m in self.rows:
            if self.rows[m]:
                self.conn.execute(sa.insert(m), self.rows[m])
                self.counts[m] += len(self.rows[m])
                self.rows[m] = []


def build(url: str) -> tuple[int, int]:
    upgrade(url)
    engine = make_engine(url)
    rnd = random.Random(7)
    path = ROOT / "bpmn" / "install_service.bpmn"
    with Session(engine) as s:
        sync_reason_codes(s)
        v1 = deploy_file(s, path.read_bytes(), filename=path.name, actor="bench", now=START,
                         activate=True).versions[0].id
        v2 = deploy_file(s, without_step(path.read_bytes(), "Task_AgreeAppointment"),
                         filename=path.name, actor="bench", now=START,
                         activate=True).versions[0].id
        customer = create_customer(s, actor="bench", now=START, name="Bench", account_number="B-1").id
    with engine.begin() as conn:
        conn.execute(sa.insert(WorkflowInstance), [
            {"definition_id": v1, "state": "{}", "serializer_version": "bench", "status": "completed",
             "created_at": START, "updated_at": START} for _ in range(CASES)])
        first_instance = conn.execute(sa.select(sa.func.min(WorkflowInstance.id))).scalar()
        first_case = (conn.execute(sa.select(sa.func.max(Case.id))).scalar() or 0) + 1
        first_item = (conn.execute(sa.select(sa.func.max(WorkItem.id))).scalar() or 0) + 1
        rows = Rows(conn)
        item_id = first_item
        span = (NOW - START).total_seconds() * 0.97
        for n in range(CASES):
            case_id = first_case + n
            version = v1 if n < CASES * 0.7 else v2
            opened = START + timedelta(seconds=span * (n / CASES))
            seq = 0

            def event(type_, at, element=None, actor="engine", details="{}", case_id=case_id):
                nonlocal seq
                seq += 1
                rows.add(CaseEvent, {"case_id": case_id, "seq": seq, "type": type_, "actor": actor,
                                     "at": at, "element_id": element, "details": details,
                                     "prev_hash": None, "hash": "bench"})

            event("case_opened", opened, actor=rnd.choice(AGENTS))
            # events kept to what a case's log mostly holds (~10 a case): opened, one per finished
            # step, deviations, resolved; the insights read work items and deviations, not events
            at = opened
            open_case = opened > NOW - timedelta(days=3) and rnd.random() < 0.5
            steps = [s for s in STEPS if version == v1 or s[0] != "Task_AgreeAppointment"]
            if rnd.random() < 0.15:  # rework: back to Install on site once
                i = [s[0] for s in steps].index("Task_InstallOnSite")
                steps = steps[:i + 2] + steps[i:i + 2] + steps[i + 2:]
            for k, (element, team, sla) in enumerate(steps):
                due = at + timedelta(hours=sla)
                late = rnd.random() < (0.25 if team == "Field Operations" else 0.06)
                took = timedelta(hours=sla * (rnd.uniform(1.1, 2.5) if late else rnd.uniform(0.1, 0.8)))
                last = open_case and k == len(steps) - 1
                skipped = version == v1 and element == "Task_AgreeAppointment" and rnd.random() < 0.3
                state = "open" if last else "cancelled" if skipped else "done"
                agent = rnd.choice(AGENTS)
                rows.add(WorkItem, {
                    "id": item_id, "case_id": case_id, "definition_id": version,
                    "task_id": f"t{item_id}",
                    "element_id": element, "name": element[5:], "kind": "userTask", "team": team,
                    "assignee_id": None, "state": state, "due_at": due, "created_at": at,
                    "completed_at": None if last else at + took, "sla_state": "on_time",
                    "minutes_spent": None if state != "done" else minutes_between(at, at + took)})
                if last:
                    break
                at += took
                if skipped:
                    rows.add(Deviation, {"case_id": case_id, "kind": "skip", "element_id": element,
                                         "reason_code": "customer_already_confirmed", "note": "bench",
                                         "actor": agent, "definition_id": version, "at": at,
                                         "details": "{}"})
                    event("task_skipped", at, element, agent,
                          '{"reason_code":"customer_already_confirmed"}')
                else:
                    event("task_completed", at, element, agent)
                if element == "Task_ActivationTest" and k + 1 < len(steps) \
                        and steps[k + 1][0] == "Task_InstallOnSite":
                    rows.add(Deviation, {"case_id": case_id, "kind": "go_back",
                                         "element_id": "Task_InstallOnSite",
                                         "reason_code": "previous_step_done_wrong", "note": "bench",
                                         "actor": agent, "definition_id": version, "at": at,
                                         "details": "{}"})
                    event("process_rewound_to_task", at, "Task_InstallOnSite", agent,
                          '{"reason_code":"previous_step_done_wrong"}')
                if element == "Task_InstallOnSite" and rnd.random() < 0.05:
                    rows.add(Deviation, {"case_id": case_id, "kind": "override_decision",
                                         "element_id": "Gateway_ActivationOk",
                                         "reason_code": "decision_rule_wrong", "note": "bench",
                                         "actor": "supervisor", "definition_id": version, "at": at,
                                         "details": "{}"})
                    event("decision_overridden", at, "Gateway_ActivationOk", "supervisor")
                item_id += 1
            else:
                event("end_reached", at, "EndEvent_ServiceWorking")
                event("case_resolved", at, actor=agent)
            item_id += 1
            rows.add(Case, {
                "id": case_id, "customer_id": customer, "definition_id": version,
                "instance_id": first_instance + n, "process_id": "install_service",
                "channel": rnd.choice(CHANNELS), "priority": 0,
                "status": "open" if open_case else "resolved", "contacted_at": opened,
                "opened_at": opened, "promised_at": opened + timedelta(days=10),
                "closed_at": None if open_case else at, "opened_by": "agent0", "row_version": 1,
                "event_seq": seq, "event_hash": "bench", "sla_state": "on_time"})
            rows.case_done()
        rows.flush()
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return rows.counts[Case], rows.counts[CaseEvent]


def timed(fn, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    keep = os.environ.get("BENCH_DB")  # a path: build once, then reuse (for tuning queries)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(keep) if keep else Path(tmp) / "insights.sqlite3"
        url = f"sqlite:///{path}"
        if not path.exists():
            t = time.perf_counter()
            cases, events = build(url)
            print(f"built {cases:,} cases, {events:,} events in {time.perf_counter() - t:.0f} s "
                  "(bulk insert, benchmark only)")
        engine = make_engine(url)
        with Session(engine) as s:
            v1, v2 = insights.versions(s, "install_service")
            ids = [v1.id, v2.id]
            figures = {
                "exception report (v1, 70,000 cases)": lambda: insights.exception_report(
                    s, v1, now=NOW),
                "heatmap data (v1, deviation rate)": lambda: insights.heatmap(
                    insights.exception_report(s, v1, now=NOW, with_times=False), "rate"),
                "heatmap data (v1, median time)": lambda: insights.heatmap(
                    insights.exception_report(s, v1, now=NOW), "time"),
                "exception report, filtered (team, channel)": lambda: insights.exception_report(
                    s, v1, now=NOW, filters=insights.Filters(team="Field Operations",
                                                             channel="web")),
                "version comparison (v1 vs v2)": lambda: insights.compare_versions(
                    s, v1, v2, now=NOW),
                "customer scorecard (v1)": lambda: insights.scorecard(s, [v1.id], now=NOW),
                "weekly trends (both versions)": lambda: insights.trends(s, ids),
                "redesign candidates (v1)": lambda: insights.redesign_candidates(s, v1, now=NOW),
                "drill-down: skipped at Agree appointment": lambda: insights.drill_down(
                    s, [v1.id], measure="kind", element_id="Task_AgreeAppointment",
                    value="skip", now=NOW),
            }
            # the floor on this machine right now: one plain grouped pass over the work items
            floor = timed(lambda: s.execute(sa.text(
                "SELECT element_id, count(*) FROM work_item GROUP BY element_id")).all())
            print(f"{'baseline: one grouped scan of work_item':48} {floor * 1000:8.0f} ms")
            results = {}
            for name, fn in figures.items():
                results[name] = timed(fn)
                print(f"{name:48} {results[name] * 1000:8.0f} ms")
            report = insights.exception_report(s, v1, now=NOW)
            agree = report.element("Task_AgreeAppointment")
            print(f"check: {report.cases:,} cases in v1, Agree appointment skipped in "
                  f"{agree.rate:.1%} of {agree.reached:,}")
        engine.dispose()
    ok = all(results[k] < 1.0 for k in list(figures)[:2])
    print("goal (exception report and heatmap data each under 1 s):", "met" if ok else "NOT met")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
