"""The in-browser modeler: edit any version as a new draft, with its heatmap on the drawing (issue 18).

The page draws the version in the vendored bpmn-js Modeler (web/static/vendor/bpmn-js-modeler/,
started by web/static/js/modeler.js). Saving posts the whole XML; it goes through exactly what an
upload goes through (cases.definitions.upload_file: safe XML, validation, one commit) under the
version's own file name, so the draft becomes the next version of the same process. A refused
save stores nothing and answers with every problem and its element id; the browser keeps the
drawing (a form post without JavaScript gets the modeler page back, drawing included).
"""
from __future__ import annotations

import base64
import json
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse

from cases import definitions as defs
from cases import insights
from cases import modeler as edits
from engine.clock import utcnow
from engine.errors import Problem

from .designer import EDITORS, _version_or_404
from .inputs import PathId, clean_query
from .security import CurrentUser, SessionDep, require_csrf, require_role

router = APIRouter(dependencies=[Depends(clean_query)], include_in_schema=False)  # pages, not API
Editor = Annotated[object, Depends(require_role(*EDITORS))]
HeatReader = Annotated[object, Depends(require_role(*EDITORS, "supervisor"))]


def _problem_dict(p: Problem) -> dict:
    return {"element_id": p.element_id, "element_name": p.element_name, "line": p.line,
            "message": p.message, "severity": p.severity}


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _page(request: Request, user, version, *, xml: str | None = None, problems=(), warnings=(),
          status_code: int = 200):
    drawing = None
    if xml is not None:  # a refused save without JavaScript: draw what was posted, not the stored file
        drawing = "data:text/xml;base64," + base64.b64encode(xml.encode("utf-8")).decode("ascii")
    return request.app.state.templates.TemplateResponse(request, "designer/modeler.html", {
        "user": user, "version": version, "drawing": drawing,
        "problems": list(problems), "warnings": list(warnings),
        "metrics": insights.METRIC_LABELS,
        "initial": json.dumps({"problems": [_problem_dict(p) for p in problems]})},
        status_code=status_code)


@router.get("/designer/versions/{definition_id}/edit")
def modeler(request: Request, definition_id: PathId, user: CurrentUser, session: SessionDep,
            _editor: Editor):
    """The modeler with this version drawn; saving stores a new draft of its process."""
    version = _version_or_404(session, definition_id)
    return _page(request, user, version)


@router.post("/designer/versions/{definition_id}/edit", dependencies=[Depends(require_csrf)])
def save_draft(request: Request, definition_id: PathId, user: CurrentUser, session: SessionDep,
               _editor: Editor, bpmn: Annotated[str, Form()] = "",
               file: Annotated[UploadFile | None, File()] = None):
    """Validate the edited XML like an upload; store it as a draft or say what is wrong.

    The page sends the drawing as a file part (a form field is capped at 1 MB by the form
    parser); `bpmn` is the same XML as a plain field.
    """
    version = _version_or_404(session, definition_id)
    limit = request.app.state.settings.max_upload_bytes
    data = file.file.read(limit + 1) if file is not None else bpmn.encode("utf-8")
    bpmn = data.decode("utf-8", "replace")
    problems: list[Problem] = []
    warnings: list[Problem] = []
    status = 422
    if not bpmn.strip():
        problems = [defs.refusal("The drawing was empty: nothing was sent to save. Reload the "
                                 "page and try again.")]
        status = 400
    elif len(data) > limit:
        problems = [defs.refusal(f"The diagram is larger than {limit // 1048576 or 1} MB, the "
                                 "limit for one BPMN file. Nothing was stored.")]
        status = 413
    else:
        result = edits.save_edit(session, base_id=version.id, data=data, actor=user.username,
                                 now=utcnow(), max_bytes=limit)
        warnings = list(result.warnings)
        if result.stored:
            return _saved(request, version, result)
        problems = list(result.problems)
    if _wants_json(request):
        return JSONResponse({"stored": False, "problems": [_problem_dict(p) for p in problems],
                             "warnings": [_problem_dict(w) for w in warnings]},
                            status_code=status)
    return _page(request, user, version, xml=bpmn if status == 422 else None, problems=problems,
                 warnings=warnings, status_code=status)


def _saved(request: Request, version, result):
    """Answer a stored draft: where it is and what changed (or that it is not new)."""
    mine = next(v for v in result.versions if v.process_id == version.process_id)
    new = result.new[result.versions.index(mine)]
    message = (f"Saved as draft {mine.process_id} v{mine.version}. Compare it with the active "
               "version, then deploy it." if new else
               f"Nothing changed: this drawing is {mine.process_id} v{mine.version} "
               f"({mine.status}); nothing new was stored.")
    request.session["designer_flash"] = {"message": message, "kind": "ok"}
    url = f"/designer/versions/{mine.id}"
    if _wants_json(request):
        return JSONResponse({"stored": True, "new": new, "version_id": mine.id,
                             "version": mine.version, "url": url, "message": message,
                             "warnings": [_problem_dict(w) for w in result.warnings]})
    return RedirectResponse(url, status_code=303)


@router.get("/designer/versions/{definition_id}/heatmap")
def heatmap_data(request: Request, definition_id: PathId, session: SessionDep, _who: HeatReader,
                 metric: Annotated[str, Query()] = "rate"):
    """The version's heatmap (fills, badges, legend) as the insights heatmap page draws it."""
    version = _version_or_404(session, definition_id)
    if metric not in insights.METRICS:
        raise HTTPException(400, f"metric: choose one of {', '.join(insights.METRICS)}, "
                                 f"not '{metric[:40]}'.")
    report = insights.exception_report(session, version, now=utcnow(),
                                       with_times=metric == "time")
    heat = insights.heatmap(report, metric)
    return JSONResponse({"version_id": version.id, "version": version.version,
                         "cases": report.cases, **heat})
