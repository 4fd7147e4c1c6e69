"""Exports for process mining and spreadsheets: cases and events as CSV, the event log as XES.

XES follows IEEE Std 1849-2016: one trace per case (concept:name = case id, with the process,
version, channel, status, customer_id, priority, contacted_at and promised_at), one event per
audit event with concept:name (the activity), time:timestamp, lifecycle:transition (standard
lifecycle model), org:resource (who did it), event_type (the audit event's type) and seq (its
place in the case). Rows are streamed from the database in case and sequence order and written as
they come; nothing holds the whole log.

What a process-mining tool needs from it (issue 16):
- A step's events share its activity (the step's name) and `concept:instance` (the work item id;
  `external-<id>` for an external task), with the transitions of its life: `schedule` (opened),
  `start` (first claimed by a person, or first locked by a worker), `assign`/`reassign`,
  `suspend`/`resume` (a worker's failure and next lock), `complete`, `manualskip`, `ate_abort`.
  So `start` to `complete` is the time someone worked on the step, and pm4py's interval
  conversion pairs them by instance.
- SLA marks (`sla_at_risk`, `sla_breached`) and deadline changes are activities of their own
  ("SLA breached: <step>") with transition `unknown`: never a step's `complete`.
- org:group is the team of the step's work item (its lane's team, or the team it was handed to).
- Within a case the order is the audit order (`seq`), and timestamps strictly increase: an event
  recorded in the same millisecond as the one before it (or earlier) is written 1 ms after it.
  Mine the `complete` transitions for the control flow; every other event is there for timing.

Filters: `process_id`, and a period that selects the cases opened in it (whole traces, never
traces cut in the middle).

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (or tab/CR before one) as a formula,
so every CSV text cell that starts so gets a leading single quote (OWASP, CSV injection): a task
titled `=HYPERLINK(...)` stays text. The XES is XML: values are attribute-escaped and characters
XML 1.0 cannot carry become U+FFFD.
"""
from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from xml.sax.saxutils import quoteattr

import sqlalchemy as sa
from sqlmodel import Session

from engine.store import DefinitionVersion

from .case_models import Case, WorkItem
from .events import CaseEvent

CASE = Case.__table__
EVENT = CaseEvent.__table__
ITEM = WorkItem.__table__
VERSION = DefinitionVersion.__table__
BATCH = 2000

# Event type -> deviation kind (the deviation services' event types).
DEVIATION_EVENTS = {
    "task_skipped": "skip", "process_rewound_to_task": "go_back",
    "process_jumped_to_task": "jump_to", "decision_overridden": "override_decision",
    "adhoc_task_added": "add_task", "work_item_reassigned": "reassign",
    "deadline_extended": "extend_deadline", "case_put_on_hold": "hold", "case_resumed": "resume",
    "case_cancelled": "cancel", "data_edited": "edit_data", "case_data_edited": "edit_data",
}
# Event type -> XES standard lifecycle transition (IEEE 1849-2016, lifecycle extension).
LIFECYCLE = {
    "task_opened": "schedule", "task_claimed": "assign", "task_assigned": "assign",
    "task_released": "reassign", "work_item_reassigned": "reassign", "task_completed": "complete",
    "task_skipped": "manualskip", "task_cancelled": "ate_abort", "case_cancelled": "pi_abort",
    "case_put_on_hold": "suspend", "case_resumed": "resume",
    "sla_at_risk": "unknown", "sla_breached": "unknown", "deadline_extended": "unknown",
    "task_due_recomputed": "unknown",
    "external_task_created": "schedule", "external_task_locked": "resume",
    "external_task_failed": "suspend", "external_task_completed": "complete",
    "external_task_bpmn_error": "ate_abort", "external_task_cancelled": "ate_abort",
    "external_task_error_not_caught": "unknown", "external_task_lock_extended": "unknown",
}
# The first of these for a step is when work on it began: `start` instead of the mapping above.
BEGIN_EVENTS = {"task_claimed", "external_task_locked"}
# Events that happen to a step: their activity is the step itself.
STEP_EVENTS = {"task_opened", "task_claimed", "task_assigned", "task_released",
               "work_item_reassigned", "task_completed", "task_skipped", "task_cancelled",
               "external_task_created", "external_task_locked", "external_task_failed",
               "external_task_completed", "external_task_bpmn_error", "external_task_cancelled",
               "external_task_error_not_caught", "external_task_lock_extended"}
# Marks on a step or on the customer's promise: activities of their own, never its completion.
MARK_EVENTS = {"sla_at_risk": "SLA at risk", "sla_breached": "SLA breached",
               "deadline_extended": "Deadline extended",
               "task_due_recomputed": "Due time recomputed"}

EVENT_COLUMNS = ["case_id", "process_id", "version", "channel", "seq", "at", "type", "activity",
                 "lifecycle", "actor", "element_id", "deviation_kind", "reason_code",
                 "reason_category", "details", "instance", "team"]
CASE_COLUMNS = ["case_id", "process_id", "version", "customer_id", "channel", "priority", "status",
                "contacted_at", "opened_at", "promised_at", "closed_at", "opened_by", "events"]


# Fullwidth forms too: some spreadsheet locales take them for the ASCII signs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any) -> Any:
    """Return a cell a spreadsheet shows as text: a leading quote before a formula start."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class SafeCsvWriter:
    """A csv writer that neutralises every cell (use it for every CSV Caseflow writes)."""

    def __init__(self, out: IO[str]):
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row, each text cell passed through csv_cell."""
        self._writer.writerow([csv_cell(v) for v in row])


@dataclass(frozen=True)
class ExportFilter:
    process_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _cases(f: ExportFilter) -> sa.Select:
    q = sa.select(CASE.c.id)
    if f.process_id:
        q = q.where(CASE.c.process_id == f.process_id)
    if f.since is not None:
        q = q.where(CASE.c.opened_at >= f.since)
    if f.until is not None:
        q = q.where(CASE.c.opened_at < f.until)
    return q


def _stream(session: Session, q: sa.Select) -> Iterator[sa.Row]:
    """Yield rows in batches from a server-side cursor where the database has one."""
    result = session.connection().execution_options(stream_results=True,
                                                    yield_per=BATCH).execute(q)
    yield from result


def element_names(session: Session, f: ExportFilter) -> dict[tuple[int, str], str]:
    """(definition id, element id) -> name, from the models and from ad-hoc work items."""
    from .sla import definition_metadata

    names: dict[tuple[int, str], str] = {}
    q = sa.select(VERSION.c.id, VERSION.c.process_id)
    if f.process_id:
        q = q.where(VERSION.c.process_id == f.process_id)
    for vid, pid in session.execute(q).all():
        for process in definition_metadata(session, vid).processes:
            for node in process.nodes:
                names.setdefault((vid, node.id), node.name or node.id)
    q = (sa.select(CASE.c.definition_id, ITEM.c.element_id, sa.func.min(ITEM.c.name))
         .select_from(ITEM.join(CASE, CASE.c.id == ITEM.c.case_id))
         .where(ITEM.c.element_id.like("adhoc:%"), ITEM.c.case_id.in_(_cases(f)))
         .group_by(CASE.c.definition_id, ITEM.c.element_id))
    for vid, element_id, name in session.execute(q).all():
        names[(vid, element_id)] = name
    return names


def _label(event_type: str) -> str:
    return event_type.replace("_", " ").capitalize()


@dataclass
class ExportEvent:
    case_id: int
    process_id: str
    version: int
    channel: str
    status: str
    seq: int
    at: datetime
    type: str
    activity: str
    lifecycle: str
    actor: str
    element_id: str | None
    deviation_kind: str | None
    reason_code: str | None
    reason_category: str | None
    details: str
    instance: str | None = None  # the work item (or external task) the event is about
    team: str | None = None  # that work item's team
    customer_id: int | None = None
    priority: int | None = None
    contacted_at: datetime | None = None
    promised_at: datetime | None = None


class _CaseMemory:
    """What the export remembers while it walks one case: its steps' teams and which began."""

    def __init__(self, case_id: int | None = None, at_version: tuple = (None, None)):
        self.case_id, self.at_version = case_id, at_version
        self.teams: dict[str, str | None] = {}
        self.begun: set[str] = set()

    def version(self, row, details: dict, versions: dict) -> tuple[int | None, int | None]:
        """(definition id, version) the case was on when the event happened: a case migrated
        later keeps its earlier steps' old names and version (history as it happened)."""
        if row.type == "case_opened":
            self.at_version = versions.get((row.process_id, details.get("version")),
                                           self.at_version)
        now = self.at_version
        if row.type == "process_migrated":
            self.at_version = versions.get((row.process_id, details.get("to_version")),
                                           self.at_version)
        return now

    def instance(self, event_type: str, details: dict) -> str | None:
        if event_type.startswith("external_task_") and details.get("external_task_id"):
            return f"external-{details['external_task_id']}"
        item = details.get("work_item_id")
        return str(item) if item is not None and event_type != "escalation_resolved" else None

    def lifecycle(self, event_type: str, instance: str | None) -> str:
        if event_type in BEGIN_EVENTS and instance is not None and instance not in self.begun:
            self.begun.add(instance)
            return "start"
        return LIFECYCLE.get(event_type, "complete")

    def team(self, instance: str | None, details: dict) -> str | None:
        if instance is None:
            return None
        if details.get("team"):  # opened for a team, or handed to another one
            self.teams[instance] = details["team"]
        return self.teams.get(instance)


def _activity(event_type: str, element: str | None) -> str:
    if event_type in MARK_EVENTS:
        return f"{MARK_EVENTS[event_type]}: {element}" if element else MARK_EVENTS[event_type]
    if event_type in STEP_EVENTS and element:
        return element
    return f"{_label(event_type)}: {element}" if element else _label(event_type)


def iter_events(session: Session, f: ExportFilter = ExportFilter()) -> Iterator[ExportEvent]:
    """Yield every event of the selected cases, case by case, in audit order."""
    names = element_names(session, f)
    versions = {(pid, n): (vid, n) for vid, pid, n in session.execute(
        sa.select(VERSION.c.id, VERSION.c.process_id, VERSION.c.version)).all()}
    q = (sa.select(EVENT.c.case_id, CASE.c.process_id, VERSION.c.version, CASE.c.channel,
                   CASE.c.status, CASE.c.definition_id, CASE.c.customer_id, CASE.c.priority,
                   CASE.c.contacted_at, CASE.c.promised_at, EVENT.c.seq, EVENT.c.at,
                   EVENT.c.type, EVENT.c.actor, EVENT.c.element_id, EVENT.c.details)
         .select_from(EVENT.join(CASE, CASE.c.id == EVENT.c.case_id)
                      .join(VERSION, VERSION.c.id == CASE.c.definition_id))
         .where(EVENT.c.case_id.in_(_cases(f))).order_by(EVENT.c.case_id, EVENT.c.seq))
    memory = _CaseMemory()
    for row in _stream(session, q):
        if row.case_id != memory.case_id:
            memory = _CaseMemory(row.case_id, (row.definition_id, row.version))
        details = json.loads(row.details or "{}")
        definition_id, version = memory.version(row, details, versions)
        element = (names.get((definition_id, row.element_id))
                   or names.get((row.definition_id, row.element_id), row.element_id))
        instance = memory.instance(row.type, details)
        reason = details.get("reason_code")
        yield ExportEvent(
            row.case_id, row.process_id, version, row.channel, row.status, row.seq,
            row.at, row.type, _activity(row.type, element), memory.lifecycle(row.type, instance),
            row.actor, row.element_id,
            DEVIATION_EVENTS.get(row.type) if reason else None, reason,
            details.get("reason_category"), row.details, instance,
            memory.team(instance, details), row.customer_id, row.priority,
            _aware(row.contacted_at), _aware(row.promised_at))


def _aware(value: datetime | str | None) -> datetime | None:
    """A datetime in UTC (SQLite hands back text without a zone)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def write_events_csv(session: Session, out: IO[str], f: ExportFilter = ExportFilter()) -> int:
    """Write one row per event; return how many."""
    writer = SafeCsvWriter(out)
    writer.writerow(EVENT_COLUMNS)
    n = 0
    for e in iter_events(session, f):
        writer.writerow([e.case_id, e.process_id, e.version, e.channel, e.seq, e.at.isoformat(),
                         e.type, e.activity, e.lifecycle, e.actor, e.element_id or "",
                         e.deviation_kind or "", e.reason_code or "", e.reason_category or "",
                         e.details, e.instance or "", e.team or ""])
        n += 1
    return n


def write_cases_csv(session: Session, out: IO[str], f: ExportFilter = ExportFilter()) -> int:
    """Write one row per case; return how many."""
    counts = (sa.select(EVENT.c.case_id, sa.func.count().label("events"))
              .group_by(EVENT.c.case_id).subquery())
    q = (sa.select(CASE.c.id, CASE.c.process_id, VERSION.c.version, CASE.c.customer_id,
                   CASE.c.channel, CASE.c.priority, CASE.c.status, CASE.c.contacted_at,
                   CASE.c.opened_at, CASE.c.promised_at, CASE.c.closed_at, CASE.c.opened_by,
                   sa.func.coalesce(counts.c.events, 0))
         .select_from(CASE.join(VERSION, VERSION.c.id == CASE.c.definition_id)
                      .outerjoin(counts, counts.c.case_id == CASE.c.id))
         .where(CASE.c.id.in_(_cases(f))).order_by(CASE.c.id))
    writer = SafeCsvWriter(out)
    writer.writerow(CASE_COLUMNS)
    n = 0
    for row in _stream(session, q):
        writer.writerow([v.isoformat() if isinstance(v, datetime) else ("" if v is None else v)
                         for v in row])
        n += 1
    return n


# ---- XES ------------------------------------------------------------------------------------------

XES_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849.2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">
  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
  <global scope="trace">
    <string key="concept:name" value="UNKNOWN"/>
  </global>
  <global scope="event">
    <string key="concept:name" value="UNKNOWN"/>
    <date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>
    <string key="lifecycle:transition" value="complete"/>
    <string key="org:resource" value="UNKNOWN"/>
  </global>
  <classifier name="Activity" keys="concept:name"/>
  <classifier name="ActivityLifecycle" keys="concept:name lifecycle:transition"/>
  <string key="concept:name" value="Caseflow event log"/>
  <string key="lifecycle:model" value="standard"/>
"""


# What XML 1.0 cannot carry at all, even escaped: C0 controls but tab/LF/CR, surrogates, U+FFFE/F.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _attr(tag: str, key: str, value: Any, indent: str) -> str:
    text = _NOT_XML.sub("\ufffd", str(value))
    return f"{indent}<{tag} key={quoteattr(key)} value={quoteattr(text)}/>\n"


def _xes_time(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def _trace_start(out: IO[str], e: ExportEvent) -> None:
    out.write("  <trace>\n")
    out.write(_attr("string", "concept:name", e.case_id, "    "))
    out.write(_attr("string", "process", e.process_id, "    "))
    out.write(_attr("int", "process_version", e.version, "    "))
    out.write(_attr("string", "channel", e.channel, "    "))
    out.write(_attr("string", "status", e.status, "    "))
    if e.customer_id is not None:
        out.write(_attr("string", "customer_id", e.customer_id, "    "))
    if e.priority is not None:
        out.write(_attr("int", "priority", e.priority, "    "))
    if e.contacted_at is not None:
        out.write(_attr("date", "contacted_at", _xes_time(e.contacted_at), "    "))
    if e.promised_at is not None:
        out.write(_attr("date", "promised_at", _xes_time(e.promised_at), "    "))


def _event(out: IO[str], e: ExportEvent, at: datetime) -> None:
    pad = "      "
    out.write("    <event>\n")
    out.write(_attr("string", "concept:name", e.activity, pad))
    out.write(_attr("date", "time:timestamp", _xes_time(at), pad))
    out.write(_attr("string", "lifecycle:transition", e.lifecycle, pad))
    out.write(_attr("string", "org:resource", e.actor, pad))
    if e.instance is not None:
        out.write(_attr("string", "concept:instance", e.instance, pad))
    if e.team:
        out.write(_attr("string", "org:group", e.team, pad))
    out.write(_attr("string", "event_type", e.type, pad))
    out.write(_attr("int", "seq", e.seq, pad))
    if e.element_id:
        out.write(_attr("string", "element_id", e.element_id, pad))
    if e.reason_code:
        if e.deviation_kind:
            out.write(_attr("string", "deviation_kind", e.deviation_kind, pad))
        out.write(_attr("string", "deviation_reason", e.reason_code, pad))
        if e.reason_category:
            out.write(_attr("string", "deviation_reason_category", e.reason_category, pad))
    out.write("    </event>\n")


TICK = timedelta(milliseconds=1)  # XES times are written to the millisecond


def write_xes(session: Session, out: IO[str], f: ExportFilter = ExportFilter()) -> tuple[int, int]:
    """Write the event log as XES; return (traces, events)."""
    out.write(XES_HEADER)
    traces = events = 0
    current, last = None, None
    for e in iter_events(session, f):
        if e.case_id != current:
            if current is not None:
                out.write("  </trace>\n")
            current, last = e.case_id, None
            traces += 1
            _trace_start(out, e)
        events += 1
        at = _aware(e.at).replace(microsecond=e.at.microsecond // 1000 * 1000)
        if last is not None and at <= last:  # the same millisecond: keep the audit order
            at = last + TICK
        last = at
        _event(out, e, at)
    if current is not None:
        out.write("  </trace>\n")
    out.write("</log>\n")
    return traces, events


FORMATS = ("csv", "xes")
