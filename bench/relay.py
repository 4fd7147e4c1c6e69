"""Benchmark: messages between cases (cases/relay) on a SQLite file.

N supplier cases wait for a quote request, each for its own order number; N order cases are
opened (tests/engine/data/relay.bpmn).
1. The sender's side: completing "Order" (which throws the request: message_thrown event and a
   delivery job in the same transaction) against completing "Accept" (which throws nothing),
   milliseconds per step.
2. Delivery: the executor hands each request to its one waiting supplier case (find the receiver
   among the subscriptions, load, catch, run, save, events, commit per message): messages/s.
3. Message start: N escalation cases each end by throwing a message that opens a callback case:
   cases opened by messages per second.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its http.py would hide the standard library's
os.environ.setdefault("CASEFLOW_AUDIT_KEY", "bench-only-audit-key-" + "x" * 32)

from sqlmodel import Session, select  # noqa: E402

from cases.case_models import Case, WorkItem  # noqa: E402
from cases.case_service import complete_step, open_case  # noqa: E402
from cases.customers import create_customer  # noqa: E402
from cases.db import make_engine, upgrade  # noqa: E402
from cases.definitions import deploy_file  # noqa: E402
from cases.jobs.executor import Executor  # noqa: E402
from cases.users import create_user  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
MODEL = ROOT / "tests" / "engine" / "data" / "relay.bpmn"
CASES = int(os.environ.get("CASEFLOW_BENCH_CASES", "200"))


def _complete_all(s: Session, user, element_id: str, data_for) -> float:
    """Complete every open step at `element_id`; return milliseconds per step."""
    items = s.exec(select(WorkItem).where(WorkItem.element_id == element_id,
                                          WorkItem.state == "open").order_by(WorkItem.id)).all()
    start = time.perf_counter()
    for item in items:
        case = s.get(Case, item.case_id, populate_existing=True)
        complete_step(s, actor=user, now=T0, case_id=case.id, work_item_id=item.id,
                      data=data_for(case.id), expected_version=case.row_version)
    return (time.perf_counter() - start) * 1000 / max(len(items), 1)


def _drain(engine) -> float:
    start = time.perf_counter()
    result = Executor(engine, clock=lambda: T0, batch=50).run_until_idle(max_rounds=100_000)
    assert result.failed == 0, result
    return result.done / (time.perf_counter() - start)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{Path(d) / 'relay.sqlite3'}"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as s:
            deploy_file(s, MODEL.read_bytes(), filename=MODEL.name, actor="bench", now=T0,
                        activate=True)
            user = create_user(s, username="bench", password="a long enough passphrase 81",
                               role="supervisor", now=T0, teams=["Customer Care"])
            customer = create_customer(s, actor="bench", now=T0, name="Ada", account_number="B-1")
            orders = {}
            for i in range(CASES):
                open_case(s, actor=user, now=T0, customer_id=customer.id,
                          process_id="parts_supplier", channel="phone",
                          data={"order_id": f"PO-{i}"})
                order = open_case(s, actor=user, now=T0, customer_id=customer.id,
                                  process_id="parts_order", channel="phone")
                orders[order.id] = f"PO-{i}"
            throwing = _complete_all(s, user, "Order", lambda case_id: {
                "order_id": orders[case_id], "qty": 2, "fail": "no"})
            delivered = _drain(engine)
            _complete_all(s, user, "Quote", lambda case_id: {"price": 10})
            _drain(engine)
            quiet = _complete_all(s, user, "Accept", lambda case_id: {})
            for _ in range(CASES):
                open_case(s, actor=user, now=T0, customer_id=customer.id,
                          process_id="parts_escalation", channel="phone")
            _complete_all(s, user, "Escalate", lambda case_id: {"reason": "r", "phone": "1"})
            started = _drain(engine)
            callbacks = len(s.exec(select(Case.id)
                                   .where(Case.process_id == "parts_callback")).all())
            assert callbacks == CASES, callbacks
        engine.dispose()
    print(f"SQLite, {CASES} orders, each with its own waiting supplier case:")
    print(f"  complete a step that throws a message:  {throwing:6.2f} ms  "
          f"(a step that throws none: {quiet:.2f} ms; ratio {throwing / quiet:.2f})")
    print(f"  deliver to the one waiting case:        {delivered:6.0f} messages/s")
    print(f"  open a case by a message start event:   {started:6.0f} cases/s")


if __name__ == "__main__":
    main()
