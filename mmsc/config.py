"""Configuration: one TOML file plus ``MMSC_<SECTION>_<KEY>`` environment overrides.

Every setting has a default here and a row in the README's configuration table. Durations
are seconds or text with a unit (``90s``, ``30m``, ``6h``, ``3d``); sizes are octets or text
with a unit (``300KB``, ``1MB``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from wap_push.senders import sender_kind

from mmsc import loops, state_url
from mmsc.pdu import MessageClass
from mmsc.relay import hours

BEHAVIOURS = ("auto", "defer", "never-ack", "offline", "legacy")


class ConfigError(ValueError):
    """A setting that cannot be used, with the file or variable it came from."""


@dataclass
class HttpConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""  # default: http://<host>:<port>
    trusted_proxies: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    msisdn_header: str = "X-MSISDN"
    open_mm1: bool = False  # a lab: believe the From of a PDU no trusted header names
    workers: int = 1  # processes serving the port (mmsc/workers.py)
    header_timeout: float = 10.0  # to send a request head (and idle between requests)
    read_timeout: float = 15.0  # without an octet of a request body
    body_timeout: float = 120.0  # to send a whole request body
    max_connections_per_client: int = 32  # per client address; 0: no limit; proxies exempt
    event_loop: str = "asyncio"  # | "uvloop" | "auto" (uvloop when installed)


@dataclass
class StorageConfig:
    backend: str = "fs"  # "fs" | "s3"
    path: str = "./data/objects"
    endpoint: str = "127.0.0.1:9000"
    bucket: str = "mmsc"
    access_key: str = ""
    secret_key: str = ""
    secure: bool = False
    timeout: float = 5.0  # one object read or write, retries included; then "retry later"


@dataclass
class StateConfig:
    url: str = "sqlite:///./data/mmsc.db"  # or postgresql://USER:PASSWORD@HOST:PORT/DBNAME
    pool_size: int = 10  # PostgreSQL connections of one process
    connect_timeout: float = 30.0  # how long a start waits for PostgreSQL, then exit 2


@dataclass
class SmscConfig:
    """One SMSC route: the ``[smsc]`` table, or one of the ``[[smsc]]`` tables."""

    name: str = "smsc"  # in logs, metrics and the qualified SMSC message ids of several
    mode: str = "emulator"  # "emulator" | "smpp"
    host: str = "127.0.0.1"
    port: int = 2775  # the emulator listens here; in smpp mode, the SMSC's port
    system_id: str = "mmsc"
    password: str = ""
    max_mps: float = 100.0
    data_coding: int = 0x04
    source_addr: str = "MMSC"
    reconnect_max: float = 10.0  # longest wait between two binds while the SMSC is away
    prefixes: list[str] = field(default_factory=list)  # numbers it serves; empty: any
    weight: int = 1  # its share among the routes that serve a number as well
    binds: int = 1  # SMPP sessions; max_mps is the route's, shared among them
    backoff: float = 30.0  # a throttling, silent or unbound route is skipped this long
    # TON and NPI of the addresses of every submit_sm: "auto" (by the address, as
    # wap_push.smpp.ADDRESS_RULES says) or a number the SMSC wants instead
    source_ton: str = "auto"
    source_npi: str = "auto"
    dest_ton: str = "auto"
    dest_npi: str = "auto"

    def addressing(self) -> dict[str, int | None]:
        """The four TON and NPI settings as SmppConfig takes them (None: by the rules)."""
        return {key: None if getattr(self, key) == "auto" else int(getattr(self, key))
                for key in _ADDRESSING}


_ADDRESSING = ("source_ton", "source_npi", "dest_ton", "dest_npi")


@dataclass
class DeliveryConfig:
    default_expiry: float = 3 * 86400.0
    renotify_backoff: list[float] = field(default_factory=lambda: [60.0, 300.0, 1800.0, 7200.0])
    fallback_after: float = 6 * 3600.0
    max_message_size: int = 600 * 1024
    scheduler_interval: float = 1.0
    claim_lease: float = 120.0
    report_backoff: list[float] = field(
        default_factory=lambda: [10.0, 60.0, 300.0, 1800.0, 3600.0])
    content_cache: int = 32 * 1024 * 1024


@dataclass
class RoutingConfig:
    local_prefixes: list[str] = field(default_factory=list)  # empty: every number is local


@dataclass
class AdaptationConfig:
    profile_hosts: list[str] = field(default_factory=list)  # empty: never fetch x-wap-profile
    profile_timeout: float = 3.0
    profiles: str = ""  # folder of device profiles (*.rdf); empty: fixtures/uaprof
    ffmpeg: str = ""  # empty: the ffmpeg that imageio-ffmpeg ships
    ffmpeg_timeout: float = 120.0
    ffmpeg_threads: int = 2
    workers: int = 2  # adaptations at once; more wait their turn


@dataclass
class Mm7Config:
    path: str = "/mm7"


@dataclass
class Mm4Config:
    host: str = "127.0.0.1"
    port: int = 2525
    domain: str = ""  # this MMSC's MM4 domain; empty: no MM4 (no listener, no peers)
    max_message_size: int = 2 * 1024 * 1024  # announced in SMTP SIZE, larger refused (552)


@dataclass
class Mm3Config:
    smarthost: str = ""  # host:port where e-mail to e-mail addresses goes; empty: none
    domain: str = ""  # domain of subscribers' e-mail addresses; empty: [mm4] domain


@dataclass
class PeerConfig:
    name: str
    domain: str = ""  # the peer's MM4 domain
    prefixes: list[str] = field(default_factory=list)  # numbers it serves
    host: str = "127.0.0.1"
    port: int = 25
    tls: bool = False  # STARTTLS when the peer offers it
    allow: list[str] = field(default_factory=list)  # addresses it may connect from; empty: any


@dataclass
class ViewerConfig:
    link_ttl: float = 3 * 86400.0  # never beyond the message's expiry
    pin: bool = False
    pin_attempts: int = 3


@dataclass
class MetricsConfig:
    enabled: bool = True  # false: no /metrics, nothing counted
    allow: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])  # who may scrape


@dataclass
class CdrConfig:
    path: str = "./data/cdr"  # folder of the daily cdr-YYYY-MM-DD.csv; empty: none written


#: The levels ``[log] level`` takes, as the logging module names them.
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass
class LogConfig:
    level: str = "info"  # one of LOG_LEVELS: "warning" leaves out a line per step

    @property
    def number(self) -> int:
        """The level as the logging module numbers it."""
        return logging.getLevelName(self.level.upper())  # type: ignore[no-any-return]


@dataclass
class AdvertisingConfig:
    """The rules of marketing messages (MessageClass Advertisement): sending hours,
    opt-out keywords and texts, senders' SMS rates."""

    window: str = "10:00-20:00"  # local sending hours; the end is not allowed
    timezone: str = "Europe/Paris"  # IANA name
    days: list[str] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri", "sat"])
    holidays: str = "FR"  # country code of the public holidays; "": none
    stop_words: list[str] = field(default_factory=lambda: [
        "STOP", "QUIT", "OPT-OUT", "UNSUBSCRIBE", "CANCEL", "ARRET"])
    start_words: list[str] = field(default_factory=lambda: ["START"])
    stop_confirmation: str = ("You will get no more advertising from {short_code}. "
                              "Send START to {short_code} to get it again.")
    start_confirmation: str = "You will get advertising from {short_code} again."
    optout_notice: str = "STOP au {short_code}"  # in every Advertisement's link SMS and page
    short_code_mps: float = 100.0  # SMS a second for a message from a short code
    long_number_mps: float = 10.0
    alphanumeric_mps: float = 10.0

    def hours(self) -> hours.SendingHours:
        """The sending hours as :mod:`mmsc.relay.hours` applies them; ConfigError naming the
        setting that cannot be used."""
        try:
            return hours.parse(self.window, self.timezone, self.days, self.holidays)
        except hours.HoursError as exc:
            raise ConfigError(f"[advertising] {exc}") from None


@dataclass
class OperatorConfig:
    name: str
    password: str = ""


@dataclass
class VaspConfig:
    id: str
    password: str = ""
    allowed_senders: list[str] = field(default_factory=list)  # empty: any sender
    rate_limit: float = 0.0  # submits per second; 0: no limit
    namespace: str = ""  # for requests mmsc sends (reports); empty: REL-6-MM7-1-4
    version: str = ""  # MM7Version of those requests; empty: 6.8.0
    report_url: str = ""  # where DeliveryReportReq and ReadReplyReq go
    report_username: str = ""  # HTTP Basic towards report_url; empty: none (or the URL's)
    report_password: str = ""
    default_class: str = ""  # MessageClass of its submits that carry none; "": none


@dataclass
class SubscriberConfig:
    msisdn: str
    mms: bool = True
    profile: str | None = None
    behaviour: str = "auto"


@dataclass
class Config:
    http: HttpConfig = field(default_factory=HttpConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    state: StateConfig = field(default_factory=StateConfig)
    smsc: SmscConfig = field(default_factory=SmscConfig)
    smsc_routes: list[SmscConfig] = field(default_factory=list)  # [[smsc]]; empty: [smsc]
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    mm7: Mm7Config = field(default_factory=Mm7Config)
    adaptation: AdaptationConfig = field(default_factory=AdaptationConfig)
    viewer: ViewerConfig = field(default_factory=ViewerConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    cdr: CdrConfig = field(default_factory=CdrConfig)
    log: LogConfig = field(default_factory=LogConfig)
    mm4: Mm4Config = field(default_factory=Mm4Config)
    mm3: Mm3Config = field(default_factory=Mm3Config)
    advertising: AdvertisingConfig = field(default_factory=AdvertisingConfig)
    vasps: list[VaspConfig] = field(default_factory=list)
    operators: list[OperatorConfig] = field(default_factory=list)
    peers: list[PeerConfig] = field(default_factory=list)
    subscribers: list[SubscriberConfig] = field(default_factory=list)

    @property
    def smscs(self) -> list[SmscConfig]:
        """The SMSC routes: the ``[[smsc]]`` tables, else the ``[smsc]`` table alone."""
        return self.smsc_routes or [self.smsc]

    @property
    def public_url(self) -> str:
        return (self.http.public_url or f"http://{self.http.host}:{self.http.port}").rstrip("/")

    @property
    def state_location(self) -> tuple[str, str]:
        """``("sqlite", path)`` or ``("postgresql", url)`` of ``[state] url``."""
        try:
            return state_url.parse(self.state.url)
        except ValueError as exc:  # names the scheme only: a database URL may carry a password
            raise ConfigError(f"[state] url: {exc}") from None


#: The emulated subscribers ``mmsc serve`` starts with when the config names none.
DEMO_SUBSCRIBERS = [
    SubscriberConfig("+33600000001", behaviour="auto"),
    SubscriberConfig("+33600000002", behaviour="auto"),
    SubscriberConfig("+33600000003", behaviour="never-ack"),
    SubscriberConfig("+33600000004", mms=False, behaviour="legacy"),
]


def demo_routes(smsc: SmscConfig) -> list[SmscConfig]:
    """The two emulated SMSCs of the demo (``mmsc serve`` in emulator mode with neither
    ``[[smsc]]`` nor ``[[subscriber]]``), on ``[smsc] port`` and the next one: each serves
    two of :data:`DEMO_SUBSCRIBERS` first, and any other number as the other's spare."""
    return [dataclasses.replace(smsc, name=name, port=smsc.port + offset if smsc.port else 0,
                                prefixes=[*(s.msisdn for s in DEMO_SUBSCRIBERS[first::2]), "+"])
            for offset, (name, first) in enumerate((("smsc-a", 0), ("smsc-b", 1)))]


_SECTIONS = {"http": HttpConfig, "storage": StorageConfig, "state": StateConfig,
             "smsc": SmscConfig, "delivery": DeliveryConfig, "routing": RoutingConfig,
             "mm7": Mm7Config, "adaptation": AdaptationConfig,
             "viewer": ViewerConfig, "metrics": MetricsConfig, "cdr": CdrConfig,
             "mm4": Mm4Config, "mm3": Mm3Config, "advertising": AdvertisingConfig,
             "log": LogConfig}
_DURATIONS = {"default_expiry", "fallback_after", "scheduler_interval", "renotify_backoff",
              "claim_lease", "report_backoff", "profile_timeout", "ffmpeg_timeout",
              "link_ttl", "header_timeout", "read_timeout", "body_timeout", "reconnect_max",
              "timeout", "connect_timeout", "backoff"}
_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_SIZES = {"": 1, "b": 1, "kb": 1024, "mb": 1024 * 1024}


def duration(value: Any, where: str) -> float:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"6h"`` or ``"3d"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", str(value).lower())
    if not match or match.group(2) not in _UNITS:
        raise ConfigError(f"{where}: {value!r} is not a duration (like 90s, 30m, 6h, 3d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def size(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", str(value).lower())
    if not match or match.group(2) not in _SIZES:
        raise ConfigError(f"{where}: {value!r} is not a size (like 300KB or 1MB)")
    return int(match.group(1)) * _SIZES[match.group(2)]


def _coerce(name: str, kind: Any, value: Any, where: str) -> Any:
    """A TOML or environment value as the field's type."""
    text = isinstance(value, str)
    if name in _DURATIONS:
        if name in ("renotify_backoff", "report_backoff"):
            items = value.split(",") if text else value
            return [duration(v, where) for v in items]
        return duration(value, where)
    if name in ("max_message_size", "content_cache"):
        return size(value, where)
    if kind in ("bool", bool):
        if text and value.lower() in ("1", "true", "yes", "on"):
            return True
        if text and value.lower() in ("0", "false", "no", "off"):
            return False
        if isinstance(value, bool):
            return value
    elif kind in ("int", int):
        try:
            return int(value, 0) if text else int(value)
        except (TypeError, ValueError):
            pass
    elif kind in ("float", float):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    elif kind == "list[str]":
        return [v.strip() for v in value.split(",") if v.strip()] if text else list(value)
    else:
        return str(value)
    raise ConfigError(f"{where}: {value!r} is not a {kind}")


def _apply(section: Any, values: Mapping[str, Any], where: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(section)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"{where}: unknown setting {key!r} (known: {', '.join(fields)})")
        setattr(section, key, _coerce(key, fields[key].type, value, f"{where}.{key}"))


def _subscriber(entry: Mapping[str, Any], where: str) -> SubscriberConfig:
    if "msisdn" not in entry:
        raise ConfigError(f"{where}: a subscriber needs an msisdn")
    sub = SubscriberConfig(str(entry["msisdn"]))
    _apply(sub, {k: v for k, v in entry.items() if k != "msisdn"}, where)
    if sub.behaviour not in BEHAVIOURS:
        raise ConfigError(f"{where}.behaviour: {sub.behaviour!r} is not one of {BEHAVIOURS}")
    if sub.behaviour == "legacy":
        sub.mms = False
    return sub


def _vasp(entry: Mapping[str, Any], where: str) -> VaspConfig:
    if not entry.get("id") or not entry.get("password"):
        raise ConfigError(f"{where}: a VASP needs an id and a password")
    vasp = VaspConfig(str(entry["id"]))
    _apply(vasp, {k: v for k, v in entry.items() if k != "id"}, where)
    for sender in vasp.allowed_senders:
        try:
            sender_kind(sender)
        except ValueError as exc:
            raise ConfigError(f"{where} (VASP {vasp.id!r}).allowed_senders: {sender!r} is not a "
                              f"short code, a long number or a sender ID: {exc}") from None
    if vasp.report_password and not vasp.report_username:
        raise ConfigError(f"{where}: report_password needs a report_username")
    if ":" in vasp.report_username:
        raise ConfigError(f"{where}.report_username: no colon in an HTTP Basic user name")
    if vasp.report_username and "@" in vasp.report_url.partition("://")[2].partition("/")[0]:
        raise ConfigError(f"{where}: credentials both in report_url and in report_username")
    if vasp.default_class:
        try:
            vasp.default_class = MessageClass.from_label(vasp.default_class).label
        except ValueError:
            raise ConfigError(f"{where}.default_class: {vasp.default_class!r} is not one of "
                              f"{', '.join(c.label for c in MessageClass)}") from None
    return vasp


def _smsc_route(entry: Mapping[str, Any], where: str) -> SmscConfig:
    if not entry.get("name"):
        raise ConfigError(f"{where}: an SMSC route needs a name")
    route = SmscConfig()
    _apply(route, entry, where)
    return route


def _check_smsc(smsc: SmscConfig, where: str) -> None:
    """The settings of one SMSC route that its type alone does not check."""
    if smsc.mode not in ("emulator", "smpp"):
        raise ConfigError(f"{where} mode {smsc.mode!r} is not one of ('emulator', 'smpp')")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", smsc.name):
        raise ConfigError(f"{where} name {smsc.name!r}: 1 to 32 letters, digits, '_', '.', '-'")
    for key in _ADDRESSING:
        value = str(getattr(smsc, key)).strip().lower()
        if value != "auto" and not (value.isdigit() and int(value) <= 255):
            raise ConfigError(f"{where} {key} {value!r} must be auto or a number from 0 to 255")
        setattr(smsc, key, value)
    for prefix in smsc.prefixes:
        if not re.fullmatch(r"\+?\d*", prefix) or not prefix:
            raise ConfigError(f"{where} prefixes: {prefix!r} is not a number prefix (+336, 336)")
    for key in ("weight", "binds"):
        if getattr(smsc, key) < 1:
            raise ConfigError(f"{where} {key} {getattr(smsc, key)} must be 1 or more")
    for key in ("max_mps", "backoff"):
        if getattr(smsc, key) <= 0:
            raise ConfigError(f"{where} {key} {getattr(smsc, key):g} must be above 0")


def _check_routes(routes: list[SmscConfig], where: str) -> None:
    """Names told apart (case aside: they qualify SMSC message ids), and no two emulated
    SMSCs on one port."""
    names = [r.name.lower() for r in routes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"{where}: more than one route named {', '.join(twice)}")
    ports = [(r.host, r.port) for r in routes if r.mode == "emulator" and r.port]
    for host, port in sorted({p for p in ports if ports.count(p) > 1}):
        raise ConfigError(f"{where}: more than one emulated SMSC on {host}:{port}")


def _operator(entry: Mapping[str, Any], where: str) -> OperatorConfig:
    if not entry.get("name") or not entry.get("password"):
        raise ConfigError(f"{where}: an operator needs a name and a password")
    operator = OperatorConfig(str(entry["name"]))
    _apply(operator, {k: v for k, v in entry.items() if k != "name"}, where)
    if ":" in operator.name:
        raise ConfigError(f"{where}.name: no colon in an HTTP Basic user name")
    return operator


def _peer(entry: Mapping[str, Any], where: str) -> PeerConfig:
    if not entry.get("name") or not entry.get("domain") or not entry.get("prefixes"):
        raise ConfigError(f"{where}: a peer needs a name, a domain and prefixes")
    peer = PeerConfig(str(entry["name"]))
    _apply(peer, {k: v for k, v in entry.items() if k != "name"}, where)
    return peer


def _check_advertising(ad: AdvertisingConfig) -> None:
    """Texts whose only placeholder is ``{short_code}``, words, rates of 0 (none) or more."""
    for key in ("stop_confirmation", "start_confirmation", "optout_notice"):
        try:
            getattr(ad, key).format(short_code="36000")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"[advertising] {key}: only {{short_code}} may be filled in "
                              f"({exc!r})") from None
    if not ad.stop_words or not ad.start_words:
        raise ConfigError("[advertising] stop_words and start_words need a word each at least")
    for key in ("short_code_mps", "long_number_mps", "alphanumeric_mps"):
        if getattr(ad, key) < 0:
            raise ConfigError(f"[advertising] {key} {getattr(ad, key):g} must be 0 or more")


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The configuration: defaults, then the TOML file (``path``, else ``./mmsc.toml`` when
    present), then ``MMSC_<SECTION>_<KEY>`` variables."""
    config = Config()
    environ = os.environ if environ is None else environ
    file = Path(path) if path is not None else Path("mmsc.toml")
    data: dict[str, Any] = {}
    if path is not None or file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{file}: {exc}") from None
    for name, values in data.items():
        if name == "vasp":
            config.vasps = [_vasp(e, f"{file} [[vasp]] #{i + 1}") for i, e in enumerate(values)]
        elif name == "operator":
            config.operators = [_operator(e, f"{file} [[operator]] #{i + 1}")
                                for i, e in enumerate(values)]
        elif name == "peer":
            config.peers = [_peer(e, f"{file} [[peer]] #{i + 1}") for i, e in enumerate(values)]
        elif name == "smsc" and isinstance(values, list):
            config.smsc_routes = [_smsc_route(e, f"{file} [[smsc]] #{i + 1}")
                                  for i, e in enumerate(values)]
        elif name == "subscriber":
            config.subscribers = [_subscriber(e, f"{file} [[subscriber]] #{i + 1}")
                                  for i, e in enumerate(values)]
        elif name in _SECTIONS and isinstance(values, dict):
            _apply(getattr(config, name), values, f"{file} [{name}]")
        else:
            raise ConfigError(f"{file}: unknown section [{name}]")
    for variable, value in environ.items():
        if not variable.startswith("MMSC_"):
            continue
        section, _, key = variable[5:].lower().partition("_")
        if section not in _SECTIONS:
            continue
        if section == "smsc" and config.smsc_routes:
            raise ConfigError(f"{variable}: MMSC_SMSC_* set the [smsc] table, and {file} has "
                              "[[smsc]] routes instead: set their keys there")
        _apply(getattr(config, section), {key: value}, variable)
    if config.storage.backend not in ("fs", "s3"):
        raise ConfigError(f"backend {config.storage.backend!r} is not one of ('fs', 's3')")
    for n, smsc in enumerate(config.smscs):
        _check_smsc(smsc, f"[[smsc]] {smsc.name!r} (#{n + 1})" if config.smsc_routes
                    else "[smsc]")
    _check_routes(config.smscs, f"{file} [[smsc]]")
    config.log.level = config.log.level.lower()
    if config.log.level not in LOG_LEVELS:
        raise ConfigError(f"[log] level {config.log.level!r} must be one of "
                          f"{', '.join(LOG_LEVELS)}")
    if config.http.event_loop not in loops.CHOICES:
        raise ConfigError(f"[http] event_loop {config.http.event_loop!r} must be one of "
                          f"{', '.join(loops.CHOICES)}")
    if config.http.workers < 1:
        raise ConfigError(f"[http] workers {config.http.workers} must be 1 or more")
    if config.storage.timeout <= 0:
        raise ConfigError(f"[storage] timeout {config.storage.timeout:g} must be above 0")
    if config.viewer.pin_attempts < 1:
        raise ConfigError(f"[viewer] pin_attempts {config.viewer.pin_attempts} must be 1 or more")
    for entry in config.metrics.allow:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"[metrics] allow: {entry!r} is not an address or network") \
                from None
    if config.peers and not config.mm4.domain:
        raise ConfigError("[[peer]] needs [mm4] domain (this MMSC's MM4 domain)")
    if config.mm3.smarthost and not (config.mm4.domain or config.mm3.domain):
        raise ConfigError("[mm3] smarthost needs [mm3] domain or [mm4] domain (the domain of "
                          "the senders' e-mail addresses)")
    if config.delivery.content_cache < 0:
        raise ConfigError(f"[delivery] content_cache {config.delivery.content_cache} must be 0 "
                          "or more")
    _check_advertising(config.advertising)
    if config.state.pool_size < 1:
        raise ConfigError(f"[state] pool_size {config.state.pool_size} must be 1 or more")
    config.advertising.hours()  # an unusable rule is a config error now, not at the first ad
    config.state_location  # noqa: B018 - an unusable [state] url is a config error now, not later
    return config
