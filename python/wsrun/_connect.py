"""``connect(url)``: one live connection, driven a step at a time from a notebook or a test.

Every method is a collection step (the same map a YAML collection holds), run by the engine:
its matchers, its timeouts, its failure text. A failed step raises :class:`AssertionFailed`.
``with wsrun.connect(url) as c`` (or ``c = wsrun.connect(url)``) gives a :class:`Connection`
whose methods block; ``async with wsrun.connect(url) as c`` gives an :class:`AsyncConnection`
whose methods are awaited. Connecting starts at once in the background and never blocks an
event loop.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Awaitable, Dict, Generic, Mapping, Optional, Sequence, TypeVar, Union

from . import _wsrun
from ._stream import Headers, Seconds, _in_event_loop

_R = TypeVar("_R")


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


def _duration(value: Seconds) -> Optional[str]:
    """Seconds (or text such as ``"5s"``) as a collection duration."""
    if value is None or isinstance(value, str):
        return value
    return f"{float(value) * 1000:.3f}ms"


def _body(**fields: Any) -> Dict[str, Any]:
    """A step body without the options left unset (None)."""
    return {k: v for k, v in fields.items() if v is not None}


def _payload(message: Any, json_: Any, text: Optional[str], binary: Optional[bytes]) -> Dict[str, Any]:
    given = [x is not _UNSET for x in (message, json_)] + [text is not None, binary is not None]
    if sum(given) != 1:
        raise TypeError("send() takes one message: a positional message, json=, text= or binary=")
    if message is not _UNSET:
        if isinstance(message, str):
            text = message
        elif isinstance(message, (bytes, bytearray)):
            binary = bytes(message)
        else:
            json_ = message
    if text is not None:
        return {"text": text}
    if binary is not None:
        return {"binary": base64.b64encode(binary).decode("ascii")}
    return {"json": json_}


class Reply(Dict[str, Any]):
    """The answer of a step that measured a round trip (``call``, ``emit`` with ``ack=``,
    ``send`` with ``reply=``, ``invoke``, ``join``, ``push``): the message, a dict, with
    ``latency``, the round trip in seconds (the reports' ``latency_ms`` / 1000)."""

    latency: float

    def __init__(self, message: Mapping[str, Any], latency: float) -> None:
        super().__init__(message)
        self.latency = latency


class _Steps(Generic[_R]):
    """The named steps. Each builds a step map and hands it to ``_run``, which the sync and the
    async connection implement; a new protocol step is one method here. A step that measures a
    round trip (the engine's step report has a latency) answers with a :class:`Reply`, so a new
    request-and-answer step gets ``latency`` without code of its own."""

    _native: _wsrun._Connection
    _latency: Optional[float] = None

    def _answer(self, answer: "tuple[Any, Optional[float]]") -> Any:
        """The native step's ``(message, latency)`` as the step's return value."""
        value, self._latency = answer
        if self._latency is not None and isinstance(value, dict):
            return Reply(value, self._latency)
        return value

    def _run(self, step: Mapping[str, Any]) -> _R:
        raise NotImplementedError

    def step(self, step: Mapping[str, Any]) -> _R:
        """Runs any step map, as a collection writes it: ``c.step({"wait_for": {"json":
        {"$.e": "trade"}}})``. Returns the message the step matched (``expect``, ``wait_for``,
        ``call``, ``send`` with ``reply``), else None. Templates (``{{ name }}``) see the values
        ``capture`` stored."""
        __tracebackhide__ = True
        return self._run(step)

    def send(
        self,
        message: Any = _UNSET,
        *,
        json: Any = _UNSET,
        text: Optional[str] = None,
        binary: Optional[bytes] = None,
        reply: Optional[Mapping[str, Any]] = None,
        timeout: Seconds = None,
    ) -> _R:
        """Sends one frame: ``json=`` (through the connection's protocol), ``text=``,
        ``binary=``, or a positional message (dict/list as JSON, str as text, bytes as binary).
        With ``reply={"match": "$.id", "json": {...}}`` it waits for the answer and returns it."""
        __tracebackhide__ = True
        body = _payload(message, json, text, binary)
        body.update(_body(reply=reply, timeout=_duration(timeout)))
        return self._run({"send": body})

    def expect(
        self,
        json: Optional[Mapping[str, Any]] = None,
        *,
        text: Any = None,
        binary: Any = None,
        count: Optional[int] = None,
        within: Seconds = None,
        timeout: Seconds = None,
    ) -> _R:
        """The next message (or the next ``count``) must match: ``json={PATH: MATCHER}``,
        ``text=MATCHER`` or ``binary=MATCHER``; none of them means any message. Returns the
        (last) matched message."""
        __tracebackhide__ = True
        body = _body(json=json, text=text, binary=binary, count=count)
        body.update(_body(within=_duration(within), timeout=_duration(timeout)))
        return self._run({"expect": body})

    def wait_for(
        self,
        json: Optional[Mapping[str, Any]] = None,
        *,
        text: Any = None,
        binary: Any = None,
        timeout: Seconds = None,
    ) -> _R:
        """Skips messages until one matches, within the timeout; returns it."""
        __tracebackhide__ = True
        body = _body(json=json, text=text, binary=binary, timeout=_duration(timeout))
        return self._run({"wait_for": body})

    def no_message(self, within: Seconds) -> _R:
        """Nothing may arrive for ``within``."""
        __tracebackhide__ = True
        return self._run({"no_message": {"within": _duration(within)}})

    def capture(self, **paths: str) -> _R:
        """Stores values of the last matched message for templates: ``capture(id="$.id")``."""
        __tracebackhide__ = True
        return self._run({"capture": paths})

    def ping(self, payload: str = "", *, timeout: Seconds = None) -> _R:
        """Sends a ping and waits for its pong."""
        __tracebackhide__ = True
        return self._run({"ping": _body(payload=payload, timeout=_duration(timeout))})

    def call(
        self,
        method: str,
        params: Any = None,
        *,
        result: Optional[Mapping[str, Any]] = None,
        error: Optional[Mapping[str, Any]] = None,
        timeout: Seconds = None,
    ) -> _R:
        """JSON-RPC: sends a request with a fresh id and waits for its response (other
        messages stay for later steps). ``result=``/``error=`` are matcher maps over the
        response's ``result``/``error`` (as ``$``); an error response fails unless ``error=``
        is given. Returns the whole response."""
        __tracebackhide__ = True
        body = _body(method=method, params=params, result=result, error=error)
        body.update(_body(timeout=_duration(timeout)))
        return self._run({"call": body})

    def notify(self, method: str, params: Any = None) -> _R:
        """JSON-RPC: sends a notification (no id, no answer)."""
        __tracebackhide__ = True
        return self._run({"notify": _body(method=method, params=params)})

    def emit(
        self,
        event: str,
        *args: Any,
        ack: Union[bool, Mapping[str, Any], None] = None,
        timeout: Seconds = None,
    ) -> _R:
        """Socket.IO: emits ``event`` with ``args``. With ``ack=`` (a matcher map over the ack's
        envelope ``{"ack", "args", "namespace"}``, or True for any ack) it waits for the
        server's ack, within ``timeout``, and returns it; other events stay in the inbox."""
        __tracebackhide__ = True
        body: Dict[str, Any] = {"event": event}
        if args:
            body["args"] = list(args)
        if ack is True:
            body["ack"] = True
        elif isinstance(ack, Mapping):
            body["ack"] = {"json": dict(ack)}
        body.update(_body(timeout=_duration(timeout)))
        return self._run({"emit": body})

    def subscribe(
        self,
        query: str,
        *,
        variables: Optional[Mapping[str, Any]] = None,
        id: Optional[str] = None,
        operation_name: Optional[str] = None,
    ) -> _R:
        """graphql-ws: starts an operation (``id`` defaults to a fresh one, ``{{ last_id }}`` in
        later steps); its ``next``/``error``/``complete`` messages are then ``expect``ed."""
        __tracebackhide__ = True
        body = _body(query=query, variables=variables, id=id, operationName=operation_name)
        return self._run({"subscribe": body})

    def complete(self, id: str) -> _R:
        """graphql-ws: ends the operation ``id`` (``"{{ last_id }}"`` for the last one)."""
        __tracebackhide__ = True
        return self._run({"complete": {"id": id}})

    def invoke(
        self,
        target: str,
        *args: Any,
        result: Optional[Mapping[str, Any]] = None,
        error: Optional[Mapping[str, Any]] = None,
        timeout: Seconds = None,
    ) -> _R:
        """SignalR: invokes the hub method ``target`` with ``args`` and waits for its
        completion, within ``timeout`` (other messages stay for later steps).
        ``result=``/``error=`` are matcher maps over the completion's ``result``/``error`` (as
        ``$``); an error completion fails unless ``error=`` is given. Returns the completion.
        ``send(json={"target": …, "arguments": […]})`` invokes without waiting."""
        __tracebackhide__ = True
        body: Dict[str, Any] = {"target": target}
        if args:
            body["args"] = list(args)
        body.update(_body(result=result, error=error, timeout=_duration(timeout)))
        return self._run({"invoke": body})

    def join(
        self, topic: str, payload: Optional[Mapping[str, Any]] = None, *, timeout: Seconds = None
    ) -> _R:
        """Phoenix: joins ``topic`` and waits for its ``phx_reply`` (a status other than
        ``ok`` fails with the server's response). Returns the reply's envelope."""
        __tracebackhide__ = True
        return self._run({"join": _body(topic=topic, payload=payload, timeout=_duration(timeout))})

    def push(
        self,
        topic: str,
        event: str,
        payload: Optional[Mapping[str, Any]] = None,
        *,
        reply: bool = True,
        timeout: Seconds = None,
    ) -> _R:
        """Phoenix: pushes ``event`` on ``topic`` and, unless ``reply=False``, waits for the
        ``phx_reply`` with its ref (other messages stay in the inbox) and returns it."""
        __tracebackhide__ = True
        body = _body(topic=topic, event=event, payload=payload, timeout=_duration(timeout))
        if not reply:
            body["reply"] = False
        return self._run({"push": body})

    def leave(self, topic: str, *, timeout: Seconds = None) -> _R:
        """Phoenix: leaves ``topic`` and waits for the ``phx_reply``."""
        __tracebackhide__ = True
        return self._run({"leave": _body(topic=topic, timeout=_duration(timeout))})

    def perform(
        self,
        channel: str,
        action: str,
        data: Optional[Mapping[str, Any]] = None,
        *,
        params: Optional[Mapping[str, Any]] = None,
    ) -> _R:
        """Action Cable: performs ``action`` on the subscription to ``channel`` (the latest
        one, or the one with ``params``); what it broadcasts is then ``expect``ed. Subscribe
        with ``c.step({"subscribe": {"channel": NAME, "params": {…}}})``."""
        __tracebackhide__ = True
        return self._run({"perform": _body(channel=channel, action=action, data=data, params=params)})

    def close(self, code: int = 1000, reason: str = "", *, timeout: Seconds = None) -> _R:
        """Closes and waits for the server's close; ``close_code`` is then its answer."""
        __tracebackhide__ = True
        return self._run({"close": _body(code=code, reason=reason or None, timeout=_duration(timeout))})

    def expect_close(self, code: Optional[int] = None, *, timeout: Seconds = None) -> _R:
        """The server must close (with ``code``); messages before the close are skipped."""
        __tracebackhide__ = True
        return self._run({"expect_close": _body(code=code, timeout=_duration(timeout))})

    @property
    def close_code(self) -> Optional[int]:
        """The close code the server sent (or answered our close with); None while open."""
        return self._native.close_code

    @property
    def latency(self) -> Optional[float]:
        """The round trip, in seconds, that the last step measured (None when it measured
        none): also there when the answer is not a dict, so not a :class:`Reply`."""
        return self._latency

    @property
    def closed(self) -> bool:
        """Whether the connection has ended."""
        return self._native.closed

    @property
    def url(self) -> str:
        return self._native.url

    @property
    def protocol(self) -> str:
        """What the connection speaks inside its frames (``raw``, ``jsonrpc``, …)."""
        return self._native.protocol

    def __repr__(self) -> str:
        state = f"closed ({self.close_code})" if self.closed else "open"
        return f"<wsrun.{type(self).__name__} {self.url} [{self.protocol}] {state}>"


class AsyncConnection(_Steps[Awaitable[Any]]):
    """A connection whose steps are awaited: ``async with wsrun.connect(url) as c``."""

    def __init__(self, native: _wsrun._Connection) -> None:
        self._native = native

    def _run(self, step: Mapping[str, Any]) -> Awaitable[Any]:
        return self._answered(self._native.step_async(json.dumps(step)))

    async def _answered(self, answer: Awaitable["tuple[Any, Optional[float]]"]) -> Any:
        return self._answer(await answer)

    def recv(self, timeout: Seconds = None) -> Awaitable[Any]:
        """The next message, whatever it is: dict/list for JSON, str, bytes."""
        return self._native.recv_async(timeout)

    async def aclose(self) -> None:
        """Closes without waiting long for the server (what leaving ``async with`` does)."""
        await self._native.shutdown_async()

    async def __aenter__(self) -> "AsyncConnection":
        await self._native.open_async()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._native.shutdown_async()


class Connection(_Steps[Any]):
    """A connection whose steps block (the GIL released; Ctrl-C stops them):
    ``c = wsrun.connect(url)`` or ``with wsrun.connect(url) as c``."""

    def __init__(self, native: _wsrun._Connection) -> None:
        self._native = native

    def _run(self, step: Mapping[str, Any]) -> Any:
        __tracebackhide__ = True
        return self._answer(self._native.step(json.dumps(step)))

    def recv(self, timeout: Seconds = None) -> Any:
        """The next message, whatever it is: dict/list for JSON, str, bytes."""
        __tracebackhide__ = True
        return self._native.recv(timeout)

    def shutdown(self) -> None:
        """Closes without waiting long for the server (what leaving ``with`` does)."""
        self._native.shutdown()

    def __enter__(self) -> "Connection":
        self._native.wait_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._native.shutdown()

    async def __aenter__(self) -> AsyncConnection:
        await self._native.open_async()
        return AsyncConnection(self._native)

    async def __aexit__(self, *exc: object) -> None:
        await self._native.shutdown_async()


def _cookie_part(text: str, what: str, forbidden: str) -> str:
    """``text`` as a cookie's name or value, refused when it could break the header."""
    bad = [c for c in text if c in forbidden or ord(c) < 0x20 or ord(c) == 0x7F]
    if bad or (what == "name" and not text):
        found = repr(bad[0]) if bad else "an empty name"
        raise ValueError(f"connect(cookies=…): a cookie {what} cannot hold {found}: {text!r}")
    return text


def _add_cookies(headers: Dict[str, str], cookies: Mapping[str, Any]) -> None:
    """Adds ``cookies`` to the ``Cookie`` header of ``headers`` (whatever its case), making it
    when there is none."""
    pairs = "; ".join(
        f"{_cookie_part(str(n), 'name', '=;, ')}={_cookie_part(str(v), 'value', ';')}"
        for n, v in cookies.items()
    )
    name = next((h for h in headers if h.lower() == "cookie"), "Cookie")
    headers[name] = f"{headers[name]}; {pairs}" if headers.get(name) else pairs


def connection_collection(
    url: str,
    *,
    protocol: Optional[str] = None,
    options: Optional[Mapping[str, Any]] = None,
    headers: Optional[Headers] = None,
    cookies: Optional[Mapping[str, Any]] = None,
    subprotocols: Optional[Sequence[str]] = None,
    timeout: Seconds = None,
    connect_timeout: Seconds = None,
    insecure: bool = False,
    ca: Optional[str] = None,
    cert: Optional[str] = None,
    key: Optional[str] = None,
    proxy: Optional[str] = None,
    max_message_size: Optional[int] = None,
    compression: bool = True,
) -> Dict[str, Any]:
    """The collection (one request, no steps) that opens a connection with these options: what
    ``connect()`` and ``stream()`` share, so both take the same ones, as a collection writes
    them."""
    request: Dict[str, Any] = {"name": url, "url": url}
    merged: Dict[str, str] = {}
    if headers is not None:
        merged = dict(headers) if isinstance(headers, Mapping) else dict(list(headers))
    if cookies:
        _add_cookies(merged, cookies)
    if merged or headers is not None:
        request["headers"] = merged
    if subprotocols is not None:
        request["subprotocols"] = list(subprotocols)
    if insecure or ca is not None or cert is not None or key is not None:
        request["tls"] = _body(insecure=insecure or None, ca=ca, cert=cert, key=key)
    if proxy is not None:
        request["proxy"] = proxy
    if not compression:
        request["compression"] = False
    if protocol is not None:
        request["protocol"] = protocol
        if options is not None:
            request[protocol] = dict(options)
    elif options is not None:
        raise TypeError("options= needs a protocol=")
    defaults = _body(
        timeout=_duration(timeout),
        connect_timeout=_duration(connect_timeout),
        max_message_size=None if max_message_size is None else str(max_message_size),
    )
    return {"name": "connect", "defaults": defaults, "requests": [request]}


def connect(
    url: str,
    *,
    protocol: Optional[str] = None,
    options: Optional[Mapping[str, Any]] = None,
    headers: Optional[Headers] = None,
    cookies: Optional[Mapping[str, Any]] = None,
    subprotocols: Optional[Sequence[str]] = None,
    timeout: Seconds = None,
    connect_timeout: Seconds = None,
    insecure: bool = False,
    ca: Optional[str] = None,
    cert: Optional[str] = None,
    key: Optional[str] = None,
    proxy: Optional[str] = None,
    max_message_size: Optional[int] = None,
    compression: bool = True,
) -> Connection:
    """Opens a connection to ``url`` speaking ``protocol`` (``raw`` by default; ``jsonrpc``;
    its ``options`` as a collection writes them under the protocol's key). ``timeout`` is the
    default of every step (5 s), ``connect_timeout`` of the handshake. ``ca``, ``cert`` and
    ``key`` are PEM files (a client certificate needs both ``cert`` and ``key``); ``proxy`` is
    ``http://[user:pass@]host:port``, ``socks5://…``, ``socks5h://…`` or ``"none"`` (without it,
    ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY`` apply); ``compression=False`` does
    not offer permessage-deflate. ``cookies`` (name → value) go out as one ``Cookie`` header
    on the handshake (``a=1; b=2``), after the value of a ``Cookie`` in ``headers``; like an
    ``Authorization``, its value is masked wherever wsrun shows it. A connection that
    cannot open raises :class:`ConnectionFailed`: here, or, inside a running event loop, at
    ``async with`` or the first step."""
    # Every parameter, by name: the collection builder takes them all.
    collection = connection_collection(**locals())
    c = Connection(_wsrun._Connection(json.dumps(collection), url))
    if not _in_event_loop():
        c._native.wait_open()
    return c
