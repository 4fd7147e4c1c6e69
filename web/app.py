"""The composition root: `create_app(settings)` builds the whole web application."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from cases.db import make_engine
from cases.settings import Settings

from . import api, designer, insights, pages, work
from .security import LoginRequired, csrf_token

HERE = Path(__file__).resolve().parent


def create_app(settings: Settings) -> FastAPI:
    """Build the app from settings: database engine, templates, routes, middleware."""
    app = FastAPI(title="Caseflow", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["csrf_token"] = csrf_token
    app.state.templates = templates
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes + BODY_OVERHEAD)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, same_site="lax",
                       https_only=settings.secure_cookies, max_age=settings.session_max_age,
                       session_cookie="caseflow_session")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(work.router)
    app.include_router(designer.router)
    app.include_router(insights.router)
    app.include_router(api.router, prefix="/api")
    _add_error_handlers(app)
    return app


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
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, exc)
        # A page address with a malformed id (/cases/abc) is a page that does not exist; a bad
        # query or form value is named with what is wrong with it.
        templates = request.app.state.templates
        errors = exc.errors()
        if all(e.get("loc", ("",))[0] == "path" for e in errors):
            status, message = 404, "No such page: check the address."
        else:
            status = 400
            message = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in errors)
        return templates.TemplateResponse(request, "error.html",
                                          {"status": status, "message": message}, status_code=status)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        templates = request.app.state.templates
        return templates.TemplateResponse(request, "error.html",
                                          {"status": exc.status_code, "message": exc.detail},
                                          status_code=exc.status_code)


def app_from_env() -> FastAPI:
    """Factory for uvicorn: settings from CASEFLOW_* environment variables."""
    return create_app(Settings())


__all__ = ["create_app", "app_from_env", "HTMLResponse"]
