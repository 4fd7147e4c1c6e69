"""Linked cases and reopening on the case page: link two cases with a reason, remove a link made
by mistake (with a reason), reopen a resolved case at a step it went through. Plain posts answer
303 back to the case; a refusal re-renders the case page with the form refilled and each bad
field named."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from cases.errors import CaseError, InvalidInput
from cases.links.reopen import reopen_case
from cases.links.service import link_cases, unlink_cases

from .inputs import PathId
from .security import SessionDep, require_csrf
from .work_cases import FormData, _page
from .work_common import WorkUser, fail, flash, int_or_none, now, redirect, status_for

router = APIRouter()


def _refused(request: Request, session, user, case_id: int, err: CaseError, form_key: str,
             typed: dict):
    errors = err.errors if isinstance(err, InvalidInput) else {"_": str(err)}
    try:
        status = 422 if isinstance(err, InvalidInput) else status_for(err)
        return _page(request, session, user, case_id, status_code=status,
                     message=f"Nothing was changed: {err}",
                     extra={form_key: {"typed": typed, "errors": errors}})
    except CaseError as again:
        raise fail(again) from None


@router.post("/cases/{case_id}/links", dependencies=[Depends(require_csrf)])
def case_link(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
              form: dict = FormData):
    """Link this case to another one (related, parent of, duplicate of) with a reason."""
    typed = {k: str(form.get(k, ""))[:1000] for k in ("other_case_id", "kind", "reason")}
    other = int_or_none(typed["other_case_id"].strip().lstrip("#"))
    try:
        if other is None or other < 1:
            raise InvalidInput({"other_case_id": "Give the other case's number, e.g. 42"})
        link_cases(session, actor=user, now=now(), case_id=case_id, other_case_id=other,
                   kind=typed["kind"], reason=typed["reason"])
    except CaseError as err:
        return _refused(request, session, user, case_id, err, "link_form", typed)
    flash(request, f"Case {case_id} linked to case {other}.")
    return redirect(f"/cases/{case_id}#links-h")


@router.post("/cases/{case_id}/links/{link_id}/delete", dependencies=[Depends(require_csrf)])
def case_unlink(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
                link_id: PathId, form: dict = FormData):
    """Remove a link a person made, saying why (kept on both cases)."""
    typed = {"link_id": link_id, "reason": str(form.get("reason", ""))[:1000]}
    try:
        link = unlink_cases(session, actor=user, now=now(), case_id=case_id, link_id=link_id,
                            reason=typed["reason"])
    except CaseError as err:
        return _refused(request, session, user, case_id, err, "unlink_form", typed)
    other = link.other_case_id if link.case_id == case_id else link.case_id
    flash(request, f"The link to case {other} is removed; both cases keep why.")
    return redirect(f"/cases/{case_id}#links-h")


@router.post("/cases/{case_id}/reopen", dependencies=[Depends(require_csrf)])
def case_reopen(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
                form: dict = FormData):
    """Reopen a resolved case at a step it went through, with a reason."""
    typed = {k: str(form.get(k, ""))[:4000] for k in ("element_id", "reason_code", "note",
                                                      "expected_version")}
    try:
        version = int_or_none(typed["expected_version"])
        if version is None:
            raise InvalidInput({"expected_version": "Reload the case and try again"})
        reopen_case(session, actor=user, now=now(), case_id=case_id, expected_version=version,
                    element_id=typed["element_id"], reason_code=typed["reason_code"],
                    note=typed["note"])
    except CaseError as err:
        return _refused(request, session, user, case_id, err, "reopen_form", typed)
    flash(request, "Case reopened.")
    return redirect(f"/cases/{case_id}")
