"""`set:`, template filters and `data:` through wsrun.run: what the Rust engine does, Python gets."""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from pathlib import Path

import pytest

import wsrun

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def _signed(url: str) -> str:
    return f"""\
requests:
  - name: signed
    url: {url}
    steps:
      - set:
          ts: "{{{{ now_ms }}}}"
          query: "symbol=BTCUSDT&timestamp={{{{ ts }}}}"
      - send: {{ json: {{ query: "{{{{ query }}}}", ts: "{{{{ ts }}}}", signature: "{{{{ query | hmac_sha256(secret) }}}}", token: "{{{{ token | urlencode }}}}" }} }}
      - expect: {{ json: {{ $.ts: {{ type: integer, eq: "{{{{ ts }}}}" }}, $.query: "symbol=BTCUSDT&timestamp={{{{ ts }}}}", $.token: "{{{{ want_token }}}}" }} }}
      - capture: {{ sent_ts: $.ts, sent_signature: $.signature }}
      - send: {{ text: "{{{{ sent_ts }}}} {{{{ sent_signature }}}}" }}
      - expect: {{ text: "{{{{ want_signature | default(none) }}}}" }}
"""


def test_set_and_hmac_sha256_sign_one_timestamp(server):
    # The signature is checked against Python's own HMAC of the query the run sent: with a
    # `set`, the query, its timestamp and the signed text are one value.
    report = wsrun.run(
        _signed(server.url("/echo")),
        vars={"secret": SECRET, "token": "a+b/c==", "want_token": "a%2Bb%2Fc%3D%3D"},
    )
    # First pass, without the expected signature: the last expect fails and shows what was sent.
    assert not report.passed
    step = report.requests[0].steps[5]
    assert [s.passed for s in report.requests[0].steps] == [True] * 5 + [False]
    assert isinstance(step.actual, str)
    ts, signature = step.actual.split(" ")
    query = f"symbol=BTCUSDT&timestamp={ts}"
    want = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    assert signature == want


def test_binance_signed_endpoint_example_matches_pythons_hmac(server):
    query = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    want = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    assert want == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    report = wsrun.run(
        {
            "vars": {"secret": SECRET, "query": query},
            "requests": [
                {
                    "name": "sign",
                    "url": server.url("/echo"),
                    "steps": [
                        {"send": {"text": "{{ query | hmac_sha256(secret) }}"}},
                        {"expect": {"text": want}},
                        {"send": {"text": "{{ query | urlencode }}"}},
                        {"expect": {"text": urllib.parse.quote(query, safe="-._~")}},
                    ],
                }
            ],
        }
    )
    assert report.passed, report.requests[0].failure_text


def test_an_unknown_filter_is_a_collection_error_at_its_line(server):
    with pytest.raises(wsrun.CollectionError) as e:
        wsrun.run(
            f"requests:\n  - name: a\n    url: {server.url('/echo')}\n    steps:\n"
            "      - send: {text: \"{{ x | urlencod }}\"}\n",
            vars={"x": "1"},
        )
    assert "unknown template filter `urlencod` (did you mean `urlencode`?)" in str(e.value)
    assert e.value.line == 5


def test_csv_rows_feed_repeat_iterations(server, tmp_path: Path):
    (tmp_path / "users.csv").write_text('name,token\nada,"a,1"\nbob,b\n')
    (tmp_path / "c.yaml").write_text(
        f"requests:\n  - name: rows\n    url: {server.url('/echo')}\n    data: users.csv\n"
        "    repeat: 3\n    steps:\n"
        "      - send: {text: \"{{ row.name }}={{ row.token }}\"}\n"
        "      - expect: {text: \"{{ row.name }}={{ row.token }}\"}\n"
    )
    report = wsrun.run(str(tmp_path / "c.yaml"))
    assert report.passed, report.requests[0].failure_text
