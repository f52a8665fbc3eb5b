"""Retrieval: which recipient a content location or transaction names, the content as
accepted, and the content adapted for the device that fetches it.

A message whose original is gone from the object store (deleted, the bucket lost) can never
be delivered: whichever step finds that out (a notification, a retrieval, the web viewer)
ends every recipient still waiting ``unreachable`` with the report owed, and raises
:class:`~mmsc.relay.core.ContentLost`. A store that cannot answer now is another matter: that
step is tried again later.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import NoReturn
from urllib.parse import unquote

from adaptation.plan import MediaPart, plan
from adaptation.uaprof import DeviceProfile, from_accept_header, from_user_agent
from mmsc import metrics
from mmsc.ids import is_token, token_digest
from mmsc.message import Message, MessagePart
from mmsc.smil import SmilError, rewrite_references
from mmsc.state import MessageRecord, RecipientRecord
from mmsc.store import ObjectNotFound, message_key

from . import notices, offload
from .core import S, ContentLost, _FETCHABLE, _NOT_YET_RETRIEVED, _WAITING

log = logging.getLogger(__name__)



def safe_name(name: str) -> str:
    """A profile name as an object-key segment."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:40]
    return cleaned.lstrip(".-_") or "profile"


def token_from_path(text: str) -> str:
    """The token of a content location path, tolerating handsets that URL-escape it twice."""
    token = text.rsplit("/", 1)[-1]
    for _ in range(2):
        if "%" not in token:
            break
        token = unquote(token)
    return token


class Retrieval:
    """The content side of :class:`~mmsc.relay.engine.Engine`."""

    async def original(self, message: MessageRecord) -> Message:
        """The message as accepted, read from the object store (parsed in a worker thread
        when large, see :mod:`offload`); ContentLost when it is gone."""
        try:
            data = await self.objects.get(message.object_key)
        except ObjectNotFound:
            await self._content_lost(message)
        return await offload.decode(data)

    async def _check_content(self, message: MessageRecord) -> str:
        """The version of the message's original (:meth:`ObjectStore.version`: a ReplaceReq
        writes it again), which keys everything made from it; ContentLost when it is gone."""
        version = await self.objects.version(message.object_key)
        if version is None:
            await self._content_lost(message)
        return version

    async def versioned_original(self, message: MessageRecord) -> tuple[Message, str]:
        """The original and its version, the version read first: content replaced between
        the two reads leaves the new content under the old version, which nothing asks for
        again, and never the old content under the new version."""
        version = await self._check_content(message)
        return await self.original(message), version

    async def _content_lost(self, message: MessageRecord) -> NoReturn:
        """The original of ``message`` is gone: data loss, logged at ERROR. Every recipient
        still waiting for it ends ``unreachable`` (event ``content-lost``) with the report
        owed to the originator; then ContentLost."""
        log.error("DATA LOSS: the content of message %s is gone from the object store (%s); "
                  "its waiting recipients end unreachable", message.id, message.object_key)
        for r in await self.state.recipients_of(message.id):
            if r.state in _WAITING:
                await self._finish(r, message, S.UNREACHABLE, kind="content-lost",
                                   expected=_WAITING, detail={"key": message.object_key})
        raise ContentLost(f"the content of message {message.id} is gone "
                          f"({message.object_key})")
    async def by_content_location(self, text: str,
                                  caller: str | None = None) -> RecipientRecord | None:
        """The recipient a content location (or its token) was sent to. What a handset sent
        is checked for a token's shape before any lookup, which is by the token's digest.
        ``caller`` is the number a trusted proxy's header names: when given, the token must
        have been sent to that number (a token alone is enough only without one)."""
        token = token_from_path(text)
        if not is_token(token):
            return None
        return self._callers(await self.state.recipient_by_token(
            content_digest=token_digest(token)), caller)

    async def by_transaction(self, transaction_id: str,
                             caller: str | None = None) -> RecipientRecord | None:
        """The recipient of the notifications that carry ``transaction_id`` (what
        m-notifyresp-ind and m-acknowledge-ind echo), with ``caller`` as above. Before
        schema 5 the transaction id was the content token: such an id is found by digest."""
        if not is_token(transaction_id):
            return None
        r = await self.state.recipient_by_transaction(transaction_id) or \
            await self.state.recipient_by_token(content_digest=token_digest(transaction_id))
        return self._callers(r, caller)

    @staticmethod
    def _callers(r: RecipientRecord | None, caller: str | None) -> RecipientRecord | None:
        """``r`` when no trusted header named a caller, or when it names r's number."""
        if r is not None and caller is not None and \
                (notices.plmn_number(r.address) or r.address) != \
                (notices.plmn_number(caller) or caller):
            log.warning("%s's delivery of %s named by %s: refused", r.address,
                        r.message_id, caller)
            return None
        return r

    async def fetch(self, token: str, headers: Mapping[str, str] | None = None,
                    caller: str | None = None,
                    ) -> tuple[RecipientRecord, MessageRecord, Message] | None:
        """``GET /m/<token>``: the recipient and its message adapted for the device, or None
        when the token is unknown, the message expired, or the recipient may no longer
        fetch. The device is what the request's ``x-wap-profile`` names (from an allowed
        host), else the subscriber's configured profile, else the device class its
        ``User-Agent`` names, else what its ``Accept`` header says, else the conservative
        class (see :mod:`adaptation.uaprof`).

        What a device of one profile gets is kept in memory (least recently used first out,
        ``[delivery] content_cache`` octets), keyed by the original's version: a message
        fetched again is neither read nor decoded nor adapted again, and one whose content a
        ReplaceReq changed is made afresh, on every node. The first fetch moves the
        recipient to ``retrieved`` (event ``fetched``); a fetch by a recipient that has its
        copy already (``retrieved``, ``acknowledged``: a phone retrying when its data
        connection drops) writes nothing durable: it is counted in memory and the counts go
        to the store in one write per scheduler pass (:meth:`flush_refetches`), so a phone
        stuck in a retry loop cannot grow the timeline without bound. The answer is the same
        either way."""
        r = await self.by_content_location(token, caller)
        if r is None or r.state not in _FETCHABLE:
            return None
        message = await self.state.get_message(r.message_id)
        if message is None or self.clock() >= self.expiry(message):
            return None
        headers = headers or {}
        profile = await self._profile(r, headers)
        version = await self._check_content(message)  # also when served before: it may be gone
        key = self._adapted_key(message.id, profile, version)
        content = self._served.get(key)
        if content is None:
            content = await self.adapt(r, message, await self.original(message), profile,
                                       version)
            self._served.put(key, content, content.size)
        if r.state in _NOT_YET_RETRIEVED:
            seen = {"profile": profile.name, "octets": content.size,
                    "user_agent": headers.get("User-Agent", "")[:200]}
            wait = self._backoff(max(r.attempts, 1))
            await self._move(r, S.RETRIEVED, kind="fetched", expected=_NOT_YET_RETRIEVED,
                             detail=seen, next_attempt_at=self.clock() + wait)
        else:
            count, _ = self._refetched.get(r.id or 0, (0, 0.0))
            self._refetched[r.id or 0] = (count + 1, self.clock())
        return r, message, content

    async def flush_refetches(self) -> None:
        """Add the repeated fetches counted since the last flush to the store (one write);
        the counts of a failed write are kept for the next one."""
        counts, self._refetched = self._refetched, {}
        try:
            await self.state.add_refetches(counts)
        except BaseException:
            for recipient_id, (count, last) in counts.items():
                more, later = self._refetched.get(recipient_id, (0, 0.0))
                self._refetched[recipient_id] = (count + more, max(last, later))
            raise

    async def _profile(self, r: RecipientRecord, headers: Mapping[str, str]) -> DeviceProfile:
        fetcher = self.settings.profile_fetcher
        if fetcher is not None:
            fetched = await fetcher.profile(headers.get("x-wap-profile"),
                                            headers.get("x-wap-profile-diff"))
            if fetched is not None:
                return fetched
        return (await self._configured_profile(r)
                or from_user_agent(headers.get("User-Agent") or "", self.settings.profiles)
                or from_accept_header(headers.get("Accept") or ""))

    async def _configured_profile(self, r: RecipientRecord) -> DeviceProfile | None:
        """The device profile configured for the recipient's subscriber, if any."""
        number = notices.plmn_number(r.address)
        subscriber = await self._subscribers.get(number, self.state.get_subscriber) \
            if number else None
        if subscriber is None or subscriber.device_profile is None:
            return None
        return self.settings.profiles.get(subscriber.device_profile)

    async def adapt(self, r: RecipientRecord, record: MessageRecord, content: Message,
                    profile: DeviceProfile, version: str) -> Message:
        """The content as a device of ``profile`` can take it, its SMIL showing every part
        (:meth:`Message.with_every_part_shown`). Made once per device profile
        and message (adaptation/plan.py, in a worker thread), kept in the object store at
        ``messages/<id>/adapted/<profile-key>.mime`` and reused; concurrent first fetches
        for the same profile wait for one adaptation. What was changed goes into the
        message's events. ``version`` is the original's that ``content`` was read from
        (:meth:`versioned_original`): the copy kept is that version's."""
        content = content.with_every_part_shown()
        key = self._adapted_key(record.id, profile, version)
        lock, users = self._adapting.get(key, (asyncio.Lock(), 0))
        self._adapting[key] = (lock, users + 1)
        try:
            async with lock:
                if await self.objects.exists(key):
                    cached = await offload.decode(await self.objects.get(key))
                    return replace(content, parts=cached.parts)
                adapted = await self._adapted_parts(r, record, content, profile)
                if adapted is None:
                    return content
                await self.objects.put(key, await offload.encode(
                    replace(content, parts=adapted)))
                return replace(content, parts=adapted)
        finally:
            lock, users = self._adapting[key]
            if users == 1:
                del self._adapting[key]
            else:
                self._adapting[key] = (lock, users - 1)

    @staticmethod
    def _adapted_key(message_id: str, profile: DeviceProfile, version: str) -> str:
        """Where the copy of a message adapted for ``profile`` is kept: by the profile's
        name and a digest of everything in it (two profiles of one name differ) and of the
        original's version (a replaced content is adapted again)."""
        digest = hashlib.sha256(f"{profile!r}\n{version}".encode()).hexdigest()[:16]
        return message_key(message_id, f"adapted/{safe_name(profile.name)}-{digest}.mime")

    async def _adapted_parts(self, r: RecipientRecord, record: MessageRecord, content: Message,
                             profile: DeviceProfile) -> list[MessagePart] | None:
        """The adapted parts with the SMIL rewritten, or None when nothing had to change."""
        parts = [MediaPart(p.content_type, p.data, p.content_id, p.content_location, p.charset)
                 for p in content.parts]
        async with self._adaptation_slots:  # a bounded pool: ffmpeg and Pillow are heavy
            result = await asyncio.to_thread(plan, parts, profile, self.settings.ffmpeg)
        metrics.adapted(result.timings)
        if not result.report:
            return None
        adapted = [MessagePart(p.content_type, p.data, charset=p.charset,
                               content_id=p.content_id, content_location=p.content_location)
                   for p in result.parts]
        smil = content.smil
        if smil is not None and result.renames:
            index = content.parts.index(smil)
            try:
                adapted[index].data = rewrite_references(
                    smil.data, result.renames, parts=content.parts, kinds=result.kinds)
            except SmilError as exc:  # passed on as it came, and said so
                result.report.append(f"SMIL not rewritten ({exc}): it may name parts that "
                                     "were renamed or removed")
        await self.state.add_event(record.id, "adapted", now=self.clock(), recipient_id=r.id,
                                   detail={"profile": profile.name, "report": result.report})
        return adapted

