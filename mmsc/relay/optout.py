"""Opt-out of a VASP's advertising (issue 18.5).

A handset that sends one of ``[advertising] stop_words`` (an SMS, or an MMS whose text says
it) to a short code of a VASP is opted out of that VASP's Advertisement messages, whichever
of its senders sends them; a start word opts it back in. Either is answered with a
confirmation SMS from that short code and never reaches the VASP. The words are compared
with case, surrounding spaces and accents left out (``" Arrêt "`` is ``ARRET``).

A later Advertisement message of that VASP to that number ends ``rejected`` at its first
step, before any SMS goes to the phone (no notification, no link SMS); the VASP gets its
DeliveryReportReq with MMStatus Rejected and a StatusText saying why (when it asked for
reports). Its Informational, Personal and Auto messages are delivered as before.

Every Advertisement's link SMS and web page say how to opt out (``[advertising]
optout_notice``, "STOP au 36000"), with the short code the message came from, else the
VASP's first short code. An alphanumeric sender or a long number is never named there:
nothing sent to an alphanumeric sender ID can arrive, and mmsc takes answers at short codes
only; a VASP with no short code gets no notice (mmsc warns of it at start-up).

The operator reads and edits the list through the API and ``mmsc optout``
(:func:`operator_optout`, :func:`optouts_csv`); the steps read it from the state store
each time, so an edit holds at once on every node.
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timezone

from wap_push.senders import SHORT_CODE, sender_kind

from mmsc.message import Message
from mmsc.state import MessageRecord, OptOut, RecipientRecord, StateStore

from . import notices
from .core import S
from .hold import is_advertisement
from .senders import sender_of

log = logging.getLogger(__name__)

#: The StatusText of the DeliveryReportReq of a recipient that opted out.
OPTED_OUT = "Recipient opted out of this VASP's advertising (STOP)"


def fold(text: str) -> str:
    """A text as keywords are compared: accents off (NFKD, combining marks dropped), case
    folded, surrounding spaces off."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


def keyword(text: str, stop_words: Iterable[str], start_words: Iterable[str]) -> str | None:
    """"stop", "start", or None when ``text`` is neither kind of word."""
    folded = fold(text)
    if folded in {fold(w) for w in stop_words}:
        return "stop"
    if folded in {fold(w) for w in start_words}:
        return "start"
    return None


def message_text(content: Message) -> str | None:
    """The text of a message made of one text part (SMIL aside), or None."""
    parts = [p for p in content.parts if not p.is_smil]
    if len(parts) != 1 or parts[0].media_type != "text/plain":
        return None
    return parts[0].decoded_text()[0]


def vasp_advertisement(message: MessageRecord) -> bool:
    """An Advertisement message of a VASP (the only ones opt-out concerns)."""
    return message.vasp_id is not None and is_advertisement(message.message_class)


class OptOuts:
    """The opt-out steps of :class:`~mmsc.relay.engine.Engine`."""

    async def _opted_out(self, r: RecipientRecord, message: MessageRecord) -> bool:
        """Before a recipient's first SMS: an Advertisement message to a number that opted
        out of its VASP ends ``rejected`` here (True)."""
        number = notices.plmn_number(r.address)
        if not vasp_advertisement(message) or number is None:
            return False
        optout = await self.state.get_optout(message.vasp_id or "", number)
        if optout is None:
            return False
        await self._finish(r, message, S.REJECTED, kind="opted-out", status_text=OPTED_OUT,
                           detail={"vasp": message.vasp_id, "since": optout.created_at})
        return True

    async def _keyword(self, r: RecipientRecord, message: MessageRecord, content: Message,
                       vasp_id: str, short_code: str) -> bool:
        """A handset's message to a VASP's number: when its text is a stop or start word,
        record it, confirm it by SMS from that number, and end the recipient here (True):
        the VASP never sees it. An SMS that cannot leave now parks the step (the word is
        taken again, harmlessly, when it goes on)."""
        handset = notices.plmn_number(message.originator)
        text = message_text(content)
        ad = self.settings.advertising
        word = keyword(text, ad.stop_words, ad.start_words) if text is not None else None
        if handset is None or word is None:
            return False
        if word == "stop":
            changed = await self.state.add_optout(OptOut(vasp_id, handset, self.clock(),
                                                         "handset"))
            reply = ad.stop_confirmation
        else:
            changed = await self.state.remove_optout(vasp_id, handset)
            reply = ad.start_confirmation
        log.info("%s %s %s of VASP %s (%s to %s)%s", message.id, handset,
                 "opted out" if word == "stop" else "opted back in", vasp_id, text.strip(),
                 short_code, "" if changed else ", as before")
        detail = {"vasp": vasp_id, "word": word, "changed": changed}
        if reply:
            try:
                detail["smsc_ids"] = await self.messenger.send_text(
                    handset, reply.format(short_code=short_code), short_code)
            except Exception as exc:  # noqa: BLE001 - SMSC refusal or link down
                if getattr(exc, "decision", "retry") == "link":
                    await self._park(r, message, "confirm-parked", str(exc))
                    return True
                log.warning("%s: the %s confirmation to %s failed: %s", message.id, word,
                            handset, exc)
                detail["why"] = str(exc)
        await self._finish(r, message, S.ACKNOWLEDGED,
                           kind="opted-out" if word == "stop" else "opted-in", detail=detail)
        return True

    async def optout_notice(self, message: MessageRecord) -> str | None:
        """How to opt out, for an Advertisement message (None for another): the notice
        with the short code it came from, else its VASP's first one; None without one."""
        notice = self.settings.advertising.optout_notice
        if not notice or not vasp_advertisement(message):
            return None
        codes = [number for number, vasp in (await self._vasps_by_number()).items()
                 if vasp == message.vasp_id and _short_code(number)]
        sender = sender_of(message.originator)
        code = sender if sender in codes else next(iter(codes), None)
        return notice.format(short_code=code) if code else None


def _short_code(number: str) -> bool:
    try:
        return sender_kind(number) == SHORT_CODE
    except ValueError:
        return False


# -- the operator's list (mmsc/operator/api.py, ``mmsc optout``) ------------------------------

#: The columns of the CSV export.
CSV_COLUMNS = ("vasp", "number", "since", "via")


def _checked_number(number: str) -> str:
    found = notices.plmn_number(number)
    if found is None or not found.startswith("+"):
        raise ValueError(f"{number!r} is not an international number (+ and digits)")
    return found


async def operator_optout(state: StateStore, vasp_id: str, number: str, *, now: float,
                          out: bool) -> bool:
    """The operator opts ``number`` out of ``vasp_id``'s advertising (``out``) or back in:
    whether it changed anything. ValueError for a number that is not international,
    LookupError for a VASP mmsc does not know."""
    number = _checked_number(number)
    if await state.get_vasp(vasp_id) is None:
        raise LookupError(f"no VASP {vasp_id!r}")
    if out:
        return await state.add_optout(OptOut(vasp_id, number, now, "operator"))
    return await state.remove_optout(vasp_id, number)


def describe(optout: OptOut) -> dict[str, str]:
    """One opt-out as the API and the CSV show it (``since`` in ISO 8601, UTC)."""
    since = datetime.fromtimestamp(optout.created_at, timezone.utc)
    return {"vasp": optout.vasp_id, "number": optout.address,
            "since": since.isoformat(timespec="seconds"), "via": optout.via}


def optouts_csv(optouts: Iterable[OptOut]) -> str:
    """The opt-outs as CSV (RFC 4180): a header line, then one line each."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(describe(o) for o in optouts)
    return out.getvalue()
