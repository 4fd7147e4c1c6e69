"""What the JSON API answers about a case: its version, open work items with their forms, and
pending approvals, read in a few small queries without rebuilding the workflow.

A step's form is the form of its BPMN element in the compiled process (cached per version), the
same one the loaded workflow would give; so a read never deserializes the instance.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from engine import store
from engine.forms import Form

from .approvals import ApprovalRequest
from .case_models import Case, WorkItem
from .errors import NotFound

FORM_KINDS = ("userTask", "manualTask", "task")  # BPMN steps; ad-hoc and escalation items have none


@dataclass(frozen=True)
class CaseSnapshot:
    case: Case
    version: int | None
    items: list[WorkItem]  # open, oldest first
    forms: dict[int, Form]  # work item id -> form
    approvals: list[ApprovalRequest]  # pending, newest first


def load_snapshot(session: Session, case_id: int, *, with_items: bool = True) -> CaseSnapshot:
    """Read a case, its version number and how many approval requests it has pending in one
    query (the requests themselves only if there are any); NotFound if there is no such case."""
    found = session.execute(_CASE_AND_REF, {"case_id": case_id}).first()
    if found is None:
        raise NotFound(f"No case {case_id}")
    case, ref, pending = found[0], store.DefinitionRef(*found[1:-1]), found[-1]
    store.remember_ref(session, case.definition_id, ref)
    return snapshot(session, case, version=ref.version, with_items=with_items,
                    approvals=None if pending else [])


def snapshot(session: Session, case: Case, *, version: int | None = None,
             with_items: bool = True, items: list[WorkItem] | None = None,
             approvals: list[ApprovalRequest] | None = None) -> CaseSnapshot:
    """The API's view of a case just read or changed in this session; `items` (open, oldest
    first) and `approvals` (pending) are read unless the caller knows them."""
    if version is None:
        version = store.definition_ref(session, case.definition_id).version
    if not with_items:
        return CaseSnapshot(case, version, [], {}, [])
    if items is None:
        items = list(session.execute(_OPEN_ITEMS, {"case_id": case.id}).scalars())
    forms: dict[int, Form] = {}
    if items and case.status in ("open", "on_hold"):
        process = store.compiled_by_ref(session, case.definition_id)
        forms = {i.id: process.forms[i.element_id] for i in items
                 if i.kind in FORM_KINDS and i.element_id in process.forms}
    if approvals is None:
        approvals = list(session.execute(_PENDING_APPROVALS, {"case_id": case.id}).scalars())
    return CaseSnapshot(case, version, items, forms, approvals)


# The statements of every GET of a case, built once: building one costs about as much as
# running it (cases/api_tokens.py's token check does the same).
# A case's pending approval requests, counted inside a statement about the case whose id is
# the parameter `case_id` (the GET's read here, the actions' lock in cases/case_service.py). The
# case is named by parameter, not by `case_record.id`: SQLite's RETURNING names columns without
# their tables, so that would come out as `case_id = id`, the request's own id.
PENDING_COUNT = (sa.select(sa.func.count()).select_from(ApprovalRequest)
                 .where(ApprovalRequest.case_id == sa.bindparam("case_id"),
                        ApprovalRequest.status == "pending").scalar_subquery())
_CASE_AND_REF = (select(Case, *store.REF_COLUMNS, PENDING_COUNT)
                 .join(store.DefinitionVersion, store.DefinitionVersion.id == Case.definition_id)
                 .where(Case.id == sa.bindparam("case_id")))
_OPEN_ITEMS = (select(WorkItem).where(WorkItem.case_id == sa.bindparam("case_id"),
                                      WorkItem.state == "open").order_by(WorkItem.id))
_PENDING_APPROVALS = (select(ApprovalRequest)
                      .where(ApprovalRequest.case_id == sa.bindparam("case_id"),
                             ApprovalRequest.status == "pending")
                      .order_by(ApprovalRequest.requested_at.desc(), ApprovalRequest.id.desc()))
