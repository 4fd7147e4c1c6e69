"""How a refusal is answered: the API's {"detail": {...}} JSON, or the error page for a person.

The exception handlers in web/app.py call these; one place decides the status and the words for
request validation, HTTPException, the case layer's errors and a process model that failed.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from cases.errors import CaseError, Conflict, Forbidden, InvalidInput, NotFound
from engine.errors import ScriptFailed

from .inputs import INT_MAX, path_fields, printable, validation_errors

log = logging.getLogger(__name__)
NO_SUCH = "No such page: check the address."


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


UNREADABLE = "There was an error parsing the body"  # FastAPI's words for a body it cannot decode


def api_refusal(status: int, detail: Any, headers: dict | None = None) -> JSONResponse:
    """{"detail": {"message", ...}} whatever the route raised (a bare string is the message)."""
    if detail == UNREADABLE:  # not UTF-8, or JSON nested past what the parser can follow
        detail = {"message": "The body could not be read: send UTF-8 JSON.",
                  "errors": {"body": "Send UTF-8 JSON, nested at most a few hundred levels"}}
    if not isinstance(detail, dict):
        detail = {"message": printable(str(detail))}
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def page_refusal(request: Request, status: int, message: str):
    """The error page, with the message for the person."""
    return request.app.state.templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status)


def refuse(request: Request, status: int, message: str, **detail):
    """A refusal in the form the caller reads: JSON for the API, the error page otherwise."""
    if is_api(request):
        return api_refusal(status, {"message": message, **detail})
    return page_refusal(request, status, message)


def invalid_request(request: Request, errors: list[dict]):
    """A request FastAPI could not read: 404 for an address naming nothing, else 422/400 per field.

    An id outside the database's range (or not a number) names nothing that can exist, so it is
    404 like any other unknown id; a bad body or query value is named with what is wrong with it.
    """
    if wrong := path_fields(errors):
        if not is_api(request):
            return page_refusal(request, 404, NO_SUCH)
        return api_refusal(404, {"message": f"Nothing has that {wrong[0]}: ids are whole numbers "
                                            f"from 1 to {INT_MAX}.",
                                 "errors": {name: "No such id" for name in wrong}})
    fields = validation_errors(errors)
    if is_api(request):
        return api_refusal(422, {"message": "Check the fields: " + ", ".join(fields),
                                 "errors": fields})
    return page_refusal(request, 400, "; ".join(f"{k}: {v}" for k, v in fields.items()))


def case_error(request: Request, err: CaseError):
    """A refusal of the case layer that a route did not answer itself."""
    status = next((code for cls, code in ((NotFound, 404), (Forbidden, 403), (Conflict, 409),
                                          (InvalidInput, 422 if is_api(request) else 400))
                   if isinstance(err, cls)), 400)
    detail: dict[str, Any] = {}
    if isinstance(err, InvalidInput):
        detail["errors"] = err.errors
    if getattr(err, "element_id", None):
        detail["element_id"] = err.element_id
    return refuse(request, status, str(err), **detail)


def script_failed(request: Request, err: ScriptFailed):
    """The model failed at an element while the case ran: 409, nothing was saved."""
    where = err.element_id or "an element of the process"
    log.warning("process model failed at %s: %s", where, err)
    message = (f"The process model failed at {where}: {err}. Nothing was saved; the process "
               "designer must fix the model or the case data.")
    detail = {"element_id": err.element_id} if err.element_id else {}
    return refuse(request, 409, message, **detail)


def data_error(request: Request, err: Exception):
    """The database refused a value a check above should have caught: still the caller's input."""
    log.warning("database refused a value: %s", str(err).splitlines()[0][:300])
    return refuse(request, 422 if is_api(request) else 400,
                  "A value is too long, out of range or holds characters the database cannot "
                  "store; check what you sent.")
