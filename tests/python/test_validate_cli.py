"""wsrun.validate and the `wsrun` console script."""

from __future__ import annotations

import os
import subprocess

import pytest

import wsrun
from reference import wsrun_command

BAD = """\
name: Bad
requests:
  - name: one
    url: ws://127.0.0.1:1/
    steps:
      - send: { text: hi }
      - expekt: { text: hi }
"""

UNKNOWN_VAR = """\
requests:
  - name: one
    url: "ws://{{ host }}/"
    steps:
      - send: { text: hi }
"""


def test_validate_ok(echo_collection, tmp_path):
    assert wsrun.validate(echo_collection) == 2
    f = tmp_path / "c.yaml"
    f.write_text(echo_collection)
    assert wsrun.validate(f) == 2


def test_validate_reports_line_and_column(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    with pytest.raises(wsrun.CollectionError) as e:
        wsrun.validate(str(f))
    err = e.value
    assert isinstance(err, wsrun.WsrunError)
    assert err.path == str(f)
    assert err.line == 7
    assert err.column == 9
    assert "expekt" in err.message
    assert "expect" in err.message  # the did-you-mean hint
    assert f"{f}:7:9" in str(err)


def test_validate_unknown_variable():
    with pytest.raises(wsrun.CollectionError) as e:
        wsrun.validate(UNKNOWN_VAR)
    assert e.value.line == 3
    assert "host" in e.value.message
    assert wsrun.validate(UNKNOWN_VAR, vars={"host": "example.org"}) == 1


def test_validate_yaml_syntax_error():
    with pytest.raises(wsrun.CollectionError) as e:
        wsrun.validate("requests:\n  - name: [unclosed\n")
    assert e.value.line is not None


def test_console_script_version():
    out = subprocess.run([wsrun_command(), "--version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert wsrun.__version__ in out.stdout


def test_console_script_validate_exit_codes(tmp_path, echo_collection):
    good = tmp_path / "good.yaml"
    good.write_text(echo_collection)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    cmd = wsrun_command()
    ok = subprocess.run([cmd, "validate", str(good)], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    failed = subprocess.run([cmd, "validate", str(bad)], capture_output=True, text=True, timeout=30)
    assert failed.returncode == 2
    assert "bad.yaml:7:9" in failed.stderr
    usage = subprocess.run([cmd, "--no-such-flag"], capture_output=True, text=True, timeout=30)
    assert usage.returncode == 2


def test_console_script_run_exit_codes(tmp_path, echo_collection, failing_collection):
    good = tmp_path / "good.yaml"
    good.write_text(echo_collection)
    failing = tmp_path / "failing.yaml"
    failing.write_text(failing_collection)
    cmd = wsrun_command()
    env = dict(os.environ, NO_COLOR="1")
    ok = subprocess.run([cmd, str(good)], capture_output=True, text=True, timeout=60, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([cmd, "run", str(failing)], capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode == 1
    assert "expected" in bad.stdout and "8" in bad.stdout


def test_cli_main_in_process(tmp_path, echo_collection):
    f = tmp_path / "c.yaml"
    f.write_text(echo_collection)
    assert wsrun._wsrun.cli_main(["wsrun", "validate", str(f)]) == 0
    assert wsrun._wsrun.cli_main(["wsrun", "validate", str(tmp_path / "missing.yaml")]) == 2
