"""Routing: where each recipient's copy goes (ARCHITECTURE.md, "per recipient, route")."""

from __future__ import annotations

from mmsc.state import Route

from . import notices


class Routing:
    """The routing rules of :class:`~mmsc.relay.engine.Engine`."""

    async def route(self, address: str) -> Route:
        """Per recipient: e-mail → MM3; a number outside the local prefixes, or one of a
        peer MMSC's prefixes that is not local → another operator's MMSC (MM4); a local number
        → its subscriber entry (MMS or legacy; unknown local numbers are taken as MMS
        handsets); any other address → MM4."""
        text = str(address)
        number = notices.plmn_number(text)
        if number is None:
            return Route.EMAIL if "@" in text and "/TYPE=" not in text.upper() else Route.MM4
        if number in await self._vasps_by_number():
            return Route.VASP
        prefixes = self.settings.local_prefixes
        local = any(number.startswith(p) for p in prefixes)
        if (prefixes or any(number.startswith(p) for p in self.settings.mm4_prefixes)) \
                and not local:
            return Route.MM4
        subscriber = await self._subscribers.get(number, self.state.get_subscriber)
        if subscriber is not None and not subscriber.mms_capable:
            return Route.LEGACY
        return Route.MMS

    async def _vasps_by_number(self) -> dict[str, str]:
        """Short codes and numbers of the VASPs (their allowed senders) → VASP id."""
        async def load(_: None) -> dict[str, str]:
            return {sender: vasp.id for vasp in await self.state.list_vasps()
                    for sender in vasp.allowed_senders if vasp.enabled}
        return await self._vasp_numbers.get(None, load)

