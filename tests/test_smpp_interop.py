"""mmsc's SMPP client against someone else's SMSC: node-smpp (the npm `smpp` package, which
`make test` installs into .cache/npm), started by the test on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from datetime import timedelta
from pathlib import Path

from mmsc.pdu import MessageClass, MessageType, MmsPdu, decode, encode
from wap_push.push import decode_push, encode_push
from wap_push.smpp import Receipt
from wap_push.smpp_client import SmppClient, SmppConfig
from wap_push.sms import DCS_UCS2

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / ".cache" / "npm" / "node_modules"
PEER = ROOT / "tests" / "peers" / "node_smsc.js"


async def test_client_against_node_smpp_server() -> None:
    node = shutil.which("node")
    assert node and (NODE_MODULES / "smpp").is_dir(), \
        "node and node-smpp are needed: `make test` installs them (scripts/test-peers.sh)"
    proc = await asyncio.create_subprocess_exec(
        node, str(PEER), stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    assert proc.stdout is not None

    async def event() -> dict:
        return json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))

    receipts: list[Receipt] = []
    try:
        port = (await event())["port"]
        client = SmppClient(SmppConfig(port=port, system_id="mmsc", password="secret"),
                            on_receipt=receipts.append)
        await client.start()
        notification = encode(MmsPdu(MessageType.NOTIFICATION_IND, "NODE1", "1.2",
                                     message_class=MessageClass.PERSONAL, message_size=5000,
                                     expiry=timedelta(days=1),
                                     content_location="http://mmsc.test/m/" + "n" * 250))
        push = encode_push(notification, transaction_id=4)
        push_ids = await client.send_push("+33600000003", push)
        text_ids = await client.send_text("+33600000004", "Привет из mmsc")
        submits = [await event() for _ in push_ids + text_ids]
        async with asyncio.timeout(10):
            while len(receipts) < len(submits):
                await asyncio.sleep(0.01)
        await client.close()
    finally:
        proc.terminate()
        await proc.wait()

    assert [s["id"] for s in submits] == push_ids + text_ids
    segments = submits[:len(push_ids)]
    assert len(segments) == 3 and all(s["esm_class"] & 0x40 for s in segments)
    assert all("05040b8423f0" in s["udh"] for s in segments)
    payload = bytes.fromhex("".join(s["message"] for s in segments))
    assert payload == push
    assert decode(decode_push(payload).data).transaction_id == "NODE1"
    assert submits[-1]["data_coding"] == DCS_UCS2
    assert bytes.fromhex(submits[-1]["message"]).decode() == "Привет из mmsc"  # read by node
    assert sorted(r.message_id for r in receipts) == sorted(push_ids + text_ids)
    assert all(r.state == "DELIVRD" for r in receipts)
    # E.164 destinations: TON 1 (international), NPI 1 (ISDN), digits without "+"; the
    # alphanumeric sender TON 5, NPI 0
    assert {(s["destination"], s["dest_ton"], s["dest_npi"]) for s in submits} == \
        {("33600000003", 1, 1), ("33600000004", 1, 1)}
    assert {(s["source"], s["source_ton"], s["source_npi"]) for s in submits} == {("MMSC", 5, 0)}
