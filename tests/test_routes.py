"""Several SMSC routes (wap_push/routes.py): weights, prefixes, failover on a lost bind, a
throttling or a silent SMSC, all routes down, receipts of SMSCs whose ids collide, and the
``[[smsc]]`` configuration; over real SMPP against SMSC emulators on loopback, and end to end
through ``mmsc serve``'s engine where notifications are concerned."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mmsc import metrics
from mmsc.config import Config, ConfigError, SmscConfig, SubscriberConfig, VaspConfig, load
from mmsc.message import Envelope, Message, MessagePart
from mmsc.server import Server
from wap_push.routes import RouteConfig, Router
from wap_push.smpp_client import SmppClient, SmppConfig, SmppSendError
from wap_push.sms import WAP_PUSH_PORT
from wap_push.smpp import STATUS_CODES
from wap_push.smsc import SmscEmulator

from test_loop import A, config, running

MOBILE, FIXED, UK = "+33612345678", "+33112345678", "+447700900001"


@contextlib.asynccontextmanager
async def emulators(count: int) -> AsyncIterator[list[tuple[SmscEmulator, int]]]:
    """``count`` SMSC emulators on loopback, with their ports."""
    started = []
    try:
        for _ in range(count):
            smsc = SmscEmulator()
            started.append((smsc, (await smsc.start())[1]))
        yield started
    finally:
        for smsc, _ in started:
            await smsc.close()


def route(name: str, port: int, *prefixes: str, weight: int = 1, backoff: float = 30.0,
          **smpp: float) -> RouteConfig:
    return RouteConfig(name, SmppConfig(port=port, max_rate=10_000.0, reconnect_min=0.05,
                                        reconnect_max=0.2, **smpp),
                       prefixes=prefixes, weight=weight, backoff=backoff)


@contextlib.asynccontextmanager
async def router(*routes: RouteConfig, **callbacks) -> AsyncIterator[Router]:  # type: ignore[no-untyped-def]
    r = Router(routes, **callbacks)
    assert await r.start()
    try:
        yield r
    finally:
        await r.close()


async def until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def routes_of(ids: list[str]) -> list[str]:
    return [i.partition(":")[0] for i in ids]


# -- the router alone ------------------------------------------------------------------------


async def test_weights_share_1000_sms_and_the_longest_prefix_picks_the_routes() -> None:
    """Two SMSCs serving +33 by weights 3 and 1 take 750 and 250 of 1,000 SMS, spread (never
    more than three in a row on the heavy one); +44 goes to the one route serving it."""
    async with emulators(3) as [(a, pa), (b, pb), (uk, pu)]:
        async with router(route("a", pa, "+33", weight=3), route("b", pb, "+33", weight=1),
                          route("uk", pu, "+44")) as r:
            sent = await asyncio.gather(*(r.send_text(f"+336{n:08d}", "hello")
                                          for n in range(1000)))
            to_uk = await r.send_text(UK, "hello")
    names = routes_of([i for ids in sent for i in ids])
    assert Counter(names) == {"a": 750, "b": 250}
    assert (a.submitted, b.submitted, uk.submitted) == (750, 250, 1)
    assert "aaaa" not in "".join(names)
    assert routes_of(to_uk) == ["uk"] and [s.destination for s in uk.received] == [UK]


async def test_a_longer_prefix_wins_and_the_shorter_ones_are_its_spares() -> None:
    async with emulators(3) as [(fr, pf), (mobile, pm), (spare, ps)]:
        async with router(route("fr", pf, "+33"), route("mobile", pm, "+336"),
                          route("spare", ps)) as r:
            assert routes_of(await r.send_text(MOBILE, "m")) == ["mobile"]
            assert routes_of(await r.send_text(FIXED, "f")) == ["fr"]
            assert routes_of(await r.send_text(UK, "u")) == ["spare"]
            mobile.failing = True
            await until(lambda: not r.routes[1].bound)
            assert routes_of(await r.send_text(MOBILE, "m2")) == ["fr"]  # the next rank
            fr.failing = True
            await until(lambda: not r.routes[0].bound)
            assert routes_of(await r.send_text(MOBILE, "m3")) == ["spare"]  # rank 0: any
    assert [s.text for s in mobile.received] == ["m"]
    assert [s.text for s in fr.received] == ["f", "m2"]
    assert [s.text for s in spare.received] == ["u", "m3"]


async def test_a_route_of_two_binds_spreads_its_sms_over_both() -> None:
    async with emulators(2) as [(a, pa), (b, pb)]:
        a.receipt_delay = 600.0  # no receipts: a session's PDUs are its bind and submits
        async with router(RouteConfig("a", SmppConfig(port=pa, max_rate=10_000.0), binds=2),
                          route("b", pb)) as r:
            assert [c.config.max_rate for c in r.routes[0].clients] == [5_000.0, 5_000.0]
            await asyncio.gather(*(r.send_text(MOBILE, f"{n}") for n in range(20)))
            submits = sorted(s.pdus - 1 for s in a._sessions)  # noqa: SLF001
    assert a.commands["bind_transceiver"] == 2 and submits == [5, 5]
    assert b.submitted == 10


async def test_a_number_no_route_serves_fails_for_good() -> None:
    async with emulators(2) as [(fr, pf), (uk, pu)]:
        async with router(route("fr", pf, "+33"), route("uk", pu, "+44")) as r:
            with pytest.raises(SmppSendError, match=r"no SMSC route serves \+1202") as refused:
                await r.send_text("+12025550123", "nobody")
    assert refused.value.decision == "permanent" and fr.commands["submit_sm"] == 0


async def test_a_throttling_smsc_is_skipped_for_its_backoff_then_takes_its_share_again() -> None:
    """ESME_RTHROTTLED: that SMS goes to the other SMSC at once, and so does the traffic
    while the throttling one backs off; when the back-off ends (on_bound says so) the
    traffic is shared again."""
    back = asyncio.Event()
    outcomes: list[tuple[str, str]] = []
    async with emulators(2) as [(a, pa), (b, pb)]:
        async with router(route("a", pa, backoff=3.0), route("b", pb, backoff=3.0),
                          on_bound=back.set,
                          on_outcome=lambda *o: outcomes.append(o)) as r:
            a.throttle = 0  # every submit answered 0x58
            back.clear()
            during = [i for n in range(6) for i in await r.send_text(MOBILE, f"t{n}")]
            assert a.commands["submit_sm"] == 1 and a.submitted == 0  # tried once, skipped
            assert routes_of(during) == ["b"] * 6 and r.connected
            a.throttle = None
            await asyncio.wait_for(back.wait(), 10)  # the back-off is over
            after = [i for n in range(10) for i in await r.send_text(MOBILE, f"u{n}")]
    assert Counter(routes_of(after)) == {"a": 5, "b": 5}
    assert ("a", "throttle") in outcomes and outcomes.count(("b", "sent")) == 11
    assert [s.text for s in b.received][:6] == [f"t{n}" for n in range(6)]


async def test_an_smsc_that_does_not_answer_in_time_is_skipped() -> None:
    """No submit_sm_resp within response_timeout: the SMS goes to the other SMSC now, and
    the silent one backs off (the first may still deliver it: at least once)."""
    outcomes: list[tuple[str, str]] = []
    async with emulators(2) as [(a, pa), (b, pb)]:
        a.latency = 2.0
        async with router(route("a", pa, response_timeout=0.3),
                          route("b", pb, response_timeout=0.3),
                          on_outcome=lambda *o: outcomes.append(o)) as r:
            sent = [routes_of(await r.send_text(MOBILE, f"s{n}"))[0] for n in range(3)]
            assert not r.routes[0].live(asyncio.get_running_loop().time())
    assert sent == ["b", "b", "b"] and outcomes[0] == ("a", "link")
    assert [s.text for s in b.received] == ["s0", "s1", "s2"]


async def test_one_route_keeps_the_single_smsc_behaviour() -> None:
    """One route: a throttling SMSC is retried at a lower rate (here once), then its status
    goes to the caller as it is, never "link"; ids are the SMSC's own, unqualified."""
    async with emulators(1) as [(a, pa)]:
        async with router(route("only", pa, throttle_retries=1)) as r:
            a.throttle = 0
            with pytest.raises(SmppSendError) as refused:
                await r.send_text(MOBILE, "x")
            assert refused.value.decision == "throttle" and a.commands["submit_sm"] == 2
            a.throttle = None
            assert await r.send_text(MOBILE, "y") == ["00000001"]


async def test_smsc_command_fails_throttles_and_comes_back_on_sigusr1() -> None:
    """`mmsc smsc --fail --throttle 0`: binds refused; after SIGUSR1 bound, every submit
    answered ESME_RTHROTTLED."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mmsc", "smsc", "--port", "0", "--fail", "--throttle", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        port = int(first.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
        client = SmppClient(SmppConfig(port=port, throttle_retries=0))
        with pytest.raises(SmppSendError, match="ESME_RBINDFAIL"):
            await client.start()
        await client.close()
        proc.send_signal(signal.SIGUSR1)
        assert "back up" in (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        client = SmppClient(SmppConfig(port=port, throttle_retries=0))
        await client.start()
        with pytest.raises(SmppSendError) as refused:
            await client.send_text(MOBILE, "x")
        await client.close()
    finally:
        proc.terminate()
        await proc.wait()
    assert refused.value.decision == "throttle"


# -- end to end through the engine -----------------------------------------------------------


def two_routes(tmp_path: Path, numbers: list[str], **route: object) -> Config:
    """A server with routes ``a`` and ``b`` (emulated, serving every number alike), a
    sender A and offline phones at ``numbers``, timers that do not fire during a test."""
    cfg = config(tmp_path)
    cfg.subscribers = [SubscriberConfig(A)] + [SubscriberConfig(n, behaviour="offline")
                                               for n in numbers]
    cfg.delivery.renotify_backoff = [600.0]
    cfg.delivery.fallback_after = 3600.0
    cfg.smsc_routes = [SmscConfig(name=name, port=0, reconnect_max=0.2, **route)  # type: ignore[arg-type]
                       for name in ("a", "b")]
    return cfg


def message(to: list[str]) -> Message:
    return Message(Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{n}/TYPE=PLMN" for n in to],
                            subject="routes", delivery_report=False),
                   [MessagePart.from_text("hello", content_id="txt")])


def pushes(server: Server) -> Counter[str]:
    """Notification pushes the emulated SMSCs took whole, by destination, all routes."""
    return Counter(sms.destination for smsc in server.smscs.values() for sms in smsc.received
                   if sms.ports and sms.ports[0] == WAP_PUSH_PORT)


async def recipients_in(server: Server, message_id: str, kind: str, count: int) -> list:
    """The message's recipients once ``count`` of them have an event ``kind``."""
    state = server.engine.state
    async with asyncio.timeout(20):
        while True:
            events = await state.events_of(message_id)
            if len({e.recipient_id for e in events if e.kind == kind}) >= count:
                return await state.recipients_of(message_id)
            await asyncio.sleep(0.05)


async def test_an_smsc_killed_mid_run_every_notification_goes_through_the_other_once(
        tmp_path: Path) -> None:
    numbers = [f"+3361000{n:04d}" for n in range(40)]
    cfg = two_routes(tmp_path, numbers, max_mps=25.0)  # about two seconds of pushes
    async with running(cfg) as server:
        a, b = server.smscs["a"], server.smscs["b"]
        conf = await server.handsets.handsets[A].send(message(numbers), server.handsets.http)
        await until(lambda: len(a.received) >= 3)
        await a.close()  # killed: its binds drop under the submits in flight
        rows = await recipients_in(server, conf.message_id, "notified", len(numbers))
        assert await server.readiness.down() == []  # route b is bound
        through_b = sum(1 for s in b.received if s.destination in numbers)
    assert pushes(server) == Counter(numbers)  # every one, none twice
    assert 3 <= len(a.received) < len(numbers) and through_b == len(numbers) - len(a.received)
    assert {(r.state.value, r.attempts) for r in rows} == {("notified", 1)}
    assert metrics.REGISTRY.get_sample_value("mmsc_sms_routed_total",
                                             {"route": "b", "outcome": "sent"}) >= through_b


async def test_all_routes_down_nothing_is_lost_and_all_goes_when_one_comes_back(
        tmp_path: Path) -> None:
    numbers = [f"+3362000{n:04d}" for n in range(10)]
    async with running(two_routes(tmp_path, numbers)) as server:
        a, b = server.smscs["a"], server.smscs["b"]
        a.failing = b.failing = True
        await until(lambda: not server.smpp.bound)
        assert await server.readiness.down() == ["SMSC: not bound"]
        conf = await server.handsets.handsets[A].send(message(numbers), server.handsets.http)
        parked = await recipients_in(server, conf.message_id, "notify-parked", len(numbers))
        assert {(r.state.value, r.attempts) for r in parked} == {("accepted", 0)}
        assert pushes(server) == Counter()
        b.failing = False  # one SMSC back: the parked go at once, through it
        rows = await recipients_in(server, conf.message_id, "notified", len(numbers))
    assert {(r.state.value, r.attempts) for r in rows} == {("notified", 1)}
    assert pushes(server) == Counter(numbers) and not a.received


async def test_receipts_of_two_smscs_with_the_same_ids_reach_their_own_recipients(
        tmp_path: Path) -> None:
    """Both SMSCs number their SMS from 00000001: X's push through route a is delivered,
    Y's through route b is not; each receipt lands on its own recipient."""
    x, y = "+33630000001", "+33640000002"
    cfg = two_routes(tmp_path, [x, y])
    cfg.smsc_routes[0].prefixes, cfg.smsc_routes[1].prefixes = [x], [y]
    async with running(cfg) as server:
        server.smscs["b"].undeliverable.add(y)
        conf = await server.handsets.handsets[A].send(message([x, y]), server.handsets.http)
        await recipients_in(server, conf.message_id, "push-delivered", 1)
        await recipients_in(server, conf.message_id, "push-undeliverable", 1)
        state = server.engine.state
        by_id = {r.id: r.address for r in await state.recipients_of(conf.message_id)}
        receipts = {(by_id[e.recipient_id], e.kind, e.detail["smsc_id"])
                    for e in await state.events_of(conf.message_id) if e.kind.startswith("push-")}
    assert [s.message_ids for s in server.smscs["a"].received][0] == ["00000001"]
    assert [s.message_ids for s in server.smscs["b"].received][0] == ["00000001"]
    assert {(address, kind) for address, kind, _ in receipts} == {
        (f"{x}/TYPE=PLMN", "push-delivered"), (f"{y}/TYPE=PLMN", "push-undeliverable")}
    assert {smsc_id for *_, smsc_id in receipts} == {"a:00000001", "b:00000001"}


async def test_the_demo_runs_two_smscs_with_the_handsets_split(tmp_path: Path) -> None:
    """`mmsc serve` with neither routes nor subscribers: two emulated SMSCs, each the first
    route of two demo handsets and the spare of the others; the live page names them."""
    cfg = config(tmp_path)
    cfg.subscribers = []
    async with running(cfg) as server:
        assert sorted(server.smscs) == ["smsc-a", "smsc-b"]
        first, second = "+33600000001", "+33600000002"
        await server.handsets.handsets[first].send(message([second]), server.handsets.http)
        await server.handsets.handsets[second].wait_for(lambda h: h.inbox)
        live = server.live()["sms"]
    assert [s.destination for s in server.smscs["smsc-b"].received][:1] == [second]
    assert any(line.startswith("[smsc-b] ") and second in line for line in live)


# -- configuration ---------------------------------------------------------------------------


def test_smsc_as_a_table_is_one_route_and_as_an_array_several(tmp_path: Path) -> None:
    path = tmp_path / "mmsc.toml"
    path.write_text('[smsc]\nport = 2800\nprefixes = ["+33"]\n')
    table = load(path, environ={"MMSC_SMSC_WEIGHT": "2"})
    assert [(s.name, s.port, s.prefixes, s.weight) for s in table.smscs] == [
        ("smsc", 2800, ["+33"], 2)]
    path.write_text("""
[[smsc]]
name = "orange"
mode = "smpp"
host = "10.0.0.1"
prefixes = ["+3361", "+3362"]
weight = 3
max_mps = 50
binds = 2
backoff = "1m"
data_coding = 0xF5

[[smsc]]
name = "spare"
port = 2776
""")
    routes = load(path, environ={}).smscs
    assert [(r.name, r.mode, r.host, r.prefixes, r.weight, r.max_mps, r.binds, r.backoff,
             r.data_coding) for r in routes] == [
        ("orange", "smpp", "10.0.0.1", ["+3361", "+3362"], 3, 50.0, 2, 60.0, 0xF5),
        ("spare", "emulator", "127.0.0.1", [], 1, 100.0, 1, 30.0, 0x04)]


@pytest.mark.parametrize("routes, error", [
    ('[[smsc]]\nport = 1\n', r"\[\[smsc\]\] #1: an SMSC route needs a name"),
    ('[[smsc]]\nname = "a"\nweight = 0\n', r"\[\[smsc\]\] 'a' \(#1\) weight 0 must be 1 or more"),
    ('[[smsc]]\nname = "a"\n[[smsc]]\nname = "b"\nprefixes = ["+33x"]\n',
     r"\[\[smsc\]\] 'b' \(#2\) prefixes: '\+33x' is not a number prefix"),
    ('[[smsc]]\nname = "a"\nbinds = 0\n', r"'a' \(#1\) binds 0 must be 1 or more"),
    ('[[smsc]]\nname = "a"\nbackoff = "soon"\n', r"\[\[smsc\]\] #1.backoff: 'soon' is not a"),
    ('[[smsc]]\nname = "a"\nmode = "x"\n', r"'a' \(#1\) mode 'x' is not one of"),
    ('[[smsc]]\nname = "a:b"\n', r"name 'a:b': 1 to 32 letters"),
    ('[[smsc]]\nname = "a"\nsource_ton = 300\n', r"'a' \(#1\) source_ton '300' must be auto"),
    ('[[smsc]]\nname = "a"\nweigth = 2\n', r"\[\[smsc\]\] #1: unknown setting 'weigth'"),
    ('[[smsc]]\nname = "a"\n[[smsc]]\nname = "A"\n', r"more than one route named a"),
    ('[[smsc]]\nname = "a"\nport = 2775\n[[smsc]]\nname = "b"\nport = 2775\n',
     r"more than one emulated SMSC on 127.0.0.1:2775"),
])
def test_smsc_route_errors_name_the_route_and_the_key(tmp_path: Path, routes: str,
                                                       error: str) -> None:
    path = tmp_path / "mmsc.toml"
    path.write_text(routes)
    with pytest.raises(ConfigError, match=error):
        load(path, environ={})


def test_smsc_variables_do_not_apply_to_routes(tmp_path: Path) -> None:
    path = tmp_path / "mmsc.toml"
    path.write_text('[[smsc]]\nname = "a"\n')
    with pytest.raises(ConfigError, match="MMSC_SMSC_PASSWORD: .* \\[\\[smsc\\]\\] routes"):
        load(path, environ={"MMSC_SMSC_PASSWORD": "x"})
    path.write_text('[smsc]\nweight = 0\n')
    with pytest.raises(ConfigError, match=r"\[smsc\] weight 0 must be 1 or more"):
        load(path, environ={})


async def test_a_handsets_sms_to_a_vasp_comes_over_any_route(tmp_path: Path) -> None:
    """Each route's sessions know the VASPs' numbers: a STOP that comes over route b is
    taken (ESME_ROK) and confirmed; one to a number no VASP has is refused on route a too."""
    cfg = two_routes(tmp_path, [])
    cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"])]
    async with running(cfg) as server:
        assert await server.smscs["b"].send_mo(A, "36000", "STOP") == [0]
        unknown = await server.smscs["a"].send_mo(A, "36999", "hello")
        assert unknown == [STATUS_CODES["ESME_RINVDSTADR"]]
        await server.handsets.handsets[A].wait_for(lambda h: h.texts)
        assert await server.engine.state.get_optout("acme", A) is not None
    confirmation = [sms for smsc in server.smscs.values() for sms in smsc.received
                    if sms.destination == A and not sms.ports]
    assert [sms.source for sms in confirmation] == ["36000"]
