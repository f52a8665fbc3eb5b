"""Composition: builds every part from the configuration and runs them in one event loop.

HTTP (MM1 at ``/mms`` and ``/m/``, the web viewer at ``/v/``, liveness at ``/healthz`` and
readiness at ``/readyz``), SMTP for MM4 and MM3 when ``[mm4] domain`` is set, the relay
engine's scheduler, the SMPP clients of the SMSC routes, and, for the routes in emulator
mode, the SMSC emulators with the emulated handsets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from pathlib import Path

from aiohttp import web

from adaptation.ffmpeg import Ffmpeg
from adaptation.profile_fetch import ProfileFetcher
from adaptation.uaprof import DeviceProfile, ProfileError, parse_profile

from wap_push.routes import RouteConfig, Router
from wap_push.senders import ALPHANUMERIC, LONG_NUMBER, SHORT_CODE, sender_kind
from wap_push.smpp_client import SmppConfig
from wap_push.smsc import FAULTS, SmscEmulator

from mmsc.config import DEMO_SUBSCRIBERS, Config, SmscConfig, demo_routes
from mmsc.emulator.handsets import EmulatedHandset, HandsetNetwork, describe_sms
from mmsc.http_limits import BODY_LIMITS, BodyLimits, LimitedSite, client_gone
from mmsc import metrics
from mmsc.metrics import CountingMessenger
from mmsc.mm1.server import Mm1
from mmsc.mm4.client import Peer, SmtpRelay
from mmsc.mm4.server import Mm4Listener
from mmsc.mm7.auth import basic_authorization, hash_password
from mmsc.mm7.client import VaspReporter, split_credentials
from mmsc.mm7.server import Mm7
from mmsc.operator.api import Api
from mmsc.operator.auth import Operators
from mmsc.operator.console import Console
from mmsc.operator.scrape import Scrape, timed
from mmsc.readiness import Readiness
from mmsc.relay.accept import recover
from mmsc.relay.cdr import CdrWriter
from mmsc.relay.core import Advertising
from mmsc.relay.engine import Engine, Settings
from mmsc.relay.links import Links
from mmsc.relay.operations import Operations
from mmsc.state import StateStore, Subscriber, VaspRecord
from mmsc.state.location import open_store
from mmsc.store import FilesystemStore, ObjectNotFound, ObjectStore, S3Store
from web_viewer.app import Viewer

log = logging.getLogger(__name__)


#: The project's device profiles, named by file stem (``[[subscriber]] profile = "..."``).
PROFILES = Path(__file__).resolve().parent.parent / "fixtures" / "uaprof"


def load_profiles(folder: Path) -> dict[str, DeviceProfile]:
    """Every readable ``*.rdf`` of ``folder`` by name (an unreadable one is logged, skipped)."""
    profiles = {}
    for path in sorted(folder.glob("*.rdf")):
        try:
            profiles[path.stem] = parse_profile(path.read_bytes(), path.stem)
        except ProfileError as exc:
            log.warning("device profile %s skipped: %s", path, exc)
    return profiles


def report_credentials(config: Config) -> dict[str, str]:
    """The HTTP Basic ``Authorization`` towards each VASP's report_url that takes one, by
    VASP id; kept in memory only (the state store holds the URL without credentials)."""
    credentials = {}
    for vasp in config.vasps:
        in_url = split_credentials(vasp.report_url)[1]
        if vasp.report_username:
            credentials[vasp.id] = basic_authorization(vasp.report_username,
                                                       vasp.report_password)
        elif in_url is not None:
            credentials[vasp.id] = in_url
    return credentials


def smtp_relay(config: Config, state: StateStore) -> SmtpRelay | None:
    """What sends MM4 and MM3, when either is configured."""
    if not (config.mm4.domain or config.mm3.smarthost):
        return None
    return SmtpRelay(state, domain=config.mm4.domain or config.mm3.domain,
                     smarthost=config.mm3.smarthost, mm3_domain=config.mm3.domain, peers=[
                         Peer(p.name, p.domain.lower(), tuple(p.prefixes), p.host, p.port,
                              p.tls, tuple(p.allow)) for p in config.peers])


def advertising(config: Config) -> Advertising:
    """``[advertising]`` for the engine; a warning for each VASP whose messages cannot say
    how to opt out (no short code among its senders: an alphanumeric sender ID or a long
    number cannot take a STOP here)."""
    ad = config.advertising
    for vasp in config.vasps:
        if vasp.allowed_senders and SHORT_CODE not in map(sender_kind, vasp.allowed_senders):
            log.warning("VASP %s has no short code among its senders (%s): its Advertisement "
                        "messages cannot say how to opt out, and no STOP can reach it",
                        vasp.id, ", ".join(vasp.allowed_senders))
    return Advertising(
        stop_words=tuple(ad.stop_words), start_words=tuple(ad.start_words),
        stop_confirmation=ad.stop_confirmation, start_confirmation=ad.start_confirmation,
        optout_notice=ad.optout_notice, sender_mps={
            SHORT_CODE: ad.short_code_mps, LONG_NUMBER: ad.long_number_mps,
            ALPHANUMERIC: ad.alphanumeric_mps})


def object_store(config: Config) -> ObjectStore:
    s = config.storage
    if s.backend == "s3":
        return S3Store(s.endpoint, s.access_key, s.secret_key, s.bucket, secure=s.secure,
                       timeout=s.timeout)
    return FilesystemStore(s.path, timeout=s.timeout)


def routes_to_run(config: Config) -> list[SmscConfig]:
    """The SMSC routes to run: the configured ones, or the demo's two emulated SMSCs when
    the configuration names neither routes nor subscribers in emulator mode."""
    if not config.smsc_routes and not config.subscribers and config.smsc.mode == "emulator":
        return demo_routes(config.smsc)
    return config.smscs


def route_config(smsc: SmscConfig, host: str, port: int) -> RouteConfig:
    return RouteConfig(smsc.name, SmppConfig(
        host=host, port=port, system_id=smsc.system_id, password=smsc.password,
        source_addr=smsc.source_addr, max_rate=smsc.max_mps, push_data_coding=smsc.data_coding,
        reconnect_max=smsc.reconnect_max, **smsc.addressing()),
        prefixes=tuple(smsc.prefixes), weight=smsc.weight, binds=smsc.binds,
        backoff=smsc.backoff)


class Server:
    """One mmsc process. ``start()`` brings everything up; ``close()`` takes it down. A
    ``worker`` (mmsc/workers.py) is a further process of the same node set: it serves the
    same port and runs a scheduler of its own on the same stores, but leaves start-up
    recovery, the configured rows, the SMSC emulator and the emulated handsets to the
    first process."""

    def __init__(self, config: Config, *, worker: bool = False) -> None:
        self.config = config
        self.worker = worker
        self.smsc: SmscEmulator | None = None  # the first emulated SMSC
        self.smsc_port = 0
        self.smscs: dict[str, SmscEmulator] = {}  # every emulated SMSC, by route name
        self.smsc_ports: dict[str, int] = {}  # and the port each listens on
        self.handsets: HandsetNetwork | None = None
        self.smpp: Router | None = None
        self.engine: Engine | None = None
        self.readiness: Readiness | None = None
        self.url = ""
        self.port = 0
        self.mm4_port = 0
        self._runner: web.AppRunner | None = None
        self._scheduler: asyncio.Task | None = None
        self._tasks: list[asyncio.Task] = []
        self._closers: list = []

    async def start(self) -> None:
        config = self.config
        objects = object_store(config)
        try:
            state = await open_store(config.state.url, pool_size=config.state.pool_size,
                                     connect_timeout=config.state.connect_timeout)
        except BaseException:
            await objects.close()
            raise
        self._closers += [state.close, objects.close]
        routes = routes_to_run(config)
        emulated = any(r.mode == "emulator" for r in routes)
        subscribers = config.subscribers or (DEMO_SUBSCRIBERS if emulated else [])
        if not self.worker:  # a worker starts while the first process's writes are in flight
            await recover(objects, state, now=time.time())
            for sub in subscribers:
                await state.put_subscriber(Subscriber(sub.msisdn, sub.mms, sub.profile, None,
                                                      time.time()))
            for vasp in config.vasps:
                await state.put_vasp(VaspRecord(
                    vasp.id, vasp.id, hash_password(vasp.password), tuple(vasp.allowed_senders),
                    vasp.rate_limit or None, vasp.namespace or None, vasp.version or None,
                    split_credentials(vasp.report_url)[0] or None))
        targets = []
        for route in routes:
            host, port = route.host, route.port
            if route.mode == "emulator":
                emulator = self.smscs[route.name] = SmscEmulator()
                host, port = await emulator.start(host, port)
                self.smsc_ports[route.name] = port
                self._closers.append(emulator.close)
                if self.smsc is None:
                    self.smsc, self.smsc_port = emulator, port
            targets.append(route_config(route, host, port))
        self.smpp = smpp = Router(targets, on_outcome=metrics.sms_routed)
        where = ", ".join(f"{t.name} {t.smpp.host}:{t.smpp.port}" for t in targets)
        d, a = config.delivery, config.adaptation
        reporter = VaspReporter(state, credentials=report_credentials(config))
        self._closers.append(reporter.close)
        metrics.enable(config.metrics.enabled)
        relay = smtp_relay(config, state)
        self.engine = Engine(objects, state, CountingMessenger(smpp), reporter=reporter,
                             mailer=relay, settings=Settings(
            public_url=config.public_url, default_expiry=d.default_expiry,
            renotify_backoff=tuple(d.renotify_backoff), fallback_after=d.fallback_after,
            claim_lease=d.claim_lease, local_prefixes=tuple(config.routing.local_prefixes),
            mm4_prefixes=relay.prefixes if relay else (),
            report_backoff=tuple(d.report_backoff), content_cache=d.content_cache,
            profiles=load_profiles(Path(a.profiles or PROFILES)),
            link_ttl=config.viewer.link_ttl, link_pin=config.viewer.pin,
            profile_fetcher=ProfileFetcher(a.profile_hosts, self._cached(objects), objects.put,
                                           timeout=a.profile_timeout),
            ffmpeg=Ffmpeg(a.ffmpeg, a.ffmpeg_timeout, a.ffmpeg_threads),
            adaptation_workers=a.workers, sending_hours=config.advertising.hours(),
            default_classes={v.id: v.default_class for v in config.vasps if v.default_class},
            advertising=advertising(config)))
        self.smpp.on_bound = self.engine.link_up
        state.on_due(self.engine.wake.set)  # work another node made due: a pass now
        self.smpp.on_receipt = self.engine.receipts.on_receipt  # set before the first bind
        self.smpp.on_message = self.engine.on_mo_sms  # handsets' SMS to VASPs' numbers
        self.smpp.serves = frozenset(s for v in config.vasps for s in v.allowed_senders
                                     if sender_kind(s) != ALPHANUMERIC).__contains__
        if not await self.smpp.start(retry=True):  # an SMSC outage must not stop MM1 and MM7
            log.warning("SMSC %s not bound: mmsc starts anyway and accepts messages; their "
                        "SMS wait and go as soon as a bind succeeds (tried every %.0f s at most)",
                        where, max(r.reconnect_max for r in routes))
        self._closers.append(self.smpp.close)
        self._closers.append(self.engine.receipts.close)
        mm1 = Mm1(self.engine, max_message_size=d.max_message_size,
                  msisdn_header=config.http.msisdn_header,
                  trusted_proxies=config.http.trusted_proxies, open_mm1=config.http.open_mm1)
        h = config.http
        app = web.Application(client_max_size=d.max_message_size + 64 * 1024,
                              middlewares=[client_gone, *([timed] if metrics.enabled() else [])])
        app[BODY_LIMITS] = BodyLimits(idle=h.read_timeout, total=h.body_timeout)
        mm7 = Mm7(self.engine, state, path=config.mm7.path, max_message_size=d.max_message_size)
        self.readiness = Readiness(objects, state, lambda: smpp.bound)
        app.add_routes([*mm1.routes(), *mm7.routes(), web.get("/healthz", self.healthz),
                        web.get("/readyz", self.readyz)])
        if metrics.enabled():
            app.add_routes(Scrape(state, config.metrics.allow).routes())
        viewer = Viewer(self.engine, Links(state, max_attempts=config.viewer.pin_attempts),
                        secure_cookie=config.public_url.startswith("https:"))
        app.add_subapp("/v", viewer.app())
        operators = Operators({o.name: o.password for o in config.operators})
        if operators:
            operations = Operations(self.engine)
            app.add_subapp("/api/v1", Api(operations, operators).app())
            app.add_subapp("/console", Console(
                operations, operators, secure_cookie=config.public_url.startswith("https:"),
                live=self.live if self.smscs else None,
                fault=self.set_fault if self.smscs else None).app())
        # lingering: after an answer given before its body was read (401, 408, 413), the rest
        # of that body is read and dropped for at most read_timeout, then the connection closes
        self._runner = web.AppRunner(app, access_log=None, keepalive_timeout=h.header_timeout,
                                     lingering_time=h.read_timeout)
        await self._runner.setup()
        site = LimitedSite(self._runner, h.host, h.port, per_client=h.max_connections_per_client,
                           exempt=h.trusted_proxies, reuse_port=h.workers > 1 or None)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://{config.http.host}:{self.port}"
        if not config.http.public_url:
            self.engine.settings.public_url = self.url
        if self.smsc is not None:
            self.handsets = HandsetNetwork(self.smsc, [
                EmulatedHandset(sub.msisdn, sub.behaviour, self.url, config.http.msisdn_header)
                for sub in subscribers])
            for emulator in self.smscs.values():
                if emulator is not self.smsc:
                    self.handsets.listen(emulator)
        if relay is not None and config.mm4.domain:
            mm4 = Mm4Listener(self.engine, relay, domain=config.mm4.domain,
                              mm3_domain=config.mm3.domain,
                              max_message_size=config.mm4.max_message_size)
            self.mm4_port = await mm4.start(config.mm4.host, config.mm4.port)
            self._closers.append(mm4.close)
            log.info("mmsc serving MM4 and MM3 over SMTP at %s:%s for %s", config.mm4.host,
                     self.mm4_port, config.mm4.domain)
        self._scheduler = asyncio.create_task(self.engine.run(d.scheduler_interval))
        if config.cdr.path:
            writer = CdrWriter(state, config.cdr.path, owner=self.engine.settings.node,
                               lease=d.claim_lease)
            self._tasks.append(asyncio.create_task(writer.run(d.scheduler_interval)))
        log.info("mmsc serving MM1 at %s/mms (content at %s/m/...), SMSC routes %s (%s)",
                 self.url, self.engine.settings.public_url, where,
                 "emulated" if emulated else "smpp")

    def live(self) -> dict[str, Any]:
        """What the console's live page shows: the latest SMS of the SMSC emulators, newest
        first, each with the route it came through, and the emulated handsets with what each
        got."""
        received = sorted(((sms.at, name, sms) for name, emulator in self.smscs.items()
                           for sms in list(emulator.received)[-100:]),
                          key=lambda item: item[0])[-100:]
        handsets = self.handsets.handsets.values() if self.handsets is not None else []
        return {"smscs": [{"name": name, "port": self.smsc_ports[name], "fault": emulator.fault,
                           "binds": emulator.sessions} for name, emulator in self.smscs.items()],
                "faults": FAULTS,
                "sms": [f"[{name}] {describe_sms(sms)}" for _, name, sms in reversed(received)],
                "handsets": [{"msisdn": h.msisdn, "behaviour": h.behaviour,
                              "notifications": len(h.notifications), "inbox": len(h.inbox),
                              "reports": len(h.reports), "texts": len(h.texts)}
                             for h in handsets]}

    def set_fault(self, name: str, fault: str) -> None:
        """Switch the embedded SMSC emulator ``name`` to ``fault`` (one of FAULTS), from the
        console's live page: the demo's way to watch failover. KeyError, ValueError."""
        self.smscs[name].fault = fault

    async def healthz(self, request: web.Request) -> web.Response:
        """200 and this process's node name (which process of several answered)."""
        assert self.engine is not None
        return web.Response(text=f"ok {self.engine.settings.node}\n")

    async def readyz(self, request: web.Request) -> web.Response:
        """200 when the stores answer and the SMSC is bound; 503 naming what is down, one
        part a line (see :mod:`mmsc.readiness`)."""
        assert self.engine is not None and self.readiness is not None
        down = await self.readiness.down()
        if down:
            return web.Response(status=503, text="".join(f"{line}\n" for line in down))
        return web.Response(text=f"ready {self.engine.settings.node}\n")

    @staticmethod
    def _cached(objects: ObjectStore):  # type: ignore[no-untyped-def]
        """A cache read over the object store: the octets, or None when absent."""
        async def get(key: str) -> bytes | None:
            try:
                return await objects.get(key)
            except ObjectNotFound:
                return None
        return get

    async def close(self) -> None:
        if self._scheduler is not None:
            self._scheduler.cancel()
        for task in self._tasks:
            task.cancel()
        if self.handsets is not None:
            await self.handsets.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.engine is not None:  # the repeated fetches counted since the last pass
            try:
                await self.engine.flush_refetches()
            except Exception:  # noqa: BLE001 - counts only; the stores close regardless
                log.warning("repeated fetches not counted: the state store did not take them")
        for close in reversed(self._closers):
            try:
                await close()
            except Exception:  # noqa: BLE001 - close the rest regardless
                log.exception("closing %s failed", close)
