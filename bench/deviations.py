"""Benchmark: what a deviation costs through the case layer on a SQLite file.

Opens install_service cases through the real services and times, per case, one plain step
(complete_step), one skip and one go-back, each a full unit of work (lock, load, engine, save,
re-project work items, hash-chained events, deviation row, one commit). Prints medians and the
ratio of each deviation to a plain step.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository first, not bench/: bench/http.py would hide the standard library's http.
sys.path[0] = str(ROOT)
# Events are chained under the audit key (cases/audit_key.py); a benchmark brings its own.
os.environ.setdefault("CASEFLOW_AUDIT_KEY", "bench-audit-key-0123456789abcdef0123456789")

from sqlmodel import Session, select  # noqa: E402

from cases import deviation_service as dev  # noqa: E402
from cases.case_models import WorkItem  # noqa: E402
from cases.case_service import complete_step, open_case  # noqa: E402
from cases.customers import create_customer  # noqa: E402
from cases.db import make_engine, upgrade  # noqa: E402
from cases.definitions import deploy_file  # noqa: E402
from cases.reason_codes import sync_reason_codes  # noqa: E402
from cases.users import create_user  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ORDER = {"customer_id": "C-1001", "product": "fibre_broadband",
         "installation_address": "12 Harbour Road, Dunmore", "contact_phone": "+353 1 555 0101",
         "requested_date": "2026-03-10"}
NOTE = "benchmark"


def _open_item(session, case_id) -> WorkItem:
    return session.exec(select(WorkItem).where(WorkItem.case_id == case_id,
                                               WorkItem.state == "open")).first()


def _timed(fn):
    t = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t


# "Eligible?" reads these: a skip of the eligibility check must give them (cases/preview/needs.py)
ELIGIBLE = {"address_serviceable": True, "credit_result": "passed"}


def run(cases: int = 40, each_case=None) -> dict[str, list[float]]:
    """Return seconds per operation kind, one sample per case; `each_case(i)` runs before case i."""
    times: dict[str, list[float]] = {"complete_step": [], "skip": [], "go_back": []}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as s:
            path = ROOT / "bpmn" / "install_service.bpmn"
            deploy_file(s, path.read_bytes(), filename=path.name, actor="bench", now=NOW, activate=True)
            sync_reason_codes(s)
            agent = create_user(s, username="ann", password="benchmark-pass", role="agent", now=NOW,
                                teams=["Customer Care"])
            s.commit()
            customer = create_customer(s, actor="bench", now=NOW, name="Ada", account_number="A-1")
            for i in range(cases):
                if each_case is not None:
                    each_case(i)
                case = open_case(s, actor=agent, now=NOW, customer_id=customer.id,
                                 process_id="install_service", channel="phone",
                                 contacted_at=NOW - timedelta(hours=1), data={})
                item = _open_item(s, case.id)
                case, t = _timed(lambda: complete_step(
                    s, actor=agent, now=NOW, case_id=case.id, work_item_id=item.id, data=ORDER,
                    expected_version=case.row_version))
                times["complete_step"].append(t)
                item = _open_item(s, case.id)
                case, t = _timed(lambda: dev.skip(
                    s, actor=agent, now=NOW, case_id=case.id, expected_version=case.row_version,
                    reason_code="customer_already_confirmed", note=NOTE, work_item_id=item.id,
                    data=ELIGIBLE))
                times["skip"].append(t)
                case, t = _timed(lambda: dev.go_back(
                    s, actor=agent, now=NOW, case_id=case.id, expected_version=case.row_version,
                    reason_code="wrong_data_captured", note=NOTE, element_id="Task_CaptureOrder"))
                times["go_back"].append(t)
        engine.dispose()
    return times


def outbox_cost(cases: int = 120) -> dict[bool, dict[str, list[float]]]:
    """Time the same actions with the outbox written (odd cases) and not (even cases)."""
    from cases import events

    published = events.PUBLISHED

    def toggle(i: int) -> None:
        events.PUBLISHED = published if i % 2 else frozenset()

    try:
        times = run(cases, each_case=toggle)
    finally:
        events.PUBLISHED = published
    return {on: {kind: samples[int(on)::2] for kind, samples in times.items()}
            for on in (True, False)}


def main() -> None:
    times = run()
    base = statistics.median(times["complete_step"])
    print("Caseflow deviation cost (install_service, SQLite file, one commit per action)")
    for kind, samples in times.items():
        median = statistics.median(samples)
        print(f"  {kind:14} median {median * 1000:7.2f} ms   ({median / base:4.2f}x a plain step)")
    both = outbox_cost()
    print("Added by the webhook outbox (one insert per published event, same commit)")
    for kind in both[True]:
        on, off = (statistics.median(both[flag][kind]) for flag in (True, False))
        print(f"  {kind:14} {off * 1000:7.2f} ms without, {on * 1000:7.2f} ms with "
              f"({(on - off) * 1000:+.2f} ms, {on / off:4.2f}x)")


if __name__ == "__main__":
    main()
