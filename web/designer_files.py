"""The designer's decision tables and forms: one stored version, read-only (issue 18).

A decision table is shown twice: as a plain HTML table (readable without JavaScript and by screen
readers) and drawn by the vendored dmn-js viewer as Camunda Modeler shows it. A form is shown as
the fields Caseflow draws from it.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from cases.definition_files import file_page
from cases.errors import NotFound

from .inputs import PathId, clean_query
from .security import CurrentUser, SessionDep

router = APIRouter(dependencies=[Depends(clean_query)], include_in_schema=False)  # pages, not API


def _page_or_404(session, file_id: int):
    try:
        return file_page(session, file_id)
    except NotFound:
        raise HTTPException(404, f"There is no decision table or form {file_id}.") from None


@router.get("/designer/files/{file_id}")
def file_view(request: Request, file_id: PathId, user: CurrentUser, session: SessionDep):
    """One version of a decision table or form, with the process versions that use it."""
    page = _page_or_404(session, file_id)
    return request.app.state.templates.TemplateResponse(request, "designer/file.html",
                                                        {"user": user, "page": page})


@router.get("/designer/files/{file_id}/content")
def file_content(file_id: PathId, user: CurrentUser, session: SessionDep):
    """The file as uploaded (the DMN XML the viewer draws, or the form's JSON)."""
    row = _page_or_404(session, file_id).file
    media = "application/xml" if row.kind == "dmn" else "application/json"
    ending = "dmn" if row.kind == "dmn" else "form"
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in row.key)
    return Response(row.content.encode("utf-8"), media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}-v{row.version}.{ending}"',
        "Cache-Control": "private, max-age=3600"})
