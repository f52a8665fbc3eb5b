"""Audio, video and whole messages adapted for every fixture device class, with real media
made by ffmpeg (lavfi sources) and Pillow. Every result is probed again (container, codecs,
frame size, duration) or re-opened, and the encoded m-retrieve-conf must fit the profile's
MmsMaxMessageSize."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from adaptation.ffmpeg import Ffmpeg, MediaError, WorkFolder
from adaptation.media import TARGETS, MediaLimits, adapt_media
from adaptation.plan import MediaPart, Plan, plan
from adaptation.probe import ProbeError, brand_of, parse_probe
from adaptation.uaprof import DeviceProfile
from helpers.media import (amr, animated_gif, ffmpeg, photo, png_with_alpha, video_1080p,
                           wav)
from mmsc.message import Envelope, Message, MessagePart
from mmsc.mms_body import to_pdu
from mmsc.pdu import MessageType, encode
from mmsc.server import PROFILES, load_profiles

DEVICES = load_profiles(PROFILES)
TOOLS = Ffmpeg()
SMIL = (b'<smil><body><par dur="5s"><ref src="part"/><text src="note.txt"/></par>'
        b"</body></smil>")


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    folder = tmp_path_factory.mktemp("media")
    return {"photo.jpg": ("image/jpeg", photo()), "logo.png": ("image/png", png_with_alpha()),
            "anim.gif": ("image/gif", animated_gif()),
            "clip.mp4": ("video/mp4", video_1080p(folder)), "tone.wav": ("audio/wav", wav())}


def probe(data: bytes):  # type: ignore[no-untyped-def]
    with WorkFolder() as work:
        return TOOLS.probe(work.write("result", data))


def encoded_size(result: Plan) -> int:
    """Octets of the m-retrieve-conf the handset would get for these parts."""
    message = Message(Envelope(originator="+33611111111/TYPE=PLMN", subject="Campaign",
                               to=["+33622222222/TYPE=PLMN"]),
                      [MessagePart(p.content_type, p.data, charset=p.charset,
                                   content_id=p.content_id, content_location=p.content_location)
                       for p in result.parts], multipart="related", start="smil")
    pdu = to_pdu(message, MessageType.RETRIEVE_CONF)
    pdu.transaction_id = "a" * 22
    pdu.message_id = "0" * 32
    return len(encode(pdu))


def takes_any(profile: DeviceProfile, kind: str, original: str) -> bool:
    if kind == "image":
        return any(profile.accepts(m) for m in ("image/jpeg", "image/png", "image/gif",
                                                "image/vnd.wap.wbmp"))
    return profile.accepts(original) or any(profile.accepts(m) for m in TARGETS
                                            if m.startswith(kind))


def check_image(part: MediaPart, profile: DeviceProfile, original: str) -> None:
    image = Image.open(io.BytesIO(part.data))
    image.load()
    assert profile.accepts(part.content_type)
    assert Image.MIME.get(image.format or "") == part.content_type
    assert image.size[0] <= profile.max_image[0] and image.size[1] <= profile.max_image[1]
    if original == "image/gif" and profile.accepts("image/gif"):
        assert image.n_frames == 6  # kept animated


def check_media(part: MediaPart, profile: DeviceProfile, seconds: float, report: str) -> None:
    info = probe(part.data)
    assert info.media_type == part.content_type and profile.accepts(part.content_type)
    target = TARGETS.get(part.content_type)
    if target is not None:
        assert info.audio is not None and info.audio.codec in target.audio_codecs
    if part.content_type == "audio/amr" or part.content_type == "video/3gpp":
        assert info.audio is not None and (info.audio.sample_rate, info.audio.channels) == (
            8000, 1)
    if info.video is not None:
        assert target is not None and info.video.codec in target.video_codecs
        width, height = info.video.width or 0, info.video.height or 0
        if part.content_type == "video/3gpp":
            assert (width, height) in ((176, 144), (128, 96))
        else:
            box = max(profile.max_image), min(profile.max_image)
            assert 0 < width <= min(box[0], 1280) and 0 < height <= min(box[1], 720)
            assert abs(width / height - 16 / 9) < 0.05  # the aspect is kept
    assert info.duration is not None
    if "trimmed" in report:
        assert 1.0 <= info.duration < seconds
    else:
        assert abs(info.duration - seconds) < 0.6


@pytest.mark.parametrize("device", sorted(DEVICES))
@pytest.mark.parametrize("name", ["photo.jpg", "logo.png", "anim.gif", "clip.mp4", "tone.wav"])
def test_each_medium_for_each_device_class(samples: dict[str, tuple[str, bytes]], name: str,
                                           device: str) -> None:
    profile = DEVICES[device]
    media_type, data = samples[name]
    kind = media_type.split("/")[0]
    parts = [MediaPart("application/smil", SMIL.replace(b"part", name.encode()), "smil"),
             MediaPart(media_type, data, "m", name),
             MediaPart("text/plain", "Offre spéciale".encode(), "t", "note.txt", "utf-8")]
    result = plan(parts, profile, TOOLS)
    assert encoded_size(result) <= profile.max_message_size
    part = result.parts[1]
    report = " ".join(result.report)
    if not takes_any(profile, kind, media_type):
        assert part.content_type == "text/plain" and b"was removed" in part.data
        assert result.renames[name] == name + ".txt"
        return
    assert part.content_type != "text/plain", result.report
    if kind == "image":
        check_image(part, profile, media_type)
    else:
        check_media(part, profile, 20.0 if kind == "video" else 8.0, report)
    if part.content_location != name:
        assert result.renames[name] == part.content_location
        assert Path(part.content_location or "").suffix in (".jpg", ".png", ".gif", ".wbmp",
                                                           ".mp4", ".3gp", ".m4a", ".mp3",
                                                           ".amr")


@pytest.mark.parametrize("device", ["feature-2007", "smartphone-2009", "android-2018"])
def test_a_whole_campaign_message(samples: dict[str, tuple[str, bytes]], device: str) -> None:
    """Every sample in one message: the shares of the budget let each part through, as
    good as they can be, and the encoded message fits."""
    profile = DEVICES[device]
    parts = [MediaPart("application/smil", SMIL, "smil")] + [
        MediaPart(media_type, data, name, name) for name, (media_type, data) in samples.items()]
    result = plan(parts, profile, TOOLS)
    assert encoded_size(result) <= profile.max_message_size
    kept = {p.content_id: p for p in result.parts if p.content_type != "text/plain"}
    for name, (media_type, _) in samples.items():
        if name in kept:
            part = kept[name]
            if part.content_type.startswith("image/"):
                check_image(part, profile, media_type)
            else:
                check_media(part, profile, 20.0 if "video" in media_type else 8.0,
                            " ".join(r for r in result.report if r.startswith(name)))
    if device == "android-2018":  # 1 MB: everything is delivered
        assert set(kept) == {"smil", *samples}
    else:
        assert "clip.mp4" in kept or any("clip.mp4: removed" in r for r in result.report)


@pytest.fixture(scope="module")
def broken(samples: dict[str, tuple[str, bytes]],
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    folder = tmp_path_factory.mktemp("broken")
    clip = samples["clip.mp4"][1]
    small = folder / "small.3gp"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=176x144:rate=10:duration=6", "-f", "lavfi",
           "-i", "sine=duration=6", "-c:v", "h263", "-ar", "8000", "-ac", "1",
           "-c:a", "libopencore_amrnb", "-movflags", "+faststart", str(small))
    return {
        "corrupt.jpg": ("image/jpeg", photo((64, 48))[:300] + bytes(200)),
        "truncated.mp4": ("video/mp4", clip[:len(clip) // 2]),  # moov at the end: gone
        "truncated.3gp": ("video/3gpp", small.read_bytes()[:small.stat().st_size // 3]),
        "page.mp4": ("video/mp4", b"<html><body>not a video</body></html>" * 20),
        "photo.amr": ("audio/amr", photo((320, 240))),
    }


@pytest.mark.parametrize("location, label, name", [("tone.wav", "tone.wav", "tone.wav.txt"),
                                                     (None, "tone", "removed.txt")])
def test_a_media_share_under_the_minimum_is_not_tried(location: str | None, label: str,
                                                      name: str) -> None:
    """A share under 2048 octets: the audio is not tried, it becomes the notice that says why
    (same Content-ID, a .txt name, UTF-8); at exactly 2048 octets it is tried."""
    tone = MediaPart("audio/wav", wav(), "tone", location)
    overhead = Plan([tone]).size - len(tone.data)
    small = DeviceProfile("tiny", overhead + 2047, (160, 120), accept=frozenset({"audio/amr"}))
    result = plan([tone], small, TOOLS)
    why = f"no room left in this phone's {overhead + 2047} octets"
    assert result.report == [f"{label}: removed ({why})"]
    assert result.parts == [MediaPart(
        "text/plain", f"[{label} (audio/wav) was removed: {why}]".encode(), "tone", name,
        "utf-8")]
    at_minimum = DeviceProfile("tiny", overhead + 2048, (160, 120),
                               accept=frozenset({"audio/amr"}))
    assert not any("no room left" in line for line in plan([tone], at_minimum, TOOLS).report)


def test_a_media_part_the_phone_takes_as_it_is_is_left_alone() -> None:
    """An AMR voice clip the phone accepts (audio/amr, written here in upper case as some
    senders do) and that fits: kept octet for octet, nothing in the report; another clip
    the phone does not take (audio/wav) is converted to the type it accepts, said in the
    report."""
    clip = amr(0.5)
    phone = DeviceProfile("voice", 300_000, (120, 160), accept=frozenset({"audio/amr"}))
    kept = plan([MediaPart("AUDIO/AMR", clip, "v", "voice.amr")], phone, TOOLS)
    assert kept.report == [] and kept.parts[0].data == clip
    converted = plan([MediaPart("audio/wav", wav(1.0), "w", "tone.wav")], phone, TOOLS)
    assert converted.parts[0].content_type == "audio/amr"
    assert len(converted.report) == 1 and converted.report[0].startswith("tone.wav: ")


@pytest.mark.parametrize("name", ["corrupt.jpg", "truncated.mp4", "truncated.3gp", "page.mp4",
                                  "photo.amr"])
def test_broken_or_mislabelled_parts_become_the_explanatory_text(
        broken: dict[str, tuple[str, bytes]], name: str) -> None:
    media_type, data = broken[name]
    profile = DEVICES["android-2012"]
    result = plan([MediaPart(media_type, data, "x", name)], profile, TOOLS)
    (part,) = result.parts
    assert part.content_type == "text/plain" and part.content_location == name + ".txt"
    text = part.data.decode()
    assert name in text and "was removed" in text
    assert result.renames == {name: name + ".txt"}


def test_audio_in_a_video_container_is_taken_for_what_it_is(tmp_path: Path) -> None:
    """Handsets send voice notes as video/3gpp holding AMR only: audio, kept as it is for a
    phone that takes it, and relabelled."""
    note = tmp_path / "voice.3gp"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=4", "-ar", "8000", "-ac", "1",
           "-c:a", "libopencore_amrnb", "-b:a", "12.2k", "-f", "3gp", str(note))
    limits = MediaLimits(frozenset({"audio/3gpp", "audio/amr"}), 100_000)
    kept = adapt_media(note.read_bytes(), "video/3gpp", limits, TOOLS)
    assert kept.media_type == "audio/3gpp" and brand_of(kept.data) == "3gp4"
    assert kept.notes == ("declared video/3gpp, is audio/3gpp",
                          "metadata removed (streams kept as they are)")
    converted = adapt_media(note.read_bytes(), "video/3gpp",
                            MediaLimits(frozenset({"audio/amr"}), 100_000), TOOLS)
    assert converted.media_type == "audio/amr" and converted.data.startswith(b"#!AMR\n")


def test_a_budget_too_small_for_the_whole_clip_trims_it_and_says_so() -> None:
    limits = MediaLimits(frozenset({"audio/amr"}), 6_000)
    result = adapt_media(wav(20.0, 8000), "audio/wav", limits, TOOLS)
    info = probe(result.data)
    assert len(result.data) <= 6_000 and info.audio is not None
    assert info.audio.codec == "amr_nb" and info.duration is not None and info.duration < 20
    assert any(n.startswith("trimmed to") for n in result.notes)


def test_ffmpeg_runs_within_its_time_limit(samples: dict[str, tuple[str, bytes]]) -> None:
    slow = Ffmpeg(timeout=0.2)
    with pytest.raises(MediaError, match="longer than 0.2 s"):
        adapt_media(samples["clip.mp4"][1], "video/mp4",
                    MediaLimits(frozenset({"video/3gpp"}), 100_000), slow)


def test_a_missing_ffmpeg_is_a_media_error() -> None:
    with pytest.raises(MediaError, match="could not be started"):
        adapt_media(wav(1.0), "audio/wav", MediaLimits(frozenset({"audio/amr"}), 10_000),
                    Ffmpeg(exe="/nonexistent/ffmpeg"))


def test_mutated_audio_adapts_or_fails_cleanly(tmp_path: Path) -> None:
    import random

    source = tmp_path / "s.amr"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-ar", "8000", "-ac", "1",
           "-c:a", "libopencore_amrnb", str(source))
    rng = random.Random(7)
    original = source.read_bytes()
    limits = MediaLimits(frozenset({"audio/mp4"}), 50_000)
    outcomes = set()
    for _ in range(25):
        data = bytearray(original)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            result = adapt_media(bytes(data), "audio/amr", limits, TOOLS)
        except MediaError:
            outcomes.add("refused")
            continue
        outcomes.add("adapted")
        assert len(result.data) <= 50_000 and result.media_type == "audio/mp4"
    assert "adapted" in outcomes  # AMR frames are independent: most damage is survivable


LISTING = """#software: Lavf63.1.102
#tb 0: 1/15360
#media_type 0: video
#codec_id 0: h263
#dimensions 0: 176x144
#sar 0: 1/1
#tb 1: 1/8000
#media_type 1: audio
#codec_id 1: amr_nb
#sample_rate 1: 8000
#channel_layout_name 1: mono
0,          0,          0,     1024,     2400, 0x1
1,          0,          0,      160,       32, 0x2
0,       1024,       1024,     1024,      900, 0x3
1,        160,        160,      160,       32, 0x4
0,       2048,       2048,     1024,      850, 0x5
1,        320,        320,      160,       32, 0x6
"""
# What a file's own metadata can make ffmpeg print: lines of its choosing.
FORGED = """[info]     x
Input #0, amr, from '/tmp/mmsc-media-abc/source':
  Duration: 00:00:01.00, start: 0.000000, bitrate: 1 kb/s
  Stream #0:0: Video: h264, yuv420p, 4096x4096, 15 fps
"""
REPORT = """[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '{path}':
[info]   Metadata:
[info]     major_brand     : 3gp4
{forged}[info]   Duration: 00:00:00.20, start: 0.000000, bitrate: 138 kb/s
[info]   Stream #0:0[0x1](und): Video: h263 (s263 / 0x33363273), yuv420p, 176x144
"""


def test_the_probe_believes_ffmpegs_listing_not_text_a_file_can_write() -> None:
    path = "/tmp/mmsc-media-k3x9/source"
    info = parse_probe(LISTING, REPORT.format(path=path, forged=FORGED), path,
                       b"\0\0\0\x18ftyp3gp4\0\0\2\0")
    assert info.formats == ("mov", "mp4", "m4a", "3gp", "3g2", "mj2")  # not "amr"
    assert info.media_type == "video/3gpp" and info.brand == "3gp4"
    assert info.video is not None and (info.video.codec, info.video.width,
                                       info.video.height) == ("h263", 176, 144)
    assert info.video.selector == "v:0" and info.video.packets == 3
    assert abs(info.video.seconds - 0.2) < 1e-9 and info.video.fps == 15.0
    assert info.audio is not None and (info.audio.codec, info.audio.sample_rate,
                                       info.audio.channels, info.audio.selector) == (
        "amr_nb", 8000, 1, "a:0")
    assert abs((info.duration or 0) - 0.2) < 1e-9
    with pytest.raises(ProbeError, match="Invalid data"):
        parse_probe("", "[in#0 @ 0x1] [error] Error opening input: Invalid data found when "
                    "processing input\n[fatal] Error opening input files\n", path)


def test_a_file_whose_metadata_forges_a_small_stream_is_still_refused(tmp_path: Path) -> None:
    """Metadata keys are printed as they are in ffmpeg's report: this one claims a 176x144
    H.264 stream. The 4096x4096 picture it holds is over the limit all the same."""
    forged = ("x\n  Duration: 00:00:01.00, start: 0.000000, bitrate: 1 kb/s\n"
              "  Stream #0:0: Video: h264, yuv420p, 176x144, 15 fps\ny")
    big = tmp_path / "big.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:size=4096x4096:rate=1:duration=2", "-c:v",
           "mpeg4", "-q:v", "31", "-movflags", "use_metadata_tags", "-metadata", f"{forged}=v",
           str(big))
    with pytest.raises(MediaError, match="over"):
        adapt_media(big.read_bytes(), "video/mp4",
                    MediaLimits(frozenset({"video/mp4"}), 1_000_000, (176, 144)), TOOLS)


def test_a_large_budget_buys_quality_not_octets(tmp_path: Path) -> None:
    """A QCIF 3GP for a browser-sized budget (100 MB): converted to H.264 at its own size,
    at a bitrate a picture that small can use, not one the budget would allow."""
    clip = tmp_path / "small.3gp"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=176x144:rate=15:duration=5", "-f", "lavfi",
           "-i", "sine=duration=5", "-c:v", "h263", "-ar", "8000", "-ac", "1",
           "-c:a", "libopencore_amrnb", str(clip))
    result = adapt_media(clip.read_bytes(), "video/3gpp",
                         MediaLimits(frozenset({"video/mp4"}), 100 * 1024 * 1024, (4096, 4096)),
                         TOOLS)
    info = probe(result.data)
    assert result.media_type == "video/mp4" and info.video is not None
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 176, 144)
    assert len(result.data) < 5 * 176 * 144 * 15 * 0.3 / 8 * 1.3  # within the ceiling


def test_a_portrait_clip_stays_portrait(tmp_path: Path) -> None:
    """Phones store portrait clips as landscape frames with a display rotation: the result
    is planned upright, in the clip's displayed aspect (3:4 here), not squashed."""
    plain, turned = tmp_path / "plain.mp4", tmp_path / "turned.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=15:duration=2", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(plain))
    ffmpeg("-display_rotation", "90", "-i", str(plain), "-c", "copy", str(turned))
    result = adapt_media(turned.read_bytes(), "video/mp4",
                         MediaLimits(frozenset({"video/mp4"}), 60_000, (176, 144)), TOOLS)
    info = probe(result.data)
    assert info.video is not None and info.video.width and info.video.height
    assert info.video.height > info.video.width
    assert abs(info.video.width / info.video.height - 3 / 4) < 0.05


def test_h264_is_passed_on_only_in_profiles_the_phone_decodes(tmp_path: Path) -> None:
    """A Baseline clip that fits is passed on with its streams as they are, but without the
    place it was recorded at; a High 10 one is re-encoded."""
    made = {}
    for name, options in (("baseline", ["-profile:v", "baseline", "-pix_fmt", "yuv420p"]),
                          ("high10", ["-profile:v", "high10", "-pix_fmt", "yuv420p10le"])):
        clip = tmp_path / f"{name}.mp4"
        ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2", "-c:v",
               "libx264", *options, "-metadata", "location=+48.8584+002.2945/", str(clip))
        assert b"loci" in clip.read_bytes()  # the 3GPP location box (TS 26.244)
        made[name] = adapt_media(clip.read_bytes(), "video/mp4",
                                 MediaLimits(frozenset({"video/mp4"}), 300_000, (176, 144)), TOOLS)
    kept = made["baseline"]
    assert kept.notes == ("metadata removed (streams kept as they are)",)
    assert b"loci" not in kept.data and b"loci" not in made["high10"].data
    assert any(n.startswith("video H.264 Baseline") for n in made["high10"].notes)
    assert probe(made["high10"].data).video is not None


def test_motion_jpeg_is_video_and_a_cover_picture_is_not(tmp_path: Path) -> None:
    mjpeg, song = tmp_path / "camera.avi", tmp_path / "song.mp3"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2", "-c:v", "mjpeg",
           str(mjpeg))
    cover = tmp_path / "cover.png"
    Image.new("RGB", (64, 64), (200, 0, 0)).save(cover)
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-i", str(cover), "-map", "0", "-map", "1",
           "-c:a", "libmp3lame", "-c:v", "mjpeg", "-disposition:v", "attached_pic", str(song))
    limits = MediaLimits(frozenset({"video/mp4", "audio/mp4"}), 300_000, (640, 480))
    video = adapt_media(mjpeg.read_bytes(), "video/avi", limits, TOOLS)
    assert video.media_type == "video/mp4" and probe(video.data).video is not None
    sound = adapt_media(song.read_bytes(), "audio/mpeg", limits, TOOLS)
    assert sound.media_type == "audio/mp4" and probe(sound.data).video is None


def test_a_fault_in_adaptation_costs_the_part_not_the_message(monkeypatch, caplog) -> None:
    """Should adapting one part raise what it never should, that part becomes the notice,
    the others are adapted, and the fault is logged."""
    import adaptation.plan as planner

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(planner, "adapt_media", broken)
    result = plan([MediaPart("audio/wav", wav(1.0), "a", "tone.wav"),
                   MediaPart("image/png", png_with_alpha(), "p", "logo.png")],
                  DEVICES["feature-2007"], TOOLS)
    assert result.parts[0].content_type == "text/plain" and b"could not" in result.parts[0].data
    assert result.parts[1].content_type.startswith("image/")
    assert "adapting tone.wav failed" in caplog.text


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(LISTING.splitlines() + [
    "#dimensions 0: 99999x99999", "#sample_rate 1: " + "9" * 400, "#tb 0: 1/0",
    "0, " + "9" * 30 + ", 1, 1, 1, 0x0", "#media_type 2: video", "#codec_id 7: h264"]) |
    st.text(max_size=80), max_size=40),
       st.lists(st.sampled_from(REPORT.format(path="/p", forged=FORGED).splitlines() + [
           "  Duration: " + "9" * 400 + ":00:00.00", "Video: h264 (" + "(" * 500 + ")"]) |
           st.text(max_size=80), max_size=30))
def test_any_listing_and_report_give_media_info_or_a_probe_error(listing: list[str],
                                                                 report: list[str]) -> None:
    try:
        info = parse_probe("\n".join(listing), "\n".join(report), "/p", b"")
    except ProbeError:
        return
    assert info.streams and all(s.kind in ("audio", "video") for s in info.streams)
    assert info.duration is None or info.duration >= 0


def test_timestamps_as_real_files_have_them(tmp_path: Path) -> None:
    """A clip trimmed without re-encoding (an edit list: the packets before the cut are
    flagged to be discarded) and an AVI with B-frames (packets without pts) are read for
    the time they really last, and converted whole."""
    cut, avi = tmp_path / "cut.mp4", tmp_path / "divx.avi"
    source = tmp_path / "gop.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=4", "-c:v", "libx264",
           "-g", "40", "-pix_fmt", "yuv420p", str(source))
    ffmpeg("-ss", "2.9", "-i", str(source), "-c", "copy", str(cut))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2", "-c:v", "mpeg4",
           "-bf", "2", str(avi))
    limits = MediaLimits(frozenset({"video/mp4"}), 300_000, (176, 144))
    for path, seconds in ((cut, 1.1), (avi, 2.0)):
        info = TOOLS.probe(path)
        assert info.duration is not None and abs(info.duration - seconds) < 0.15, path
        result = adapt_media(path.read_bytes(), "video/mp4", limits, TOOLS)
        assert abs(result.duration - seconds) < 0.15


def test_a_video_is_made_as_large_as_the_phones_screen_and_budget_allow(
        samples: dict[str, tuple[str, bytes]]) -> None:
    """A 1080p clip for a phone of a 1280x960 screen and 1 MB: larger than QCIF (the
    default box of MediaLimits) and within the screen, so the phone's own screen is the
    limit, not a default."""
    media_type, data = samples["clip.mp4"]
    profile = DEVICES["android-2018"]
    result = plan([MediaPart(media_type, data, "v", "clip.mp4")], profile, TOOLS)
    info = probe(result.parts[0].data)
    assert info.video is not None, result.report
    assert 176 < info.video.width <= 1280 and 144 < info.video.height <= 960
