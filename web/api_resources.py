"""The JSON API's bodies and answers for work items, approvals, customers, definitions and insights
(issue 16); the refusal shape and the case answers are in web/api_models.py."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from cases.notes import MAX_NOTE

from .api_models import CaseOut, DefinitionOut, FormFieldOut, NewCustomer, ProblemOut, WorkItemOut
from .inputs import DbId, Text

def _examples(*examples: dict) -> dict:
    return {"examples": list(examples)}


class WorkItemState(WorkItemOut):
    """A work item after a claim, release or assignment (no form: read the case for it)."""

    model_config = ConfigDict(json_schema_extra=_examples({
        "id": 7, "case_id": 3, "element_id": "Task_CaptureOrder", "name": "Capture the order",
        "kind": "userTask", "team": "Customer Care", "assignee_id": 12, "state": "open",
        "due_at": "2026-03-02T13:00:00+00:00", "sla_state": "on_time",
        "created_at": "2026-03-02T09:00:00+00:00", "form": None}))
    case_id: int


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False,
                              json_schema_extra=_examples({"assignee_id": 12}))
    assignee_id: DbId


class ApprovalOut(BaseModel):
    """A deviation an agent asked for, waiting for (or decided by) a supervisor."""

    model_config = ConfigDict(json_schema_extra=_examples({
        "id": 4, "case_id": 3, "process_id": "install_service", "kind": "cancel",
        "params": {}, "reason_code": "customer_withdrew", "note": "Rang to cancel",
        "requested_by": "ann", "requested_at": "2026-03-02T10:00:00+00:00",
        "status": "pending", "decided_by": None, "decided_at": None, "decision_note": None}))
    id: int
    case_id: int
    process_id: str
    kind: str
    params: dict[str, Any]  # the deviation's own fields (work_item_id, element_id, ...)
    reason_code: str
    note: str
    requested_by: str
    requested_at: str | None
    status: str  # pending, approved, rejected
    decided_by: str | None
    decided_at: str | None
    decision_note: str | None


class ApprovalDecision(BaseModel):
    """A supervisor's note: optional to approve, required to reject (the agent reads it)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=_examples(
        {"note": "Customer confirmed in writing"}))
    note: Text(MAX_NOTE) | None = None


class ApprovalResult(BaseModel):
    """The decided request, and the case as it is afterwards."""

    request: ApprovalOut
    case: CaseOut


class CustomerOut(BaseModel):
    model_config = ConfigDict(json_schema_extra=_examples({
        "id": 1, "name": "Ada Byrne", "account_number": "C-1001", "email": "ada@example.com",
        "phone": None, "created_at": "2026-03-02T09:00:00+00:00"}))
    id: int
    name: str
    account_number: str
    email: str | None
    phone: str | None
    created_at: str | None


class NewCustomerBody(NewCustomer):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=_examples(
        {"name": "Ada Byrne", "account_number": "C-1001", "email": "ada@example.com"}))


class DefinitionDetail(DefinitionOut):
    """A definition version with where it came from and its cases."""

    model_config = ConfigDict(json_schema_extra=_examples({
        "id": 5, "process_id": "install_service", "version": 2, "name": "Install service",
        "status": "draft", "content_hash": "9f2c...", "created_at": "2026-03-02T09:00:00+00:00",
        "filename": "install_service.bpmn", "uploaded_by": "dana", "activated_at": None,
        "retired_at": None, "cases": 0, "open_cases": 0,
        "bpmn_url": "/api/definitions/5/bpmn"}))
    id: int
    filename: str
    uploaded_by: str | None
    activated_at: str | None
    retired_at: str | None
    cases: int
    open_cases: int
    bpmn_url: str


_REFUND_FIELDS = [
    {"id": "invoice_number", "label": "Invoice number", "type": "string", "required": True,
     "values": None, "choices": None, "default": None, "readonly": False, "min": None,
     "max": None, "minlength": 4, "maxlength": 20, "step": None, "decimals": None,
     "multiline": False, "description": None, "prefix": None, "suffix": None, "widget": None},
    {"id": "refund_amount", "label": "Amount to refund", "type": "double", "required": True,
     "values": None, "choices": None, "default": None, "readonly": False, "min": 0.01,
     "max": 5000, "minlength": None, "maxlength": None, "step": None, "decimals": 2,
     "multiline": False, "description": None, "prefix": "EUR", "suffix": None, "widget": None},
    {"id": "refund_reason", "label": "What went wrong", "type": "string", "required": True,
     "values": None, "choices": None, "default": None, "readonly": False, "min": None,
     "max": None, "minlength": None, "maxlength": 1000, "step": None, "decimals": None,
     "multiline": True, "description": "In the customer's words", "prefix": None,
     "suffix": None, "widget": None},
    {"id": "refund_method", "label": "Refund to", "type": "enum", "required": True,
     "values": ["bank", "credit"], "choices": [{"value": "bank", "label": "Bank account"},
                                              {"value": "credit", "label": "Credit on the next "
                                                                           "invoice"}],
     "default": "credit", "readonly": False, "min": None, "max": None, "minlength": None,
     "maxlength": None, "step": None, "decimals": None, "multiline": False,
     "description": None, "prefix": None, "suffix": None, "widget": "radio"}]


class DefinitionWithForm(DefinitionDetail):
    """A definition version, with the start form a case of it is opened with (null: none)."""

    start_form: list[FormFieldOut] | None


class StartFormOut(BaseModel):
    """What to send as `data` when opening a case (POST /api/cases): the start form of the
    process's active version, field by field. No fields: the process asks for nothing first
    (any `data` is kept as sent). Data beyond the fields is kept as sent too."""

    model_config = ConfigDict(json_schema_extra=_examples({
        "process_id": "Process_RefundRequest", "definition_id": 9, "version": 1,
        "name": "Refund request", "fields": _REFUND_FIELDS,
        "example_data": {"invoice_number": "INV-2026-0042", "refund_amount": 42.5,
                         "refund_reason": "Billed twice for November.",
                         "refund_method": "bank"}}))
    process_id: str
    definition_id: int
    version: int
    name: str | None
    fields: list[FormFieldOut]
    example_data: dict[str, Any]  # a `data` this form accepts (defaults, first choices, ...)


class UploadOut(BaseModel):
    """What an upload stored: one draft version per process in the file (new=False: the same
    file was uploaded before and nothing new was stored)."""

    versions: list[DefinitionDetail]
    new: list[bool]
    warnings: list[ProblemOut]


class ReasonCount(BaseModel):
    code: str
    label: str | None
    category: str | None
    count: int


class ElementFiguresOut(BaseModel):
    """Every figure of one BPMN element of a version (rates are shares between 0 and 1)."""

    element_id: str
    name: str
    type: str
    lane: str | None
    reached: int  # cases that reached the element
    deviating_cases: int
    deviations: int
    by_kind: dict[str, int]
    rate: float | None  # deviating cases / reached
    rework: int
    rework_rate: float | None
    reasons: list[ReasonCount]  # most frequent first
    items: int  # work items opened for the step
    timed_items: int
    median_seconds: float | None  # median time a step took
    breaches: int
    breach_rate: float | None
    incidents: int


class FiltersOut(BaseModel):
    since: str | None
    until: str | None
    team: str | None
    agent: str | None
    channel: str | None


class ExceptionReportOut(BaseModel):
    """The exception report of one version: where cases leave the happy path, and why."""

    model_config = ConfigDict(json_schema_extra=_examples({
        "definition_id": 5, "process_id": "install_service", "version": 2, "cases": 120,
        "filters": {"since": "2026-03-01", "until": None, "team": None, "agent": None,
                    "channel": None},
        "elements": [{"element_id": "Task_AgreeAppointment", "name": "Agree appointment",
                      "type": "userTask", "lane": "Customer Care", "reached": 118,
                      "deviating_cases": 30, "deviations": 31, "by_kind": {"skip": 31},
                      "rate": 0.254, "rework": 0, "rework_rate": 0.0,
                      "reasons": [{"code": "customer_already_confirmed",
                                   "label": "Customer already confirmed",
                                   "category": "customer_driven", "count": 31}],
                      "items": 118, "timed_items": 88, "median_seconds": 5400.0, "breaches": 3,
                      "breach_rate": 0.034, "incidents": 0}]}))
    definition_id: int
    process_id: str
    version: int
    cases: int
    filters: FiltersOut
    elements: list[ElementFiguresOut]


class LegendEntry(BaseModel):
    colour: str
    label: str


class HeatmapOut(BaseModel):
    """Colours and badges per element for drawing a version's diagram as a heatmap."""

    model_config = ConfigDict(json_schema_extra=_examples({
        "definition_id": 5, "metric": "rate", "label": "Deviation rate", "top": 0.254,
        "values": {"Task_AgreeAppointment": 0.254, "Task_CaptureOrder": 0.01},
        "fills": {"Task_AgreeAppointment": "#f26b5b"}, "badges": {"Task_AgreeAppointment": "31"},
        "legend": [{"colour": "#fff5cc", "label": "0% – 5%"}], "bpmn_url":
        "/api/definitions/5/bpmn"}))
    definition_id: int
    metric: str
    label: str
    top: float | None  # the highest value, the top of the colour scale
    values: dict[str, float | None]  # element id -> the metric's value
    fills: dict[str, str]  # element id -> colour
    badges: dict[str, str]  # element id -> count (or median time) to show on it
    legend: list[LegendEntry]
    bpmn_url: str


class ScorecardOut(BaseModel):
    """The customer's view of a version: promises kept, first time right, cycle times."""

    model_config = ConfigDict(json_schema_extra=_examples({
        "definition_id": 5, "cases": 120, "closed": 100, "resolved": 96, "with_promise": 98,
        "promise_met": 81, "promise_rate": 0.827, "first_time_right": 77,
        "first_time_right_rate": 0.802, "customer_cycle_median_seconds": 259200.0,
        "internal_cycle_median_seconds": 172800.0, "handoffs": 240, "cases_with_work": 118,
        "handoffs_per_case": 2.03, "repeat_contacts": 9, "cases_with_repeat_contact": 8,
        "filters": {"since": None, "until": None, "team": None, "agent": None,
                    "channel": None}}))
    definition_id: int
    cases: int
    closed: int
    resolved: int
    with_promise: int
    promise_met: int
    promise_rate: float | None
    first_time_right: int
    first_time_right_rate: float | None
    customer_cycle_median_seconds: float | None  # first contact to resolved
    internal_cycle_median_seconds: float | None  # opened to the last step done
    handoffs: int
    cases_with_work: int
    handoffs_per_case: float | None
    repeat_contacts: int
    cases_with_repeat_contact: int
    filters: FiltersOut
