"""TLS and proxies against implementations we did not write: a Python `websockets` server with
`ssl` demanding a client certificate (CERT_REQUIRED), certificates made by the `openssl` CLI as
people make them (`openssl req -x509`: self-signed, CA:TRUE), and the `pproxy` package as the
HTTP CONNECT and SOCKS5 proxy (with and without credentials)."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest
from websockets.asyncio.server import serve

import wsrun
from reference import wsrun_command


def _openssl_self_signed(folder: Path, name: str, cn: str, san: Optional[str]) -> None:
    """`openssl req -x509`, as the tutorials write it: an RSA key and a self-signed certificate
    (OpenSSL marks it CA:TRUE)."""
    args = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    args += ["-subj", f"/CN={cn}", "-keyout", f"{name}.key", "-out", f"{name}.pem"]
    if san:
        args += ["-addext", f"subjectAltName={san}"]
    subprocess.run(args, cwd=folder, check=True, capture_output=True)


class TlsServer:
    """An echo server behind TLS on 127.0.0.1 (port 0) that demands a client certificate
    signed by (or equal to) `client_ca`."""

    def __init__(self, folder: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(folder / "server.pem", folder / "server.key")
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_verify_locations(folder / "client.pem")
        self.port = 0
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Future] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True).start()
        assert self._ready.wait(10), "the TLS server did not start"

    async def _serve(self) -> None:
        async def echo(ws) -> None:
            async for message in ws:
                await ws.send(message)

        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        async with serve(echo, "127.0.0.1", 0, ssl=self.context) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    _openssl_self_signed(tmp_path, "server", "localhost", "DNS:localhost,IP:127.0.0.1")
    _openssl_self_signed(tmp_path, "client", "wsrun-client", None)
    return tmp_path


@pytest.fixture
def tls_server(certs: Path) -> Iterator[TlsServer]:
    server = TlsServer(certs)
    yield server
    server.stop()


def _run(folder: Path, yaml: str, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    (folder / "c.yaml").write_text(yaml)
    return subprocess.run(
        [wsrun_command(), "c.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, NO_COLOR="1", **(env or {})),
    )


def _collection(url: str, extra: str = "") -> str:
    return (
        f"requests:\n  - name: t\n    url: {url}\n{extra}"
        "    steps:\n      - send: hello\n      - expect: { text: hello }\n"
    )


def test_an_openssl_certificate_pair_passes_a_server_demanding_a_client_certificate(certs, tls_server):
    tls = "    tls: { ca: server.pem, cert: client.pem, key: client.key }\n"
    proc = _run(certs, _collection(f"wss://127.0.0.1:{tls_server.port}/", tls))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_without_a_client_certificate_the_run_names_what_is_missing(certs, tls_server):
    proc = _run(certs, _collection(f"wss://localhost:{tls_server.port}/", "    tls: { ca: server.pem }\n"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        "the server asked for a client certificate; give one with `tls: {cert: FILE, key: FILE}`"
        in proc.stdout
    ), proc.stdout
    assert "plain ws://" not in proc.stdout


def test_connect_takes_the_ca_and_client_certificate(certs, tls_server):
    with wsrun.connect(
        f"wss://127.0.0.1:{tls_server.port}/",
        ca=str(certs / "server.pem"),
        cert=str(certs / "client.pem"),
        key=str(certs / "client.key"),
    ) as c:
        c.send(json={"over": "mtls"})
        assert c.expect(json={"$.over": "mtls"}) == {"over": "mtls"}


def test_stream_takes_the_ca_and_client_certificate(certs, tls_server):
    url = f"wss://127.0.0.1:{tls_server.port}/"
    mtls = {"ca": str(certs / "server.pem"), "cert": str(certs / "client.pem")}
    with wsrun.stream(url, key=str(certs / "client.key"), send={"over": "stream"}, limit=1, timeout=5, **mtls) as s:
        assert list(s) == [{"over": "stream"}]
    # Without the client certificate the server refuses, and the stream says what is missing.
    with pytest.raises(wsrun.ConnectionFailed, match="the server asked for a client certificate"):
        wsrun.stream(url, ca=mtls["ca"], timeout=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def pproxy() -> Iterator:
    """Starts `pproxy -l URI` (the `pproxy` package) and yields its port once it listens."""
    procs = []

    def start(scheme: str, auth: str = "") -> int:
        port = _free_port()
        listen = f"{scheme}://127.0.0.1:{port}" + (f"#{auth}" if auth else "")
        proc = subprocess.Popen(
            [sys.executable, "-m", "pproxy", "-l", listen],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"pproxy {listen} did not start (exit {proc.poll()})")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("scheme", ["http", "socks5"])
def test_a_run_goes_through_pproxy(server, pproxy, tmp_path, scheme):
    port = pproxy(scheme)
    proc = _run(tmp_path, _collection(server.url("/echo"), f'    proxy: "{scheme}://127.0.0.1:{port}"\n'))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("scheme", ["http", "socks5"])
def test_pproxy_credentials_are_sent_and_masked(server, pproxy, tmp_path, scheme):
    port = pproxy(scheme, "alice:pr0xy-pass")
    good = _collection(server.url("/echo"), f'    proxy: "{scheme}://alice:pr0xy-pass@127.0.0.1:{port}"\n')
    # The wrong password first: once a client address has logged in, pproxy's HTTP side lets
    # it through for a while without asking again.
    bad = _run(tmp_path, good.replace("pr0xy-pass", "wrong-pass"))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "wrong-pass" not in bad.stdout + bad.stderr
    assert f"could not connect to {server.url('/echo')}: " in bad.stdout, bad.stdout
    (tmp_path / "c.yaml").write_text(good)
    proc = subprocess.run(
        [wsrun_command(), "c.yaml", "-v"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pr0xy-pass" not in proc.stdout + proc.stderr


def test_connect_goes_through_a_proxy(server, pproxy):
    port = pproxy("http")
    with wsrun.connect(server.url("/echo"), proxy=f"http://127.0.0.1:{port}") as c:
        c.send(json={"via": "proxy"})
        assert c.expect(json={"$.via": "proxy"}) == {"via": "proxy"}
