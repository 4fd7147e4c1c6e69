"""Keep each case's search document current, in the transaction that changed the case.

Every change to a case records a case event (cases/events.py), so the events a session adds name
the cases whose document may be stale. A session listener collects them at each flush and, just
before the commit, rebuilds those documents from the case as stored: its number, customer,
process, notes and the values in its workflow data. Whatever path changed the case (a page, the
API, a timer, an approval, the simulation), the document commits or rolls back with it.

An engine action (cases/case_service.py) hands over the workflow state it loaded and the one it
saved (`note_states`). When the case got no note and no new document, only the data values can
have changed: if they did not (the digests of the two states' values, engine/data_values.py, are
equal), nothing is written; if they did, the tail of the document after `data_from` is replaced
in one UPDATE, without reading the customer or the notes again.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.clock import utcnow
from engine.data_values import data_values as _data_values
from engine.data_values import values_digest
from engine.store import WorkflowInstance

from ..case_models import Case
from ..customers import Customer
from ..events import WRITTEN_HOOKS, CaseEvent, unwritten
from .models import CaseSearch

PENDING = "caseflow_search_pending"  # session.info key: case id -> event types of this transaction
# session.info key: case id -> [state loaded, its values' digest, the saved state's values]
STATES = "caseflow_search_states"
HEAD_EVENTS = frozenset({"case_opened", "note_added"})  # events that change more than the data
MAX_BODY = 200_000  # characters; a case's text past this is not searchable


def compose(case_id: int, *, process_id: str, customer: Iterable[str | None],
            notes: Iterable[str], state: str | None) -> str:
    """The searchable text of a case (one line per fact)."""
    head = _head(case_id, process_id=process_id, customer=customer, notes=notes)
    return (head + _tail(_data_values(state)))[:MAX_BODY]


def _head(case_id: int, *, process_id: str, customer: Iterable[str | None],
          notes: Iterable[str]) -> str:
    """The document up to the data values: number, process, customer, notes."""
    lines = [f"Case {case_id} #{case_id}", process_id.replace("_", " ")]
    for value in customer:
        if value:
            lines.append(value)
            if re.search(r"[^\w\s]", value):  # "C-1001" also as "C 1001": parsers split differently
                lines.append(re.sub(r"[^\w]+", " ", value).strip())
    lines.extend(notes)
    return "\n".join(lines)


def _tail(values: list[str]) -> str:
    return "".join("\n" + value for value in values)


def document(session: Session, case_id: int) -> str | None:
    """Build a case's searchable text from the database (None: no such case)."""
    parts = _document_parts(session, case_id)
    return None if parts is None else (parts[0] + parts[1])[:MAX_BODY]


def _document_parts(session: Session, case_id: int) -> tuple[str, str] | None:
    """A case's document as (head, data values) read from the database (None: no such case)."""
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
    head = _head(row.id, process_id=row.process_id,
                 customer=(row.name, row.account_number, row.email, row.phone), notes=texts)
    return head, _tail(_data_values(row.state))


def refresh(session: Session, case_id: int, *, now: datetime | None = None) -> None:
    """Write the case's current document (insert or replace); the caller commits."""
    parts = _document_parts(session, case_id)
    if parts is None:
        return
    head, tail = parts
    values = {"case_id": case_id, "body": (head + tail)[:MAX_BODY], "updated_at": now or utcnow(),
              "data_from": min(len(head), MAX_BODY)}
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(CaseSearch).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[CaseSearch.case_id],
        set_={"body": statement.excluded.body, "updated_at": statement.excluded.updated_at,
              "data_from": statement.excluded.data_from}))


def _replace_data(session: Session, case_id: int, values: list[str]) -> bool:
    """Rewrite the data values of a document whose head is known; False if it is not."""
    table = CaseSearch.__table__
    tail = _tail(values)
    done = session.execute(
        table.update().where(table.c.case_id == case_id, table.c.data_from.is_not(None))
        .values(body=sa.func.substr(table.c.body, 1, table.c.data_from, type_=sa.Text)
                + sa.func.substr(sa.bindparam("tail", tail, type_=sa.Text), 1,
                                 MAX_BODY - table.c.data_from, type_=sa.Text),
                updated_at=utcnow()))
    return done.rowcount == 1


def note_states(session: Session, case_id: int, *, loaded: str | None,
                loaded_digest: str | None, saved_values: list[str]) -> None:
    """Tell the index, before the commit, what an action loaded (the state and the digest of its
    data values, None if it was written before digests were kept) and the data values of the
    state it saved (engine/store.py computes both when it writes a state)."""
    seen = session.info.setdefault(STATES, {})
    first = seen.get(case_id, [loaded, loaded_digest])
    seen[case_id] = [first[0], first[1], saved_values]


def _update(session: Session, case_id: int, types: set[str]) -> None:
    """Bring one changed case's document up to date with as little work as it needs."""
    states = session.info.get(STATES, {}).get(case_id)
    if states is None or types & HEAD_EVENTS:
        refresh(session, case_id)
        return
    loaded, loaded_digest, saved_values = states
    if loaded_digest is not None:
        if loaded_digest == values_digest(saved_values):
            return  # nothing it indexes changed
    elif _data_values(loaded) == saved_values:  # a state saved before digests were kept
        return
    if not _replace_data(session, case_id, saved_values):
        refresh(session, case_id)  # written before data_from existed


def _collect(session: Session, written: list[CaseEvent]) -> None:
    """Remember the cases that got new events in this flush, and the events' types."""
    pending = session.info.setdefault(PENDING, {})
    for event in written:
        pending.setdefault(event.case_id, set()).add(event.type)


WRITTEN_HOOKS.append(_collect)


@sa.event.listens_for(Session, "before_commit")
def _refresh_pending(session: Session) -> None:
    """Rebuild the documents of the cases changed in this transaction, before it commits."""
    if not session.info.get(PENDING) and not unwritten(session):
        session.info.pop(STATES, None)
        return
    session.flush()  # events still unwritten name their cases now
    changed = session.info.pop(PENDING, {})
    for case_id in sorted(changed):
        _update(session, case_id, changed[case_id])
    session.info.pop(STATES, None)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(STATES, None)


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
