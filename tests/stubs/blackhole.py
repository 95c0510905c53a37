"""A TCP proxy the fault tests put between Tocsin and PostgreSQL or Redis.

It forwards, refuses, or black-holes: accepts connections and reads what is sent, but never
answers, as a partitioned network or a frozen server does once the connection is up. The
kernel still acknowledges every byte, so TCP keepalives and tcp_user_timeout do not notice
it: only a client-side deadline does.

    proxy = Blackhole(target_port=5432)
    proxy.start()             # forwards
    proxy.black_hole()        # open connections go silent, new ones are accepted and ignored
    proxy.forward()           # connections that lost bytes are reset, new ones go through
    proxy.refuse()            # every connection is reset, new ones are refused
"""

import asyncio
import contextlib
import socket
import threading
from typing import Literal

Mode = Literal["forward", "black_hole", "refuse"]


class _Link:
    """A client connection and, when forwarding, its connection to the target."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.damaged = False  # bytes were dropped: the protocol stream is broken

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()


class Blackhole:
    def __init__(self, *, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.mode: Mode = "forward"
        self.port = 0
        self.accepted = 0
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def forward(self) -> None:
        self._call(self._set_mode("forward"))

    def black_hole(self) -> None:
        self._call(self._set_mode("black_hole"))

    def refuse(self) -> None:
        self._call(self._set_mode("refuse"))

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._accept, sock=sock)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self._links):
            link.abort()
        self._links.clear()

    async def _set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode == "refuse":
            # Connections refused at the door: nothing listens on the port any more.
            await self._close()
        elif self._server is None:
            await self._listen()
        if mode == "forward":
            for link in [link for link in self._links if link.damaged]:
                link.abort()
                self._links.discard(link)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(writer)
        self._links.add(link)
        try:
            if self.mode == "forward":
                upstream_reader, link.upstream = await asyncio.open_connection(*self.target)
                await asyncio.gather(
                    self._pipe(reader, link.upstream, link),
                    self._pipe(upstream_reader, writer, link),
                )
            else:
                link.damaged = True
                while await reader.read(65536):
                    pass
        except (ConnectionError, OSError):
            pass
        finally:
            link.abort()
            self._links.discard(link)

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link
    ) -> None:
        while data := await source.read(65536):
            if self.mode != "forward":
                link.damaged = True
                continue
            sink.write(data)
            with contextlib.suppress(ConnectionError):
                await sink.drain()
        link.abort()
