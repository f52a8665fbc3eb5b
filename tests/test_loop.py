"""The delivery loop end to end on loopback: emulated handsets, MM1 over HTTP, real SMPP."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from mmsc.config import Config, SubscriberConfig
from mmsc.message import Envelope, Message, MessagePart
from datetime import timedelta

from mmsc.pdu import MessageType, MmsPdu, ReadStatus, ResponseStatus, Status, decode
from wap_push.wsp import EncodedString
from mmsc.relay.engine import ContentLost
from mmsc.relay.operations import Operations
from mmsc.server import Server
from mmsc.state import RecipientState, Route
from wap_push.push import decode_push

A, B, C, D = "+33611111111", "+33622222222", "+33633333333", "+33644444444"
E, F = "+33655555555", "+33666666666"


def config(tmp_path: Path) -> Config:
    cfg = Config()
    cfg.http.port = 0
    cfg.smsc.port = 0
    cfg.storage.path = str(tmp_path / "objects")
    cfg.state.url = f"sqlite:///{tmp_path / 'mmsc.db'}"
    cfg.cdr.path = str(tmp_path / "cdr")
    cfg.delivery.renotify_backoff = [0.3, 0.3, 0.3]
    cfg.delivery.fallback_after = 1.5
    cfg.delivery.scheduler_interval = 0.05
    cfg.subscribers = [SubscriberConfig(A), SubscriberConfig(B),
                       SubscriberConfig(C, behaviour="never-ack"),
                       SubscriberConfig(D, mms=False, behaviour="legacy"),
                       SubscriberConfig(E, behaviour="defer"),
                       SubscriberConfig(F, behaviour="offline")]
    return cfg


@contextlib.asynccontextmanager
async def running(cfg: Config) -> AsyncIterator[Server]:
    """A server of ``cfg``, started, and closed afterwards."""
    server = Server(cfg)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def server(tmp_path: Path):
    async with running(config(tmp_path)) as s:
        yield s


def mandelbrot(size: tuple[int, int], iterations: int, fmt: str = "PNG") -> bytes:
    """A detailed picture (it compresses badly, as photos do) in ``fmt``."""
    out = io.BytesIO()
    Image.effect_mandelbrot(size, (-2, -1.2, 1, 1.2), iterations).convert("RGB").save(out, fmt)
    return out.getvalue()


def picture() -> Message:
    out = io.BytesIO()
    Image.new("RGB", (160, 120), (20, 120, 200)).save(out, "JPEG")
    return Message(Envelope(originator=f"{A}/TYPE=PLMN", subject="Beach", delivery_report=True),
                   [MessagePart("image/jpeg", out.getvalue(), content_id="pic",
                                content_location="beach.jpg"),
                    MessagePart.from_text("Wish you were here", content_id="txt")])


def send_to(number: str) -> Message:
    message = picture()
    message.envelope.to = [f"{number}/TYPE=PLMN"]
    return message


async def test_handset_to_handset_with_delivery_report(server: Server) -> None:
    a, b = server.handsets.handsets[A], server.handsets.handsets[B]
    conf = await a.send(send_to(B), server.handsets.http)
    assert conf.message_type == MessageType.SEND_CONF and conf.response_status == ResponseStatus.OK
    await b.wait_for(lambda h: len(h.inbox) == 1)
    got = b.inbox[0]
    assert got.envelope.message_id == conf.message_id
    assert got.envelope.originator == f"{A}/TYPE=PLMN" and got.envelope.subject == "Beach"
    assert [p.data for p in got.parts] == [p.data for p in picture().parts]
    await a.wait_for(lambda h: len(h.reports) == 1)
    report = a.reports[0]
    assert report.message_type == MessageType.DELIVERY_IND
    assert report.status == Status.RETRIEVED and report.message_id == conf.message_id
    kinds = await kinds_once(server, conf.message_id, "report-sent")
    for kind in ("accepted", "notified", "fetched", "acknowledged", "report-sent"):
        assert kind in kinds


async def test_legacy_recipient_gets_a_link(server: Server) -> None:
    a, d = server.handsets.handsets[A], server.handsets.handsets[D]
    conf = await a.send(send_to(D), server.handsets.http)
    assert conf.response_status == ResponseStatus.OK
    await d.wait_for(lambda h: h.texts)
    assert d.texts[0].startswith(f"MMS from {A} \"Beach\". View it at {server.url}/v/")
    assert d.notifications == [] and d.inbox == []


async def test_never_ack_gets_renotified_then_the_link(server: Server) -> None:
    a, c = server.handsets.handsets[A], server.handsets.handsets[C]
    await a.send(send_to(C), server.handsets.http)
    await c.wait_for(lambda h: h.texts, timeout=15)
    assert len(c.notifications) >= 2  # re-notified with back-off before the fallback
    assert len({n.transaction_id for n in c.notifications}) == 1
    assert "/v/" in c.texts[0]


async def test_deferred_retrieval_then_acknowledge(server: Server) -> None:
    a, e = server.handsets.handsets[A], server.handsets.handsets[E]
    conf = await a.send(send_to(E), server.handsets.http)
    await e.wait_for(lambda h: h.notifications)
    (r,) = await server.engine.state.recipients_of(conf.message_id)
    for _ in range(50):
        if (r := await server.engine.state.get_recipient(r.id)).state.value == "deferred":
            break
        await asyncio.sleep(0.02)
    assert r.state.value == "deferred" and e.inbox == []
    assert await e.fetch_deferred(server.handsets.http) == 1
    assert e.inbox[0].envelope.message_id == conf.message_id
    await a.wait_for(lambda h: h.reports)
    assert a.reports[0].status == Status.RETRIEVED


async def test_expiry_reports_expired(server: Server) -> None:
    a = server.handsets.handsets[A]
    message = send_to(F)
    message.envelope.expiry = timedelta(seconds=1)
    conf = await a.send(message, server.handsets.http)
    await a.wait_for(lambda h: h.reports, timeout=10)
    assert a.reports[0].status == Status.EXPIRED and a.reports[0].message_id == conf.message_id
    assert server.handsets.handsets[F].inbox == []


async def test_smsc_outage_parks_sms_and_keeps_expiry_and_fallback(tmp_path: Path) -> None:
    """The SMSC away: a new message waits with its attempts unspent and goes when the SMSC is
    back; one that expires meanwhile expires on time; a handset notified before the outage
    that passes fallback_after meanwhile gets the link SMS when the SMSC is back."""
    cfg = config(tmp_path)
    cfg.smsc.reconnect_max = 0.2
    async with running(cfg) as server:
        a, b, c = (server.handsets.handsets[n] for n in (A, B, C))
        state = server.engine.state
        to_c = await a.send(send_to(C), server.handsets.http)
        await c.wait_for(lambda h: h.notifications)
        await server.smsc.close()
        for _ in range(100):
            if not server.smpp.connected:
                break
            await asyncio.sleep(0.02)
        to_b = await a.send(send_to(B), server.handsets.http)
        expiring = send_to(F)
        expiring.envelope.expiry = timedelta(seconds=1)
        to_f = await a.send(expiring, server.handsets.http)
        (rf,) = await state.recipients_of(to_f.message_id)
        for _ in range(100):  # well before a submit would give up waiting for a bind (10 s)
            if (rf := await state.get_recipient(rf.id)).state.value == "expired":
                break
            await asyncio.sleep(0.05)
        assert rf.state.value == "expired"
        created = (await state.get_message(to_c.message_id)).created_at
        await asyncio.sleep(max(0.0, created + 1.6 - time.time()))  # C past fallback_after
        (rb,) = await state.recipients_of(to_b.message_id)
        assert (rb.state.value, rb.attempts) == ("accepted", 0)
        assert "notify-parked" in [e.kind for e in await state.events_of(to_b.message_id)]
        notified_c = len(c.notifications)
        await server.smsc.start(port=server.smsc_port)
        await b.wait_for(lambda h: h.inbox, timeout=10)
        await c.wait_for(lambda h: h.texts, timeout=10)
        assert len(c.notifications) == notified_c  # not pushed again: fallback_after passed
        rb = await state.get_recipient(rb.id)
        assert rb.attempts == 1 and rb.state.value in ("retrieved", "acknowledged")


async def test_read_report_reaches_the_originator(server: Server) -> None:
    a, b = server.handsets.handsets[A], server.handsets.handsets[B]
    message = send_to(B)
    message.envelope.read_report = True
    message.envelope.delivery_report = False
    conf = await a.send(message, server.handsets.http)
    await b.wait_for(lambda h: h.inbox)
    read = MmsPdu(MessageType.READ_REC_IND, message_id=conf.message_id,
                  to=[EncodedString(f"{A}/TYPE=PLMN")], sender=EncodedString(f"{B}/TYPE=PLMN"),
                  read_status=ReadStatus.READ)
    await b._post(read, server.handsets.http)
    await a.wait_for(lambda h: h.reports)
    report = a.reports[0]
    assert report.message_type == MessageType.READ_ORIG_IND
    assert report.read_status == ReadStatus.READ and report.sender == f"{B}/TYPE=PLMN"


async def test_forward_sends_the_content_on(server: Server) -> None:
    a, b, c = (server.handsets.handsets[n] for n in (A, B, C))
    conf = await a.send(send_to(B), server.handsets.http)
    await b.wait_for(lambda h: h.inbox)
    location = b.notifications[0].content_location
    forward = MmsPdu(MessageType.FORWARD_REQ, transaction_id="fw1",
                     sender=EncodedString(f"{B}/TYPE=PLMN"), to=[EncodedString(f"{C}/TYPE=PLMN")],
                     content_location=location)
    answer = decode(await b._post(forward, server.handsets.http))
    assert answer.message_type == MessageType.FORWARD_CONF
    assert answer.response_status == ResponseStatus.OK and answer.message_id != conf.message_id
    await c.wait_for(lambda h: h.inbox)
    assert c.inbox[0].envelope.originator == f"{B}/TYPE=PLMN"
    assert [p.data for p in c.inbox[0].parts] == [p.data for p in picture().parts]
    stranger = MmsPdu(MessageType.FORWARD_REQ, transaction_id="fw2",
                      sender=EncodedString(f"{D}/TYPE=PLMN"), to=[EncodedString(f"{C}/TYPE=PLMN")],
                      content_location=location)
    refused = decode(await b._post(stranger, server.handsets.http))  # B's header, D's From
    assert refused.response_status == ResponseStatus.OK  # the header wins: B forwards again
    bad = MmsPdu(MessageType.FORWARD_REQ, transaction_id="fw3",
                 sender=EncodedString(f"{B}/TYPE=PLMN"), to=[EncodedString(f"{C}/TYPE=PLMN")],
                 content_location=f"{server.url}/m/not-a-token")
    missing = decode(await b._post(bad, server.handsets.http))
    assert missing.response_status == ResponseStatus.ERROR_PERMANENT_MESSAGE_NOT_FOUND


async def test_routing(server: Server) -> None:
    route = server.engine.route
    assert await route(f"{B}/TYPE=PLMN") == Route.MMS
    assert await route(f"{D}/TYPE=PLMN") == Route.LEGACY
    assert await route("+33699999999/TYPE=PLMN") == Route.MMS  # unknown local number
    assert await route("bob@example.com") == Route.EMAIL
    assert await route("10.0.0.1/TYPE=IPv4") == Route.MM4
    server.engine.settings.local_prefixes = ("+336",)
    assert await route("+447700900123/TYPE=PLMN") == Route.MM4
    assert await route(f"{B}/TYPE=PLMN") == Route.MMS


async def test_retrieval_is_adapted_for_the_subscribers_device(tmp_path: Path) -> None:
    """A 1600x1200 PNG with a SMIL that names it by location, sent to a subscriber whose
    profile is the 2005 basic phone: the handset gets a JPEG within 160x120 and 30 KB, the
    SMIL now names the JPEG, and the events say what was done."""
    from mmsc.smil import parse_smil

    cfg = config(tmp_path)
    old = "+33677777777"
    cfg.subscribers.append(SubscriberConfig(old, profile="basic-2005"))
    async with running(cfg) as server:
        big = mandelbrot((1600, 1200), 80)
        smil = (b'<smil><body><par dur="5s"><img src="photo.png"/><text src="cid:t"/>'
                b"</par></body></smil>")
        message = Message(Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{old}/TYPE=PLMN"]),
                          [MessagePart("application/smil", smil, content_id="s"),
                           MessagePart("image/png", big, content_id="p",
                                       content_location="photo.png"),
                           MessagePart.from_text("Look!", content_id="t")],
                          multipart="related", start="s")
        conf = await server.handsets.handsets[A].send(message, server.handsets.http)
        phone = server.handsets.handsets[old]
        await phone.wait_for(lambda h: h.inbox)
        got = phone.inbox[0]
        image = next(p for p in got.parts if p.content_type.startswith("image/"))
        assert image.content_type == "image/jpeg" and image.content_location == "photo.jpg"
        opened = Image.open(io.BytesIO(image.data))
        assert opened.size[0] <= 160 and opened.size[1] <= 120
        assert sum(len(p.data) for p in got.parts) <= 30 * 1024
        srcs = [m.src for s in parse_smil(got.smil.data).slides for m in s.media]
        assert srcs == ["photo.jpg", "cid:t"]
        events = await server.engine.state.events_of(conf.message_id)
        (adapted,) = [e for e in events if e.kind == "adapted"]
        assert adapted.detail["profile"] == "basic-2005" and adapted.detail["report"]


async def kinds_once(server: Server, message_id: str, kind: str) -> list[str]:
    """The kinds of the message's events once one of them is ``kind`` (10 s at most): the
    outbox records a report after its push has left, so a handset may hold it first."""
    for _ in range(500):
        kinds = [e.kind for e in await server.engine.state.events_of(message_id)]
        if kind in kinds:
            return kinds
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} event for {message_id}: {kinds}")


def pushed_token(server: Server, address: str) -> str:
    """The content token of the latest notification pushed to ``address``, as the SMSC
    emulator received it (the state store keeps only its digest)."""
    number = address.split("/")[0]
    for sms in reversed(server.smsc.received):
        if sms.destination.lstrip("+") == number.lstrip("+") and sms.ports:
            pdu = decode(decode_push(bytes(sms.payload)).data)
            if pdu.message_type == MessageType.NOTIFICATION_IND:
                return pdu.content_location.rsplit("/", 1)[-1]
    raise AssertionError(f"no notification was pushed to {address}")


async def notified(server: Server, message_id: str):  # type: ignore[no-untyped-def]
    """The message's only recipient, once it is notified (10 s at most: a loaded machine)."""
    for _ in range(500):
        (r,) = await server.engine.state.recipients_of(message_id)
        if r.state.value == "notified":
            return r
        await asyncio.sleep(0.02)
    raise AssertionError(f"{message_id} was not notified")


async def test_a_user_agent_names_the_device_class(tmp_path: Path) -> None:
    """A handset with no profile of its own and none configured, whose User-Agent says it
    is a MIDP-1.0 phone, gets the message as the basic-2005 class takes it."""
    cfg = config(tmp_path)
    cfg.subscribers = [SubscriberConfig(A), SubscriberConfig(E, behaviour="offline")]
    async with running(cfg) as server:
        big = mandelbrot((800, 600), 40)
        message = Message(Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{E}/TYPE=PLMN"]),
                          [MessagePart("image/png", big, content_id="p")])
        conf = await server.handsets.handsets[A].send(message, server.handsets.http)
        r = await notified(server, conf.message_id)
        found = await server.engine.fetch(pushed_token(server, r.address), {
            "User-Agent": "Nokia3510i/1.0 (05.30) Profile/MIDP-1.0 Configuration/CLDC-1.0"})
        assert found is not None
        image = Image.open(io.BytesIO(found[2].parts[0].data))
        assert image.format == "JPEG" and image.size[0] <= 160 and image.size[1] <= 120
        events = await server.engine.state.events_of(conf.message_id)
        assert [e.detail["profile"] for e in events if e.kind == "adapted"] == ["basic-2005"]


async def test_adapted_copies_are_made_once_per_profile(tmp_path: Path) -> None:
    """Ten concurrent fetches by the same device class: one adaptation, one stored copy,
    the same octets for all."""
    import asyncio as aio

    cfg = config(tmp_path)
    cfg.subscribers = [SubscriberConfig(A), SubscriberConfig("+33688888888", behaviour="offline",
                                                             profile="basic-2005")]
    async with running(cfg) as server:
        big = mandelbrot((800, 600), 40)
        message = Message(Envelope(originator=f"{A}/TYPE=PLMN", to=["+33688888888/TYPE=PLMN"]),
                          [MessagePart("image/png", big, content_id="p")])
        conf = await server.handsets.handsets[A].send(message, server.handsets.http)
        r = await notified(server, conf.message_id)
        results = await aio.gather(*(server.engine.fetch(pushed_token(server, r.address)) for _ in range(10)))
        images = {bytes(found[2].parts[0].data) for found in results}
        assert len(images) == 1 and next(iter(images)).startswith(b"\xff\xd8")
        events = await server.engine.state.events_of(conf.message_id)
        assert [e.kind for e in events].count("adapted") == 1
        stored = await server.engine.objects.list(f"messages/{conf.message_id}/adapted/")
        assert len(stored) == 1 and stored[0].endswith(".mime")
        assert server.engine._adapting == {}


async def test_a_handsets_own_profile_url_is_used_when_its_host_is_allowed(
        tmp_path: Path) -> None:
    from test_uaprof import PROFILES, _ProfileServer

    async with _ProfileServer({"/basic.rdf": (PROFILES / "basic-2005.rdf").read_bytes()}) as web:
        cfg = config(tmp_path)
        cfg.adaptation.profile_hosts = ["127.0.0.1"]
        cfg.subscribers = [SubscriberConfig(A), SubscriberConfig("+33699990000",
                                                                 behaviour="offline")]
        async with running(cfg) as server:
            big = mandelbrot((800, 600), 40, "JPEG")
            message = Message(Envelope(originator=f"{A}/TYPE=PLMN",
                                       to=["+33699990000/TYPE=PLMN"]),
                              [MessagePart("image/jpeg", big, content_id="p")])
            conf = await server.handsets.handsets[A].send(message, server.handsets.http)
            r = await notified(server, conf.message_id)
            found = await server.engine.fetch(pushed_token(server, r.address), {
                "x-wap-profile": f'"{web.url}/basic.rdf"', "Accept": "*/*"})
            image = Image.open(io.BytesIO(found[2].parts[0].data))
            assert max(image.size) <= 160 and web.hits == ["/basic.rdf"]
            cached = await server.engine.objects.list("uaprof/")
            assert len(cached) == 1


async def test_retrieval_transcodes_video_and_explains_what_could_not_be_delivered(
        tmp_path: Path) -> None:
    """An MP4 for a feature phone arrives as 3GP (H.263 + AMR); a corrupt picture, a
    truncated video and a web page labelled as video each arrive as the text that says
    what was removed, and the retrieval itself succeeds."""
    from adaptation.ffmpeg import Ffmpeg, WorkFolder
    from helpers.media import ffmpeg
    from mmsc.smil import parse_smil

    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24:duration=4", "-f", "lavfi",
           "-i", "sine=duration=4", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "250k",
           "-c:a", "aac",
           str(clip))
    video = clip.read_bytes()
    cfg = config(tmp_path)
    phone_number = "+33699999999"
    cfg.subscribers.append(SubscriberConfig(phone_number, profile="feature-2007"))
    async with running(cfg) as server:
        smil = (b'<smil><body><par dur="4s"><video src="clip.mp4"/></par><par dur="2s">'
                b'<img src="./broken.jpg"/><video src="cid:h"/></par></body></smil>')
        envelope = Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{phone_number}/TYPE=PLMN"])
        message = Message(envelope,
                          [MessagePart("application/smil", smil, content_id="s"),
                           MessagePart("video/mp4", video, content_id="v",
                                       content_location="clip.mp4"),
                           MessagePart("image/jpeg", b"\xff\xd8\xff\xe0" + bytes(500),
                                       content_id="c", content_location="broken.jpg"),
                           MessagePart("video/mp4", video[:len(video) // 2], content_id="t",
                                       content_location="cut.mp4"),
                           MessagePart("video/mp4", b"<html>hello</html>" * 30, content_id="h",
                                       content_location="page.mp4")],
                          multipart="related", start="s")
        conf = await server.handsets.handsets[A].send(message, server.handsets.http)
        phone = server.handsets.handsets[phone_number]
        await phone.wait_for(lambda h: h.inbox, timeout=30)
        got = {p.content_id: p for p in phone.inbox[0].parts}
        assert got["v"].content_type == "video/3gpp" and got["v"].content_location == "clip.3gp"
        with WorkFolder() as work:
            info = Ffmpeg().probe(work.write("got.3gp", got["v"].data))
        assert info.video is not None and info.video.codec == "h263"
        assert info.audio is not None and info.audio.codec == "amr_nb"
        for cid, name in (("c", "broken.jpg"), ("t", "cut.mp4"), ("h", "page.mp4")):
            assert got[cid].content_type == "text/plain", cid
            assert name.encode() in got[cid].data and b"was removed" in got[cid].data
        slides = parse_smil(got["s"].data).slides  # the SMIL names what was delivered
        assert [(m.kind, m.src) for m in slides[0].media] == [("video", "clip.3gp")]
        assert [(m.kind, m.src) for m in slides[1].media] == [("text", "broken.jpg.txt"),
                                                              ("text", "page.mp4.txt")]
        events = await server.engine.state.events_of(conf.message_id)
        (adapted,) = [e for e in events if e.kind == "adapted"]
        assert len(adapted.detail["report"]) == 4


async def test_a_configured_device_is_notified_of_the_size_it_will_retrieve(
        tmp_path: Path) -> None:
    """For a subscriber whose profile is configured, the content is adapted before the
    notification, which then states the adapted size: the size the handset retrieves."""
    cfg = config(tmp_path)
    old = "+33677777777"
    cfg.subscribers.append(SubscriberConfig(old, profile="basic-2005"))
    async with running(cfg) as server:
        big = mandelbrot((1600, 1200), 80)
        message = Message(Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{old}/TYPE=PLMN"]),
                          [MessagePart("image/png", big, content_id="p")])
        conf = await server.handsets.handsets[A].send(message, server.handsets.http)
        phone = server.handsets.handsets[old]
        await phone.wait_for(lambda h: h.inbox)
        stated = phone.notifications[0].message_size
        got = phone.inbox[0]
        assert stated == got.size < 30 * 1024 < len(big)
        events = [e.kind for e in await server.engine.state.events_of(conf.message_id)]
        assert events.index("adapted") < events.index("notified")
        assert events.count("adapted") == 1  # the retrieval reused it


async def test_an_operators_own_profile_folder(tmp_path: Path) -> None:
    """``[adaptation] profiles`` names a folder of the operator's own device profiles: a
    subscriber's profile is looked up there by file stem."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    source = Path(__file__).resolve().parent.parent / "fixtures" / "uaprof" / "wap-2004.rdf"
    (folder / "lab-phone.rdf").write_bytes(source.read_bytes())
    cfg = config(tmp_path)
    cfg.adaptation.profiles = str(folder)
    cfg.subscribers = [SubscriberConfig(A), SubscriberConfig(E, profile="lab-phone")]
    async with running(cfg) as server:
        message = Message(Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{E}/TYPE=PLMN"]),
                          [MessagePart("image/jpeg", mandelbrot((300, 200), 20, "JPEG"),
                                       content_id="p")])
        conf = await server.handsets.handsets[A].send(message, server.handsets.http)
        phone = server.handsets.handsets[E]
        await phone.wait_for(lambda h: h.inbox)
        got = phone.inbox[0].parts[0]
        assert got.content_type == "image/gif"  # a WAP phone: GIF or WBMP, 96x65 at most
        assert Image.open(io.BytesIO(got.data)).size[0] <= 96
        events = await server.engine.state.events_of(conf.message_id)
        assert [e.detail["profile"] for e in events if e.kind == "adapted"] == ["lab-phone"]


async def test_the_log_names_the_state_a_transition_really_left(server: Server, caplog) -> None:
    """Issue 14 item 5: a step that acts on a stale copy of its recipient (the handset
    fetched while the notification's own move was being written) logs the state the row was
    really in, not the one its copy shows."""
    message = send_to("+33699999999")  # not an emulated handset: nobody fetches
    conf = await server.handsets.handsets[A].send(message, server.handsets.http)
    (stale,) = await server.engine.state.recipients_of(conf.message_id)
    assert stale.state.value == "accepted"
    for _ in range(100):
        (r,) = await server.engine.state.recipients_of(conf.message_id)
        if r.state.value == "notified":
            break
        await asyncio.sleep(0.02)
    caplog.clear()
    with caplog.at_level("INFO", logger="mmsc.relay.engine"):  # as fetch() moves it
        await server.engine._move(stale, RecipientState.RETRIEVED, kind="fetched",
                                  expected=(RecipientState.ACCEPTED, RecipientState.NOTIFIED))
    lines = [m for m in caplog.messages if "(fetched)" in m]
    assert lines == [f"{conf.message_id} {stale.address}: notified -> retrieved (fetched)"]


async def test_a_delivery_report_that_could_not_leave_is_sent_later(server: Server,
                                                                   monkeypatch) -> None:
    """The M-Delivery.ind to a handset sender goes through the durable report outbox: when
    its push cannot reach the SMSC (the link dropped just then), it is retried with the
    outbox's back-off instead of being dropped."""
    from wap_push.smpp_client import SmppLinkError

    server.engine.settings.report_backoff = (0.2, 0.2, 0.2)
    inner = server.engine.messenger.send_push
    failures = []

    async def send_push(destination: str, push: bytes) -> list[str]:
        if destination == A and not failures:  # the sender's report, the first time
            failures.append(destination)
            raise SmppLinkError("the link dropped")
        return await inner(destination, push)

    monkeypatch.setattr(server.engine.messenger, "send_push", send_push)
    a = server.handsets.handsets[A]
    conf = await a.send(send_to(B), server.handsets.http)
    await a.wait_for(lambda h: any(r.message_id == conf.message_id for r in h.reports))
    assert failures == [A]
    kinds = await kinds_once(server, conf.message_id, "report-sent")
    assert kinds.index("report-retry") < kinds.index("report-sent")


async def test_repeated_fetches_are_counted_not_written_each(tmp_path: Path) -> None:
    """A phone fetching the same message again and again (its data connection drops): every
    answer is the same octets; the first fetch is the ``fetched`` event, the repeats add no
    event at all and are counted instead, and the count survives a restart."""
    cfg = config(tmp_path)
    cfg.delivery.renotify_backoff = [600.0]  # no re-notification during the test
    async with running(cfg) as server:
        conf = await server.handsets.handsets[A].send(send_to(F), server.handsets.http)
        r = await notified(server, conf.message_id)
        # the push's delivery receipt is an event of its own, which may come at any time:
        # in before the fetches, so that what follows the first fetch is only theirs
        await kinds_once(server, conf.message_id, "push-delivered")
        url = f"{server.url}/m/{pushed_token(server, r.address)}"
        answers = []
        for i in range(40):
            async with server.handsets.http.get(url, headers={"User-Agent": "Phone/1.0"}) as got:
                assert got.status == 200
                answers.append(await got.read())
            if i == 0:
                after_first = [e.kind for e in await server.engine.state.events_of(
                    conf.message_id)]
        assert len(set(answers)) == 1
        assert decode(answers[0]).message_type == MessageType.RETRIEVE_CONF
        assert after_first.count("fetched") == 1
        assert [e.kind for e in await server.engine.state.events_of(conf.message_id)] == \
            after_first
        (again,) = (await Operations(server.engine).message(conf.message_id))["recipients"]
        assert again["state"] == "retrieved" and again["fetched_again"] <= 39
    async with running(cfg) as server:
        (again,) = (await Operations(server.engine).message(conf.message_id))["recipients"]
        assert again["fetched_again"] == 39
        assert again["last_fetched_again_at"] >= again["updated_at"]


async def test_content_served_again_comes_from_memory_but_lost_content_is_still_seen(
        tmp_path: Path) -> None:
    """A second fetch by the same device class neither reads the stored copies nor adapts
    again (same octets); once the original is gone from the store, even content kept in
    memory is refused as the engine refuses lost content."""
    cfg = config(tmp_path)
    cfg.delivery.renotify_backoff = [600.0]
    async with running(cfg) as server:
        conf = await server.handsets.handsets[A].send(send_to(F), server.handsets.http)
        r = await notified(server, conf.message_id)
        token = pushed_token(server, r.address)
        first = await server.engine.fetch(token, {"User-Agent": "Phone/1.0"})
        reads = []
        get = server.engine.objects.get

        async def counted(key: str) -> bytes:
            reads.append(key)
            return await get(key)

        server.engine.objects.get = counted  # type: ignore[method-assign]
        again = await server.engine.fetch(token, {"User-Agent": "Phone/1.0"})
        assert first is not None and again is not None and reads == []
        assert again[2] is first[2]
        await server.engine.objects.delete(f"messages/{conf.message_id}/original.mime")
        with pytest.raises(ContentLost):
            await server.engine.fetch(token, {"User-Agent": "Phone/1.0"})
