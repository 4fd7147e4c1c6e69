"""Benchmark: what finding work costs on a SQLite file.

1. Keeping the search document current: opening a case and completing its first step through
   the real services, with the search listener on and off (interleaved rounds), as a ratio.
2. Search at 1,000 and 20,000 cases (documents bulk-inserted; the FTS5 triggers index them):
   median time of a word, a phrase and a case number, and the ratio between the two sizes.
3. Get next work against 1,000 and 20,000 open unassigned steps: median time of one claim.
"""
from __future__ import annotations

import os
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
os.environ.setdefault("CASEFLOW_AUDIT_KEY", "bench-audit-key-0123456789abcdef0123456789")

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session as OrmSession  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from cases.case_models import Case, WorkItem  # noqa: E402
from cases.case_service import complete_step, open_case  # noqa: E402
from cases.customers import create_customer  # noqa: E402
from cases.db import make_engine, upgrade  # noqa: E402
from cases.definitions import deploy_file  # noqa: E402
from cases.next_work import next_work  # noqa: E402
from cases.search import index  # noqa: E402
from cases.search.models import CaseSearch  # noqa: E402
from cases.search.service import search  # noqa: E402
from cases.users import create_user  # noqa: E402
from engine.store import WorkflowInstance  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ORDER = {"customer_id": "C-1", "product": "fibre_broadband",
         "installation_address": "12 Harbour Road", "contact_phone": "+353 1 555", "requested_date": "2026-03-10"}
WORDS = "router fibre modem landlord drilling outage invoice refund engineer appointment".split()


def _engine(folder: Path, name: str):
    url = f"sqlite:///{folder / name}"
    upgrade(url)
    return make_engine(url)


def _setup(session: Session):
    path = ROOT / "bpmn" / "install_service.bpmn"
    [version] = deploy_file(session, path.read_bytes(), filename=path.name, actor="bench", now=NOW,
                            activate=True).versions
    agent = create_user(session, username="ann", password="benchmark-pass", role="agent", now=NOW,
                        teams=["Customer Care"])
    boss = create_user(session, username="sam", password="benchmark-pass", role="supervisor",
                       now=NOW, teams=["Customer Care"])
    session.commit()
    customer = create_customer(session, actor="bench", now=NOW, name="Ada Byrne",
                               account_number="C-1001")
    return version, agent, boss, customer


def indexing_cost(folder: Path, rounds: int = 6, per_round: int = 15) -> None:
    engine = _engine(folder, "index.sqlite3")
    with Session(engine, expire_on_commit=False) as s:
        _, agent, _, customer = _setup(s)
        timings = {"on": [], "off": []}
        for n in range(rounds * 2):
            mode = "on" if n % 2 == 0 else "off"
            if mode == "off":
                sa.event.remove(OrmSession, "before_commit", index._refresh_pending)
            start = time.perf_counter()
            for _ in range(per_round):
                case = open_case(s, actor=agent, now=NOW, customer_id=customer.id,
                                 process_id="install_service", channel="phone")
                item = s.exec(select(WorkItem).where(WorkItem.case_id == case.id)).one()
                complete_step(s, actor=agent, now=NOW, case_id=case.id, work_item_id=item.id,
                              expected_version=case.row_version, data=ORDER)
            timings[mode].append((time.perf_counter() - start) / per_round)
            if mode == "off":
                sa.event.listen(OrmSession, "before_commit", index._refresh_pending)
    on, off = statistics.median(timings["on"]), statistics.median(timings["off"])
    print(f"open + complete one step: {on * 1000:.1f} ms with the search document, "
          f"{off * 1000:.1f} ms without: ratio {on / off:.2f}")
    engine.dispose()


def _fill(session: Session, version, customer, cases: int, rng: random.Random) -> None:
    conn = session.connection()
    conn.execute(sa.insert(WorkflowInstance), [
        {"definition_id": version.id, "state": "{}", "serializer_version": "bench",
         "status": "running", "row_version": 1, "created_at": NOW, "updated_at": NOW}
        for _ in range(cases)])
    first_instance = conn.execute(sa.select(sa.func.min(WorkflowInstance.id))).scalar()
    conn.execute(sa.insert(Case), [
        {"customer_id": customer.id, "definition_id": version.id,
         "instance_id": first_instance + i, "process_id": "install_service", "channel": "phone",
         "priority": rng.randint(0, 3), "status": "open", "sla_state": "on_time",
         "contacted_at": NOW, "opened_at": NOW, "opened_by": "bench", "row_version": 1,
         "event_seq": 0} for i in range(cases)])
    first_case = conn.execute(sa.select(sa.func.min(Case.id))).scalar()
    conn.execute(sa.insert(CaseSearch), [
        {"case_id": first_case + i, "updated_at": NOW,
         "body": f"Case {first_case + i}\nCustomer {i} Name{i % 997}\nA-{i}\n"
                 + " ".join(rng.choice(WORDS) for _ in range(30))} for i in range(cases)])
    conn.execute(sa.insert(WorkItem), [
        {"case_id": first_case + i, "definition_id": version.id, "task_id": f"t{i}",
         "element_id": "Task_CaptureOrder", "name": "Capture order", "kind": "user",
         "team": "Customer Care", "state": "open", "sla_state": "on_time",
         "due_at": NOW + timedelta(minutes=rng.randint(-600, 600)),
         "created_at": NOW - timedelta(minutes=rng.randint(0, 600))} for i in range(cases)])
    session.commit()


def _median(fn, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def at_size(folder: Path, cases: int) -> dict[str, float]:
    engine = _engine(folder, f"size{cases}.sqlite3")
    found = {}
    with Session(engine, expire_on_commit=False) as s:
        version, agent, boss, customer = _setup(s)
        _fill(s, version, customer, cases, random.Random(7))
        for label, text in (("word", "landlord"), ("phrase", '"refund engineer"'),
                            ("name", "Name42"), ("number", str(cases // 2))):
            found[f"search {label}"] = _median(lambda: search(s, actor=boss, text=text))
        found["search as agent"] = _median(lambda: search(s, actor=agent, text="Name42"))
        found["next work"] = _median(lambda: next_work(s, actor=agent, now=NOW))
    engine.dispose()
    return found


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        indexing_cost(folder)
        small, large = at_size(folder, 1_000), at_size(folder, 20_000)
        for key in small:
            print(f"{key:16s} {small[key] * 1000:7.2f} ms at 1,000 cases, "
                  f"{large[key] * 1000:7.2f} ms at 20,000: ratio {large[key] / small[key]:.1f}")


if __name__ == "__main__":
    main()
