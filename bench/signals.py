"""Benchmark: signals one case throws (cases/relay/signals.py, broadcast.py) on a SQLite file.

tests/engine/data/signal_relay.bpmn: N restore cases wait for "outage_cleared"; M fix cases each
throw it when "Fix" completes; the survey process starts on it.
1. The sender's side, milliseconds per step: completing "Fix" (throws a signal others hear: a
   `signal_thrown` event and one broadcast job in the same transaction), "Close" (its end event
   throws a signal nobody hears: the event alone) and "TellTeam" (throws nothing), all before
   any job runs (a fix case's armed event subprocess would hear every other fix case's signal).
2. Fan-out: the first broadcast job queues one delivery job per waiting case (N of them) in one
   transaction: milliseconds for the job, and delivery jobs queued per second.
3. Delivery: the executor hands the signal to each waiting case (load, catch, run, save, events,
   commit per case): cases per second.
4. Signal start: each of the M broadcasts opens one survey case: cases opened per second.
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
from cases.case_service import open_case  # noqa: E402
from cases.customers import create_customer  # noqa: E402
from cases.db import make_engine, upgrade  # noqa: E402
from cases.definitions import deploy_file  # noqa: E402
from cases.jobs.executor import Executor  # noqa: E402
from cases.jobs.models import Job  # noqa: E402
from cases.users import create_user  # noqa: E402
from bench.relay import _complete_all  # noqa: E402  (one way to time a step, shared)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
MODEL = ROOT / "tests" / "engine" / "data" / "signal_relay.bpmn"
WAITING = int(os.environ.get("CASEFLOW_BENCH_CASES", "500"))
SENDERS = 50




def _drain(engine, kinds: tuple[str, ...], batch: int = 50, max_rounds: int = 100_000):
    start = time.perf_counter()
    result = Executor(engine, clock=lambda: T0, batch=batch, kinds=kinds).run_until_idle(
        max_rounds=max_rounds)
    assert result.failed == 0, result
    return result.done, time.perf_counter() - start


def _count(s: Session, process_id: str, element_id: str | None = None) -> int:
    query = select(Case.id).where(Case.process_id == process_id)
    if element_id:
        query = select(WorkItem.id).where(WorkItem.element_id == element_id,
                                          WorkItem.state == "open")
    return len(s.exec(query).all())


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{Path(d) / 'signals.sqlite3'}"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as s:
            deploy_file(s, MODEL.read_bytes(), filename=MODEL.name, actor="bench", now=T0,
                        activate=True)
            user = create_user(s, username="bench", password="a long enough passphrase 81",
                               role="supervisor", now=T0, teams=["Customer Care"])
            customer = create_customer(s, actor="bench", now=T0, name="Ada", account_number="B-1")
            for _ in range(WAITING):
                open_case(s, actor=user, now=T0, customer_id=customer.id,
                          process_id="outage_restore", channel="phone")
            for _ in range(SENDERS):
                open_case(s, actor=user, now=T0, customer_id=customer.id,
                          process_id="outage_fix", channel="phone")
            # Every sender's steps before any job runs: the fix cases are resolved (not waiting
            # any more) when the broadcasts fan out.
            heard = _complete_all(s, user, "Fix", lambda _: {"area": "D4", "fail": "no"})
            quiet = _complete_all(s, user, "TellTeam", lambda _: {})
            unheard = _complete_all(s, user, "Close", lambda _: {})
            assert _count(s, "", "Close") == 0
            # The first broadcast fans out to every waiting restore case; run it alone.
            _, fan_seconds = _drain(engine, ("signal_broadcast",), batch=1, max_rounds=1)
            queued = len(s.exec(select(Job.id).where(Job.kind == "signal")).all())
            delivered, deliver_seconds = _drain(engine, ("signal",))
            assert _count(s, "", "Confirm") == WAITING
            _drain(engine, ("signal_broadcast",))
            started, start_seconds = _drain(engine, ("signal_start",))
            assert _count(s, "outage_survey") == SENDERS, _count(s, "outage_survey")
        engine.dispose()
    print(f"SQLite, {WAITING} cases waiting for a signal, {SENDERS} cases throwing it:")
    print(f"  complete a step that throws a signal others hear: {heard:6.2f} ms")
    print(f"  complete a step whose end throws one nobody hears: {unheard:6.2f} ms")
    print(f"  complete a step that throws nothing:              {quiet:6.2f} ms  "
          f"(ratios {heard / quiet:.2f} and {unheard / quiet:.2f})")
    print(f"  fan out one broadcast to {queued} cases:           {fan_seconds * 1000:6.0f} ms  "
          f"({queued / fan_seconds:.0f} delivery jobs queued/s)")
    print(f"  deliver to each waiting case:                     {delivered / deliver_seconds:6.0f} "
          "cases/s")
    print(f"  open a case by a signal start event:              {started / start_seconds:6.0f} "
          "cases/s")


if __name__ == "__main__":
    main()
