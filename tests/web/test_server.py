"""The bureau server without a browser: the grace period, other sites' pages, the page, start-up errors."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from textual_serve.download_manager import DownloadManager

from app.web.server import BureauServer, ServedSession, ServeError, public_origin


async def _nothing(*_: object) -> None:
    return None


async def test_an_app_that_does_not_quit_is_ended_after_the_grace_period() -> None:
    session = ServedSession(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        environment={},
        grace=0.3,
        write_bytes=_nothing,
        write_str=_nothing,
        close=_nothing,
        download_manager=DownloadManager(),
    )
    await session.start(80, 24)
    started = time.monotonic()
    await session.stop()
    assert time.monotonic() - started < 5
    assert session.ended_by is not None and "terminated" in session.ended_by
    assert session._process is not None and session._process.returncode is not None


@pytest.fixture
async def server() -> AsyncIterator[BureauServer]:
    """A server on a free port whose app is never started by these tests."""
    served = BureauServer([sys.executable, "-c", "pass"], port=0, announce=lambda _: None)
    ready, stop = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(served.run(ready=ready, stop=stop))
    await asyncio.wait_for(ready.wait(), 10)
    yield served
    stop.set()
    await running


async def test_a_page_from_another_site_cannot_start_a_session(server: BureauServer) -> None:
    assert server.address is not None
    url = f"http://127.0.0.1:{server.address[1]}/ws"
    async with aiohttp.ClientSession() as client:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(url, headers={"Origin": "https://example.org"})
    assert refused.value.status == 403
    assert not server.sessions


async def test_the_page_loads_everything_from_its_own_server(server: BureauServer) -> None:
    assert server.address is not None
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{server.address[1]}/") as page,
    ):
        html = await page.text()
        policy = page.headers["Content-Security-Policy"]
    assert "<title>Survey · Research Bureau</title>" in html
    assert not re.findall(r"(?:src|href)=\"(?!/)", html.replace('href="data:', 'href="/'))
    assert "googleapis" not in html
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


async def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        served = BureauServer([sys.executable, "-c", "pass"], port=port, announce=lambda _: None)
        message = rf"cannot listen on port {port} of 127.0.0.1: address already in use"
        with pytest.raises(ServeError, match=message):
            await served.run()


def test_a_public_url_is_an_http_address_at_the_root_of_a_host() -> None:
    assert public_origin("https://survey.bureau.example/") == "https://survey.bureau.example"
    with pytest.raises(ServeError, match="not an http"):
        public_origin("survey.bureau.example")
    with pytest.raises(ServeError, match="has a path"):
        public_origin("https://bureau.example/survey")
