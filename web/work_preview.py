"""The case page's deviation dialogs say where a change leads: the dry run and a skip's data."""
from __future__ import annotations

from typing import Any

from cases.errors import InvalidInput
from cases.preview.service import PREVIEW_KINDS, Preview, preview

from .work_common import int_or_none, now, settings

SKIP_PREFIX = "skip-{item}-"  # a skip's field `f` of work item 7 is posted as skip-7-f


def skip_data(form: dict[str, str], work_item_id: int | None) -> dict[str, str]:
    """The values given in the skip dialog for the chosen step (empty ones are not given)."""
    if work_item_id is None:
        return {}
    prefix = SKIP_PREFIX.format(item=work_item_id)
    return {k[len(prefix):]: v for k, v in form.items() if k.startswith(prefix) and v.strip()}


def skip_errors(errors: dict[str, str], work_item_id: int | None) -> dict[str, str]:
    """Name a skip's field errors by the dialog's input names, the rest as they are."""
    if work_item_id is None:
        return errors
    known = {"reason_code", "note", "work_item_id"}
    prefix = SKIP_PREFIX.format(item=work_item_id)
    return {(k if k in known else prefix + k): v for k, v in errors.items()}


def _params(kind: str, form: dict[str, str]) -> dict[str, Any]:
    """The deviation's target as the dialog posted it (reason and note are not needed to look)."""
    if kind == "skip":
        item_id = int_or_none(form.get("work_item_id"))
        if item_id is None:
            raise InvalidInput({"work_item_id": "Choose the step to skip"}, form)
        return {"work_item_id": item_id, "data": skip_data(form, item_id)}
    if kind == "override_decision":
        gateway, _, target = (form.get("branch") or "").partition("|")
        if not gateway or not target:
            raise InvalidInput({"branch": "Choose the decision and the branch to take"}, form)
        return {"gateway_id": gateway, "target_id": target}
    if not form.get("element_id"):
        raise InvalidInput({"element_id": "Choose the step"}, form)
    return {"element_id": form["element_id"]}


def dialog_preview(request, session, user, case_id: int, kind: str,
                   form: dict[str, str]) -> Preview | None:
    """Run the dialog's change on a copy of the case; None for kinds that cannot be previewed."""
    if kind not in PREVIEW_KINDS:
        return None
    return preview(session, actor=user, now=now(), case_id=case_id, kind=kind,
                   params=_params(kind, form), time_limit=settings(request).script_time_limit)


def preview_markers(markers: dict[str, list[str]], result: Preview | None) -> dict:
    """The diagram's markers plus where the previewed change leads."""
    if result is None:
        return markers
    marked = {k: list(v) for k, v in markers.items()}
    for reached in (*result.steps, *result.ends):
        marked.setdefault(reached.element_id, []).append("preview")
    return marked
