"""Audio and video adaptation with ffmpeg: what a device plays, within its byte budget.

Targets (3GPP TS 26.140 §5, the MMS media formats, and the OMA MMS Conformance Document):
old phones take 3GP with H.263 at QCIF (176x144, pixel aspect 12:11) and AMR-NB at 8 kHz
mono; newer ones take MP4 with H.264 Baseline and AAC-LC. Audio alone goes to AAC (M4A),
MP3 or AMR-NB. One table, :data:`TARGETS`, says per media type which container, encoders
and extension, and which source codecs a device taking that type plays as they are.

Steps: probe (refusing what is not audio or video, and frame sizes no phone needs); keep
the streams when the device takes their type and codecs and they fit the screen and the
budget (an MP4 or 3GP is copied without its metadata, where phones write the place);
else choose the target, derive the bitrate from the budget and the duration (and, for
H.264, the frame size from the bitrate), encode, and encode again at a bitrate scaled by
how far the first result missed; when even the lowest bitrate cannot carry the whole
duration the clip is trimmed, and the notes say so. A result much shorter than it should
be means the source was damaged: refused. Blocking work: callers run it in a worker.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .ffmpeg import MAX_PIXELS, Ffmpeg, Filter, MediaError, Output, WorkFolder
from .probe import MediaInfo


@dataclass(frozen=True)
class Target:
    """One output format: container (ffmpeg muxer), encoders, and the source codecs that a
    device taking ``media_type`` plays without re-encoding."""

    media_type: str
    muxer: str
    extension: str
    audio_encoder: str
    audio_codecs: frozenset[str]
    video_encoder: str | None = None
    video_codecs: frozenset[str] = frozenset()
    #: audio bitrates (bit/s) to choose from, best first; the last is the floor
    audio_rates: tuple[int, ...] = ()


_AMR_RATES = (12200, 10200, 7950, 7400, 6700, 5900, 5150, 4750)  # AMR-NB modes, TS 26.071
TARGETS: dict[str, Target] = {t.media_type: t for t in (
    Target("video/mp4", "mp4", ".mp4", "aac", frozenset({"aac"}), "libx264",
           frozenset({"h264"}), (96000, 64000, 48000, 32000, 24000)),
    Target("video/3gpp", "3gp", ".3gp", "libopencore_amrnb", frozenset({"amr_nb"}), "h263",
           frozenset({"h263", "mpeg4"}), _AMR_RATES),
    Target("audio/mp4", "ipod", ".m4a", "aac", frozenset({"aac"}),
           audio_rates=(128000, 96000, 64000, 48000, 32000, 24000)),
    Target("audio/mpeg", "mp3", ".mp3", "libmp3lame", frozenset({"mp3"}),
           audio_rates=(128000, 96000, 64000, 48000, 32000, 24000, 16000)),
    Target("audio/amr", "amr", ".amr", "libopencore_amrnb", frozenset({"amr_nb"}),
           audio_rates=_AMR_RATES),
)}
_NAMES = {"libx264": "H.264 Baseline", "h263": "H.263", "aac": "AAC-LC",
          "libopencore_amrnb": "AMR-NB", "libmp3lame": "MP3"}
#: The ISO base media types, by the ffmpeg muxer that writes each (for a copy without metadata).
_ISO_MUXERS = {"video/mp4": "mp4", "audio/mp4": "ipod", "video/3gpp": "3gp",
               "audio/3gpp": "3gp", "video/3gpp2": "3g2", "audio/3gpp2": "3g2"}
#: Preference when the source's own type is not kept.
VIDEO_ORDER = ("video/mp4", "video/3gpp")
AUDIO_ORDER = ("audio/mp4", "audio/mpeg", "audio/amr")
#: Source media types mmsc reads (besides the targets), with their aliases.
ALIASES = {"audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/mp3": "audio/mpeg",
           "audio/x-mp3": "audio/mpeg", "audio/m4a": "audio/mp4", "audio/x-m4a": "audio/mp4",
           "audio/amr-nb": "audio/amr", "video/3gp": "video/3gpp", "audio/3gp": "audio/3gpp"}
#: Octets of container beyond the streams (moov box, AMR header), and the share kept free.
_CONTAINER = 4096
_SLACK = 0.94
_QCIF, _SQCIF = (176, 144), (128, 96)  # H.263 source formats (ITU-T H.263 §3.1)
_H263_PAR = 12 / 11
_H264_MAX = (1280, 720)  # Baseline level 3.1
#: H.264 profiles passed on as they are: Baseline to phones up to VGA (3GPP TS 26.234 §5.4),
#: 8-bit 4:2:0 Main and High to larger ones; High 10, 4:2:2 and 4:4:4 are re-encoded.
_H264_PROFILES = ("Baseline", "Constrained Baseline", "Main", "High")
_BITS_PER_PIXEL = 0.1  # H.264 Baseline at "good enough" for a phone
_MAX_BITS_PER_PIXEL = 0.3  # beyond this a phone sees no better picture
_H264_FLOOR, _H263_FLOOR = 40_000, 20_000  # video bit/s below which the clip is trimmed
_ATTEMPTS = 4
_PREPARED = "shaped.nut"
_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_DAMAGED = 0.75  # a result shorter than this share of what it should last is a damaged source


@dataclass(frozen=True)
class MediaLimits:
    """What the device takes: media types (concrete, wildcards resolved by the caller), the
    octets this part may use, and the largest frame (landscape: width >= height)."""

    accepted: frozenset[str]
    max_bytes: int
    video_box: tuple[int, int] = _QCIF


@dataclass(frozen=True)
class AdaptedMedia:
    data: bytes
    media_type: str
    duration: float  # seconds
    changed: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: one ffmpeg command line that makes ``data`` from the source (its folder: ``{work}``)
    command: tuple[str, ...] = ()


def normalise(media_type: str) -> str:
    media = media_type.split(";")[0].strip().lower()
    return ALIASES.get(media, media)


def known_types() -> frozenset[str]:
    """Every media type this module reads or writes (for resolving a profile's wildcards)."""
    return frozenset(TARGETS) | frozenset(ALIASES.values()) | {
        "audio/wav", "audio/aac", "audio/ogg", "audio/3gpp", "video/webm", "video/3gpp2"}


def adapt_media(data: bytes, declared: str, limits: MediaLimits,
                tools: Ffmpeg | None = None) -> AdaptedMedia:
    """The audio or video ``data`` as ``limits`` allow. It is adapted for what it really is
    (handsets send 3GP voice notes as ``video/3gpp``: that is audio); content that holds
    neither (a picture, a document, a damaged file) is a :class:`MediaError`."""
    tools = tools or Ffmpeg()
    tools = replace(tools, deadline=time.monotonic() + tools.timeout)  # for all its runs too
    with WorkFolder() as work:
        source = work.write("source", data)
        info = tools.probe(source)
        if info.video is None and info.audio is None:
            raise MediaError(f"declared {normalise(declared)} but holds no audio or video "
                             f"(ffmpeg reads it as {','.join(info.formats)})")
        video = info.video
        if video is not None and (video.width or 0) * (video.height or 0) > MAX_PIXELS:
            raise MediaError(f"{video.width}x{video.height} video frames are over "
                             f"{MAX_PIXELS} pixels: refused")
        notes: list[str] = []
        real = info.media_type
        if real and normalise(declared) != real:
            notes.append(f"declared {normalise(declared)}, is {real}")
        _check_whole(info)
        if _keepable(info, len(data), limits):
            stripped = _without_metadata(tools, work, source, info, limits.max_bytes)
            if stripped is not None:
                return AdaptedMedia(stripped, real or normalise(declared), info.duration or 0.0,
                                    notes=(*notes, "metadata removed (streams kept as they are)"))
            return AdaptedMedia(data, real or normalise(declared), info.duration or 0.0,
                                changed=False, notes=tuple(notes))
        order = VIDEO_ORDER if video is not None else AUDIO_ORDER
        choices = [TARGETS[m] for m in order if m in limits.accepted]
        if not choices:
            kind = "video" if video is not None else "audio"
            raise MediaError(f"the device takes no {kind} format mmsc writes")
        return _Encoder(tools, work, source, info, limits, notes).run(choices)


def _keepable(info: MediaInfo, size: int, limits: MediaLimits) -> bool:
    real = info.media_type
    if real is None or real not in limits.accepted or size > limits.max_bytes:
        return False
    target = TARGETS.get(real)
    if target is None:  # a type the device names but mmsc cannot check the codecs of
        return True
    if info.audio is not None and info.audio.codec not in target.audio_codecs:
        return False
    video = info.video
    if video is None:
        return True
    if video.codec not in target.video_codecs or not video.width or not video.height:
        return False
    box = limits.video_box
    if video.codec == "h264":  # its profile must be known and one the device class decodes
        decodes = _H264_PROFILES if max(box) > 640 else _H264_PROFILES[:2]
        if video.profile not in decodes:
            return False
    return max(video.width, video.height) <= box[0] and min(video.width, video.height) <= box[1]


def _without_metadata(tools: Ffmpeg, work: WorkFolder, source: Path, info: MediaInfo,
                      budget: int) -> bytes | None:
    """An MP4, 3GP or M4A passed on as it is, copied stream for stream into a new file of
    the same kind without its metadata: phones write where a clip was recorded into it
    (ISO 6709 location tags), and that must not leak, as for pictures. None for other
    containers, or when the copy would not fit."""
    muxer = _ISO_MUXERS.get(info.media_type or "")
    if muxer is None:
        return None
    streams = tuple(s.selector for s in (info.video, info.audio) if s is not None)
    out = Output(work.path / "kept", streams,
                 {"c": "copy", "map_metadata": -1, "map_chapters": -1, "f": muxer,
                  "movflags": "+faststart"})
    written = tools.convert(source, out)
    data = out.target.read_bytes()
    whole = written >= (info.duration or 0.0) * _DAMAGED
    return data if whole and len(data) <= budget else None


def _check_whole(info: MediaInfo) -> None:
    """A file cut short (its container states much more than its packets hold) is refused:
    the phone could not play it as it is, and a part of it would not be what was sent."""
    held = info.duration or 0.0
    if info.stated and held < info.stated * _DAMAGED:
        raise MediaError(f"damaged: its data holds {held:.1f} s of the {info.stated:.1f} s "
                         "it states")


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


@dataclass
class _Encoding:
    """One attempt: what to ask ffmpeg for."""

    target: Target
    duration: float
    audio_rate: int | None
    video_rate: int | None = None
    frame: tuple[int, int] | None = None
    fps: float | None = None


class _Encoder:
    """The choice of bitrate, frame size and duration for one source, and the attempts."""

    def __init__(self, tools: Ffmpeg, work: WorkFolder, source: Path, info: MediaInfo,
                 limits: MediaLimits, notes: list[str]) -> None:
        self.tools, self.work, self.source, self.info = tools, work, source, info
        self.limits, self.notes = limits, notes
        self.length = info.duration or 0.0
        if self.length <= 0:
            raise MediaError("the file states no duration: damaged or a live stream")
        self.bits = max(0.0, (limits.max_bytes - _CONTAINER) * 8 * _SLACK)
        self._shortest = min(1.0, self.length)  # what a trimmed clip keeps at the least

    def run(self, choices: list[Target]) -> AdaptedMedia:
        """Encode; after a miss, scale the bitrate by how far it missed, or, once the
        bitrates are at their floors (encoders have a quality floor of their own), trim.
        For H.263, whose rate control overshoots at MMS bitrates (it cannot go below its
        quantiser floor, ITU-T H.263 §5.1.19), the first attempt's run also keeps the clip
        decoded and shaped to QCIF (:meth:`_shaped`), so that each further attempt only
        encodes small frames."""
        target = self._choose(choices)
        bits = self.bits
        plan = self._encoding(target, bits)
        source = self.source
        for attempt in range(_ATTEMPTS):
            prepare = attempt == 0 and target.video_encoder == "h263"
            data, seconds = self._encode(plan, source, prepare=prepare)
            if prepare:
                source = self.work.path / _PREPARED
            if len(data) <= self.limits.max_bytes:
                return self._done(plan, data, seconds)
            ratio = self.limits.max_bytes * _SLACK / len(data)
            bits *= ratio
            smaller = self._encoding(target, bits)
            if (smaller.video_rate, smaller.audio_rate) == (plan.video_rate, plan.audio_rate):
                smaller = replace(plan, duration=max(self._shortest, plan.duration * ratio))
            plan = replace(smaller, fps=plan.fps)  # prepared frames keep their rate
        raise MediaError(f"no {target.media_type} of this clip fits "
                         f"{self.limits.max_bytes} octets")

    def _shaped(self, plan: _Encoding) -> Output:
        """The clip decoded, at the plan's frame rate and size, its sound at the target's
        sample rate: raw, in a NUT file, for further attempts to encode."""
        out = self._arguments(plan, shaped=False)
        shaping = {k: v for k, v in out.args.items() if k in ("pix_fmt", "ar", "ac", "t")}
        return Output(self.work.path / _PREPARED, out.streams, {
            **shaping, "c:v": "rawvideo", "c:a": "pcm_s16le", "f": "nut"}, out.filters)

    def _choose(self, choices: list[Target]) -> Target:
        """The first target the device takes, unless the budget cannot carry even its
        lowest audio bitrate for the whole clip while a later one (AMR) can."""
        per_second = self.bits / self.length
        for target in choices:
            floor = target.audio_rates[-1] + (self._video_floor(target) if
                                              self.info.video else 0)
            if per_second >= floor:
                return target
        return min(choices, key=lambda t: t.audio_rates[-1])

    def _video_floor(self, target: Target) -> int:
        return _H264_FLOOR if target.video_encoder == "libx264" else _H263_FLOOR

    def _encoding(self, target: Target, bits: float) -> _Encoding:
        """Bitrates for ``bits`` over the clip; trimmed when the floors do not fit."""
        has_audio = self.info.audio is not None
        video = self.info.video
        floor = (target.audio_rates[-1] if has_audio else 0) + (
            self._video_floor(target) if video else 0)
        duration = self.length
        if bits / duration < floor:
            duration = max(self._shortest, bits / max(floor, 1))
        rate = bits / duration
        audio_rate = None
        if has_audio:
            share = min(rate * (0.2 if video else 1.0), self._audio_ceiling())
            audio_rate = next((r for r in target.audio_rates if r <= share),
                              target.audio_rates[-1])
        if video is None:
            return _Encoding(target, duration, audio_rate)
        video_rate = max(int(rate - (audio_rate or 0)), self._video_floor(target))
        if target.video_encoder == "h263":
            fps = min(video.fps or 15.0, 15.0 if video_rate >= 48_000 else 10.0)
            box = self.limits.video_box
            frame = _QCIF if box[0] >= _QCIF[0] and box[1] >= _QCIF[1] else _SQCIF
        else:
            fps = min(video.fps or 25.0, 30.0 if video_rate >= 300_000 else 15.0)
            frame = self._h264_frame(video_rate, fps)
        # A large budget buys quality up to a point, not octets: at most this much per pixel.
        ceiling = int(frame[0] * frame[1] * fps * _MAX_BITS_PER_PIXEL)
        return _Encoding(target, duration, audio_rate, max(min(video_rate, ceiling),
                                                           self._video_floor(target)), frame, fps)

    def _shown(self) -> tuple[int, int]:
        """The picture's size as displayed (ffmpeg turns a rotated clip upright before the
        filters: the frame is planned for what comes out); unknown: a common 320x240."""
        return self.info.shown or (320, 240)

    def _audio_ceiling(self) -> float:
        """The most bits per second the source's sound can use: about 1.5 bits per sample
        and channel (AAC-LC is transparent near 64 kbit/s per channel at 44.1 kHz), so that
        an 8 kHz voice clip for a large budget does not become 128 kbit/s of nothing."""
        audio = self.info.audio
        if audio is None or not audio.sample_rate:
            return math.inf
        return audio.sample_rate * (audio.channels or 1) * 1.5

    def _h264_frame(self, rate: int, fps: float) -> tuple[int, int]:
        """The source's aspect, as large as the device box, Baseline level and the bitrate
        allow (about :data:`_BITS_PER_PIXEL` per pixel and frame)."""
        width, height = self._shown()
        landscape = width >= height
        box_w, box_h = (min(self.limits.video_box[0], _H264_MAX[0]),
                        min(self.limits.video_box[1], _H264_MAX[1]))
        if not landscape:
            box_w, box_h = box_h, box_w
        scale = min(1.0, box_w / width, box_h / height,
                    math.sqrt(rate / (_BITS_PER_PIXEL * fps) / (width * height)))
        least = (96, 64) if landscape else (64, 96)  # smaller is no picture, unless the box is
        return (_even(max(width * scale, min(least[0], box_w))),
                _even(max(height * scale, min(least[1], box_h))))

    def _arguments(self, plan: _Encoding, *, shaped: bool) -> Output:
        """The output of ``plan`` (its file, streams, filters and options); ``shaped`` when
        the input is the shaped clip (:meth:`_shaped`, which holds only the two streams
        chosen, already at the plan's frame size and rate). The streams are the ones
        probed, named by their specifiers: a cover picture or a second track is never
        taken for them."""
        target = plan.target
        args: dict[str, Any] = {"f": target.muxer, "map_metadata": -1,
                                "t": f"{plan.duration:.3f}"}
        streams: list[str] = []
        filters: tuple[Filter, ...] = ()
        video, audio = self.info.video, self.info.audio
        if plan.video_rate is not None and plan.frame is not None and video is not None:
            streams.append("v:0" if shaped else video.selector)
            args.update(self._video_args(plan))
            filters = () if shaped else self._picture(plan)
        if plan.audio_rate is not None and audio is not None:
            streams.append("a:0" if shaped else audio.selector)
            args.update(self._audio_args(target, plan.audio_rate))
        return Output(self.work.path / f"out{target.extension}", tuple(streams), args, filters)

    def _encode(self, plan: _Encoding, source: Path, *, prepare: bool = False,
                ) -> tuple[bytes, float]:
        """One ffmpeg run: the data and the seconds it holds; with ``prepare``, the same
        run (one decoding, one filter chain) also writes the shaped clip (:meth:`_shaped`)."""
        out = self._arguments(plan, shaped=source != self.source)
        seconds = self.tools.convert(source, out, *((self._shaped(plan),) if prepare else ()))
        self._check_length(seconds, plan.duration)
        data = out.target.read_bytes()
        if plan.frame is not None and len(data) <= self.limits.max_bytes:
            made = self.tools.probe(out.target).video  # a picture was asked for: is it there?
            if made is None or made.seconds < plan.duration * _DAMAGED:
                raise MediaError("damaged: its video could not be decoded")
        return data, seconds

    @staticmethod
    def _check_length(seconds: float, planned: float) -> None:
        if seconds < planned * _DAMAGED:
            raise MediaError(f"damaged: only {seconds:.1f} s of {planned:.1f} s could be "
                             "decoded")

    def _picture(self, plan: _Encoding) -> tuple[Filter, ...]:
        """The video filters: the frame rate first (fewer frames to scale), then the size;
        for H.263 the picture is fitted to the frame as displayed (12:11 pixels) and padded
        with black."""
        assert plan.frame is not None
        width, height = plan.frame
        rate: Filter = ("fps", (f"{plan.fps:g}",))
        if plan.target.video_encoder != "h263":
            return rate, ("scale", (str(width), str(height))), ("setsar", ("1",))
        source_w, source_h = self._shown()
        scale = min(width * _H263_PAR / source_w, height / source_h)
        inner = (min(width, _even(source_w * scale / _H263_PAR)),
                 min(height, _even(source_h * scale)))
        return (rate, ("scale", (str(inner[0]), str(inner[1]))),
                ("pad", (str(width), str(height), "(ow-iw)/2", "(oh-ih)/2")),
                ("setsar", ("12/11",)))

    def _video_args(self, plan: _Encoding) -> dict[str, Any]:
        assert plan.video_rate is not None
        rate = plan.video_rate
        common = {"b:v": rate, "maxrate": int(rate * 1.25), "bufsize": rate * 2,
                  "pix_fmt": "yuv420p"}
        if plan.target.video_encoder == "h263":
            return {**common, "c:v": "h263"}
        return {**common, "c:v": "libx264", "profile:v": "baseline", "level": "3.1",
                "preset": "veryfast", "movflags": "+faststart"}

    def _audio_args(self, target: Target, rate: int) -> dict[str, Any]:
        if target.audio_encoder == "libopencore_amrnb":
            return {"c:a": "libopencore_amrnb", "b:a": rate, "ar": 8000, "ac": 1}
        channels = 2 if rate >= 96000 and (self.info.audio and (
            self.info.audio.channels or 1) > 1) else 1
        sample_rate = 44100 if rate >= 64000 else 22050 if rate >= 24000 else 16000
        if self.info.audio and self.info.audio.sample_rate:  # never above the source's, and
            # one of the rates AAC and MP3 both define (ISO/IEC 14496-3, 11172-3, 13818-3)
            source = self.info.audio.sample_rate
            sample_rate = max((r for r in _SAMPLE_RATES if r <= min(sample_rate, source)),
                              default=_SAMPLE_RATES[0])
        return {"c:a": target.audio_encoder, "b:a": rate, "ar": sample_rate, "ac": channels}

    def _done(self, plan: _Encoding, data: bytes, seconds: float) -> AdaptedMedia:
        """The result, with its notes, and the one ffmpeg command line that makes it from
        the source (the bare equivalent of what was run, for benchmarks and for users)."""
        notes = self.notes
        target = plan.target
        real = self.info.media_type
        if real != target.media_type:
            notes.append(f"converted from {real or 'unknown'} to {target.media_type}")
        if plan.video_rate is not None and plan.frame is not None and target.video_encoder:
            notes.append(f"video {_NAMES[target.video_encoder]} {plan.frame[0]}x"
                         f"{plan.frame[1]} at {plan.video_rate // 1000} kbit/s")
        if plan.audio_rate is not None:
            notes.append(f"audio {_NAMES[target.audio_encoder]} at "
                         f"{plan.audio_rate / 1000:g} kbit/s")
        if plan.duration < self.length - 0.05:
            notes.append(f"trimmed to {plan.duration:.1f} s of {self.length:.1f} s to fit "
                         f"{self.limits.max_bytes} octets")
        work = str(self.work.path)
        command = self.tools.command(self.source, self._arguments(plan, shaped=False))
        return AdaptedMedia(data, target.media_type, seconds, notes=tuple(notes),
                            command=tuple(a.replace(work, "{work}") for a in command))
