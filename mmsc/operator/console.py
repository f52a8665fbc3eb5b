"""The web console at ``/console/`` (aiohttp, Jinja2 with autoescaping): the operator's view
of the same :class:`~mmsc.relay.operations.Operations` as the JSON API.

- ``GET /console/``: the search box (a number, a MessageID or a VASP) and the messages found,
  newest first; the login form without a session;
- ``GET /console/m/<id>``: the message: envelope, recipients with their state and route,
  the timeline as sentences, the slides as a browser shows them, the PDUs each recipient
  got, and the actions (cancel, notify again);
- ``GET /console/live``: the SMSC emulators' latest SMS, their faults, and the emulated
  handsets, when they run embedded;
- ``POST /console/login``, ``/console/logout``, ``/console/m/<id>/cancel``,
  ``/console/m/<id>/renotify/<recipient>``, ``/console/live/smsc/<name>`` (switch an
  embedded SMSC emulator's fault: failing, throttling, slow or normal).

Security: a session is a signed cookie (:mod:`.auth`), ``HttpOnly``, ``SameSite=Strict``,
limited to ``/console/``; every POST must come from this origin (its ``Origin``, or
``Referer`` when a browser sends no Origin) and, once logged in, carry the session's CSRF
token; anything else is refused with 403 and a log line. Everything a sender wrote (subject,
addresses, part names, texts) is escaped by the templates; answers carry the viewer's strict
headers (no script but ``/console/assets/console.js``, no framing), but for
``Referrer-Policy: same-origin`` (see :data:`REFERRER`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web

from mmsc.assets import asset_handler
from mmsc.relay.engine import UNAVAILABLE
from mmsc.relay.operations import Conflict, NotFound, Operations
from web_viewer.app import BROWSER, Viewer
from web_viewer.presentation import filename, inline_type, slides

from .api import secured
from .auth import SESSION_TTL, Operators

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COOKIE = "mmsc_console"
STATIC = Path(__file__).resolve().parent / "static"
_ASSETS = {"console.css": "text/css", "console.js": "text/javascript"}
MAX_FORM = 4096
#: Unlike the viewer's no-referrer: with it, browsers send ``Origin: null`` on the console's
#: own forms, and the origin check needs the real one. Nothing leaves for another origin.
REFERRER = "same-origin"
SESSION = web.RequestKey("session", str)
#: Live is what a browser can show from the embedded SMSC emulators and their handsets.
Live = Callable[[], dict[str, Any]]
#: Fault switches an embedded SMSC emulator (by route name) to a fault (KeyError, ValueError).
Fault = Callable[[str, str], None]


def see(location: str) -> web.Response:
    """303 See Other: after a form, the page to show."""
    return web.Response(status=303, headers={"Location": location})


def when(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at, UTC).strftime(
        "%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def sentence(event: dict[str, Any]) -> str:
    """One timeline event as a readable sentence (the details stay alongside, raw)."""
    d, kind = event["detail"], event["kind"]
    said = {
        "accepted": (f"routed {d.get('route')}" if event["recipient"] else
                     "accepted" + (f" from VASP {d['vasp']}" if d.get("vasp") else "")),
        "notified": (f"notified by WAP push, attempt {d.get('attempt')}: {d.get('segments', 1)}"
                     f" SMS segment(s), {d.get('octets')} octets, X-Mms-Message-Size "
                     f"{d.get('size')}"),
        "fetched": (f"fetched by \u201c{d.get('user_agent') or 'no User-Agent'}\u201d as device "
                    f"profile {d.get('profile')}, {d.get('octets')} octets"),
        "fetched-again": f"fetched again as device profile {d.get('profile')}",
        "adapted": (f"adapted for {d.get('profile')}: " + "; ".join(d.get("report", []))),
        "acknowledged": "acknowledged by the handset",
        "viewed": "web link opened: delivered",
        "fallback-sent": "link SMS sent (no confirmed fetch)",
        "deferred": "the handset deferred the retrieval",
        "cancelled": "cancelled before retrieval",
        "expired": "expired",
        "report-sent": f"report {d.get('status', '')} sent" + (f" to {d['to']}"
                                                                if d.get("to") else ""),
        "renotify-requested": "an operator asked for a new notification",
    }
    return said.get(kind) or kind.replace("-", " ")


class Console:
    """The console's handlers around the operator's view of the engine."""

    def __init__(self, operations: Operations, operators: Operators, *,
                 secure_cookie: bool = False, live: Live | None = None,
                 fault: Fault | None = None) -> None:
        self.operations = operations
        self.operators = operators
        self.secure_cookie = secure_cookie
        self.live = live
        self.fault = fault

    def app(self) -> web.Application:
        """The sub-application to mount at ``/console``."""
        app = web.Application(middlewares=[self._guard])
        env = aiohttp_jinja2.setup(
            app, loader=jinja2.PackageLoader("mmsc.operator", "templates"),
            autoescape=jinja2.select_autoescape(default=True), trim_blocks=True,
            lstrip_blocks=True, undefined=jinja2.StrictUndefined)
        env.filters["when"] = when
        env.filters["sentence"] = sentence
        env.filters["pretty"] = lambda value: json.dumps(value, ensure_ascii=False, indent=1)
        app.add_routes([
            web.get("/", self.home),
            web.get("/assets/{name}", asset_handler(STATIC, _ASSETS)),
            web.post("/login", self.login),
            web.post("/logout", self.logout),
            web.get("/live", self.live_page),
            web.post("/live/smsc/{name}", self.smsc_fault),
            web.get("/m/{id}", self.message),
            web.get("/m/{id}/media/{index}", self.media),
            web.post("/m/{id}/cancel", self.cancel),
            web.post("/m/{id}/renotify/{recipient}", self.renotify),
        ])
        return app

    # -- guard -----------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Same-origin POSTs only; a session for everything but the login and the assets;
        refusals and failures as pages with a log line; the strict headers always."""
        try:
            if request.method == "POST" and not self._same_origin(request):
                raise web.HTTPForbidden(reason="a request from another origin")
            session = request.cookies.get(COOKIE, "")
            if self.operators.session_name(session) is not None:
                request[SESSION] = session
            if SESSION in request or request.path in ("/console/", "/console/login") or \
                    request.path.startswith("/console/assets/"):
                response = await handler(request)
            else:
                response = see("/console/")
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            log.warning("console %s %s from %s: %s %s", request.method, request.path,
                        request.remote, exc.status, exc.reason)
            response = self._page(request, "error.html", {"status": exc.status,
                                                          "reason": exc.reason}, exc.status)
        except UNAVAILABLE as exc:
            log.error("console %s %s: a store cannot answer now: %s", request.method,
                      request.path, exc)
            response = self._page(request, "error.html", {
                "status": 503, "reason": "a store cannot answer now, retry later"}, 503)
        except Exception:  # noqa: BLE001 - a bug: one answer fails, not the server
            log.exception("console %s %s failed", request.method, request.path)
            response = self._page(request, "error.html", {"status": 500,
                                                          "reason": "internal error"}, 500)
        response.headers["Referrer-Policy"] = REFERRER
        return secured(response)

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        """Whether a POST comes from a page of this origin (Origin, else Referer; a browser
        sends one of them with every form; a request with neither is refused)."""
        source = request.headers.get("Origin") or request.headers.get("Referer")
        if not source or source == "null":
            return False
        parts = urlsplit(source)
        return f"{parts.scheme}://{parts.netloc}" == f"{request.scheme}://{request.host}"

    async def _form(self, request: web.Request) -> dict[str, str]:
        """A small url-encoded form, one value per field; with a session, its CSRF token
        checked (403 without it)."""
        if request.content_type != "application/x-www-form-urlencoded":
            raise web.HTTPBadRequest(reason="not a form")
        body = await request.content.read(MAX_FORM + 1)
        if len(body) > MAX_FORM:
            raise web.HTTPRequestEntityTooLarge(MAX_FORM, len(body))
        try:
            fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8"),
                                                   max_num_fields=8).items() if len(v) == 1}
        except (UnicodeDecodeError, ValueError):
            raise web.HTTPBadRequest(reason="a form that does not read") from None
        session = request.get(SESSION)
        if session is not None and fields.get("csrf") != self.operators.csrf(session):
            raise web.HTTPForbidden(reason="the form's CSRF token is missing or wrong")
        return fields

    def _page(self, request: web.Request, template: str, context: dict[str, Any],
              status: int = 200) -> web.Response:
        session = request.get(SESSION)
        return aiohttp_jinja2.render_template(template, request, {
            "operator": self.operators.session_name(session) if session else None,
            "csrf": self.operators.csrf(session) if session else "",
            "live": self.live is not None, **context}, status=status)

    # -- handlers --------------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        if SESSION not in request:
            return self._page(request, "login.html", {"failed": False})
        query = request.query.get("q", "")[:200]
        found = await self.operations.find(query)
        return self._page(request, "home.html", {"query": query, "messages": found})

    async def login(self, request: web.Request) -> web.Response:
        fields = await self._form(request)
        name, password = fields.get("name", ""), fields.get("password", "")
        if not self.operators.check(name, password):
            log.warning("console login from %s refused", request.remote)
            return self._page(request, "login.html", {"failed": True}, 401)
        log.info("console: operator %s logged in from %s", name, request.remote)
        response = see("/console/")
        response.set_cookie(COOKIE, self.operators.session(name), path="/console/",
                            httponly=True, samesite="Strict", secure=self.secure_cookie,
                            max_age=SESSION_TTL)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        await self._form(request)
        response = see("/console/")
        response.del_cookie(COOKIE, path="/console/")
        return response

    async def message(self, request: web.Request) -> web.Response:
        message_id = request.match_info["id"]
        try:
            detail = await self.operations.message(message_id)
        except NotFound:
            raise web.HTTPNotFound(reason="no such message") from None
        original, browser = await self._content(message_id)
        pdus = {}
        for r in detail["recipients"]:
            pdus[r["address"]] = await self.operations.pdus(message_id, str(r["id"]))
        return self._page(request, "message.html", {
            **detail, "slides": slides(original, browser), "pdus": pdus,
            "done": request.query.get("done", "")[:40]})

    async def _content(self, message_id: str) -> tuple[Any, Any]:
        """The message as sent, and its browser form (adapted once, as the viewer's)."""
        engine = self.operations.engine
        record = await engine.state.get_message(message_id)
        if record is None:
            raise web.HTTPNotFound(reason="no such message")
        recipients = await engine.state.recipients_of(message_id)
        original, version = await engine.versioned_original(record)
        return original, await engine.adapt(recipients[0], record, original, BROWSER, version)

    async def media(self, request: web.Request) -> web.Response:
        original, browser = await self._content(request.match_info["id"])
        text = request.match_info["index"]
        if not text.isdigit() or int(text) >= len(original.parts):
            raise web.HTTPNotFound()
        index = int(text)
        part = browser.parts[index] if index < len(browser.parts) else None
        served = inline_type(original.parts[index].media_type.split("/")[0], part)
        if part is None or served is None:
            raise web.HTTPNotFound(reason="this part is not shown inline")
        return Viewer._file(request, part.data, served, "inline", filename(part, index))

    async def cancel(self, request: web.Request) -> web.Response:
        await self._form(request)
        message_id = request.match_info["id"]
        try:
            stopped = await self.operations.cancel(message_id)
        except NotFound:
            raise web.HTTPNotFound(reason="no such message") from None
        except Conflict as exc:
            raise web.HTTPConflict(reason=str(exc)) from None
        log.info("console: %s cancelled %s (%d recipients)",
                 self.operators.session_name(request[SESSION]), message_id, stopped)
        return see(f"/console/m/{message_id}?done=cancelled")

    async def renotify(self, request: web.Request) -> web.Response:
        await self._form(request)
        message_id, which = request.match_info["id"], request.match_info["recipient"]
        try:
            await self.operations.renotify(message_id, which)
        except NotFound:
            raise web.HTTPNotFound(reason="no such recipient") from None
        except Conflict as exc:
            raise web.HTTPConflict(reason=str(exc)) from None
        return see(f"/console/m/{message_id}?done=renotified")

    async def live_page(self, request: web.Request) -> web.Response:
        if self.live is None:
            raise web.HTTPNotFound(reason="no SMSC emulator runs in this process")
        return self._page(request, "live.html", self.live())

    async def smsc_fault(self, request: web.Request) -> web.Response:
        """Switch an embedded SMSC emulator's fault, so that the demo shows failover (the
        routes skip a failing, throttling or slow SMSC and come back to it)."""
        fields = await self._form(request)
        name, fault = request.match_info["name"], fields.get("fault", "")
        if self.fault is None:
            raise web.HTTPNotFound(reason="no SMSC emulator runs in this process")
        try:
            self.fault(name, fault)
        except KeyError:
            raise web.HTTPNotFound(reason="no such SMSC emulator") from None
        except ValueError as exc:
            raise web.HTTPBadRequest(reason=str(exc)) from None
        log.info("console: %s switched SMSC emulator %s to %s",
                 self.operators.session_name(request[SESSION]), name, fault)
        return see("/console/live")
