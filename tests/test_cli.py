"""The ``mmsc`` command line, run as a user runs it: a subprocess of the installed package."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
import sys
from pathlib import Path

import pytest

from mmsc.cli import main
from mmsc.pdu import decode
from wap_push.push import encode_push

VECTORS = Path(__file__).resolve().parent.parent / "fixtures" / "vectors"
ALL_PDUS = sorted(p.name for p in VECTORS.glob("*m-*.bin"))


def mmsc(*args: str, stdin: bytes | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mmsc", *args], input=stdin,
                          capture_output=True, timeout=60,
                          env={**os.environ, **env} if env else None)


def test_decode_json_shape() -> None:
    out = mmsc("decode", "--json", str(VECTORS / "mmsd-m-retrieve-conf-9.bin"))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["message_type"] == "m-retrieve-conf"
    assert doc["headers"]["X-Mms-Transaction-Id"] == "00000000216"
    assert doc["headers"]["X-Mms-MMS-Version"] == "1.3"
    assert doc["headers"]["Subject"] == {"text": "MMS-1.3-con-216", "charset": "us-ascii"}
    jpeg = doc["parts"][1]
    assert jpeg["content_type"] == "image/jpeg" and jpeg["size"] == 10934
    assert jpeg["headers"]["Content-ID"] == "<JPG160X120.jpg>" and len(jpeg["sha256"]) == 64
    assert doc["warnings"] == []


def test_decode_readable_view_from_stdin() -> None:
    data = (VECTORS / "mmsd-m-notification-ind-1.bin").read_bytes()
    out = mmsc("decode", "-", stdin=data)
    assert out.returncode == 0
    text = out.stdout.decode()
    assert "m-notification-ind (68 octets)" in text
    assert "X-Mms-Content-Location: http://eps3.de/O/Z9IZO" in text
    assert "X-Mms-Message-Class: Personal" in text


@pytest.mark.parametrize("name", ALL_PDUS)
def test_json_round_trip_through_encode(name: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """decode --json --data, then encode, gives a PDU that decodes to the same JSON.
    (In process, for speed: the subprocess tests above cover the entry point.)"""
    assert main(["decode", "--json", "--data", str(VECTORS / name)]) == 0
    first = json.loads(capsys.readouterr().out)
    (tmp_path / "pdu.json").write_text(json.dumps(first))
    assert main(["encode", str(tmp_path / "pdu.json"), "-o", str(tmp_path / "out.bin")]) == 0
    capsys.readouterr()
    assert main(["decode", "--json", "--data", str(tmp_path / "out.bin")]) == 0
    second = json.loads(capsys.readouterr().out)
    first.pop("warnings"), second.pop("warnings")
    assert first == second


def test_extract_writes_parts_and_encode_reads_them(tmp_path: Path) -> None:
    src = VECTORS / "pymessaging-m-send-req-4.bin"
    out = mmsc("decode", "--json", "--extract", str(tmp_path / "parts"), str(src))
    doc = json.loads(out.stdout)
    files = [Path(p["file"]) for p in doc["parts"]]
    assert [f.name for f in files] == ["part-0", "part-1", "part-2", "part-3"]
    assert files[1].read_bytes() == b"Hej hopp"
    (tmp_path / "pdu.json").write_text(json.dumps(doc))
    enc = mmsc("encode", str(tmp_path / "pdu.json"))
    assert enc.returncode == 0 and enc.stdout == src.read_bytes()


def test_encode_hand_written_json(tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_bytes(b"Hello")
    doc = {"message_type": "m-send-req",
           "headers": {"X-Mms-Transaction-Id": "T1", "X-Mms-MMS-Version": "1.2",
                       "From": "<insert-address>", "To": ["+33600000001/TYPE=PLMN"],
                       "Subject": "Bonjour é", "X-Mms-Expiry": {"relative": 3600},
                       "Content-Type": "application/vnd.wap.multipart.mixed"},
           "parts": [{"content_type": {"media_type": "text/plain",
                                       "params": {"charset": "utf-8"}},
                      "headers": {"Content-ID": "<t>"}, "file": "hello.txt"}]}
    (tmp_path / "req.json").write_text(json.dumps(doc))
    enc = mmsc("encode", str(tmp_path / "req.json"), "--push")
    assert enc.returncode == 0, enc.stderr
    assert enc.stdout[:7] == bytes.fromhex("000603beaf848c")  # push, then X-Mms-Message-Type
    dec = mmsc("decode", "--json", "--push", "-", stdin=enc.stdout)
    back = json.loads(dec.stdout)
    assert back["push"]["headers"] == {"X-Wap-Application-Id": 4}
    assert back["headers"]["Subject"] == {"text": "Bonjour é", "charset": "utf-8"}
    assert back["parts"][0]["size"] == 5


def test_encode_warns_and_strict_refuses(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps(
        {"message_type": "m-notification-ind", "headers": {"X-Mms-Transaction-Id": "x"}}))
    loose = mmsc("encode", str(tmp_path / "bad.json"))
    assert loose.returncode == 0 and b"lacks the mandatory X-Mms-Content-Location" in loose.stderr
    strict = mmsc("encode", "--strict", str(tmp_path / "bad.json"))
    assert strict.returncode == 2 and strict.stdout == b""


@pytest.mark.parametrize("doc,message", [
    ("{not json", b"not JSON"),
    ('{"headers": {}}', b"message_type"),
    ('{"message_type": "m-bogus"}', b"not a MessageType"),
    ('{"message_type": "m-send-conf", "headers": {"X-Mms-Message-Size": "big"}}', b"integer"),
])
def test_encode_rejects_bad_json(doc: str, message: bytes, tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(doc)
    out = mmsc("encode", str(tmp_path / "x.json"))
    assert out.returncode == 2 and message in out.stderr
    assert b"Traceback" not in out.stderr and len(out.stderr.splitlines()) == 1


def test_malformed_pdu_is_one_line_with_offset(tmp_path: Path) -> None:
    data = (VECTORS / "mmsd-m-retrieve-conf-4.bin").read_bytes()[:50]
    out = mmsc("decode", "-", stdin=data)
    assert out.returncode == 2
    assert out.stderr == b"mmsc decode: From: value length 24 exceeds the 6 octets left at offset 43\n"


def test_invalid_utf8_text_survives_json(tmp_path: Path) -> None:
    """Text octets that are not UTF-8 print as JSON escapes and encode back to the same text
    octets (written strictly: with the Quote before a first octet >= 0x80)."""
    pdu = bytes.fromhex("8c 81 98 ff fe 00 8d 92 92 80 93 c3 28 00".replace(" ", ""))
    out = mmsc("decode", "--json", "-", stdin=pdu)
    assert out.returncode == 0, out.stderr
    assert b'"X-Mms-Transaction-Id": "\\udcff\\udcfe"' in out.stdout
    (tmp_path / "x.json").write_bytes(out.stdout)
    again = mmsc("encode", str(tmp_path / "x.json"))
    assert again.returncode == 0
    assert decode(again.stdout).transaction_id.encode("utf-8", "surrogateescape") == b"\xff\xfe"
    assert decode(again.stdout) == decode(pdu)
    assert mmsc("decode", "-", stdin=pdu).returncode == 0


def test_missing_file() -> None:
    out = mmsc("decode", "/nonexistent/file.bin")
    assert out.returncode == 2 and b"No such file" in out.stderr and b"Traceback" not in out.stderr


def test_decode_push_from_sms_user_data() -> None:
    """SMS user data: UDH with 16-bit ports 2948/9200 (`06 05 04 0B 84 23 F0`), then the push."""
    push = (VECTORS / "mmsd-wap-push-1.bin").read_bytes()
    out = mmsc("decode", "--json", "--push", "-", stdin=bytes.fromhex("0605040b8423f0") + push)
    doc = json.loads(out.stdout)
    assert doc["push"]["udh"] == {"ports": {"destination": 2948, "source": 9200}}
    assert doc["push"]["headers"] == {"X-Wap-Application-Id": 4, "Push-Flag": 6}
    assert doc["headers"]["X-Mms-Transaction-Id"] == "OgQKKB"


def test_decode_push_refuses_one_segment_of_many() -> None:
    udh = bytes.fromhex("0b05040b8423f00003a70201")
    out = mmsc("decode", "--push", "-", stdin=udh + b"\x01\x06\x00")
    assert out.returncode == 2 and b"segment 1 of 2" in out.stderr


def test_decode_push_of_other_content() -> None:
    out = mmsc("decode", "--push", str(VECTORS / "pymessaging-wap-push-si-1.bin"))
    assert out.returncode == 2 and b"application/vnd.wap.sic" in out.stderr


def test_serve_refuses_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "mmsc.toml"
    bad.write_text("[http]\nport = \"eighty\"\n")
    out = mmsc("serve", "--config", str(bad))
    assert out.returncode == 2 and b"[http].port" in out.stderr
    bad.write_text("[smsc]\nmode = \"carrier-pigeon\"\n")
    assert b"carrier-pigeon" in mmsc("serve", "--config", str(bad)).stderr


@pytest.mark.parametrize("url", ["mysql://mmsc:s3cret@127.0.0.1:3306/mmsc", "sqlite://x.db",
                                 "sqlite:///", "mmsc.db", "postgresql://"])
def test_serve_refuses_a_state_url_it_cannot_use(tmp_path: Path, url: str) -> None:
    """One line naming the setting, exit status 2, and never the URL's password."""
    config, empty = tmp_path / "mmsc.toml", tmp_path / "empty.toml"
    config.write_text(f"[state]\nurl = \"{url}\"\n")
    empty.write_text("")
    for out in (mmsc("serve", "--config", str(config)),
                mmsc("serve", "--config", str(empty), env={"MMSC_STATE_URL": url})):
        assert out.returncode == 2, out.stderr
        assert b"[state] url" in out.stderr and b"Traceback" not in out.stderr
        assert b"s3cret" not in out.stderr and len(out.stderr.splitlines()) == 1


def test_serve_gives_up_on_an_unreachable_database(tmp_path: Path) -> None:
    """Nothing listens at the PostgreSQL URL: after [state] connect_timeout, one line naming
    the URL without its password, exit status 2."""
    from helpers.s3servers import free_port
    port = free_port()
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    out = mmsc("serve", "--config", str(empty), "--no-demo", env={
        "MMSC_STATE_URL": f"postgresql://mmsc:s3cret@127.0.0.1:{port}/mmsc",
        "MMSC_STATE_CONNECT_TIMEOUT": "1", "MMSC_HTTP_PORT": "0", "MMSC_SMSC_PORT": "0",
        "MMSC_STORAGE_PATH": str(tmp_path / "objects")})
    assert out.returncode == 2, out.stderr
    last = out.stderr.decode().splitlines()[-1]
    assert last.startswith("mmsc serve: state store ") and "unreachable" in last
    assert f"postgresql://mmsc@127.0.0.1:{port}/mmsc" in last
    assert b"s3cret" not in out.stderr and b"Traceback" not in out.stderr


async def test_smsc_command_prints_each_sms_decoded() -> None:
    """`mmsc smsc` alone: an ESME sends a push and a text; one line each, decoded."""
    from datetime import timedelta

    from mmsc.pdu import MessageClass, MessageType, MmsPdu, encode
    from wap_push.smpp_client import SmppClient, SmppConfig

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mmsc", "smsc", "--port", "0", "--account", "mmsc:secret",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        port = int(first.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
        client = SmppClient(SmppConfig(port=port, system_id="mmsc", password="secret"))
        await client.start()
        notification = encode(MmsPdu(MessageType.NOTIFICATION_IND, "T42", "1.2",
                                     message_class=MessageClass.PERSONAL, message_size=321,
                                     expiry=timedelta(hours=1),
                                     content_location="http://mmsc.test/m/abc"))
        await client.send_push("+33600000009", encode_push(notification))
        await client.send_text("+33600000009", "Hé {là}")
        await client.close()
        push_line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        text_line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
    finally:
        proc.terminate()
        await proc.wait()
    assert "mmsc MMSC -> +33600000009 push m-notification-ind tid=T42" in push_line
    assert "size=321 url=http://mmsc.test/m/abc" in push_line
    assert 'text "Hé {là}"' in text_line

async def test_smsc_command_receipt_style_and_undeliverable_numbers() -> None:
    """`mmsc smsc --receipts minimal --undeliverable N`: a bare ``id: stat:`` receipt, UNDELIV
    for N (whose SMS is printed all the same: it reached the SMSC)."""
    from wap_push.smpp import Receipt
    from wap_push.smpp_client import SmppClient, SmppConfig

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mmsc", "smsc", "--port", "0", "--receipts", "minimal",
        "--undeliverable", "+33600000009", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    receipts: list[Receipt] = []
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        port = int(first.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
        client = SmppClient(SmppConfig(port=port), on_receipt=receipts.append)
        await client.start()
        [lost] = await client.send_text("+33600000009", "one")
        [fine] = await client.send_text("+33600000001", "two")
        async with asyncio.timeout(10):
            while len(receipts) < 2:
                await asyncio.sleep(0.01)
        await client.close()
    finally:
        proc.terminate()
        await proc.wait()
    assert sorted((r.message_id, r.state, r.error) for r in receipts) == \
        sorted([(lost, "UNDELIV", "000"), (fine, "DELIVRD", "000")])  # minimal: no err field


def test_adapt_previews_a_device_class(tmp_path: Path) -> None:
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.effect_mandelbrot((1200, 900), (-2, -1.2, 1, 1.2), 40).convert("RGB").save(photo)
    note = tmp_path / "note.txt"
    note.write_text("Hello", encoding="utf-8")
    out = mmsc("adapt", "--profile", "basic-2005", str(photo), str(note), "-o",
               str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert "photo.jpg: image/jpeg" in text and "basic-2005:" in text
    from PIL import Image as Reopen
    assert max(Reopen.open(tmp_path / "out" / "photo.jpg").size) <= 160
    assert (tmp_path / "out" / "note.txt").read_text() == "Hello"
    bad = mmsc("adapt", "--profile", str(note), str(photo), "-o", str(tmp_path / "x"))
    assert bad.returncode == 2


def test_adapt_transcodes_video_and_audio_and_rewrites_the_smil(tmp_path: Path) -> None:
    """A feature phone (3GP, AMR, 100 KB): the MP4 becomes clip.3gp, the WAV tone.amr, and
    the SMIL given with them names the new files."""
    from adaptation.ffmpeg import Ffmpeg
    from helpers.media import ffmpeg, wav

    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24:duration=5", "-f", "lavfi",
           "-i", "sine=duration=5", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
           str(clip))
    (tmp_path / "tone.wav").write_bytes(wav(3.0))
    (tmp_path / "show.smil").write_bytes(
        b'<smil><body><par dur="5s"><video src="clip.mp4"/><audio src="tone.wav"/></par>'
        b"</body></smil>")
    out = mmsc("adapt", "--profile", "feature-2007", str(clip), str(tmp_path / "tone.wav"),
               str(tmp_path / "show.smil"), "-o", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert "clip.3gp: video/3gpp" in text and "tone.amr: audio/amr" in text
    result = tmp_path / "out"
    video = Ffmpeg().probe(result / "clip.3gp")
    assert video.video is not None and (video.video.codec, video.video.width) == ("h263", 176)
    assert (result / "tone.amr").read_bytes().startswith(b"#!AMR\n")
    smil = (result / "show.smil").read_bytes()
    assert b'src="clip.3gp"' in smil and b'src="tone.amr"' in smil


def test_serve_prints_the_console_and_its_operator(tmp_path: Path) -> None:
    """``make run``: where the console is, with a password made up for the run (or the
    configured operator's)."""
    import socket

    def port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    config = tmp_path / "mmsc.toml"
    base = (f'[http]\nport = {port()}\n[smsc]\nport = {port()}\n[storage]\npath = '
            f'"{tmp_path / "objects"}"\n[state]\nurl = "sqlite:///{tmp_path / "mmsc.db"}"\n'
            f'[cdr]\npath = "{tmp_path / "cdr"}"\n')
    for extra, name, password in (("", "admin", None),
                                  ('[[operator]]\nname = "noc"\npassword = "pw"\n', "noc", "pw")):
        config.write_text(base + extra)
        server = subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--no-demo",
                                   "--config", str(config)], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        try:
            assert server.stdout is not None
            line = ""
            while "console" not in line:
                line = server.stdout.readline().decode()
                assert line, "serve stopped before naming the console"
        finally:
            server.terminate()
            server.wait(10)
        found = re.search(r"console at (http://\S+/console/) .*operator (\S+), password (\S+)",
                          line)
        assert found is not None, line
        assert found.group(2) == name
        assert found.group(3) == password if password else len(found.group(3)) >= 12


@pytest.mark.parametrize("level, steps_logged", [("info", True), ("warning", False)])
def test_serve_logs_at_the_configured_level(tmp_path: Path, level: str,
                                            steps_logged: bool) -> None:
    """`[log] level`: at info each step of the demo's message is a line; at warning none is,
    and the server runs all the same (its banner goes to stdout either way)."""
    from helpers.s3servers import free_port
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    env = {**os.environ, "MMSC_LOG_LEVEL": level.upper(), "MMSC_HTTP_PORT": "0",
           "MMSC_SMSC_PORT": str(free_port()), "MMSC_STORAGE_PATH": str(tmp_path / "objects"),
           "MMSC_STATE_URL": f"sqlite:///{tmp_path / 'mmsc.db'}", "MMSC_CDR_PATH": ""}
    proc = subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--config", str(empty)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=tmp_path)
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith(b"Ctrl-C"):
                break
        time.sleep(2)  # the demo's message goes its way
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -15), err
    assert (b" accepted " in err) is steps_logged, err[-2000:]
    assert b"Traceback" not in err
