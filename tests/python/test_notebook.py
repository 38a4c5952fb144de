"""examples/trades.ipynb runs headless, top to bottom, so it cannot rot."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]


def test_the_trades_notebook_runs_and_renders_its_outputs():
    nb = nbformat.read(ROOT / "examples" / "trades.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert "image/png" in kinds, "the price plot"
    assert any("<table" in o.get("data", {}).get("text/html", "") for o in outputs), "the report table"
