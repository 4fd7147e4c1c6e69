"""Who may reach what: every route of the app against every kind of caller, as one table.

The routes are read from the app itself, so a route added without a row here fails the test.
Each call is made for real (a SQLite file, a deployed process, a real case with an open step of
the Customer Care team) and judged by status class:

    o  allowed: the route ran (2xx, a redirect that is not to sign-in, or a 4xx about the input)
    l  sign in first: 401, or a redirect to /login?next=...
    f  forbidden: 403
    n  not found: 404

Bodies are chosen so that an allowed caller's request is refused for its content (or is
harmless), while the role and team checks, which run first, still answer for the others.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlmodel import Session

from cases.api_tokens import issue_token
from cases.case_models import WorkItem
from cases.definitions import deploy_file
from cases.settings import Settings
from cases.users import create_user
from tests.conftest import DATA, T0, fresh_sqlite
from tests.web.conftest import PASSWORD, csrf_from
from web.app import create_app

ROLES = ("anonymous", "agent", "other_agent", "supervisor", "designer", "admin", "agent_token")
#              anonymous  agent  other team  supervisor  designer  admin  agent's token
PUBLIC =      "o          o      o           o           o         o      o"
SIGNED_IN =   "l          o      o           o           o         o      l"
WORKERS =     "l          o      o           o           f         o      l"
TEAM =        "l          o      f           o           f         o      l"
SUPERVISORS = "l          f      f           o           f         o      l"
DESIGNERS =   "l          f      f           f           o         o      l"
API_ANY =     "l          o      o           o           o         o      o"
API_WORKERS = "l          o      o           o           f         o      o"
API_TEAM =    "l          o      f           o           f         o      o"
API_DECIDERS = "l         f      f           o           f         o      f"
ADMINS =      "l          f      f           f           f         o      l"
API_ADMINS =  "l          f      f           f           f         o      f"
DESIGN_READERS = "l       f      f           o           o         o      l"
OWN =         "l          o      n           n           n         n      l"
API_OWN =     "l          o      n           n           n         n      o"

# a calendar refused for its time zone (after the role check)
BAD_CALENDAR = {"name": "Mars", "timezone": "Mars/Olympus_Mons",
                "hours": {"mon": {"opens": "08:00", "closes": "18:00"}}}
API_DESIGNERS = "l        f      f           f           o         o      f"

# (method, route) -> (address, body, expected class per caller in ROLES order)
# {case} is the case of the Customer Care step {item}; {case2} has a cancel waiting for approval
# {request}; {esc} is an escalation on {case}; {version} the case's process version, {draft}
# another process's version; {incident} a failed script on {case3}.
MATRIX: dict[tuple[str, str], tuple[str, object, str]] = {
    # public
    ("GET", "/login"): ("/login", None, PUBLIC),
    ("POST", "/login"): ("/login", {"username": "x", "password": "y"}, PUBLIC),
    ("POST", "/logout"): ("/logout", {}, PUBLIC),
    ("GET", "/api/openapi.json"): ("/api/openapi.json", None, PUBLIC),
    ("GET", "/api/docs"): ("/api/docs", None, PUBLIC),
    ("GET", "/docs/oauth2-redirect"): ("/docs/oauth2-redirect", None, PUBLIC),
    ("GET", "/redoc"): ("/redoc", None, PUBLIC),
    ("GET", "/static"): ("/static/css/caseflow.css", None, PUBLIC),
    ("GET", "/api/health"): ("/api/health", None, PUBLIC),
    # probes for load balancers (web/ops): public, they say only which check failed
    ("GET", "/api/ready"): ("/api/ready", None, PUBLIC),
    # Prometheus with CASEFLOW_METRICS_TOKEN (unset here), or an admin (session or API token)
    ("GET", "/metrics"): ("/metrics", None, API_ADMINS),
    # any signed-in person
    ("GET", "/"): ("/", None, SIGNED_IN),
    ("GET", "/cases/{case_id}/diagram.bpmn"): ("/cases/{case}/diagram.bpmn", None, SIGNED_IN),
    ("GET", "/designer"): ("/designer", None, SIGNED_IN),
    ("GET", "/designer/versions/{definition_id}"): ("/designer/versions/{version}", None,
                                                    SIGNED_IN),
    ("GET", "/designer/versions/{definition_id}/bpmn"): ("/designer/versions/{version}/bpmn",
                                                         None, SIGNED_IN),
    ("GET", "/designer/compare"): ("/designer/compare?left={version}&right={draft}", None,
                                   SIGNED_IN),
    ("GET", "/designer/migrate"): ("/designer/migrate?from={version}&to={version}", None,
                                   SIGNED_IN),
    ("GET", "/designer/files/{file_id}"): ("/designer/files/{file}", None, SIGNED_IN),
    ("GET", "/designer/files/{file_id}/content"): ("/designer/files/{file}/content", None,
                                                   SIGNED_IN),
    # the agents' workspace: agents (any team may look and deviate), supervisors, admins
    ("GET", "/work"): ("/work", None, WORKERS),
    ("GET", "/cases/new"): ("/cases/new", None, WORKERS),
    ("GET", "/cases/new/start-form"): ("/cases/new/start-form?process_id=dev_process", None,
                                       WORKERS),
    ("POST", "/cases/new"): ("/cases/new", {"customer_id": ""}, WORKERS),
    ("GET", "/customers"): ("/customers", None, WORKERS),
    ("POST", "/customers"): ("/customers", {"name": ""}, WORKERS),
    ("GET", "/customers/{customer_id}"): ("/customers/1", None, WORKERS),
    ("GET", "/cases/{case_id}"): ("/cases/{case}", None, WORKERS),
    ("POST", "/cases/{case_id}/notes"): ("/cases/{case}/notes", {"text": ""}, WORKERS),
    ("POST", "/cases/{case_id}/deviations/{kind}"): ("/cases/{case}/deviations/hold",
                                                     {"expected_version": "1"}, WORKERS),
    # finding work (web/work_search.py): search, next work (the agent takes the Customer Care
    # step; prepare() hands it back), saved filters; a filter id nobody owns is not found for
    # every worker (each sees only their own)
    ("GET", "/work/search"): ("/work/search?q=Ada", None, WORKERS),
    ("POST", "/work/next"): ("/work/next", {}, WORKERS),
    ("POST", "/work/filters"): ("/work/filters", {"name": "", "query": "view=team"}, WORKERS),
    ("POST", "/work/filters/{filter_id}/delete"): ("/work/filters/999999/delete", {},
                                                   "l n n n f n l"),
    # saved filters over the API: each caller's own. {filter} is the agent's (anyone else's
    # answer is not found), a filter id nobody owns is not found for every worker, and a
    # name-less save is refused for its content
    ("GET", "/api/saved-filters"): ("/api/saved-filters", None, API_WORKERS),
    ("POST", "/api/saved-filters"): ("/api/saved-filters", {"name": " ", "query": "view=team"},
                                     API_WORKERS),
    ("GET", "/api/saved-filters/{filter_id}"): ("/api/saved-filters/{filter}", None,
                                                "l o n n f n o"),
    ("DELETE", "/api/saved-filters/{filter_id}"): ("/api/saved-filters/999999", None,
                                                   "l n n n f n n"),
    ("GET", "/api/saved-filters/{filter_id}/work-items"): (
        "/api/saved-filters/{filter}/work-items", None, "l o n n f n o"),
    # a step of Customer Care: only its team (and supervisors, admins) claim and complete it
    ("POST", "/work/items/{item_id}/claim"): ("/work/items/{item}/claim", {}, TEAM),
    ("POST", "/cases/{case_id}/items/{item_id}/claim"): ("/cases/{case}/items/{item}/claim", {},
                                                         TEAM),
    ("POST", "/cases/{case_id}/items/{item_id}/complete"): (
        "/cases/{case}/items/{item}/complete", {"expected_version": "{row_version}",
                                                "amount": "lots"}, TEAM),
    # held by the Customer Care agent: they, supervisors and admins give it back
    ("POST", "/work/items/{item_id}/release"): ("/work/items/{item}/release", {}, TEAM),
    ("POST", "/cases/{case_id}/items/{item_id}/release"): ("/cases/{case}/items/{item}/release",
                                                           {}, TEAM),
    # supervisors (and admins)
    ("POST", "/cases/{case_id}/escalations/{item_id}/resolve"): (
        "/cases/{case}/escalations/{esc}/resolve", {"note": ""}, SUPERVISORS),
    ("GET", "/approvals"): ("/approvals", None, SUPERVISORS),
    ("POST", "/work/bulk"): ("/work/bulk", {"kind": "hold", "reason_code": ""}, SUPERVISORS),
    ("POST", "/approvals/{request_id}/approve"): ("/approvals/{request}/approve", {"note": "\x01"},
                                                  SUPERVISORS),
    ("POST", "/approvals/{request_id}/reject"): ("/approvals/{request}/reject", {"note": ""},
                                                 SUPERVISORS),
    ("GET", "/incidents"): ("/incidents", None, SUPERVISORS),
    ("POST", "/incidents/{incident_id}/retry"): ("/incidents/{incident}/retry", {}, SUPERVISORS),
    ("POST", "/incidents/{incident_id}/resolve"): ("/incidents/{incident}/resolve", {"note": ""},
                                                   SUPERVISORS),
    ("GET", "/insights"): ("/insights", None, SUPERVISORS),
    ("GET", "/insights/versions/{definition_id}"): ("/insights/versions/{version}", None,
                                                    SUPERVISORS),
    ("GET", "/insights/versions/{definition_id}/bpmn"): ("/insights/versions/{version}/bpmn",
                                                         None, SUPERVISORS),
    ("GET", "/insights/versions/{definition_id}/heatmap"): (
        "/insights/versions/{version}/heatmap", None, SUPERVISORS),
    ("GET", "/insights/versions/{definition_id}/cases"): ("/insights/versions/{version}/cases",
                                                          None, SUPERVISORS),
    ("GET", "/insights/versions/{definition_id}/scorecard"): (
        "/insights/versions/{version}/scorecard", None, SUPERVISORS),
    ("GET", "/insights/versions/{definition_id}/candidates"): (
        "/insights/versions/{version}/candidates", None, SUPERVISORS),
    ("GET", "/insights/compare"): ("/insights/compare?before={version}&after={version}", None,
                                   SUPERVISORS),
    ("GET", "/insights/trends"): ("/insights/trends", None, SUPERVISORS),
    ("GET", "/insights/export"): ("/insights/export?format=csv", None, SUPERVISORS),
    # designers (and admins)
    ("POST", "/designer/upload"): ("/designer/upload", {}, DESIGNERS),
    ("POST", "/designer/versions/{definition_id}/activate"): (
        "/designer/versions/{draft}/activate", {}, DESIGNERS),
    ("POST", "/designer/versions/{definition_id}/retire"): ("/designer/versions/{draft}/retire",
                                                            {}, DESIGNERS),
    ("POST", "/designer/migrate"): ("/designer/migrate", {"from": "", "to": ""}, DESIGNERS),
    ("GET", "/designer/versions/{definition_id}/edit"): ("/designer/versions/{version}/edit", None,
                                                         DESIGNERS),
    ("POST", "/designer/versions/{definition_id}/edit"): ("/designer/versions/{draft}/edit", {},
                                                          DESIGNERS),
    ("GET", "/designer/versions/{definition_id}/heatmap"): (
        "/designer/versions/{version}/heatmap", None, DESIGN_READERS),
    # JSON API: a token or a signed-in browser; people who work cases (designers read definitions)
    ("GET", "/api/definitions"): ("/api/definitions", None, API_ANY),
    ("POST", "/api/cases"): ("/api/cases", {"process_id": "dev_process", "channel": "fax",
                                            "customer_id": 1}, API_WORKERS),
    ("GET", "/api/cases"): ("/api/cases", None, API_WORKERS),
    ("GET", "/api/cases/{case_id}"): ("/api/cases/{case}", None, API_WORKERS),
    ("GET", "/api/cases/{case_id}/events"): ("/api/cases/{case}/events", None, API_WORKERS),
    ("POST", "/api/cases/{case_id}/work-items/{item_id}/complete"): (
        "/api/cases/{case}/work-items/{item}/complete",
        {"expected_version": "{row_version}", "data": {"amount": "lots"}}, API_TEAM),
    ("POST", "/api/cases/{case_id}/messages"): ("/api/cases/{case}/messages", {"name": "nobody"},
                                                API_WORKERS),
    ("POST", "/api/cases/{case_id}/deviations/{kind}"): (
        "/api/cases/{case}/deviations/hold",
        {"expected_version": "{row_version}", "reason_code": "no_such_reason", "note": "n"},
        API_WORKERS),
    ("POST", "/api/cases/{case_id}/deviations/{kind}/preview"): (
        "/api/cases/{case}/deviations/jump_to/preview", {"element_id": "Nowhere"}, API_WORKERS),
    ("GET", "/api/work-items"): ("/api/work-items", None, API_WORKERS),
    ("GET", "/api/cases/search"): ("/api/cases/search?q=Ada", None, API_WORKERS),
    ("POST", "/api/work/next"): ("/api/work/next", {}, API_WORKERS),
    ("POST", "/api/bulk/{kind}"): ("/api/bulk/hold", {"reason_code": "", "note": ""},
                                   API_DECIDERS),
    ("POST", "/api/messages"): ("/api/messages", {"name": "nobody", "business_key": "x"},
                                API_WORKERS),
    ("POST", "/api/signals"): ("/api/signals", {"name": "nobody"}, API_DECIDERS),
    # incidents are for supervisors and admins, as on the pages
    ("GET", "/api/incidents"): ("/api/incidents", None, API_DECIDERS),
    ("GET", "/api/incidents/{incident_id}"): ("/api/incidents/{incident}", None, API_DECIDERS),
    ("POST", "/api/incidents/{incident_id}/retry"): ("/api/incidents/{incident}/retry", {},
                                                     API_DECIDERS),
    ("POST", "/api/incidents/{incident_id}/resolve"): ("/api/incidents/{incident}/resolve",
                                                       {"note": ""}, API_DECIDERS),
    # webhooks are for admins: {webhook} and {webhook3} get removed, {delivery} (of {webhook2})
    # is a failed delivery sent again
    ("GET", "/admin/webhooks"): ("/admin/webhooks", None, ADMINS),
    ("POST", "/admin/webhooks"): ("/admin/webhooks", {"url": ""}, ADMINS),
    ("POST", "/admin/webhooks/{webhook_id}/remove"): ("/admin/webhooks/{webhook}/remove", {},
                                                      ADMINS),
    ("POST", "/admin/webhooks/deliveries/{delivery_id}/replay"): (
        "/admin/webhooks/deliveries/{delivery}/replay", {}, ADMINS),
    ("GET", "/api/webhooks"): ("/api/webhooks", None, API_ADMINS),
    ("POST", "/api/webhooks"): ("/api/webhooks", {"url": "http://169.254.169.254/",
                                                  "events": ["case_opened"]}, API_ADMINS),
    ("DELETE", "/api/webhooks/{webhook_id}"): ("/api/webhooks/{webhook3}", None, API_ADMINS),
    ("GET", "/api/webhook-deliveries"): ("/api/webhook-deliveries", None, API_ADMINS),
    ("POST", "/api/webhook-deliveries/{delivery_id}/replay"): (
        "/api/webhook-deliveries/{delivery}/replay", {}, API_ADMINS),
    # attachments: whoever may open the case; {attachment} on {case} was added by the Customer
    # Care agent, so only they, supervisors and admins delete it
    ("POST", "/cases/{case_id}/attachments"): ("/cases/{case}/attachments", {"description": ""},
                                               WORKERS),
    ("GET", "/cases/{case_id}/attachments/{attachment_id}"): (
        "/cases/{case}/attachments/{attachment}", None, WORKERS),
    ("POST", "/cases/{case_id}/attachments/{attachment_id}/delete"): (
        "/cases/{case}/attachments/{attachment}/delete", {"reason": ""}, TEAM),
    ("GET", "/api/cases/{case_id}/attachments"): ("/api/cases/{case}/attachments", None,
                                                  API_WORKERS),
    ("POST", "/api/cases/{case_id}/attachments"): ("/api/cases/{case}/attachments", {},
                                                   API_WORKERS),
    ("GET", "/api/cases/{case_id}/attachments/{attachment_id}"): (
        "/api/cases/{case}/attachments/{attachment}", None, API_WORKERS),
    ("GET", "/api/cases/{case_id}/attachments/{attachment_id}/content"): (
        "/api/cases/{case}/attachments/{attachment}/content", None, API_WORKERS),
    ("DELETE", "/api/cases/{case_id}/attachments/{attachment_id}"): (
        "/api/cases/{case}/attachments/{attachment}", None, API_TEAM),
    # notifications: everyone signed in has their own; {notification} is the agent's, so it
    # names nothing for anyone else
    ("GET", "/notifications"): ("/notifications", None, SIGNED_IN),
    ("GET", "/notifications/bell"): ("/notifications/bell", None, SIGNED_IN),
    ("POST", "/notifications/{notification_id}/read"): ("/notifications/{notification}/read", {},
                                                        OWN),
    ("POST", "/notifications/read-all"): ("/notifications/read-all", {}, SIGNED_IN),
    ("GET", "/notifications/preferences"): ("/notifications/preferences", None, SIGNED_IN),
    ("POST", "/notifications/preferences"): ("/notifications/preferences", {"email": "no"},
                                             SIGNED_IN),
    ("GET", "/api/notifications"): ("/api/notifications", None, API_ANY),
    ("POST", "/api/notifications/read-all"): ("/api/notifications/read-all", {}, API_ANY),
    ("POST", "/api/notifications/{notification_id}/read"): (
        "/api/notifications/{notification}/read", {}, API_OWN),
    ("GET", "/api/notification-preferences"): ("/api/notification-preferences", None, API_ANY),
    ("POST", "/api/notification-preferences"): ("/api/notification-preferences",
                                                {"email": "no"}, API_ANY),
    # linked cases and reopening: whoever works cases ({case} is open, so a reopen is a 409)
    ("POST", "/cases/{case_id}/links"): ("/cases/{case}/links", {"other_case_id": ""}, WORKERS),
    ("POST", "/cases/{case_id}/reopen"): ("/cases/{case}/reopen", {"expected_version": "1"},
                                          WORKERS),
    ("GET", "/api/cases/{case_id}/links"): ("/api/cases/{case}/links", None, API_WORKERS),
    ("POST", "/api/cases/{case_id}/links"): (
        "/api/cases/{case}/links", {"other_case_id": 999999, "kind": "related", "reason": "x"},
        API_WORKERS),
    # removing a link (no reason: refused for its content after the role and team checks):
    # {link} joins {case} and another customer's case, made by the Customer Care agent; the other team's agent
    # neither made it nor works either case
    ("POST", "/cases/{case_id}/links/{link_id}/delete"): (
        "/cases/{case}/links/{link}/delete", {"reason": ""}, TEAM),
    ("DELETE", "/api/cases/{case_id}/links/{link_id}"): (
        "/api/cases/{case}/links/{link}", None, API_TEAM),
    ("POST", "/api/cases/{case_id}/reopen"): (
        "/api/cases/{case}/reopen", {"expected_version": 1, "element_id": "Capture",
                                     "reason_code": "x", "note": "n"}, API_WORKERS),
    # business calendars are for admins: {calendar2} and {calendar3} get removed
    ("GET", "/admin/calendars"): ("/admin/calendars", None, ADMINS),
    ("POST", "/admin/calendars"): ("/admin/calendars", {"name": ""}, ADMINS),
    ("POST", "/admin/calendars/{calendar_id}"): ("/admin/calendars/{calendar}", {"name": ""},
                                                 ADMINS),
    ("POST", "/admin/calendars/{calendar_id}/remove"): ("/admin/calendars/{calendar2}/remove", {},
                                                        ADMINS),
    ("POST", "/admin/calendars/teams"): ("/admin/calendars/teams", {"team": ""}, ADMINS),
    ("GET", "/admin/calendars/check"): ("/admin/calendars/check?duration=PT4H", None, ADMINS),
    ("GET", "/api/calendars"): ("/api/calendars", None, API_ADMINS),
    ("POST", "/api/calendars"): ("/api/calendars", BAD_CALENDAR, API_ADMINS),
    ("PUT", "/api/calendars/{calendar_id}"): ("/api/calendars/{calendar}", BAD_CALENDAR,
                                              API_ADMINS),
    ("DELETE", "/api/calendars/{calendar_id}"): ("/api/calendars/{calendar3}", None, API_ADMINS),
    ("PUT", "/api/calendar-teams"): ("/api/calendar-teams", {"team": "   "}, API_ADMINS),
    # external-task workers: tokens of people who work cases; {ext} is held by no worker (409)
    ("POST", "/api/external-tasks/fetch-and-lock"): (
        "/api/external-tasks/fetch-and-lock",
        {"worker_id": "w", "topics": [{"name": "no.such.topic", "lock_duration_ms": 1000}]},
        API_WORKERS),
    ("GET", "/api/external-tasks"): ("/api/external-tasks", None, API_WORKERS),
    ("POST", "/api/external-tasks/{task_id}/complete"): (
        "/api/external-tasks/{ext}/complete", {"worker_id": "nobody"}, API_WORKERS),
    ("POST", "/api/external-tasks/{task_id}/failure"): (
        "/api/external-tasks/{ext}/failure", {"worker_id": "nobody", "error_message": "x"},
        API_WORKERS),
    ("POST", "/api/external-tasks/{task_id}/bpmn-error"): (
        "/api/external-tasks/{ext}/bpmn-error", {"worker_id": "nobody", "error_code": "X"},
        API_WORKERS),
    ("POST", "/api/external-tasks/{task_id}/extend-lock"): (
        "/api/external-tasks/{ext}/extend-lock", {"worker_id": "nobody", "new_duration_ms": 1000},
        API_WORKERS),
    # a person's work over the API: the Customer Care step {item} as on the pages; handing it to
    # someone by name (user 1, the agent) is for supervisors and admins
    ("POST", "/api/work-items/{item_id}/claim"): ("/api/work-items/{item}/claim", {}, API_TEAM),
    ("POST", "/api/work-items/{item_id}/release"): ("/api/work-items/{item}/release", {},
                                                    API_TEAM),
    ("POST", "/api/work-items/{item_id}/assign"): ("/api/work-items/{item}/assign",
                                                   {"assignee_id": 1}, API_DECIDERS),
    # approvals: agents list their own requests; the supervisor approves {request} (the admin
    # then gets 409), a rejection without a note is refused for its content
    ("GET", "/api/approvals"): ("/api/approvals", None, API_WORKERS),
    ("GET", "/api/approvals/{request_id}"): ("/api/approvals/{request}", None, API_WORKERS),
    ("POST", "/api/approvals/{request_id}/approve"): ("/api/approvals/{request}/approve",
                                                      {"note": "fine"}, API_DECIDERS),
    ("POST", "/api/approvals/{request_id}/reject"): ("/api/approvals/{request}/reject",
                                                     {"note": ""}, API_DECIDERS),
    # customers, as the customer pages; C-1 is taken (409)
    ("GET", "/api/customers"): ("/api/customers?q=ada", None, API_WORKERS),
    ("POST", "/api/customers"): ("/api/customers", {"name": "Ada", "account_number": "C-1"},
                                 API_WORKERS),
    ("GET", "/api/customers/{customer_id}"): ("/api/customers/1", None, API_WORKERS),
    ("GET", "/api/customers/{customer_id}/cases"): ("/api/customers/1/cases", None, API_WORKERS),
    # definitions: everyone reads them; designers (and admins) upload drafts (no file: 422)
    ("GET", "/api/definitions/{definition_id}"): ("/api/definitions/{version}", None, API_ANY),
    ("GET", "/api/definitions/{definition_id}/bpmn"): ("/api/definitions/{version}/bpmn", None,
                                                       API_ANY),
    ("POST", "/api/definitions"): ("/api/definitions", {}, API_DESIGNERS),
    # what to send when opening a case: read like the definitions
    ("GET", "/api/processes/{process_id}/start-form"): ("/api/processes/dev_process/start-form",
                                                        None, API_ANY),
    # insights: supervisors and admins, as the insights pages
    ("GET", "/api/insights/versions/{definition_id}/report"): (
        "/api/insights/versions/{version}/report", None, API_DECIDERS),
    ("GET", "/api/insights/versions/{definition_id}/heatmap"): (
        "/api/insights/versions/{version}/heatmap?metric=time", None, API_DECIDERS),
    ("GET", "/api/insights/versions/{definition_id}/scorecard"): (
        "/api/insights/versions/{version}/scorecard?since=2026-03-01", None, API_DECIDERS),
}


def _routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers (HEAD aside; a mount as GET)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        for method in (route.methods or {"GET"}) - {"HEAD"}:
            found.add((method, route.path))
    return found


def _klass(answer) -> str:
    if answer.status_code == 401 or (answer.is_redirect and answer.headers["location"]
                                     .startswith("/login?next=")):
        return "l"
    return {403: "f", 404: "n"}.get(answer.status_code, "x" if answer.status_code >= 500 else "o")


class World:
    """The app, a signed-in client per caller, and the ids the table's addresses use."""

    def __init__(self, tmp_path):

        url = fresh_sqlite(tmp_path / 'matrix.sqlite3')
        self.app = create_app(Settings(database_url=url, secret_key="x" * 40,
                                       attachment_dir=tmp_path / "attachments"))
        self.ids: dict[str, object] = {}
        with Session(self.app.state.engine, expire_on_commit=False) as s:
            self._people(s)
            self._cases(s)
            self.names = {role: (u.id, u.username) for role, u in self.users.items()}
        self.clients = {role: self._client(role) for role in ROLES}

    def _people(self, s) -> None:
        for name in ("deviations.bpmn", "scripts.bpmn", "external_tasks.bpmn"):
            deploy_file(s, (DATA / name).read_bytes(), filename=name, actor="designer", now=T0,
                        activate=True)
        draft = deploy_file(s, (DATA / "parallel.bpmn").read_bytes(), filename="parallel.bpmn",
                            actor="designer", now=T0)
        self.ids["draft"] = draft.versions[0].id
        from cases.definition_files import Library, store_supporting_files

        dmn = DATA / "camunda_set" / "credit_limit.dmn"
        assert store_supporting_files(s, [(dmn.name, dmn.read_bytes())], actor="designer",
                                      now=T0) == []
        self.ids["file"] = Library.stored(s).rows[("dmn", "Decision_CreditLimit")].id
        self.users = {
            "agent": create_user(s, username="agent", password=PASSWORD, role="agent", now=T0,
                                 teams=["Customer Care"]),
            "other_agent": create_user(s, username="billing", password=PASSWORD, role="agent",
                                       now=T0, teams=["Billing"]),
            "supervisor": create_user(s, username="sup", password=PASSWORD, role="supervisor",
                                      now=T0, teams=["Supervisors"]),
            "designer": create_user(s, username="des", password=PASSWORD, role="designer", now=T0),
            "admin": create_user(s, username="root", password=PASSWORD, role="admin", now=T0),
        }
        s.commit()
        _, self.token = issue_token(s, user=self.users["agent"], name="CRM", now=T0)

    def _cases(self, s) -> None:
        from cases import deviation_service
        from cases.case_service import complete_step, open_case
        from cases.customers import create_customer
        from cases.errors import Conflict

        agent = self.users["agent"]
        customer = create_customer(s, actor="agent", now=T0, name="Ada", account_number="C-1")
        case = open_case(s, actor=agent, now=T0, customer_id=customer.id,
                         process_id="dev_process", channel="phone")
        item = s.exec(sa.select(WorkItem).where(WorkItem.case_id == case.id)).scalars().one()
        esc = WorkItem(case_id=case.id, definition_id=case.definition_id, task_id="esc-1",
                       element_id="Capture", name="Capture order: deadline breached",
                       kind="escalation", team="Supervisors", created_at=T0)
        s.add(esc)
        s.commit()
        case2 = open_case(s, actor=agent, now=T0, customer_id=customer.id,
                          process_id="dev_process", channel="phone")
        deviation_service.cancel(s, actor=agent, now=T0, case_id=case2.id,
                                 expected_version=case2.row_version,
                                 reason_code="customer_withdrew", note="Rang to cancel")
        case3 = open_case(s, actor=agent, now=T0, customer_id=customer.id,
                          process_id="script_process", channel="phone")
        item3 = s.exec(sa.select(WorkItem).where(WorkItem.case_id == case3.id)).scalars().one()
        with pytest.raises(Conflict):  # the model's script fails: an incident on case 3
            complete_step(s, actor=agent, now=T0, case_id=case3.id, work_item_id=item3.id,
                          data={"items": "not a list", "spin": False},
                          expected_version=case3.row_version)
        from cases.approvals import ApprovalRequest
        from cases.external_tasks.models import ExternalTask
        from cases.incidents.models import Incident

        from cases.links.service import link_cases

        neighbour = create_customer(s, actor="agent", now=T0, name="Bea", account_number="C-2")
        case4 = open_case(s, actor=agent, now=T0, customer_id=neighbour.id,
                          process_id="dev_process", channel="phone")
        self.ids["link"] = link_cases(s, actor=agent, now=T0, case_id=case.id,
                                      other_case_id=case4.id, kind="related",
                                      reason="Same street, same week").id
        from cases.search.filters import save_filter

        self.ids["filter"] = save_filter(s, actor=agent, now=T0, name="Team",
                                         query="view=team").id
        self._webhooks(s)
        self._attachment_and_notification(s, case, agent)
        self._calendars(s)
        open_case(s, actor=agent, now=T0, customer_id=customer.id, process_id="external_tasks",
                  channel="phone")
        self.ids["ext"] = s.exec(sa.select(ExternalTask.id)).scalars().one()

        self.ids.update(case=case.id, item=item.id, esc=esc.id, case2=case2.id,
                        version=case.definition_id,
                        request=s.exec(sa.select(ApprovalRequest.id)).scalars().one(),
                        incident=s.exec(sa.select(Incident.id)).scalars().one())

    def _attachment_and_notification(self, s, case, agent) -> None:
        import io

        from cases.attachments import service as attachments
        from cases.notifications.models import Notification
        from web.attachments import AttachmentStore

        cfg = self.app.state.settings
        row = attachments.add(s, actor=agent, now=T0, case_id=case.id,
                              source=io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="a.pdf",
                              store=AttachmentStore(cfg.attachment_dir, cfg.attachment_max_bytes))
        note = Notification(user_id=agent.id, kind="assigned", key="matrix", case_id=case.id,
                            actor="sup", created_at=T0)
        s.add(note)
        s.commit()
        self.ids.update(attachment=row.id, notification=note.id)

    def _webhooks(self, s) -> None:
        from cases.outbox.models import OutboxEvent
        from cases.webhooks.models import WebhookDelivery
        from cases.webhooks.service import add_subscription

        for name in ("webhook", "webhook2", "webhook3"):
            sub, _ = add_subscription(s, actor="root", now=T0, url="https://93.184.216.34/hook",
                                      events="*")
            self.ids[name] = sub.id
        event = s.exec(sa.select(OutboxEvent)).scalars().first()
        delivery = WebhookDelivery(subscription_id=self.ids["webhook2"], outbox_id=event.id,
                                   case_id=event.case_id, event_type=event.type, status="failed",
                                   created_at=T0, updated_at=T0)
        s.add(delivery)
        s.commit()
        self.ids["delivery"] = delivery.id

    def _calendars(self, s) -> None:
        from cases.calendars.service import save_calendar

        for name in ("calendar", "calendar2", "calendar3"):
            self.ids[name] = save_calendar(s, actor="root", now=T0, name=name, timezone="UTC",
                                           hours={"mon": ("08:00", "18:00")}).id

    def _client(self, role: str) -> TestClient:
        client = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        client.csrf = csrf_from(client.get("/login").text)
        if role == "agent_token":
            client.headers["Authorization"] = f"Bearer {self.token}"
        elif role != "anonymous":
            self.sign_in(client, self.names[role][1])
        return client

    def sign_in(self, client, username: str) -> None:
        token = csrf_from(client.get("/login").text)
        answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                             "csrf_token": token, "next": "/"})
        assert answer.status_code == 303, answer.text
        client.csrf = csrf_from(client.get("/designer").text)

    def prepare(self, path: str) -> None:
        """Leave the Customer Care step held by its agent for a release, unassigned otherwise."""
        holder = self.names["agent"][0] if path.endswith("/release") else None
        with self.app.state.engine.begin() as conn:
            conn.execute(sa.update(WorkItem).where(WorkItem.id == self.ids["item"])
                         .values(assignee_id=holder))

    def call(self, role: str, method: str, address: str, body):
        client = self.clients[role]
        with Session(self.app.state.engine) as s:
            from cases.case_models import Case

            version = s.get(Case, self.ids["case"]).row_version
        url = address.format(row_version=version, **self.ids)
        if method == "GET":
            return client.get(url)
        if method == "DELETE":
            return client.delete(url, headers={"X-CSRF-Token": client.csrf})
        if url.startswith("/api/"):
            data = {k: (v.format(row_version=version) if isinstance(v, str) else v)
                    for k, v in body.items()}
            data = {k: (int(v) if k == "expected_version" else v) for k, v in data.items()}
            send = client.put if method == "PUT" else client.post
            return send(url, json=data, headers={"X-CSRF-Token": client.csrf})
        form = {k: v.format(row_version=version) for k, v in body.items()}
        answer = client.post(url, data={**form, "csrf_token": client.csrf})
        if url == "/logout":
            client.csrf = csrf_from(client.get("/login").text)
            if role not in ("anonymous", "agent_token"):
                self.sign_in(client, self.names[role][1])
        return answer


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    for client in w.clients.values():
        client.close()
    w.app.state.engine.dispose()


def test_every_route_has_a_row_in_the_matrix(world):
    routes = _routes(world.app)
    assert sorted(routes - set(MATRIX)) == [], "give each new route its row in MATRIX"
    assert sorted(set(MATRIX) - routes) == [], "these rows name routes the app no longer has"


def test_each_caller_reaches_exactly_what_the_matrix_says(world):
    wrong = []
    for (method, _), (address, body, expected) in MATRIX.items():
        for role, want in zip(ROLES, expected.split()):
            world.prepare(address)
            answer = world.call(role, method, address, body)
            got = _klass(answer)
            if got != want:
                wrong.append(f"{method} {address} as {role}: expected {want}, got {got} "
                             f"({answer.status_code} {answer.text[:120]!r})")
    assert not wrong, "\n".join(wrong)
