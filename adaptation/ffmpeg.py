"""Running ffmpeg: a subprocess with no shell, a time limit and a private work folder.

The binary is the static one that ``imageio-ffmpeg`` ships (it has libopencore_amrnb,
h263, libx264 and aac; Debian's has no AMR-NB encoder) unless the configuration names
another (``[adaptation] ffmpeg``). Command lines are built with ffmpeg-python and run
here with :func:`subprocess.run`, so a hostile or broken file costs at most ``timeout``
seconds and ends as a :class:`MediaError`, never a hung worker. Blocking: callers run
these in a worker thread.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_python

from .probe import MediaInfo, ProbeError, parse_probe


#: Octets of packet listing a probe reads at most (about 130,000 packets: an hour of AMR),
#: so that a file of a million one-octet frames cannot fill memory.
MAX_LISTING = 8 * 1024 * 1024
#: Pixels a decoded picture may have (4096x2304), also when a stream changes size midway.
MAX_PIXELS = 4096 * 2304


class MediaError(ValueError):
    """The audio or video cannot be adapted: unreadable, hostile, too slow, or too big."""


def bundled_ffmpeg() -> str:
    """The path of the ffmpeg that imageio-ffmpeg carries."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


#: One filter of a chain: its name and its positional arguments (``("scale", ("176", "144"))``).
Filter = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class Output:
    """One output file of an ffmpeg run: the streams it takes (specifiers), the filters of
    its first (video) stream, and its options."""

    target: Path
    streams: tuple[str, ...]
    args: dict[str, Any]
    filters: tuple[Filter, ...] = ()


@dataclass(frozen=True)
class Ffmpeg:
    """How to run ffmpeg: ``exe`` (empty: the bundled one), the time limit of one run in
    seconds, and the threads one run may use."""

    exe: str = ""
    timeout: float = 120.0
    threads: int = 2
    #: a time (``time.monotonic()``) by which every run must be done, None: each has its own
    deadline: float | None = None

    @property
    def path(self) -> str:
        return self.exe or bundled_ffmpeg()

    def probe(self, source: Path) -> MediaInfo:
        """What ``source`` holds: its audio and video packets copied, not decoded, to the
        ``framecrc`` listing (see :mod:`adaptation.probe`)."""
        command = [self.path, "-hide_banner", "-nostdin", "-loglevel", "level+info",
                   "-i", str(source), "-map", "0:v?", "-map", "0:a?", "-c", "copy",
                   "-fs", str(MAX_LISTING), "-f", "framecrc", "-"]
        report, listing = self._run(command, check=False)
        with source.open("rb") as file:
            head = file.read(16)
        try:
            return parse_probe(listing, report, str(source), head)
        except ProbeError as exc:
            raise MediaError(f"not readable media ({exc})") from None

    def command(self, source: Path, *outputs: Output) -> list[str]:
        """``ffmpeg -i source`` and, per output, ``-map 0:S...`` for each of its stream
        specifiers (``v:0``, ``a:1``), its options and its file, overwritten: one decoding
        of the source feeds them all (built, not run)."""
        given = ffmpeg_python.input(str(source), max_pixels=MAX_PIXELS)
        chains: dict[tuple[str, tuple[Filter, ...]], list[Any]] = {}
        for out in outputs:  # outputs with the same filters on the same stream share them
            if out.filters and out.streams:
                chains.setdefault((out.streams[0], out.filters), []).append(out)
        taps: dict[int, Any] = {}
        for (stream, filters), sharing in chains.items():
            chain = given[stream]
            for name, values in filters:
                chain = chain.filter(name, *values)
            split = chain.split() if len(sharing) > 1 else None
            for i, out in enumerate(sharing):
                taps[id(out)] = split[i] if split is not None else chain
        made = [ffmpeg_python.output(
            *([taps[id(out)]] if id(out) in taps else [given[out.streams[0]]]),
            *(given[s] for s in out.streams[1:]), str(out.target), threads=self.threads,
            **out.args) for out in outputs if out.streams]
        return (ffmpeg_python.merge_outputs(*made).global_args(*_QUIET)
                .compile(cmd=self.path, overwrite_output=True))

    def convert(self, source: Path, *outputs: Output) -> float:
        """Run :meth:`command`: the seconds of media written (from its progress report)."""
        return _reached(self._run(self.command(source, *outputs), check=True)[1])

    def _run(self, command: list[str], *, check: bool) -> tuple[str, str]:
        """ffmpeg's report (stderr) and output (stdout) of one run."""
        limit = self.timeout
        if self.deadline is not None:
            limit = min(limit, self.deadline - time.monotonic())
            if limit <= 0:
                raise MediaError(f"adapting took longer than {self.timeout:g} s: stopped")
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=limit, check=False)
        except subprocess.TimeoutExpired:
            raise MediaError(f"ffmpeg took longer than {self.timeout:g} s: stopped") from None
        except OSError as exc:
            raise MediaError(f"ffmpeg could not be started: {exc}") from None
        report = done.stderr.decode("utf-8", "replace")
        if check and done.returncode != 0:
            last = report.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
            raise MediaError(f"ffmpeg failed: {last[0][:200]}")
        return report, done.stdout.decode("utf-8", "replace")


#: No banner, no prompt, errors only, and the machine-readable progress report on stdout.
_QUIET = ("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:1")


def _reached(progress: str) -> float:
    """The last ``out_time_us`` of a progress report, in seconds (0 when none)."""
    reached = re.findall(r"^out_time_us=(\d+)$", progress, re.MULTILINE)
    return int(reached[-1]) / 1e6 if reached else 0.0


class WorkFolder:
    """A private temporary folder for one adaptation: ffmpeg reads and writes files (MP4
    and 3GP need seekable input and output), removed with everything in it on exit."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="mmsc-media-")
        self.path = Path(self._folder.name)

    def __enter__(self) -> WorkFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self._folder.cleanup()

    def write(self, name: str, data: bytes) -> Path:
        path = self.path / name
        path.write_bytes(data)
        return path
