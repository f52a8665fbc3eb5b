"""Which state store a ``[state] url`` names, and opening it.

- ``sqlite:///PATH``: an SQLite file (``sqlite:////abs/path`` for an absolute path), for one
  host (several processes with ``[http] workers``);
- ``postgresql://USER:PASSWORD@HOST:PORT/DBNAME`` (or ``postgres://``): a PostgreSQL database,
  for several nodes.
"""

from __future__ import annotations

from pathlib import Path

from .base import StateStore
from .postgres import PostgresStateStore
from .sqlite import SqliteStateStore

SQLITE = "sqlite:///"
POSTGRESQL = ("postgresql://", "postgres://")


def parse(url: str) -> tuple[str, str]:
    """``("sqlite", path)`` or ``("postgresql", url)``; ValueError, naming the scheme only
    (a URL may carry a password), for anything else."""
    if url.startswith(SQLITE) and url[len(SQLITE):].strip():
        return "sqlite", url[len(SQLITE):]
    if url.startswith(POSTGRESQL) and url.partition("://")[2].strip("/"):
        return "postgresql", url
    what = f"{url.partition('://')[0]}:// URL" if "://" in url else "value without a scheme"
    raise ValueError(f"a {what} is not a state store this mmsc can use (sqlite:///PATH or "
                     "postgresql://USER:PASSWORD@HOST:PORT/DBNAME)")


async def open_store(url: str, *, pool_size: int = 10,
                     connect_timeout: float = 30.0) -> StateStore:
    """The store ``url`` names, open and migrated (``pool_size`` and ``connect_timeout``
    apply to PostgreSQL)."""
    kind, target = parse(url)
    if kind == "sqlite":
        return await SqliteStateStore.open(Path(target))
    return await PostgresStateStore.open(target, pool_size=pool_size,
                                         connect_timeout=connect_timeout)
