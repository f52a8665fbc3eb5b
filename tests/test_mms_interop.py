"""mmsc against MMS that someone else's encoder wrote: python-messaging (the PyPI package,
which `make test` installs into .cache/pypi), run as a subprocess by tests/peers/mms_encoder.py.
Its M-Send.req goes to mmsc's MM1 over HTTP on loopback, and is retrieved by a handset that
sends only a bare ``Accept`` header, or reached through the web viewer."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from mmsc.config import SubscriberConfig
from mmsc.mms_body import from_pdu
from mmsc.pdu import MessageType, ResponseStatus, decode
from mmsc.server import Server
from mmsc.smil import parse_smil, resolve
from mmsc.state import RecipientState

from test_loop import A, D, config, notified, pushed_token, running
from test_viewer import beach, link_stored

ROOT = Path(__file__).resolve().parent.parent
PYPI = ROOT / ".cache" / "pypi"
PEER = ROOT / "tests" / "peers" / "mms_encoder.py"
PHONE = "+33677777777"  # an MMS phone with no configured profile that fetches when told
TEXT = "Bonjour €"
MMS = {"Content-Type": "application/vnd.wap.mms-message"}


def foreign_send_req(folder: Path, to: str, slides: list[dict[str, str]],
                     subject: str = "Salut") -> bytes:
    """The M-Send.req python-messaging writes for ``slides`` ({"image": name of a picture
    it finds in ``folder``, "text": words}), from A to ``to``."""
    assert (PYPI / "messaging").is_dir(), \
        "python-messaging is needed: `make test` installs it (scripts/test-peers.sh)"
    spec = {"from": f"{A}/TYPE=PLMN", "to": f"{to}/TYPE=PLMN", "subject": subject,
            "slides": [{**slide, **({"image": str(folder / slide["image"])}
                                    if "image" in slide else {})} for slide in slides]}
    done = subprocess.run([sys.executable, str(PEER)], input=json.dumps(spec).encode(),
                          capture_output=True, timeout=60, check=True,
                          env={**os.environ, "PYTHONPATH": str(PYPI)})
    return done.stdout


def photo(folder: Path, name: str = "photo.jpg") -> Path:
    """A 320x200 JPEG photo named ``name`` in ``folder``."""
    out = io.BytesIO()
    Image.open(io.BytesIO(beach())).convert("RGB").save(out, "JPEG")
    (folder / name).write_bytes(out.getvalue())
    return folder / name


async def post_mm1(server: Server, body: bytes) -> str:
    """``body`` sent to MM1 as a handset does (through the WAP gateway, which names A); the
    message id of its M-Send.conf."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/mms", data=body,
                             headers={**MMS, "X-MSISDN": A}) as response:
            conf = decode(await response.read())
    assert conf.message_type == MessageType.SEND_CONF
    assert conf.response_status == ResponseStatus.OK, conf.response_text
    assert conf.message_id
    return conf.message_id


async def viewer_link(server: Server, body: bytes) -> tuple[str, str]:
    """``body`` sent over MM1 to the phone without MMS (D): the message id, and the web
    link of the SMS it gets."""
    phone = server.handsets.handsets[D]
    before = len(phone.texts)
    message_id = await post_mm1(server, body)
    await phone.wait_for(lambda h: len(h.texts) > before)
    await link_stored(server, message_id)
    return message_id, next(word for word in phone.texts[-1].split() if "/v/" in word)


def photo_and_words(tmp_path: Path, to: str, *, shout: bool = False) -> bytes:
    """One slide, a photo and words, as python-messaging writes it: the words are the
    text's own ``src``, the text part has no Content-ID or Content-Location. ``shout``:
    the SMIL names the photo in capitals (PHOTO.JPG), as clients that upper-case file
    names do (same length, so the octets around it stay valid)."""
    photo(tmp_path)
    pdu = foreign_send_req(tmp_path, to, [{"image": "photo.jpg", "text": TEXT}])
    assert f'<text src="{TEXT}"'.encode() in pdu  # what makes it a test of this encoder
    return pdu.replace(b'src="photo.jpg"', b'src="PHOTO.JPG"') if shout else pdu


@pytest.mark.parametrize("accept", [
    "application/vnd.wap.mms-message",
    "*/*, application/vnd.wap.mms-message, application/vnd.wap.sic",
])
async def test_a_bare_accept_header_gets_the_picture_and_a_smil_naming_every_part(
        tmp_path: Path, accept: str) -> None:
    """python-messaging's M-Send.req retrieved by a handset with no profile and no known
    User-Agent that sends only an MMS Accept header: the JPEG arrives as a JPEG the
    conservative class takes (not the notice that no image format is accepted), and the
    SMIL of the M-Retrieve.conf names the text part where python-messaging wrote the words."""
    cfg = config(tmp_path)
    cfg.subscribers = [SubscriberConfig(A), SubscriberConfig(PHONE, behaviour="offline")]
    async with running(cfg) as server:
        message_id = await post_mm1(server, photo_and_words(tmp_path, PHONE))
        r = await notified(server, message_id)
        async with aiohttp.ClientSession(skip_auto_headers=["User-Agent"]) as http:
            async with http.get(f"{server.url}/m/{pushed_token(server, r.address)}",
                                headers={"Accept": accept}) as response:
                got = decode(await response.read())
    assert got.message_type == MessageType.RETRIEVE_CONF and got.retrieve_status is None
    parts = from_pdu(got).parts
    (image,) = [p for p in parts if p.media_type.startswith("image/")]
    assert image.media_type == "image/jpeg"
    picture = Image.open(io.BytesIO(image.data))
    assert picture.format == "JPEG" and picture.size[0] <= 160 and picture.size[1] <= 120
    texts = [p.decoded_text()[0] for p in parts if p.media_type == "text/plain"]
    assert texts == [TEXT]
    (smil,) = [p for p in parts if p.is_smil]
    shown = [resolve(media.src, parts) for slide in parse_smil(smil.data).slides
             for media in slide.media]
    assert all(part is not None for part in shown)
    assert {id(p) for p in shown} == {id(p) for p in parts if not p.is_smil}
    assert [media.kind for media in parse_smil(smil.data).slides[0].media] == ["img", "text"]


@pytest.mark.parametrize("shout", [False, True])
async def test_the_viewer_shows_the_text_a_foreign_smil_does_not_reference(
        tmp_path: Path, shout: bool) -> None:
    """The same message for a phone without MMS: the web page shows the words on the
    slide with the photo, and says nothing is missing."""
    async with running(config(tmp_path)) as server:
        message_id, link = await viewer_link(server, photo_and_words(tmp_path, D, shout=shout))
        async with aiohttp.ClientSession() as http:
            async with http.get(link) as response:
                page = await response.text()
        (r,) = await server.engine.state.recipients_of(message_id)
    assert response.status == 200 and r.state == RecipientState.ACKNOWLEDGED
    assert "class=\"notice\"" not in page and "is missing" not in page
    first = page[page.index('id="slide-1"'):]
    first = first[:first.index("</section>")]
    assert f'<p class="text">{TEXT}</p>' in first and "<img" in first
