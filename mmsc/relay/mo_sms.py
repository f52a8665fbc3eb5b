"""Handsets' SMS to a VASP's number (issue 18.2): each complete text (joined and decoded by
:mod:`wap_push.mo` in the SMPP client) becomes a message from the handset to that number,
one text/plain part, accepted like an MM1 submit: durable before anything else, then the
recipient's step sends it to the VASP as MM7 DeliverReq with back-off (as an MMS to a short
code goes), or takes it as a stop or start word (:mod:`.optout`).

The deliver_sm was answered ESME_ROK before this runs (the SMPP reader thread cannot wait
for the stores): a text the stores refuse now is logged, and lost.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from wap_push.mo import MoSms

from mmsc.message import Envelope, Message, MessagePart
from mmsc.state import Interface

from . import notices
from .accept import Accepted

log = logging.getLogger(__name__)


class MobileOriginated:
    """The MO SMS intake of :class:`~mmsc.relay.engine.Engine`."""

    def on_mo_sms(self, sms: MoSms) -> None:
        """For the SMPP client's ``on_message``, on the loop: take the text in a task."""
        task = asyncio.get_running_loop().create_task(self._take_mo_sms(sms))
        self._mo_tasks.add(task)
        task.add_done_callback(self._mo_tasks.discard)

    async def _take_mo_sms(self, sms: MoSms) -> None:
        try:
            await self.mo_sms(sms)
        except Exception:  # noqa: BLE001 - one lost text must not stop the others
            log.exception("MO SMS from %s to %s lost: not accepted", sms.source, sms.destination)

    async def mo_sms(self, sms: MoSms) -> Accepted | None:
        """Accept ``sms`` as a message from the handset to a VASP's number; None (and a
        log line) when no VASP has that number now."""
        vasp_id = (await self._vasps_by_number()).get(sms.destination)
        if vasp_id is None:
            log.warning("MO SMS from %s to %s dropped: no VASP has that number", sms.source,
                        sms.destination)
            return None
        now = self.clock()
        message = Message(Envelope(
            originator=notices.mms_address(sms.source), to=[notices.mms_address(sms.destination)],
            date=datetime.fromtimestamp(int(now), timezone.utc), message_class="Personal"),
            parts=[MessagePart.from_text(sms.text)])
        done = await self.submit(message, Interface.MM1)
        await self.state.add_event(done.message_id, "mo-sms", now=now, detail={
            "from": sms.source, "to": sms.destination, "vasp": vasp_id,
            "segments": sms.segments})
        log.info("MO SMS from %s to %s (VASP %s) accepted as %s", sms.source, sms.destination,
                 vasp_id, done.message_id)
        return done
