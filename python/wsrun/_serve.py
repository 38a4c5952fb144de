"""``serve(collection, mock=NAME)``: a collection's mock server, in-process, on a free port."""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence, Union

from . import _wsrun

Source = Union[str, "os.PathLike[str]", Mapping[str, Any], Sequence[Any]]


class MockServer:
    """A running mock: ``url`` (``ws://127.0.0.1:PORT``), ``name``, ``running``, ``stop()``.
    As a context manager it gives its URL and stops on leaving the block."""

    __slots__ = ("_native",)

    def __init__(self, native: _wsrun._MockServer) -> None:
        self._native = native

    @property
    def url(self) -> str:
        return self._native.url

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def running(self) -> bool:
        return self._native.running

    def stop(self) -> None:
        """Stops listening and ends every connection."""
        self._native.stop()

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return repr(self._native)


def serve(collection: Source, mock: Union[str, None] = None, *, port: int = 0) -> MockServer:
    """Starts the mock ``mock`` (default: the first) of ``collection`` (a path, YAML text or a
    dict) on ``port`` (0: a free loopback port), as ``wsrun serve`` does:

    >>> with wsrun.serve("collections/websocket.yaml", mock="binance") as url:  # doctest: +SKIP
    ...     trades = list(wsrun.stream(url + "/ws/btcusdt@trade", limit=10))

    An unknown mock raises :class:`CollectionError`."""
    return MockServer(_wsrun._MockServer(collection, mock=mock, port=port))



