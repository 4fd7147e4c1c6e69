"""Attachments on the case page and in the JSON API: upload (multipart), list, download, delete.

Who may: whoever may open the case (agents of any team, supervisors, admins) uploads, lists and
downloads; the uploader or a supervisor deletes, with a reason. Downloads are always sent as
`attachment` with the type told from the content and `nosniff`, so nothing uploaded is ever shown
inline by the browser (an HTML file is stored and served as plain text).
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from cases.attachments import service as attachments
from cases.attachments.content import ALLOWED, download_name, kind_of
from cases.attachments.models import MAX_DESCRIPTION, MAX_REASON, CaseAttachment
from cases.attachments.storage import AttachmentStore
from cases.errors import CaseError, InvalidInput
from cases.users import User, list_users

from .api import REFUSALS, Caller, _run, _worker
from .inputs import PathId, Text, field_problem, fields_problems, refuse_fields
from .security import SessionDep, require_csrf
from .work_cases import FormData, _page
from .work_common import WorkUser, fail, flash, is_htmx, now, redirect, render, status_for

router = APIRouter(include_in_schema=False)
api_router = APIRouter()


def _api_worker(user: Caller) -> User:
    """The API's caller, refused before the body is read unless they work cases."""
    return _worker(user)


Worker = Annotated[User, Depends(_api_worker)]
DOWNLOAD_TYPES = {k.content_type: {} for k in ALLOWED}


def filesize(n: int) -> str:
    """A size the way people read it: 812 bytes, 14 KB, 2.3 MB."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{max(1, round(n / 1024))} KB"
    return f"{n / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")


def register(templates) -> None:
    """The filters the attachment templates use."""
    templates.env.filters["filesize"] = filesize
    templates.env.filters["filekind"] = lambda t: next(
        (k.label for k in ALLOWED if k.content_type == t), t)


def store_for(request: Request) -> AttachmentStore:
    """The attachment directory of this app's settings."""
    cfg = request.app.state.settings
    return AttachmentStore(cfg.attachment_dir, cfg.attachment_max_bytes)


def download(request: Request, row: CaseAttachment) -> FileResponse:
    """The file as a download, never shown inline."""
    path = store_for(request).path_of(row.storage_key)
    if not path.is_file():
        raise HTTPException(404, f"The file of attachment {row.id} is missing from the "
                                 "attachment directory; tell an administrator")
    return FileResponse(path, media_type=row.content_type, content_disposition_type="attachment",
                        filename=download_name(row.filename, kind_of(row.content_type)),
                        headers={"Cache-Control": "private, no-store",
                                 "X-Content-Type-Options": "nosniff"})


# ---- the case page ---------------------------------------------------------------------------

def _section(request: Request, session, user: User, case_id: int, *, status_code: int = 200,
             attach: dict | None = None):
    """The attachments section alone (htmx), or the whole case page with it."""
    if not is_htmx(request):
        message = (attach or {}).get("error")
        return _page(request, session, user, case_id, status_code=status_code, message=message,
                     attach=attach)
    context = {"user": user, "case_id": case_id, "attach": attach or {},
               "attachments": attachments.list_for_case(session, case_id),
               "names": {u.username: u.display_name
                         for u in list_users(session)}}
    return render(request, "attachments/_section.html", context, status_code=status_code)


@router.post("/cases/{case_id}/attachments", dependencies=[Depends(require_csrf)])
def upload(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
           file: Annotated[UploadFile | None, File()] = None,
           description: Annotated[str, Form()] = ""):
    """Attach a file to the case; htmx gets the attachments section back, a plain post a redirect."""
    if problem := field_problem("description", description, MAX_DESCRIPTION):
        return _section(request, session, user, case_id, status_code=400, attach={
            "error": f"description: {problem}", "description": description[:MAX_DESCRIPTION]})
    if file is None or not file.filename:
        return _section(request, session, user, case_id, status_code=400, attach={
            "error": "Choose a file to attach", "description": description})
    try:
        row = attachments.add(session, actor=user, now=now(), case_id=case_id, source=file.file,
                              filename=file.filename, description=description,
                              store=store_for(request))
    except InvalidInput as err:
        return _section(request, session, user, case_id, status_code=400, attach={
            "error": "; ".join(err.errors.values()), "description": description})
    except CaseError as err:
        if status_for(err) == 404:
            raise fail(err) from None
        return _section(request, session, user, case_id, status_code=status_for(err),
                        attach={"error": str(err), "description": description})
    done = f"Attached {row.filename}."
    if is_htmx(request):
        return _section(request, session, user, case_id, attach={"done": done})
    flash(request, done)
    return redirect(f"/cases/{case_id}#attachments")


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def page_download(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
                  attachment_id: PathId):
    """Download an attachment."""
    try:
        row = attachments.get(session, case_id=case_id, attachment_id=attachment_id)
    except CaseError as err:
        raise fail(err) from None
    return download(request, row)


@router.post("/cases/{case_id}/attachments/{attachment_id}/delete",
             dependencies=[Depends(require_csrf)])
def page_delete(request: Request, session: SessionDep, user: WorkUser, case_id: PathId,
                attachment_id: PathId, form: dict = FormData):
    """Delete an attachment, saying why (the uploader or a supervisor)."""
    reason = form.get("reason", "")
    try:
        row = attachments.delete(session, actor=user, now=now(), case_id=case_id,
                                 attachment_id=attachment_id, reason=reason,
                                 store=store_for(request))
    except InvalidInput as err:
        return _section(request, session, user, case_id, status_code=400, attach={
            "error": "; ".join(err.errors.values()), "reason_for": attachment_id,
            "reason": reason[:MAX_REASON]})
    except CaseError as err:
        raise fail(err) from None
    done = f"Deleted {row.filename}."
    if is_htmx(request):
        return _section(request, session, user, case_id, attach={"done": done})
    flash(request, done)
    return redirect(f"/cases/{case_id}#attachments")


# ---- the JSON API ----------------------------------------------------------------------------

class AttachmentOut(BaseModel):
    id: int
    case_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    description: str
    uploaded_by: str
    uploaded_at: datetime
    deleted_by: str | None = None
    deleted_at: datetime | None = None
    delete_reason: str | None = None
    download_url: str | None = None


class AttachmentList(BaseModel):
    data: list[AttachmentOut]
    count: int


def attachment_json(row: CaseAttachment) -> dict:
    body = row.model_dump(exclude={"storage_key"})
    if row.deleted_at is None:
        body["download_url"] = f"/api/cases/{row.case_id}/attachments/{row.id}/content"
    return body


def _case_attachment(session, case_id: int, attachment_id: int) -> CaseAttachment:
    return _run(attachments.get, session, case_id=case_id, attachment_id=attachment_id)


@api_router.get("/cases/{case_id}/attachments", response_model=AttachmentList,
                responses=REFUSALS)
def api_list(case_id: PathId, user: Worker, session: SessionDep,
             include_deleted: bool = False) -> dict:
    """The case's attachments, oldest first (deleted ones too with include_deleted=true)."""
    from cases.case_service import get_case

    _run(get_case, session, case_id)
    rows = attachments.list_for_case(session, case_id, include_deleted=include_deleted)
    return {"data": [attachment_json(r) for r in rows], "count": len(rows)}


@api_router.post("/cases/{case_id}/attachments", status_code=201, response_model=AttachmentOut,
                 responses={**REFUSALS, 413: {
                     "description": "The body is larger than the largest allowed file"}})
def api_upload(request: Request, case_id: PathId, user: Worker, session: SessionDep,
               file: Annotated[UploadFile, File(description="The file (its content decides "
                                                            "its type)")],
               description: Annotated[str, Form(max_length=MAX_DESCRIPTION)] = "") -> dict:
    """Attach a file (multipart/form-data: `file`, optional `description`)."""
    refuse_fields(fields_problems({"description": description}), "body")
    row = _run(attachments.add, session, actor=user, now=now(), case_id=case_id,
               source=file.file, filename=file.filename, description=description,
               store=store_for(request))
    return attachment_json(row)


@api_router.get("/cases/{case_id}/attachments/{attachment_id}", response_model=AttachmentOut,
                responses=REFUSALS)
def api_get(case_id: PathId, attachment_id: PathId, user: Worker, session: SessionDep) -> dict:
    """One attachment's facts (who added it, when, its type, size and SHA-256)."""
    return attachment_json(_case_attachment(session, case_id, attachment_id))


@api_router.get("/cases/{case_id}/attachments/{attachment_id}/content", response_class=FileResponse,
                responses={**REFUSALS, 200: {"description": "The file, as a download",
                                             "content": DOWNLOAD_TYPES}})
def api_download(request: Request, case_id: PathId, attachment_id: PathId, user: Worker,
                 session: SessionDep):
    """Download the file (always Content-Disposition: attachment)."""
    return download(request, _case_attachment(session, case_id, attachment_id))


@api_router.delete("/cases/{case_id}/attachments/{attachment_id}", response_model=AttachmentOut,
                   responses=REFUSALS)
def api_delete(request: Request, case_id: PathId, attachment_id: PathId, user: Worker,
               session: SessionDep,
               reason: Annotated[Text(MAX_REASON), Query(description="Why (kept with the case)")]
               = "") -> dict:
    """Delete an attachment's file, keeping who, when and why (the uploader or a supervisor)."""
    row = _run(attachments.delete, session, actor=user, now=now(), case_id=case_id,
               attachment_id=attachment_id, reason=reason, store=store_for(request))
    return attachment_json(row)
