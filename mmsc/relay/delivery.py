"""The steps that send a recipient its copy: the M-Notification.ind by WAP push, the text
SMS with the web link, and the MM7 DeliverReq to a VASP; and the web view that ends one."""

from __future__ import annotations

import asyncio
import logging

from mmsc.ids import new_token, token_digest
from mmsc.state import MessageRecord, RecipientRecord

from . import notices
from .core import S, ContentLost, _WAITING
from .links import new_link

log = logging.getLogger(__name__)


class Delivery:
    """The sending steps of :class:`~mmsc.relay.engine.Engine`."""

    async def _notify(self, r: RecipientRecord, message: MessageRecord) -> None:
        """accepted|notified|retrieved → notified: an M-Notification.ind by WAP push (held
        outside the sending hours of an Advertisement, :mod:`.hold`)."""
        if await self._held(r, message):
            return
        if r.transaction_id is None:  # made at acceptance, in the same commit, so that a
            # notification repeated after a crash carries the same transaction id (handsets
            # de-duplicate on it); a row without one gets it before the push goes out
            tid = new_token()
            r = await self._move(r, r.state, kind="transaction-id", transaction_id=tid,
                                 release=False) or r
            if r.transaction_id != tid:
                return
        if not self.messenger.connected:
            await self._park(r, message, "notify-parked", "no SMSC link")
            return
        # each notification carries a token of its own; the store keeps only its digest, so
        # it is written before the push leaves (a handset may fetch at once)
        token = new_token()
        await self.state.add_content_token(r.id or 0, token_digest(token), now=self.clock())
        attempts = r.attempts + 1
        number = notices.plmn_number(r.address) or r.address
        try:
            size = await self._retrieval_size(r, message)
            push = notices.notification(
                transaction_id=r.transaction_id,
                content_location=f"{self.settings.public_url}/m/{token}",
                size=size, expiry=self.expiry(message),
                message_class=message.message_class, subject=message.subject,
                sender=message.originator or None)
            await self._pace(message)
            ids = await self.messenger.send_push(number, push)
        except ContentLost:
            raise
        except Exception as exc:  # noqa: BLE001 - SMSC refusal or link down, store down
            decision = getattr(exc, "decision", "retry")
            if decision == "link":
                await self._park(r, message, "notify-parked", str(exc))
            elif decision == "permanent":
                await self._finish(r, message, S.UNREACHABLE, kind="unreachable",
                                   detail={"why": str(exc)})
            else:
                await self._move(r, r.state, kind="notify-failed", detail={"why": str(exc)},
                                 attempts=attempts,
                                 next_attempt_at=self.clock() + self._backoff(attempts))
            return
        detail = {"attempt": attempts, "octets": len(push), "size": size, "smsc_ids": ids,
                  "segments": len(ids)}
        # the transition and the record of the SMS's ids go to the store together (one group
        # commit where the store has them)
        moved, _ = await asyncio.gather(
            self._move(r, S.NOTIFIED, kind="notified", attempts=attempts, detail=detail,
                       next_attempt_at=self.clock() + self._backoff(attempts)),
            self.receipts.record(r, message, "push", ids))
        if moved is None:  # the handset was faster: it fetched or answered already
            await self.state.add_event(r.message_id, "notified", now=self.clock(),
                                       recipient_id=r.id, detail=detail)

    async def _retrieval_size(self, r: RecipientRecord, message: MessageRecord) -> int:
        """X-Mms-Message-Size of the notification: the size of what the handset will
        retrieve (OMA-MMS-ENC §7.3.27; handsets decide on it whether to fetch at once). For
        a subscriber whose device profile is configured, the content is adapted now (the
        recipient state machine's ``accepted → (adapted) → notified``): made once, kept, and
        reused by the retrieval. Otherwise, or if adapting fails, the original's size. Either
        way the content must be there: ContentLost when it is gone, a store error when it
        cannot be read now (the handset would fetch in vain)."""
        profile = await self._configured_profile(r)
        if profile is None:
            await self._check_content(message)
            return message.size
        original, version = await self.versioned_original(message)
        try:
            content = await self.adapt(r, message, original, profile, version)
        except Exception as exc:  # noqa: BLE001 - the notification goes out regardless
            log.warning("%s %s: not adapted before the notification: %s", message.id,
                        r.address, exc)
            return message.size
        return content.size

    async def _send_link(self, r: RecipientRecord, message: MessageRecord) -> None:
        """accepted (legacy) | notified | retrieved → fallback-sent: a text SMS with the web
        link (and its PIN), see :mod:`mmsc.relay.links`. Each attempt makes a new link: only
        digests are stored, so a link whose SMS failed never works. Held like
        :meth:`_notify`."""
        if await self._held(r, message):
            return
        if not self.messenger.connected:
            await self._park(r, message, "link-parked", "no SMSC link")
            return
        link = new_link(now=self.clock(), ttl=self.settings.link_ttl,
                        message_expiry=self.expiry(message), with_pin=self.settings.link_pin)
        text = notices.link_text(sender=message.originator, subject=message.subject,
                                 link=f"{self.settings.public_url}/v/{link.token}", pin=link.pin,
                                 notice=await self.optout_notice(message))
        number = notices.plmn_number(r.address) or r.address
        try:
            await self._check_content(message)
            await self._pace(message)
            ids = await self.messenger.send_text(number, text)
        except ContentLost:
            raise
        except Exception as exc:  # noqa: BLE001 - SMSC refusal or link down, store down
            if getattr(exc, "decision", "retry") == "link":
                await self._park(r, message, "link-parked", str(exc))
            else:
                await self._move(r, r.state, kind="link-failed", detail={"why": str(exc)},
                                 next_attempt_at=self.clock() + self._backoff(r.attempts + 1))
            return
        await asyncio.gather(  # as in _notify
            self._move(r, S.FALLBACK_SENT, kind="fallback-sent", viewer_token=link.digest,
                       viewer_pin=link.pin_digest, viewer_expires_at=link.expires_at,
                       detail={"smsc_ids": ids, "pin": link.pin is not None},
                       next_attempt_at=self.expiry(message)),
            self.receipts.record(r, message, "link", ids))

    async def viewed(self, r: RecipientRecord, message: MessageRecord) -> None:
        """The recipient opened its web link: a delivery, like M-Acknowledge.ind. The first
        view moves a waiting recipient to ``acknowledged`` (event ``viewed``), and the report
        owed to the originator says Retrieved (MM7 DeliveryReportReq MMStatus ``Retrieved``,
        M-Delivery.ind X-Mms-Status Retrieved: TS 23.140 and OMA-MMS-ENC have no status of
        their own for a web view); later views are ``viewed-again`` events."""
        moved = await self._finish(r, message, S.ACKNOWLEDGED, kind="viewed",
                                   expected=_WAITING, detail={"via": "web"})
        if moved is None:
            await self.state.add_event(message.id, "viewed-again", now=self.clock(),
                                       recipient_id=r.id)

    async def _deliver_to_vasp(self, r: RecipientRecord, message: MessageRecord) -> None:
        """accepted → acknowledged (the VASP took it), rejected, or unreachable: an MM7
        DeliverReq with the message to the VASP that owns the short code (TS 23.140
        §8.7.3), retried with back-off."""
        number = notices.plmn_number(r.address) or r.address
        vasp_id = (await self._vasps_by_number()).get(number)
        if self.reporter is None or vasp_id is None:
            await self._finish(r, message, S.UNREACHABLE, kind="unreachable",
                               detail={"why": f"no VASP for {number}"})
            return
        content = await self.original(message)
        if await self._keyword(r, message, content, vasp_id, number):
            return  # a stop or start word: mmsc's, not the VASP's (mmsc/relay/optout.py)
        content.envelope.message_id = message.id
        taken, retry, detail = await self.reporter.deliver(vasp_id, content)
        attempts = r.attempts + 1
        if taken:
            await self._finish(r, message, S.ACKNOWLEDGED, kind="delivered-to-vasp",
                               detail=detail)
        elif retry and attempts <= len(self.settings.report_backoff):
            await self._move(r, r.state, kind="deliver-failed", detail=detail, attempts=attempts,
                             next_attempt_at=self.clock() + self._backoff(attempts))
        else:
            await self._finish(r, message, S.REJECTED if not retry else S.UNREACHABLE,
                               kind="vasp-refused" if not retry else "unreachable",
                               detail=detail)

