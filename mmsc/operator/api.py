"""The operator's JSON API under ``/api/v1/`` (HTTP Basic as an ``[[operator]]``):

- ``GET /api/v1/messages?msisdn=&vasp=&state=&since=&limit=``: messages, newest first;
- ``GET /api/v1/messages/<id>``: envelope, parts, recipients, timeline, adapted variants;
- ``GET /api/v1/messages/<id>/pdu/<recipient>``: the M-Notification.ind and M-Retrieve.conf
  that recipient got, as ``mmsc decode --json`` shows them;
- ``POST /api/v1/messages/<id>/cancel`` and ``POST /api/v1/messages/<id>/renotify/<recipient>``
  (409 when the message or recipient is past it);
- ``GET /api/v1/stats?since=&until=``: counts per state and interface;
- ``GET /api/v1/optouts?vasp=`` (JSON) and ``GET /api/v1/optouts.csv?vasp=``: the numbers
  opted out of VASPs' advertising; ``PUT`` and ``DELETE /api/v1/optouts/<vasp>/<number>``
  opt a number out (201, or 200 when it was already) and back in (200, 404 when it was not):
  400 for a number that is not international, 404 for an unknown VASP.

Missing or wrong credentials: 401, the same answer whichever part was wrong. Every answer has
the viewer's strict headers. The work is :class:`mmsc.relay.operations.Operations`'.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from mmsc.mm7.auth import basic_credentials
from mmsc.relay.engine import UNAVAILABLE
from mmsc.relay.operations import Conflict, NotFound, Operations
from mmsc.relay.optout import describe, operator_optout, optouts_csv
from mmsc.state import RecipientState
from web_viewer.app import CSP, HEADERS

from .auth import Operators

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPERATOR = web.RequestKey("operator", str)
#: The most messages one search returns.
MAX_LIMIT = 500
DAY = 86400.0


def secured(response: web.StreamResponse) -> web.StreamResponse:
    """The viewer's strict headers (mmsc's operator pages show what senders wrote)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", CSP)
    return response


def answer(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, content_type="application/json",
                        text=json.dumps(data, ensure_ascii=False, indent=1, default=str))


def moment(text: str | None, name: str) -> float | None:
    """A time parameter: unix seconds, or ISO 8601 (without a zone: UTC)."""
    if text is None or text == "":
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise web.HTTPBadRequest(reason=f"{name}: not a time (unix seconds or ISO 8601)") \
            from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


class Api:
    """The API's handlers around the operator's view of the engine."""

    def __init__(self, operations: Operations, operators: Operators) -> None:
        self.operations = operations
        self.operators = operators

    def app(self) -> web.Application:
        """The sub-application to mount at ``/api/v1``."""
        app = web.Application(middlewares=[self._guard])
        app.add_routes([
            web.get("/messages", self.messages),
            web.get("/messages/{id}", self.message),
            web.get("/messages/{id}/pdu/{recipient}", self.pdus),
            web.post("/messages/{id}/cancel", self.cancel),
            web.post("/messages/{id}/renotify/{recipient}", self.renotify),
            web.get("/stats", self.stats),
            web.get("/optouts", self.optouts),
            web.get("/optouts.csv", self.optouts_csv),
            web.put("/optouts/{vasp}/{number}", self.optout),
            web.delete("/optouts/{vasp}/{number}", self.optout),
        ])
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Credentials first; errors as JSON with a log line; the strict headers always."""
        credentials = basic_credentials(request.headers.get("Authorization"))
        if credentials is None or not self.operators.check(*credentials):
            log.warning("operator API %s %s from %s: missing or wrong credentials",
                        request.method, request.path, request.remote)
            response = answer({"error": "credentials required"}, 401)
            response.headers["WWW-Authenticate"] = 'Basic realm="mmsc operator", charset="UTF-8"'
            return secured(response)
        request[OPERATOR] = credentials[0]
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            log.warning("operator API %s %s by %s: %s %s", request.method, request.path,
                        credentials[0], exc.status, exc.reason)
            response = answer({"error": exc.reason}, exc.status)
        except NotFound:
            response = answer({"error": "not found"}, 404)
        except Conflict as exc:
            log.info("operator API %s %s by %s refused: %s", request.method, request.path,
                     credentials[0], exc)
            response = answer({"error": str(exc)}, 409)
        except UNAVAILABLE as exc:
            log.error("operator API %s %s: a store cannot answer now: %s", request.method,
                      request.path, exc)
            response = answer({"error": "a store cannot answer now, retry later"}, 503)
        except Exception:  # noqa: BLE001 - a bug: one answer fails, not the server
            log.exception("operator API %s %s failed", request.method, request.path)
            response = answer({"error": "internal error"}, 500)
        return secured(response)

    async def messages(self, request: web.Request) -> web.Response:
        q = request.query
        state = q.get("state") or None
        if state is not None and state not in {s.value for s in RecipientState}:
            raise web.HTTPBadRequest(reason=f"state: one of {', '.join(RecipientState)}")
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            raise web.HTTPBadRequest(reason="limit: a number") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise web.HTTPBadRequest(reason=f"limit: 1 to {MAX_LIMIT}")
        found = await self.operations.search(
            msisdn=q.get("msisdn") or None, vasp=q.get("vasp") or None,
            state=RecipientState(state) if state else None,
            since=moment(q.get("since"), "since"), limit=limit)
        return answer({"messages": found})

    async def message(self, request: web.Request) -> web.Response:
        return answer(await self.operations.message(request.match_info["id"]))

    async def pdus(self, request: web.Request) -> web.Response:
        return answer(await self.operations.pdus(request.match_info["id"],
                                                 request.match_info["recipient"]))

    async def cancel(self, request: web.Request) -> web.Response:
        message_id = request.match_info["id"]
        stopped = await self.operations.cancel(message_id)
        log.info("operator %s cancelled %s: %d recipient(s) stopped", request[OPERATOR],
                 message_id, stopped)
        return answer({"cancelled": stopped})

    async def renotify(self, request: web.Request) -> web.Response:
        message_id, which = request.match_info["id"], request.match_info["recipient"]
        await self.operations.renotify(message_id, which)
        log.info("operator %s asked a new notification of %s to %s", request[OPERATOR],
                 message_id, which)
        return answer({"renotify": which}, 202)

    async def stats(self, request: web.Request) -> web.Response:
        now = self.operations.engine.clock()
        until = moment(request.query.get("until"), "until") or now
        since = moment(request.query.get("since"), "since") or until - DAY
        return answer(await self.operations.stats(since, until))

    async def optouts(self, request: web.Request) -> web.Response:
        found = await self.operations.engine.state.list_optouts(request.query.get("vasp"))
        return answer({"optouts": [describe(o) for o in found]})

    async def optouts_csv(self, request: web.Request) -> web.Response:
        found = await self.operations.engine.state.list_optouts(request.query.get("vasp"))
        return web.Response(text=optouts_csv(found), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="optouts.csv"'})

    async def optout(self, request: web.Request) -> web.Response:
        """PUT: opt the number out of the VASP's advertising; DELETE: back in."""
        vasp, number = request.match_info["vasp"], request.match_info["number"]
        out = request.method == "PUT"
        try:
            changed = await operator_optout(self.operations.engine.state, vasp, number,
                                            now=self.operations.engine.clock(), out=out)
        except ValueError as exc:
            raise web.HTTPBadRequest(reason=str(exc)) from None
        except LookupError:
            raise NotFound(vasp) from None
        if not out and not changed:
            raise NotFound(number)
        log.info("operator %s opted %s %s of VASP %s", request[OPERATOR], number,
                 "out" if out else "back in", vasp)
        return answer({"vasp": vasp, "number": number, "optout": out},
                      201 if out and changed else 200)
