"""The web viewer (aiohttp, Jinja2 templates through aiohttp-jinja2): the page a link SMS
points to, mounted at ``/v/``.

``GET /v/<token>`` shows the message as its SMIL slides (``?slide=N`` picks one: the slide
links work without JavaScript; ``viewer.js`` switches slides in place and plays them for their
durations), asking first for the PIN when the link has one. ``POST /v/<token>/pin`` checks it
and sets a cookie for this link only. ``GET /v/<token>/media/<n>`` serves part *n* in the form
browsers play (inline types only); ``GET /v/<token>/part/<n>`` serves part *n* as it was sent,
always as an attachment. The rules (which token opens, PIN attempts, the ``viewed`` delivery)
are the relay's (``mmsc.relay.links``, ``Engine.viewed``); this module parses and answers.

Every answer carries a strict Content-Security-Policy (nothing but this origin's own styles,
script, images and media), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
no-referrer`` and ``Cache-Control: private, no-store``. A token that does not open, for
whatever reason, gets one page (404), sent no sooner than :data:`GONE_AFTER` after the request
came in, so neither its words nor its timing tell unknown, expired and withdrawn apart.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from adaptation.uaprof import parse_profile
from mmsc.assets import asset_handler
from mmsc.message import Message
from mmsc.relay.engine import UNAVAILABLE, ContentLost, Engine
from mmsc.relay.links import Link, Links, PinCheck, session_value, token_digest
from mmsc.relay.notices import plmn_number

from .i18n import Words, negotiate
from .presentation import downloads, filename, inline_type, slides

log = logging.getLogger(__name__)

#: How soon at the earliest the answer for a link that does not open is sent.
GONE_AFTER = 0.05
#: The largest PIN form accepted, in octets.
MAX_FORM = 1024
COOKIE = "mmsc_view"
CSP = ("default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'; "
       "script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
#: Parts are never documents: even opened directly, they can run nothing.
PART_CSP = "default-src 'none'; sandbox"
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cache-Control": "private, no-store", "X-Frame-Options": "DENY"}
_BYTES = re.compile(r"bytes=(\d{0,15})-(\d{0,15})")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_PIN = re.compile(r"\d{4,12}")
STATIC = Path(__file__).resolve().parent / "static"
_ASSETS = {"viewer.css": "text/css", "viewer.js": "text/javascript"}
#: What a current web browser plays inline (``browser.rdf``, a UAProf document shipped with
#: the viewer): AMR, 3GP and WBMP are not in it, so adaptation converts or replaces them.
BROWSER = parse_profile((Path(__file__).resolve().parent / "browser.rdf").read_bytes(),
                        "browser")

STARTED = web.RequestKey("started", float)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Viewer:
    """The viewer's handlers around one engine. Media are adapted for :data:`BROWSER`, the
    device profile of web browsers, once per message."""

    def __init__(self, engine: Engine, links: Links, *, secure_cookie: bool = False) -> None:
        self.engine = engine
        self.links = links
        self.secure_cookie = secure_cookie

    def app(self) -> web.Application:
        """The sub-application to mount at ``/v/``."""
        app = web.Application(middlewares=[self._guard])
        aiohttp_jinja2.setup(app, loader=jinja2.PackageLoader("web_viewer", "templates"),
                             autoescape=jinja2.select_autoescape(default=True),
                             trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
        app.add_routes([
            web.get("/assets/{name}", asset_handler(STATIC, _ASSETS)),
            web.get("/{token}", self.page),
            web.post("/{token}/pin", self.pin),
            web.get("/{token}/media/{index}", self.media),
            web.get("/{token}/part/{index}", self.part),
            web.route("*", "/{tail:.*}", self.nothing),
        ])
        return app

    # -- answers ---------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Security headers on every answer; refusals as plain pages, each with a log line."""
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            log.warning("viewer %s %s from %s: %s %s", request.method, where(request),
                        request.remote, exc.status, exc.reason)
            response = self._render(request, "error.html", {}, status=exc.status)
            for name in ("Content-Range", "Allow"):
                if name in exc.headers:
                    response.headers[name] = exc.headers[name]
        except ContentLost:  # logged by the engine, which ended the delivery
            response = await self._gone(request, "its content is lost")
        except UNAVAILABLE as exc:
            log.error("viewer %s %s from %s: a store cannot answer now: %s", request.method,
                      where(request), request.remote, exc)
            response = self._render(request, "error.html", {}, status=503)
            response.headers["Retry-After"] = "30"
        except Exception:  # noqa: BLE001 - a bug: one answer fails, not the server
            log.exception("viewer %s %s from %s failed", request.method, where(request),
                          request.remote)
            response = self._render(request, "error.html", {}, status=500)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["Vary"] = "Accept-Language, Cookie"
        return response

    def _words(self, request: web.Request) -> Words:
        return Words(negotiate(request.headers.get("Accept-Language")))

    def _render(self, request: web.Request, template: str, context: dict, *,
                status: int = 200) -> web.Response:
        words = self._words(request)
        return aiohttp_jinja2.render_template(
            template, request, {"t": words, "lang": words.language, **context}, status=status)

    async def _gone(self, request: web.Request, why: str) -> web.Response:
        """The one answer for a link that does not open."""
        started = request[STARTED]
        log.info("viewer %s from %s: link does not open (%s)", where(request), request.remote,
                 why)
        await asyncio.sleep(max(0.0, started + GONE_AFTER - time.monotonic()))
        return self._render(request, "gone.html", {}, status=404)

    async def _open(self, request: web.Request) -> tuple[str, Link | None]:
        request[STARTED] = time.monotonic()
        token = request.match_info["token"]
        if not _TOKEN.fullmatch(token):
            return token, None
        return token, await self.links.open(token, now=self.engine.clock())

    async def _open_unlocked(self, request: web.Request,
                             why: str) -> tuple[str, Link] | web.Response:
        """The token and its link; or the answer for a link that does not open (``why`` is
        logged), or for one locked by too many wrong PINs."""
        token, link = await self._open(request)
        if link is None:
            return await self._gone(request, why)
        if link.locked:
            return self._render(request, "locked.html", {}, status=403)
        return token, link

    def _admitted(self, link: Link, token: str, request: web.Request) -> bool:
        return not link.locked and self.links.has_session(link, token, request.cookies.get(COOKIE))

    async def _content(self, link: Link) -> tuple[Message, Message]:
        """The message as sent, and its browser form (adapted once, then from the store)."""
        original, version = await self.engine.versioned_original(link.message)
        return original, await self.engine.adapt(link.recipient, link.message, original,
                                                 BROWSER, version)

    # -- handlers --------------------------------------------------------------------------------

    async def nothing(self, request: web.Request) -> web.Response:
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
        request[STARTED] = time.monotonic()
        return await self._gone(request, "no such page")

    async def page(self, request: web.Request) -> web.Response:
        opened = await self._open_unlocked(request, "unknown, expired or withdrawn")
        if isinstance(opened, web.Response):
            return opened
        token, link = opened
        if not self._admitted(link, token, request):
            return self._render(request, "pin.html", {"token": token, "error": None,
                                                      "left": None})
        original, browser = await self._content(link)
        views = slides(original, browser)
        try:
            current = min(max(int(request.query.get("slide", "1")), 1), max(len(views), 1))
        except ValueError:
            raise web.HTTPBadRequest(reason="slide is not a number") from None
        if "slide" not in request.query and request.method == "GET":  # opening the link (not
            # moving between slides, not a HEAD probe)
            await self.engine.viewed(link.recipient, link.message)
        message = link.message
        sent = message.date or message.created_at
        sender = plmn_number(message.originator) or message.originator
        log.info("viewer: %s opened by %s (slide %d)", message.id, request.remote, current)
        return self._render(request, "message.html", {
            "token": token, "sender": sender, "subject": message.subject,
            "sent": sent, "sent_iso": datetime.fromtimestamp(sent, timezone.utc).isoformat(),
            "slides": views, "current": current,
            "downloads": downloads(original), "optout": await self.engine.optout_notice(message)})

    async def pin(self, request: web.Request) -> web.Response:
        opened = await self._open_unlocked(request, "PIN for a link that does not open")
        if isinstance(opened, web.Response):
            return opened
        token, link = opened
        pin = await self._form_pin(request)
        if pin is None:
            log.warning("viewer: malformed PIN form from %s", request.remote)
            return self._render(request, "pin.html", {"token": token, "error": "pin_malformed",
                                                      "left": None}, status=400)
        outcome, left = await self.links.check_pin(link, token, pin, now=self.engine.clock())
        if outcome is PinCheck.LOCKED:
            log.warning("viewer: link of %s locked after wrong PINs (from %s)",
                        link.message.id, request.remote)
            return self._render(request, "locked.html", {}, status=403)
        if outcome is PinCheck.WRONG:
            log.warning("viewer: wrong PIN for a link of %s from %s, %d left", link.message.id,
                        request.remote, left)
            return self._render(request, "pin.html", {"token": token, "error": "pin_wrong",
                                                      "left": left}, status=403)
        response = web.Response(status=303, headers={"Location": f"/v/{token}"})
        expires = link.recipient.viewer_expires_at or self.engine.clock()
        response.set_cookie(COOKIE, session_value(token, link.recipient.viewer_pin or ""),
                            path=f"/v/{token}", httponly=True, samesite="Strict",
                            secure=self.secure_cookie,
                            max_age=max(1, int(expires - self.engine.clock())))
        return response

    async def _form_pin(self, request: web.Request) -> str | None:
        """The ``pin`` field of a small url-encoded form, or None (HTTP 413 when too big)."""
        if request.content_type != "application/x-www-form-urlencoded":
            return None
        if (request.content_length or 0) > MAX_FORM:
            raise web.HTTPRequestEntityTooLarge(MAX_FORM, request.content_length or 0)
        body = await request.content.read(MAX_FORM + 1)
        if len(body) > MAX_FORM:
            raise web.HTTPRequestEntityTooLarge(MAX_FORM, len(body))
        try:
            fields = parse_qs(body.decode("ascii"), strict_parsing=True, max_num_fields=4)
        except (UnicodeDecodeError, ValueError):
            return None
        values = fields.get("pin", [])
        return values[0].strip() if len(values) == 1 and _PIN.fullmatch(values[0].strip()) \
            else None

    async def _part_index(self, request: web.Request, message: Message) -> int:
        text = request.match_info["index"]
        if not text.isdigit() or int(text) >= len(message.parts):
            raise web.HTTPNotFound()
        return int(text)

    async def _admitted_part(self, request: web.Request, what: str,
                             ) -> tuple[Message, Message, int] | web.Response:
        """For a part's media or download: the message as sent, its browser form and the
        part's index; or the answer for a link that does not open. 403 before the PIN."""
        token, link = await self._open(request)
        if link is None:
            return await self._gone(request, f"{what} of a link that does not open")
        if not self._admitted(link, token, request):
            raise web.HTTPForbidden(reason="the PIN is needed first")
        original, browser = await self._content(link)
        return original, browser, await self._part_index(request, original)

    async def media(self, request: web.Request) -> web.Response:
        """Part *n* in its browser form, inline, when that form is an inline type."""
        found = await self._admitted_part(request, "media")
        if isinstance(found, web.Response):
            return found
        original, browser, index = found
        kind = original.parts[index].media_type.split("/")[0]
        part = browser.parts[index] if index < len(browser.parts) else None
        served = inline_type(kind, part)
        if part is None or served is None:
            raise web.HTTPNotFound(reason="this part is not shown inline")
        return self._file(request, part.data, served, "inline", filename(part, index))

    async def part(self, request: web.Request) -> web.Response:
        """Part *n* as it was sent, as an attachment."""
        found = await self._admitted_part(request, "part")
        if isinstance(found, web.Response):
            return found
        original, _, index = found
        part = original.parts[index]
        media = part.media_type if "/" in part.media_type else "application/octet-stream"
        return self._file(request, part.data, media, "attachment", filename(part, index),
                          charset=part.charset if part.is_text else None)

    @staticmethod
    def _file(request: web.Request, data: bytes, media_type: str, disposition: str, name: str,
              charset: str | None = None) -> web.Response:
        """A part with its real type and a Content-Disposition (RFC 6266, with the RFC 8187
        ``filename*``), never a document that could run script; one byte range when asked
        (RFC 9110 §14, what audio and video elements send to seek)."""
        wanted = byte_range(request.headers.get("Range"), len(data))
        if wanted is None:
            raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range":
                                                              f"bytes */{len(data)}"})
        first, last = wanted
        whole = (first, last) == (0, len(data) - 1) or not data
        response = web.Response(body=data if whole else data[first:last + 1],
                                status=200 if whole else 206, content_type=media_type,
                                charset=charset)
        if not whole:
            response.headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        response.headers["Accept-Ranges"] = "bytes"
        plain = name.encode("ascii", "replace").decode().replace("?", "_")
        response.headers["Content-Disposition"] = (
            f'{disposition}; filename="{plain}"; filename*=UTF-8\'\'{quote(name)}')
        response.headers["Content-Security-Policy"] = PART_CSP
        return response


def where(request: web.Request) -> str:
    """The request's path for a log line, with the token replaced by the start of its digest:
    a token in a log would open the link to whoever reads the log."""
    segments = request.path.split("/", 3)
    if len(segments) > 2 and segments[2] and segments[2] != "assets":
        segments[2] = f"<{token_digest(segments[2])[:12]}>"
    return "/".join(segments)[:200]


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last octet to send for a ``Range`` header (RFC 9110 §14.1.2): the whole
    body when there is none or it is not one simple byte range (a server may ignore those),
    None when it cannot be satisfied."""
    whole = (0, max(size - 1, 0))
    match = _BYTES.fullmatch((header or "").strip())
    if match is None or match.groups() == ("", ""):
        return whole
    start, end = match.groups()
    if not start:  # the last N octets
        return (max(size - int(end), 0), size - 1) if int(end) > 0 and size else None
    first = int(start)
    if end and int(end) < first:  # not a valid range: ignored
        return whole
    if first >= size:
        return None
    return first, min(int(end), size - 1) if end else size - 1
