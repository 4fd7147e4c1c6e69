"""Supervisor insights: exception report, heatmap, trends, redesign candidates, scorecard (issue 7).

Every page is read-only (GET), for supervisors and admins; every number links to the list of the
cases behind it (`/insights/versions/{id}/cases?measure=...`). Figures come from cases/insights.py.
"""
from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, date, datetime, time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlmodel import Session
from starlette.background import BackgroundTask

from cases import exports, insights
from cases.case_models import CHANNELS
from cases.insights import Filters
from cases.users import User
from engine.clock import utcnow
from engine.store import DefinitionVersion

from .inputs import PathId, QueryId, clean_query, year_problem
from .security import SessionDep, require_role

Supervisor = Annotated[User, Depends(require_role("supervisor"))]


def _who(request: Request, user: Supervisor) -> None:
    request.state.user = user  # for the page frame's navigation


router = APIRouter(prefix="/insights", dependencies=[Depends(_who), Depends(clean_query)],
                   include_in_schema=False)  # pages, not the integrators' API


def _render(request: Request, name: str, context: dict, status_code: int = 200):
    return request.app.state.templates.TemplateResponse(
        request, name, {"user": request.state.user, "fmt": insights.format_value,
                        "dur": insights.format_duration, "pct": _pct, **context},
        status_code=status_code)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _day(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    except ValueError:
        raise HTTPException(400, f"'{name}' must be a date such as 2026-03-31, not '{text}'") from None
    if problem := year_problem(day):
        raise HTTPException(400, f"'{name}': {problem}")
    return day


def _filters(request: Request) -> Filters:
    q = request.query_params
    channel = q.get("channel") or None
    if channel and channel not in CHANNELS:
        raise HTTPException(400, f"Channel must be one of {', '.join(CHANNELS)}")
    since, until = _day(q.get("since"), "From"), _day(q.get("until"), "Until")
    if since and until and until <= since:
        raise HTTPException(400, "'Until' must be after 'From'")
    return Filters(since=since, until=until, team=(q.get("team") or "").strip() or None,
                   agent=(q.get("agent") or "").strip().lower() or None, channel=channel)


def _version(session: Session, definition_id: int) -> DefinitionVersion:
    version = session.get(DefinitionVersion, definition_id)
    if version is None:
        raise HTTPException(404, f"No process version {definition_id}")
    return version


def drill_url(version_id: int, measure: str, filters: Filters, element: str | None = None,
              value: str | None = None) -> str:
    params = {"measure": measure, **filters.as_query()}
    if element:
        params["element"] = element
    if value:
        params["value"] = value
    return f"/insights/versions/{version_id}/cases?{urlencode(params)}"


def _version_links(session: Session, version: DefinitionVersion) -> dict:
    others = [v for v in insights.versions(session, version.process_id) if v.id != version.id]
    return {"others": others, "counts": insights.version_case_counts(session)}


@router.get("")
def index(request: Request, session: SessionDep):
    versions = insights.versions(session)
    counts = insights.version_case_counts(session)
    processes: dict[str, list[DefinitionVersion]] = {}
    for v in versions:
        processes.setdefault(v.process_id, []).append(v)
    return _render(request, "insights/index.html", {
        "processes": processes, "counts": counts, "channels": CHANNELS})


@router.get("/versions/{definition_id}/bpmn")
def bpmn(definition_id: PathId, session: SessionDep):
    version = _version(session, definition_id)
    return Response(version.bpmn_xml, media_type="application/xml")


@router.get("/versions/{definition_id}")
def report(definition_id: PathId, request: Request, session: SessionDep):
    version = _version(session, definition_id)
    filters = _filters(request)
    result = insights.exception_report(session, version, filters=filters, now=utcnow())
    return _render(request, "insights/report.html", {
        "version": version, "report": result, "filters": filters, "channels": CHANNELS,
        "drill": lambda measure, element=None, value=None: drill_url(
            version.id, measure, filters, element, value),
        "query": urlencode(filters.as_query()), **_version_links(session, version)})


@router.get("/versions/{definition_id}/heatmap")
def heatmap(definition_id: PathId, request: Request, session: SessionDep, metric: str = "rate"):
    version = _version(session, definition_id)
    if metric not in insights.METRICS:
        raise HTTPException(400, f"Choose a measure among {', '.join(insights.METRICS)}")
    filters = _filters(request)
    result = insights.exception_report(session, version, filters=filters, now=utcnow(),
                                       with_times=metric == "time")
    heat = insights.heatmap(result, metric)
    return _render(request, "insights/heatmap.html", {
        "version": version, "report": result, "heat": heat, "metric": metric,
        "metrics": insights.METRIC_LABELS, "filters": filters,
        "fills": json.dumps(heat["fills"]), "badges": json.dumps(heat["badges"]),
        "drill": lambda measure, element=None, value=None: drill_url(
            version.id, measure, filters, element, value),
        "query": urlencode(filters.as_query())})


@router.get("/versions/{definition_id}/cases")
def drill_down(definition_id: PathId, request: Request, session: SessionDep,
               measure: str = "cases", element: str | None = None, value: str | None = None):
    version = _version(session, definition_id)
    if measure not in insights.DRILL_MEASURES:
        raise HTTPException(400, f"Unknown measure '{measure}'")
    if measure in ("kind", "reason", "category") and not value:
        raise HTTPException(400, f"Say which {measure} (value=...)")
    filters = _filters(request)
    cases = insights.drill_down(session, [version.id], measure=measure, element_id=element,
                                value=value, filters=filters, now=utcnow())
    return _render(request, "insights/cases.html", {
        "version": version, "cases": cases, "measure": measure, "element": element,
        "value": value, "filters": filters, "limit": 500,
        "query": urlencode(filters.as_query())})


@router.get("/versions/{definition_id}/scorecard")
def scorecard(definition_id: PathId, request: Request, session: SessionDep):
    version = _version(session, definition_id)
    filters = _filters(request)
    card = insights.scorecard(session, [version.id], filters=filters, now=utcnow())
    return _render(request, "insights/scorecard.html", {
        "version": version, "card": card, "filters": filters,
        "drill": lambda measure: drill_url(version.id, measure, filters),
        "query": urlencode(filters.as_query())})


@router.get("/versions/{definition_id}/candidates")
def candidates(definition_id: PathId, request: Request, session: SessionDep):
    version = _version(session, definition_id)
    filters = _filters(request)
    found = insights.redesign_candidates(session, version, filters=filters, now=utcnow())
    thresholds = {name: getattr(insights, name) for name in (
        "MIN_SAMPLE", "SKIP_RATE", "REWORK_RATE", "OVERRIDE_RATE", "ADHOC_REPEATS", "BREACH_RATE",
        "BREACH_TEAM_SHARE")}
    return _render(request, "insights/candidates.html", {
        "version": version, "found": found, "filters": filters, "thresholds": thresholds,
        "drill": lambda measure, element=None, value=None: drill_url(
            version.id, measure, filters, element, value),
        "query": urlencode(filters.as_query())})


@router.get("/compare")
def compare(request: Request, session: SessionDep, before: QueryId = None,
            after: QueryId = None, process: str | None = None):
    if before is None or after is None:
        if not process:
            raise HTTPException(400, "Choose a process, or two versions to compare")
        versions = insights.versions(session, process)
        if not versions:
            raise HTTPException(404, f"No process '{process}'")
        if len(versions) < 2:  # a fact about the process, not a bad request: say what comes next
            return _render(request, "insights/compare_one.html", {"version": versions[0],
                                                                   "query": ""})
        before, after = versions[-2].id, versions[-1].id
    a, b = _version(session, before), _version(session, after)
    if a.process_id != b.process_id:
        raise HTTPException(400, "Compare two versions of the same process")
    filters = _filters(request)
    left, right, rows = insights.compare_versions(session, a, b, filters=filters, now=utcnow())
    heat_a, heat_b = insights.heatmap(left, "rate"), insights.heatmap(right, "rate")
    return _render(request, "insights/compare.html", {
        "a": a, "b": b, "left": left, "right": right, "filters": filters,
        "rows": [r for r in rows if not r.empty], "hidden": [r for r in rows if r.empty],
        "versions": insights.versions(session, a.process_id),
        "fills_a": json.dumps(heat_a["fills"]), "badges_a": json.dumps(heat_a["badges"]),
        "fills_b": json.dumps(heat_b["fills"]), "badges_b": json.dumps(heat_b["badges"]),
        "drill_a": lambda measure, element=None, value=None: drill_url(
            a.id, measure, filters, element, value),
        "drill_b": lambda measure, element=None, value=None: drill_url(
            b.id, measure, filters, element, value)})


@router.get("/trends")
def trends(request: Request, session: SessionDep, process: str | None = None):
    filters = _filters(request)
    all_versions = insights.versions(session)
    names = sorted({v.process_id for v in all_versions})
    if process and process not in names:
        raise HTTPException(404, f"No process '{process}'")
    chosen = [process] if process else names
    per_process = {}
    for pid in chosen:
        ids = [v.id for v in all_versions if v.process_id == pid]
        per_process[pid] = insights.trends(session, ids, filters=filters)
    ids = [v.id for v in all_versions if v.process_id in chosen]
    overall = insights.trends(session, ids, filters=filters)
    weeks = overall.weeks
    chart = {
        "weeks": weeks,
        "processes": [{"label": pid, "data": [_round(t.rate.get(w)) for w in weeks]}
                      for pid, t in per_process.items()],
        "categories": [{"label": cat, "data": [_round(overall.by_category[cat].get(w, 0)
                                                       if w in overall.cases else None)
                                               for w in weeks]}
                       for cat in sorted(overall.by_category)],
    }
    return _render(request, "insights/trends.html", {
        "process": process, "names": names, "per_process": per_process, "overall": overall,
        "chart": chart, "filters": filters})


def _round(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


@router.get("/export")
def export(request: Request, session: SessionDep, format: str = "xes", process: str | None = None,
           table: str = "events"):
    """Download the event log (XES) or the cases/events (CSV), written to a temporary file."""
    if format not in exports.FORMATS:
        raise HTTPException(400, f"Format must be one of {', '.join(exports.FORMATS)}")
    f = exports.ExportFilter(process_id=process or None, since=_day(
        request.query_params.get("since"), "From"), until=_day(request.query_params.get("until"),
                                                               "Until"))
    with tempfile.NamedTemporaryFile("w", suffix=f".{format}", delete=False, encoding="utf-8",
                                     newline="") as tmp:
        if format == "xes":
            exports.write_xes(session, tmp, f)
        elif table == "cases":
            exports.write_cases_csv(session, tmp, f)
        else:
            exports.write_events_csv(session, tmp, f)
    name = f"caseflow-{process or 'all'}-{table if format == 'csv' else 'log'}.{format}"
    return FileResponse(tmp.name, filename=name, background=BackgroundTask(os.unlink, tmp.name),
                        media_type="text/csv" if format == "csv" else "application/xml")
