"""What a media file holds, read from the report ffmpeg prints of its input (sans-IO).

The ffmpeg that ``imageio-ffmpeg`` ships has no ffprobe, so the description ffmpeg writes
to stderr for ``ffmpeg -i FILE`` is the probe: the demuxer names (``Input #0, mov,mp4,...``),
the ISO base media ``major_brand`` (which tells 3GP from MP4, 3GPP TS 26.244 §5.3.4), the
duration and one line per stream (``Stream #0:1: Audio: amr_nb ..., 8000 Hz, mono``). This
module turns that text into a :class:`MediaInfo`; running ffmpeg is :mod:`adaptation.ffmpeg`'s
job. Parenthesised details (codec tags, colour ranges) are removed before the fields are read,
so a tag such as ``0x31637661`` is never taken for a frame size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_INPUT = re.compile(r"^Input #0, ([^ ]+), from ", re.MULTILINE)
_BRAND = re.compile(r"^\s+major_brand\s*:\s*(\S+)", re.MULTILINE)
_DURATION = re.compile(r"^\s+Duration: (?:(\d+):(\d\d):(\d\d(?:\.\d+)?)|N/A)", re.MULTILINE)
_STREAM = re.compile(r"^\s+Stream #0:\d+[^:]*: (Video|Audio|Subtitle|Data|Attachment): (.*)$",
                     re.MULTILINE)
_NESTED = re.compile(r"\([^()]*\)")
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})(?:\s|$)")
_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:k)?\s*(fps|Hz|kb/s)$")


class ProbeError(ValueError):
    """The file is not media ffmpeg can read."""


@dataclass(frozen=True)
class Stream:
    """One stream: ``kind`` is ``video``, ``audio`` or another ffmpeg kind; ``codec`` is
    ffmpeg's decoder name (``h264``, ``h263``, ``mpeg4``, ``aac``, ``amr_nb``, ``mp3``...)."""

    kind: str
    codec: str
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    kbps: int | None = None


@dataclass(frozen=True)
class MediaInfo:
    formats: tuple[str, ...]
    brand: str | None
    duration: float | None
    streams: tuple[Stream, ...] = field(default_factory=tuple)

    @property
    def video(self) -> Stream | None:
        """The first video stream that is a moving picture (cover art in an MP3 or M4A is a
        ``mjpeg`` or ``png`` stream and does not count)."""
        return next((s for s in self.streams if s.kind == "video"
                     and s.codec not in ("mjpeg", "png", "bmp", "gif")), None)

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
            if (self.brand or "").lower().startswith(("3gp", "3gr", "3gs", "3ge", "3gg")):
                return f"{kind}/3gpp"
            if (self.brand or "").lower().startswith("3g2"):
                return f"{kind}/3gpp2"
            return f"{kind}/mp4"
        for name, media in _CONTAINERS:
            if name in self.formats and media.startswith(kind):
                return media
        return None


#: ffmpeg demuxer name -> media type, for the containers MMS carries (3GPP TS 26.140 §5).
_CONTAINERS = (("amr", "audio/amr"), ("mp3", "audio/mpeg"), ("aac", "audio/aac"),
               ("wav", "audio/wav"), ("ogg", "audio/ogg"), ("flac", "audio/flac"),
               ("midi", "audio/midi"), ("matroska", "video/webm"), ("webm", "video/webm"),
               ("avi", "video/x-msvideo"), ("mpeg", "video/mpeg"), ("asf", "video/x-ms-wmv"))


def _seconds(match: re.Match[str] | None) -> float | None:
    if match is None or match.group(1) is None:
        return None
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60 + float(match.group(3))


def _stream(kind: str, text: str) -> Stream:
    while _NESTED.search(text):
        text = _NESTED.sub("", text)
    fields = [f.strip() for f in text.split(",")]
    values: dict[str, float] = {}
    size: tuple[int, int] | None = None
    channels: int | None = None
    for item in fields[1:]:
        if size is None and (found := _SIZE.match(item)):
            size = (int(found.group(1)), int(found.group(2)))
        elif found := _RATE.match(item):
            values.setdefault(found.group(2), float(found.group(1)))
        elif item in _CHANNELS or re.fullmatch(r"\d+ channels", item):
            channels = _CHANNELS.get(item) or int(item.split()[0])
    codec = fields[0].split()[0] if fields and fields[0] else "unknown"
    return Stream(kind.lower(), codec, size[0] if size else None, size[1] if size else None,
                  values.get("fps"), int(values["Hz"]) if "Hz" in values else None, channels,
                  int(values["kb/s"]) if "kb/s" in values else None)


_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6,
             "5.1(side)": 6, "6.1": 7, "7.1": 8}


def parse_probe(report: str) -> MediaInfo:
    """The :class:`MediaInfo` of ffmpeg's input report, or :class:`ProbeError` with ffmpeg's
    own reason when it could not open the input."""
    header = _INPUT.search(report)
    if header is None:
        reason = next((re.sub(r"^\[[^]]*\]\s*", "", line.strip())
                       for line in report.splitlines() if "rror" in line or "nvalid" in line),
                      "ffmpeg could not read it")
        raise ProbeError(reason[:200])
    streams = tuple(_stream(kind, text) for kind, text in _STREAM.findall(report))
    brand = _BRAND.search(report[header.end():])
    return MediaInfo(tuple(header.group(1).split(",")), brand.group(1) if brand else None,
                     _seconds(_DURATION.search(report)), streams)
