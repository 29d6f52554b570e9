"""/readyz follows the database: it fails while PostgreSQL is unreachable and recovers after."""

from __future__ import annotations

import asyncio
import contextlib
import os

import httpx
import pytest
from sqlalchemy.engine import make_url

from .conftest import reset_postgres, serving


class TcpProxy:
    """Forwards 127.0.0.1:port to the database; cut() drops every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        self._server.close()
        await self._server.wait_closed()
        for writer in self._writers:
            writer.close()
        self._writers.clear()


async def test_readyz_fails_without_the_database_and_recovers(bot_api, content, clock):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run in .ci/run)")
    await reset_postgres(url)
    target = make_url(url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.open()
    via_proxy = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    async with serving(bot_api, content, clock, via_proxy, health_port=0, listen_host="127.0.0.1") as app:
        ready = f"http://127.0.0.1:{app.bot_data['health_port']}/readyz"
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(ready)).status_code == 200
            await proxy.cut()
            down = await client.get(ready)
            assert down.status_code == 503 and down.json()["checks"]["database"].startswith("unreachable")
            assert (await client.get(ready.replace("readyz", "healthz"))).status_code == 200  # still alive
            await proxy.open()
            assert (await client.get(ready)).status_code == 200
        await proxy.cut()
        await proxy.open()
