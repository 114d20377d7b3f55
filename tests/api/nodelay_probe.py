"""A uvicorn HTTP protocol that notes, for each connection a worker accepts, whether
TCP_NODELAY is set on it (one file per connection under $COGOV_TEST_NODELAY_DIR), and a
tiny ASGI application to answer. Used by tests/api/test_api_cli.py through
:func:`cogov.cli.serve.run_uvicorn`, in real worker processes."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

DIR_VARIABLE = "COGOV_TEST_NODELAY_DIR"


class ProbeProtocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock: socket.socket = transport.get_extra_info("socket")
        nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        name = f"{os.getpid()}-{uuid.uuid4().hex}"
        (Path(os.environ[DIR_VARIABLE]) / name).write_text(str(nodelay))
        super().connection_made(transport)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
