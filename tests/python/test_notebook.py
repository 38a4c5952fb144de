"""The notebooks in examples/ run headless, top to bottom, so they cannot rot: trades.ipynb
(stream into pandas, a plot, a report) and connect.ipynb (steps one at a time, JSON-RPC and
Socket.IO against served mocks, pandas). Both are committed executed, so they read well on a forge too."""

from pathlib import Path
from typing import Any, Dict, List

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def _run(name: str) -> List[Dict[str, Any]]:
    nb = nbformat.read(ROOT / "examples" / name, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return outputs


def _text(outputs: List[Dict[str, Any]]) -> str:
    return "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)


def test_the_trades_notebook_runs_and_renders_its_outputs():
    outputs = _run("trades.ipynb")
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert "image/png" in kinds, "the price plot"
    assert any("<table" in o.get("data", {}).get("text/html", "") for o in outputs), "the report table"
    assert "<wsrun.MockServer `binance` at ws://127.0.0.1:" in _text(outputs)


def test_the_connect_notebook_runs_steps_one_at_a_time():
    outputs = _run("connect.ipynb")
    text = _text(outputs)
    assert "{'jsonrpc': '2.0', 'result': 5, 'id': 1}" in text, "the response, in wire order"
    assert "step 3 call (ws://127.0.0.1:" in text and "expected  6" in text, "the failure text"
    assert "{'jsonrpc': '2.0', 'method': 'tick', 'params': {'n': 1}}" in text
    assert "{'ack': 1, 'args': [5], 'namespace': '/'}" in text, "Socket.IO's ack"
    assert sum("<table" in o.get("data", {}).get("text/html", "") for o in outputs) >= 2, "DataFrames"
