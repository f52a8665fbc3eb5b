"""The event loop a server process runs ([http] event_loop)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from mmsc import loops
from mmsc.config import ConfigError, load


async def _kind() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_each_choice_runs_on_its_loop() -> None:
    assert loops.run(_kind(), "asyncio").startswith("asyncio")
    assert loops.run(_kind(), "uvloop") == "uvloop"
    assert loops.run(_kind(), "auto") == "uvloop"  # installed with the test extra


def test_uvloop_asked_for_but_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import fails
    with pytest.raises(RuntimeError, match="uvloop is not installed"):
        loops.loop_factory("uvloop")
    assert loops.loop_factory("auto") is None


def test_an_unknown_loop_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="event_loop 'trio'"):
        load(None, {"MMSC_HTTP_EVENT_LOOP": "trio"})


def test_a_whole_delivery_on_uvloop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One MMS from handset to handset with its delivery report, the server, the SMSC
    emulator (SMPP, smpplib threads) and the handsets all on uvloop's loop."""
    from mmsc.config import Config, SubscriberConfig
    from mmsc.message import Envelope, Message, MessagePart
    from mmsc.pdu import MessageType
    from mmsc.server import Server

    a, b = "+33611111111", "+33622222222"
    config = Config()
    config.http.port = config.smsc.port = 0
    config.storage.path = str(tmp_path / "objects")
    config.state.url = f"sqlite:///{tmp_path / 'mmsc.db'}"
    config.delivery.scheduler_interval = 0.05
    config.subscribers = [SubscriberConfig(a), SubscriberConfig(b)]

    async def deliver() -> tuple[str, list[int]]:
        server = Server(config)
        await server.start()
        try:
            sender = server.handsets.handsets[a]
            message = Message(Envelope(originator=f"{a}/TYPE=PLMN", to=[f"{b}/TYPE=PLMN"],
                                       delivery_report=True), [MessagePart.from_text("hi")])
            await sender.send(message, server.handsets.http)
            await sender.wait_for(lambda h: bool(h.reports), timeout=20)
            inbox = server.handsets.handsets[b].inbox
            return await _kind(), [r.message_type for r in sender.reports] + [len(inbox)]
        finally:
            await server.close()

    kind, seen = loops.run(deliver(), "uvloop")
    assert kind == "uvloop" and seen == [MessageType.DELIVERY_IND, 1]
