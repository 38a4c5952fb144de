"""`mypy --strict` accepts a script that uses the public API (tests/python/typecheck/), and the
package itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "typecheck" / "public_api.py"


@pytest.mark.parametrize("target", [[str(SCRIPT)], ["-p", "wsrun"]], ids=["script", "package"])
def test_mypy_strict_accepts_the_public_api_and_the_package(tmp_path, target):
    pytest.importorskip("mypy")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *target],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # the installed package, not a source checkout
    )
    assert out.returncode == 0, out.stdout + out.stderr
