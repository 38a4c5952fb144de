"""wsrun.serve: a collection's mock in-process, as `wsrun serve` runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

import wsrun

ROOT = Path(__file__).resolve().parents[2]
WEBSOCKET = ROOT / "collections" / "websocket.yaml"


def test_serve_gives_the_mocks_url_and_stops_it_on_leaving_the_block():
    server = wsrun.serve(WEBSOCKET, mock="binance")
    with server as url:
        assert url.startswith("ws://127.0.0.1:") and server.running and server.name == "binance"
        trades = list(wsrun.stream(url + "/ws/btcusdt@trade", limit=5, timeout=5))
        assert [t["e"] for t in trades] == ["trade"] * 5
        assert trades[0]["t"] + 4 == trades[4]["t"]
    assert not server.running
    with pytest.raises(wsrun.ConnectionFailed):
        wsrun.stream(url + "/ws/btcusdt@trade", timeout=2)


def test_serve_takes_yaml_text_and_the_first_mock_by_default():
    text = "mocks:\n  echo: { echo: true }\nrequests: []\n"
    with wsrun.serve(text) as url:
        with wsrun.connect(url) as c:
            c.send(json={"x": 1})
            assert c.expect(json={"$.x": 1}) == {"x": 1}


def test_an_unknown_mock_is_a_collection_error_naming_the_mocks():
    with pytest.raises(wsrun.CollectionError, match=r"no mock named `binanse` \(mocks: binance\)"):
        wsrun.serve(WEBSOCKET, mock="binanse")
