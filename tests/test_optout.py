"""Opt-out (issue 18.5) and sender limits (18.6): the keywords, the state store's opt-out
list on SQLite and PostgreSQL, the report's StatusText; end to end over SMPP further down."""

from __future__ import annotations

import pytest

from mmsc.state import (
    Interface, MessageRecord, OptOut, RecipientRecord, RecipientState, Route,
)
from mmsc.state.location import open_store

S = RecipientState


@pytest.fixture
async def store(state_url: str):  # type: ignore[no-untyped-def]
    s = await open_store(state_url)
    yield s
    await s.close()


async def test_optout_list_in_the_state_store(store) -> None:  # type: ignore[no-untyped-def]
    assert await store.add_optout(OptOut("acme", "+33600000001", 1000.0, "sms"))
    assert not await store.add_optout(OptOut("acme", "+33600000001", 2000.0, "operator"))
    assert await store.add_optout(OptOut("acme", "+33600000002", 1500.0, "operator"))
    assert await store.add_optout(OptOut("beta", "+33600000001", 1600.0, "mms"))
    assert await store.get_optout("acme", "+33600000001") == \
        OptOut("acme", "+33600000001", 1000.0, "sms")
    assert await store.get_optout("acme", "+33600000009") is None
    assert [(o.vasp_id, o.address) for o in await store.list_optouts()] == [
        ("acme", "+33600000001"), ("acme", "+33600000002"), ("beta", "+33600000001")]
    assert [o.address for o in await store.list_optouts("beta")] == ["+33600000001"]
    assert await store.remove_optout("acme", "+33600000001")
    assert not await store.remove_optout("acme", "+33600000001")
    assert await store.get_optout("acme", "+33600000001") is None


async def test_a_report_carries_its_status_text(store) -> None:  # type: ignore[no-untyped-def]
    record = MessageRecord(id="m1", interface=Interface.MM7, originator="36000",
                           object_key="messages/m1/original.mime", size=1, created_at=1000.0,
                           delivery_report=True, vasp_id="acme")
    [r] = await store.accept_message(record, [RecipientRecord(
        None, "m1", "+33600000001/TYPE=PLMN", "to", Route.MMS, S.ACCEPTED,
        next_attempt_at=1000.0, updated_at=1000.0)])
    assert await store.transition(r.id, expected=(S.ACCEPTED,), to=S.REJECTED, now=1001.0,
                                  report=("delivery", "Rejected", "opted out"))
    [report] = await store.claim_reports(now=1002.0, limit=5, lease=60.0)
    assert (report.status, report.status_text) == ("Rejected", "opted out")


# -- end to end: handsets, the SMSC emulator over real SMPP, the server, a VASP endpoint ------

import asyncio  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import aiohttp  # noqa: E402

from mmsc.config import Config, VaspConfig  # noqa: E402
from mmsc.message import MessagePart  # noqa: E402
from mmsc.server import Server  # noqa: E402
from wap_push.smpp import STATUS_CODES  # noqa: E402

from test_loop import A, D, config, picture  # noqa: E402
from test_mm7 import VaspEndpoint, call, envelope, soap_with_attachments, submit_body  # noqa: E402

STOP_CONFIRMED = "You will get no more advertising from 36000."
START_CONFIRMED = "You will get advertising from 36000 again."


def any_hour(cfg: Config) -> Config:
    """Advertising at any hour: these tests are about opt-out, not the sending hours."""
    cfg.advertising.window, cfg.advertising.holidays = "00:00-24:00", ""
    cfg.advertising.days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return cfg


async def start(tmp_path: Path, vasp: VaspEndpoint) -> Server:
    cfg = config(tmp_path)
    cfg.vasps = [VaspConfig("acme", "s3cret", ["36000", "ACME"], report_url=vasp.url)]
    server = Server(any_hour(cfg))
    await server.start()
    return server


async def submit(server: Server, to: str, message_class: str, tid: str) -> str:
    """A VASP's SubmitReq from ACME (its alphanumeric sender) with a delivery report asked;
    its MessageID."""
    body = submit_body(to=f"<Number>{to}</Number>",
                       sender="<SenderAddress><ShortCode>ACME</ShortCode></SenderAddress>",
                       extra=f"<MessageClass>{message_class}</MessageClass>")
    status, doc, _ = await call(server, *soap_with_attachments(envelope(body, tid=tid)))
    assert status == 200, etree_text(doc)
    return doc.find(".//{*}MessageID").text


def etree_text(doc) -> str:  # type: ignore[no-untyped-def]
    from lxml import etree
    return etree.tostring(doc).decode()


async def report_for(vasp: VaspEndpoint, message_id: str):  # type: ignore[no-untyped-def]
    await vasp.wait_for_reports([message_id])
    found = [r for r in vasp.received if r.operation == "DeliveryReportReq"
             and r.fields.get("MessageID") == message_id]
    assert found, f"no DeliveryReportReq for {message_id}"
    return found[0]


async def test_stop_rejects_advertising_and_start_restores_it_over_smpp(tmp_path: Path) -> None:
    async with VaspEndpoint() as vasp:
        server = await start(tmp_path, vasp)
        try:
            a = server.handsets.handsets[A]
            assert await a.send_sms("36000", "Stop ") == [0]
            await a.wait_for(lambda h: any(STOP_CONFIRMED in t for t in h.texts))
            optout = await server.engine.state.get_optout("acme", A)
            assert optout is not None and optout.via == "handset"
            sms_before = len(server.smsc.received)
            pushes = len(a.notifications)

            advert = await submit(server, A, "Advertisement", "ad-1")
            report = await report_for(vasp, advert)
            assert report.fields["MMStatus"] == "Rejected"
            assert "opted out" in report.fields["StatusText"]
            (r,) = await server.engine.state.recipients_of(advert)
            assert r.state.value == "rejected"
            kinds = [e.kind for e in await server.engine.state.events_of(advert)]
            assert "opted-out" in kinds and "notified" not in kinds
            assert len(a.notifications) == pushes
            assert [s for s in list(server.smsc.received)[sms_before:]
                    if s.destination == A] == []

            info = await submit(server, A, "Informational", "info-1")
            assert (await report_for(vasp, info)).fields["MMStatus"] == "Retrieved"

            assert await a.send_sms("36000", "START") == [0]
            await a.wait_for(lambda h: any(START_CONFIRMED in t for t in h.texts))
            assert await server.engine.state.get_optout("acme", A) is None
            again = await submit(server, A, "Advertisement", "ad-2")
            assert (await report_for(vasp, again)).fields["MMStatus"] == "Retrieved"
            assert not [r for r in vasp.received if r.operation == "DeliverReq"]
        finally:
            await server.close()


async def test_optout_survives_a_restart_and_an_mms_stop_counts(tmp_path: Path) -> None:
    async with VaspEndpoint() as vasp:
        server = await start(tmp_path, vasp)
        try:
            a = server.handsets.handsets[A]
            stop = picture()
            stop.parts = [MessagePart.from_text("  arrêt ")]
            stop.envelope.to = ["36000/TYPE=PLMN"]
            stop.envelope.delivery_report = False
            await a.send(stop, server.handsets.http)
            await a.wait_for(lambda h: any(STOP_CONFIRMED in t for t in h.texts))
        finally:
            await server.close()
        server = await start(tmp_path, vasp)
        try:
            advert = await submit(server, A, "Advertisement", "ad-after-restart")
            assert (await report_for(vasp, advert)).fields["MMStatus"] == "Rejected"
            assert not [r for r in vasp.received if r.operation == "DeliverReq"]
        finally:
            await server.close()


async def test_an_ordinary_mo_text_reaches_the_vasp_as_deliver_req(tmp_path: Path) -> None:
    async with VaspEndpoint() as vasp:
        server = await start(tmp_path, vasp)
        try:
            a = server.handsets.handsets[A]
            text = "Bonjour ! Où en est ma commande 1234 ? Merci 😀 " * 3  # UCS-2, 3 segments
            statuses = await a.send_sms("36000", text)
            assert len(statuses) == 3 and set(statuses) == {0}
            (deliver,) = await vasp.wait_for("DeliverReq")
            assert deliver.sender.value == A and [t.value for t in deliver.to] == ["36000"]
            from mmsc.mm7.soap import to_message
            [part] = to_message(deliver).parts
            assert part.media_type == "text/plain" and part.decoded_text()[0] == text
        finally:
            await server.close()


async def test_link_sms_and_web_page_of_an_advertisement_say_how_to_opt_out(
        tmp_path: Path) -> None:
    async with VaspEndpoint() as vasp:
        server = await start(tmp_path, vasp)
        try:
            d = server.handsets.handsets[D]  # no MMS: the link SMS
            await submit(server, D, "Informational", "info-d")
            await d.wait_for(lambda h: len(h.texts) == 1)
            assert "STOP" not in d.texts[0]
            advert = await submit(server, D, "Advertisement", "ad-d")
            await d.wait_for(lambda h: len(h.texts) == 2)
            for _ in range(200):  # the link works once its row is written, after the SMS
                (r,) = await server.engine.state.recipients_of(advert)
                if r.state.value == "fallback-sent":
                    break
                await asyncio.sleep(0.02)
            assert d.texts[1].endswith("STOP au 36000")  # ACME cannot be answered: its code
            link = d.texts[1].split("View it at ")[1].split()[0]
            async with aiohttp.ClientSession() as http, http.get(link) as page:
                assert page.status == 200
                assert "STOP au 36000" in await page.text()
        finally:
            await server.close()


async def test_broken_mo_sms_get_their_status_and_the_server_keeps_running(
        tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    async with VaspEndpoint() as vasp:
        server = await start(tmp_path, vasp)
        try:
            with caplog.at_level(logging.WARNING):
                broken = await server.smsc.deliver(A, "36000", bytes([7, 0, 3, 1, 2, 1]) + b"a",
                                                   esm_class=0x40)
                unknown = await server.smsc.deliver(A, "36999", b"STOP")
                alphanumeric = await server.smsc.deliver(A, "ACME", b"STOP")
            assert broken == STATUS_CODES["ESME_RX_P_APPN"]
            assert unknown == alphanumeric == STATUS_CODES["ESME_RINVDSTADR"]
            lines = [r.getMessage() for r in caplog.records]
            assert any("36999" in line for line in lines)
            assert any("ACME" in line for line in lines)
            assert any("ESME_RX_P_APPN" in line for line in lines)
            a = server.handsets.handsets[A]
            assert await a.send_sms("36000", "still there?") == [0]
            await vasp.wait_for("DeliverReq")
        finally:
            await server.close()


# -- the operator: API and CLI ----------------------------------------------------------------

import base64  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from mmsc.config import OperatorConfig  # noqa: E402
from mmsc.state import VaspRecord  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


async def test_operator_api_lists_adds_removes_and_exports(tmp_path: Path) -> None:
    async with VaspEndpoint() as vasp:
        cfg = config(tmp_path)
        cfg.vasps = [VaspConfig("acme", "s3cret", ["36000", "ACME"], report_url=vasp.url)]
        cfg.operators = [OperatorConfig("noc", "pw")]
        server = Server(cfg)
        await server.start()
        api = f"{server.url}/api/v1"
        try:
            auth = {"Authorization": "Basic " + base64.b64encode(b"noc:pw").decode()}
            async with aiohttp.ClientSession(headers=auth) as http:
                async with http.put(f"{api}/optouts/acme/{A}") as response:
                    assert response.status == 201
                async with http.put(f"{api}/optouts/acme/{A}") as response:
                    assert response.status == 200
                for bad, status in ((f"{api}/optouts/acme/0600", 400),
                                    (f"{api}/optouts/nobody/{A}", 404)):
                    async with http.put(bad) as response:
                        assert response.status == status
                async with http.get(f"{api}/optouts?vasp=acme") as response:
                    [row] = (await response.json())["optouts"]
                assert (row["vasp"], row["number"], row["via"]) == ("acme", A, "operator")
                async with http.get(f"{api}/optouts.csv") as response:
                    assert response.content_type == "text/csv"
                    lines = (await response.text()).splitlines()
                assert lines[0] == "vasp,number,since,via"
                assert lines[1].startswith(f"acme,{A},") and lines[1].endswith(",operator")
                advert = await submit(server, A, "Advertisement", "ad-api")
                assert (await report_for(vasp, advert)).fields["MMStatus"] == "Rejected"
                async with http.delete(f"{api}/optouts/acme/{A}") as response:
                    assert response.status == 200
                async with http.delete(f"{api}/optouts/acme/{A}") as response:
                    assert response.status == 404
                async with http.get(f"{api}/optouts") as response:
                    assert (await response.json())["optouts"] == []
            async with aiohttp.ClientSession() as http, http.get(f"{api}/optouts") as response:
                assert response.status == 401
        finally:
            await server.close()


async def test_cli_edits_the_list_in_the_state_store(tmp_path: Path) -> None:
    db = tmp_path / "mmsc.db"
    store = await open_store(f"sqlite:///{db}")
    await store.put_vasp(VaspRecord("acme", "acme", "x", ("36000",)))
    await store.close()
    toml = tmp_path / "mmsc.toml"
    toml.write_text(f'[state]\nurl = "sqlite:///{db}"\n')

    def mmsc(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mmsc", "optout", *args, "--config",
                               str(toml)], capture_output=True, text=True, cwd=ROOT, timeout=60)

    assert mmsc("add", "acme", A).returncode == 0
    assert "already" in mmsc("add", "acme", A).stdout
    listed = mmsc("list").stdout.split()
    assert listed[:2] == ["acme", A] and listed[3] == "operator"
    assert mmsc("list", "--csv", "--vasp", "acme").stdout.splitlines()[0] == \
        "vasp,number,since,via"
    bad = mmsc("add", "acme", "0600")
    assert bad.returncode == 2 and "not an international number" in bad.stderr
    unknown = mmsc("add", "nobody", A)
    assert unknown.returncode == 2 and "no VASP 'nobody'" in unknown.stderr
    assert "opted back in" in mmsc("remove", "acme", A).stdout
    assert mmsc("list").stdout == ""


# -- keywords, senders, configuration ---------------------------------------------------------

from mmsc.config import ConfigError, load  # noqa: E402
from mmsc.relay.optout import keyword  # noqa: E402
from mmsc.relay.senders import SenderLimits  # noqa: E402
from wap_push.senders import ALPHANUMERIC, LONG_NUMBER, SHORT_CODE, sender_kind  # noqa: E402

STOPS, STARTS = ("STOP", "QUIT", "OPT-OUT", "ARRET"), ("START",)


@pytest.mark.parametrize("text, word", [
    ("Stop ", "stop"), ("  stop\n", "stop"), ("ARRÊT", "stop"), ("arrêt", "stop"),
    ("opt-out", "stop"), ("Start", "start"), ("STOP please", None), ("STOPP", None),
    ("", None), ("ＳＴＯＰ", "stop"),  # full-width letters fold (NFKD) too
])
def test_keywords_ignore_case_spaces_and_accents(text: str, word: str | None) -> None:
    assert keyword(text, STOPS, STARTS) == word


@pytest.mark.parametrize("sender, kind", [
    ("36000", SHORT_CODE), ("123", SHORT_CODE), ("+33612345678", LONG_NUMBER),
    ("0612345678", LONG_NUMBER), ("+123456789012345", LONG_NUMBER), ("ACME", ALPHANUMERIC),
    ("ACME-PROMO1", ALPHANUMERIC), ("Café 2", ALPHANUMERIC),
])
def test_sender_kinds(sender: str, kind: str) -> None:
    assert sender_kind(sender) == kind


@pytest.mark.parametrize("sender, why", [
    ("ACME-PROMO12", "12 characters"), ("PROMO[2024]", "13 characters"),  # [ ] count twice
    ("+1234567890123456", "15 digits"), ("12", "digits"), ("Ünïcødé✓", "GSM 03.38"),
    ("2024-06", "a letter"),
])
def test_senders_that_are_none_of_the_kinds(sender: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        sender_kind(sender)


def test_a_12_character_sender_id_is_a_config_error_naming_vasp_and_sender(
        tmp_path: Path) -> None:
    path = tmp_path / "mmsc.toml"
    path.write_text('[[vasp]]\nid = "acme"\npassword = "pw"\n'
                    'allowed_senders = ["36000", "ACME-PROMO12"]\n')
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert "'acme'" in str(caught.value) and "'ACME-PROMO12'" in str(caught.value)
    path.write_text('[[vasp]]\nid = "acme"\npassword = "pw"\n'
                    'allowed_senders = ["36000", "ACME-PROMO1"]\n')
    assert load(path, environ={}).vasps[0].allowed_senders == ["36000", "ACME-PROMO1"]


def test_advertising_settings(tmp_path: Path) -> None:
    path = tmp_path / "mmsc.toml"
    path.write_text('[advertising]\nshort_code_mps = 50\noptout_notice = "Txt STOP {short_code}"\n')
    ad = load(path, environ={"MMSC_ADVERTISING_STOP_WORDS": "STOP, HALT"}).advertising
    assert (ad.stop_words, ad.short_code_mps, ad.long_number_mps) == (["STOP", "HALT"], 50, 10)
    for text, error in (('optout_notice = "STOP au {code}"', "only {short_code}"),
                        ("long_number_mps = -1", "0 or more"), ("start_words = []", "a word")):
        path.write_text(f"[advertising]\n{text}\n")
        with pytest.raises(ConfigError, match=error):
            load(path, environ={})


async def test_each_sender_is_paced_by_its_kind() -> None:
    """The limiter of each sender spaces its SMS at 1/rate of its kind (the schedule it keeps
    is read, not a duration measured)."""
    limits = SenderLimits({SHORT_CODE: 100.0, LONG_NUMBER: 10.0, ALPHANUMERIC: 20.0})
    start = asyncio.get_running_loop().time()
    for _ in range(3):
        for sender in ("36000", "+33612345678", "ACME"):
            await limits.wait(sender)
    await limits.wait("not a sender!")  # not a kind: no limiter of its own
    rates = {s: lim.rate for s, lim in limits._limiters.items()}
    assert rates == {"36000": 100.0, "+33612345678": 10.0, "ACME": 20.0}
    assert limits._limiters["+33612345678"]._next >= start + 3 / 10.0
    assert limits._limiters["ACME"]._next >= start + 3 / 20.0


async def test_a_vasp_without_short_code_is_warned_of_and_its_adverts_say_nothing(
        tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    async with VaspEndpoint() as vasp:
        cfg = config(tmp_path)
        cfg.vasps = [VaspConfig("acme", "s3cret", ["ACME", "+33700000000"],
                                report_url=vasp.url)]
        server = Server(any_hour(cfg))
        with caplog.at_level(logging.WARNING, logger="mmsc.server"):
            await server.start()
        try:
            assert any("acme has no short code" in r.getMessage() for r in caplog.records)
            d = server.handsets.handsets[D]
            await submit(server, D, "Advertisement", "ad-no-code")
            await d.wait_for(lambda h: h.texts)
            assert "STOP" not in d.texts[0]
            assert set(server.engine.senders._limiters) == {"ACME"}  # the link SMS was paced
        finally:
            await server.close()
