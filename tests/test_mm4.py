"""MM4 between MMSCs and MM3 to e-mail, over real SMTP on loopback (aiosmtpd, aiosmtplib,
smtplib): two mmsc processes talking MM4 to each other, another vendor's forward sent with
smtplib, mmsc's own MM4 read by a bare aiosmtpd sink and the stdlib ``email`` package, MM3
both ways, and the bad input a listener must refuse."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import signal
import smtplib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from mmsc.config import Config, PeerConfig, SubscriberConfig
from mmsc.emulator.handsets import EmulatedHandset, HandsetNetwork
from mmsc.mm4.codec import Kind, Pdu, encode, parse
from mmsc.pdu import MessageType, ResponseStatus, Status
from mmsc.server import Server
from mmsc.state import RecipientState, Route
from wap_push.smsc import SmscEmulator

from test_loop import config, picture, running, send_to
from test_restart import free_port, start_server, wait_healthy, write_config

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mm4"
DOMAIN_1 = "mms.mnc001.mcc208.3gppnetwork.org"
DOMAIN_2 = "mms.mnc002.mcc208.3gppnetwork.org"
A, B = "+33611111111", "+33622222222"  # A on operator 1, B on operator 2
FOREIGN = "+14155550123"  # a number of the peer a sink stands for
VENDOR_SUB = "+33655501234"  # a subscriber of operator 1 the other vendor sends to


class Sink:
    """A bare aiosmtpd server on loopback standing for another MMSC or a mailbox: keeps
    (MAIL FROM, RCPT TOs, DATA) of each message and answers 250."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], bytes]] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.mails.append((envelope.mail_from or "", list(envelope.rcpt_tos),
                           envelope.original_content or b""))
        return "250 OK"

    async def __aenter__(self) -> Sink:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, loop=loop), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def stop(self) -> None:
        """Stop listening (a peer that is down)."""
        assert self._server is not None
        self._server.close()

    async def wait_for(self, predicate: Callable[[list], bool], timeout: float = 15) -> None:
        for _ in range(int(timeout / 0.05)):
            if predicate(self.mails):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the sink got {len(self.mails)} mails: {self.mails!r:.2000}")

    def pdus(self) -> list[Pdu]:
        return [p for _f, _t, data in self.mails if (p := parse(data)) is not None]


def mm4_config(tmp_path: Path, peer_port: int, *, peer_domain: str = "foreign.example",
               prefixes: tuple[str, ...] = ("+1415",)) -> Config:
    """Operator 1 of the in-process tests: A and B are its subscribers, the sink is the peer
    that serves ``prefixes``."""
    cfg = config(tmp_path)
    cfg.subscribers.append(SubscriberConfig(VENDOR_SUB))
    cfg.mm4.port = 0
    cfg.mm4.domain = DOMAIN_1
    cfg.mm4.max_message_size = 200_000
    cfg.delivery.report_backoff = [0.2, 0.2, 0.2]
    cfg.peers = [PeerConfig("sink", peer_domain, list(prefixes), port=peer_port)]
    return cfg


def smtp_send(port: int, sender: str, recipients: list[str], data: bytes) -> dict:
    """One message with the stdlib's SMTP client (as another vendor would); the refusals."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        return smtp.sendmail(sender, recipients, data)


def data_without_size(port: int, rcpt: str, data: bytes) -> int:
    """The answer to DATA of a client that announces no SIZE."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("a@b.example")
        smtp.rcpt(rcpt)
        return smtp.data(data)[0]


def features(port: int) -> dict[str, str]:
    """The ESMTP extensions a server announces."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo()
        return smtp.esmtp_features


async def recipients(server: Server, message_id: str) -> list:
    assert server.engine is not None
    return await server.engine.state.recipients_of(message_id)


async def until(check: Callable[[], object], timeout: float = 15) -> None:
    for _ in range(int(timeout / 0.05)):
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


# -- two mmsc processes --------------------------------------------------------------------

class Operators:
    """Two running ``mmsc serve`` processes (see :func:`two_operators`)."""

    def __init__(self, urls: list[str], configs: list[Path], a: EmulatedHandset,
                 b: EmulatedHandset) -> None:
        self.urls, self.configs, self.a, self.b = urls, configs, a, b
        self.processes = [start_server(c, c.parent / "mmsc.log") for c in configs]

    async def healthy(self) -> None:
        for url, process in zip(self.urls, self.processes):
            await wait_healthy(url, process)

    async def kill_and_restart(self, i: int) -> None:
        """SIGKILL operator ``i + 1`` and start it again on the same stores."""
        self.processes[i].send_signal(signal.SIGKILL)
        self.processes[i].wait(10)
        self.processes[i] = start_server(self.configs[i], self.configs[i].parent / "mmsc.log")
        await wait_healthy(self.urls[i], self.processes[i])


@contextlib.asynccontextmanager
async def two_operators(tmp_path: Path, vasp_url: str = "") -> AsyncIterator[Operators]:
    """Operator 1 and operator 2 as two ``mmsc serve`` processes, each with its own SMSC
    emulator and emulated handset (A on 1, B on 2), peers of each other over MM4."""
    smscs = [SmscEmulator(), SmscEmulator()]
    smpp_ports = [(await s.start())[1] for s in smscs]
    http_ports, mm4_ports = [free_port(), free_port()], [free_port(), free_port()]
    vasp = f"""
[[vasp]]
id = "acme"
password = "pw"
report_url = "{vasp_url}"
""" if vasp_url else ""
    configs = []
    for i, (own, domain, other, number) in enumerate(
            [("+3361", DOMAIN_1, "+3362", A), ("+3362", DOMAIN_2, "+3361", B)]):
        folder = tmp_path / f"operator{i + 1}"
        folder.mkdir()
        configs.append(write_config(folder, http_ports[i], smpp_ports[i], f"""
[delivery]
renotify_backoff = ["1s"]
scheduler_interval = "0.05s"
claim_lease = "1s"
report_backoff = [{", ".join(['"0.3s"'] * 40)}]
[routing]
local_prefixes = ["{own}"]
[mm4]
port = {mm4_ports[i]}
domain = "{domain}"
[[peer]]
name = "operator{2 - i}"
domain = "{DOMAIN_2 if i == 0 else DOMAIN_1}"
prefixes = ["{other}"]
port = {mm4_ports[1 - i]}
[[subscriber]]
msisdn = "{number}"
{vasp if i == 0 else ""}"""))
    urls = [f"http://127.0.0.1:{port}" for port in http_ports]
    a, b = EmulatedHandset(A, "auto", urls[0]), EmulatedHandset(B, "auto", urls[1])
    networks = [HandsetNetwork(smscs[0], [a]), HandsetNetwork(smscs[1], [b])]
    operators = Operators(urls, configs, a, b)
    try:
        await operators.healthy()
        yield operators
    finally:
        for process in operators.processes:
            process.kill()
            process.wait(10)
        for network in networks:
            await network.close()
        for smsc in smscs:
            await smsc.close()


async def test_handset_to_a_handset_of_another_operator(tmp_path: Path) -> None:
    async with two_operators(tmp_path) as ops, aiohttp.ClientSession() as http:
        a, b = ops.a, ops.b
        conf = await a.send(send_to(B), http)
        assert conf.message_type == MessageType.SEND_CONF
        assert conf.response_status == ResponseStatus.OK
        await b.wait_for(lambda h: len(h.inbox) == 1, timeout=30)
        got = b.inbox[0]
        assert got.envelope.originator == f"{A}/TYPE=PLMN" and got.envelope.subject == "Beach"
        assert sorted(p.data for p in got.parts if not p.is_smil) == \
            sorted(p.data for p in picture().parts)
        await a.wait_for(lambda h: len(h.reports) == 1, timeout=30)
        report = a.reports[0]
        assert report.message_type == MessageType.DELIVERY_IND
        assert report.status == Status.RETRIEVED and report.message_id == conf.message_id


async def test_vasp_to_a_handset_of_another_operator(tmp_path: Path) -> None:
    from test_mm7 import VaspEndpoint, submit_all

    async with VaspEndpoint() as vasp, two_operators(tmp_path, vasp.url) as ops:
        b = ops.b
        (message_id,) = await submit_all(ops.urls[0], ["t-mm4"])
        await b.wait_for(lambda h: len(h.inbox) == 1, timeout=30)
        await vasp.wait_for_reports([message_id])
        (report,) = vasp.received
        assert report.fields["MMStatus"] == "Retrieved" and report.fields["MessageID"] == message_id


async def test_nothing_accepted_is_lost_when_either_side_is_killed(tmp_path: Path) -> None:
    async with two_operators(tmp_path) as ops, aiohttp.ClientSession() as http:
        subjects = [f"kill-{i}" for i in range(12)]
        for subject in subjects:
            message = send_to(B)
            message.envelope.subject = subject
            assert (await ops.a.send(message, http)).response_status == ResponseStatus.OK
        await ops.kill_and_restart(0)  # the sending side, forwards in flight
        await ops.b.wait_for(lambda h: len(h.inbox) >= 3, timeout=30)
        await ops.kill_and_restart(1)  # the receiving side, deliveries in flight
        await ops.b.wait_for(lambda h: set(subjects) <= {m.envelope.subject for m in h.inbox},
                             timeout=60)
        await ops.a.wait_for(lambda h: len(h.reports) >= len(subjects), timeout=60)
        assert {r.status for r in ops.a.reports} == {Status.RETRIEVED}


# -- one mmsc and SMTP sinks ---------------------------------------------------------------

def vendor_forward(to: str = f"{VENDOR_SUB}/TYPE=PLMN", kind: str = "MM4_forward.REQ") -> bytes:
    """An MM4_forward.REQ in another vendor's style (fixtures/mm4/: mmsgw), addressed to
    ``to``."""
    data = (FIXTURES / "mmsgw-forward-req-with-image.eml").read_bytes()
    return data.replace(b"To: +14155550123/TYPE=PLMN", f"To: {to}".encode()) \
        .replace(b"MM4_forward.REQ", kind.encode())


async def test_vendor_forward_delivered_answered_and_reported(tmp_path: Path) -> None:
    async with Sink() as peer, running(mm4_config(tmp_path, peer.port)) as server:
        handset = server.handsets.handsets[VENDOR_SUB]
        refused = await asyncio.to_thread(
            smtp_send, server.mm4_port, "+33612345678/TYPE=PLMN@foreign.example",
            [f"{VENDOR_SUB}/TYPE=PLMN@{DOMAIN_1}"], vendor_forward())
        assert refused == {}
        await handset.wait_for(lambda h: len(h.inbox) == 1)
        got = handset.inbox[0]
        assert got.envelope.originator == "+33612345678/TYPE=PLMN"
        assert "hello from mmsgw" in [p.data.decode() for p in got.parts if p.is_text]
        assert any(p.content_type.startswith("image/") for p in got.parts)  # adapted
        await peer.wait_for(lambda mails: len(mails) == 2)
        res, report = peer.pdus()
        assert res.kind == Kind.FORWARD_RES and res.status == "Ok"
        assert res.transaction_id == "a10529a49c79442da63768dbf6d92a85"
        assert res.recipients == ["mms_events@foreign.example"]
        assert report.kind == Kind.DELIVERY_REPORT_REQ and report.status == "Retrieved"
        assert report.message_id == "46de01e8bc5a40889dc5b4865876e9c7"
        assert report.sender == f"{VENDOR_SUB}/TYPE=PLMN"
        assert peer.mails[1][1] == ["mms_events@foreign.example"]


async def test_without_originator_system_the_answer_goes_to_the_envelope_sender(
        tmp_path: Path) -> None:
    async with Sink() as peer, running(mm4_config(tmp_path, peer.port)) as server:
        data = vendor_forward().replace(
            b"X-Mms-Originator-System: mms_events@foreign.example\r\n", b"")
        await asyncio.to_thread(smtp_send, server.mm4_port, "mmsc@foreign.example",
                                [f"{VENDOR_SUB}/TYPE=PLMN@{DOMAIN_1}"], data)
        await peer.wait_for(lambda mails: len(mails) >= 1)
        assert peer.mails[0][1] == ["mmsc@foreign.example"]
        assert peer.pdus()[0].kind == Kind.FORWARD_RES


async def test_own_mm4_read_by_a_bare_sink_and_the_stdlib(tmp_path: Path) -> None:
    async with Sink() as peer, running(mm4_config(tmp_path, peer.port)) as server:
        a = server.handsets.handsets[A]
        conf = await a.send(send_to(FOREIGN), server.handsets.http)
        assert conf.response_status == ResponseStatus.OK
        await peer.wait_for(lambda mails: len(mails) == 1)
        sender, rcpts, data = peer.mails[0]
        assert sender == f"{A}/TYPE=PLMN@{DOMAIN_1}"
        assert rcpts == [f"{FOREIGN}/TYPE=PLMN@foreign.example"]
        mail = email.message_from_bytes(data, policy=email.policy.default)
        assert mail["X-Mms-Message-Type"] == "MM4_forward.REQ"
        assert mail["X-Mms-Message-ID"] == conf.message_id
        assert mail["X-Mms-Ack-Request"] == "Yes"
        assert mail["X-Mms-Originator-System"] == f"system-user@{DOMAIN_1}"
        assert mail["From"] == f"{A}/TYPE=PLMN@{DOMAIN_1}"
        assert mail["To"] == f"{FOREIGN}/TYPE=PLMN@foreign.example"
        parts = {p.get_content_type(): p.get_content() for p in mail.iter_parts()}
        assert parts["text/plain"] == "Wish you were here"
        assert parts["image/jpeg"] == picture().parts[0].data
        (r,) = await recipients(server, conf.message_id)
        assert r.route == Route.MM4 and r.state == RecipientState.ACCEPTED  # awaits the RES
        res = encode(Pdu(Kind.FORWARD_RES, mail["X-Mms-Transaction-ID"],
                         message_id=conf.message_id, status="Ok",
                         sender="system-user@foreign.example",
                         recipients=[f"system-user@{DOMAIN_1}"]))
        await asyncio.to_thread(smtp_send, server.mm4_port, "system-user@foreign.example",
                                [f"system-user@{DOMAIN_1}"], res)
        await until(lambda: _state(server, conf.message_id, RecipientState.FORWARDED))
        report = encode(Pdu(Kind.DELIVERY_REPORT_REQ, "dr-1", message_id=conf.message_id,
                            sender=f"{FOREIGN}/TYPE=PLMN@foreign.example",
                            recipients=[f"{A}/TYPE=PLMN@{DOMAIN_1}"], status="Retrieved"))
        await asyncio.to_thread(smtp_send, server.mm4_port, "system-user@foreign.example",
                                [f"system-user@{DOMAIN_1}"], report)
        await a.wait_for(lambda h: len(h.reports) == 1)
        assert a.reports[0].status == Status.RETRIEVED
        await until(lambda: _state(server, conf.message_id, RecipientState.ACKNOWLEDGED))


async def _state(server: Server, message_id: str, state: RecipientState) -> bool:
    return [r.state for r in await recipients(server, message_id)] == [state]


async def test_a_peer_answering_an_error_ends_the_recipient(tmp_path: Path) -> None:
    async with Sink() as peer, running(mm4_config(tmp_path, peer.port)) as server:
        a = server.handsets.handsets[A]
        conf = await a.send(send_to(FOREIGN), server.handsets.http)
        await peer.wait_for(lambda mails: len(mails) == 1)
        tid = parse(peer.mails[0][2]).transaction_id  # type: ignore[union-attr]
        res = encode(Pdu(Kind.FORWARD_RES, tid, message_id=conf.message_id,
                         status="Error-service-denied", sender="system-user@foreign.example",
                         recipients=[f"system-user@{DOMAIN_1}"]))
        await asyncio.to_thread(smtp_send, server.mm4_port, "system-user@foreign.example",
                                [f"system-user@{DOMAIN_1}"], res)
        await until(lambda: _state(server, conf.message_id, RecipientState.UNREACHABLE))
        await a.wait_for(lambda h: len(h.reports) == 1)
        assert a.reports[0].status == Status.UNREACHABLE
        kinds = [e.kind for e in await server.engine.state.events_of(conf.message_id)]
        assert "peer-refused" in kinds


async def test_a_peer_that_is_down_is_retried_then_the_sender_told(tmp_path: Path) -> None:
    async with running(mm4_config(tmp_path, free_port())) as server:
        a = server.handsets.handsets[A]
        conf = await a.send(send_to(FOREIGN), server.handsets.http)
        await a.wait_for(lambda h: len(h.reports) == 1)
        assert a.reports[0].status == Status.UNREACHABLE
        kinds = [e.kind for e in await server.engine.state.events_of(conf.message_id)]
        assert kinds.count("mm4-failed") == 3 and "unreachable" in kinds


async def test_no_open_relay_size_limit_and_garbage(tmp_path: Path) -> None:
    async with Sink() as peer, running(mm4_config(tmp_path, peer.port)) as server:
        port = server.mm4_port
        for rcpt in ("someone@elsewhere.example", f"{FOREIGN}/TYPE=PLMN@{DOMAIN_1}",
                     f"alice@{DOMAIN_1}"):
            with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
                await asyncio.to_thread(smtp_send, port, "a@b.example", [rcpt], b"x\r\n")
            assert caught.value.recipients[rcpt][0] == 550
        assert int((await asyncio.to_thread(features, port))["size"]) == 200_000
        big = vendor_forward(to=f"{B}/TYPE=PLMN") + b"x" * 990 + (b"\r\n" + b"x" * 990) * 300
        with pytest.raises(smtplib.SMTPSenderRefused) as too_big:  # SIZE= on MAIL FROM
            await asyncio.to_thread(smtp_send, port, "a@b.example",
                                    [f"{B}/TYPE=PLMN@{DOMAIN_1}"], big)
        assert too_big.value.smtp_code == 552
        assert await asyncio.to_thread(data_without_size, port, f"{B}/TYPE=PLMN@{DOMAIN_1}",
                                       big) == 552
        for data, status in (
                (b"\x00\xff\xfe garbage \x01\r\n\r\n\x80\x81", b"5.6.0"),
                (vendor_forward(kind="MM4_teleport.REQ"), b"Error-unsupported-message"),
                (vendor_forward().replace(b"X-Mms-Transaction-ID", b"X-Other"),
                 b"Error-message-format-corrupt"),
                (vendor_forward().replace(b"\r\n--========Top-Part-Boundary--\r\n", b"")
                 [:-40], b"Error-message-format-corrupt")):
            with pytest.raises(smtplib.SMTPDataError) as refused:
                await asyncio.to_thread(smtp_send, port, "mms_events@foreign.example",
                                        [f"{B}/TYPE=PLMN@{DOMAIN_1}"], data)
            assert refused.value.smtp_code == 554 and status in refused.value.smtp_error
        await peer.wait_for(lambda mails: len(mails) == 1)  # the cut one, answered
        (res,) = peer.pdus()
        assert res.kind == Kind.FORWARD_RES and res.status == "Error-message-format-corrupt"
        assert res.transaction_id == "a10529a49c79442da63768dbf6d92a85"
        assert server.handsets.handsets[B].inbox == []


async def test_peer_allow_list(tmp_path: Path) -> None:
    cfg = mm4_config(tmp_path, free_port())
    cfg.peers[0].allow = ["192.0.2.1"]
    async with running(cfg) as server:
        with pytest.raises(smtplib.SMTPSenderRefused) as caught:
            await asyncio.to_thread(smtp_send, server.mm4_port, "mms_events@foreign.example",
                                    [f"{B}/TYPE=PLMN@{DOMAIN_1}"], vendor_forward())
        assert caught.value.smtp_code == 550


# -- MM3 -----------------------------------------------------------------------------------

async def test_mm3_out_to_a_mailbox(tmp_path: Path) -> None:
    async with Sink() as mailbox:
        cfg = mm4_config(tmp_path, free_port())
        cfg.mm3.smarthost = f"127.0.0.1:{mailbox.port}"
        async with running(cfg) as server:
            a = server.handsets.handsets[A]
            message = picture()
            message.envelope.to = ["bob@example.com"]
            conf = await a.send(message, server.handsets.http)
            assert conf.response_status == ResponseStatus.OK
            await mailbox.wait_for(lambda mails: len(mails) == 1)
            sender, rcpts, data = mailbox.mails[0]
            assert (sender, rcpts) == (f"{A}@{DOMAIN_1}", ["bob@example.com"])
            mail = email.message_from_bytes(data, policy=email.policy.default)
            assert mail["From"] == f"{A}@{DOMAIN_1}" and mail["Subject"] == "Beach"
            assert mail.get_body(("plain",)).get_content().strip() == "Wish you were here"
            (attachment,) = list(mail.iter_attachments())
            assert attachment.get_content_type() == "image/jpeg"
            assert attachment.get_content() == picture().parts[0].data
            assert not any(p.get_content_type() == "application/smil" for p in mail.walk())
            await a.wait_for(lambda h: len(h.reports) == 1)
            assert a.reports[0].status == Status.FORWARDED


async def test_mm3_in_becomes_an_mms(tmp_path: Path) -> None:
    async with running(mm4_config(tmp_path, free_port())) as server:
        b = server.handsets.handsets[B]
        mail = email.message.EmailMessage()
        mail["From"] = "Alice <alice@example.com>"
        mail["To"] = f"{B}@{DOMAIN_1}"
        mail["Subject"] = "Hello from e-mail"
        mail.set_content("plain body")
        mail.add_alternative("<html><body><p>html <b>body</b></p></body></html>",
                             subtype="html")
        mail.add_attachment(picture().parts[0].data, maintype="image", subtype="jpeg",
                            filename="beach.jpg")
        await asyncio.to_thread(smtp_send, server.mm4_port, "alice@example.com",
                                [f"{B}@{DOMAIN_1}"], mail.as_bytes(policy=email.policy.SMTP))
        await b.wait_for(lambda h: len(h.inbox) == 1)
        got = b.inbox[0]
        assert got.envelope.originator == "alice@example.com"
        assert got.envelope.subject == "Hello from e-mail"
        texts = [p.data for p in got.parts if p.content_type == "text/plain"]
        assert texts == [b"plain body"]
        assert [p.data for p in got.parts if p.content_type == "image/jpeg"] == \
            [picture().parts[0].data]
        html_only = email.message.EmailMessage()
        html_only["From"] = "alice@example.com"
        html_only["Subject"] = "html"
        html_only.set_content("<p>only <i>html</i></p><script>x()</script>", subtype="html")
        await asyncio.to_thread(smtp_send, server.mm4_port, "alice@example.com",
                                [f"{B}@{DOMAIN_1}"], html_only.as_bytes(policy=email.policy.SMTP))
        await b.wait_for(lambda h: len(h.inbox) == 2)
        assert [p.data for p in b.inbox[1].parts if p.is_text] == [b"only html"]


def test_config_of_peers_and_mm3(tmp_path: Path) -> None:
    from mmsc.config import ConfigError, load

    path = tmp_path / "mmsc.toml"
    path.write_text(f"""
[mm4]
domain = "{DOMAIN_1}"
max_message_size = "1MB"
[mm3]
smarthost = "127.0.0.1:25"
[[peer]]
name = "op2"
domain = "{DOMAIN_2}"
prefixes = ["+337", "+338"]
port = 2526
tls = true
allow = ["10.0.0.7"]
""")
    cfg = load(path, environ={"MMSC_MM4_PORT": "2600"})
    assert (cfg.mm4.domain, cfg.mm4.port, cfg.mm4.max_message_size) == (DOMAIN_1, 2600, 1 << 20)
    (peer,) = cfg.peers
    assert (peer.name, peer.prefixes, peer.port, peer.tls, peer.allow) == (
        "op2", ["+337", "+338"], 2526, True, ["10.0.0.7"])
    path.write_text('[[peer]]\nname = "op2"\ndomain = "x"\nprefixes = ["+337"]\n')
    with pytest.raises(ConfigError, match="needs \\[mm4\\] domain"):
        load(path, environ={})
    path.write_text(f'[mm4]\ndomain = "{DOMAIN_1}"\n[[peer]]\nname = "op2"\n')
    with pytest.raises(ConfigError, match="a peer needs"):
        load(path, environ={})


async def test_read_reports_both_ways_over_mm4(tmp_path: Path) -> None:
    from mmsc.pdu import ReadStatus

    async with Sink() as peer, running(mm4_config(tmp_path, peer.port)) as server:
        assert server.engine is not None
        # in: a subscriber here reads what the other vendor sent; its MMSC gets the report
        await asyncio.to_thread(smtp_send, server.mm4_port, "mms_events@foreign.example",
                                [f"{VENDOR_SUB}/TYPE=PLMN@{DOMAIN_1}"], vendor_forward())
        handset = server.handsets.handsets[VENDOR_SUB]
        await handset.wait_for(lambda h: len(h.inbox) == 1)
        local_id = handset.inbox[0].envelope.message_id
        assert await server.engine.read_report(local_id, f"{VENDOR_SUB}/TYPE=PLMN",
                                               ReadStatus.READ)
        await peer.wait_for(lambda mails: any(p.kind == Kind.READ_REPLY_REQ
                                              for p in peer.pdus()))
        (read,) = [p for p in peer.pdus() if p.kind == Kind.READ_REPLY_REQ]
        assert read.status == "Read" and read.message_id == "46de01e8bc5a40889dc5b4865876e9c7"
        assert read.sender == f"{VENDOR_SUB}/TYPE=PLMN"
        # out: a handset here asked for a read report of what it sent to the peer
        a = server.handsets.handsets[A]
        message = send_to(FOREIGN)
        message.envelope.read_report = True
        conf = await a.send(message, server.handsets.http)
        report = encode(Pdu(Kind.READ_REPLY_REQ, "rr-1", message_id=conf.message_id,
                            sender=f"{FOREIGN}/TYPE=PLMN@foreign.example",
                            recipients=[f"{A}/TYPE=PLMN@{DOMAIN_1}"], status="Read",
                            ack_request=True, originator_system="mms_events@foreign.example"))
        await asyncio.to_thread(smtp_send, server.mm4_port, "mms_events@foreign.example",
                                [f"system-user@{DOMAIN_1}"], report)
        await a.wait_for(lambda h: any(r.message_type == MessageType.READ_ORIG_IND
                                       for r in h.reports))
        await peer.wait_for(lambda mails: any(p.kind == Kind.READ_REPLY_RES
                                              for p in peer.pdus()))
        (res,) = [p for p in peer.pdus() if p.kind == Kind.READ_REPLY_RES]
        assert res.status == "Ok" and res.transaction_id == "rr-1"
