"""Keep each case's search document current, in the transaction that changed the case.

Every change to a case records a case event (cases/events.py), so the events a session adds name
the cases whose document may be stale. A session listener collects them at each flush and, just
before the commit, rebuilds those documents from the case as stored: its number, customer,
process, notes and the values in its workflow data. Whatever path changed the case (a page, the
API, a timer, an approval, the simulation), the document commits or rolls back with it.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.store import WorkflowInstance

from ..case_models import Case
from ..customers import Customer
from ..events import CaseEvent
from .models import CaseSearch

PENDING = "caseflow_search_pending"  # session.info key: ids of cases changed in this transaction
MAX_BODY = 200_000  # characters; a case's text past this is not searchable
MAX_VALUE = 2_000  # characters kept of any one data value
# Where a serialized workflow keeps task data: whole (`data`) or as changes (`delta.updates`).
DATA_KEYS = ("data", "updates")


def compose(case_id: int, *, process_id: str, customer: Iterable[str | None],
            notes: Iterable[str], state: str | None) -> str:
    """The searchable text of a case (one line per fact)."""
    lines = [f"Case {case_id} #{case_id}", process_id.replace("_", " ")]
    for value in customer:
        if value:
            lines.append(value)
            if re.search(r"[^\w\s]", value):  # "C-1001" also as "C 1001": parsers split differently
                lines.append(re.sub(r"[^\w]+", " ", value).strip())
    lines.extend(notes)
    lines.extend(_data_values(state))
    return "\n".join(lines)[:MAX_BODY]


def _data_values(state: str | None) -> list[str]:
    """Every scalar value any task of the workflow held in its data, once each, in order."""
    if not state:
        return []
    try:
        tree = json.loads(state)
    except ValueError:
        return []
    seen: dict[str, None] = {}
    for data in _data_dicts(tree):
        for key, value in data.items():
            if not str(key).startswith("_caseflow"):
                _scalars(value, seen)
    return list(seen)


def _data_dicts(node: Any):
    """The data mappings anywhere in a serialized workflow (tasks, subprocesses, ad-hoc steps)."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in DATA_KEYS and isinstance(value, dict):
                    yield value
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _scalars(value: Any, seen: dict[str, None], depth: int = 0) -> None:
    if isinstance(value, str):
        if value.strip():
            seen.setdefault(value.strip()[:MAX_VALUE], None)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seen.setdefault(str(value), None)
    elif isinstance(value, dict) and depth < 8:
        for item in value.values():
            _scalars(item, seen, depth + 1)
    elif isinstance(value, list) and depth < 8:
        for item in value:
            _scalars(item, seen, depth + 1)


def document(session: Session, case_id: int) -> str | None:
    """Build a case's searchable text from the database (None: no such case)."""
    row = session.execute(
        sa.select(Case.id, Case.process_id, Customer.name, Customer.account_number,
                  Customer.email, Customer.phone, WorkflowInstance.state)
        .join(Customer, Customer.id == Case.customer_id)
        .join(WorkflowInstance, WorkflowInstance.id == Case.instance_id, isouter=True)
        .where(Case.id == case_id)).first()
    if row is None:
        return None
    notes = session.execute(sa.select(CaseEvent.details).where(
        CaseEvent.case_id == case_id, CaseEvent.type == "note_added").order_by(CaseEvent.seq))
    texts = [json.loads(details).get("text", "") for (details,) in notes]
    return compose(row.id, process_id=row.process_id,
                   customer=(row.name, row.account_number, row.email, row.phone),
                   notes=texts, state=row.state)


def refresh(session: Session, case_id: int, *, now: datetime | None = None) -> None:
    """Write the case's current document (insert or replace); the caller commits."""
    body = document(session, case_id)
    if body is None:
        return
    values = {"case_id": case_id, "body": body, "updated_at": now or utcnow()}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(CaseSearch).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[CaseSearch.case_id],
        set_={"body": statement.excluded.body, "updated_at": statement.excluded.updated_at}))


@sa.event.listens_for(Session, "before_flush")
def _collect(session: Session, _context, _instances) -> None:
    """Remember the cases that get new events in this flush."""
    ids = {obj.case_id for obj in session.new if isinstance(obj, CaseEvent)}
    if ids:
        session.info.setdefault(PENDING, set()).update(ids)


@sa.event.listens_for(Session, "before_commit")
def _refresh_pending(session: Session) -> None:
    """Rebuild the documents of the cases changed in this transaction, before it commits."""
    if not session.info.get(PENDING) and not any(isinstance(o, CaseEvent) for o in session.new):
        return
    session.flush()  # events still pending name their cases now
    ids = session.info.pop(PENDING, set())
    for case_id in sorted(ids):
        refresh(session, case_id)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous) -> None:
    session.info.pop(PENDING, None)


def reindex_all(session: Session, *, batch: int = 500) -> int:
    """Rebuild every case's document (after an upgrade, or to repair). Commit per batch."""
    done, last = 0, 0
    while True:
        ids = session.execute(sa.select(Case.id).where(Case.id > last).order_by(Case.id)
                              .limit(batch)).scalars().all()
        if not ids:
            return done
        for case_id in ids:
            refresh(session, case_id)
        session.commit()
        done, last = done + len(ids), ids[-1]
