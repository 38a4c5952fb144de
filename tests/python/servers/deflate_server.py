"""An echo server on the reference `websockets` library, which negotiates permessage-deflate
by default. Run as a script with a variant as its first argument, it listens on 127.0.0.1 at a
free port, prints the port, then serves until killed:

  default                     websockets' own defaults (context takeover both ways)
  none                        compression=None: no extension is agreed
  server_no_context_takeover  the server keeps no window between the messages it sends
  client_max_window_bits=10   the server asks the client for a 10-bit window

Every message comes back as it was (text as text, binary as binary), after the server has
checked that what it read arrived compressed or not as agreed. A text message `extensions?`
is answered with the extension the server agreed on (`none` when it agreed on none), and
`frames?` with how many of the client's messages arrived compressed so far.
"""

from __future__ import annotations

import asyncio
import sys
from typing import List, Optional

from websockets.asyncio.server import ServerConnection, serve
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame


class Counting(PerMessageDeflate):
    """permessage-deflate that counts the client's frames that arrive compressed (RSV1)."""

    compressed = 0

    def decode(self, frame: Frame, *, max_size: Optional[int] = None) -> Frame:
        if frame.rsv1:
            self.compressed += 1
        return super().decode(frame, max_size=max_size)


class CountingFactory(ServerPerMessageDeflateFactory):
    def process_request_params(self, params, accepted_extensions):  # type: ignore[no-untyped-def]
        response, extension = super().process_request_params(params, accepted_extensions)
        extension.__class__ = Counting
        return response, extension


def factories(variant: str) -> Optional[List[ServerPerMessageDeflateFactory]]:
    if variant == "none":
        return None
    if variant == "server_no_context_takeover":
        return [CountingFactory(server_no_context_takeover=True)]
    if variant.startswith("client_max_window_bits="):
        return [CountingFactory(client_max_window_bits=int(variant.split("=", 1)[1]))]
    return [CountingFactory()]


async def handler(ws: ServerConnection) -> None:
    async for message in ws:
        extensions = ws.protocol.extensions
        if message == "extensions?":
            await ws.send(", ".join(e.name for e in extensions) or "none")
        elif message == "frames?":
            compressed = sum(e.compressed for e in extensions if isinstance(e, Counting))
            await ws.send(f"{compressed} compressed")
        else:
            await ws.send(message)


async def main() -> None:
    variant = sys.argv[1] if len(sys.argv) > 1 else "default"
    async with serve(handler, "127.0.0.1", 0, compression=None, extensions=factories(variant)) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
