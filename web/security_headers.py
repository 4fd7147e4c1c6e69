"""Security headers on every response: a strict Content-Security-Policy and its companions.

Pages load scripts and styles only from /static; there is no inline script, no inline event
handler and no inline style attribute in any template (data goes to scripts as JSON in
`<script type="application/json">` islands or data- attributes). The vendored libraries set
styles through the CSSOM (`element.style.x = ...`), which a policy without 'unsafe-inline'
allows; bpmn-js's icon font is embedded in its CSS as a data: URL, hence `font-src data:`.

FastAPI's interactive API documentation is a page FastAPI writes, with Swagger UI from its CDN
and one inline script that starts it; only those pages get a policy that allows the CDN and the
exact inline scripts they carry (by hash).
"""
from __future__ import annotations

import base64
import hashlib
import re

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])
DOCS_CDN = "https://cdn.jsdelivr.net"
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_csp(body: bytes) -> str:
    """The policy of an API documentation page: its CDN, and its own inline scripts by hash."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'"
                      for s in _INLINE_SCRIPT.findall(body))
    return "; ".join([
        "default-src 'none'",
        f"script-src {DOCS_CDN} {hashes}".rstrip(),
        f"style-src {DOCS_CDN}",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    ])


class SecurityHeaders:
    """ASGI middleware adding the policy and the other security headers to every response."""

    def __init__(self, app, docs_paths: tuple[str, ...] = (), hsts: bool = False):
        self.app, self.docs_paths = app, tuple(p for p in docs_paths if p)
        # Only behind HTTPS (secure cookies): a browser would refuse plain HTTP for a year.
        self.extra = [(b"strict-transport-security", b"max-age=31536000")] if hsts else []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.docs_paths:
            await self._docs(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = _merged(message.get("headers") or [], CSP) + self.extra
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _docs(self, scope, receive, send):
        # A small page FastAPI renders in one piece: hold it to hash its inline scripts.
        start, body = None, b""

        async def held(message):
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                start["headers"] = _merged(start.get("headers") or [], docs_csp(body)) + self.extra
                await send(start)
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, held)


def _merged(headers, csp: str) -> list[tuple[bytes, bytes]]:
    ours = COMMON + [(b"content-security-policy", csp.encode())]
    names = {name for name, _ in ours}
    return [(k, v) for k, v in headers if k.lower() not in names] + ours
