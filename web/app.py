"""The composition root: `create_app(settings)` builds the whole web application."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy.exc as sa_exc
from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from cases.db import make_engine
from cases.errors import CaseError
from cases.jobs import executor as jobs_executor
from cases.settings import Settings
from engine.clock import utcnow
from engine.errors import ScriptFailed

from . import (admin_calendars, admin_webhooks, api, api_calendars, api_customers,
               api_definitions, api_events, api_external, api_filters, api_findwork, api_insights,
               api_links, api_webhooks, api_work, attachments, designer, designer_files,
               designer_modeler, incidents, insights, notifications, ops, pages, refusals, work, work_bulk,
               work_search)
from .hot_routes import HotRoutes
from .security import LoginRequired, csrf_token
from .security_headers import SecurityHeaders
from .work_common import register_filters

HERE = Path(__file__).resolve().parent


def create_app(settings: Settings) -> FastAPI:
    """Build the app from settings: database engine, templates, routes, middleware."""
    app = FastAPI(title="Caseflow", docs_url="/api/docs", openapi_url="/api/openapi.json",
                  lifespan=_lifespan)
    app.state.settings = settings
    app.state.clock = utcnow  # sign-in sessions read the time here (tests move it by hand)
    app.state.engine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                                   pool_overflow=settings.db_pool_overflow)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["csrf_token"] = csrf_token
    register_filters(templates)  # every page may use them, whichever router renders it
    attachments.register(templates)
    notifications.register(templates)  # the bell's count in base.html
    app.state.templates = templates
    # Innermost: the two hot API routes skip FastAPI's routing, inside every other middleware.
    app.add_middleware(HotRoutes)
    app.add_middleware(BodyLimit, max_bytes=max(settings.max_upload_bytes,
                                                settings.attachment_max_bytes) + BODY_OVERHEAD)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, same_site="lax",
                       https_only=settings.secure_cookies, max_age=settings.session_max_age,
                       session_cookie="caseflow_session")
    app.add_middleware(SecurityHeaders, docs_paths=(app.docs_url, app.swagger_ui_oauth2_redirect_url,
                                                    app.redoc_url), hsts=settings.secure_cookies)
    # The JSON API first: FastAPI tries routes one by one (twice per request), and the API's hot
    # routes (GET a case, complete a step) should not be tried after a hundred page routes. No
    # page route can match an /api/ address, so the order between the two sets changes nothing
    # else (nor the OpenAPI document, which lists only the API, in the same order).
    app.include_router(api_findwork.router, prefix="/api")  # /api/cases/search before /api/cases/{id}
    app.include_router(api.router, prefix="/api")
    app.include_router(api_events.router, prefix="/api")
    app.include_router(api_webhooks.router, prefix="/api")
    app.include_router(api_external.router, prefix="/api")
    app.include_router(attachments.api_router, prefix="/api")
    app.include_router(notifications.api_router, prefix="/api")
    app.include_router(api_links.router, prefix="/api")
    app.include_router(api_filters.router, prefix="/api")
    app.include_router(api_calendars.router, prefix="/api")
    for router in (api_work.router, api_customers.router, api_definitions.router,
                   api_insights.router):
        app.include_router(router, prefix="/api")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(work_search.router)  # /work/search, /work/next before /work's own routes
    app.include_router(work_bulk.router)
    app.include_router(work.router)
    app.include_router(designer.router)
    app.include_router(designer_modeler.router)
    app.include_router(designer_files.router)
    app.include_router(insights.router)
    app.include_router(incidents.router)
    app.include_router(admin_webhooks.router)
    app.include_router(attachments.router)
    app.include_router(notifications.router)
    app.include_router(admin_calendars.router)
    _add_error_handlers(app)
    ops.install(app)  # request ids, request log, /metrics, /api/ready (web/ops)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI):
    """Run the job executor beside the web app unless the settings turn it off."""
    # Requests do their database work in worker threads, one connection each: no more threads
    # at once than the pool keeps connections, so a burst waits here, in order, instead of
    # opening (and closing) a connection per extra request, each a new PostgreSQL backend
    # without the prepared statements of the others (cases/settings.py, db_pool_size).
    to_thread.current_default_thread_limiter().total_tokens = app.state.settings.db_pool_size
    executor = None
    if app.state.settings.run_jobs:
        executor = jobs_executor.from_settings(app.state.engine, app.state.settings)
        executor.start(poll=app.state.settings.job_poll_seconds)
    app.state.executor = executor
    try:
        yield
    finally:
        if executor is not None:
            executor.stop()


BODY_OVERHEAD = 256 * 1024  # form fields and multipart framing around the largest allowed file


class _TooLarge(Exception):
    """The body streamed in so far is already larger than the limit."""


class BodyLimit:
    """Refuse a request whose body is larger than any upload Caseflow accepts (413).

    A declared Content-Length is checked before anything reads the body; a body sent without one
    (chunked) is counted as it streams in and refused as soon as it passes the limit, so it is
    never buffered whole. Routes still check the exact file size with their own message.
    """

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received, too_large, started = 0, False, False

        async def counted_receive():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        async def watched_send(message):
            # The route may turn the failed read into its own error (FastAPI answers 400 for a
            # body it could not read): once the body was too large, send the 413 instead of it.
            nonlocal started
            if too_large:
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._refuse(scope, receive, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope, receive, send):
        limit = f"{self.max_bytes / 1024 / 1024:.1f} MB"
        message = f"The request is larger than {limit}, the most Caseflow accepts."
        if scope["path"].startswith("/api/"):
            response = JSONResponse({"detail": message}, status_code=413)
        else:
            response = HTMLResponse(f"<!doctype html><title>Too large</title><p>{message}</p>"
                                    "<p><a href=\"/\">Back to Caseflow</a></p>", status_code=413)
        await response(scope, receive, send)


def _add_error_handlers(app: FastAPI) -> None:
    """Answer every refusal as a 4xx the caller can read (web/refusals.py); never a 500 for input."""
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        if request.url.path.startswith("/api/"):
            return refusals.api_refusal(401, "Sign in first, or send an API token.")
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return refusals.invalid_request(request, exc.errors())

    @app.exception_handler(StarletteHTTPException)  # also FastAPI's, and unknown addresses
    async def _http(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/"):
            return refusals.api_refusal(exc.status_code, exc.detail, exc.headers)
        return refusals.page_refusal(request, exc.status_code, exc.detail)

    app.add_exception_handler(CaseError, refusals.case_error)
    app.add_exception_handler(ScriptFailed, refusals.script_failed)
    app.add_exception_handler(sa_exc.DataError, refusals.data_error)


def app_from_env() -> FastAPI:
    """Factory for uvicorn: settings from CASEFLOW_* environment variables."""
    return create_app(Settings())


__all__ = ["create_app", "app_from_env", "HTMLResponse"]
