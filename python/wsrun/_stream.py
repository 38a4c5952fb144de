"""``stream(url)``: the messages of a live WebSocket as Python objects."""

from __future__ import annotations

import asyncio
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
    for binary. Iterate it (``for`` or ``async for``); ``send()`` more; ``close()`` or use it as
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
    headers: Optional[Headers] = None,
    subprotocols: Optional[Sequence[str]] = None,
    limit: Optional[int] = None,
    timeout: Seconds = None,
    connect_timeout: Seconds = None,
    insecure: bool = False,
    max_message_size: Optional[int] = None,
) -> Stream:
    """Connects to ``url``, sends ``send`` (one message or a list: dicts/lists as JSON, str as
    text, bytes as binary) and returns a :class:`Stream` of what the server sends.

    ``limit`` stops after that many messages; ``timeout`` (seconds or ``"10s"``) raises
    :class:`StreamTimeout` when no message comes for that long. A connection that cannot open
    raises :class:`ConnectionFailed`: here, or, inside a running event loop (``async with``,
    ``async for``, a notebook), where the stream is first used — connecting never blocks a
    loop."""
    s = Stream(
        url,
        send=send,
        headers=dict(headers) if isinstance(headers, Mapping) else headers,
        subprotocols=list(subprotocols) if subprotocols is not None else None,
        limit=limit,
        timeout=timeout,
        connect_timeout=connect_timeout,
        insecure=insecure,
        max_message_size=max_message_size,
    )
    if not _in_event_loop():
        s._wait_open()
    return s
