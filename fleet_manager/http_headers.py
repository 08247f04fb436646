"""Security headers on every HTTP response of the fleet manager: the API, the web console's files and the pilot
report. A pure ASGI middleware; a header the response already carries is left as it is.

The Content-Security-Policy runs no inline script but those whose sha256 hash it names: the pilot report's two
(plotly.js and the script that draws its charts, `pilots.report_charts.script_hashes`). The console opens the
report in a new tab as a blob: URL, and a blob document keeps the policy of the page that made it (the console's),
so every response carries the same list. Styles may be inline (plotly.js writes <style> elements and style
attributes). The live feed is a same-origin websocket (connect-src ws: wss:). No page may be framed.

FastAPI's API documentation pages (Swagger UI, ReDoc) load their scripts from a CDN and start them inline: those
paths alone get `DOCS_POLICY`."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.S | re.I)
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
               "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
               "frame-ancestors 'none'")


def script_hash(text: str) -> str:
    """The CSP source of an inline script whose text (between <script> and </script>) is `text`."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def inline_script_hashes(html: str) -> list[str]:
    """The CSP sources of every inline script of the page `html`, in page order (no duplicates)."""
    return list(dict.fromkeys(script_hash(m.group(1)) for m in _SCRIPT.finditer(html)))


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    scripts = " ".join(["'self'", *script_hashes])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; "
            "connect-src 'self' ws: wss:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def security_headers(policy: str) -> list[tuple[bytes, bytes]]:
    return [(b"content-security-policy", policy.encode("ascii")),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer")]


class SecurityHeaders:
    """Adds `security_headers` to every HTTP response; `path_policies` names another policy for some paths."""

    def __init__(self, app: ASGIApp, script_hashes: Iterable[str] = (),
                 path_policies: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.headers = security_headers(content_security_policy(script_hashes))
        self.by_path = {path: security_headers(policy) for path, policy in (path_policies or {}).items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.by_path.get(scope["path"], self.headers)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
