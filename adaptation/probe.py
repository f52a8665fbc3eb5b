"""What a media file holds, from ffmpeg's machine-readable stream listing (sans-IO).

The ffmpeg that ``imageio-ffmpeg`` ships has no ffprobe. The probe (:meth:`Ffmpeg.probe
<adaptation.ffmpeg.Ffmpeg.probe>`) copies the file's audio and video packets, without
decoding them, to ffmpeg's ``framecrc`` muxer, whose output is a fixed format written by
ffmpeg alone: per stream ``#media_type``, ``#codec_id``, ``#dimensions``, ``#sample_rate``,
``#channel_layout_name`` and ``#tb``, then one line per packet (stream, dts, pts, duration,
size). None of it is text from the file, so a file cannot forge what it holds; and the
packets say how long each stream really lasts. The human-readable report ffmpeg writes to
stderr is read for two things only, taken from the block that follows the ``Input #0`` line
naming the probed path (a private random folder, so a file cannot forge that line either):
the demuxer names, the duration the container states, which tells a file cut short, and the
display rotation of a portrait clip, and the H.264 profiles. Even there a file's metadata
can add lines of its own, so these are hints (for the damage check, the frame's orientation,
and whether an H.264 stream may be passed on as it is) and nothing more. The ISO base media ``major_brand`` (3GP or MP4, 3GPP
TS 26.244 §5.3.4) is read from the file's own first box by :func:`brand_of`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADER = re.compile(r"^#(\w+) (\d{1,4}): (.{0,200})$", re.MULTILINE)
_PACKET = re.compile(r"^\s*(\d{1,4}),\s*(-?\d{1,20}),\s*(-?\d{1,20}),\s*(\d{1,20}),\s*(\d{1,12}),",
                     re.MULTILINE)
_SIZE = re.compile(r"(\d{1,5})x(\d{1,5})")
_RATIO = re.compile(r"(\d{1,10})/(\d{1,10})")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5,
             "5.1": 6, "5.0(side)": 5, "5.1(side)": 6, "6.1": 7, "7.1": 8}
_ROTATION = re.compile(r"Display Matrix: rotation of (-?\d{1,3}(?:\.\d{1,4})?) degrees")
_H264 = re.compile(r"Video: h264 \(([\w :.-]{1,40})\)")
_DURATION = re.compile(r"^(?:\[info\] )?  Duration: (\d{1,6}):(\d\d):(\d\d(?:\.\d{1,6})?)",
                       re.MULTILINE)


class ProbeError(ValueError):
    """The file is not media ffmpeg can read."""


@dataclass(frozen=True)
class Stream:
    """One audio or video stream: ``codec`` is ffmpeg's codec name (``h264``, ``h263``,
    ``mpeg4``, ``aac``, ``amr_nb``, ``mp3``...), ``selector`` the ffmpeg stream specifier
    that names it (``v:0``, ``a:1``); ``packets`` and ``seconds`` are what its data holds."""

    kind: str
    codec: str
    selector: str
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    packets: int = 0
    seconds: float = 0.0
    octets: int = 0

    @property
    def fps(self) -> float | None:
        return self.packets / self.seconds if self.kind == "video" and self.seconds else None

    @property
    def moving(self) -> bool:
        """A moving picture, not a still (cover art in an MP3 or M4A is one picture)."""
        return self.kind == "video" and self.packets > 1


@dataclass(frozen=True)
class MediaInfo:
    formats: tuple[str, ...]
    brand: str | None
    duration: float | None  # seconds of data, the longest audio or moving-picture stream
    streams: tuple[Stream, ...] = field(default_factory=tuple)
    stated: float | None = None  # seconds the container says it lasts (a hint, see above)
    rotation: float = 0.0  # degrees the picture is turned for display (a hint, see above)
    h264_profiles: tuple[str, ...] = ()  # of its H.264 streams, as the report names them

    @property
    def shown(self) -> tuple[int, int] | None:
        """The first moving picture's size as displayed: width and height swapped when its
        display matrix turns it a quarter (phones record portrait clips that way)."""
        video = self.video
        if video is None or not video.width or not video.height:
            return None
        turned = round(self.rotation / 90) % 2 == 1
        return (video.height, video.width) if turned else (video.width, video.height)

    @property
    def video(self) -> Stream | None:
        """The moving picture: of several, the largest (the first of equals), as ffmpeg's
        own default stream choice takes it."""
        moving = [s for s in self.streams if s.moving]
        return max(moving, key=lambda s: (s.width or 0) * (s.height or 0)) if moving else None

    @property
    def audio(self) -> Stream | None:
        return next((s for s in self.streams if s.kind == "audio"), None)

    @property
    def media_type(self) -> str | None:
        """The media type the content really is (None when mmsc does not know it): a
        container holding a moving picture is video, else audio."""
        kind = "video" if self.video else "audio" if self.audio else None
        if kind is None:
            return None
        if "mp4" in self.formats or "mov" in self.formats:
            brand = (self.brand or "").lower()
            if brand.startswith(("3gp", "3gr", "3gs", "3ge", "3gg")):
                return f"{kind}/3gpp"
            return f"{kind}/3gpp2" if brand.startswith("3g2") else f"{kind}/mp4"
        for name, media in _CONTAINERS:
            if name in self.formats and media.startswith(kind):
                return media
        return None


#: ffmpeg demuxer name -> media type, for the containers MMS carries (3GPP TS 26.140 §5).
_CONTAINERS = (("amr", "audio/amr"), ("mp3", "audio/mpeg"), ("aac", "audio/aac"),
               ("wav", "audio/wav"), ("ogg", "audio/ogg"), ("flac", "audio/flac"),
               ("matroska", "video/webm"), ("webm", "video/webm"),
               ("avi", "video/x-msvideo"), ("mpeg", "video/mpeg"), ("asf", "video/x-ms-wmv"))


def brand_of(data: bytes) -> str | None:
    """The major brand of an ISO base media file (its ``ftyp`` box, ISO/IEC 14496-12 §4.3),
    or None."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return data[8:12].decode("latin-1").strip() or None
    return None


def _streams(listing: str) -> tuple[Stream, ...]:
    headers: dict[int, dict[str, str]] = {}
    for key, index, value in _HEADER.findall(listing):
        headers.setdefault(int(index), {})[key] = value.strip()
    packets: dict[int, list[tuple[int, int, int]]] = {}
    for index, _, pts, duration, size in _PACKET.findall(listing):
        packets.setdefault(int(index), []).append((int(pts), int(duration), int(size)))
    counts = {"video": 0, "audio": 0}
    streams = []
    for index in sorted(headers):
        h = headers[index]
        kind = h.get("media_type", "")
        if kind not in counts:
            continue
        selector = f"{kind[0]}:{counts[kind]}"
        counts[kind] += 1
        seen = packets.get(index, [])
        ratio = _RATIO.fullmatch(h.get("tb", ""))
        seconds = 0.0
        if seen and ratio and int(ratio.group(2)):
            span = max(p + d for p, d, _ in seen) - min(p for p, _, _ in seen)
            seconds = max(0, span) * int(ratio.group(1)) / int(ratio.group(2))
        size = _SIZE.fullmatch(h.get("dimensions", ""))
        rate = h.get("sample_rate", "")
        layout = h.get("channel_layout_name", "")
        channels = _CHANNELS.get(layout) or (int(layout.split()[0]) if re.fullmatch(
            r"\d{1,2} channels", layout) else None)
        streams.append(Stream(kind, h.get("codec_id", "none"), selector,
                              int(size.group(1)) if size else None,
                              int(size.group(2)) if size else None,
                              int(rate) if rate.isdigit() and len(rate) < 8 else None, channels,
                              len(seen), seconds, sum(s for _, _, s in seen)))
    return tuple(streams)


def _report(report: str, path: str) -> tuple[tuple[str, ...], float | None, float,
                                            tuple[str, ...]]:
    """The demuxer names, the stated duration, the display rotation and the H.264 profiles,
    from the block of the ``Input #0`` line that names ``path``."""
    header = re.search(rf"Input #0, ([\w,]{{1,200}}), from '{re.escape(path)}':", report)
    if header is None:
        return (), None, 0.0, ()
    stated = _DURATION.search(report, header.end())
    seconds = (int(stated.group(1)) * 3600 + int(stated.group(2)) * 60 +
               float(stated.group(3))) if stated else None
    rotation = _ROTATION.search(report, header.end())
    profiles = tuple(_H264.findall(report, header.end()))
    return (tuple(header.group(1).split(",")), seconds,
            float(rotation.group(1)) if rotation else 0.0, profiles)


def parse_probe(listing: str, report: str, path: str, data_head: bytes = b"") -> MediaInfo:
    """The :class:`MediaInfo` of a probe: ffmpeg's ``framecrc`` ``listing`` (stdout), its
    stderr ``report``, the probed ``path``, and the first octets of the file (for the
    brand). :class:`ProbeError` with ffmpeg's own reason when it could not read the file."""
    streams = _streams(listing)
    if not streams:
        reason = next((re.sub(r"^(\[[^]]*\]\s*)+", "", line.strip())
                       for line in report.splitlines()
                       if line.startswith(("[error]", "[fatal]")) or "] [error]" in line
                       or "] [fatal]" in line), "ffmpeg found no audio or video in it")
        raise ProbeError(reason[:200])
    formats, stated, rotation, profiles = _report(report, path)
    moving = [s.seconds for s in streams if s.moving or s.kind == "audio"]
    return MediaInfo(formats, brand_of(data_head), max(moving) if moving else None, streams,
                     stated, rotation, profiles)
