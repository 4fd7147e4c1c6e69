"""Read-only view models for the agent's pages: case header, clock, diagram markers, timeline, forms.

Nothing here writes; pages build these from the tables and the loaded workflow instance. Text for
people (the timeline) is made here from event types and facts, so events never hold prose.
"""
from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from engine import store
from engine.dmn_task import decision_choices
from engine.forms import Form
from engine.metadata import ProcessInfo

from .case_models import Case, WorkItem
from .case_service import get_case
from .customers import Customer, get_customer
from .deviations import Deviation
from .links.models import LINK_WORDS
from .events import CaseEvent
from .prefill import form_start, known_values
from .reason_codes import ReasonCode
from .sla import definition_metadata
from .start_forms import StartValue, opened_with
from .users import User

HUMAN_TYPES = ("userTask", "manualTask", "task")
CATEGORY_LABELS = {"customer_driven": "customer driven", "internal_failure": "internal failure",
                   "system": "system", "policy": "policy"}
PRIORITIES = {0: "Normal", 1: "High", 2: "Urgent"}


# ---- time and urgency --------------------------------------------------------------------------


def humanize(delta: timedelta) -> str:
    """Say a duration the short way people say it: '2 d 3 h', '45 min', 'under a minute'."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return "under a minute"


@dataclass(frozen=True)
class Urgency:
    """Where a clock stands: 'on_time', 'at_risk', 'breached' or 'none' (no due time), and a label."""

    state: str
    label: str
    left: str

    @property
    def text(self) -> str:
        return f"{self.label} · {self.left}" if self.left else self.label


def urgency(start: datetime | None, due: datetime | None, now: datetime,
            at_risk: float = 0.8) -> Urgency:
    """Classify a clock running from `start` to `due`: at risk once `at_risk` of its time is used."""
    if due is None:
        return Urgency("none", "No deadline", "")
    if now >= due:
        return Urgency("breached", "Breached", f"{humanize(now - due)} late")
    left = f"{humanize(due - now)} left"
    if start is not None and due > start and (now - start) >= (due - start) * at_risk:
        return Urgency("at_risk", "At risk", left)
    return Urgency("on_time", "On time", left)


# ---- forms ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldView:
    """One form input as the template draws it, with the value to show (typed, default or stored)."""

    id: str
    label: str
    type: str
    required: bool
    value: Any
    choices: tuple[tuple[str, str], ...] = ()
    readonly: bool = False
    min: Any = None
    max: Any = None
    minlength: int | None = None
    maxlength: int | None = None
    error: str | None = None
    step: str | None = None  # the number input's step attribute ("1", "0.01", "any")
    multiline: bool = False  # long text: a textarea
    description: str | None = None  # help text under the input
    prefix: str | None = None  # beside the input, like "EUR"
    suffix: str | None = None
    widget: str | None = None  # "radio": the choices as a radio group

    @property
    def checked(self) -> bool:
        return str(self.value).strip().lower() in ("true", "on", "1", "yes")


def form_fields(form: Form | None, data: Mapping[str, Any] | None = None,
                submitted: Mapping[str, Any] | None = None,
                errors: Mapping[str, str] | None = None) -> list[FieldView]:
    """Fields of a task form with what to show: what was typed, else the case data, else the default."""
    if form is None:
        return []
    data, errors = data or {}, errors or {}
    out = []
    for f in form.fields:
        if submitted is not None:
            value = submitted.get(f.id, "" if f.type != "boolean" else "false")
        elif data.get(f.id) is not None:
            value = data[f.id]
        else:
            value = f.default if f.default is not None else ""
        if f.type == "boolean" and isinstance(value, bool):
            value = "true" if value else "false"
        out.append(FieldView(f.id, f.label, f.type, f.required, value,
                             tuple((v.id, v.name) for v in f.values), f.readonly, f.min, f.max,
                             f.minlength, f.maxlength, errors.get(f.id), f.input_step,
                             f.multiline, f.description, f.prefix, f.suffix, f.widget))
    return out


# ---- the case page -------------------------------------------------------------------------------


@dataclass
class StepView:
    """An open work item with its form."""

    item: WorkItem
    assignee: str | None
    fields: list[FieldView]
    documentation: str | None
    urgency: Urgency
    has_form: bool
    typed: dict | None = None  # what was typed into a refused form that is not a BPMN form
    errors: dict | None = None


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class GatewayView:
    id: str
    name: str
    branches: tuple[Choice, ...]


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    text: str
    type: str
    deviation: bool = False


@dataclass
class CaseView:
    case: Case
    customer: Customer
    process_name: str
    version: int
    definition_id: int
    clock: Urgency
    steps: list[StepView]
    markers: dict[str, list[str]]
    timeline: list[TimelineEntry]
    completed: list[Choice]
    later: list[Choice]
    gateways: list[GatewayView]
    data: dict = field(default_factory=dict)
    corrections: list[GatewayView] = field(default_factory=list)  # completed steps' form fields
    opened_with: list[StartValue] = field(default_factory=list)  # the start form's values

    @property
    def is_open(self) -> bool:
        return self.case.status == "open"

    @property
    def is_closed(self) -> bool:
        return self.case.status in ("resolved", "cancelled")

    @property
    def priority_label(self) -> str:
        return PRIORITIES.get(self.case.priority, str(self.case.priority))


def _names(process: ProcessInfo | None) -> dict[str, str]:
    if process is None:
        return {}
    return {n.id: " ".join((n.name or n.id).split()) for n in process.nodes}


def _process_info(session: Session, case: Case) -> ProcessInfo | None:
    try:
        return definition_metadata(session, case.definition_id).process(case.process_id)
    except KeyError:
        return None


def _past_merges(process: ProcessInfo, target: str) -> str:
    """The element a branch really leads to: past unnamed gateways that only pass it on (a merge
    in front of a step), so the agent reads the step's name, not a gateway id."""
    nodes = {n.id: n for n in process.nodes}
    seen = set()
    while target not in seen:
        seen.add(target)
        node = nodes.get(target)
        onward = [f.target for f in process.flows if f.source == target]
        if node is None or node.name or not node.type.endswith("Gateway") or len(onward) != 1:
            break
        target = onward[0]
    return target


def _reachable_steps(process: ProcessInfo, starts: list[str]) -> list[str]:
    """Human steps reachable along sequence flows from the given elements, in walking order."""
    outgoing: dict[str, list[str]] = {}
    for flow in process.flows:
        outgoing.setdefault(flow.source, []).append(flow.target)
    for node in process.nodes:  # boundary events leave their task too
        if node.attached_to:
            outgoing.setdefault(node.attached_to, []).append(node.id)
    types = {n.id: n.type for n in process.nodes}
    seen, order, queue = set(starts), [], deque(starts)
    while queue:
        for target in outgoing.get(queue.popleft(), []):
            if target in seen:
                continue
            seen.add(target)
            queue.append(target)
            if types.get(target) in HUMAN_TYPES:
                order.append(target)
    return order


def case_view(session: Session, case_id: int, *, now: datetime, at_risk: float = 0.8,
              time_limit: float = 2.0, submitted: Mapping[int, Mapping[str, Any]] | None = None,
              errors: Mapping[int, Mapping[str, str]] | None = None) -> CaseView:
    """Everything the case page shows; `submitted`/`errors` (per work item id) refill a refused form."""
    case = get_case(session, case_id)
    customer = get_customer(session, case.customer_id)
    version = session.get(store.DefinitionVersion, case.definition_id)
    process = _process_info(session, case)
    names = _names(process)
    nodes = {n.id: n for n in process.nodes} if process else {}
    _, live = store.load_instance(session, case.instance_id, time_limit=time_limit)
    ready = {t.id: t for t in live.ready_tasks()}
    users = {u.id: u for u in session.exec(select(User)).all()}
    items = session.exec(select(WorkItem).where(WorkItem.case_id == case.id)
                         .order_by(WorkItem.id)).all()
    open_items = [i for i in items if i.state == "open"]
    submitted, errors = submitted or {}, errors or {}
    known = known_values(customer, live.data)
    steps = []
    for item in open_items:
        task = ready.get(item.task_id)
        form = task.form if task else None
        assignee = users.get(item.assignee_id) if item.assignee_id else None
        node = nodes.get(item.element_id)
        steps.append(StepView(
            item, assignee.display_name if assignee else None,
            form_fields(form, form_start(task.data, task.previous, known) if task else {},
                        submitted.get(item.id), errors.get(item.id)),
            node.documentation if node else None,
            urgency(item.created_at, item.due_at, now, at_risk), form is not None,
            submitted.get(item.id), errors.get(item.id)))

    completed_steps = live.completed_steps()
    markers: dict[str, list[str]] = {}
    current = {i.element_id for i in open_items}
    done = {s.element_id for s in completed_steps} | {i.element_id for i in items if i.state == "done"}
    for element in done - current:
        markers.setdefault(element, []).append("done")
    for element in current:
        markers.setdefault(element, []).append("current")
    deviated = session.exec(select(Deviation.element_id).where(
        Deviation.case_id == case.id, Deviation.element_id.is_not(None))).all()
    for element in dict.fromkeys(deviated):
        markers.setdefault(element, []).append("deviated")

    completed, seen = [], set()
    for step in reversed(completed_steps):  # latest run first, one entry per step
        if step.element_id not in seen and step.element_id not in current:
            seen.add(step.element_id)
            completed.append(Choice(step.element_id, names.get(step.element_id, step.name)))
    later = []
    gateways = []
    if process is not None:
        starts = [i.element_id for i in open_items if i.element_id in nodes]
        later = [Choice(e, names.get(e, e)) for e in _reachable_steps(process, starts)
                 if e not in current]
        for node in process.nodes:
            if node.type != "exclusiveGateway":
                continue
            branches = tuple(Choice(f.target, f"{f.name + ': ' if f.name else ''}"
                                    f"{names.get(_past_merges(process, f.target), f.target)}")
                             for f in process.flows if f.source == node.id)
            if len(branches) > 1:
                gateways.append(GatewayView(node.id, names.get(node.id, node.id), branches))
    for element, rules in decision_choices(live.process).items():  # DMN: choose the rule
        gateways.append(GatewayView(element, f"{names.get(element, element)} (decision table)",
                                    tuple(Choice(rule, words) for rule, words in rules)))
        names.update(rules)  # the timeline names an overriding rule by its words

    corrections = []
    latest = {}
    for step in completed_steps:
        latest[step.element_id] = step
    for element, step in latest.items():
        node = nodes.get(element)
        form = live.process.forms.get(element)  # formData or a Camunda form, as compiled
        if node is None or form is None:
            continue
        choices = tuple(Choice(f"{element}|{f.id}", f"{f.label} (now: {_shown(step.data.get(f.id))})")
                        for f in form.fields if not f.readonly)
        if choices:
            corrections.append(GatewayView(element, names.get(element, step.name), choices))

    return CaseView(case=case, corrections=corrections, customer=customer,
                    process_name=(version.name if version and version.name else case.process_id),
                    version=version.version if version else 0, definition_id=case.definition_id,
                    clock=urgency(case.contacted_at, case.promised_at,
                                  case.closed_at or now, at_risk),
                    steps=steps, markers=markers,
                    timeline=timeline(session, case, names=names, users=users),
                    completed=completed, later=later, gateways=gateways, data=dict(live.data),
                    opened_with=opened_with(session, case))


def _decision_words(step: str, details: Mapping[str, Any]) -> str:
    """What a decision table decided, from its event's facts (inputs, outcome, rows)."""
    seen = ", ".join(f"{k} {_shown(v)}" for k, v in (details.get("inputs") or {}).items())
    outcome = ", ".join(f"{k} = {_shown(v)}" for k, v in (details.get("outcome") or {}).items())
    rows = ", ".join(str(r) for r in details.get("rows") or [])
    if not rows:
        by = "(no rule matched)"
    elif details.get("overridden"):
        by = f"(rule {rows}, chosen by an agent's override)"
    else:
        by = f"(rule {rows})"
    return f"Caseflow decided {step}: {outcome or 'nothing'} {by}" + (f", from {seen}" if seen else "")


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# ---- timeline ------------------------------------------------------------------------------------


def _q(text: str | None) -> str:
    return f"“{text}”"


def timeline(session: Session, case: Case, *, names: Mapping[str, str] | None = None,
             users: Mapping[int, User] | None = None, newest_first: bool = True
             ) -> list[TimelineEntry]:
    """The case's events in plain words: who did what, when, and why for every deviation."""
    current_names = dict(names or {})
    names_of = _VersionNames(session, case, current_names)
    added: dict[str, str] = {}  # ad-hoc steps: named by their own event, in any version
    version: int | None = None
    users = users if users is not None else {u.id: u for u in session.exec(select(User)).all()}
    by_username = {u.username: u.display_name for u in users.values()}
    by_id = {u.id: u.display_name for u in users.values()}
    reasons = {r.code: r for r in session.exec(select(ReasonCode)).all()}
    rows = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                        .order_by(CaseEvent.seq)).all()
    entries = []
    for event in rows:
        details = json.loads(event.details or "{}")
        if event.type == "case_opened":
            version = details.get("version")
        if event.type == "adhoc_task_added" and event.element_id:
            added[event.element_id] = details.get("title") or event.element_id
        # History reads as it happened: the names of the version the case was on at the time.
        names = {**names_of(version), **added}
        if event.type == "process_migrated":
            version = details.get("to_version")
        who = ("Caseflow" if event.actor in ("engine", "system")
               else by_username.get(event.actor, event.actor))
        if details.get("requested_by"):  # people read names, not usernames
            details["requested_by"] = by_username.get(details["requested_by"],
                                                      details["requested_by"])
        text = describe(event.type, details, who=who,
                        step=_said(details.get("name")) or names.get(event.element_id or "")
                        or event.element_id,
                        names=names, people=by_id, reasons=reasons)
        entries.append(TimelineEntry(event.at, who, text, event.type,
                                     deviation="reason_code" in details))
    return list(reversed(entries)) if newest_first else entries


def _said(name: Any) -> str | None:
    return " ".join(name.split()) if isinstance(name, str) and name.strip() else None


class _VersionNames:
    """Step names per version of the case's process, read once each (history keeps old names)."""

    def __init__(self, session: Session, case: Case, current: Mapping[str, str]):
        self.session, self.case, self.current = session, case, current
        self.by_version: dict[int, dict[str, str]] = {}

    def __call__(self, version: Any) -> dict[str, str]:
        if not isinstance(version, int):
            return dict(self.current)
        if version not in self.by_version:
            row = self.session.exec(select(store.DefinitionVersion.id).where(
                store.DefinitionVersion.process_id == self.case.process_id,
                store.DefinitionVersion.version == version)).first()
            names = {}
            if row is not None and row != self.case.definition_id:
                try:
                    names = _names(definition_metadata(self.session, row).process(self.case.process_id))
                except KeyError:
                    names = {}
            self.by_version[version] = names or dict(self.current)
        return self.by_version[version]


def case_timeline(session: Session, case: Case) -> list[TimelineEntry]:
    """The timeline of a case with its steps named as in its process (newest first)."""
    return timeline(session, case, names=_names(_process_info(session, case)))


def _reason_text(details: Mapping[str, Any], reasons: Mapping[str, ReasonCode]) -> str:
    code = details.get("reason_code")
    if not code:
        return ""
    row = reasons.get(code)
    label = row.label if row else code
    category = CATEGORY_LABELS.get(details.get("reason_category") or (row.category if row else ""), "")
    text = f" — reason: {label}{f' ({category})' if category else ''}"
    note = (details.get("note") or "").strip()
    return text + (f": {note}" if note else "")


def _when(value: str | None) -> str:
    if not value:
        return "no deadline"
    try:
        return datetime.fromisoformat(value).strftime("%d %b %Y %H:%M UTC")
    except ValueError:
        return value


REQUEST_PHRASES = {
    "skip": "skip a step", "go_back": "go back to an earlier step",
    "jump_to": "jump to a later step", "override_decision": "take another branch at a decision",
    "add_task": "add a task", "reassign": "reassign a step", "extend_deadline": "extend a deadline",
    "hold": "put the case on hold", "resume": "resume the case", "cancel": "cancel the case",
    "edit_data": "correct case data",
}


def _request_phrase(details: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """What an approval request asks for, as the end of 'asked to ...'."""
    kind = str(details.get("kind") or "")
    params = details.get("params") if isinstance(details.get("params"), dict) else {}
    if kind == "override_decision" and params.get("gateway_id"):
        gateway, target = params["gateway_id"], params.get("target_id", "")
        return (f"take another branch at {_q(names.get(gateway, gateway))}"
                f" (to {_q(names.get(target, target))})")
    return REQUEST_PHRASES.get(kind, kind.replace("_", " ") or "change the case")


def _subject(details: Mapping[str, Any], step: str) -> str:
    return "The promise to the customer" if details.get("scope") == "case" else f"The step {step}"


def _link_words(details: Mapping[str, Any]) -> str:
    words = LINK_WORDS.get(details.get("kind"), ("Linked to", "Linked to"))
    return words[0 if details.get("outgoing") else 1].lower()


def describe(type: str, details: Mapping[str, Any], *, who: str, step: str | None,
             names: Mapping[str, str], people: Mapping[int, str],
             reasons: Mapping[str, ReasonCode]) -> str:
    """One event in plain words."""
    why = _reason_text(details, reasons)
    s = _q(step)
    to = details.get("to") if isinstance(details.get("to"), dict) else {}
    texts = {
        "case_opened": lambda: (f"The {'signal' if details.get('signal') else 'message'} "
                                f"{_q(details.get('signal') or details.get('message'))} of case "
                                f"{details['sender_case_id']} opened the case"
                                if details.get("sender_case_id") else
                                f"{who} opened the case (by {details.get('channel', '?')})"),
        "task_opened": lambda: f"{s} is waiting" + (f" for {details['team']}" if details.get("team") else ""),
        "task_claimed": lambda: f"{who} took {s}",
        "task_released": lambda: f"{who} gave back {s}",
        "task_assigned": lambda: f"{who} gave {s} to {details.get('assignee', 'someone')}",
        "task_completed": lambda: f"{who} completed {s}",
        "task_cancelled": lambda: f"{s} is no longer needed",
        "task_skipped": lambda: f"{who} skipped {s}{why}",
        "process_rewound_to_task": lambda: f"{who} went back to {s}{why}",
        "process_jumped_to_task": lambda: f"{who} jumped ahead to {s}{why}",
        "decision_overridden": lambda: (f"{who} sent the decision {s} to "
                                f"{_q(names.get(details.get('target_id', ''), details.get('target_id')))}{why}"),
        "adhoc_task_added": lambda: f"{who} added the step {_q(details.get('title'))}"
                            + (f" for {details['team']}" if details.get("team") else "") + why,
        "work_item_reassigned": lambda: (f"{who} handed {s} to "
                                 + (people.get(to.get("assignee_id"), "")
                                    if to.get("assignee_id") else (to.get("team") or "another team"))
                                 + why),
        "task_due_recomputed": lambda: (f"The deadline of {s} moved from "
                                        f"{_when(details.get('from'))} to "
                                        f"{_when(details.get('to'))}: {details.get('why', '')}"),
        "deadline_extended": lambda: (f"{who} moved the deadline of {s if step else 'the promise to the customer'}"
                              f" to {_when(details.get('to') if isinstance(details.get('to'), str) else None)}{why}"),
        "case_put_on_hold": lambda: f"{who} put the case on hold{why}",
        "case_resumed": lambda: f"{who} resumed the case{why}",
        "case_cancelled": lambda: f"{who} cancelled the case{why}",
        "case_resolved": lambda: "The case is resolved",
        "note_added": lambda: f"{who} added a note: {details.get('text', '')}",
        "attachment_added": lambda: f"{who} attached {_q(details.get('filename'))}"
                            + (f": {details['description']}" if details.get("description") else ""),
        "attachment_deleted": lambda: (f"{who} deleted the attachment {_q(details.get('filename'))}: "
                                       f"{details.get('reason', '')}"),
        "timer_fired": lambda: f"The timer {s} fired",
        "message_received": lambda: f"A message arrived at {s}",
        "end_reached": lambda: f"The process reached {s}",
        "script_ran": lambda: f"Caseflow ran {s}" + (
            f"; it printed: {details['printed'].strip()}" if details.get("printed") else ""),
        "script_printed": lambda: f"A script of {s} printed: {details.get('printed', '').strip()}",
        "decision_evaluated": lambda: _decision_words(s, details),
        "task_data_corrected": lambda: f"{who} corrected {s}: " + ", ".join(
            f"{k} from {(details.get('old') or {}).get(k)!r} to {v!r}"
            for k, v in sorted((details.get("new") or {}).items())) + why,
        "deviation_requested": lambda: (f"{who} asked to {_request_phrase(details, names)}"
                                f" (a supervisor must approve){why}"),
        "deviation_approved": lambda: (f"{who} approved the request to {_request_phrase(details, names)}"
                               + (f" asked by {details['requested_by']}" if details.get("requested_by") else "")
                               + (f": {details['note']}" if details.get("note") else "")),
        "deviation_rejected": lambda: (f"{who} turned down the request to {_request_phrase(details, names)}"
                               + (f" asked by {details['requested_by']}" if details.get("requested_by") else "")
                               + (f": {details['note']}" if details.get("note") else "")),
        "sla_at_risk": lambda: f"{_subject(details, s)} is at risk of missing its deadline"
                       + (f" ({_when(details.get('due_at') or details.get('promised_at'))})"),
        "sla_breached": lambda: f"{_subject(details, s)} missed its deadline; a supervisor was alerted"
                        + (" and the priority went up"
                           if (details.get("priority") or {}).get("to", 0)
                           > (details.get("priority") or {}).get("from", 0) else ""),
        "escalation_resolved": lambda: f"{who} closed the escalation: {details.get('note', '')}",
        "message_sent": lambda: (f"Case {details['from_case_id']} sent the message "
                                 f"{_q(details.get('name'))}" if details.get("from_case_id") else
                                 f"{who} passed on the message {_q(details.get('name'))}"),
        "message_thrown": lambda: f"{s if step else 'The process'} sent the message {_q(details.get('message'))}" + (
            " to the case waiting for it" if details.get("destination") == "case" else
            " out of Caseflow (no process here catches it)"),
        "signal_thrown": lambda: f"{s if step else 'The process'} broadcast the signal {_q(details.get('signal'))}" + (
            " to the cases that wait for it or start on it" if details.get("destination") == "cases"
            else " (no other case waits for it and no process starts on it)"),
        "signal_sent": lambda: (f"Case {details['from_case_id']} broadcast the signal "
                                f"{_q(details.get('name'))}" if details.get("from_case_id") else
                                f"{who} broadcast the signal {_q(details.get('name'))}"),
        "case_linked": lambda: (f"{who} linked the case: {_link_words(details)} case "
                                f"{details.get('other_case_id')} ({details.get('reason', '')})"),
        "case_unlinked": lambda: (f"{who} removed the link: {_link_words(details)} case "
                                  f"{details.get('other_case_id')} ({details.get('reason', '')})"),
        "repeat_contact_detected": lambda: (f"The customer came back: linked to case "
                                            f"{details.get('other_case_id')} as a repeat contact"),
        "case_reopened": lambda: f"{who} reopened the case at {s}{why}",
        "process_migrated": lambda: (f"{who} moved the case from version {details.get('from_version')} to "
                             f"version {details.get('to_version')} of the process"),
    }
    if type in texts:
        try:
            return texts[type]()
        except (AttributeError, KeyError, TypeError, ValueError):  # odd facts: say it plainly
            pass
    return f"{who}: {type.replace('_', ' ')}" + (f" at {s}" if step else "") + why


__all__ = [
    "PRIORITIES",
    "CaseView",
    "FieldView",
    "Urgency",
    "case_view",
    "describe",
    "form_fields",
    "humanize",
    "timeline",
    "urgency",
]
