"""The hand-kept stub (python/wsrun/_wsrun.pyi) matches the native module."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_stubtest(tmp_path):
    pytest.importorskip("mypy")
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "wsrun", "--mypy-config-file", "/dev/null"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # the installed package, not a source checkout
    )
    assert out.returncode == 0, out.stdout + out.stderr
