"""Running the ASGI server: one process, or several workers sharing one listening socket.

With several workers, uvicorn binds the shared socket in its supervisor with
`socket.socket(family)`, whose `proto` is 0. asyncio only disables Nagle's algorithm
(TCP_NODELAY) on accepted sockets whose `proto` is IPPROTO_TCP, so every response that uvicorn
writes in two parts (headers, then body) waited for the client's delayed ACK: a flat ~44 ms per
request and ~730 req/s for an empty endpoint, measured with wrk on loopback (7 870 req/s, 6 ms
once fixed). Re-wrapping the same descriptor with its TCP protocol number restores TCP_NODELAY.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


class _TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            return socket.socket(sock.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=sock.detach())
        return sock


def serve_workers(
    app: str, *, factory: bool, host: str, port: int, workers: int, log_level: str | None = None
) -> None:
    """Serve the import string `app` with `workers` processes (each builds its own app)."""
    config = _TcpConfig(
        app,
        factory=factory,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        proxy_headers=True,
        log_level=log_level,
    )
    if workers == 1:
        # One process binds its own sockets through asyncio, which sets TCP_NODELAY itself.
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[config.bind_socket()]).run()
