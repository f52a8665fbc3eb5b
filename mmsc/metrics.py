"""Prometheus metrics: what mmsc counts, under the names an operator's dashboards use.

The engine, the interfaces and the stores call the small functions below; ``GET /metrics``
(:mod:`mmsc.operator.scrape`) writes them out in the Prometheus text format. With
``[http] workers`` above 1 every process writes its counts to files in one folder
(``PROMETHEUS_MULTIPROC_DIR``, set by ``mmsc serve`` before this module is imported, so
that prometheus-client picks its multiprocess values) and a scrape adds them up, whichever
process answers it.

``[metrics] enabled = false`` turns every function here into a no-op (:func:`enable`).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics,
    generate_latest, multiprocess,
)

from wap_push.smpp import status_name

disable_created_metrics()  # the *_created series say when a process started: noise here

#: Where the processes of one node set write their counts, when there are several.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
CONTENT_TYPE = CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry()

_ACCEPTED = Counter("mmsc_messages_accepted", "Messages accepted, by the interface they came in on "
                    "(mm1, mm7, mm4, mm3)", ["interface"], registry=REGISTRY)
_TRANSITIONS = Counter("mmsc_recipient_transitions", "Recipients that reached a state",
                       ["to"], registry=REGISTRY)
_SMS_SENT = Counter("mmsc_sms_sent", "SMS the SMSC took (push: a WAP push, text: a link SMS)",
                    ["kind"], registry=REGISTRY)
_SMS_FAILED = Counter("mmsc_sms_failed", "SMS that did not leave, by SMPP status (link: no bind)",
                      ["status"], registry=REGISTRY)
_SMS_ROUTED = Counter("mmsc_sms_routed", "SMS by SMSC route ([[smsc]] name): sent, or "
                      "skipped and sent on to another route (throttle: the SMSC throttled, link: "
                      "no bind or no answer)", ["route", "outcome"], registry=REGISTRY)
_MM7 = Counter("mmsc_mm7_requests", "MM7 requests of VASPs, by operation and MM7 status code",
               ["operation", "status"], registry=REGISTRY)
_REPORTS = Counter("mmsc_reports", "Delivery and read reports towards originators",
                   ["protocol", "outcome"], registry=REGISTRY)
_HTTP = Histogram("mmsc_http_request_duration_seconds", "HTTP requests, by route",
                  ["route"], registry=REGISTRY)
_ADAPTATION = Histogram("mmsc_adaptation_duration_seconds",
                        "Adapting one part to one device (image, audio, video)", ["kind"],
                        buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
                        registry=REGISTRY)
_TIMERS_DUE = Gauge("mmsc_timers_due", "Recipients whose timer is due: work waiting",
                    multiprocess_mode="mostrecent", registry=REGISTRY)
_STATE_ERRORS = Counter("mmsc_state_store_errors", "State store operations that failed",
                        registry=REGISTRY)
_OBJECT_ERRORS = Counter("mmsc_object_store_errors",
                         "Object store operations that failed (a missing object is not one)",
                         registry=REGISTRY)

#: MM7 operations counted by name; any other name a request carries counts as "other".
MM7_OPERATIONS = frozenset({"SubmitReq", "CancelReq", "ReplaceReq", "DeliveryReportReq",
                            "ReadReplyReq", "DeliverReq", "unknown"})

_on = True


def enable(on: bool) -> None:
    """Count (the default) or not (``[metrics] enabled = false``)."""
    global _on
    _on = on


def enabled() -> bool:
    return _on


def accepted(interface: str) -> None:
    if _on:
        _ACCEPTED.labels(interface).inc()


def reached(state: str, count: int = 1) -> None:
    if _on:
        _TRANSITIONS.labels(state).inc(count)


def sms_sent(kind: str) -> None:
    if _on:
        _SMS_SENT.labels(kind).inc()


def sms_failed(status: str) -> None:
    if _on:
        _SMS_FAILED.labels(status).inc()


def sms_routed(route: str, outcome: str) -> None:
    """One submit on one SMSC route (wap_push.routes.Router's ``on_outcome``)."""
    if _on:
        _SMS_ROUTED.labels(route, outcome).inc()


def mm7_request(operation: str, status: int) -> None:
    if _on:
        _MM7.labels(operation if operation in MM7_OPERATIONS else "other", str(status)).inc()


def report(protocol: str, outcome: str) -> None:
    if _on:
        _REPORTS.labels(protocol, outcome).inc()


def http_request(route: str, seconds: float) -> None:
    if _on:
        _HTTP.labels(route).observe(seconds)


def adapted(timings: Iterable[tuple[str, float]]) -> None:
    if _on:
        for kind, seconds in timings:
            _ADAPTATION.labels(kind).observe(seconds)


def timers_due(count: int) -> None:
    if _on:
        _TIMERS_DUE.set(count)


def state_store_error() -> None:
    if _on:
        _STATE_ERRORS.inc()


def object_store_error() -> None:
    if _on:
        _OBJECT_ERRORS.inc()


def exposition() -> bytes:
    """Every metric in the Prometheus text format: this process's, or with several processes
    the sum over all of them (their files in ``PROMETHEUS_MULTIPROC_DIR``)."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class CountingMessenger:
    """The engine's messenger (``wap_push.routes.Router``) with its SMS counted:
    ``mmsc_sms_sent_total{kind}`` per SMS the SMSC took (all its segments), and
    ``mmsc_sms_failed_total{status}`` per SMS that did not leave, by the SMPP status the
    SMSC answered, or ``link`` when it never reached the SMSC."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def connected(self) -> bool:
        return bool(self.inner.connected)

    async def send_push(self, destination: str, push_pdu: bytes) -> list[str]:
        return await self._counted("push", self.inner.send_push(destination, push_pdu))

    async def send_text(self, destination: str, text: str,
                        source: str | None = None) -> list[str]:
        return await self._counted("text", self.inner.send_text(destination, text, source))

    @staticmethod
    async def _counted(kind: str, sending: Awaitable[list[str]]) -> list[str]:
        try:
            ids = await sending
        except Exception as exc:
            status = getattr(exc, "status", None)
            sms_failed("link" if getattr(exc, "decision", None) == "link" else
                       status_name(status) if isinstance(status, int) else "error")
            raise
        sms_sent(kind)
        return ids
