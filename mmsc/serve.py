"""``mmsc serve``: run the MMSC until interrupted, print where it listens and who is on it, and
(in emulator mode) start the demo: the first emulated handset sends an MMS to every other
one, so each behaviour shows its path through the log."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import secrets
import signal

from PIL import Image, ImageDraw

from mmsc.config import Config, OperatorConfig
from mmsc.message import RELATED, Envelope, Message, MessagePart
from mmsc.server import Server
from mmsc.smil import build_smil, default_presentation
from mmsc.workers import Workers, worker_config

log = logging.getLogger("mmsc.demo")


def demo_message(sender: str, recipients: list[str]) -> Message:
    """A picture with a caption and its SMIL, as a handset would compose it."""
    image = Image.new("RGB", (176, 144), (250, 200, 60))
    ImageDraw.Draw(image).ellipse((48, 32, 128, 112), fill=(230, 90, 30))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    parts = [MessagePart("image/jpeg", out.getvalue(), content_id="sun",
                         content_location="sun.jpg"),
             MessagePart.from_text("Hello from the mmsc demo!", content_id="caption",
                                   content_location="caption.txt")]
    smil = MessagePart("application/smil", build_smil(default_presentation(parts)),
                       content_id="smil", content_location="smil.xml")
    return Message(Envelope(originator=f"{sender}/TYPE=PLMN", subject="mmsc demo",
                            to=[f"{r}/TYPE=PLMN" for r in recipients], delivery_report=True),
                   [smil, *parts], multipart=RELATED, start="smil")


async def run(config: Config, *, demo: bool = True) -> None:
    generated = None
    if not config.operators:  # the console and the API need one: made up for this run
        generated = OperatorConfig("admin", secrets.token_urlsafe(12))
        config.operators = [generated]
    server = Server(config)
    await server.start()
    workers = None
    try:
        if config.http.workers > 1:
            workers = Workers(worker_config(config, server.port, server.smsc_ports),
                              config.http.workers - 1)
            await workers.start()
        public = server.engine.settings.public_url
        print(f"mmsc is running: MM1 at {server.url}/mms, content at {public}/m/<token>, "
              f"web viewer at {public}/v/<token>, health at {server.url}/healthz")
        operator = config.operators[0]
        print(f"operator console at {server.url}/console/ (API at {server.url}/api/v1/): "
              f"operator {operator.name}, password {operator.password}"
              + (" (made up for this run: [[operator]] in the config sets your own)"
                 if generated else ""))
        if server.smsc is not None and server.handsets is not None:
            print("SMSC emulators: " + ", ".join(f"route {name} on SMPP port {port}"
                                                 for name, port in server.smsc_ports.items())
                  + "; emulated handsets:")
            for number, handset in server.handsets.handsets.items():
                print(f"  {number}  {handset.behaviour}")
        else:
            print("SMSC routes over SMPP: " + ", ".join(
                f"{r.name} {r.host}:{r.port}" for r in config.smscs))
        if workers is not None:
            print(f"{config.http.workers} processes serve the port: this one ({os.getpid()}) "
                  f"and {', '.join(map(str, workers.pids))}")
        print("Ctrl-C stops it.", flush=True)
        if demo and server.handsets is not None and len(server.handsets.handsets) > 1:
            sender, *others = server.handsets.handsets.values()
            message = demo_message(sender.msisdn, [h.msisdn for h in others])
            conf = await sender.send(message, server.handsets.http)
            log.info("demo: %s sent an MMS to %s: %s %s", sender.msisdn,
                     ", ".join(h.msisdn for h in others),
                     getattr(conf.response_status, "label", conf.response_status),
                     conf.message_id)
        stop = asyncio.Event()  # SIGTERM (docker stop, a supervisor) closes everything in order
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
    finally:
        if workers is not None:
            await workers.close()
        await server.close()
