"""The static files of a web interface (the viewer's, the console's): a fixed list of names
served from one folder, nothing else (no path from the request reaches the file system)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from aiohttp import web


def asset_handler(folder: Path, types: Mapping[str, str],
                  ) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler of ``GET .../assets/{name}`` for the files ``types`` names (name → media
    type) in ``folder``; any other name is 404."""
    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in types:
            raise web.HTTPNotFound()
        return web.Response(body=(folder / name).read_bytes(), content_type=types[name],
                            charset="utf-8")
    return asset
