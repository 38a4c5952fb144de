"""scripts/test on a machine it may not install system packages on: a missing reference server
that needs root (RabbitMQ) skips its tests with one line outside CI, and fails the run under
CI=true when it cannot be installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "test"


def _environment(**changes: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(WSRUN_RABBITMQ="/nonexistent/rabbitmq-server", **changes)
    return env


def test_outside_ci_a_missing_rabbitmq_is_one_line_and_no_install():
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--prerequisites"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == [
        "skipping the STOMP reference tests against RabbitMQ: it is not installed"
        " (sudo apt-get install rabbitmq-server, then run this again)"
    ]


def test_under_ci_a_rabbitmq_that_cannot_be_installed_fails_the_run(tmp_path):
    # A PATH without apt-get: the script may not install, and CI=true runs every test.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "id", "nproc", "sh"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    proc = subprocess.run(
        [str(bin_dir / "bash"), str(SCRIPT), "--prerequisites"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(CI="true", PATH=str(bin_dir)),
    )
    assert proc.returncode == 1
    assert "error: rabbitmq-server is not installed and CI=true runs every reference test" in (
        proc.stderr
    )


def test_outside_ci_the_stomp_reference_tests_skip_and_say_how_to_install():
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
            "-p", "no:xdist", str(ROOT / "tests" / "python" / "test_stomp.py"), "-k", "broker",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(),
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    # Every test against the broker is skipped, none fails or passes without it.
    assert " skipped" in summary and "passed" not in summary and "failed" not in summary, summary
    assert "rabbitmq-server is not installed: sudo apt-get install rabbitmq-server" in proc.stdout
