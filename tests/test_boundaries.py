"""The delivery rules at their boundaries, on a real server over loopback (MM1 over HTTP, the
SMSC emulator over SMPP): retrieval and viewer links just before and at their expiry, the
adaptation budget filled to within a few octets by many small parts, each step of the
re-notification back-off and then the link SMS, the PIN lockout at exactly
``[viewer] pin_attempts``, and the one pace of the viewer's 404 for unknown, expired and
withdrawn links.

Time is the engine's clock, set by the test (``Engine.clock``); the scheduler loop is stopped
where a test takes the steps itself (``run_due``), so that no pass runs at a moment the test
did not choose.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from mmsc.config import SubscriberConfig
from mmsc.message import Envelope, Message, MessagePart
from mmsc.pdu import decode, encode
from mmsc.server import Server
from mmsc.state import Interface, RecipientState
from wap_push.wsp import EncodedString
from web_viewer.app import GONE_AFTER

from test_loop import A, D, config, notified, picture, pushed_token, running
from test_mm1 import post, send_req
from test_viewer import send_link

S = RecipientState
#: Written out from OMA-MMS-ENC 1.3 §7.3.50: X-Mms-Retrieve-Status
#: Error-permanent-message-not-found.
RETRIEVE_NOT_FOUND = 0xE2
#: Numbers with no emulated handset behind them: nobody fetches, nobody answers.
NOBODY, NOBODY_2 = "+33699999991", "+33699999992"


class Clock:
    """The engine's clock, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def hold_time(server: Server) -> Clock:
    """Stop the scheduler loop and give the engine a clock that moves only when told."""
    assert server._scheduler is not None
    server._scheduler.cancel()
    clock = Clock(time.time())
    server.engine.clock = clock
    return clock


async def fetch(server: Server, token: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/m/{token}") as response:
            return response.status, await response.read()


# -- expiry ------------------------------------------------------------------------------------


async def test_retrieval_just_before_and_at_the_expiry(tmp_path: Path) -> None:
    """A message with a relative expiry of one hour: fetched a millisecond before it, it is
    served; at the expiry itself (the expiry is the first instant it is gone) it is
    Error-permanent-message-not-found. Two messages, so that the second was never fetched."""
    async with running(config(tmp_path)) as server:
        clock = hold_time(server)
        sent = []
        for number in (NOBODY, NOBODY_2):
            pdu = send_req(to=[EncodedString(f"{number}/TYPE=PLMN")],
                           expiry=timedelta(hours=1))
            conf = decode((await post(server, encode(pdu)))[1])
            assert await server.engine.run_due() == 1
            (r,) = await server.engine.state.recipients_of(conf.message_id)
            assert r.state == S.NOTIFIED
            sent.append((conf.message_id, pushed_token(server, number)))
        message = await server.engine.state.get_message(sent[0][0])
        assert message is not None
        assert message.expiry_at == pytest.approx(clock.now + 3600, rel=0, abs=1.0)
        expiry = server.engine.expiry(message)

        clock.now = expiry - 0.001
        status, body = await fetch(server, sent[0][1])
        got = decode(body)
        assert status == 200 and got.retrieve_status is None
        assert got.message_id == sent[0][0] and got.parts

        clock.now = expiry
        status, body = await fetch(server, sent[1][1])
        got = decode(body)
        assert got.retrieve_status == RETRIEVE_NOT_FOUND and not got.parts
        clock.now = expiry + 0.001
        assert decode((await fetch(server, sent[0][1]))[1]).retrieve_status == RETRIEVE_NOT_FOUND


async def test_viewer_link_just_before_and_at_its_expiry(tmp_path: Path) -> None:
    """A link works until ``[viewer] link_ttl`` after its SMS (here one hour, well inside the
    message's expiry): a millisecond before, the page; at that instant, the 404."""
    cfg = config(tmp_path)
    cfg.viewer.link_ttl = 3600
    async with running(cfg) as server:
        message = picture()
        message.envelope.to = [f"{D}/TYPE=PLMN"]
        message_id, link, _ = await send_link(server, message)
        clock = hold_time(server)
        (r,) = await server.engine.state.recipients_of(message_id)
        assert r.viewer_expires_at is not None
        assert r.viewer_expires_at < server.engine.expiry(
            await server.engine.state.get_message(message_id))  # the ttl decides, not expiry
        async with aiohttp.ClientSession() as http:
            clock.now = r.viewer_expires_at - 0.001
            async with http.get(link) as response:
                assert response.status == 200 and "Wish you were here" in await response.text()
            clock.now = r.viewer_expires_at
            async with http.get(link) as response:
                assert response.status == 404


# -- the size budget ----------------------------------------------------------------------------

FEATURE_PHONE = "+33677777777"  # feature-2007: MmsMaxMessageSize 102400, 176x144 images
BUDGET = 102_400


def jpegs_totalling(total: int, count: int) -> list[bytes]:
    """``count`` small JPEGs (noise pictures of 80x60, no metadata, so that adaptation leaves
    them as they are) whose sizes add up to ``total`` less at most 16 octets: a pool of
    pictures at many seeds and qualities, ``count - 1`` of them near the mean, and the one
    that comes closest to what is left."""
    pool: dict[int, bytes] = {}
    for seed in range(40):
        picture = Image.effect_noise((80, 60), 30 + seed).convert("RGB")
        for quality in range(75, 96):
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=quality)
            pool.setdefault(len(out.getvalue()), out.getvalue())
    sizes = sorted(pool)
    chosen: list[int] = []
    for n in range(count - 1):
        goal = (total - sum(chosen)) // (count - n)
        chosen.append(min((s for s in sizes if s not in chosen), key=lambda s: abs(s - goal)))
    rest = total - sum(chosen)
    chosen.append(max(s for s in sizes if s <= rest and s not in chosen))
    assert total - 16 <= sum(chosen) <= total, (total, sum(chosen))
    return [pool[size] for size in chosen]


async def test_many_small_parts_filling_the_budget_still_fit(tmp_path: Path) -> None:
    """Thirty small JPEGs and a text whose octets come within a few of the phone's
    MmsMaxMessageSize: the m-retrieve-conf the phone fetches, with all its headers and
    per-part headers, is within MmsMaxMessageSize, and every picture is still there. (With
    the plan's overheads, HEADER_OVERHEAD and PART_OVERHEAD, set to 0 it is some 103,100
    octets.)"""
    cfg = config(tmp_path)
    cfg.subscribers.append(SubscriberConfig(FEATURE_PHONE, profile="feature-2007",
                                            behaviour="offline"))
    async with running(cfg) as server:
        text = MessagePart.from_text("Thirty pictures of the holidays", content_id="txt")
        envelope = Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{FEATURE_PHONE}/TYPE=PLMN"],
                            subject="Thirty")
        shown = Message(envelope, [MessagePart("image/jpeg", b"", content_id=f"p{i}",
                                               content_location=f"p{i:02d}.jpg")
                                   for i in range(30)] + [text]).with_every_part_shown()
        others = sum(len(p.data) for p in shown.parts if p.media_type != "image/jpeg")
        pictures = jpegs_totalling(BUDGET - others, 30)  # the parts' octets: a few under
        parts = [MessagePart("image/jpeg", data, content_id=f"p{i}",
                             content_location=f"p{i:02d}.jpg") for i, data in enumerate(pictures)]
        message = Message(envelope, parts + [text])
        assert BUDGET - 16 <= sum(len(p.data) for p in
                                  message.with_every_part_shown().parts) <= BUDGET
        done = await server.engine.submit(message, Interface.MM1)
        await notified(server, done.message_id)
        status, body = await fetch(server, pushed_token(server, FEATURE_PHONE))
        assert status == 200
        assert len(body) <= BUDGET, f"m-retrieve-conf of {len(body)} octets for {BUDGET}"
        got = decode(body)
        assert got.retrieve_status is None
        assert sum(1 for p in got.parts if p.content_type.media_type == "image/jpeg") == 30


def test_the_plan_never_underestimates_the_encoded_message() -> None:
    """A hundred small parts (each with its Content-ID and Content-Location) and a SMIL: the
    size the plan reckons with is at least the m-retrieve-conf's octets, headers and
    per-part headers included, so that a plan that fits is a message that fits."""
    from datetime import datetime, timezone

    from adaptation.plan import MediaPart, Plan
    from mmsc.mms_body import to_pdu
    from mmsc.pdu import MessageType

    parts = [MessagePart.from_text(f"line {i}", content_id=f"t{i:03d}") for i in range(100)]
    for i, part in enumerate(parts):
        part.content_location = f"text-{i:03d}.txt"
    message = Message(Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{D}/TYPE=PLMN"],
                               subject="A hundred lines"), parts).with_every_part_shown()
    pdu = to_pdu(message, MessageType.RETRIEVE_CONF)
    pdu.transaction_id, pdu.message_id = "T" * 22, "M" * 32
    pdu.date = datetime.now(timezone.utc)
    planned = Plan([MediaPart(p.content_type, p.data, p.content_id, p.content_location,
                              p.charset) for p in message.parts])
    assert planned.size >= len(encode(pdu))


# -- re-notification back-off, then the link SMS -----------------------------------------------------


async def test_renotification_at_each_backoff_step_then_the_link(tmp_path: Path) -> None:
    """``renotify_backoff = [60, 300, 1800]``: attempt 1 at acceptance, attempt 2 60 s later,
    attempt 3 300 s after that, attempt 4 1800 s after that, then every 1800 s (the last
    step repeats). Each step is due at its instant and not a millisecond before. At
    ``fallback_after`` after acceptance the next step is the link SMS instead."""
    cfg = config(tmp_path)
    cfg.delivery.renotify_backoff = [60, 300, 1800]
    cfg.delivery.fallback_after = 60 + 300 + 1800 + 1800
    async with running(cfg) as server:
        clock = hold_time(server)
        start = clock.now
        conf = decode((await post(server, encode(send_req(
            to=[EncodedString(f"{NOBODY}/TYPE=PLMN")]))))[1])
        state = server.engine.state

        async def recipient():  # type: ignore[no-untyped-def]
            (r,) = await state.recipients_of(conf.message_id)
            return r

        def pushes() -> int:
            return sum(1 for sms in server.smsc.received
                       if sms.destination.lstrip("+") == NOBODY.lstrip("+") and sms.ports)

        assert await server.engine.run_due() == 1
        r = await recipient()
        assert (r.state, r.attempts, pushes()) == (S.NOTIFIED, 1, 1)
        assert r.next_attempt_at == pytest.approx(start + 60, rel=0, abs=1e-6)
        expected_at = start + 60
        for attempt, wait in ((2, 300), (3, 1800), (4, 1800)):
            clock.now = expected_at - 0.001
            assert await server.engine.run_due() == 0
            assert (await recipient()).attempts == attempt - 1
            clock.now = expected_at
            assert await server.engine.run_due() == 1
            r = await recipient()
            assert (r.state, r.attempts) == (S.NOTIFIED, attempt)
            assert r.next_attempt_at == pytest.approx(expected_at + wait, rel=0, abs=1e-6)
            for _ in range(100):  # the SMSC emulator records the push on its own task
                if pushes() == attempt:
                    break
                await asyncio.sleep(0.01)
            assert pushes() == attempt
            expected_at += wait
        assert expected_at == pytest.approx(start + cfg.delivery.fallback_after, rel=0, abs=1e-6)
        clock.now = expected_at
        assert await server.engine.run_due() == 1
        r = await recipient()
        assert r.state == S.FALLBACK_SENT and r.viewer_token is not None
        for _ in range(100):
            texts = [sms.text for sms in server.smsc.received
                     if sms.destination.lstrip("+") == NOBODY.lstrip("+") and not sms.ports]
            if texts:
                break
            await asyncio.sleep(0.01)
        assert texts and "/v/" in (texts[0] or "") and pushes() == 4


# -- the PIN lockout ----------------------------------------------------------------------------------


async def test_pin_lockout_at_exactly_pin_attempts(tmp_path: Path) -> None:
    """``pin_attempts = 4``: after three wrong PINs the right one still opens the link; after
    four, the fourth answer says locked and the right PIN no longer opens it."""
    cfg = config(tmp_path)
    cfg.viewer.pin = True
    cfg.viewer.pin_attempts = 4
    async with running(cfg) as server:
        for wrong_ones, opens in ((3, True), (4, False)):
            message = picture()
            message.envelope.to = [f"{D}/TYPE=PLMN"]
            _, link, pin = await send_link(server, message)
            assert pin is not None
            wrong = "000000" if pin != "000000" else "111111"
            async with aiohttp.ClientSession(
                    cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                for n in range(1, wrong_ones + 1):
                    async with http.post(f"{link}/pin", data={"pin": wrong}) as response:
                        text = await response.text()
                        assert response.status == 403
                        if n < 4:
                            assert f"Tries left: {4 - n}." in text
                        else:
                            assert "this link is locked" in text
                async with http.post(f"{link}/pin", data={"pin": pin},
                                     allow_redirects=False) as response:
                    assert response.status == (303 if opens else 403)
                async with http.get(link) as response:
                    page = await response.text()
                    assert ("Wish you were here" in page) is opens
                    assert response.status == (200 if opens else 403)


# -- the viewer's 404 pace ---------------------------------------------------------------------------

#: How far apart the median answer times of the three kinds of link may be. The viewer sends
#: every 404 no sooner than GONE_AFTER (50 ms) after the request came in; the lookups behind
#: it take well under a millisecond, so honest medians differ by noise only. The margin is
#: wide so that a loaded machine does not fail the test; a kind answered without the wait
#: fails it (by GONE_AFTER against the floor below, whatever the load).
PACE_MARGIN = 0.025
ROUNDS = 12


async def test_unknown_expired_and_withdrawn_links_answer_at_one_pace(tmp_path: Path) -> None:
    """The README's promise: unknown, expired and withdrawn links get the same 404 at the same
    pace. Measured over interleaved requests (each round one of each kind, in turn), the
    median times of the three kinds are within PACE_MARGIN of each other, and none is
    answered before GONE_AFTER."""
    async with running(config(tmp_path)) as server:
        links = {}
        for kind in ("expired", "withdrawn"):
            message = picture()
            message.envelope.to = [f"{D}/TYPE=PLMN"]
            message_id, links[kind], _ = await send_link(server, message)
            (r,) = await server.engine.state.recipients_of(message_id)
            now = server.engine.clock()
            if kind == "expired":
                await server.engine.state.transition(r.id, expected=[r.state], to=r.state,
                                                     now=now, kind="test",
                                                     viewer_expires_at=now - 1)
            else:
                await server.engine.state.transition(r.id, expected=[r.state], to=S.REJECTED,
                                                     now=now, kind="test")
        base = links["expired"].rsplit("/", 1)[0]
        times: dict[str, list[float]] = {"unknown": [], "expired": [], "withdrawn": []}
        async with aiohttp.ClientSession() as http:
            for n in range(ROUNDS):
                order = ["unknown", "expired", "withdrawn"]
                order = order[n % 3:] + order[:n % 3]
                for kind in order:
                    url = links.get(kind) or f"{base}/{'Q' * 20}{n:02d}"
                    started = time.perf_counter()
                    async with http.get(url) as response:
                        await response.read()
                    times[kind].append(time.perf_counter() - started)
                    assert response.status == 404
        medians = {kind: statistics.median(values) for kind, values in times.items()}
        assert min(min(values) for values in times.values()) >= GONE_AFTER, medians
        assert max(medians.values()) - min(medians.values()) < PACE_MARGIN, medians
