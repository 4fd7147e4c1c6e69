"""The JSON API of the supervisors' insights: exception report, heatmap data and scorecard.

The same figures as the insights pages (cases/insights.py), for supervisors and admins, with the
same filters: `since`/`until` (days, the cases opened in between), `team`, `agent`, `channel`.
Same authentication and refusal shape as web/api.py.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from cases import insights
from cases.case_models import CHANNELS
from cases.definitions import get_version
from cases.insights import ElementFigures, Filters
from engine.clock import utcnow

from .api import REFUSALS, Caller, _run
from .api_resources import ExceptionReportOut, HeatmapOut, ScorecardOut
from .api_work import _decider
from .inputs import YEARS, PathId, Text
from .security import SessionDep

router = APIRouter()
Day = Annotated[date | None, Query(ge=date(YEARS[0], 1, 1), le=date(YEARS[1], 12, 31),
                                   description="A day such as 2026-03-31 (UTC)")]


def _filters(since: Day = None, until: Day = None,
             team: Annotated[Text(255) | None, Query(description="Steps of this team")] = None,
             agent: Annotated[Text(64) | None, Query(description="Steps done by this user")] = None,
             channel: Annotated[str | None, Query(pattern=f"^({'|'.join(CHANNELS)})$")] = None
             ) -> Filters:
    """The filters of an insights request; `until` must come after `since`."""
    start = datetime.combine(since, time(), tzinfo=UTC) if since else None
    end = datetime.combine(until, time(), tzinfo=UTC) if until else None
    if start and end and end <= start:
        raise HTTPException(status_code=422, detail={
            "message": "'until' must be after 'since'", "errors": {"until": "Give a later day"}})
    return Filters(since=start, until=end, team=(team or "").strip() or None,
                   agent=(agent or "").strip().lower() or None, channel=channel)


FiltersDep = Annotated[Filters, Depends(_filters)]


def filters_json(f: Filters) -> dict:
    return {"since": f.since.date().isoformat() if f.since else None,
            "until": f.until.date().isoformat() if f.until else None,
            "team": f.team, "agent": f.agent, "channel": f.channel}


def element_json(e: ElementFigures) -> dict:
    """An element's figures as the API shows them."""
    return {"element_id": e.element_id, "name": e.name, "type": e.type, "lane": e.lane,
            "reached": e.reached, "deviating_cases": e.deviating_cases,
            "deviations": e.deviations, "by_kind": e.by_kind, "rate": e.rate,
            "rework": e.rework, "rework_rate": e.rework_rate,
            "reasons": [{"code": r["code"], "label": r.get("label"),
                         "category": r.get("category"), "count": r["count"]} for r in e.reasons],
            "items": e.items, "timed_items": e.timed_items, "median_seconds": e.median_seconds,
            "breaches": e.breaches, "breach_rate": e.breach_rate, "incidents": e.incidents}


@router.get("/insights/versions/{definition_id}/report", response_model=ExceptionReportOut,
            responses=REFUSALS)
def api_report(definition_id: PathId, user: Caller, session: SessionDep,
               filters: FiltersDep) -> dict:
    """Per element of the version: how often cases left the happy path there, how, and why."""
    _decider(user)
    version = _run(get_version, session, definition_id)
    report = insights.exception_report(session, version, filters=filters, now=utcnow(),
                                       with_times=True)
    return {"definition_id": version.id, "process_id": version.process_id,
            "version": version.version, "cases": report.cases,
            "filters": filters_json(filters),
            "elements": [element_json(e) for e in report.elements]}


@router.get("/insights/versions/{definition_id}/heatmap", response_model=HeatmapOut,
            responses=REFUSALS)
def api_heatmap(definition_id: PathId, user: Caller, session: SessionDep, filters: FiltersDep,
                metric: Annotated[str, Query(pattern=f"^({'|'.join(insights.METRICS)})$",
                                             description="rate, rework, time or breaches")
                                  ] = "rate") -> dict:
    """Colours, badges and a legend per element, to paint on the version's diagram."""
    _decider(user)
    version = _run(get_version, session, definition_id)
    report = insights.exception_report(session, version, filters=filters, now=utcnow(),
                                       with_times=metric == "time")
    heat = insights.heatmap(report, metric)
    values = {e.element_id: e.metric(metric) for e in report.elements
              if e.element_id != insights.ADHOC}
    return {"definition_id": version.id, "metric": metric, "label": heat["label"],
            "top": heat["top"], "values": values, "fills": heat["fills"],
            "badges": heat["badges"], "legend": heat["legend"],
            "bpmn_url": f"/api/definitions/{version.id}/bpmn"}


@router.get("/insights/versions/{definition_id}/scorecard", response_model=ScorecardOut,
            responses=REFUSALS)
def api_scorecard(definition_id: PathId, user: Caller, session: SessionDep,
                  filters: FiltersDep) -> dict:
    """The customer's view of the version: promises kept, first time right, cycle times."""
    _decider(user)
    version = _run(get_version, session, definition_id)
    card = insights.scorecard(session, [version.id], filters=filters, now=utcnow())
    return {"definition_id": version.id, "cases": card.cases, "closed": card.closed,
            "resolved": card.resolved, "with_promise": card.with_promise,
            "promise_met": card.promise_met, "promise_rate": card.promise_rate,
            "first_time_right": card.first_time_right,
            "first_time_right_rate": card.first_time_right_rate,
            "customer_cycle_median_seconds": card.customer_cycle_median,
            "internal_cycle_median_seconds": card.internal_cycle_median,
            "handoffs": card.handoffs, "cases_with_work": card.cases_with_work,
            "handoffs_per_case": card.handoffs_per_case,
            "repeat_contacts": card.repeat_contacts,
            "cases_with_repeat_contact": card.cases_with_repeat_contact,
            "filters": filters_json(filters)}
