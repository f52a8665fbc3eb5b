"""A child process for the crash test: accepts messages in a loop until it is killed.

    python tests/helpers/accept_forever.py DATA_DIR SEED STATE_URL

Prints each accepted message id on its own line, flushed, only after ``accept`` returned:
the parent treats a printed id as acknowledged to the sender.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from mmsc.message import Envelope, Message, MessagePart  # noqa: E402
from mmsc.relay.accept import accept  # noqa: E402
from mmsc.state import Interface, Route  # noqa: E402
from mmsc.state.location import open_store  # noqa: E402
from mmsc.store import FilesystemStore  # noqa: E402


async def main(data: Path, seed: int, state_url: str) -> None:
    rng = random.Random(seed)
    objects = FilesystemStore(data / "objects")
    state = await open_store(state_url)
    while True:
        n = rng.randrange(1, 4)
        message = Message(
            Envelope(originator="+33600000001/TYPE=PLMN", subject=f"crash test {seed}",
                     to=[f"+3360000{rng.randrange(10**4):04d}/TYPE=PLMN" for _ in range(n)]),
            [MessagePart.from_text("hello", content_id="t"),
             MessagePart("image/jpeg", rng.randbytes(rng.randrange(1000, 60000)), content_id="i")])
        accepted = await accept(message, objects=objects, state=state, interface=Interface.MM1,
                                route=lambda _address: Route.MMS, now=time.time())
        print(accepted.message_id, flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
