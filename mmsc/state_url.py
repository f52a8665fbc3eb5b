"""Which state store a ``[state] url`` names:

- ``sqlite:///PATH``: an SQLite file (``sqlite:////abs/path`` for an absolute path), for one
  host (several processes with ``[http] workers``);
- ``postgresql://USER:PASSWORD@HOST:PORT/DBNAME`` (or ``postgres://``): a PostgreSQL database,
  for several nodes.

Outside :mod:`mmsc.state` so that the configuration can check a URL without importing the
stores (and, through them, prometheus-client before ``mmsc serve`` has chosen its metrics
mode). Opening the store: :func:`mmsc.state.location.open_store`.
"""

from __future__ import annotations

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
