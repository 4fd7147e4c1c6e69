"""Supervisor insights: every figure is an SQL aggregation (SQLAlchemy Core, SQLite and PostgreSQL).

Definitions used throughout (tests in tests/cases/test_insights.py pin each one):

- A case *reached* a step when a work item was opened for it. Each `task_opened` event creates
  exactly one `work_item` row (cases/work_items.project), so the row is counted: it also carries
  the team, which the team filter needs, and the version the step belongs to (`definition_id`).
  Elements without work items (gateways, where decisions are overridden) have no "reached" count
  of their own: their rate is taken over every case in scope.
- *Per version*: step figures count work items and deviations under the version they happened
  in (`work_item.definition_id`, `deviation.definition_id`); the case count is of the cases in
  the version now. The two differ only for cases migrated to another version part-way: their
  earlier steps stay with the version they were done in.
- *Deviation rate* of an element: distinct cases with at least one deviation logged at the
  element / cases that reached it. *Rework*: go-backs to the element (the step reopened).
- *Time spent* at a step: `completed_at - created_at` of work items that were done (not skipped or
  cancelled), kept to the nearest minute in `work_item.minutes_spent` when the step is done; its
  median is computed in SQL from a per-minute histogram with running sums (`histogram_medians`:
  the histogram comes straight off an index, fast on large tables). Cycle-time medians of the
  scorecard are exact (`row_number()` and `count()` windows, `_median_all`).
- A step is *breached* when its work item has a due time and was done after it, or is still open
  past it (`now`). The SLA sweep's `sla_breached` events say the same once they exist; this reads
  the work items directly so that history recorded before the sweep counts as well.
- Filters: the period applies to when cases were opened; channel to the case; team to the work
  items (and to deviations at steps that team worked); agent to who logged the deviation.

Speed: the exception report and the heatmap read a version's work items from two covering
indexes of `work_item` (see cases/case_models.py) and its deviations by `definition_id`; the case
table is joined only when the period or channel filters ask for it. `bench/insights.py` measures
them on 100,000 cases.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from .incidents.models import Incident

from engine.store import DefinitionVersion

from .case_models import Case, WorkItem
from .deviations import Deviation
from .events import CaseEvent
from .links.models import CaseLink
from .reason_codes import ReasonCode

# ---- thresholds of the redesign candidates (change here; the page shows them) ------------------
MIN_SAMPLE = 30            # fewer cases than this reached the element: the finding is flagged
SKIP_RATE = 0.15           # skipped in at least this share of the cases that reached the step
REWORK_RATE = 0.10         # gone back to in at least this share
OVERRIDE_RATE = 0.05       # decision overridden in at least this share of the version's cases
ADHOC_REPEATS = 5          # the same ad-hoc step (by title) added at least this often
BREACH_RATE = 0.20         # a team breached at least this share of its timed steps ...
BREACH_TEAM_SHARE = 0.60   # ... and holds at least this share of all the breaches
SAMPLE_CASES = 5           # sample cases shown with each finding

CASE = Case.__table__
ITEM = WorkItem.__table__
EVENT = CaseEvent.__table__
DEV = Deviation.__table__
REASON = ReasonCode.__table__
LINK = CaseLink.__table__
VERSION = DefinitionVersion.__table__

REPEAT_CONTACT_MESSAGE = "customer_contacted_again"
# Escalation items of the SLA sweep (cases/sla_sweep.py) sit on the breached step's element but are
# not steps: they are left out of every step figure.
STEP = WorkItem.__table__.c.kind != "escalation"
METRICS = ("rate", "rework", "time", "breaches")
# Steps added by hand each have their own element id ("adhoc:<id>"); the report shows them as one row.
ADHOC = "adhoc"
ADHOC_NAME = "Steps added by hand (ad hoc)"


def element_key(column) -> sa.ColumnElement:
    """The element an item or deviation counts under: its own id, or ADHOC for added steps."""
    # literal SQL, not bound parameters: PostgreSQL must see the same expression in GROUP BY
    return sa.case((column.like(sa.literal_column("'adhoc:%'")), sa.literal_column(f"'{ADHOC}'")),
                   else_=column)


def element_is(column, element_id: str) -> sa.ColumnElement[bool]:
    return column.like("adhoc:%") if element_id == ADHOC else column == element_id


@dataclass(frozen=True)
class Filters:
    """What the supervisor narrowed the figures to; None means no restriction."""

    since: datetime | None = None
    until: datetime | None = None
    team: str | None = None
    agent: str | None = None
    channel: str | None = None

    def as_query(self) -> dict[str, str]:
        out = {}
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.date().isoformat()
        for name in ("team", "agent", "channel"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


NO_FILTERS = Filters()


# ---- SQL helpers ---------------------------------------------------------------------------------


def seconds_between(session: Session, start, end) -> sa.ColumnElement:
    """Return an SQL expression for `end - start` in seconds on the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def week_start(session: Session, column) -> sa.ColumnElement:
    """Return an SQL expression for the Monday (as 'YYYY-MM-DD' text) of a timestamp's week."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.date_trunc("week", column), "YYYY-MM-DD")
    # 'weekday 0' moves to the coming Sunday (or stays on one); six days back is that week's Monday.
    return sa.func.date(column, "weekday 0", "-6 days")


def histogram_medians(hist: sa.Subquery) -> sa.Select:
    """Return `SELECT k, median * 60` from a histogram of minutes: rows (k, m = minute, n = count).

    Built for large tables: the rows are counted per (key, minute) in one grouped pass, then the
    middle value(s) are found on that small histogram with running sums (window functions on
    SQLite 3.25+ and PostgreSQL), instead of numbering every row.
    """
    cum = sa.select(
        hist.c.k, hist.c.m, hist.c.n,
        # PostgreSQL sums integers as numeric: cast back, so // divides as integers everywhere
        sa.cast(sa.func.sum(hist.c.n).over(partition_by=hist.c.k, order_by=hist.c.m),
                sa.Integer).label("c"),
        sa.cast(sa.func.sum(hist.c.n).over(partition_by=hist.c.k), sa.Integer).label("total"),
    ).subquery()
    # the middle position(s): one for an odd count, two for an even one; a bucket holding both
    # counts once, so the average is that bucket's minute
    lower, upper = (cum.c.total + 1) // 2, (cum.c.total + 2) // 2
    holds = sa.or_(sa.and_(cum.c.c - cum.c.n < lower, lower <= cum.c.c),
                   sa.and_(cum.c.c - cum.c.n < upper, upper <= cum.c.c))
    return sa.select(cum.c.k, sa.func.avg(cum.c.m) * 60).where(holds).group_by(cum.c.k)


def _case_conditions(filters: Filters) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if filters.since is not None:
        conditions.append(CASE.c.opened_at >= filters.since)
    if filters.until is not None:
        conditions.append(CASE.c.opened_at < filters.until)
    if filters.channel:
        conditions.append(CASE.c.channel == filters.channel)
    return conditions


def case_scope(definition_ids: Iterable[int], filters: Filters = NO_FILTERS) -> sa.Select:
    """Return SELECT id FROM case_record narrowed to the versions and the filters."""
    return sa.select(CASE.c.id).where(CASE.c.definition_id.in_(list(definition_ids)),
                                      *_case_conditions(filters))


def case_filter(filters: Filters) -> sa.Select | None:
    """Return SELECT id FROM case_record narrowed by the case filters (period, channel), or None."""
    conditions = _case_conditions(filters)
    return sa.select(CASE.c.id).where(*conditions) if conditions else None


def _of_versions(column, definition_ids: Iterable[int]) -> sa.ColumnElement[bool]:
    ids = list(definition_ids)
    return column == ids[0] if len(ids) == 1 else column.in_(ids)


def item_scope(definition_ids: Iterable[int], filters: Filters = NO_FILTERS) -> sa.ColumnElement:
    """SQL condition: a step's work item of these versions, under the filters."""
    conditions = [_of_versions(ITEM.c.definition_id, definition_ids), STEP]
    cases = case_filter(filters)
    if cases is not None:
        conditions.append(ITEM.c.case_id.in_(cases))
    if filters.team:
        conditions.append(ITEM.c.team == filters.team)
    return sa.and_(*conditions)


def deviation_scope(definition_ids: Iterable[int], filters: Filters = NO_FILTERS
                    ) -> sa.ColumnElement:
    """SQL condition: a deviation logged in these versions, under the filters."""
    conditions = [_of_versions(DEV.c.definition_id, definition_ids)]
    cases = case_filter(filters)
    if cases is not None:
        conditions.append(DEV.c.case_id.in_(cases))
    return sa.and_(*conditions, *_deviation_conditions(filters))


def _deviation_conditions(filters: Filters) -> list[sa.ColumnElement[bool]]:
    """The agent filter (who logged it) and the team filter (at a step that team worked)."""
    conditions = []
    if filters.agent:
        conditions.append(DEV.c.actor == filters.agent)
    if filters.team:
        conditions.append(sa.exists().where(ITEM.c.case_id == DEV.c.case_id,
                                            ITEM.c.element_id == DEV.c.element_id,
                                            ITEM.c.team == filters.team))
    return conditions


def _deviation_filter(q: sa.Select, filters: Filters) -> sa.Select:
    return q.where(*_deviation_conditions(filters))


def breached(now: datetime) -> sa.ColumnElement[bool]:
    """SQL condition: the work item missed its due time (done late, or open past due at `now`)."""
    return sa.and_(ITEM.c.due_at.is_not(None), sa.or_(
        sa.and_(ITEM.c.state == "done", ITEM.c.completed_at > ITEM.c.due_at),
        sa.and_(ITEM.c.state == "open", ITEM.c.due_at < now)))


# ---- the exception report ------------------------------------------------------------------------


@dataclass
class ElementFigures:
    """Every figure of one BPMN element in one version."""

    element_id: str
    name: str
    type: str
    lane: str | None = None
    reached: int = 0
    reached_is_all_cases: bool = False   # gateways: the rate is over every case in scope
    deviating_cases: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    reasons: list[dict] = field(default_factory=list)  # code, label, category, count (top first)
    median_seconds: float | None = None
    timed_items: int = 0
    breaches: int = 0
    items: int = 0
    incidents: int = 0  # failures of the model at this step (cases/incidents), open or resolved

    @property
    def deviations(self) -> int:
        return sum(self.by_kind.values())

    @property
    def rate(self) -> float | None:
        return self.deviating_cases / self.reached if self.reached else None

    @property
    def rework(self) -> int:
        return self.by_kind.get("go_back", 0)

    @property
    def rework_rate(self) -> float | None:
        return self.rework / self.reached if self.reached else None

    @property
    def breach_rate(self) -> float | None:
        return self.breaches / self.items if self.items else None

    def metric(self, name: str) -> float | None:
        return {"rate": self.rate, "rework": self.rework_rate, "time": self.median_seconds,
                "breaches": self.breach_rate}[name]

    def count(self, name: str) -> int:
        return {"rate": self.deviations, "rework": self.rework, "time": self.timed_items,
                "breaches": self.breaches}[name]


@dataclass
class ExceptionReport:
    version: DefinitionVersion
    filters: Filters
    cases: int
    elements: list[ElementFigures]

    def element(self, element_id: str) -> ElementFigures | None:
        return next((e for e in self.elements if e.element_id == element_id), None)


def _model_elements(session: Session, version: DefinitionVersion) -> dict[str, ElementFigures]:
    from .sla import definition_metadata

    process = definition_metadata(session, version.id).process(version.process_id)
    wanted = ("userTask", "manualTask", "task", "exclusiveGateway", "inclusiveGateway",
              "eventBasedGateway", "callActivity", "subProcess", "scriptTask", "serviceTask",
              "businessRuleTask")  # a DMN decision: its overrides count per decision
    return {n.id: ElementFigures(n.id, n.name or n.id, n.type, n.lane)
            for n in process.nodes if n.type in wanted}


def added_by_hand(session: Session, column) -> sa.ColumnElement[bool]:
    """SQL condition: the element id is of a step added by hand ('adhoc:<id>').

    On SQLite as a range of the (binary-collated) ids, which an index can seek to; LIKE is
    case-insensitive there and would read the whole version. PostgreSQL's collations may order
    punctuation otherwise, so it keeps LIKE.
    """
    if session.get_bind().dialect.name == "sqlite":
        return sa.and_(column >= f"{ADHOC}:", column < f"{ADHOC};")
    return column.like(f"{ADHOC}:%")


def _per_element(session: Session, where: sa.ColumnElement[bool], *columns,
                 keys: tuple = ()) -> sa.CompoundSelect:
    """Return the work items under `where` aggregated per model element (column `k`), with the
    steps added by hand aggregated as one row (`k` = ADHOC), as one UNION ALL.

    Grouping by the plain `element_id` (not by an expression) lets the database read the rows in
    index order instead of sorting them.
    """
    added = added_by_hand(session, ITEM.c.element_id)
    own = (sa.select(ITEM.c.element_id.label("k"), *keys, *columns)
           .where(where, ~added).group_by(ITEM.c.element_id, *keys))
    by_hand = (sa.select(sa.literal_column(f"'{ADHOC}'").label("k"), *keys, *columns)
               .where(where, added).group_by(*keys).having(sa.func.count() > 0))
    return sa.union_all(own, by_hand)


def exception_report(session: Session, version: DefinitionVersion | int, *,
                     filters: Filters = NO_FILTERS, now: datetime,
                     with_times: bool = True) -> ExceptionReport:
    """Return the per-element figures of one version (five grouped queries, whatever the size).

    `with_times=False` leaves out the median times, for a heatmap that colours by another measure.
    """
    if isinstance(version, int):
        version = session.get(DefinitionVersion, version)
    elements = _model_elements(session, version)

    def el(element_id: str, name: str | None = None) -> ElementFigures:
        if element_id not in elements:
            name = ADHOC_NAME if element_id == ADHOC else name or element_id
            elements[element_id] = ElementFigures(element_id, name, "adhoc")
        return elements[element_id]

    cases = session.execute(sa.select(sa.func.count()).select_from(
        case_scope([version.id], filters).subquery())).scalar_one()

    # cases that reached each step, work items, breaches and steps done: one pass over work items
    items = item_scope([version.id], filters)
    # (every column it reads is in ix_work_item_version_element: no row is fetched from the table)
    q = _per_element(session, items, sa.func.count(sa.distinct(ITEM.c.case_id)), sa.func.count(),
                     sa.func.sum(sa.case((breached(now), 1), else_=0)),
                     sa.func.sum(sa.case((ITEM.c.state == "done", 1), else_=0)))
    for element_id, reached, n, breaches, done in session.execute(q):
        e = el(element_id)
        e.reached, e.items, e.breaches, e.timed_items = reached, n, int(breaches or 0), int(done or 0)
    # steps the model does not name (a version's elements are read from its model): their title
    unnamed = [e.element_id for e in elements.values()
               if e.type == "adhoc" and e.element_id != ADHOC and e.name == e.element_id]
    if unnamed:
        for element_id, name in session.execute(
                sa.select(ITEM.c.element_id, sa.func.min(ITEM.c.name))
                .where(items, ITEM.c.element_id.in_(unnamed)).group_by(ITEM.c.element_id)):
            elements[element_id].name = name

    # deviations by kind and reason (one grouped query), and deviating cases
    dkey = element_key(DEV.c.element_id)
    deviations = sa.and_(deviation_scope([version.id], filters), DEV.c.element_id.is_not(None))
    q = (sa.select(dkey, DEV.c.kind, DEV.c.reason_code, REASON.c.label, REASON.c.category,
                   sa.func.count())
         .select_from(DEV.outerjoin(REASON, REASON.c.code == DEV.c.reason_code))
         .where(deviations)
         .group_by(dkey, DEV.c.kind, DEV.c.reason_code, REASON.c.label, REASON.c.category))
    reasons: dict[str, dict[str, dict]] = {}
    for element_id, kind, code, label, category, n in session.execute(q):
        e = el(element_id)
        e.by_kind[kind] = e.by_kind.get(kind, 0) + n
        entry = reasons.setdefault(element_id, {}).setdefault(
            code, {"code": code, "label": label or code, "category": category, "count": 0})
        entry["count"] += n
    for element_id, by_code in reasons.items():
        el(element_id).reasons = sorted(by_code.values(), key=lambda r: (-r["count"], r["code"]))
    q = sa.select(dkey, sa.func.count(sa.distinct(DEV.c.case_id))).where(deviations).group_by(dkey)
    for element_id, n in session.execute(q):
        el(element_id).deviating_cases = n

    # median time spent at each step (to the minute; see histogram_medians)
    if with_times:
        done = sa.and_(items, ITEM.c.state == "done", ITEM.c.minutes_spent.is_not(None))
        hist = _per_element(session, done, sa.func.count().label("n"),
                            keys=(ITEM.c.minutes_spent.label("m"),)).subquery()
        for element_id, median in session.execute(histogram_medians(hist)):
            el(element_id).median_seconds = float(median) if median is not None else None

    # incidents: where the model itself failed (a script, condition, timer or message payload)
    for element_id, n in session.execute(
            sa.select(Incident.element_id, sa.func.count()).where(
                Incident.definition_id == version.id, Incident.element_id.is_not(None),
                Incident.case_id.in_(case_scope([version.id], filters)))
            .group_by(Incident.element_id)):
        el(element_id).incidents = n

    for e in elements.values():
        if not e.reached and e.deviations:  # a gateway: rate over every case in scope
            e.reached, e.reached_is_all_cases = cases, True
    ordered = sorted(elements.values(), key=lambda e: (e.element_id == ADHOC, -(e.rate or 0),
                                                       -e.deviations, e.element_id))
    return ExceptionReport(version, filters, cases, ordered)


# ---- drill-down ------------------------------------------------------------------------------------

DRILL_MEASURES = ("cases", "reached", "deviated", "kind", "reason", "category", "breached", "timed",
                  "rework", "promise_missed", "promise_met", "first_time_right", "repeat_contact",
                  "handoff")


def drill_down(session: Session, definition_ids: list[int], *, measure: str,
               element_id: str | None = None, value: str | None = None,
               filters: Filters = NO_FILTERS, now: datetime, limit: int = 500) -> list[Case]:
    """Return the cases behind one number of a report (newest first)."""
    scope = case_scope(definition_ids, filters)
    if measure not in DRILL_MEASURES:
        raise ValueError(f"Unknown measure '{measure}'")
    if measure == "cases":
        ids = scope
    elif measure in ("reached", "breached", "timed"):
        q = sa.select(ITEM.c.case_id).where(item_scope(definition_ids, filters))
        if element_id:
            q = q.where(element_is(ITEM.c.element_id, element_id))
        if measure == "breached":
            q = q.where(breached(now))
        elif measure == "timed":
            q = q.where(ITEM.c.state == "done")
        ids = q
    elif measure in ("deviated", "kind", "reason", "rework", "category"):
        q = sa.select(DEV.c.case_id).where(deviation_scope(definition_ids, filters))
        if element_id:
            q = q.where(element_is(DEV.c.element_id, element_id))
        if measure == "kind":
            q = q.where(DEV.c.kind == value)
        elif measure == "rework":
            q = q.where(DEV.c.kind == "go_back")
        elif measure == "reason":
            q = q.where(DEV.c.reason_code == value)
        elif measure == "category":
            q = q.where(DEV.c.reason_code.in_(
                sa.select(REASON.c.code).where(REASON.c.category == value)))
        ids = q
    else:
        ids = _scorecard_case_ids(session, measure, scope, now=now)
    q = (sa.select(Case).where(CASE.c.id.in_(ids)).order_by(CASE.c.opened_at.desc(), CASE.c.id.desc())
         .limit(limit))
    return list(session.execute(q).scalars())


# ---- heatmap ----------------------------------------------------------------------------------------

METRIC_LABELS = {"rate": "Deviation rate", "rework": "Rework (go-backs)", "time": "Median time spent",
                 "breaches": "SLA breaches"}
# Five steps from pale yellow to dark red; index by the value's place between 0 and the maximum.
HEAT_COLOURS = ("#fff5cc", "#ffe08a", "#ffc15e", "#ff9966", "#f26b5b")  # light: labels stay legible


def format_value(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    if metric == "time":
        return format_duration(value)
    return f"{value * 100:.0f}%"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def heat_colour(value: float | None, top: float | None) -> str | None:
    if value is None or not top or value <= 0:
        return None
    step = min(len(HEAT_COLOURS) - 1, int(value / top * len(HEAT_COLOURS)))
    return HEAT_COLOURS[step]


def heatmap(report: ExceptionReport, metric: str) -> dict[str, Any]:
    """Return fills, badges and a legend for the diagram from a report's figures."""
    if metric not in METRICS:
        raise ValueError(f"Choose one of {', '.join(METRICS)}")
    on_diagram = [e for e in report.elements if e.element_id != ADHOC]
    values = {e.element_id: e.metric(metric) for e in on_diagram}
    top = max((v for v in values.values() if v is not None), default=None)
    fills, badges = {}, {}
    for e in on_diagram:
        colour = heat_colour(values[e.element_id], top)
        if colour:
            fills[e.element_id] = colour
        n = e.count(metric)
        if n:
            badges[e.element_id] = str(n) if metric != "time" else format_duration(e.median_seconds)
    legend = []
    if top:
        for i, colour in enumerate(HEAT_COLOURS):
            low, high = top * i / len(HEAT_COLOURS), top * (i + 1) / len(HEAT_COLOURS)
            legend.append({"colour": colour, "label": f"{format_value(metric, low)} – "
                                                     f"{format_value(metric, high)}"})
    return {"metric": metric, "label": METRIC_LABELS[metric], "fills": fills, "badges": badges,
            "legend": legend, "top": top}


# ---- version comparison --------------------------------------------------------------------------


@dataclass
class ComparedElement:
    element_id: str
    name: str
    before: ElementFigures | None
    after: ElementFigures | None

    @property
    def empty(self) -> bool:
        """Neither version has anything to show for the element (say, a decision never overridden)."""
        return all(e is None or (not e.items and not e.deviations) for e in (self.before, self.after))

    def delta(self, metric: str) -> float | None:
        a = self.before.metric(metric) if self.before else None
        b = self.after.metric(metric) if self.after else None
        return None if a is None or b is None else b - a


def compare_versions(session: Session, before: DefinitionVersion, after: DefinitionVersion, *,
                     filters: Filters = NO_FILTERS, now: datetime
                     ) -> tuple[ExceptionReport, ExceptionReport, list[ComparedElement]]:
    """Return both reports and their elements matched by id (removed and added ones included)."""
    a = exception_report(session, before, filters=filters, now=now)
    b = exception_report(session, after, filters=filters, now=now)
    ids = [e.element_id for e in a.elements] + [e.element_id for e in b.elements
                                                if a.element(e.element_id) is None]
    rows = []
    for element_id in ids:
        x, y = a.element(element_id), b.element(element_id)
        rows.append(ComparedElement(element_id, (y or x).name, x, y))
    rows.sort(key=lambda r: (r.element_id == ADHOC,
                             -max((r.before.rate if r.before else 0) or 0,
                                  (r.after.rate if r.after else 0) or 0), r.element_id))
    return a, b, rows


# ---- customer scorecard ----------------------------------------------------------------------------


@dataclass
class Scorecard:
    cases: int
    closed: int
    resolved: int
    with_promise: int
    promise_met: int
    first_time_right: int
    customer_cycle_median: float | None
    internal_cycle_median: float | None
    handoffs: int
    cases_with_work: int
    repeat_contacts: int
    cases_with_repeat_contact: int

    @property
    def promise_rate(self) -> float | None:
        return self.promise_met / self.with_promise if self.with_promise else None

    @property
    def first_time_right_rate(self) -> float | None:
        return self.first_time_right / self.resolved if self.resolved else None

    @property
    def handoffs_per_case(self) -> float | None:
        return self.handoffs / self.cases_with_work if self.cases_with_work else None


def _repeat_contact_events(scope) -> sa.Select:
    """One row per time a customer came back about a case: the message saying so, or a new case
    of theirs linked to it as a repeat contact when it opened (cases/links/repeat.py)."""
    messages = sa.select(EVENT.c.case_id).where(
        EVENT.c.case_id.in_(scope), EVENT.c.type == "message_received",
        EVENT.c.details.like(f'%"name":"{REPEAT_CONTACT_MESSAGE}"%'))
    new_cases = sa.select(LINK.c.other_case_id.label("case_id")).where(
        LINK.c.kind == "repeat_contact", LINK.c.other_case_id.in_(scope))
    return sa.union_all(messages, new_cases)


def _handoff_rows(scope) -> sa.Subquery:
    """Done work items with the team of the one done before them in the same case."""
    ordered = sa.select(
        ITEM.c.case_id, ITEM.c.team,
        sa.func.lag(ITEM.c.team).over(partition_by=ITEM.c.case_id,
                                      order_by=(ITEM.c.completed_at, ITEM.c.id)).label("prev_team"),
    ).where(ITEM.c.case_id.in_(scope), STEP, ITEM.c.state == "done").subquery()
    return sa.select(ordered.c.case_id).where(
        ordered.c.prev_team.is_not(None), ordered.c.team.is_not(None),
        ordered.c.team != ordered.c.prev_team).subquery()


def _rework_cases(scope) -> sa.Select:
    """Cases with a go-back (reopening a resolved case is one: cases/links/reopen.py), or a step
    done twice (the process came back to it)."""
    go_back = sa.select(DEV.c.case_id).where(DEV.c.case_id.in_(scope), DEV.c.kind == "go_back")
    twice = (sa.select(ITEM.c.case_id).where(ITEM.c.case_id.in_(scope), STEP, ITEM.c.state == "done",
                                             ~ITEM.c.element_id.like("adhoc:%"))
             .group_by(ITEM.c.case_id, ITEM.c.element_id).having(sa.func.count() > 1))
    return sa.union(go_back, twice)


def _first_time_right(scope) -> sa.Select:
    return sa.select(CASE.c.id).where(
        CASE.c.id.in_(scope), CASE.c.status == "resolved",
        CASE.c.id.not_in(_rework_cases(scope)), CASE.c.id.not_in(_repeat_contact_events(scope)))


def _scorecard_case_ids(session: Session, measure: str, scope, *, now: datetime) -> sa.Select:
    if measure == "promise_met":
        return sa.select(CASE.c.id).where(CASE.c.id.in_(scope), CASE.c.status == "resolved",
                                          CASE.c.closed_at <= CASE.c.promised_at)
    if measure == "promise_missed":
        return sa.select(CASE.c.id).where(
            CASE.c.id.in_(scope), CASE.c.promised_at.is_not(None),
            sa.or_(sa.and_(CASE.c.status == "resolved", CASE.c.closed_at > CASE.c.promised_at),
                   sa.and_(CASE.c.status.in_(("open", "on_hold")), CASE.c.promised_at < now),
                   CASE.c.status == "cancelled"))
    if measure == "first_time_right":
        return _first_time_right(scope)
    if measure == "repeat_contact":
        return _repeat_contact_events(scope)
    if measure == "handoff":
        return sa.select(_handoff_rows(scope).c.case_id)
    raise ValueError(measure)


def scorecard(session: Session, definition_ids: list[int], *, filters: Filters = NO_FILTERS,
              now: datetime) -> Scorecard:
    """Return the customer scorecard of some versions (usually one) under the filters.

    Promise: resolved cases closed by `promised_at` out of cases with a promise that are resolved,
    cancelled, or still open past their promise (open cases inside their promise are not judged).
    """
    scope = case_scope(definition_ids, filters)
    counts = session.execute(sa.select(
        sa.func.count(),
        sa.func.sum(sa.case((CASE.c.status.in_(("resolved", "cancelled")), 1), else_=0)),
        sa.func.sum(sa.case((CASE.c.status == "resolved", 1), else_=0)),
        sa.func.sum(sa.case((sa.and_(CASE.c.status == "resolved",
                                     CASE.c.closed_at <= CASE.c.promised_at), 1), else_=0)),
    ).where(CASE.c.id.in_(scope))).one()
    judged = session.execute(sa.select(sa.func.count()).where(
        CASE.c.id.in_(scope), CASE.c.promised_at.is_not(None),
        sa.or_(CASE.c.status.in_(("resolved", "cancelled")), CASE.c.promised_at < now))).scalar_one()
    ftr = session.execute(sa.select(sa.func.count()).select_from(
        _first_time_right(scope).subquery())).scalar_one()

    closed = sa.select(CASE.c.id.label("case_id"), CASE.c.contacted_at, CASE.c.closed_at).where(
        CASE.c.id.in_(scope), CASE.c.status == "resolved").subquery()
    customer = _median_all(session, seconds_between(session, closed.c.contacted_at,
                                                    closed.c.closed_at), closed)
    last = sa.select(ITEM.c.case_id, sa.func.max(ITEM.c.completed_at).label("last_done")).where(
        ITEM.c.case_id.in_(sa.select(closed.c.case_id)), STEP, ITEM.c.state == "done",
    ).group_by(ITEM.c.case_id).subquery()
    internal_src = sa.select(last.c.case_id, CASE.c.opened_at, last.c.last_done).select_from(
        last.join(CASE, CASE.c.id == last.c.case_id)).subquery()
    internal = _median_all(session, seconds_between(session, internal_src.c.opened_at,
                                                    internal_src.c.last_done), internal_src)
    handoffs = session.execute(sa.select(sa.func.count()).select_from(_handoff_rows(scope))
                               ).scalar_one()
    with_work = session.execute(sa.select(sa.func.count(sa.distinct(ITEM.c.case_id))).where(
        ITEM.c.case_id.in_(scope), STEP, ITEM.c.state == "done")).scalar_one()
    rc = _repeat_contact_events(scope).subquery()
    repeats, repeat_cases = session.execute(sa.select(
        sa.func.count(), sa.func.count(sa.distinct(rc.c.case_id)))).one()
    return Scorecard(cases=counts[0], closed=int(counts[1] or 0), resolved=int(counts[2] or 0),
                     with_promise=judged, promise_met=int(counts[3] or 0), first_time_right=ftr,
                     customer_cycle_median=customer, internal_cycle_median=internal,
                     handoffs=handoffs, cases_with_work=with_work, repeat_contacts=repeats,
                     cases_with_repeat_contact=repeat_cases)


def _median_all(session: Session, value, source) -> float | None:
    """Median of an expression over all rows of a subquery, in SQL: number the values in order,
    keep the middle one (odd count) or the middle two (even count), and average them."""
    ranked = sa.select(
        value.label("v"), sa.func.row_number().over(order_by=value).label("rn"),
        sa.func.count().over().label("n")).select_from(source).subquery()
    got = session.execute(sa.select(sa.func.avg(ranked.c.v)).where(sa.or_(
        ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))).scalar_one()
    return float(got) if got is not None else None


# ---- trends -------------------------------------------------------------------------------------------


@dataclass
class Trends:
    weeks: list[str]
    cases: dict[str, int]                      # week -> cases opened
    rate: dict[str, float]                     # week -> share of those cases with a deviation
    by_category: dict[str, dict[str, float]]   # category -> week -> share with such a deviation


def trends(session: Session, definition_ids: list[int], *, filters: Filters = NO_FILTERS) -> Trends:
    """Weekly deviation rate of the cases opened each week, overall and per reason category."""
    scope = case_scope(definition_ids, filters)
    week = week_start(session, CASE.c.opened_at).label("week")
    opened = dict(session.execute(sa.select(week, sa.func.count()).where(CASE.c.id.in_(scope))
                                  .group_by(week)).all())
    dev = _deviation_filter(sa.select(DEV.c.case_id, REASON.c.category).select_from(
        DEV.outerjoin(REASON, REASON.c.code == DEV.c.reason_code)).where(
        DEV.c.case_id.in_(scope)), filters).subquery()
    deviated = dict(session.execute(
        sa.select(week, sa.func.count(sa.distinct(CASE.c.id)))
        .select_from(CASE.join(dev, dev.c.case_id == CASE.c.id)).group_by(week)).all())
    by_category: dict[str, dict[str, float]] = {}
    q = (sa.select(week, dev.c.category, sa.func.count(sa.distinct(CASE.c.id)))
         .select_from(CASE.join(dev, dev.c.case_id == CASE.c.id)).group_by(week, dev.c.category))
    for wk, category, n in session.execute(q):
        by_category.setdefault(category or "unknown", {})[str(wk)] = n / opened[wk]
    weeks = sorted(str(w) for w in opened)
    return Trends(weeks, {str(w): n for w, n in opened.items()},
                  {str(w): deviated.get(w, 0) / n for w, n in opened.items()}, by_category)


# ---- redesign candidates --------------------------------------------------------------------------


@dataclass
class Finding:
    element_id: str
    name: str
    pattern: str        # skipped, rework, overridden, adhoc_repeated, breaches_on_team
    rate: float | None
    count: int
    reached: int
    reasons: list[dict]
    sample_case_ids: list[int]
    action: str
    small_sample: bool
    team: str | None = None

    @property
    def score(self) -> float:
        return (self.rate or 0) * (0.5 if self.small_sample else 1.0)


CATEGORY_ACTIONS = {
    "customer_driven": "make the step optional or add a branch for what customers need",
    "internal_failure": "fix the cause upstream (hand-over, data quality) instead of skipping",
    "system": "raise it with the system owner: the process may be fine",
    "policy": "check the rule; model the exception as a proper branch if it stays",
}


def _samples(session: Session, q: sa.Select) -> list[int]:
    return list(session.execute(q.distinct().order_by(q.selected_columns[0].desc())
                                .limit(SAMPLE_CASES)).scalars())


def redesign_candidates(session: Session, version: DefinitionVersion, *,
                        filters: Filters = NO_FILTERS, now: datetime) -> list[Finding]:
    """Rank what to redesign in one version, each finding with its evidence and a suggested action."""
    report = exception_report(session, version, filters=filters, now=now)
    items, deviations = item_scope([version.id], filters), deviation_scope([version.id], filters)
    found: list[Finding] = []

    def dev_cases(element_id: str, kind: str) -> list[int]:
        return _samples(session, sa.select(DEV.c.case_id).where(
            deviations, DEV.c.element_id == element_id, DEV.c.kind == kind))

    def reasons_of(element_id: str, kind: str) -> list[dict]:
        q = (sa.select(DEV.c.reason_code, REASON.c.label, REASON.c.category, sa.func.count())
             .select_from(DEV.outerjoin(REASON, REASON.c.code == DEV.c.reason_code))
             .where(deviations, DEV.c.element_id == element_id, DEV.c.kind == kind)
             .group_by(DEV.c.reason_code, REASON.c.label, REASON.c.category)
             .order_by(sa.func.count().desc(), DEV.c.reason_code).limit(3))
        return [{"code": c, "label": lb or c, "category": cat, "count": n}
                for c, lb, cat, n in session.execute(q)]

    for e in report.elements:
        small = e.reached < MIN_SAMPLE
        skipped = e.by_kind.get("skip", 0)
        if e.reached and not e.reached_is_all_cases and skipped / e.reached >= SKIP_RATE:
            reasons = reasons_of(e.element_id, "skip")
            top = reasons[0]["category"] if reasons else None
            found.append(Finding(e.element_id, e.name, "skipped", skipped / e.reached, skipped,
                                 e.reached, reasons, dev_cases(e.element_id, "skip"),
                                 f"Skipped often: {CATEGORY_ACTIONS.get(top, 'look at the reasons')}",
                                 small))
        if e.reached and e.rework / e.reached >= REWORK_RATE:
            found.append(Finding(e.element_id, e.name, "rework", e.rework / e.reached, e.rework,
                                 e.reached, reasons_of(e.element_id, "go_back"),
                                 dev_cases(e.element_id, "go_back"),
                                 "Rework loop: fix the cause upstream of this step", small))
        overridden = e.by_kind.get("override_decision", 0)
        if report.cases and overridden / report.cases >= OVERRIDE_RATE:
            found.append(Finding(e.element_id, e.name, "overridden", overridden / report.cases,
                                 overridden, report.cases, reasons_of(e.element_id,
                                                                      "override_decision"),
                                 dev_cases(e.element_id, "override_decision"),
                                 "Decision overridden: the table's rules are wrong, change the "
                                 "decision table" if e.type == "businessRuleTask" else
                                 "Decision overridden: the rule is wrong, change the condition",
                                 report.cases < MIN_SAMPLE))

    # the same ad-hoc step added again and again
    q = (sa.select(ITEM.c.name, sa.func.count(), sa.func.count(sa.distinct(ITEM.c.case_id)))
         .where(items, added_by_hand(session, ITEM.c.element_id))
         .group_by(ITEM.c.name).having(sa.func.count() >= ADHOC_REPEATS))
    for title, n, ncases in session.execute(q).all():
        samples = _samples(session, sa.select(ITEM.c.case_id).where(
            items, added_by_hand(session, ITEM.c.element_id), ITEM.c.name == title))
        found.append(Finding(f"adhoc:{title}", title, "adhoc_repeated",
                             ncases / report.cases if report.cases else None, n, report.cases, [],
                             samples, "The same step is added by hand again and again: "
                             "add it to the model", report.cases < MIN_SAMPLE))

    # breaches concentrated on one team: the team's own breach rate is high, and it holds most of
    # the version's breaches (steps with a due time that were done or are still open)
    timed = sa.and_(items, ITEM.c.due_at.is_not(None),
                    ITEM.c.state != "cancelled")
    q = (sa.select(ITEM.c.team, sa.func.count(), sa.func.sum(sa.case((breached(now), 1), else_=0)))
         .where(timed).group_by(ITEM.c.team))
    teams = [(team, n, int(b or 0)) for team, n, b in session.execute(q)]
    total = sum(b for _, _, b in teams)
    for team, n, b in teams:
        if not b or b / n < BREACH_RATE or b / total < BREACH_TEAM_SHARE:
            continue
        worst_q = (sa.select(ITEM.c.element_id, sa.func.count().label("n"))
                   .where(timed, breached(now), _same_team(team))
                   .group_by(ITEM.c.element_id).order_by(sa.desc("n"), ITEM.c.element_id).limit(1))
        worst = session.execute(worst_q).first()[0]
        e = report.element(worst)
        samples = _samples(session, sa.select(ITEM.c.case_id).where(timed, breached(now),
                                                                    _same_team(team)))
        found.append(Finding(worst, e.name if e else worst, "breaches_on_team", b / n, b, n, [],
                             samples, f"Breaches concentrated on {team or 'no team'} "
                             f"({b} of {total}; worst at this step): look at its capacity or "
                             "the hand-off to it", n < MIN_SAMPLE, team=team))
    found.sort(key=lambda f: (-f.score, -f.count, f.element_id))
    return found


def _same_team(team: str | None) -> sa.ColumnElement[bool]:
    return ITEM.c.team.is_(None) if team is None else ITEM.c.team == team


# ---- versions -----------------------------------------------------------------------------------------


def versions(session: Session, process_id: str | None = None) -> list[DefinitionVersion]:
    q = sa.select(DefinitionVersion).order_by(DefinitionVersion.process_id, DefinitionVersion.version)
    if process_id:
        q = q.where(DefinitionVersion.process_id == process_id)
    return list(session.execute(q).scalars())


def version_case_counts(session: Session) -> dict[int, int]:
    return dict(session.execute(sa.select(CASE.c.definition_id, sa.func.count())
                                .group_by(CASE.c.definition_id)).all())
