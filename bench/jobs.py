"""Benchmark: the job executor on a SQLite file (and PostgreSQL when CASEFLOW_BENCH_PG_URL is set).

1. Timers through the executor: N cases wait an hour at a timer followed by a script; the clock
   moves an hour on and the executor fires them all (load, fire, script, save, work items, events,
   commit per case). Prints timer jobs per second with one worker and with two worker threads.
2. Bare executor overhead: jobs of a kind that only deletes itself, claimed and run in batches.
3. Idle cost: an executor loop polling once a second with nothing due, as inside `caseflow serve`;
   prints the CPU it takes per second and per poll.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository first, not bench/: bench/http.py would hide the standard library's http.
sys.path[0] = str(ROOT)
os.environ.setdefault("CASEFLOW_AUDIT_KEY", "bench-only-audit-key-" + "x" * 32)

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session  # noqa: E402

from cases.case_service import open_case  # noqa: E402
from cases.customers import create_customer  # noqa: E402
from cases.db import make_engine, upgrade  # noqa: E402
from cases.definitions import deploy_file  # noqa: E402
from cases.jobs import service as jobs  # noqa: E402
from cases.jobs.executor import Executor  # noqa: E402
from cases.jobs.handlers import register  # noqa: E402
from cases.jobs.models import Job  # noqa: E402
from cases.users import create_user  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
MODEL = ROOT / "tests" / "engine" / "data" / "timer_script.bpmn"
CASES = int(os.environ.get("CASEFLOW_BENCH_CASES", "300"))
NOOPS = 3000


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def _noop(session, job, ctx):
    jobs.done(session, job, ctx.owner)
    session.commit()


register("bench_noop", _noop)


def _cases(engine, n: int) -> None:
    with Session(engine, expire_on_commit=False) as s:
        deploy_file(s, MODEL.read_bytes(), filename=MODEL.name, actor="bench", now=T0, activate=True)
        agent = create_user(s, username="bench", password="a long enough passphrase 81",
                            role="agent", now=T0, teams=["Customer Care"])
        customer = create_customer(s, actor="bench", now=T0, name="Ada", account_number="B-1")
        for _ in range(n):
            open_case(s, actor=agent, now=T0, customer_id=customer.id, process_id="timer_script",
                      channel="phone", data={"divisor": 2})


def _run(executors) -> float:
    start = time.perf_counter()
    threads = [threading.Thread(target=e.run_until_idle, kwargs={"max_rounds": 100_000})
               for e in executors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def timers(url: str, workers: int) -> float:
    engine = make_engine(url)
    _cases(engine, CASES)
    clock = Clock(T0 + timedelta(hours=1))
    seconds = _run([Executor(engine, clock=clock) for _ in range(workers)])
    with Session(engine) as s:
        left = s.exec(sa.select(sa.func.count()).select_from(Job).where(Job.kind == "timer")).one()[0]
    assert left == 0, f"{left} timer jobs left"
    engine.dispose()
    return CASES / seconds


def noops(url: str) -> float:
    engine = make_engine(url)
    with Session(engine) as s:
        s.add_all([Job(kind="bench_noop", key=f"noop:{i}", due_at=T0, created_at=T0, updated_at=T0)
                   for i in range(NOOPS)])
        s.commit()
    seconds = _run([Executor(engine, clock=Clock(T0), batch=50)])
    engine.dispose()
    return NOOPS / seconds


def idle(url: str, seconds: float = 5.0) -> tuple[float, float]:
    engine = make_engine(url)
    executor = Executor(engine, clock=Clock(T0))
    executor.ensure_periodic()
    with Session(engine) as s:  # nothing due: move the periodic sweep far ahead
        s.execute(sa.update(Job).values(due_at=T0 + timedelta(days=1)))
        s.commit()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    executor.start(poll=1.0)
    threading.Event().wait(seconds)
    executor.stop()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    engine.dispose()
    polls = max(int(wall), 1)
    return cpu / wall * 1000, cpu / polls * 1000


def _fresh(tmp: Path, name: str) -> str:
    url = f"sqlite:///{tmp / name}"
    upgrade(url)
    return url


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        one = timers(_fresh(tmp, "t1.sqlite3"), 1)
        two = timers(_fresh(tmp, "t2.sqlite3"), 2)
        bare = noops(_fresh(tmp, "n.sqlite3"))
        per_second, per_poll = idle(_fresh(tmp, "i.sqlite3"))
    print(f"SQLite, {CASES} due timers (fire, script, save, work item, events per case):")
    print(f"  one worker:          {one:7.0f} timer jobs/s")
    print(f"  two worker threads:  {two:7.0f} timer jobs/s  (ratio {two / one:.2f}; SQLite has one writer)")
    print(f"bare executor ({NOOPS} jobs that only delete themselves): {bare:7.0f} jobs/s")
    print(f"idle executor (poll every second): {per_second:.2f} ms CPU per second, "
          f"{per_poll:.2f} ms per poll")


if __name__ == "__main__":
    main()
