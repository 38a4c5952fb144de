"""Ctrl-C stops a run and a blocked stream promptly with KeyboardInterrupt."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

SCRIPT_RUN = """
import sys, wsrun
print("ready", flush=True)
try:
    wsrun.run('''
requests:
  - name: waits
    url: {url}
    steps:
      - expect: {{ text: never, timeout: 120s }}
''')
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(42)
print("finished", flush=True)
"""

SCRIPT_STREAM = """
import sys, wsrun
s = wsrun.stream("{url}")
print("ready", flush=True)
try:
    next(s)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(42)
"""


def _interrupt(script: str) -> tuple:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1)
    assert proc.poll() is None, proc.stderr.read()
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    return proc.returncode, out, err, time.monotonic() - sent


def test_ctrl_c_stops_run(server):
    code, out, err, elapsed = _interrupt(SCRIPT_RUN.format(url=server.url("/silent")))
    assert code == 42, (out, err)
    assert "interrupted" in out
    assert elapsed < 3


def test_ctrl_c_stops_stream(server):
    code, out, err, elapsed = _interrupt(SCRIPT_STREAM.format(url=server.url("/silent")))
    assert code == 42, (out, err)
    assert elapsed < 3


def test_ctrl_c_console_script_exits_130(server, tmp_path):
    from pathlib import Path

    collection = tmp_path / "waits.yaml"
    collection.write_text(
        f"requests:\n  - name: waits\n    url: {server.url('/silent')}\n"
        "    steps:\n      - expect: { text: never, timeout: 120s }\n"
    )
    script = Path(sys.executable).parent / "wsrun"
    proc = subprocess.Popen(
        [str(script), str(collection)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(1.5)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in out
