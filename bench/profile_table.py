"""Where a profiled server spent its samples, as the short tables of docs/performance.md.

Reads py-spy's collapsed stacks (``py-spy record --format raw``, which the benchmarks write
when ``BENCH_PROFILE=file`` is set) and prints two tables: the share of samples spent in
each module's own code (the leaf frame's file, grouped to a package for libraries), and the
share of samples under each of the project's functions that holds at least ``--min`` per
cent (inclusive), import and start-up frames left out.

    .venv/bin/python bench/profile_table.py FILE [--min 2.0] [--top 15]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

OWN = ("mmsc/", "wap_push/", "adaptation/", "web_viewer/")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(?::\d+)?\)$")
_START = ("<module>", "_find_and_load", "Server.start", "main", "_serve_command")
#: Files whose frames hold the whole process up (the event loop's runner): not a cost.
_ENTRY = ("mmsc/loops.py", "mmsc/cli.py", "mmsc/__main__.py")


def where(frame: str) -> tuple[str, str]:
    """(function, file) of one collapsed frame."""
    found = _FRAME.match(frame)
    return (found["function"], found["file"]) if found else (frame, "?")


def module(path: str) -> str:
    """The project's file as it is; a library as its top package (``aiohttp``, ``asyncio``)."""
    for own in OWN:
        if own in path:
            return own + path.split(own, 1)[1]
    name = path.split("site-packages/", 1)[-1].split("python3.11/", 1)[-1]
    return name.split("/", 1)[0].removesuffix(".py")


def tables(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    total, own_code, under = 0, Counter[str](), Counter[str]()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [where(f) for f in stack.split(";")]
        if any(function in _START for function, _ in frames[:-1]) and \
                not any(function == "BaseEventLoop.run_forever" for function, _ in frames):
            continue  # importing and starting, not serving
        samples = int(count)
        total += samples
        own_code[module(frames[-1][1])] += samples
        for name in {f"{function} ({module(file)})" for function, file in frames
                     if any(own in file for own in OWN) and function not in _START
                     and not file.endswith(_ENTRY)}:
            under[name] += samples
    return total, own_code, under


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--min", type=float, default=2.0)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    total, own_code, under = tables(args.file)
    print(f"{total} samples")
    print("| own code of | share |\n|---|---:|")
    for name, samples in own_code.most_common(args.top):
        print(f"| {name} | {100 * samples / total:.1f} % |")
    print("\n| under the project's function | share |\n|---|---:|")
    for name, samples in under.most_common():
        if 100 * samples / total >= args.min:
            print(f"| {name} | {100 * samples / total:.1f} % |")


if __name__ == "__main__":
    main()
