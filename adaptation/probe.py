"""What a media file holds, from ffmpeg's machine-readable stream listing (sans-IO).

The ffmpeg that ``imageio-ffmpeg`` ships has no ffprobe. The probe (:meth:`Ffmpeg.probe
<adaptation.ffmpeg.Ffmpeg.probe>`) copies the file's audio and video packets, without
decoding them, to ffmpeg's ``framecrc`` muxer, whose output is a fixed format written by
ffmpeg alone: per stream ``#media_type``, ``#codec_id``, ``#dimensions``, ``#sample_rate``,
``#channel_layout_name`` and ``#tb``, then one line per packet (stream, dts, pts, duration,
size, checksum, flags). None of it is text from the file, so a file cannot forge what it
holds; and the packets say how long each stream really lasts (packets flagged to be
discarded, the pre-roll of an edit list, do not count; a packet with no pts counts at its
dts).

The human-readable report ffmpeg writes to stderr is read only for hints, from the block
that follows the ``Input #0`` line naming the probed path (a private random folder, so a
file cannot forge that line): the demuxer names; the duration an ISO or Matroska container
states, which tells a file cut short (other containers' durations are estimates); and, per
video stream, its display rotation (portrait clips) and H.264 profile. A file's metadata can
add lines of its own to that report, so the hints are dropped when the report lists another
number of video streams than the listing holds, and even then serve only the damage check,
the frame's orientation and whether an H.264 stream may be passed on as it is. The ISO base
media ``major_brand`` (3GP or MP4, 3GPP TS 26.244 §5.3.4) is read from the file's own first
box by :func:`brand_of`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

_HEADER = re.compile(r"^#(\w+) (\d{1,4}): (.{0,200})$", re.MULTILINE)
_PACKET = re.compile(r"^\s*(\d{1,4}),\s*(-?\d{1,20}),\s*(-?\d{1,20}),\s*(\d{1,20}),"
                     r"\s*(\d{1,12}),\s*0x[0-9a-fA-F]{1,8}(?:,\s*F=0x([0-9a-fA-F]{1,8}))?",
                     re.MULTILINE)
_NO_PTS = -(2 ** 63)  # AV_NOPTS_VALUE
_DISCARD = 0x4  # AV_PKT_FLAG_DISCARD
_SIZE = re.compile(r"(\d{1,5})x(\d{1,5})")
_RATIO = re.compile(r"(\d{1,10})/(\d{1,10})")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5,
             "5.1": 6, "5.0(side)": 5, "5.1(side)": 6, "6.1": 7, "7.1": 8}
_STREAM_LINE = re.compile(r"^(?:\[info\] )?  Stream #0:\d{1,4}.{0,300}?: (Video|Audio|Subtitle|"
                          r"Data|Attachment): (.{0,300})$", re.MULTILINE)
_ROTATION = re.compile(r"Display Matrix: rotation of (-?\d{1,3}(?:\.\d{1,4})?) degrees")
_PROFILE = re.compile(r"^h264 \(([A-Za-z][\w :.-]{0,39})\)")
_DURATION = re.compile(r"^(?:\[info\] )?  Duration: (\d{1,6}):(\d\d):(\d\d(?:\.\d{1,6})?)",
                       re.MULTILINE)
#: Containers whose stated duration is exact (ISO base media, Matroska), not estimated.
_EXACT = ("mov", "matroska")


class ProbeError(ValueError):
    """The file is not media ffmpeg can read."""


@dataclass(frozen=True)
class Stream:
    """One audio or video stream: ``codec`` is ffmpeg's codec name (``h264``, ``h263``,
    ``mpeg4``, ``aac``, ``amr_nb``, ``mp3``...), ``selector`` the ffmpeg stream specifier
    that names it (``v:0``, ``a:1``); ``packets`` and ``seconds`` are what its data holds.
    ``rotation`` and ``profile`` are hints from ffmpeg's report (see above)."""

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
    rotation: float = 0.0
    profile: str | None = None

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

    @property
    def video(self) -> Stream | None:
        """The moving picture: of several, the largest (the first of equals), as ffmpeg's
        own default stream choice takes it."""
        moving = [s for s in self.streams if s.moving]
        return max(moving, key=lambda s: (s.width or 0) * (s.height or 0)) if moving else None

    @property
    def audio(self) -> Stream | None:
        """The first audio stream that holds sound."""
        return next((s for s in self.streams if s.kind == "audio" and s.packets), None)

    @property
    def shown(self) -> tuple[int, int] | None:
        """The moving picture's size as displayed: width and height swapped when its
        display matrix turns it a quarter (phones record portrait clips that way)."""
        video = self.video
        if video is None or not video.width or not video.height:
            return None
        turned = round(video.rotation / 90) % 2 == 1
        return (video.height, video.width) if turned else (video.width, video.height)

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


def _seconds(packets: list[tuple[int, int, int, int]], tb: str) -> float:
    """How long packets (dts, pts, duration, size) last in time base ``tb``: from the first
    timestamp to the last one's end, or, with no timestamps at all, the durations summed."""
    ratio = _RATIO.fullmatch(tb)
    if not packets or ratio is None or not int(ratio.group(2)):
        return 0.0
    stamped = [(pts if pts != _NO_PTS else dts, length) for dts, pts, length, _ in packets
               if pts != _NO_PTS or dts != _NO_PTS]
    ticks = (max(t + d for t, d in stamped) - min(t for t, _ in stamped) if stamped
             else sum(d for _, _, d, _ in packets))
    return max(0, ticks) * int(ratio.group(1)) / int(ratio.group(2))


def _streams(listing: str) -> tuple[Stream, ...]:
    headers: dict[int, dict[str, str]] = {}
    for key, index, value in _HEADER.findall(listing):
        headers.setdefault(int(index), {})[key] = value.strip()
    packets: dict[int, list[tuple[int, int, int, int]]] = {}
    for index, dts, pts, length, size, flags in _PACKET.findall(listing):
        if flags and int(flags, 16) & _DISCARD:
            continue
        packets.setdefault(int(index), []).append((int(dts), int(pts), int(length), int(size)))
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
        size = _SIZE.fullmatch(h.get("dimensions", ""))
        rate = h.get("sample_rate", "")
        layout = h.get("channel_layout_name", "")
        channels = _CHANNELS.get(layout) or (int(layout.split()[0]) if re.fullmatch(
            r"\d{1,2} channels", layout) else None)
        streams.append(Stream(kind, h.get("codec_id", "none"), selector,
                              int(size.group(1)) if size else None,
                              int(size.group(2)) if size else None,
                              int(rate) if rate.isdigit() and len(rate) < 8 else None, channels,
                              len(seen), _seconds(seen, h.get("tb", "")),
                              sum(s for _, _, _, s in seen)))
    return tuple(streams)


def _with_hints(streams: tuple[Stream, ...], report: str, path: str,
                ) -> tuple[tuple[Stream, ...], tuple[str, ...], float | None]:
    """The streams with their rotation and profile hints, the demuxer names and the stated
    duration, from the block of the ``Input #0`` line that names ``path``."""
    header = re.search(rf"Input #0, ([\w,]{{1,200}}), from '{re.escape(path)}':", report)
    if header is None:
        return streams, (), None
    formats = tuple(header.group(1).split(","))
    end = re.search(r"^(?:\[info\] )?(?:Stream mapping:|Output #0)", report[header.end():],
                    re.MULTILINE)
    block = report[header.end():header.end() + end.start() if end else len(report)]
    lines = list(_STREAM_LINE.finditer(block))
    videos = [m for m in lines if m.group(1) == "Video"]
    if len(videos) != sum(1 for s in streams if s.kind == "video") or \
            "Estimating duration" in report:
        return streams, formats, None  # a report the file has written into: no hints
    stated = _DURATION.search(block)
    seconds = (int(stated.group(1)) * 3600 + int(stated.group(2)) * 60 +
               float(stated.group(3))) if stated and any(f in formats for f in _EXACT) else None
    hinted = []
    ordinal = 0
    for stream in streams:
        if stream.kind != "video":
            hinted.append(stream)
            continue
        line = videos[ordinal]
        ordinal += 1
        following = [m.start() for m in lines if m.start() > line.start()]
        own = block[line.start():following[0] if following else len(block)]
        turned = _ROTATION.search(own)
        profile = _PROFILE.match(line.group(2))
        hinted.append(replace(stream, rotation=float(turned.group(1)) if turned else 0.0,
                              profile=profile.group(1) if profile else None))
    return tuple(hinted), formats, seconds


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
    streams, formats, stated = _with_hints(streams, report, path)
    held = [s.seconds for s in streams if s.moving or (s.kind == "audio" and s.packets)]
    return MediaInfo(formats, brand_of(data_head), max(held) if held else None, streams,
                     stated)
