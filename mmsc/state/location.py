"""Opening the state store a ``[state] url`` names (:mod:`mmsc.state_url` says which)."""

from __future__ import annotations

from pathlib import Path

from mmsc.state_url import parse

from .base import StateStore
from .postgres import PostgresStateStore
from .sqlite import SqliteStateStore


async def open_store(url: str, *, pool_size: int = 10,
                     connect_timeout: float = 30.0) -> StateStore:
    """The store ``url`` names, open and migrated (``pool_size`` and ``connect_timeout``
    apply to PostgreSQL)."""
    kind, target = parse(url)
    if kind == "sqlite":
        return await SqliteStateStore.open(Path(target))
    return await PostgresStateStore.open(target, pool_size=pool_size,
                                         connect_timeout=connect_timeout)
