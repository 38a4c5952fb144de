"""wsrun.query over the whole RFC 9535 compliance suite (tests/data/jsonpath-cts/cts.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import wsrun

CTS = Path(__file__).resolve().parents[1] / "data" / "jsonpath-cts" / "cts.json"
TESTS = json.loads(CTS.read_text(encoding="utf-8"))["tests"]


def test_suite_is_complete():
    assert len(TESTS) == 703


@pytest.mark.parametrize("case", TESTS, ids=[f"{i}:{t['name']}" for i, t in enumerate(TESTS)])
def test_cts(case):
    if case.get("invalid_selector"):
        with pytest.raises(wsrun.JsonPathError):
            wsrun.query(case["selector"], {})
        return
    got = wsrun.query(case["selector"], case["document"])
    if "results" in case:
        assert any(got == r for r in case["results"]), got
    else:
        assert got == case["result"]


def test_readme_example():
    store = {
        "store": {
            "book": [
                {"title": "Sayings", "price": 8.95},
                {"title": "Sword", "price": 12.99},
                {"title": "Moby", "price": 8.99},
            ]
        }
    }
    assert wsrun.query("$.store.book[?@.price < 10].title", store) == ["Sayings", "Moby"]


def test_errors():
    with pytest.raises(wsrun.JsonPathError) as e:
        wsrun.query("$.a[", {})
    assert isinstance(e.value, ValueError) and isinstance(e.value, wsrun.WsrunError)
    assert "$.a[" in str(e.value)
    with pytest.raises(TypeError):
        wsrun.query("$", {"a": object()})


def test_python_types():
    obj = {"t": (1, 2), "big": 2**63, "f": 1.5, "n": None, "b": False}
    assert wsrun.query("$.t[1]", obj) == [2]
    assert wsrun.query("$.big", obj) == [2**63]
    assert wsrun.query("$.f", obj) == [1.5]
    assert wsrun.query("$.n", obj) == [None]
    assert wsrun.query("$.b", obj) == [False]
    assert wsrun.query("$.missing", obj) == []
