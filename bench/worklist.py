"""Benchmark: worklist queries at 100,000 open work items on a SQLite file.

The rows are bulk-inserted (this benchmark measures reading, not the services that write them:
tests/cases/test_worklist.py checks the ordering through the real services). 100,000 open items
spread over 20 teams and 50 agents, one case each, due times spread around "now" so that a share
is overdue and at risk. Prints the median time of each view (first page of 50, and the count) and
the ratio to the 1,000-item run, which shows whether the queries grow with the table.
"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository first, not bench/: bench/http.py would hide the standard library's http.
sys.path[0] = str(ROOT)

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session  # noqa: E402

from cases.case_models import Case, WorkItem  # noqa: E402
from cases.customers import create_customer  # noqa: E402
from cases.db import make_engine, upgrade  # noqa: E402
from cases.definitions import deploy_file  # noqa: E402
from cases.users import User, create_user  # noqa: E402
from cases.worklist import VIEWS, worklist, worklist_count  # noqa: E402
from engine.store import WorkflowInstance  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
TEAMS = [f"Team {i:02d}" for i in range(20)]


def _fill(session: Session, items: int, rng: random.Random) -> User:
    path = ROOT / "bpmn" / "install_service.bpmn"
    [version] = deploy_file(session, path.read_bytes(), filename=path.name, actor="bench", now=NOW,
                            activate=True).versions
    agents = [create_user(session, username=f"agent{i}", password="benchmark-pass", role="agent",
                          now=NOW, teams=[TEAMS[i % len(TEAMS)], TEAMS[(i + 7) % len(TEAMS)]])
              for i in range(50)]
    session.commit()
    customer = create_customer(session, actor="bench", now=NOW, name="Ada", account_number="A-1")
    conn = session.connection()
    conn.execute(sa.insert(WorkflowInstance), [
        {"definition_id": version.id, "state": "{}", "serializer_version": "bench", "status": "running",
         "row_version": 1, "created_at": NOW, "updated_at": NOW} for _ in range(items)])
    first_instance = conn.execute(sa.select(sa.func.min(WorkflowInstance.id))).scalar()
    conn.execute(sa.insert(Case), [
        {"customer_id": customer.id, "definition_id": version.id, "instance_id": first_instance + i,
         "process_id": "install_service", "channel": "phone", "priority": rng.randint(0, 3),
         "status": "open", "sla_state": "on_time", "contacted_at": NOW, "opened_at": NOW,
         "opened_by": "bench", "row_version": 1, "event_seq": 0} for i in range(items)])
    first_case = conn.execute(sa.select(sa.func.min(Case.id))).scalar()
    rows = []
    for i in range(items):
        created = NOW - timedelta(minutes=rng.randint(0, 600))
        rows.append({"case_id": first_case + i, "definition_id": version.id, "task_id": f"t{i}",
                     "element_id": "Task_CaptureOrder",
                     "name": "Capture order", "kind": "userTask", "team": rng.choice(TEAMS),
                     "assignee_id": rng.choice(agents).id if rng.random() < 0.3 else None,
                     "state": "open", "sla_state": "on_time", "created_at": created,
                     "due_at": created + timedelta(minutes=rng.randint(30, 1200))})
    conn.execute(sa.insert(WorkItem), rows)
    session.commit()
    return agents[0]


def _median_ms(fn, repeat: int = 15) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def run(items: int) -> dict[str, float]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as s:
            agent = _fill(s, items, rng)
            timings = {}
            for view in VIEWS:
                timings[f"{view} page"] = _median_ms(
                    lambda: worklist(s, actor=agent, now=NOW, view=view, limit=50))
                timings[f"{view} count"] = _median_ms(
                    lambda: worklist_count(s, actor=agent, now=NOW, view=view))
        engine.dispose()
    return timings


def main() -> None:
    small, large = run(1_000), run(100_000)
    print("Caseflow worklists on a SQLite file (median of 15, first page of 50 items)")
    print(f"  {'query':18} {'1,000 items':>12} {'100,000 items':>14} {'ratio':>7}")
    for key in large:
        print(f"  {key:18} {small[key]:10.2f} ms {large[key]:12.2f} ms {large[key] / small[key]:6.1f}x")


if __name__ == "__main__":
    main()
