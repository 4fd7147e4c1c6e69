"""Bulk work for supervisors on the worklist: reassign, extend the deadline of, or hold many."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from cases.bulk.service import bulk
from cases.errors import CaseError, InvalidInput

from .inputs import clean_query
from .security import SessionDep, require_csrf
from .work_common import (SupervisorUser, int_or_none, now, parse_local_datetime, render,
                          safe_back, status_for)

router = APIRouter(dependencies=[Depends(clean_query)], include_in_schema=False)
FIELDS = {"reassign": ("team", "assignee_id"), "extend_deadline": ("due_at",), "hold": ()}


async def _form(request: Request) -> dict:
    form = await request.form()
    return {"kind": str(form.get("kind") or ""), "items": form.getlist("item"),
            "cases": form.getlist("case"),
            "reason_code": str(form.get("reason_code") or ""), "note": str(form.get("note") or ""),
            "team": str(form.get("team") or "") or None,
            "assignee_id": str(form.get("assignee_id") or ""),
            "due_at": str(form.get("due_at") or ""), "back": str(form.get("back") or "/work")}


def _args(form: dict) -> dict:
    """The service's arguments for the chosen kind (the form shows every kind's fields)."""
    ids = [int_or_none(v) for v in form["items"]]
    case_ids = [int_or_none(v) for v in form["cases"]]
    if any(i is None for i in ids + case_ids):
        raise InvalidInput({"item": "A selected step or case is not a valid id"})
    args = {"kind": form["kind"], "reason_code": form["reason_code"], "note": form["note"],
            "work_item_ids": ids, "case_ids": case_ids}
    wanted = FIELDS.get(form["kind"], ())
    if "team" in wanted:
        args["team"] = form["team"]
    if "assignee_id" in wanted and form["assignee_id"]:
        args["assignee_id"] = int_or_none(form["assignee_id"])
        if args["assignee_id"] is None:
            raise InvalidInput({"assignee_id": "Choose a person from the list"})
    if "due_at" in wanted:
        args["due_at"] = parse_local_datetime(form["due_at"], "due_at", required=True)
    return args


@router.post("/work/bulk", dependencies=[Depends(require_csrf)])
async def bulk_action(request: Request, session: SessionDep, user: SupervisorUser):
    """Carry out one change on every selected step (or its case); list what was and was not done."""
    form = await _form(request)
    back = safe_back(form["back"], "/work")
    try:
        result = bulk(session, actor=user, now=now(), **_args(form))
    except CaseError as err:
        errors = err.errors if isinstance(err, InvalidInput) else {"": str(err)}
        return render(request, "work/bulk_result.html",
                      {"user": user, "result": None, "errors": errors, "back": back},
                      status_code=status_for(err))
    return render(request, "work/bulk_result.html",
                  {"user": user, "result": result, "errors": {}, "back": back})
