"""The playground's files as the server serves them: the page, its modules and its icon, open
without an API key (they hold no data), and `/favicon.ico` answered rather than a 404."""

from __future__ import annotations

import httpx

from tests.service.live_server import StartServer


async def test_page_files_and_icon_are_served_without_a_key(start: StartServer) -> None:
    server = await start(api_keys="alice:key-of-alice")
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert '<link rel="icon" href="/playground/favicon.svg"' in page.text
        for path in ("/playground/app.js", "/playground/api.js", "/playground/style.css"):
            assert (await http.get(path)).status_code == 200, path

        for path in ("/favicon.ico", "/playground/favicon.svg"):
            icon = await http.get(path)
            assert icon.status_code == 200, path
            assert icon.headers["content-type"].startswith("image/svg+xml")
            assert icon.text.startswith("<svg")
        # The API itself still needs the key.
        assert (await http.post("/threads/search", json={})).status_code == 401
