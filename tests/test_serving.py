"""Several workers share one listening socket; their connections must still have TCP_NODELAY."""

from __future__ import annotations

import asyncio
import socket

from app.serving import _TcpConfig


async def test_connections_accepted_on_the_shared_socket_disable_nagle() -> None:
    config = _TcpConfig("bench.nu:app", host="127.0.0.1", port=0, workers=2)
    listening = config.bind_socket()
    listening.listen()
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    # What each uvicorn worker does with the socket handed over by the supervisor.
    server = await asyncio.start_server(on_connection, sock=listening)
    try:
        port = listening.getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        nodelay = await asyncio.wait_for(accepted, timeout=5)
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()

    assert listening.proto == socket.IPPROTO_TCP
    assert nodelay != 0
