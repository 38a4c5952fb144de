"""permessage-deflate against the reference `websockets` server (tests/python/servers/
deflate_server.py), which negotiates it by default: what wsrun sends arrives compressed as
agreed, and what the server sends compressed is read back as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from reference import port_printing_server, wsrun_command

SERVER = Path(__file__).parent / "servers" / "deflate_server.py"

STEPS = """
      - send: extensions?
      - expect: {{text: {agreed}}}
      - send: {{json: {{text: "hello hello hello hello"}}}}
      - expect: {{json: {{$.text: "hello hello hello hello"}}}}
      - send: {{json: {{text: "hello hello hello hello"}}}}
      - expect: {{json: {{$.text: "hello hello hello hello"}}}}
      - send: {{binary: AAEC/w==}}
      - expect: {{binary: {{eq: AAEC/w==}}}}
      - send: frames?
      - expect: {{text: {compressed} compressed}}
"""


def run(url: str, tmp_path: Path, steps: str, defaults: str = "") -> subprocess.CompletedProcess:
    collection = tmp_path / "c.yaml"
    collection.write_text(
        f"{defaults}requests:\n  - name: deflate\n    url: \"{url}\"\n    steps:{steps}"
    )
    return subprocess.run(
        [wsrun_command(), str(collection), "-v"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"NO_COLOR": "1", "WSRUN_NO_TIMINGS": "1", "PATH": ""},
    )


@pytest.mark.parametrize(
    "variant, agreed, compressed",
    [
        # Every message before `frames?` and `frames?` itself: five.
        ("default", "permessage-deflate", 5),
        ("server_no_context_takeover", "permessage-deflate", 5),
        # A 10-bit client window is more than wsrun's 15-bit compressor can honour: it sends
        # uncompressed, as RFC 7692 lets a sender do, and still reads what the server compresses.
        ("client_max_window_bits=10", "permessage-deflate", 0),
        ("none", "none", 0),
    ],
)
def test_the_reference_server_and_wsrun_agree_on_deflate(
    variant: str, agreed: str, compressed: int, tmp_path: Path
) -> None:
    command = [sys.executable, str(SERVER), variant]
    with port_printing_server(command, "ws://127.0.0.1:{port}") as url:
        proc = run(url, tmp_path, STEPS.format(agreed=agreed, compressed=compressed))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '← {"text":"hello hello hello hello"}' in proc.stdout
    assert "← [binary] 4 bytes: 00 01 02 ff" in proc.stdout


def test_compression_false_sends_nothing_compressed(tmp_path: Path) -> None:
    command = [sys.executable, str(SERVER), "default"]
    with port_printing_server(command, "ws://127.0.0.1:{port}") as url:
        proc = run(
            url,
            tmp_path,
            STEPS.format(agreed="none", compressed=0),
            defaults="defaults: {compression: false}\n",
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_connect_offers_deflate_unless_compression_is_false() -> None:
    import wsrun

    command = [sys.executable, str(SERVER), "default"]
    with port_printing_server(command, "ws://127.0.0.1:{port}") as url:
        for compression, agreed, compressed in [(True, "permessage-deflate", 3), (False, "none", 0)]:
            with wsrun.connect(url, compression=compression) as c:
                c.send(text="extensions?")
                c.expect(text=agreed)
                c.send(json={"text": "hello hello hello hello"})
                assert c.expect(json={"$.text": "hello hello hello hello"}) == {
                    "text": "hello hello hello hello"
                }
                c.send(text="frames?")
                c.expect(text=f"{compressed} compressed")



def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _exchange(url: str) -> "tuple[list[str], int]":
    """A `websockets` client (permessage-deflate offered, as by default) sends messages to an
    echo mock and checks each comes back; returns the agreed extensions and how many of the
    mock's messages arrived compressed."""
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory,
        PerMessageDeflate,
    )
    from websockets.frames import Frame

    class Counting(PerMessageDeflate):
        compressed = 0

        def decode(self, frame: Frame, *, max_size: Optional[int] = None) -> Frame:
            if frame.rsv1:
                self.compressed += 1
            return super().decode(frame, max_size=max_size)

    class CountingFactory(ClientPerMessageDeflateFactory):
        def process_response_params(self, params, accepted_extensions):  # type: ignore[no-untyped-def]
            extension = super().process_response_params(params, accepted_extensions)
            extension.__class__ = Counting
            return extension

    factory = CountingFactory(client_max_window_bits=True)

    async def run() -> "tuple[list[str], int]":
        async with connect(url, compression=None, extensions=[factory], max_size=None) as ws:
            # A message larger than the mock's 64 KiB inflating step after others (with the
            # window kept) once lost its tail.
            for message in ["hello hello hello", b"\x00\x01\x02\xff", "x" * 100_000, "y" * 70_000]:
                await ws.send(message)
                assert await ws.recv() == message
            extensions = ws.protocol.extensions
            counted = sum(e.compressed for e in extensions if isinstance(e, Counting))
            return [e.name for e in extensions], counted

    return asyncio.run(run())


@pytest.mark.parametrize("compression, agreed, compressed", [
    ("true", ["permessage-deflate"], 4),
    ("false", [], 0),
])
def test_the_websockets_client_and_wsrun_s_mock_agree_on_deflate(
    compression: str, agreed: list, compressed: int, tmp_path: Path
) -> None:
    collection = tmp_path / "m.yaml"
    collection.write_text(f"mocks:\n  echo: {{echo: true, compression: {compression}}}\nrequests: []\n")
    port = _free_port()
    proc = subprocess.Popen(
        [wsrun_command(), "serve", str(collection), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "serving mock `echo`" in proc.stdout.readline()
        assert _exchange(f"ws://127.0.0.1:{port}") == (agreed, compressed)
    finally:
        proc.terminate()
        proc.wait(10)
