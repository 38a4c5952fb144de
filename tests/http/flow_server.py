"""An HTTP API (the standard library's http.server) and a WebSocket server (the `websockets`
package) sharing one state, for the `http` step's tests: a login hands out a token, a cookie
and a signing key; the WebSocket side checks what the client does with them.

Prints one JSON line `{"http": PORT, "ws": PORT}` when both listen on 127.0.0.1, then serves
until stdin closes.

HTTP:
  POST /login {"user": U}   -> {"token", "ws_path", "key", "user"}, Set-Cookie sid=…; each call
                               a new token containing `+`, `/` and `=`
  GET  /me                  -> {"user": U} with the login's cookie, else 401 {"error"}
  GET  /text                -> a text/plain body
  GET  /chunked             -> a chunked JSON body {"parts": [1, 2, 3]}
  GET  /slow                -> answers after 3 s
  GET  /big                 -> a 2 MiB body
  POST /form                -> the form fields as JSON; Content-Type echoed as X-Got-Type
  GET  /stats               -> {"tokens_used": [..]} (tokens presented on the WebSocket side)
WebSocket (/stream): the first message must be {"token", "cookie", "ts", "sig"} (token and
cookie may instead come as `?token=` and the handshake's Cookie header): the token
URL-encoded (`| urlencode`: read back with `+` as a space, as a query is), an issued one not used by another connection; the login's
Set-Cookie (its `sid`); and sig = hex HMAC-SHA256 of "ts" under the login's key. Answers {"ok": true, "user"}
or {"ok": false, "why"}. A `Cookie: sid=…` header on the handshake is checked the same way and
reported in the answer as "cookie_on_handshake".
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, unquote_plus, urlsplit

LOCK = threading.Lock()
SESSIONS: dict = {}  # sid -> {"user", "token", "key"}
TOKENS: dict = {}  # token -> sid
USED: list = []
COUNTER = [0]


def session_of(cookie_header: str | None):
    if not cookie_header:
        return None
    jar = SimpleCookie()
    jar.load(cookie_header)
    sid = jar.get("sid")
    with LOCK:
        return SESSIONS.get(sid.value) if sid else None


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def reply(self, status, body, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):
        if self.path == "/login":
            user = json.loads(self.body() or b"{}").get("user", "anon")
            with LOCK:
                COUNTER[0] += 1
                n = COUNTER[0]
                token = f"t+{n}/{secrets.token_hex(4)}=="
                sid = secrets.token_hex(8)
                key = f"key-{n}"
                SESSIONS[sid] = {"user": user, "token": token, "key": key}
                TOKENS[token] = sid
            self.reply(
                200,
                {"token": token, "ws_path": "/stream", "key": key, "user": user},
                headers=[("Set-Cookie", f"sid={sid}; Path=/; HttpOnly"), ("X-Request-Id", f"r{n}")],
            )
        elif self.path == "/form":
            kind = self.headers.get("Content-Type", "")
            fields = {k: v[0] for k, v in parse_qs(self.body().decode()).items()}
            self.reply(200, fields, headers=[("X-Got-Type", kind)])
        else:
            self.reply(404, {"error": "no such path"})

    def do_GET(self):
        if self.path == "/me":
            s = session_of(self.headers.get("Cookie"))
            if s is None:
                self.reply(401, {"error": "no session"})
            else:
                self.reply(200, {"user": s["user"]})
        elif self.path == "/text":
            self.reply(200, b"just text", "text/plain")
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"parts": ', b"[1, 2, 3]", b"}"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/slow":
            time.sleep(3)
            self.reply(200, {"late": True})
        elif self.path == "/big":
            self.reply(200, b"x" * (2 << 20), "text/plain")
        elif self.path == "/stats":
            with LOCK:
                self.reply(200, {"tokens_used": list(USED)})
        else:
            self.reply(404, {"error": "no such path"})


async def stream(ws):
    cookie_session = session_of(ws.request.headers.get("Cookie"))
    try:
        first = json.loads(await ws.recv())
    except Exception:
        return
    # The token and cookie may come in the first message, or (a connection opened after the
    # login) in the URL's query and the handshake's Cookie header.
    query = parse_qs(urlsplit(ws.request.path).query)
    token = unquote_plus(first.get("token", "")) or query.get("token", [""])[0]
    cookie = first.get("cookie") or ws.request.headers.get("Cookie")
    with LOCK:
        sid = TOKENS.get(token)
        session = SESSIONS.get(sid) if sid else None
        reused = token in USED
        if session and not reused:
            USED.append(token)
    why = None
    if session is None:
        why = f"unknown token {first.get('token')!r}"
    elif reused:
        why = "token already used by another connection"
    elif (session_of(cookie) or {}).get("token") != token:
        why = "cookie does not belong to the token"
    else:
        want = hmac.new(session["key"].encode(), str(first.get("ts")).encode(), hashlib.sha256)
        if not hmac.compare_digest(want.hexdigest(), str(first.get("sig"))):
            why = "bad signature"
    if why:
        await ws.send(json.dumps({"ok": False, "why": why}))
    else:
        answer = {"ok": True, "user": session["user"]}
        if cookie_session is not None:
            answer["cookie_on_handshake"] = cookie_session is session
        await ws.send(json.dumps(answer))
    async for _ in ws:
        pass


async def main():
    from websockets.asyncio.server import serve

    # A load's users connect at once: a deeper listen queue than the default 5.
    ThreadingHTTPServer.request_queue_size = 128
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.daemon_threads = True
    threading.Thread(target=api.serve_forever, daemon=True).start()
    async with serve(stream, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        print(json.dumps({"http": api.server_address[1], "ws": port}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    api.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
