"""``stream(url)``: the messages of a live WebSocket as Python objects."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

from . import _wsrun

Seconds = Union[float, int, str, None]
Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]]]

_EMPTY = object()


def _in_event_loop() -> bool:
    """Whether this thread runs an asyncio loop (async code, or a Jupyter kernel)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Stream(_wsrun._Stream):
    """Messages of a live WebSocket: dicts/lists for JSON text, ``str`` for other text, ``bytes``
    for binary (each wrapped in a :class:`Message` with its arrival time when the stream was
    opened with ``timed=True``). Iterate it (``for`` or ``async for``); ``send()`` more; ``close()`` or use it as
    a context manager; ``close_code`` is the server's, once it closed. A background reader keeps
    at most ~1000 messages waiting, so a slow consumer slows the server down rather than filling
    memory."""

    def __enter__(self) -> "Stream":
        self._wait_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "Stream":
        await self._open_async()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> "Stream":
        return self

    async def __anext__(self) -> Any:
        item = self._pop(_EMPTY)
        while item is _EMPTY:
            await self._fill_async()
            item = self._pop(_EMPTY)
        return item


def stream(
    url: str,
    *,
    send: Any = None,
    limit: Optional[int] = None,
    timeout: Seconds = None,
    timed: bool = False,
    protocol: Optional[str] = None,
    options: Optional[Mapping[str, Any]] = None,
    headers: Optional[Headers] = None,
    cookies: Optional[Mapping[str, Any]] = None,
    subprotocols: Optional[Sequence[str]] = None,
    connect_timeout: Seconds = None,
    insecure: bool = False,
    ca: Optional[str] = None,
    cert: Optional[str] = None,
    key: Optional[str] = None,
    proxy: Optional[str] = None,
    max_message_size: Optional[int] = None,
    compression: bool = True,
) -> Stream:
    """Connects to ``url``, sends ``send`` (one message or a list: dicts/lists as JSON, str as
    text, bytes as binary) and returns a :class:`Stream` of what the server sends.

    ``limit`` stops after that many messages; ``timeout`` (seconds or ``"10s"``) raises
    :class:`StreamTimeout` when no message comes for that long. ``timed=True`` yields
    :class:`Message` objects (``data``, ``received_at``, ``elapsed``) instead of the bare data.
    The connection options are ``connect()``'s: ``protocol`` (its handshake and keep-alive
    done, its messages read as envelopes, dicts sent through it), ``options``, ``headers``,
    ``cookies``, ``subprotocols``, ``connect_timeout`` (default ``timeout``, else 10 s),
    ``insecure``, ``ca``/``cert``/``key``, ``proxy``, ``max_message_size``, ``compression``. A
    connection that cannot open raises :class:`ConnectionFailed`: here, or, inside a running
    event loop (``async with``, ``async for``, a notebook), where the stream is first used —
    connecting never blocks a loop."""
    # Imported here: _connect imports this module's helpers.
    from ._connect import connection_collection

    if connect_timeout is None:
        connect_timeout = timeout if timeout is not None else 10
    collection = connection_collection(
        url,
        protocol=protocol,
        options=options,
        headers=headers,
        cookies=cookies,
        subprotocols=subprotocols,
        connect_timeout=connect_timeout,
        insecure=insecure,
        ca=ca,
        cert=cert,
        key=key,
        proxy=proxy,
        max_message_size=max_message_size,
        compression=compression,
    )
    s = Stream(json.dumps(collection), url, send=send, limit=limit, timeout=timeout, timed=timed)
    if not _in_event_loop():
        s._wait_open()
    return s
