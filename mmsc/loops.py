"""Which asyncio event loop a server process runs: the standard one (the default), or
uvloop's (libuv); ``[http] event_loop`` chooses, ``auto`` taking uvloop when it imports.
bench/mm7.py runs mmsc on both; docs/performance.md says what uvloop bought (too little to
make it the default)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

CHOICES = ("auto", "asyncio", "uvloop")


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory of the loop ``choice`` names; None for the standard loop. ``uvloop``
    when it is not installed raises RuntimeError; ``auto`` falls back quietly."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise RuntimeError("[http] event_loop = \"uvloop\" but uvloop is not installed "
                               "(pip install uvloop)") from None
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: str) -> T:
    """``asyncio.run(main)`` on the loop ``choice`` names."""
    factory = loop_factory(choice)
    with asyncio.Runner(loop_factory=factory) as runner:
        log.debug("event loop: %s", type(runner.get_loop()).__module__)
        return runner.run(main)
