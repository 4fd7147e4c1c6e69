"""The JSON API's bodies, answers and refusals; bodies are checked by web/inputs.py types."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cases.case_models import Case, WorkItem
from cases.customers import Customer
from cases.deviations import Deviation
from cases.notes import MAX_NOTE
from engine.forms import Form, typed_default

from .inputs import DbId, DbInt, JsonObject, JsonValue, Text, When, column_length

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
# Column lengths, read from the tables so a body can never outgrow its column.
CASE_CHANNEL_LEN = column_length(Case, "channel")
CASE_PROCESS_ID_LEN = column_length(Case, "process_id")
CUSTOMER_ACCOUNT_NUMBER_LEN = column_length(Customer, "account_number")
CUSTOMER_EMAIL_LEN = column_length(Customer, "email")
CUSTOMER_NAME_LEN = column_length(Customer, "name")
CUSTOMER_PHONE_LEN = column_length(Customer, "phone")
DEVIATION_ELEMENT_ID_LEN = column_length(Deviation, "element_id")
DEVIATION_REASON_CODE_LEN = column_length(Deviation, "reason_code")
WORK_ITEM_ELEMENT_ID_LEN = column_length(WorkItem, "element_id")
WORK_ITEM_NAME_LEN = column_length(WorkItem, "name")
WORK_ITEM_TEAM_LEN = column_length(WorkItem, "team")


class NewCustomer(BaseModel):
    model_config = _STRICT
    name: Text(CUSTOMER_NAME_LEN, 1)
    account_number: Text(CUSTOMER_ACCOUNT_NUMBER_LEN, 1)
    email: Text(CUSTOMER_EMAIL_LEN) | None = None
    phone: Text(CUSTOMER_PHONE_LEN) | None = None


class NewCase(BaseModel):
    model_config = _STRICT
    process_id: Text(CASE_PROCESS_ID_LEN, 1)
    channel: Text(CASE_CHANNEL_LEN)
    customer_id: DbId | None = None
    customer: NewCustomer | None = None
    priority: int = Field(default=0, ge=0, le=3)
    contacted_at: When | None = None
    data: JsonObject = {}


class Completion(BaseModel):
    model_config = _STRICT
    expected_version: DbInt
    data: JsonObject = {}


class Message(BaseModel):
    model_config = _STRICT
    name: Text(255, 1)  # matched against the model's message names, never stored as a column
    payload: JsonValue = None


class DeviationRequest(BaseModel):
    """A deviation: reason and note always; the other fields as the kind needs them."""

    model_config = _STRICT
    expected_version: DbInt
    reason_code: Text(DEVIATION_REASON_CODE_LEN)
    note: Text(MAX_NOTE)
    work_item_id: DbId | None = None
    element_id: Text(DEVIATION_ELEMENT_ID_LEN) | None = None
    gateway_id: Text(WORK_ITEM_ELEMENT_ID_LEN) | None = None
    target_id: Text(WORK_ITEM_ELEMENT_ID_LEN) | None = None
    title: Text(WORK_ITEM_NAME_LEN) | None = None
    team: Text(WORK_ITEM_TEAM_LEN) | None = None
    assignee_id: DbId | None = None
    due_at: When | None = None
    blocking: bool = True
    changes: JsonObject | None = None
    data: JsonObject | None = None  # skip: what the step would have recorded (fields later decisions read)


class DeviationPreviewRequest(BaseModel):
    """What a dry run needs: the kind's target, and for a skip the data it would give."""

    model_config = _STRICT
    work_item_id: DbId | None = None
    element_id: Text(DEVIATION_ELEMENT_ID_LEN) | None = None
    gateway_id: Text(WORK_ITEM_ELEMENT_ID_LEN) | None = None
    target_id: Text(WORK_ITEM_ELEMENT_ID_LEN) | None = None
    data: JsonObject | None = None


# ---- answers (what the routes return, so the OpenAPI documents it) -----------------------------

class ChoiceOut(BaseModel):
    value: str  # what to send
    label: str  # what the page shows


class FormFieldOut(BaseModel):
    """One field of a form, with everything the page draws it with: send `data[id]`."""

    id: str
    label: str | None
    type: str  # string, long (whole number), double (decimal), boolean, date (YYYY-MM-DD), enum
    required: bool
    values: list[str] | None  # the choices of an enum field
    choices: list[ChoiceOut] | None = None  # the same choices, with the labels the page shows
    default: Any = None  # typed as a submission would be
    readonly: bool = False  # shown, never taken from a submission
    min: float | None = None
    max: float | None = None
    minlength: int | None = None
    maxlength: int | None = None
    step: float | None = None  # a number must be a multiple of it
    decimals: int | None = None  # at most this many decimal places
    multiline: bool = False  # long text (the page draws a textarea)
    description: str | None = None  # the help text under the field
    prefix: str | None = None  # shown before the input, like "EUR"
    suffix: str | None = None
    widget: str | None = None  # "radio": the page shows the choices as a radio group


def form_json(form: Form | dict | None) -> list[dict] | None:
    """A form's fields as the API describes them (FormFieldOut); None without a form."""
    if not form:  # some callers pass {} for "no form here"
        return None
    return [{"id": f.id, "label": f.label, "type": f.type, "required": f.required,
             "values": [v.id for v in f.values] or None,
             "choices": [{"value": v.id, "label": v.name} for v in f.values] or None,
             "default": typed_default(f), "readonly": f.readonly, "min": f.min, "max": f.max,
             "minlength": f.minlength, "maxlength": f.maxlength, "step": f.step,
             "decimals": f.decimals, "multiline": f.multiline, "description": f.description,
             "prefix": f.prefix, "suffix": f.suffix, "widget": f.widget} for f in form.fields]


class WorkItemOut(BaseModel):
    id: int
    element_id: str
    name: str
    kind: str
    team: str | None
    assignee_id: int | None
    state: str
    due_at: str | None
    sla_state: str
    created_at: str | None
    form: list[FormFieldOut] | None  # None for a step without a form


class PendingApprovalOut(BaseModel):
    id: int
    kind: str
    requested_by: str
    requested_at: str | None


class CaseOut(BaseModel):
    id: int
    process_id: str
    version: int | None
    status: str
    channel: str
    priority: int
    customer_id: int
    contacted_at: str | None
    opened_at: str | None
    promised_at: str | None
    closed_at: str | None
    sla_state: str
    row_version: int  # send it back as expected_version
    work_items: list[WorkItemOut] | None = None  # one case only, not in lists
    pending_approvals: list[PendingApprovalOut] | None = None


class CaseList(BaseModel):
    data: list[CaseOut]
    count: int
    limit: int
    offset: int


class DefinitionOut(BaseModel):
    process_id: str
    version: int
    name: str | None
    status: str
    content_hash: str
    created_at: str


class DefinitionList(BaseModel):
    data: list[DefinitionOut]
    count: int


class EventOut(BaseModel):
    seq: int
    type: str
    actor: str
    at: str | None
    element_id: str | None
    details: Any
    text: str = Field(description="The event in plain words, as the case page's timeline says it: "
                                  "steps named as they were called when it happened")


class EventList(BaseModel):
    data: list[EventOut]


class MessageResult(BaseModel):
    caught: bool  # False: kept until the process waits for it
    case: CaseOut


class DeviationPending(BaseModel):
    status: str
    request_id: int
    message: str
    case: CaseOut


class ReachedOut(BaseModel):
    element_id: str
    name: str


class DecisionOut(BaseModel):
    element_id: str
    name: str
    fields: list[str]


class NeededOut(BaseModel):
    field: str
    label: str | None
    decisions: list[str]
    default: Any = None


class DeviationPreviewOut(BaseModel):
    """Where a deviation would lead; nothing was changed."""

    kind: str
    next_steps: list[ReachedOut]  # waiting for a person afterwards
    ends: list[ReachedOut]  # end events it would reach
    completed: bool
    skipped: list[str]  # steps a jump passes
    decisions: list[DecisionOut]  # later decisions that would read data the skipped step(s) did not give
    needs: list[NeededOut]  # a skip: the fields those decisions read
    missing: list[str]  # a skip: needed fields not given in `data`
    failure: str | None  # the process model would fail on the way
    later: str | None  # an override of a decision the case has not reached yet, in words
    summary: str


class WorklistEntry(WorkItemOut):
    case_id: int
    overdue: bool
    at_risk: bool
    priority: int


class Worklist(BaseModel):
    data: list[WorklistEntry]


class Health(BaseModel):
    status: str


# ---- refusals ----------------------------------------------------------------------------------

class ProblemOut(BaseModel):
    """One finding about an uploaded BPMN file, located by element and line."""

    message: str
    element_id: str | None
    element_name: str | None
    line: int | None
    severity: str  # "error" blocks the upload, "warning" does not


class RefusalDetail(BaseModel):
    message: str
    errors: dict[str, str] | None = None  # field -> what is wrong with it
    submitted: dict[str, Any] | None = None  # the input, given back so nothing typed is lost
    element_id: str | None = None  # where the process model failed (409)
    problems: list[ProblemOut] | None = None  # a refused BPMN upload: every problem found


class Refusal(BaseModel):
    """Every 4xx of the API: {"detail": {"message", "errors", "submitted"}}."""

    detail: RefusalDetail


def _refusal(text: str) -> dict:
    return {"model": Refusal, "description": text}


REFUSALS: dict[int | str, dict[str, Any]] = {
    400: _refusal("The body could not be read (not UTF-8, or JSON nested too deeply)"),
    401: _refusal("No API token, or one unknown or revoked (send Authorization: Bearer ...)"),
    403: _refusal("The caller's role or team does not allow this"),
    404: _refusal("No such case, work item, customer, process or deviation kind"),
    409: _refusal("The case moved on, or the process model failed at an element"),
    422: _refusal("Input refused; `errors` names every bad field"),
}
